import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport

/// Failure injection and shrinking on the lab variants: a kalloc failing in a fault handler
/// kills the process that faulted (the kernel goes on), and a finding on either variant
/// shrinks to a scenario of a few events.
final class LabSweepTests: XCTestCase {
    func sweep(_ s: CompiledScenario) -> (boot: Int, outcomes: [Sweep.Outcome]) {
        let (boot, total) = Sweep.allocations(s)
        return (boot, Sweep.run(s, calls: Array(boot + 1...total)))
    }

    /// The text trace of `s` with its `call`-th kalloc failing.
    func trace(_ s: CompiledScenario, failing call: Int) -> [String] {
        var s = s
        s.config.settings.failKalloc = call
        let w = TraceWriter(format: .text, sites: .init())
        Runner.run(s, writer: w)
        return String(decoding: w.bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// The trace's lines from the one that starts with `first`, `count` of them.
    func lines(_ t: [String], from first: String, _ count: Int) -> [String] {
        guard let i = t.firstIndex(where: { $0.hasPrefix(first) }) else { return [] }
        return Array(t[i..<min(t.count, i + count)])
    }

    func panicSites(_ o: [Sweep.Outcome]) -> Set<String> {
        Set(o.filter { if case .panic = $0.verdict { true } else { false } }.map(\.site))
    }

    /// cow-lab/copyout2.yaml makes 79 allocations after boot. Three are the copy of a COW
    /// store fault (sh's child's two stores before its exec, the parent's store to its
    /// stack after its fork), three of copyout's: each failing leaves the kernel clean.
    /// The fault's kills the process, silently (no console line: the cow kernel marks it
    /// killed, as cow-cowoom-nopreempt.log.xz shows); its child goes to init. Every panic
    /// is at boot's userinit or init's exec, as under the stock kernel.
    func testAKallocFailingInACowFaultKillsTheProcessAndTheKernelGoesOn() throws {
        let s = try ScenarioCompiler.compile(path: scenarioPath("cow-lab/copyout2.yaml"))
        let (boot, o) = sweep(s)
        XCTAssertEqual(boot, 137)
        XCTAssertEqual(o.count, 79)
        XCTAssertEqual(o.filter { $0.verdict == .clean }.count, 63)
        XCTAssertEqual(o.filter { if case .panic = $0.verdict { true } else { false } }.count, 16)
        let fault = o.filter { $0.site == "usertrap > uvmcowcopy > kcopy_n_deref" }
        XCTAssertEqual(fault.map(\.call), [176, 177, 213])
        XCTAssertEqual(fault.map(\.event), [12, 13, 22])
        XCTAssertEqual(fault.map(\.verdict), [.clean, .clean, .clean])
        let copy = o.filter { $0.site == "copyout > uvmcowcopy > kcopy_n_deref" }
        XCTAssertEqual(copy.map(\.verdict), [.clean, .clean, .clean])
        XCTAssertTrue(panicSites(o).allSatisfy { $0.hasPrefix("userinit") || $0.hasPrefix("sys_exec") }, "\(panicSites(o))")
        XCTAssertEqual(o.filter { $0.event > 2 && $0.verdict != .clean }.count, 0)

        // Call 213: copyout2's first store to its stack after forking its child.
        let t = trace(s, failing: 213)
        XCTAssertEqual(lines(t, from: "pagefault pid 3 scause 0xf va 0x0000000000006fac", 5), [
            "pagefault pid 3 scause 0xf va 0x0000000000006fac",
            "kalloc    out-of-memory pid 3 usertrap > uvmcowcopy > kcopy_n_deref",
            "reparent  pid 4 to pid 1",
            "zombie    pid 3 status -1",
            "skip      the store of 0x0000000000006fac by pid 3 faulted and killed it (write `killed: true` if that is expected)",
        ])
        XCTAssertFalse(t.contains { $0.contains("unexpected scause") || $0.hasPrefix("panic") })
    }

    /// lazy-lab/boot-echo.yaml makes 57 allocations after boot; its two lazy faults' kallocs
    /// failing kill echo with the lazy kernel's message. uvminit's table page failing leaks
    /// the page it was to map (1 page): lazy-lab's uvmunmap passes over a missing PTE where
    /// the stock kernel's panics.
    func testAKallocFailingInALazyFaultKillsTheProcessWithItsMessage() throws {
        let s = try ScenarioCompiler.compile(path: scenarioPath("lazy-lab/boot-echo.yaml"))
        let (boot, o) = sweep(s)
        XCTAssertEqual(boot, 137)
        XCTAssertEqual(o.count, 57)
        XCTAssertEqual(o.filter { $0.verdict == .clean }.count, 41)
        let fault = o.filter { $0.site == "usertrap > uvmlazytouch" }
        XCTAssertEqual(fault.map(\.call), [183, 184])
        XCTAssertEqual(fault.map(\.verdict), [.clean, .clean])
        XCTAssertEqual(o.filter { if case .leak = $0.verdict { true } else { false } }.map(\.call), [143, 144])
        XCTAssertEqual(o.first { $0.call == 143 }?.verdict, .leak(pages: 1, site: "userinit > uvminit"))

        let t = trace(s, failing: 183)
        XCTAssertEqual(lines(t, from: "pagefault pid 3", 4), [
            "pagefault pid 3 scause 0xf va 0x0000000000004008",
            "kalloc    out-of-memory pid 3 usertrap > uvmlazytouch",
            "lazy alloc: out of memory",
            "zombie    pid 3 status -1",
        ])
        XCTAssertFalse(t.contains { $0.hasPrefix("panic") })
    }

    /// The buggy COW kernel (3e4542e) against the fixed one: the smallest scenario where their
    /// traces part is one copyout that reaches one byte into a second page still shared.
    func testTheCopyoutBugShrinksToOneCopyoutAcrossTwoSharedPages() throws {
        let path = scenarioPath("cow-lab/copyout2.yaml")
        var s = try ScenarioCompiler.compile(path: path)
        XCTAssertNil(s.apply(overrides: ["variant=cow-3e4542e"]))
        let predicate = try Shrink.Predicate("golden:variant=cow-lab", original: s, file: path)
        let r = try XCTUnwrap(Shrink.run(s, file: "copyout2.yaml", predicate: predicate))
        XCTAssertEqual(r.before, 37)
        XCTAssertEqual(r.after, 4)
        XCTAssertTrue(r.yaml.hasSuffix("""
            kernel: {variant: cow-3e4542e}
            check: true
            events:
              - userinit: p1
              - exec: {proc: p1, path: "copyout2", argv: ["copyout2"], segments: [{vaddr: 0x0, memsz: 0x5000, filesz: 0x0}], entry: 0x0}
              - fork: {parent: p1, child: p2}
              - copyout: {proc: p1, va: 0x1e00, len: 513}

            """), r.yaml)
        XCTAssertTrue(r.yaml.contains("""
            #   golden:   kalloc # pid # copyout > uvmcowcopy > kcopy_n_deref
            #   this run: return pid # copyout = #
            """), r.yaml)
        let small = try ScenarioCompiler.compile(bytes: Array(r.yaml.utf8), file: "small.yaml")
        XCTAssertTrue(predicate.holds(small))
    }

    /// The lazy sweep's leak: the 6th kalloc of the run (uvminit's first table page) failing
    /// in userinit alone leaks the page, under lazy-lab.
    func testTheLazyLeakShrinksToUserinitAlone() throws {
        var s = try ScenarioCompiler.compile(path: scenarioPath("lazy-lab/boot-echo.yaml"))
        s.config.settings.failKalloc = 143
        let predicate = try Shrink.Predicate("leak", original: s)
        XCTAssertEqual(predicate, .leak(site: "userinit > uvminit"))
        let r = try XCTUnwrap(Shrink.run(s, file: "boot-echo.yaml", predicate: predicate))
        XCTAssertEqual(r.before, 16)
        XCTAssertEqual(r.after, 2)
        XCTAssertTrue(r.yaml.hasSuffix("""
            # The kalloc made to fail is at userinit > uvminit > mappages > walk, as in the original.
            description: shrunk from boot-echo.yaml
            kernel: {variant: lazy-lab}
            check: true
            events:
              - fail_kalloc: 6
              - userinit: p1

            """), r.yaml)
    }
}
