import Foundation
import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import CosimLog
import HTMLReport
import XV6
import RISCV

/// The cow-lab scenarios against the real kernels' logs they were written from: every memory
/// event (kalloc, kfree, map, unmap, freewalk, refinc, refdec) the same, in the same order,
/// address for address, from pid 1's allocproc on. The log's probes are read as replay reads
/// them (docs/kernel-logs/README.md); the model's events are made into the same probes.
final class CowLogTests: XCTestCase {
    static let kinds: Set<ProbeKind> = [.kalloc, .kfree, .map, .unmap, .freewalk, .refinc, .refdec]

    /// Each log's memory probes, read once for all the tests (the cowtest log has 743,515
    /// lines) by the replay's own parser; compared as probes, and written out only where two
    /// differ (as text, made line by line in these unoptimised tests, they took most of a
    /// minute).
    nonisolated(unsafe) static var memoryProbes: [String: [Probe]] = [:]

    /// The memory probes of `log` on its lines [first, last] (1-based, as `sed -n` counts),
    /// without their line numbers.
    func logMemory(_ log: String, _ first: Int, _ last: Int) throws -> [Probe] {
        if Self.memoryProbes[log] == nil {
            Self.memoryProbes[log] = try KernelLog.read(path: ReplayTests.logs + log).probes.filter { Self.kinds.contains($0.kind) }
        }
        return Self.memoryProbes[log]!.filter { $0.line >= first && $0.line <= last }.map { p in
            var p = p
            p.line = 0
            return p
        }
    }

    /// The same probes of a run of `scenario` (with `overrides`), after boot.
    func modelMemory(_ scenario: String, _ overrides: [String] = []) throws -> [Probe] {
        var s = try ScenarioCompiler.compile(path: scenarioPath(scenario))
        XCTAssertNil(s.apply(overrides: overrides))
        let w = TraceWriter(format: .none, sites: .init())
        var out: [Probe] = []
        w.tap = { r, event in
            guard event > 0, case .kernel(let e) = r else { return }
            var p: Probe
            switch e {
            case let .kalloc(pa, _, _): p = Probe(.kalloc); p.pa = pa.rawValue
            case .kallocFailed: p = Probe(.kalloc)
            case let .kfree(pa, _, _): p = Probe(.kfree); p.pa = pa.rawValue
            case let .mappages(_, root, va, size, pa, perm):
                p = Probe(.map); p.pt = root.rawValue; p.va = va.rawValue; p.size = size; p.pa = pa.rawValue; p.perm = UInt64(perm.rawValue)
            case let .uvmunmap(_, root, va, npages, free):
                p = Probe(.unmap); p.pt = root.rawValue; p.va = va.rawValue; p.n = Int64(bitPattern: npages); p.flag = free
            case let .freewalk(pt): p = Probe(.freewalk); p.pt = pt.rawValue
            case let .refinc(pa, n, _): p = Probe(.refinc); p.pa = pa.rawValue; p.n = Int64(n)
            case let .refdec(pa, n, _): p = Probe(.refdec); p.pa = pa.rawValue; p.n = Int64(n)
            default: return
            }
            out.append(p)
        }
        let (result, _) = Runner.run(s, writer: w)
        XCTAssertEqual(result.exitCode, 0, "\(scenario) \(overrides)")
        return out
    }

    func assertSame(_ model: [Probe], _ log: [Probe], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(model.count, log.count, what, file: file, line: line)
        if let i = model.indices.first(where: { $0 < log.count && model[$0] != log[$0] }) {
            XCTFail("\(what): memory event \(i + 1) differs: model \(model[i].rendered), log \(log[i].rendered)", file: file, line: line)
        }
    }

    /// cow-boot.log.xz lines 214-572: boot, sh, echo hi (215 memory events).
    func testBootEchoMakesTheRealCowKernelsMemoryEvents() throws {
        let log = try logMemory("cow-boot.log.xz", 214, 572)
        XCTAssertEqual(log.count, 215)
        assertSame(try modelMemory("cow-lab/boot-echo.yaml"), log, "boot-echo")
    }

    /// cow-copyout2-nopreempt.log.xz 214-777 (280 memory events); under cow-3e4542e, the
    /// buggy kernel's cowbuggy-copyout2-nopreempt.log.xz 214-831, whose copies come a piece
    /// later (lines 665-682): the same count, not the same order.
    func testCopyout2MakesEachKernelsMemoryEvents() throws {
        let fixed = try logMemory("cow-copyout2-nopreempt.log.xz", 214, 777)
        XCTAssertEqual(fixed.count, 280)
        assertSame(try modelMemory("cow-lab/copyout2.yaml"), fixed, "copyout2 under cow-lab")
        let buggy = try logMemory("cowbuggy-copyout2-nopreempt.log.xz", 214, 831)
        XCTAssertEqual(buggy.count, 280)
        XCTAssertNotEqual(buggy, fixed)
        // The scenario's expectation of the fixed kernel's page fails under the buggy one.
        var s = try ScenarioCompiler.compile(path: scenarioPath("cow-lab/copyout2.yaml"))
        XCTAssertNil(s.apply(overrides: ["variant=cow-3e4542e"]))
        let (result, _) = Runner.run(s, writer: nil)
        XCTAssertEqual(result.failedExpectations.map(\.text), [
            "expected pid 4's va 0x0000000000002000 to map pa 0x0000000087f4e000, found 0x0000000087f43000",
            "expected pid 4's va 0x0000000000002000 to have rwxu-ad, found r-xu-ad",
        ])
        var model: [String] = []
        let w = TraceWriter(format: .none, sites: .init())
        w.tap = { r, event in
            if event > 0, case let .kernel(.kalloc(pa, _, _)) = r { model.append(hexShort(pa.rawValue)) }
        }
        Runner.run(s, writer: w)
        XCTAssertEqual(model, buggy.filter { $0.kind == .kalloc }.map { hexShort($0.pa) })
    }

    /// cow-cowtest-nopreempt.log.xz 214-263143: cowtest's simple test twice, 262,736 memory
    /// events.
    func testCowtestSimpleMakesTheRealKernelsMemoryEvents() throws {
        let log = try logMemory("cow-cowtest-nopreempt.log.xz", 214, 263143)
        XCTAssertEqual(log.count, 262_736)
        assertSame(try modelMemory("cow-lab/cowtest-simple.yaml"), log, "cowtest-simple")
    }

    /// The rest of cowtest: `three` three times after simple (lines 214-743042, 686,003
    /// memory events), and `file` to the end of the log, the whole test (686,340).
    func testCowtestThreeAndFileMakeTheRealKernelsMemoryEvents() throws {
        let log = try logMemory("cow-cowtest-nopreempt.log.xz", 214, 743_515)
        XCTAssertEqual(log.count, 686_340)
        let three = try logMemory("cow-cowtest-nopreempt.log.xz", 214, 743_042)
        XCTAssertEqual(three.count, 686_003)
        assertSame(try modelMemory("cow-lab/cowtest-three.yaml"), three, "cowtest-three")
        assertSame(try modelMemory("cow-lab/cowtest-file.yaml"), log, "cowtest-file")
    }
}

extension CowLogTests {
    /// lazy-boot.log.xz from line 214 to its end: boot, sh, echo hi with two lazy faults
    /// (159 memory events).
    func testLazyBootEchoMakesTheRealLazyKernelsMemoryEvents() throws {
        let log = try logMemory("lazy-boot.log.xz", 214, 517)
        XCTAssertEqual(log.count, 159)
        assertSame(try modelMemory("lazy-lab/boot-echo.yaml"), log, "lazy boot-echo")
    }

    /// lazytests, one scenario per test, each from pid 1's allocproc: lazy alloc to line
    /// 18537 (13,992 memory events), lazy unmap after it to 46531 (40,836), out of memory
    /// after both to the end of the log (41,683).
    func testLazytestsMakeTheRealLazyKernelsMemoryEvents() throws {
        let all = try logMemory("lazy-lazytests-nopreempt.log.xz", 214, 47_714)
        XCTAssertEqual(all.count, 41_683)
        for (name, last, count) in [("alloc", 18_537, 13_992), ("unmap", 46_531, 40_836)] {
            let log = try logMemory("lazy-lazytests-nopreempt.log.xz", 214, last)
            XCTAssertEqual(log.count, count, name)
            assertSame(try modelMemory("lazy-lab/lazytests-\(name).yaml"), log, "lazytests-\(name)")
        }
        assertSame(try modelMemory("lazy-lab/lazytests-oom.yaml"), all, "lazytests-oom")
    }

    /// usertests sbrkmuch with countfree before and after it: the whole log from line 214
    /// (272,492 memory events), both kalloc failures of the counts included.
    func testSbrkmuchMakesTheRealLazyKernelsMemoryEvents() throws {
        let log = try logMemory("lazy-sbrkmuch-nopreempt.log.xz", 214, 558_835)
        XCTAssertEqual(log.count, 272_492)
        XCTAssertEqual(log.filter { $0.kind == .kalloc && $0.pa == 0 }.count, 2)
        assertSame(try modelMemory("lazy-lab/sbrkmuch.yaml"), log, "sbrkmuch")
    }
}
