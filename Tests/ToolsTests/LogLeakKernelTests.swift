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
import LogReplay
import HTMLReport

/// `leaks LOG` on logs of leaky kernels: one the model can make (freeproc frees only the
/// root of the kernel table), and one it cannot follow (a failed exec keeps the fresh
/// kernel table it built, issue 20's item 11).
final class LogLeakKernelTests: XCTestCase {
    static let logs = packageRoot + "/docs/kernel-logs/"

    func parse(_ lines: [String], _ file: String) throws -> KernelLog {
        try KernelLog.parse(Array((lines.joined(separator: "\n") + "\n").utf8), file: file)
    }

    /// usertests reparent2 on the model, three rounds, with freeproc freeing only the root
    /// of each kernel table: read from the log alone, the same pages leak as the model's
    /// own accounting finds, table by table.
    func testAFreeprocThatFreesOnlyTheRootLeaksThePagesBelowIt() throws {
        let scenario = try ScenarioCompiler.compile(path: scenarioPath("leaks/reparent2-root-only.yaml"))
        let stop = try XCTUnwrap(scenario.events.lastIndex { $0.label.contains("[round 3/") })
        let lines = ModelLog.render(scenario, stopAfter: stop)
        let log = try parse(lines, "root-only.log")
        let r = LogLeakTracker.run(log)
        let (_, kernel) = Runner.run(scenario, writer: nil, stopAfter: stop)
        XCTAssertEqual(r.leaked, try XCTUnwrap(kernel).ownership().leaked)
        XCTAssertEqual(r.records.count, 1)
        let tables = r.records[0]
        XCTAssertEqual(tables.count, 12)                       // c, g1, g2 and g3, three rounds
        XCTAssertTrue(tables.allSatisfy { $0.what == .kernelTable && $0.roots == 0 && $0.tablePages == 72 && $0.cause.kind == .freeproc })
        XCTAssertEqual(r.text, """
            ==xv6vm== leaks in root-only.log, from the log alone (no model)
            ==xv6vm== 3020 probes to line 3020; 16 processes created, 12 freed

            Leak of 864 pages in 12 kernel tables, 72 each, never freed:
                freeproc freed the table's root and none of the pages below it
              pid 5: table 0x0000000087e49000, 72 pages (72 table pages); freeproc at line
                  1350 (reaped by pid 4), root freed at line 1383
              pid 6: table 0x0000000087de8000, 72 pages (72 table pages); freeproc at line
                  1404 (reaped by pid 1), root freed at line 1437
              pid 7: table 0x0000000087d87000, 72 pages (72 table pages); freeproc at line
                  1441 (reaped by pid 1), root freed at line 1474
              pid 8: table 0x0000000087d26000, 72 pages (72 table pages); freeproc at line
                  1478 (reaped by pid 1), root freed at line 1511
              pid 9: table 0x0000000087d27000, 72 pages (72 table pages); freeproc at line
                  2104 (reaped by pid 4), root freed at line 2137
              pid 10: table 0x0000000087cc8000, 72 pages (72 table pages); freeproc at line
                  2158 (reaped by pid 1), root freed at line 2191
              pid 11: table 0x0000000087c67000, 72 pages (72 table pages); freeproc at line
                  2195 (reaped by pid 1), root freed at line 2228
              pid 12: table 0x0000000087c06000, 72 pages (72 table pages); freeproc at line
                  2232 (reaped by pid 1), root freed at line 2265
              and 4 more

            SUMMARY: 864 pages leaked in 1 record (12 times)
            Held at the end, not leaks: 73 pages by the kernel, 361 by 4 live processes
                (pid 1: 83, pid 2: 84, pid 3: 97, pid 4: 97)

            """)
    }

    /// A kernel whose exec builds a fresh kernel table (72 pages, as pgtbl-boot.log's first
    /// one) before it looks the file up, and returns -1 without freeing it when the file
    /// does not exist. The log: the real pgtbl boot and `echo hi`, then the shell runs
    /// `nosuchcmd` three times (the model's lines of those events), with the fresh tables
    /// put in before each execfail and every later address moved as xv6's free list moves it.
    /// The same bug in a real kernel (whileskies', docs/kernel-logs): `nosuchcmd` typed at the
    /// shell, exec builds a fresh kernel table before namei fails and returns without it.
    func testARealKernelsFailedExecLeaksItsFreshKernelTable() throws {
        let r = LogLeakTracker.run(try KernelLog.read(path: Self.logs + "whileskies-execfail-nopreempt.log.xz"))
        XCTAssertEqual(r.text, """
            ==xv6vm== leaks in whileskies-execfail-nopreempt.log.xz,
            ==xv6vm== from the log alone (no model)
            ==xv6vm== 1927 probes to line 1945; 4 processes created, 2 freed

            Leak of 72 pages in 1 kernel table, never freed:
                the exec failed and never freed the table it had built
              pid 3: table 0x0000000087eaa000, 72 pages (the root, 71 table pages); exec of
                  nosuchcmd failed at line 1120

            SUMMARY: 72 pages leaked in 1 record
            Held at the end, not leaks: 73 pages by the kernel, 167 by 2 live processes
                (pid 1: 83, pid 2: 84)

            """)
    }

    func testAFailedExecThatKeepsItsFreshKernelTableLeaks72PagesEachTime() throws {
        let real = try kernelLogLines("pgtbl-boot.log.xz")
        let imported = try LogImporter.run(try KernelLog.read(path: Self.logs + "pgtbl-boot.log.xz"))
        let yaml = imported.yaml(command: "t")
        let boot = try ScenarioCompiler.compile(bytes: Array(yaml.utf8), file: "boot.yaml")
        var more = yaml
        for child in 4...6 {
            more += "  - fork: {parent: 2, child: \(child)}\n"
                + "  - exec: {proc: \(child), path: nosuchcmd, argv: [nosuchcmd], exists: false}\n"
                + "  - exit: \(child)\n  - wait: 2\n"
        }
        let scenario = try ScenarioCompiler.compile(bytes: Array(more.utf8), file: "nosuchcmd.yaml")
        let base = real + ModelLog.render(scenario, from: boot.events.count)
        // The fresh table: as pgtbl-boot.log's first kernel table is built (lines 94 to 171),
        // its pages named K0 (the root) to K71, then the child's kernel stack mapped in it.
        var names: [String: String] = [:]
        var template: [String] = []
        for line in real[93...170] {
            var l = line
            if l.hasPrefix("@T kalloc pa=") {
                names[String(l.dropFirst(13))] = "K\(names.count)"
                l = "@T kalloc pa=" + names[String(l.dropFirst(13))]!
            }
            template.append(l.replacingOccurrences(of: "pt=0x0000000087fb2000 ", with: "pt=K0 "))
        }
        XCTAssertEqual(names.count, 72)
        var extra: [Int: [String]] = [:]
        for (i, line) in base.enumerated() where line.hasPrefix("@T execfail pid=") {
            let pid = line.dropFirst(16).prefix { $0.isNumber }
            let born = try XCTUnwrap(base.firstIndex(of: "@T allocproc pid=\(pid)"))
            let stack = try XCTUnwrap(base[born...].first { $0.contains(" va=0x0000003fffffd000 ") })
            let pa = try XCTUnwrap(stack.range(of: " pa=")).upperBound
            extra[i] = template + ["@T map pt=K0 va=0x0000003fffffd000 size=0x0000000000001000 pa=base(\(stack[pa...].prefix(18))) perm=0x6"]
        }
        XCTAssertEqual(extra.count, 3)
        let (lines, departures) = ModelLog.rebased(base, inserting: extra, first: 0x8002_8000)
        XCTAssertEqual(departures, 0)              // the real boot and the model's lines after it: one free list
        let log = try parse(lines, "fresh-exec.log")
        let r = LogLeakTracker.run(log)
        XCTAssertEqual(r.text, """
            ==xv6vm== leaks in fresh-exec.log, from the log alone (no model)
            ==xv6vm== 1990 probes to line 2028; 6 processes created, 4 freed

            Leak of 216 pages in 3 kernel tables, 72 each, never freed:
                the exec failed and never freed the table it had built
              pid 4: table 0x0000000087fb5000, 72 pages (the root, 71 table pages); exec of
                  nosuchcmd failed at line 1122
              pid 5: table 0x0000000087e72000, 72 pages (the root, 71 table pages); exec of
                  nosuchcmd failed at line 1487
              pid 6: table 0x0000000087e2a000, 72 pages (the root, 71 table pages); exec of
                  nosuchcmd failed at line 1852

            SUMMARY: 216 pages leaked in 1 record (3 times)
            Held at the end, not leaks: 73 pages by the kernel, 167 by 2 live processes
                (pid 1: 83, pid 2: 84)

            """)
        XCTAssertEqual(r.records[0].map { hex16($0.root) }, ["0x0000000087fb5000", "0x0000000087e72000", "0x0000000087e2a000"])
        // The model cannot follow this kernel: replay departs at the fresh table's first map.
        let replay = Replay.run(try LogImporter.run(log))
        XCTAssertEqual(replay.departure?.log?.line, 1044)
        XCTAssertEqual(replay.departure?.log?.rendered,
                       "map pt=0x0000000087fb5000 va=0x0000000010000000 size=0x0000000000001000 pa=0x0000000010000000 perm=0x6")
    }
}
