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
import LogReplay
import HTMLReport

/// A departure shows the model's page tables of the process the operation acts on, as they
/// are where the two part, with the PTEs the kernel's events contradict marked (issue 20).
final class DepartureTablesTests: XCTestCase {
    func read(_ name: String) throws -> KernelLog { try KernelLog.read(path: ReplayTests.logs + name) }

    func tables(_ r: ReplayReport) throws -> DepartureTables { try XCTUnwrap(r.departure?.tables, r.text()) }

    /// pkuflyingpig's exec frees its old image (log line 288) and never unmaps it from the
    /// process's kernel table: the mirror's PTE at va 0 is marked, on its path from the root;
    /// the user table is exec's new one, whole, with nothing marked.
    func testPkuflyingpigsStaleMirrorIsMarkedInItsKernelTable() throws {
        let r = Replay.run(try LogImporter.run(try read("pkuflyingpig-boot.log.xz"), overrides: SuggestTests.pkuflyingpig),
                           kernelSides: true)
        XCTAssertEqual(r.departure?.log?.line, 309)
        let t = try tables(r)
        XCTAssertEqual(t.pid, 1)
        XCTAssertEqual(t.fromLine, 309)
        XCTAssertFalse(t.late)
        XCTAssertEqual(t.tables.map(\.name), ["user table", "kernel table"])
        XCTAssertEqual(t.tables.map(\.root), [0x87f6_7000, 0x87f7_2000])
        XCTAssertEqual(t.tables.map(\.total), [9, 33_949])
        XCTAssertEqual(t.tables.map(\.whole), [true, false])
        XCTAssertTrue(t.tables[0].shown.allSatisfy { $0.mark == nil })
        let marked = try XCTUnwrap(t.tables[1].shown.last)
        XCTAssertEqual(t.tables[1].shown.count, 3)
        XCTAssertEqual([marked.depth, marked.index], [2, 0])
        XCTAssertEqual(marked.pte, 0x21fd_b00f)
        XCTAssertEqual(marked.pa, 0x87f6_c000)
        XCTAssertEqual(marked.va, 0)
        XCTAssertEqual(marked.mark, TableMark(line: 288, reason: "your kernel frees this page and never unmaps va "
                                              + "0x0000000000000000 from this table: a stale mapping"))
        // The kernel's side, as its log says: the same PTEs, the one it leaves stale marked.
        XCTAssertEqual(t.tables[0].kernelSide.count, 9)
        XCTAssertTrue(t.tables[0].kernelSide.allSatisfy { $0.mark == nil })
        XCTAssertEqual(t.tables[1].kernelSide, [
            KernelSidePTE(depth: 0, index: 0, va: 0, pte: 0x21fd_c401), KernelSidePTE(depth: 1, index: 0, va: 0, pte: 0x21fd_a401),
            KernelSidePTE(depth: 2, index: 0, va: 0, pte: 0x21fd_b00f,
                          mark: TableMark(line: 288, reason: "your kernel frees this page here and never unmaps it: a stale mapping"))])
        XCTAssertTrue(r.text().contains("""

              the model's tables of pid 1 as the two part, as vmprint prints them; ! marks
                what the kernel's events in this operation contradict:
              user table (9 PTEs, none contradicted):
                page table 0x0000000087f67000
                ..0: pte 0x0000000021fd8c01 pa 0x0000000087f63000
                .. ..0: pte 0x0000000021fd8801 pa 0x0000000087f62000
                .. .. ..0: pte 0x0000000021fd901f pa 0x0000000087f64000
                .. .. ..1: pte 0x0000000021fd840f pa 0x0000000087f61000
                .. .. ..2: pte 0x0000000021fd801f pa 0x0000000087f60000
                ..255: pte 0x0000000021fd9801 pa 0x0000000087f66000
                .. ..511: pte 0x0000000021fd9401 pa 0x0000000087f65000
                .. .. ..510: pte 0x0000000021fdd807 pa 0x0000000087f76000
                .. .. ..511: pte 0x0000000020001c0b pa 0x0000000080007000
              kernel table (33,949 PTEs, 1 contradicted; only its path shown):
                page table 0x0000000087f72000
                ..0: pte 0x0000000021fdc401 pa 0x0000000087f71000
                .. ..0: pte 0x0000000021fda401 pa 0x0000000087f69000
              ! .. .. ..0: pte 0x0000000021fdb00f pa 0x0000000087f6c000
                    log line 288: your kernel frees this page and never unmaps va
                      0x0000000000000000 from this table: a stale mapping
                ... 33,946 more PTEs not shown

            """), r.text())
        XCTAssertTrue(r.text().split(separator: "\n").allSatisfy { $0.count <= 80 }, r.text())
    }

    /// whileskies' failed exec never frees the fresh kernel table it built: besides pid 3's
    /// own tables (nothing marked), the table the model's kvm_free_kernelpgtbl frees is shown,
    /// its root marked.
    func testWhileskiesFailedExecShowsTheFreshTableTheKernelNeverFrees() throws {
        let log = try read("whileskies-execfail-nopreempt.log.xz")
        let r = Replay.run(try LogImporter.run(log, overrides: SuggestTests.whileskies))
        XCTAssertEqual(r.departure?.log?.line, 1_121)
        let t = try tables(r)
        XCTAssertEqual(t.pid, 3)
        XCTAssertEqual(t.tables.map(\.name), ["user table", "kernel table", "table of the model's kvm_free_kernelpgtbl"])
        XCTAssertEqual(t.tables.map(\.root), [0x87fa_d000, 0x87f7_1000, 0x87ea_a000])
        XCTAssertEqual(t.tables.map(\.total), [26, 33_888, 33_867])
        XCTAssertEqual(t.tables[2].rootMark, TableMark(line: 1_121, reason: "the model's kvm_free_kernelpgtbl frees this "
                                                       + "table here; your kernel never frees it in this operation"))
        XCTAssertEqual(t.tables[0].shown.map(TableDump.vmprintLine).suffix(2),
                       [".. .. ..510: pte 0x0000000021fc40c7 pa 0x0000000087f10000",
                        ".. .. ..511: pte 0x0000000020001c4b pa 0x0000000080007000"])
        XCTAssertTrue(r.text().contains("""
              user table (26 PTEs, none contradicted):
                page table 0x0000000087fad000
                ..0: pte 0x0000000021fda401 pa 0x0000000087f69000
            """), r.text())
        XCTAssertTrue(r.text().contains("""
                .. .. ..511: pte 0x0000000020001c4b pa 0x0000000080007000
              kernel table 0x0000000087f71000 (33,888 PTEs, none contradicted)
              table of the model's kvm_free_kernelpgtbl (33,867 PTEs, 1 contradicted; only
                its path shown):
              ! page table 0x0000000087eaa000
                    log line 1121: the model's kvm_free_kernelpgtbl frees this table here;
                      your kernel never frees it in this operation
                ... 33,867 more PTEs not shown

            """), r.text())
    }

    /// seed-003's kernel read as the stock one parts in boot, at log line 9. The model boots
    /// before the log is read, so it has run on: boot is run again to its departing map (of
    /// CLINT). The global kernel table then holds UART and VIRTIO only, and each of the kernel's
    /// later maps of boot is one the model's table has no PTE for yet (PLIC third, CLINT last).
    func testSeed003ReadAsStockShowsTheGlobalTableAndTheMapsItLacks() throws {
        let r = Replay.run(try LogImporter.run(try read("seed003-boot.log.xz"), overrides: ["variant=xv6-2020"]), kernelSides: true)
        XCTAssertEqual(r.departure?.log?.line, 9)
        let t = try tables(r)
        XCTAssertEqual(t.pid, 0)
        XCTAssertFalse(t.late, "boot is run again to the model's departing map")
        let g = try XCTUnwrap(t.tables.first)
        XCTAssertEqual(t.tables.count, 1)
        XCTAssertEqual(g.name, "global kernel table")
        XCTAssertEqual(g.shown.map(TableDump.vmprintLine), ["..0: pte 0x0000000021fff801 pa 0x0000000087ffe000",
                                                            ".. ..128: pte 0x0000000021fff401 pa 0x0000000087ffd000",
                                                            ".. .. ..0: pte 0x0000000004000007 pa 0x0000000010000000",
                                                            ".. .. ..1: pte 0x0000000004000407 pa 0x0000000010001000"])
        XCTAssertEqual(g.missing.map(\.line), [9, 12, 15, 79, 82])
        // The kernel's side: the model's 4 PTEs and the kernel's maps from line 9 on, each
        // under the table pages its walk must have made (their addresses no probe gives).
        XCTAssertEqual(g.kernelSide.count, 2086)
        XCTAssertEqual(Array(g.kernelSide[1...2]), [
            KernelSidePTE(depth: 1, index: 16, va: 0x200_0000, pte: nil,
                          mark: TableMark(line: 82, reason: "a table page your kernel's walk allocates; no probe says where")),
            KernelSidePTE(depth: 2, index: 0, va: 0x200_0000, pte: 0x80_0007,
                          mark: TableMark(line: 82, reason: "your kernel maps 16 pages from va 0x0000000002000000 here"))])
        XCTAssertEqual(Set(g.kernelSide.compactMap { $0.mark?.reason }.filter { $0.hasSuffix("shown)") }),
                       ["your kernel maps 32,760 pages from va 0x0000000080008000 here (the first 1,024 shown)"])
        XCTAssertEqual(g.missing.last?.reason, "your kernel maps 16 pages at va 0x0000000002000000 to pa "
                       + "0x0000000002000000; the model has no PTE for any of them")
        XCTAssertTrue(r.text().contains("""
              ! log line 9: your kernel maps 1,024 pages at va 0x000000000c000000 to pa
                  0x000000000c000000; the model has no PTE for any of them
            """), r.text())
        XCTAssertTrue(r.text().contains("\n  ... and 1 more of the kernel's maps and unmaps the model has no PTE for\n"), r.text())
        // Only a report reads the kernel's side: replay and suggest do not pay for it.
        let plain = Replay.run(try LogImporter.run(try read("seed003-boot.log.xz"), overrides: ["variant=xv6-2020"]))
        XCTAssertEqual(try tables(plain).tables.map(\.kernelSide.count), [0])
    }

    /// The kernel's side of a table is built in vmprint's order: an unmap strikes a leaf out,
    /// a map where the model has no lower table adds the table page the kernel's walk made,
    /// and a free of a page a leaf still maps marks it stale (not the direct map's).
    func testTheKernelsSideAppliesItsMapsAndUnmapsInVmprintsOrder() {
        var side = KernelSide([KernelSidePTE(depth: 0, index: 0, va: 0, pte: 0x21fd_c401),
                               KernelSidePTE(depth: 1, index: 0, va: 0, pte: 0x21fd_a401),
                               KernelSidePTE(depth: 2, index: 0, va: 0, pte: 0x21fd_b01f),
                               KernelSidePTE(depth: 2, index: 1, va: 0x1000, pte: 0x21fd_b41f),
                               KernelSidePTE(depth: 2, index: 2, va: 0x2000, pte: 0x807)])
        side.unmap(0x1000, TableMark(line: 7, reason: "unmap"))
        side.unmap(0x5000, TableMark(line: 7, reason: "unmap"))
        side.map(0x20_0000, pte: 0x21fd_c01f, TableMark(line: 8, reason: "map"))
        var free = Probe(.kfree); free.pa = 0x87f6_c000; free.line = 9
        var direct = Probe(.kfree); direct.pa = 0x2000; direct.line = 10
        side.markStale([free, direct])
        XCTAssertEqual(side.rows.map { "\($0.depth) \($0.index) \(hex16($0.va)) \($0.pte.map { hex16($0) } ?? "?") \($0.gone) \($0.mark?.line ?? 0)" }, [
            "0 0 0x0000000000000000 0x0000000021fdc401 false 0",
            "1 0 0x0000000000000000 0x0000000021fda401 false 0",
            "2 0 0x0000000000000000 0x0000000021fdb01f false 9",
            "2 1 0x0000000000001000 0x0000000021fdb41f true 7",
            "2 2 0x0000000000002000 0x0000000000000807 false 0",
            "1 1 0x0000000000200000 ? false 8",
            "2 0 0x0000000000200000 0x0000000021fdc01f false 8"])
        XCTAssertEqual(side.rows[2].mark?.reason, "your kernel frees this page here and never unmaps it: a stale mapping")
    }

    /// The leaky freeproc (DepartureTermsTests): the user table is already freed, and the
    /// PTE to the first table page the model frees, and the kernel never does, is marked.
    func testALeakyFreeprocMarksTheTablePageTheKernelKeeps() throws {
        let lines = try kernelLogLines("pgtbl-boot.log.xz")
        let first = try XCTUnwrap(lines.firstIndex { $0.contains("@T kvm_free_kernelpgtbl") })
        let end = try XCTUnwrap(lines[first...].firstIndex { !$0.hasPrefix("@T kvm_free") && !$0.hasPrefix("@T kfree") })
        let leaky = Array(lines[..<(first + 1)]) + [lines[end - 1]]
        let log = try KernelLog.parse(Array((leaky.joined(separator: "\n") + "\n").utf8), file: "leaky.log")
        let t = try tables(Replay.run(try LogImporter.run(log)))
        XCTAssertEqual(t.pid, 3)
        XCTAssertEqual(t.tables.map(\.freed), [true, false])
        XCTAssertEqual(t.tables[1].root, 0x87f1_5000)
        XCTAssertEqual(t.tables[1].shown.map(TableDump.vmprintLine), ["..0: pte 0x0000000021fc5001 pa 0x0000000087f14000"])
        XCTAssertEqual(t.tables[1].shown.first?.mark?.reason, "the model's kvm_free_kernelpgtbl frees this table page here; "
                       + "your kernel never frees it in this operation")
        XCTAssertEqual(t.tables[0].lines, ["  user table 0x0000000087ea9000: the model has freed it"])
    }

    /// The lines are vmprint's own: a table captured between two events prints as the model's
    /// `vmprint` prints it, line for line (here pid 1's tables after userinit on the lab kernel).
    func testATableIsPrintedAsTheModelsVmprintPrintsIt() throws {
        let imported = try LogImporter.run(try read("pgtbl-boot.log.xz"))
        var kernel: Kernel?
        Runner.run(imported.scenario, writer: nil, stopAfter: 1) { _, k in kernel = k }
        let k = try XCTUnwrap(kernel)
        let t = DepartureTables.capture(k, pid: 1, probes: [], from: 0)
        XCTAssertEqual(t.tables.map(\.name), ["user table", "kernel table"])
        let user = t.tables[0]
        XCTAssertTrue(user.whole)
        XCTAssertEqual(["page table \(hex16(user.root))"] + user.shown.map(TableDump.vmprintLine),
                       try k.vmprint(k.procs[k.slot(ofPid: 1)!].pagetable))
        let vmprinted = try k.vmprint(PhysAddr(t.tables[1].root))
        XCTAssertEqual(t.tables[1].total, vmprinted.count - 1)
        XCTAssertEqual(t.tables[1].lines, ["  kernel table \(hex16(t.tables[1].root)) (\(grouped(vmprinted.count - 1)) PTEs, "
                                           + "none contradicted)"])
    }

    /// `--format json`: the departure's tables as data, each PTE shown with its mark.
    func testTheJSONReportCarriesTheTables() throws {
        let r = Replay.run(try LogImporter.run(try read("pkuflyingpig-boot.log.xz"), overrides: SuggestTests.pkuflyingpig))
        guard case .o(let o) = r.json, case .o(let d)? = o["departure"], case .o(let t)? = d["tables"],
              case .a(let list)? = t["tables"], list.count == 2, case .o(let kernel) = list[1],
              case .a(let shown)? = kernel["shown"], case .o(let pte)? = shown.last else { return XCTFail(r.json.encoded) }
        XCTAssertEqual(t["pid"], .i(1))
        XCTAssertEqual(kernel["root"], .s("0x0000000087f72000"))
        XCTAssertEqual(kernel["ptes"], .i(33_949))
        XCTAssertEqual(kernel["whole"], .b(false))
        XCTAssertEqual(pte["pte"], .s("0x0000000021fdb00f"))
        XCTAssertEqual(pte["va"], .s("0x0000000000000000"))
        XCTAssertEqual(pte["text"], .s(".. .. ..0: pte 0x0000000021fdb00f pa 0x0000000087f6c000"))
        XCTAssertEqual(pte["mark"], .o(["line": .i(288), "reason": .s("your kernel frees this page and never unmaps va "
                                                                       + "0x0000000000000000 from this table: a stale mapping")]))
    }

    /// Tables read after the model had run on past its departing event say so.
    func testLateTablesSaySo() {
        let t = DepartureTables(pid: 4, fromLine: 120, tables: [], late: true)
        XCTAssertEqual(t.lines, ["  the model's tables of pid 4 as the two part, as vmprint prints them; ! marks",
                                 "    what the kernel's events in this operation contradict:",
                                 "  (the model had run on past its departing event when the log's line was read:",
                                 "   they are as they were then)"])
    }
}
