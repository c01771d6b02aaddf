import XCTest
import XV6
import RISCV
import Support
import Scenario
import Run
import Goldens
import Explore
import Cosim
import Report

/// `xv6vm report`'s records: what each event changed in the page tables, replayed in order,
/// must give back every live table exactly as vmprint prints it after that event.
final class ReportTests: XCTestCase {
    /// Table pages rebuilt from a report's changes, moved forward or back one event at a time.
    struct Rebuilt {
        var pages: [UInt64: [UInt64]] = [:]
        mutating func apply(_ e: RunReport.EventRow, forward: Bool) {
            for c in forward ? e.changes : e.changes.reversed() {
                var w = pages[c.page] ?? Array(repeating: 0, count: 512)
                var v = forward ? c.new : c.old
                for k in 0..<c.count { w[c.index + k] = v; v &+= forward ? c.newStep : c.oldStep }
                pages[c.page] = w
            }
        }
        func vmprint(_ root: UInt64) -> [String] {
            var lines = ["page table \(hex16(root))"]
            func level(_ page: UInt64, _ depth: Int) {
                let w = pages[page] ?? Array(repeating: 0, count: 512)
                for i in 0..<512 where w[i] & 1 == 1 {
                    lines.append(".." + String(repeating: " ..", count: depth) + "\(i): pte \(hex16(w[i])) pa \(hex16((w[i] >> 10) << 12))")
                    if w[i] & 0xe == 0 && depth < 2 { level((w[i] >> 10) << 12, depth + 1) }
                }
            }
            level(root, 0)
            return lines
        }
    }

    /// Every valid entry reached from `root`, in vmprint's order: its depth and index, and its value.
    static func entries(_ root: UInt64, _ read: (UInt64) -> UInt64) -> [UInt64] {
        var out: [UInt64] = [root]
        func level(_ page: UInt64, _ depth: UInt64) {
            for i in 0..<UInt64(512) {
                let pte = read(page + i * 8)
                guard pte & 1 == 1 else { continue }
                out.append(depth << 60 | i); out.append(pte)
                if pte & 0xe == 0 && depth < 2 { level((pte >> 10) << 12, depth + 1) }
            }
        }
        level(root, 0)
        return out
    }

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
            want.append(roots.flatMap { Self.entries($0) { k.memory.contains(PhysAddr($0), length: 8) ? k.memory.read64(PhysAddr($0)) : 0 } })
            if lines { wantLines.append(roots.flatMap { (try? k.vmprint(PhysAddr($0))) ?? ["vmprint failed"] }) }
        })
        XCTAssertEqual(report.events.count, want.count, name, file: file, line: line)
        func roots(_ i: Int) -> [UInt64] {
            (report.processes.last { $0.event <= i }?.list ?? []).flatMap { [$0.user, $0.kernel] }.filter { $0 != 0 }
        }
        func same(_ r: Rebuilt, _ i: Int, _ way: String) -> Bool {
            let got = roots(i).flatMap { root in Self.entries(root) { a in r.pages[a & ~4095].map { $0[Int(a & 4095) / 8] } ?? 0 } }
            if got != want[i] {
                let at = zip(got, want[i]).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(got.count, want[i].count)
                XCTFail("\(name) after event \(i), \(way): word \(at) of the walk differs (\(got.count) vs \(want[i].count) words)", file: file, line: line)
                return false
            }
            if lines && roots(i).flatMap({ r.vmprint($0) }) != wantLines[i] {
                XCTFail("\(name) after event \(i), \(way): vmprint differs", file: file, line: line)
                return false
            }
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
