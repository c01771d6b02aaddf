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

/// `xv6vm leaks LOG`: leaks and misuse read from a kernel's log alone, without the model.
final class LogLeakTests: XCTestCase {
    static let logs = packageRoot + "/docs/kernel-logs/"

    func report(_ name: String) throws -> LogLeakReport { LogLeakTracker.run(try KernelLog.read(path: Self.logs + name)) }

    func report(lines: [String], file: String = "t.log") throws -> LogLeakReport {
        LogLeakTracker.run(try KernelLog.parse(Array((lines.joined(separator: "\n") + "\n").utf8), file: file))
    }

    func testTheStockBootLogHasNoLeaksAndSaysWhoHoldsWhat() throws {
        let r = try report("stock-boot.log")
        XCTAssertEqual(r.text, """
            ==xv6vm== leaks in stock-boot.log, from the log alone (no model)
            ==xv6vm== 509 probes to line 525; 3 processes created, 1 freed

            SUMMARY: no leaks, no double frees, no frees of mapped pages
            Held at the end, not leaks: 137 pages by the kernel, 19 by 2 live processes
                (pid 1: 9, pid 2: 10)

            """)
        XCTAssertTrue(r.clean)
    }

    /// The logs replay agrees with: every page has its owner at the end; countfree's pipe
    /// pages are freed, and usertests' failing sbrk shows as kalloc pa=0.
    func testTheAgreeingLogsHaveNoLeaks() throws {
        for (name, kernel, processes, failed) in [("pgtbl-boot.log.xz", 73, 167, 0),
                                                  ("stock-reparent2-nopreempt.log.xz", 137, 19, 2),
                                                  ("pgtbl-reparent2-nopreempt.log.xz", 73, 167, 2)] {
            let r = try report(name)
            XCTAssertEqual(r.summary, "SUMMARY: no leaks, no double frees, no frees of mapped pages", name)
            XCTAssertEqual(r.leaked, 0, name)
            XCTAssertEqual(r.heldByKernel, kernel, name)
            XCTAssertEqual(r.heldByProcesses.pages, processes, name)
            XCTAssertEqual(r.heldByProcesses.processes, 2, name)
            XCTAssertEqual(r.heldByPipes, 0, name)
            XCTAssertEqual(r.findings.failedKallocs, failed, name)
        }
    }

    /// A stock kernel whose sys_exec never frees its argument pages (replay departs at line 322).
    func testExecArgumentPagesNeverFreedAreLeaksOfEachExec() throws {
        let r = try report("stock-leak-boot.log.xz")
        XCTAssertEqual(r.leaked, 6)
        XCTAssertEqual(r.records.count, 1)
        XCTAssertEqual(r.records[0].map(\.pid), [1, 2, 3, 4])
        XCTAssertEqual(r.records[0].map(\.pages), [1, 1, 2, 2])
        XCTAssertEqual(r.records[0].map { hex16($0.firstPa) }, ["0x0000000087f6f000", "0x0000000087f63000",
                                                                "0x0000000087f47000", "0x0000000087f54000"])
        XCTAssertTrue(r.text.contains("""

            Leak of 6 pages in 4 execs, never freed:
                exec allocated pages it never mapped (sys_exec's argument strings) and never
                  freed them
              pid 1: exec of /init returned at line 256, 1 page kept: 0x0000000087f6f000
                  (kalloc at line 232)
              pid 2: exec of sh returned at line 368, 1 page kept: 0x0000000087f63000
                  (kalloc at line 340)
              pid 3: exec of echo returned at line 464, 2 pages kept: 0x0000000087f47000
                  (kalloc at line 443) and more
              pid 4: exec of echo returned at line 594, 2 pages kept: 0x0000000087f54000
                  (kalloc at line 579) and more

            SUMMARY: 6 pages leaked in 1 record (4 times)
            Held at the end, not leaks: 137 pages by the kernel, 19 by 2 live processes
                (pid 1: 9, pid 2: 10)

            """), r.text)
    }

    /// stock-boot.log with freeproc's proc_freepagetable taken out (lines 509 to 524): echo's
    /// user table, its table pages and its memory are left when the shell reaps it.
    func testAFreeprocThatForgetsTheUserTableLeaksTheTableAndItsMemory() throws {
        var lines = try String(contentsOfFile: Self.logs + "stock-boot.log", encoding: .utf8).components(separatedBy: "\n")
        lines.removeSubrange(508...523)
        let r = try report(lines: lines, file: "forgot.log")
        XCTAssertEqual(r.leaked, 8)
        XCTAssertEqual(r.text, """
            ==xv6vm== leaks in forgot.log, from the log alone (no model)
            ==xv6vm== 493 probes to line 509; 3 processes created, 1 freed

            Leak of 8 pages in 1 user table, never freed:
                freeproc never freed the table
              pid 3: table 0x0000000087f47000, 8 pages (the root, 4 table pages, 3 data
                  pages), data at va 0x0000000000000000 to 0x0000000000002000; freeproc at
                  line 507 (reaped by pid 2)

            SUMMARY: 8 pages leaked in 1 record
            Held at the end, not leaks: 137 pages by the kernel, 19 by 2 live processes
                (pid 1: 9, pid 2: 10)

            """)
    }

    func page(_ n: UInt64) -> String { hex16(0x8800_0000 - n * 0x1000) }

    /// Boot, then pid 1 with one user page mirrored in its kernel table; `shrink` is its
    /// sbrk(-4096) (lines 19 on), after which it exits and freeproc frees both tables.
    func mirrorLog(shrink: [String]) -> [String] {
        [
            "@T kalloc pa=\(page(1))", "@T map pt=\(page(1)) va=0x0000000010000000 size=0x0000000000001000 pa=0x0000000010000000 perm=0x6",
            "@T kalloc pa=\(page(2))", "@T kalloc pa=\(page(3))",
            "@T allocproc pid=1",
            "@T kalloc pa=\(page(4))", "@T kalloc pa=\(page(5))",
            "@T map pt=\(page(5)) va=0x0000000010000000 size=0x0000000000001000 pa=0x0000000010000000 perm=0x6",
            "@T kalloc pa=\(page(6))", "@T kalloc pa=\(page(7))",
            "@T kalloc pa=\(page(8))",
            "@T map pt=\(page(4)) va=0x0000000000000000 size=0x0000000000001000 pa=\(page(8)) perm=0x1e",
            "@T kalloc pa=\(page(9))", "@T kalloc pa=\(page(10))",
            "@T map pt=\(page(5)) va=0x0000000000000000 size=0x0000000000001000 pa=\(page(8)) perm=0xf",
            "@T kalloc pa=\(page(11))",
            "@T swtch to=1",
            "@T growproc pid=1 n=-4096 sz=0x0000000000001000",
        ] + shrink + [
            "@T exit pid=1 status=0",
            "@T swtch from=1",
            "@T freeproc pid=1",
            "@T freewalk pt=\(page(4))", "@T freewalk pt=\(page(9))", "@T freewalk pt=\(page(10))",
            "@T kfree pa=\(page(10))", "@T kfree pa=\(page(9))", "@T kfree pa=\(page(4))",
            "@T kvm_free_kernelpgtbl pt=\(page(5))",
            "@T kfree pa=\(page(6))", "@T kfree pa=\(page(7))", "@T kfree pa=\(page(11))", "@T kfree pa=\(page(5))",
        ]
    }

    /// A shrinking sbrk that unmaps its page from both tables and frees it nowhere.
    func testAPageAShrinkingSbrkUnmapsAndNeverFreesIsLeaked() throws {
        let r = try report(lines: mirrorLog(shrink: [
            "@T unmap pt=\(page(4)) va=0x0000000000000000 npages=1 free=0",
            "@T unmap pt=\(page(5)) va=0x0000000000000000 npages=1 free=0",
        ]))
        XCTAssertEqual(r.leaked, 1)
        XCTAssertEqual(r.findings.count, 0)
        XCTAssertEqual(r.text, """
            ==xv6vm== leaks in t.log, from the log alone (no model)
            ==xv6vm== 34 probes to line 34; 1 process created, 1 freed

            Leak of 1 page in 1 unmap, never freed:
                pages unmapped from their table and never freed
              pid 1: unmapped at line 20 by growproc of pid 1 (n=-4096), 1 page kept:
                  0x0000000087ff8000 (kalloc at line 11); allocated by userinit (pid 1): 1

            SUMMARY: 1 page leaked in 1 record
            Held at the end, not leaks: 3 pages by the kernel

            """)
    }

    /// A synthetic kernel: pid 1's kernel table mirrors its one user page; a shrinking sbrk
    /// frees the page without unmapping the mirror, frees it again, and freeproc then frees
    /// the kernel table with that entry still in it.
    func testDoubleFreeFreeOfAMappedPageAndAStaleTableAreFindings() throws {
        let lines = mirrorLog(shrink: [
            "@T unmap pt=\(page(4)) va=0x0000000000000000 npages=1 free=1",
            "@T kfree pa=\(page(8))",
            "@T kfree pa=\(page(8))",
        ])
        let r = try report(lines: lines)
        XCTAssertEqual(r.leaked, 0)
        XCTAssertEqual(r.heldByKernel, 3)
        XCTAssertEqual(r.findings.doubleFrees.map(\.line), [21])
        XCTAssertEqual(r.findings.doubleFrees.map(\.before), [20])
        XCTAssertEqual(r.findings.mappedFrees.map(\.first.line), [20])
        XCTAssertEqual(r.findings.staleTables.map(\.line), [35])
        XCTAssertEqual(r.text, """
            ==xv6vm== leaks in t.log, from the log alone (no model)
            ==xv6vm== 35 probes to line 35; 1 process created, 1 freed

            Double free: 1
              line 21: kfree pa=0x0000000087ff8000 (freed at line 20), in growproc of pid 1
                  (n=-4096)

            Free of a mapped page: 1 in 1 operation
              1 page freed by growproc of pid 1 (n=-4096) (line 20), still mapped in pid 1's
                  kernel table 0x0000000087ffb000: va 0x0000000000000000

            Table freed stale: 1
              line 35: pid 1's kernel table 0x0000000087ffb000 freed with 1 entry to pages
                  freed before (from va 0x0000000000000000, freed at line 20)

            SUMMARY: no leaks; 1 double free, 1 free of a mapped page, 1 table freed stale
            Held at the end, not leaks: 3 pages by the kernel

            """)
    }

    /// Probes dropped, repeated, swapped, or given another probe's pid or address, and
    /// fields at their extremes: the tracker reads any order of events without a trap, and
    /// its report stays within 80 columns (file names aside).
    func testMutatedProbeStreamsAreReadWithoutATrap() throws {
        let probes = try KernelLog.read(path: Self.logs + "stock-boot.log").probes
        var g = SplitMix64(state: 0x1EA4)
        var findings = 0
        let extremes: [UInt64] = [0, 1, 0xffff_ffff_ffff_ffff, 0xffff_ffff_ffff_f001, 0x8000_0000_0000_0000, 0x40_0000_0000]
        for _ in 0..<400 {
            var list = probes
            for _ in 0...g.below(4) {
                let i = g.below(list.count), j = g.below(list.count)
                switch g.below(7) {
                case 0: list.remove(at: i)
                case 1: list.insert(list[i], at: j)
                case 2: list.swapAt(i, j)
                case 3: list[i].pid = list[j].pid; list[i].other = g.pick([-1, 0, 1, list[j].other])
                case 4: list[i].pa = list[j].pa; list[i].pt = list[j].pa
                case 5: list[i].pa = g.pick(extremes); list[i].va = g.pick(extremes); list[i].size = g.pick(extremes)
                default: list[i].n = g.pick([Int64.min, -1, 0, 1, Int64.max]); list[i].sz = g.pick(extremes)
                }
            }
            var tracker = LogLeakTracker(file: "fuzz.log")
            for p in list { tracker.take(p) }
            let r = tracker.finish()
            findings += r.clean ? 0 : 1
            XCTAssertTrue(r.text.split(separator: "\n").allSatisfy { $0.count <= 80 }, r.text)
        }
        XCTAssertGreaterThan(findings, 100)
    }
}
