import XCTest
import XV6
import RISCV
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport

/// `xv6vm report`'s records: what each event changed in the page tables, replayed in order,
/// must give back every live table exactly as vmprint prints it after that event.
final class ReportTests: XCTestCase {
    /// Table pages rebuilt from a report's changes, moved forward or back one event at a time.
    struct Rebuilt {
        var pages: [UInt64: [UInt64]] = [:]
        mutating func apply(_ e: RunReport.EventRow, forward: Bool) {
            for c in forward ? e.changes : e.changes.reversed() {
                var w = pages.removeValue(forKey: c.page) ?? Array(repeating: 0, count: 512)
                var v = forward ? c.new : c.old
                var k = 0
                while k < c.count { w[c.index + k] = v; v &+= forward ? c.newStep : c.oldStep; k += 1 }
                pages[c.page] = w
            }
        }
        /// vmprint's lines, made with `+` and while loops (this code is not optimised).
        func vmprint(_ root: UInt64) -> [String] {
            var lines = ["page table " + hex16(root)]
            let dots = ["..", ".. ..", ".. .. .."]
            func level(_ page: UInt64, _ depth: Int) {
                let w = pages[page] ?? ReportTests.zeroPage
                var i = 0
                while i < 512 {
                    let pte = w[i]
                    if pte & 1 == 1 {
                        lines.append(dots[depth] + String(i) + ": pte " + hex16(pte) + " pa " + hex16((pte >> 10) << 12))
                        if pte & 0xe == 0 && depth < 2 { level((pte >> 10) << 12, depth + 1) }
                    }
                    i += 1
                }
            }
            level(root, 0)
            return lines
        }
    }

    /// Every valid entry reached from `root`, in vmprint's order: its depth and index, and its
    /// value. `words(page)` gives the 512 words of the table page at `page`. (This code is not
    /// optimised: a while loop over a page's words fetched at once, not a closure call and a
    /// generic range per word, which took most of the tests' time.)
    static func entries(_ root: UInt64, _ words: (UInt64) -> [UInt64]) -> [UInt64] {
        var out: [UInt64] = [root]
        func level(_ page: UInt64, _ depth: UInt64) {
            let w = words(page)
            var i = 0
            while i < 512 {
                let pte = w[i]
                if pte & 1 == 1 {
                    out.append(depth << 60 | UInt64(i)); out.append(pte)
                    if pte & 0xe == 0 && depth < 2 { level((pte >> 10) << 12, depth + 1) }
                }
                i += 1
            }
        }
        level(root, 0)
        return out
    }

    /// The 512 words of the kernel's page at `page`, each read from its memory (0 outside RAM).
    static func kernelWords(_ k: Kernel, _ page: UInt64) -> [UInt64] {
        var w = [UInt64](repeating: 0, count: 512)
        let inside = k.memory.contains(PhysAddr(page), length: 4096)
        var i = 0
        while i < 512 {
            let a = PhysAddr(page + UInt64(i) * 8)
            if inside || k.memory.contains(a, length: 8) { w[i] = k.memory.read64(a) }
            i += 1
        }
        return w
    }

    static let zeroPage = [UInt64](repeating: 0, count: 512)

    /// Runs `name`'s report and checks, after every event, forward and then back, that the
    /// tables rebuilt from its changes hold every entry the kernel's tables hold (`vmprint`
    /// lines too with `lines`).
    func check(_ name: String, lines: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
        let scenario = try ScenarioCompiler.compile(path: scenarioPath(name))
        let report = RunReport(scenario: scenario)
        var want: [[UInt64]] = [], wantLines: [[String]] = []
        Runner.run(scenario, writer: nil, afterEvent: { _, k in
            let live = RunReport.live(k, perProcessKernel: scenario.config.settings.perProcessKernelPagetable)
            let roots = live.flatMap { [$0.user, $0.kernel] }.filter { $0 != 0 }
            want.append(roots.flatMap { Self.entries($0) { Self.kernelWords(k, $0) } })
            if lines { wantLines.append(roots.flatMap { (try? k.vmprint(PhysAddr($0))) ?? ["vmprint failed"] }) }
        })
        XCTAssertEqual(report.events.count, want.count, name, file: file, line: line)
        func roots(_ i: Int) -> [UInt64] {
            (report.processes.last { $0.event <= i }?.list ?? []).flatMap { [$0.user, $0.kernel] }.filter { $0 != 0 }
        }
        var printed: [Int: [String]] = [:]
        func same(_ r: Rebuilt, _ i: Int, _ way: String) -> Bool {
            let got = roots(i).flatMap { root in Self.entries(root) { page in
                precondition(page & 4095 == 0, "a table page is page aligned")
                return r.pages[page] ?? Self.zeroPage
            } }
            if got != want[i] {
                let at = zip(got, want[i]).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(got.count, want[i].count)
                XCTFail("\(name) after event \(i), \(way): word \(at) of the walk differs (\(got.count) vs \(want[i].count) words)", file: file, line: line)
                return false
            }
            // The lines are a function of the walk, just found the same as the kernel's: on
            // the way back, those of the way forward are the lines of the same walk.
            if lines && (printed[i] ?? roots(i).flatMap({ r.vmprint($0) })) != wantLines[i] {
                XCTFail("\(name) after event \(i), \(way): vmprint differs", file: file, line: line)
                return false
            }
            if lines && printed[i] == nil { printed[i] = wantLines[i] }
            return true
        }
        var r = Rebuilt()
        for i in report.events.indices {
            r.apply(report.events[i], forward: true)
            if !same(r, i, "forward") { return }
        }
        for i in report.events.indices.reversed().dropFirst() {
            r.apply(report.events[i + 1], forward: false)
            if !same(r, i, "back") { return }
        }
    }

    func testChangesRebuildEveryTableOfTheStockKernelForwardAndBack() throws {
        try check("xv6-2020/fork-exec-exit.yaml", lines: true)
        try check("xv6-2020/reparent.yaml", lines: true)
    }

    func testChangesRebuildTheLabsTablesKernelTablesAndCOWBitsIncluded() throws {
        try check("pgtbl-lab/fork-exec-exit.yaml", lines: true)
        try check("cow-lab/cowtest-simple.yaml", lines: true)
    }

    func testEveryScenarioOutsideLeaksRebuildsExactlyAndTheLeaksOnesGiveAPage() throws {
        let all = try FileManager.default.subpathsOfDirectory(atPath: packageRoot + "/scenarios").filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertGreaterThanOrEqual(all.count, 24)
        // Each table after each event is compared with vmprint: of the lab tests, whose later
        // parts run the earlier ones again, only the first part of each (cowtest's simple,
        // lazytests' alloc) is, and not usertests' sbrkmuch (32,465 sbrks).
        let long = ["cow-lab/cowtest-three.yaml", "cow-lab/cowtest-file.yaml", "lazy-lab/lazytests-unmap.yaml",
                    "lazy-lab/lazytests-oom.yaml", "lazy-lab/sbrkmuch.yaml"]
        for name in all where !name.hasPrefix("leaks/") && !long.contains(name) { try check(name) }
        for name in ["leaks/reparent2-shrunk.yaml", "leaks/reparent2-root-only.yaml"] {
            let report = RunReport(scenario: try ScenarioCompiler.compile(path: scenarioPath(name)))
            XCTAssertEqual(report.events.count, report.result?.eventsRun, name)
            XCTAssertTrue(report.html.hasSuffix("</body></html>\n"), name)
        }
    }

    func testSbrkRecordsOneRunOfSixteenLeavesAndTheAccessedBitsOfTheRun() throws {
        let report = RunReport(scenario: try ScenarioCompiler.compile(path: scenarioPath("xv6-2020/fork-exec-exit.yaml")))
        XCTAssertEqual(report.events[6].label, "sbrk pid 3 65536")
        XCTAssertEqual(report.events[6].location, "fork-exec-exit.yaml:11")
        XCTAssertEqual(report.events[6].kallocs, 16)
        XCTAssertEqual(report.events[6].changes, [
            .init(page: 0x87f6_5000, index: 4, count: 16, old: 0, oldStep: 0, new: 0x21fd_641f, newStep: 0 &- 0x400),
            .init(page: 0x87f7_3000, index: 510, count: 1, old: 0x21fd_9007, oldStep: 0, new: 0x21fd_90c7, newStep: 0),
            .init(page: 0x87f7_3000, index: 511, count: 1, old: 0x2000_1c0b, oldStep: 0, new: 0x2000_1c4b, newStep: 0)])
        XCTAssertEqual(report.events[8].changes, [], "vmprint changes nothing")
        XCTAssertEqual(report.processes.map(\.event), [0, 1, 2, 3, 4, 5, 7, 10])
        XCTAssertEqual(report.processes.last?.list.map(\.pid), [1, 2])
    }

    /// The pages by owner after every event counted: as `ownership` accounts them, kind by
    /// kind, the unattributed being the allocated pages no live structure holds.
    @discardableResult
    func checkOwners(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let scenario = try ScenarioCompiler.compile(path: scenarioPath(name))
        let report = RunReport(scenario: scenario)
        var want: [[Int]] = []
        Runner.run(scenario, writer: nil, afterEvent: { _, k in
            let o = k.ownership(classifyLeaks: false)
            want.append(OwnerCounts.order.map { o.pages[$0] ?? 0 } + [o.leaked])
        })
        XCTAssertEqual(report.events.count, want.count, name, file: file, line: line)
        var counted = 0
        for (i, e) in report.events.enumerated() {
            // A run whose processes hold many pages is counted less often (`walkPerEvent`).
            guard let got = e.owners else { continue }
            counted += 1
            XCTAssertEqual(got.kinds, want[i], "\(name) after event \(i)", file: file, line: line)
            XCTAssertEqual(got.total, report.totalPages - e.free, "\(name) after event \(i)", file: file, line: line)
        }
        return counted
    }

    func testPagesByOwnerAfterEveryEventAreTheLeakWalksCounts() throws {
        XCTAssertEqual(try checkOwners("xv6-2020/fork-exec-exit.yaml"), 12, "every event counted")
        XCTAssertEqual(try checkOwners("pgtbl-lab/fork-exec-exit.yaml"), 12, "every event counted")
        XCTAssertEqual(try checkOwners("leaks/reparent2-shrunk.yaml"), 5, "every event counted")
        try checkOwners("cow-lab/cowtest-simple.yaml")
    }

    func testSbrkAddsSixteenPagesOfUserMemoryToItsProcessAndAWaitReapsAZombie() throws {
        let report = RunReport(scenario: try ScenarioCompiler.compile(path: scenarioPath("xv6-2020/fork-exec-exit.yaml")))
        // user memory, user tables, process kernel tables, process kernel stacks, trapframes,
        // zombies, pipes, the boot kernel table, the kernel stacks, being built, unattributed.
        XCTAssertEqual(report.events[5].owners?.kinds, [11, 15, 0, 0, 3, 0, 0, 73, 64, 0, 0])
        XCTAssertEqual(report.events[6].owners?.kinds, [27, 15, 0, 0, 3, 0, 0, 73, 64, 0, 0])
        // pid, user memory, user tables, kernel table, kernel stack and trapframe, zombie.
        XCTAssertEqual(report.events[6].owners?.processes, [[1, 3, 5, 0, 1, 0], [2, 4, 5, 0, 1, 0], [3, 20, 5, 0, 1, 0]])
        XCTAssertEqual(report.events[9].owners?.processes.last, [3, 0, 0, 0, 0, 9])
        XCTAssertEqual(report.events[10].owners?.processes, [[1, 3, 5, 0, 1, 0], [2, 4, 5, 0, 1, 0]])
    }
}
