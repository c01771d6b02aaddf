import Foundation
import XCTest
import XV6
import RISCV
import Support
import Scenario
import Run
import Goldens
import Explore
import CosimLog
import CosimLeaks
import HTMLReport

/// `leaks LOG` on the COW lab's logs: reference counts followed through the log's own
/// `refinc`, `refdec` and `kfree` lines, the user tables that map a page being its holders.
/// The real kernels' logs report nothing; logs derived from `cow-copyout2-nopreempt` the
/// way a buggy kernel would print them (docs/kernel-logs/README.md) report the bug.
final class LogLeakCountTests: XCTestCase {
    static let logs = packageRoot + "/docs/kernel-logs/"

    func report(_ name: String) throws -> LogLeakReport { LogLeakTracker.run(try KernelLog.read(path: Self.logs + name)) }

    func report(lines: [String], file: String) throws -> LogLeakReport {
        LogLeakTracker.run(try KernelLog.parse(Array((lines.joined(separator: "\n") + "\n").utf8), file: file))
    }

    /// The fixed COW kernel (c119f03), its buggy parent (3e4542e: its copyout writes into a
    /// frame still shared, which leaves every count right) and the lazy kernel, with and
    /// without preemption: no leak and no finding; every count the kernel prints is the one
    /// its lines give.
    func testTheCowAndLazyLogsReportNothing() throws {
        var reports: [Data: LogLeakReport] = [:]
        for name in ["cow-boot.log.xz", "cow-copyout2-nopreempt.log.xz", "cow-cowoom-nopreempt.log.xz",
                     "cow-cowtest-nopreempt.log.xz", "cow-cowtest-preempt.log.xz", "cowbuggy-boot.log.xz",
                     "cowbuggy-copyout2-nopreempt.log.xz", "cowbuggy-cowtest-nopreempt.log.xz",
                     "cowbuggy-cowtest-preempt.log.xz", "lazy-boot.log.xz", "lazy-lazycopy-nopreempt.log.xz",
                     "lazy-lazytests-nopreempt.log.xz",
                     "lazy-lazytests-preempt.log.xz", "lazy-sbrkmuch-nopreempt.log.xz"] {
            // The buggy parent's boot and nopreempt cowtest logs are the fixed kernel's, byte for
            // byte: a report is a function of a log's bytes, so a log already reported is not
            // read again (cowtest's: 0.6 s of the test's 1.7).
            let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.logs + name))
            let r = try reports[bytes] ?? report(name)
            reports[bytes] = r
            XCTAssertEqual(r.summary, "SUMMARY: no leaks, no double frees, no frees of mapped pages", name)
            XCTAssertTrue(r.clean, name)
            XCTAssertEqual(r.counted, name.hasPrefix("cow"), name)
            XCTAssertEqual(r.heldByKernel, 137, name)
            XCTAssertEqual(r.heldByProcesses.pages, 19, name)
        }
    }

    /// The fixture's lines: the real log's with some deleted (1-based) or replaced.
    func derived(_ name: String, deleting: Set<Int> = [], replacing: [Int: String] = [:]) throws -> [String] {
        try kernelLogLines(name).enumerated().compactMap { deleting.contains($0.offset + 1) ? nil : (replacing[$0.offset + 1] ?? $0.element) }
    }

    /// uvmunmap's free skips a page whose count is above 1: it neither lowers the count nor
    /// frees the page. The fixture is `cow-copyout2-nopreempt` without the eight `refdec`
    /// lines of such pages (sh's and copyout2's execs, pid 4's exit) and the three `kfree`s of
    /// pid 3's exit that follow from them. Pages pid 3 and pid 4 shared leak at count 2, with
    /// both exits named; the old images' pages that init and sh still map are counted above
    /// their one mapping, by the exec that freed the image.
    func testAnUnmapThatKeepsSharedPagesLeaksThemAtTheirCount() throws {
        let lines = try kernelLogLines("cowleak-copyout2-nopreempt.log.xz")
        XCTAssertEqual(lines, try derived("cow-copyout2-nopreempt.log.xz", deleting: [380, 381, 382, 513, 515, 695, 699, 700, 758, 762, 763]))
        let r = try report("cowleak-copyout2-nopreempt.log.xz")
        XCTAssertEqual(r.text, """
            ==xv6vm== leaks in cowleak-copyout2-nopreempt.log.xz,
            ==xv6vm== from the log alone (no model)
            ==xv6vm== 766 probes to line 772; 4 processes created, 2 freed

            Leak of 3 pages whose count never reached zero, in 1 group:
                unmapped without lowering their count; nothing maps them now
              3 pages at count 2 (0x0000000087f40000, 0x0000000087f41000,
                  0x0000000087f47000); unmapped without a drop by freeproc of pid 4 (reaped
                  by pid 3), unmap at line 689; by freeproc of pid 3 (reaped by pid 2),
                  unmap at line 749

            Count above its mappings: 5 pages in 2 groups (their counts can never reach zero)
              3 pages at count 2 (0x0000000087f67000, 0x0000000087f68000,
                  0x0000000087f6b000), mapped by pid 1; unmapped without a drop by exec of
                  sh by pid 2, unmap at line 379
              2 pages at count 2 (0x0000000087f5f000, 0x0000000087f63000), mapped by pid 2;
                  unmapped without a drop by exec of copyout2 by pid 3, unmap at line 509

            SUMMARY: 3 pages leaked in 1 record, 5 pages counted above their mappings
            Held at the end, not leaks: 137 pages by the kernel, 19 by 2 live processes
                (pid 1: 9, pid 2: 10)

            """)
        XCTAssertEqual(r.leaked, 3)
        let leak = try XCTUnwrap(r.records.first?.first)
        XCTAssertEqual(leak.what, .counted)
        XCTAssertEqual(leak.counted.map { hex16($0.pa) }, ["0x0000000087f40000", "0x0000000087f41000", "0x0000000087f47000"])
        XCTAssertEqual(leak.counted.map(\.va), [0x5000, 0x4000, 0])
        XCTAssertEqual(leak.counted.map(\.count), [2, 2, 2])
        XCTAssertEqual(leak.sites.map(\.line), [689, 749])
        XCTAssertEqual(leak.sites.map(\.by), ["freeproc of pid 4 (reaped by pid 3)", "freeproc of pid 3 (reaped by pid 2)"])
        XCTAssertEqual(r.findings.countSurplus.map { $0.pages.map(\.pa) }, [[0x87f6_7000, 0x87f6_8000, 0x87f6_b000], [0x87f5_f000, 0x87f6_3000]])
    }

    /// Only exec forgets (the pid 3 exec's one `refdec` of sh's text page deleted from
    /// `cow-boot`): sh still maps the page, so it has not leaked yet, but its count can never
    /// reach zero.
    func testAnExecThatKeepsASharedPageLeavesItCountedAboveItsMapping() throws {
        let real = try kernelLogLines("cow-boot.log.xz")
        let line = try XCTUnwrap(real.firstIndex(of: "@T refdec pa=0x0000000087f63000 n=1")) + 1
        XCTAssertEqual(line, 510)
        let r = try report(lines: try derived("cow-boot.log.xz", deleting: [line]), file: "exec-keeps.log")
        XCTAssertEqual(r.leaked, 0)
        XCTAssertEqual(r.summary, "SUMMARY: no leaks; 1 page counted above its mappings")
        XCTAssertTrue(r.text.contains("""

            Count above its mappings: 1 page in 1 group (their counts can never reach zero)
              1 page at count 2 (0x0000000087f63000), mapped by pid 2; unmapped without a
                  drop by exec of echo by pid 3, unmap at line 509

            """), r.text)
    }

    /// fork shares pid 3's page at va 0x4000 without raising its count (the fixture is
    /// `cow-copyout2-nopreempt` without line 651's `refinc`, so pid 4's exit frees the page at
    /// line 699 where the real kernel lowered the count). The map that left the count below
    /// its mappings, the free of a page pid 3 still maps, then pid 3's exit freeing it again.
    func testAForkWithoutARaiseFreesAMappedPageAndTakesItsCountBelowZero() throws {
        let lines = try kernelLogLines("cownoraise-copyout2-nopreempt.log.xz")
        XCTAssertEqual(lines, try derived("cow-copyout2-nopreempt.log.xz", deleting: [651],
                                          replacing: [699: "@T kfree pa=0x0000000087f41000"]))
        let r = try report("cownoraise-copyout2-nopreempt.log.xz")
        XCTAssertEqual(r.text, """
            ==xv6vm== leaks in cownoraise-copyout2-nopreempt.log.xz,
            ==xv6vm== from the log alone (no model)
            ==xv6vm== 776 probes to line 782; 4 processes created, 2 freed

            Double free: 1
              line 761: kfree pa=0x0000000087f41000 (freed at line 698; its count goes below
                  zero), in freeproc of pid 3 (reaped by pid 2)

            Free of a mapped page: 1 in 1 operation
              1 page freed by freeproc of pid 4 (reaped by pid 3) (line 698), still mapped
                  in pid 3's user table 0x0000000087f4a000: va 0x0000000000004000

            Count below its mappings: 1
              line 650: map of pa=0x0000000087f41000 at va 0x0000000000004000 for pid 4: 2
                  user tables map it, its count is 1; in fork by pid 3 (child 4)

            SUMMARY: no leaks; 1 double free, 1 free of a mapped page, 1 page counted below
                its mappings
            Held at the end, not leaks: 137 pages by the kernel, 19 by 2 live processes
                (pid 1: 9, pid 2: 10)

            """)
        // A kernel whose kfree frees only at exactly zero, and prints the count otherwise.
        var below = lines
        XCTAssertEqual(below[760], "@T kfree pa=0x0000000087f41000")
        below[760] = "@T refdec pa=0x0000000087f41000 n=-1"
        let b = try report(lines: below, file: "below.log")
        XCTAssertEqual(b.summary, "SUMMARY: no leaks; 1 free of a mapped page, 1 count below zero, 1 page counted below its mappings")
        XCTAssertTrue(b.text.contains("""

            Count below zero: 1
              line 761: refdec pa=0x0000000087f41000 n=-1 of a page freed at line 698; in
                  freeproc of pid 3 (reaped by pid 2)

            """), b.text)
        XCTAssertEqual(b.findings.counts.filter { $0.kind == .belowZero }.map(\.n), [-1])
    }

    /// pid 4's exit frees the text page it shares with pid 3 outright (line 695 a `kfree`
    /// where the real kernel lowered the count): freed with its count above zero, and pid
    /// 3's exit then frees it again.
    func testAFreeOfASharedPageIsAFreeWithItsCountAboveZero() throws {
        let lines = try derived("cow-copyout2-nopreempt.log.xz", replacing: [695: "@T kfree pa=0x0000000087f47000"])
        let r = try report(lines: lines, file: "frees-shared.log")
        XCTAssertEqual(r.summary, "SUMMARY: no leaks; 1 double free, 1 free with a count above zero")
        XCTAssertTrue(r.text.contains("""

            Freed with its count above zero: 1
              line 695: kfree pa=0x0000000087f47000 while its count was 2 (shared at line
                  643), still mapped by pid 3 at va 0x0000000000000000; in freeproc of pid 4
                  (reaped by pid 3)

            """), r.text)
        XCTAssertTrue(r.findings.mappedFrees.isEmpty)       // said once, as a count
    }

    /// A count the kernel prints that its lines do not give: a raise or a drop without its line.
    func testACountThatDisagreesWithTheLogsLinesIsOutOfStep() throws {
        let lines = try derived("cow-copyout2-nopreempt.log.xz", replacing: [651: "@T refinc pa=0x0000000087f41000 n=3"])
        let r = try report(lines: lines, file: "step.log")
        XCTAssertEqual(r.summary, "SUMMARY: no leaks; 2 counts out of step")
        XCTAssertTrue(r.text.contains("""

            Count out of step with the log's lines: 2
              line 651: refinc pa=0x0000000087f41000 n=3 where the log's lines give 2 (a
                  raise it did not print?); in fork by pid 3 (child 4)
              line 699: refdec pa=0x0000000087f41000 n=1 where the log's lines give 2 (a
                  drop it did not print?); in freeproc of pid 4 (reaped by pid 3)

            """), r.text)
    }

    /// A kernel whose COW copy writes the PTE by hand prints no `unmap` or `map` after its
    /// `refdec` (nor around a fault that keeps the page): the drop moves the faulting
    /// process's entry to the page the copy allocated, and nothing is reported. With the
    /// exit that keeps shared pages, the same leak as with the lines.
    func testACopyThatWritesThePTEByHandIsFollowedWithoutLines() throws {
        func byHand(_ lines: [String]) -> [String] {
            lines.filter { !($0.hasPrefix("@T unmap ") && $0.hasSuffix(" npages=1 free=0") && !$0.contains(" va=0x0000003fffff"))
                && !($0.hasPrefix("@T map ") && $0.contains(" size=0x0000000000000001 ")) }
        }
        for name in ["cow-boot.log.xz", "cow-copyout2-nopreempt.log.xz"] {
            let lines = byHand(try kernelLogLines(name))
            let r = try report(lines: lines, file: name)
            XCTAssertEqual(r.summary, "SUMMARY: no leaks, no double frees, no frees of mapped pages", name)
        }
        let leak = try report(lines: byHand(try kernelLogLines("cowleak-copyout2-nopreempt.log.xz")), file: "by-hand.log")
        XCTAssertEqual(leak.summary, "SUMMARY: 3 pages leaked in 1 record, 5 pages counted above their mappings")
        XCTAssertEqual(leak.records.first?.first?.counted.map(\.pa), [0x87f4_0000, 0x87f4_1000, 0x87f4_7000])
    }

    /// The COW boot log's probes dropped, repeated, swapped or given other fields: no trap,
    /// and the report stays within 80 columns.
    func testMutatedCountedStreamsAreReadWithoutATrap() throws {
        let probes = try KernelLog.read(path: Self.logs + "cow-copyout2-nopreempt.log.xz").probes
        var g = SplitMix64(state: 0xC0C0)
        var findings = 0
        for _ in 0..<200 {
            var list = probes
            for _ in 0...g.below(4) {
                let i = g.below(list.count), j = g.below(list.count)
                switch g.below(5) {
                case 0: list.remove(at: i)
                case 1: list.insert(list[i], at: j)
                case 2: list.swapAt(i, j)
                case 3: list[i].pa = list[j].pa; list[i].pt = list[j].pa
                default: list[i].n = g.pick([Int64.min, -1, 0, 1, 2, Int64.max])
                }
            }
            var tracker = LogLeakTracker(file: "fuzz.log")
            for p in list { tracker.take(p) }
            let r = tracker.finish()
            findings += r.clean ? 0 : 1
            XCTAssertTrue(r.text.split(separator: "\n").allSatisfy { $0.count <= 80 }, r.text)
        }
        XCTAssertGreaterThan(findings, 50)
    }
}
