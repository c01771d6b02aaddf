import Foundation
import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import CosimLog
import LogReplay
import HTMLReport

/// Replay of the copy-on-write and lazy labs' logs (their probe lines: pagefault, copyout,
/// copyin, copyinstr, refinc, refdec, sbrk), against the cow-lab and lazy-lab models.
final class LabReplayTests: XCTestCase {
    static let logs = ReplayTests.logs

    func replay(_ name: String, _ overrides: [String] = []) throws -> ReplayReport {
        try Replay.stream(path: Self.logs + name, overrides: overrides, blind: false).report
    }

    func total(_ r: ReplayReport) -> Int { r.agreed.reduce(0) { $0 + $1.1 } }

    /// The log replays to its end with `events` events, every one the same.
    func assertAgrees(_ name: String, events: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try replay(name)
        XCTAssertNil(r.departure, r.text(), file: file, line: line)
        XCTAssertEqual(total(r), events, file: file, line: line)
    }

    /// The variant is read from the log: reference counts mean cow-lab, sbrk without
    /// growproc lazy-lab. Boot and `echo hi` agree event for event, faults and counts too.
    func testTheLabKernelsBootsAgree() throws {
        let cow = try replay("cow-boot.log.xz")
        XCTAssertEqual(cow.variant, "cow-lab")
        XCTAssertNil(cow.departure, cow.text())
        XCTAssertEqual(total(cow), 443)
        let counts = Dictionary(uniqueKeysWithValues: cow.agreed.map { ($0.0.rawValue, $0.1) })
        XCTAssertEqual(counts["pagefault"], 4)      // every pagefault and refinc line of the log
        XCTAssertEqual(counts["refinc"], 7)
        let lazy = try replay("lazy-boot.log.xz")
        XCTAssertEqual(lazy.variant, "lazy-lab")
        XCTAssertNil(lazy.departure, lazy.text())
        XCTAssertEqual(total(lazy), 383)
    }

    /// The fixed COW kernel's multi-page copyout, cowtest whole, and a COW fault whose kalloc
    /// fails (the process killed) agree. (Two tests: `swift test --parallel` runs them side by side.)
    func testTheFixedCowKernelAgreesThroughCowtest() throws {
        try assertAgrees("cow-copyout2-nopreempt.log.xz", events: 514)
        try assertAgrees("cow-cowtest-nopreempt.log.xz", events: 743_172)
    }

    /// The same kernel with its timer `yield()`s: the scheduler switches 1,433 times (71 without
    /// them) and cowtest's three processes come in another order, but no operation is split (fork
    /// holds the child's lock, a fault runs with interrupts off, and no other process's memory
    /// events come while an sbrk is switched out): the same 743,172 events agree.
    func testTheFixedCowKernelWithPreemptionAgreesThroughCowtest() throws {
        XCTAssertEqual(try switches("cow-cowtest-preempt.log.xz"), 2_866)
        try assertAgrees("cow-cowtest-preempt.log.xz", events: 743_172)
    }

    /// 3e4542e with preemption: cowtest never copies out across two shared pages, so read as
    /// the fixed kernel or as itself, every event agrees (2,588 switches).
    func testTheBuggyCowKernelWithPreemptionAgreesThroughCowtest() throws {
        XCTAssertEqual(try switches("cowbuggy-cowtest-preempt.log.xz"), 5_176)
        try assertAgrees("cowbuggy-cowtest-preempt.log.xz", events: 743_172)
        let buggy = try replay("cowbuggy-cowtest-preempt.log.xz", ["variant=cow-3e4542e"])
        XCTAssertNil(buggy.departure, buggy.text())
        XCTAssertEqual(total(buggy), 743_172)
    }

    /// `swtch` lines in a log (`to=` and `from=`).
    func switches(_ name: String) throws -> Int {
        try KernelLog.read(path: Self.logs + name).probes.filter { $0.kind == .swtch }.count
    }

    func testTheFixedCowKernelAgreesWhenACowFaultsKallocFails() throws {
        try assertAgrees("cow-cowoom-nopreempt.log.xz", events: 182_961)
    }

    /// 3e4542e's copyout checks only the first page it writes: its log departs at the copyout
    /// that spans two shared pages, naming the bytes and the frame the parent still maps; read
    /// as that kernel (`cow-3e4542e`), it agrees.
    func testTheBuggyCowKernelDepartsAtItsCopyout() throws {
        let r = try replay("cowbuggy-copyout2-nopreempt.log.xz")
        let d = try XCTUnwrap(r.departure)
        XCTAssertEqual(d.log?.line, 674)
        XCTAssertEqual(d.operation?.summary, "copyout by pid 4 to va 0x1e00, 1024 bytes")
        XCTAssertEqual(d.verdict, "in copyout by pid 4 to va 0x1e00, 1024 bytes: of the copy-on-write pages it writes, "
                       + "the kernel copies 1 and the model 2; bytes 0x2000-0x21ff went into frame 0x0000000087f43000, "
                       + "which pid 3 still maps (a bug: a write through a shared page)")
        XCTAssertEqual(total(try replay("cowbuggy-copyout2-nopreempt.log.xz", ["variant=cow-3e4542e"])), 514)
        // Going on: the copyout to 0x2e00 starts on a page copied already (rightly not copied
        // again) and writes the next page, 0x3000, through the frame pid 3 still maps.
        let on = try Replay.stream(path: Self.logs + "cowbuggy-copyout2-nopreempt.log.xz", overrides: [],
                                   blind: false, keepGoing: 3).report.departures
        XCTAssertEqual(on.map { $0.log?.line }, [674, 682])
        XCTAssertEqual(on.last?.verdict, "in copyout by pid 4 to va 0x2e00, 1024 bytes: of the copy-on-write pages it "
                       + "writes, the kernel copies 0 and the model 1; bytes 0x3000-0x31ff went into frame "
                       + "0x0000000087f42000, which pid 3 still maps (a bug: a write through a shared page)")
    }

    /// The lazy kernel: sbrk moves sz, a fault makes the page, and so does a copyin that reads
    /// a page never touched (no fault line: the page is the copy's). lazytests and sbrkmuch
    /// agree to the end.
    func testTheLazyKernelAgreesThroughSbrkmuch() throws {
        try assertAgrees("lazy-sbrkmuch-nopreempt.log.xz", events: 428_188)
    }

    func testTheLazyKernelAgreesThroughLazytests() throws {
        try assertAgrees("lazy-lazycopy-nopreempt.log.xz", events: 391)
        try assertAgrees("lazy-lazytests-nopreempt.log.xz", events: 46_795)
        // The copyin at line 505 of lazycopy makes page 0x3000: an operation of its own.
        let imported = try LogImporter.run(try KernelLog.read(path: Self.logs + "lazy-lazycopy-nopreempt.log.xz"))
        let copy = try XCTUnwrap(imported.operations.first { $0.kind == .copyin })
        XCTAssertEqual(copy.summary, "copyin by pid 3 from va 0x3000, 1024 bytes")
        XCTAssertEqual(copy.probes.map { imported.log.probes[$0].line }, [506, 507])
    }

    /// With its timer `yield()`s the lazy kernel switches 392 times (240 without): lazytests'
    /// parent only waits while a child runs, so the memory events are the nopreempt log's, in
    /// its order, and the same 46,795 events agree.
    func testTheLazyKernelWithPreemptionAgreesThroughLazytests() throws {
        XCTAssertEqual(try switches("lazy-lazytests-preempt.log.xz"), 784)
        try assertAgrees("lazy-lazytests-preempt.log.xz", events: 46_795)
    }
}
