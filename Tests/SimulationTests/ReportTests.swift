import XCTest
import XV6
import RISCV
@testable import Simulation

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

    func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let scenario = try ScenarioCompiler.compile(path: scenarioPath(name))
        let report = RunReport(scenario: scenario)
        var want: [[String]] = []
        Runner.run(scenario, writer: nil, afterEvent: { _, k in
            let live = RunReport.live(k, perProcessKernel: scenario.config.settings.perProcessKernelPagetable)
            want.append(live.flatMap { p in [p.user, p.kernel].filter { $0 != 0 }.flatMap { (try? k.vmprint(PhysAddr($0))) ?? ["?"] } })
        })
        XCTAssertEqual(report.events.count, want.count, name, file: file, line: line)
        func got(_ r: Rebuilt, _ i: Int) -> [String] {
            let list = report.processes.last { $0.event <= i }?.list ?? []
            return list.flatMap { p in [p.user, p.kernel].filter { $0 != 0 }.flatMap { r.vmprint($0) } }
        }
        var r = Rebuilt()
        for i in report.events.indices {
            r.apply(report.events[i], forward: true)
            XCTAssertEqual(got(r, i), want[i], "\(name) after event \(i), forward", file: file, line: line)
        }
        for i in report.events.indices.reversed().dropFirst() {
            r.apply(report.events[i + 1], forward: false)
            XCTAssertEqual(got(r, i), want[i], "\(name) after event \(i), back", file: file, line: line)
        }
    }

    func testChangesRebuildEveryTableOfTheStockKernelForwardAndBack() throws {
        try check("xv6-2020/fork-exec-exit.yaml")
        try check("xv6-2020/reparent.yaml")
    }

    func testChangesRebuildTheLabsTablesKernelTablesAndCOWBitsIncluded() throws {
        try check("pgtbl-lab/fork-exec-exit.yaml")
        try check("pgtbl-lab/accessed-dirty.yaml")
        try check("cow-lab/cowtest-simple.yaml")
        try check("lazy-lab/boot-echo.yaml")
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
}
