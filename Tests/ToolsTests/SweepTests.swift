import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport

/// Failure injection finds the error paths that do not recover: pinned, per site.
final class SweepTests: XCTestCase {
    func sweep(_ name: String) throws -> [Sweep.Outcome] {
        let s = try ScenarioCompiler.compile(path: scenarioPath(name))
        let (boot, total) = Sweep.allocations(s)
        XCTAssertGreaterThan(total, boot)
        return Sweep.run(s, calls: Array(boot + 1...total))
    }

    func verdicts(_ outcomes: [Sweep.Outcome], site: String) -> Set<String> {
        Set(outcomes.filter { $0.site == site }.map(\.verdict.detail))
    }

    func testPgtblLabForkExecExitSitesThatDoNotRecover() throws {
        let o = try sweep("pgtbl-lab/fork-exec-exit.yaml")
        XCTAssertEqual(o.count, 294)
        XCTAssertEqual(o.filter { $0.verdict == .clean }.count, 59)
        // A kalloc failing while allocproc builds the kernel page table: kvmmap panics.
        XCTAssertEqual(verdicts(o, site: "fork > allocproc > kvminit_newpgtbl > kvm_map_pagetable > kvmmap > mappages > walk"), ["panic: kvmmap"])
        // The kernel stack's kalloc is checked with panic; the trapframe's makes fork return -1.
        XCTAssertEqual(verdicts(o, site: "fork > allocproc"), ["clean", "panic: kalloc"])
        // kvmcopymappings failing in fork: freeproc runs with sz still 0, so freewalk finds the copied pages.
        XCTAssertEqual(verdicts(o, site: "fork > kvmcopymappings > mappages > walk"), ["panic: freewalk: leaf"])
        // proc_pagetable failing: freeproc calls kvmpa on a kernel table that does not exist yet.
        XCTAssertEqual(verdicts(o, site: "fork > allocproc > proc_pagetable > uvmcreate"), ["panic: kvmpa"])
        XCTAssertEqual(verdicts(o, site: "fork > uvmcopy"), ["clean"])
        XCTAssertEqual(verdicts(o, site: "sys_exec > exec > uvmalloc"), ["clean"])
        XCTAssertEqual(verdicts(o, site: "userinit > kvmcopymappings > mappages > walk"), ["panic: uvmunmap: walk"])
    }

    func testTheStockKernelRecoversEverywhereAfterUserinit() throws {
        let o = try sweep("xv6-2020/fork-exec-exit.yaml")
        XCTAssertEqual(o.count, 72)
        XCTAssertEqual(o.filter { !$0.site.hasPrefix("userinit") }.map(\.verdict).filter { $0 != .clean }, [])
        // uvminit ignores a failed mappages; exec later unmaps page 0 and finds no table.
        XCTAssertEqual(verdicts(o, site: "userinit > uvminit > mappages > walk"), ["panic: uvmunmap: walk"])
    }

    func testSamplesAreSpreadEvenlyAndTheReportHasASummaryLine() throws {
        XCTAssertEqual(Sweep.sample(1, 10, 4), [1, 4, 7, 10])
        XCTAssertEqual(Sweep.sample(5, 7, 10), [5, 6, 7])
        let s = try ScenarioCompiler.compile(path: scenarioPath("xv6-2020/sbrk.yaml"))
        let o = Sweep.run(s, calls: [145, 150, 160])
        let text = Sweep.report(s, o)
        XCTAssertTrue(text.hasPrefix("sweep of sbrk.yaml (xv6-2020): 3 runs, each with one kalloc failing\n3 runs: 3 clean, 0 leak, 0 panic, 0 invariant, 0 not reached\n"), text)
        XCTAssertTrue(text.hasSuffix("\n(one line per run: --verbose, or --format json)"), text)
        // With --verbose, every run: call, event and outcome, then its site.
        XCTAssertTrue(Sweep.report(s, o, verbose: true).hasSuffix("""
              call  event  outcome
                           allocation site
               145      2  clean
                           sys_exec
               150      2  clean
                           sys_exec > exec > uvmalloc > mappages > walk
               160      3  clean
                           fork > uvmcopy > mappages > walk
            """), Sweep.report(s, o, verbose: true))
        XCTAssertFalse(Sweep.report(s, o, path: "scenarios/xv6-2020/sbrk.yaml").contains("xv6vm shrink"))      // nothing to reduce
        XCTAssertTrue(text.contains("\n                          e.g. call 160 (event 3): clean\n"), text)
    }

    /// Leaks at one site read as numbers, smallest to largest, whatever their digits.
    func testLeakSizesAreSortedAsNumbers() {
        let v: [Sweep.Verdict] = [.leak(pages: 1079, site: "a > b"), .leak(pages: 359, site: "a > b"), .leak(pages: 2231, site: "a > b"), .panic("kvmmap")]
        XCTAssertEqual(Sweep.whatHappens(v), "panic: kvmmap; leak: 359 to 2231 pages (3 runs), first at a > b")
        let folded = Sweep.fold("  " + String(repeating: "x > ", count: 30) + "y", hang: 4)
        XCTAssertEqual(folded.map(\.count), [77, 49])
        XCTAssertTrue(folded[0].hasSuffix("x >") && folded[1].hasPrefix("    x >"))
    }

    func testTheReportSaysHowToShrinkAFinding() throws {
        let s = try ScenarioCompiler.compile(path: scenarioPath("pgtbl-lab/fork-exec-exit.yaml"))
        let o = Sweep.run(s, calls: [155, 260])
        XCTAssertEqual(o.map(\.verdict.word), ["clean", "panic"])
        let lines = Sweep.report(s, o, path: "scenarios/pgtbl-lab/fork-exec-exit.yaml").split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines[1], "2 runs: 1 clean, 0 leak, 1 panic, 0 invariant, 0 not reached")
        let example = try XCTUnwrap(lines.firstIndex(of: "                          e.g. call 260 (event 5); to shrink it:"))
        XCTAssertEqual(lines[example + 1], "    xv6vm shrink scenarios/pgtbl-lab/fork-exec-exit.yaml --set fail_kalloc=260 \\")
        XCTAssertEqual(lines[example + 2], "        --until panic -o small.yaml")
        XCTAssertEqual(lines.suffix(5), ["    1     0      0     0  sys_exec", "                          recovers",
                                        "                          e.g. call 155 (event 2): clean", "", "(one line per run: --verbose, or --format json)"])
        XCTAssertTrue(lines.allSatisfy { $0.count <= 80 })
    }

    /// --format json streams one line per run in call order as runs finish (whatever order
    /// the cores finish them in), so an interrupt keeps a prefix; the totals come last.
    func testRunsStreamInCallOrderAsTheyFinish() throws {
        let s = try ScenarioCompiler.compile(path: scenarioPath("pgtbl-lab/fork-exec-exit.yaml"))
        let lines = Slots<String>(count: 6)
        let n = Counter()
        let o = Sweep.run(s, calls: [150, 155, 160, 200, 250, 260], ordered: { lines[n.increment() - 1] = Sweep.json($0).encoded })
        XCTAssertEqual(lines.values.map { String($0.prefix(12)) }, o.map { "{\"call\":\($0.call),"  })
        XCTAssertEqual(lines.values[5], #"{"call":260,"detail":"panic: kvmpa","event":5,"outcome":"panic","site":"fork > allocproc > proc_pagetable > mappages > walk"}"#)
        XCTAssertEqual(Sweep.summaryJSON(s, o).encoded, #"{"kind":"summary","runs":6,"scenario":"fork-exec-exit.yaml","totals":{"clean":3,"invariant":0,"leak":0,"not_reached":0,"panic":3},"variant":"pgtbl-lab"}"#)
    }
}
