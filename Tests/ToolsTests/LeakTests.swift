import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport
import XV6

final class LeakTests: XCTestCase {
    func report(_ name: String, _ overrides: [String] = []) throws -> (LeakReport, RunResult) {
        var s = try ScenarioCompiler.compile(path: scenarioPath(name))
        XCTAssertNil(s.apply(overrides: overrides))
        let (r, k) = Runner.run(s, writer: nil)
        return (LeakReport(scenario: s, kernel: try XCTUnwrap(k), result: r), r)
    }

    func testReparent2UnderPgtblLabLeaksNothingAndEndsWithTheFreePagesItStartedWith() throws {
        let (rep, r) = try report("leaks/reparent2.yaml")
        XCTAssertNil(r.panic)
        XCTAssertEqual(r.processesCreated, 3204)
        XCTAssertEqual(r.baseline, 32294)
        XCTAssertEqual(rep.freePages, 32294)
        XCTAssertEqual(rep.leaked, 0)
        XCTAssertEqual(r.failedExpectations.count, 0)
        XCTAssertEqual(r.exitCode, 0)
        XCTAssertEqual(r.counters.kallocs - r.counters.kfrees, 32728 - 32294)      // every page not free was kalloc'ed and not kfree'd
    }

    func testRootOnlyFreeRunsOutOfMemoryAndPanicsKvmmapInRound112() throws {
        let (rep, r) = try report("leaks/reparent2-root-only.yaml")
        XCTAssertEqual(r.panic?.message, "kvmmap")
        XCTAssertEqual(r.panicEvent, 1345)
        XCTAssertTrue(r.panicExpected)                        // the scenario says `expect: {panic: kvmmap}`
        XCTAssertEqual(r.processesCreated, 452)
        // The kernel table fork was building when memory ran out (its root and 30 tables) is
        // held by the kernel's stack, not leaked; nor is the trapframe of the slot being filled.
        XCTAssertEqual(rep.leaked, 31968)
        XCTAssertEqual(rep.definitely, 1332)
        XCTAssertEqual(rep.indirectly, 30636)
        let top = try XCTUnwrap(rep.records.first)
        XCTAssertTrue(top.direct)
        XCTAssertEqual(top.site, ["fork", "allocproc", "kvminit_newpgtbl", "kvm_map_pagetable", "kvmmap", "mappages", "walk"])
        XCTAssertEqual(top.pages, 1332)                       // the three level-1 tables of each of 444 kernel tables
        let text = rep.text.split(separator: "\n").map(String.init)
        XCTAssertEqual(Array(text.prefix(3)), [
            "==xv6vm== leak report for reparent2-root-only.yaml, after event 1345 of 9610",
            "==xv6vm==   (the kernel panicked: panic: kvmmap)",
            "==xv6vm== 452 processes created; 0 pages free",
        ])
        XCTAssertTrue(text.allSatisfy { $0.count <= 80 }, rep.text)
        XCTAssertTrue(text.contains("Free pages lost per round: 288 every round (rounds 1 to 111: 32006 -> 326)"))
        XCTAssertTrue(text.contains("    leaked (no live owner)                  31968"), rep.text)
        XCTAssertTrue(text.contains("    being built when the kernel panicked       31"), rep.text)
        XCTAssertEqual(Array(text[text.firstIndex(of: "Direct leak of 1332 pages in 1332 allocations (definitely lost) from:")!...].prefix(11)), [
            "Direct leak of 1332 pages in 1332 allocations (definitely lost) from:",
            "    #0 kalloc", "    #1 walk", "    #2 mappages", "    #3 kvmmap", "    #4 kvm_map_pagetable",
            "    #5 kvminit_newpgtbl", "    #6 allocproc", "    #7 fork",
            "  by pids 5, 6, 7, 8, 9, 10, 11, 12 and 436 more; first at",
            "    reparent2-root-only.yaml:24:9 [round 1/800] (event 10)",
        ])
        XCTAssertEqual(Array(text.suffix(3)), [
            "SUMMARY: 31968 pages leaked in 3 records:",
            "         1332 definitely lost, 30636 indirectly lost",
            "FAILED -- lost some free pages 0 (out of 32294)",
        ])
    }

    func testAKernelStackNotFreedIsNamedAsTheOnlySite() throws {
        let (rep, r) = try report("leaks/reparent2.yaml", ["free_kernel_stack=false"])
        XCTAssertNil(r.panic)
        XCTAssertEqual(rep.records.map(\.site), [["fork", "allocproc"]])
        XCTAssertEqual(rep.records.first?.pages, 3200)           // one stack for each of the 3200 children
        XCTAssertEqual(r.failedExpectations.map(\.text), ["expected 32294 free pages (the baseline), found 29094", "expected 0 leaked pages, found 3200 (see `xv6vm leaks`)"])
        XCTAssertTrue(rep.text.hasSuffix("FAILED -- lost some free pages 29094 (out of 32294)"))
    }

    func testAKernelTableNeverFreedNamesItsRootFirst() throws {
        let (rep, r) = try report("leaks/reparent2.yaml", ["free_kernel_pagetable=none"])
        XCTAssertEqual(r.panic?.message, "kvmmap")
        XCTAssertEqual(r.processesCreated, 447)
        XCTAssertEqual(rep.records.first?.site, ["fork", "allocproc", "kvminit_newpgtbl"])
        XCTAssertEqual(rep.records.first?.direct, true)
        XCTAssertEqual(rep.records.first?.pages, 441)                // the 442nd is being built at the panic
    }

    func testLeaksAtAnEarlierEventAndAPlotOfTheRun() throws {
        var s = try ScenarioCompiler.compile(path: scenarioPath("leaks/reparent2.yaml"))
        XCTAssertNil(s.apply(overrides: ["free_kernel_pagetable=root-only"]))
        let (r, k) = Runner.run(s, writer: nil, stopAfter: 21)           // the end of round 1
        let rep = LeakReport(scenario: s, kernel: try XCTUnwrap(k), result: r)
        XCTAssertEqual(rep.atEvent, 21)
        XCTAssertEqual(rep.leaked, 4 * 72)
        XCTAssertTrue(rep.text.hasPrefix("==xv6vm== leak report for reparent2.yaml, after event 21 of 9610\n==xv6vm==   (stopped there, as asked)\n"), rep.text)
        let plot = MemoryPlot(scenario: s)
        XCTAssertEqual(plot.panic?.message, "kvmmap")
        XCTAssertEqual(plot.freeAfter.count, 1346)
        XCTAssertGreaterThanOrEqual(plot.samples.count, 300)
        XCTAssertTrue(plot.svg.contains("panic: kvmmap (event 1345)"))
        XCTAssertTrue(plot.svg.hasPrefix(#"<svg xmlns="http://www.w3.org/2000/svg""#))
    }

    /// The plot's axis fits the pages the run allocates, at round values, never above all
    /// of RAM; free pages read on the right; events of a short run are named.
    func testThePlotScalesToTheDataAndNamesTheEvents() throws {
        XCTAssertEqual(MemoryPlot.ticks(upTo: 183), [0, 50, 100, 150, 200])
        XCTAssertEqual(MemoryPlot.ticks(upTo: 32_600), [0, 10_000, 20_000, 30_000, 40_000])
        XCTAssertEqual(MemoryPlot.ticks(upTo: 7), [0, 2, 4, 6, 8])
        let plot = MemoryPlot(scenario: try ScenarioCompiler.compile(path: scenarioPath("xv6-2020/fork-exec-exit.yaml")))
        let svg = plot.svg
        XCTAssertTrue(svg.contains(#"text-anchor="end">200</text>"#))              // the left axis tops at 200 pages
        XCTAssertFalse(svg.contains(#"text-anchor="end">32728</text>"#))
        XCTAssertTrue(svg.contains(">3 fork 1→2</text>"))
        XCTAssertTrue(svg.contains(">6 sbrk 3 65536</text>"))
        XCTAssertTrue(svg.contains(">free pages (of 32728)</text>"))
        XCTAssertTrue(svg.contains(">32528</text>"))                          // 200 allocated
        let root = MemoryPlot(scenario: try ScenarioCompiler.compile(path: scenarioPath("leaks/reparent2-root-only.yaml"))).svg
        XCTAssertTrue(root.contains(">32728</text>") && !root.contains(">40000</text>") && !root.contains(">-"))
        XCTAssertTrue(root.contains(">baseline (event 9): 32294 free</text>"))
    }

    /// The plot of reparent2-root-only as a student saw it: every legend entry whole, the
    /// panic's label above the plot (where the allocated line cannot run through it), the
    /// baseline's label on a white box (it was blue on red).
    func testThePlotsLabelsStayReadable() throws {
        let svg = MemoryPlot(scenario: try ScenarioCompiler.compile(path: scenarioPath("leaks/reparent2-root-only.yaml"))).svg
        let lines = svg.split(separator: "\n").map(String.init)
        // The legend's column is as wide as "being built when the kernel panicked" needs: the page is 1094 wide.
        XCTAssertTrue(lines[0].hasPrefix(#"<svg xmlns="http://www.w3.org/2000/svg" width="1094" height="556""#), lines[0])
        let legend = try XCTUnwrap(lines.first { $0.hasSuffix(">being built when the kernel panicked</text>") })
        XCTAssertTrue(legend.hasPrefix(#"<text x="826.0" y=""#), legend)      // 36 characters of 7 px from 826: within 1094
        // The panic's label: on a white box, its baseline 8 px above the plot's top (66).
        let panic = try XCTUnwrap(lines.firstIndex { $0.hasSuffix(">panic: kvmmap (event 1345)</text>") })
        XCTAssertTrue(lines[panic].contains(#" y="58.0" text-anchor="end" fill="rgb(204,0,0)" font-weight="bold""#), lines[panic])
        XCTAssertTrue(lines[panic - 1].hasPrefix("<rect ") && lines[panic - 1].hasSuffix(#"height="16" fill="white"/>"#), lines[panic - 1])
        // The allocated line is drawn before the labels, so they lie over it.
        let line = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("<polyline ") })
        let baseline = try XCTUnwrap(lines.firstIndex { $0.hasSuffix(">baseline (event 9): 32294 free</text>") })
        XCTAssertLessThan(line, baseline)
        XCTAssertTrue(lines[baseline - 1].hasPrefix("<rect ") && lines[baseline - 1].hasSuffix(#"fill="white"/>"#), lines[baseline - 1])
        XCTAssertTrue(lines[baseline].contains(#"fill="rgb(0,102,204)""#))
    }

    /// vmprint as a figure: the lab's kernel table of pid 1, its direct map's 63 identical
    /// tables of 512 leaves drawn as one row (they were 63 rows, 2,030 px), the user pages
    /// mirrored without U at the top.
    func testATableFigureDrawsTheTreeWithRunsOfLeaves() throws {
        let s = try ScenarioCompiler.compile(path: scenarioPath("pgtbl-lab/boot.yaml"))
        let (_, k) = Runner.run(s, writer: nil)
        let kernel = try XCTUnwrap(k)
        let slot = try XCTUnwrap(kernel.slot(ofPid: 1))
        let figure = TableFigure(caption: "t", root: kernel.procs[slot].kernelPagetable, memory: kernel.memory)
        let leaves = figure.boxes.filter { $0.level == 0 }
        XCTAssertEqual(figure.tablePages, 72)                                   // table pages below the root
        XCTAssertEqual(leaves.count, 10)
        XCTAssertEqual(leaves.first.map { $0.title + "  " + $0.detail }, "[0] va 0x0: 1 page  pa 0x87f61000 rwx----")
        XCTAssertTrue(figure.boxes.contains { $0.level == 1 && $0.title == "[1-63] 63 tables" && $0.detail == "from 0x87fab000" })
        XCTAssertTrue(leaves.contains { $0.title == "[0-511]×63 va 0x80200000: 32256 pages" && $0.detail == "pa 0x80200000 rw-----" })
        XCTAssertTrue(figure.boxes.contains { $0.level == 1 && $0.title == "[96-97] 2 tables" })     // PLIC's 4 MiB
        XCTAssertEqual(leaves.last.map { $0.title + "  " + $0.detail }, "[511] va 0x3ffffff000: 1 page  pa 0x80007000 r-x--a-")
        XCTAssertTrue(figure.svg.contains(">[2] table 0x0000000087fad000</text>"))
        XCTAssertTrue(figure.svg.hasPrefix(#"<svg xmlns="http://www.w3.org/2000/svg" width="1210" height="340""#), String(figure.svg.prefix(90)))
    }
}
