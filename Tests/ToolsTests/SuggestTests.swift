import Foundation
import XCTest
import XV6
import Support
import Scenario
import Run
import Goldens
import Explore
import CosimLog
import LogReplay
import HTMLReport

/// `replay --suggest` on real kernels other students wrote (docs/kernel-logs/README.md).
final class SuggestTests: XCTestCase {
    func read(_ name: String) throws -> KernelLog { try KernelLog.read(path: ReplayTests.logs + name) }

    static let jensenyan = ["allocproc_kernel_table_first=true", "mirror_user_mappings=walk-copy", "scheduler_switch_back=false",
                            "exec_mirrors_after_free=true", "freeproc_kernel_table_first=true",
                            "free_kernel_pagetable=unmap-all-then-freewalk"]

    /// jensenyan's kernel departs at boot's line 89 under the seed's design; five steps of
    /// design settings (the last two together) make its whole boot agree.
    func testSuggestFindsJensenyansDesignAndItsBootAgrees() throws {
        let s = try Suggest.run(try read("jensenyan-boot.log.xz"))
        XCTAssertEqual(s.chosen, Self.jensenyan)
        XCTAssertEqual(s.steps.map(\.departedAt), [89, 177, 181, 219, 670])
        XCTAssertEqual(s.steps.last?.setting, "freeproc_kernel_table_first=true free_kernel_pagetable=unmap-all-then-freewalk")
        XCTAssertNil(s.steps.last?.departsAt)
        XCTAssertTrue(s.agrees)
        XCTAssertTrue(s.bugs.isEmpty)
        guard case .replayed(let r) = s.outcome else { return XCTFail("refused") }
        XCTAssertEqual(r.agreed.reduce(0) { $0 + $1.1 }, 739)
        XCTAssertTrue(s.text.contains("\n  line 670  freeproc_kernel_table_first=true               agrees to the end\n"
                                      + "            free_kernel_pagetable=unmap-all-then-freewalk\n"), s.text)
        XCTAssertTrue(s.text.contains("\n  --set exec_mirrors_after_free=true --set freeproc_kernel_table_first=true \\\n"), s.text)
        XCTAssertTrue(s.text.split(separator: "\n").allSatisfy { $0.count <= 80 }, s.text)
    }

    /// Under those settings the whole of usertests reparent2 agrees, 1.27 million events. Its
    /// mirror copies PTEs with walk in sys_sbrk: the table pages it takes when an sbrk reaches
    /// a new 2 MiB are growproc's, not pipes (they were: "close of pipe 2 ... in the middle of wait").
    func testJensenyansReparent2AgreesAndItsMirrorPagesAreNotPipes() throws {
        let log = try read("jensenyan-reparent2-nopreempt.log.xz")
        let r = Replay.run(try LogImporter.run(log, overrides: Self.jensenyan))
        XCTAssertNil(r.departure, r.text())
        XCTAssertEqual(r.agreed.reduce(0) { $0 + $1.1 }, 1_269_697)
        XCTAssertEqual(r.pipes.map(\.line), [727, 1_149_998])
        XCTAssertTrue(r.pipes.allSatisfy { $0.freedAt != nil })
    }

    /// The second seed's kernel panics `remap` in its first allocproc. Read as the stock
    /// kernel, it departs at line 9 (no CLINT third); the lab variant takes it to line 172,
    /// where only a bug explains it: suggest names it and does not choose it.
    func testSuggestNamesABugButNeverChoosesIt() throws {
        let s = try Suggest.run(try read("seed003-boot.log.xz"))
        XCTAssertEqual(s.chosen, ["variant=pgtbl-lab"])
        XCTAssertEqual(s.steps.map(\.departedAt), [9])
        XCTAssertEqual(s.steps.first?.departsAt, 172)
        XCTAssertEqual(s.bugs.map(\.setting), ["kstack_mapping=mappages-swapped"])
        XCTAssertNil(s.bugs.first?.departsAt)
        XCTAssertFalse(s.agrees)
        XCTAssertTrue(s.text.contains("a bug would explain the departure: your kernel probably passes the kernel\n"
                                      + "  stack's size and address to mappages swapped.\n"
                                      + "  to see past it, model it with --set kstack_mapping=mappages-swapped\n"), s.text)
    }

    static let pkuflyingpig = ["fork_mirror_after_probe=true", "mirror_user_mappings=walk-copy", "kernel_table_layout=stock",
                               "process_kernel_table=share-root", "exec_mirrors_after_free=true"]

    /// pkuflyingpig's kernel: its log cannot even be imported under the seed's design (its fork
    /// line comes before the child's mirror, whose table page looked like a pipe). Suggest
    /// finds its shared-root kernel tables, then names the bug its exec has (item 10).
    func testSuggestFindsPkuflyingpigsSharedRootTablesAndNamesItsStaleMirror() throws {
        let s = try Suggest.run(try read("pkuflyingpig-boot.log.xz"))
        XCTAssertEqual(s.chosen, Self.pkuflyingpig)
        XCTAssertEqual(s.steps.map(\.departedAt), [568, 9, 85, 285])
        XCTAssertEqual(s.steps.map(\.departsAt), [9, 85, 285, 309])
        XCTAssertEqual(s.bugs.map(\.setting), ["exec_unmaps_old_mirror=false"])
        XCTAssertNil(s.bugs.first?.departsAt)
        XCTAssertTrue(s.text.contains("your kernel probably leaves the old image's\n  mirror in the process's kernel table: stale mappings to freed pages.\n"), s.text)
        guard case .replayed(let r) = s.outcome, let d = r.departure else { return XCTFail("no departure") }
        XCTAssertEqual(d.log?.line, 309)
        XCTAssertEqual(d.operation?.summary, "exec of /init by pid 1")
        XCTAssertEqual(d.verdict, "in exec of /init by pid 1, your kernel does not unmap the old image's 1 page from pid 1's "
                       + "kernel table 0x0000000087f72000: its entries keep pointing at the pages the exec frees "
                       + "(a bug: stale mappings to freed pages)")
    }

    /// With the bug modelled too, the whole of usertests reparent2 agrees: 581,041 events,
    /// kernel tables of six pages each, freed by kvmfree (3,204 of them).
    func testPkuflyingpigsReparent2AgreesWithItsBugModelled() throws {
        let log = try read("pkuflyingpig-reparent2-nopreempt.log.xz")
        let r = Replay.run(try LogImporter.run(log, overrides: Self.pkuflyingpig + ["exec_unmaps_old_mirror=false"]))
        XCTAssertNil(r.departure, r.text())
        XCTAssertEqual(r.agreed.reduce(0) { $0 + $1.1 }, 581_041)
        XCTAssertEqual(r.agreed.first { $0.0 == .kvmFree }?.1, 3_204)
        XCTAssertEqual(r.pipes.map(\.line), [695, 460_823])
    }

    static let whileskies = ["kernel_table_layout=stock", "exec_kernel_table=fresh-first", "mirror_user_mappings=in-uvm",
                             "kstack_at_slot=true"]

    /// whileskies' kernel (the issue's): its exec builds a fresh kernel table first (line 195),
    /// its mirror is made inside uvminit/uvmalloc/uvmcopy (line 311), its stacks sit at their
    /// slots (line 649). Under those four design settings its whole boot agrees.
    func testSuggestFindsWhileskiesFreshExecTablesAndItsBootAgrees() throws {
        let s = try Suggest.run(try read("whileskies-boot.log.xz"))
        XCTAssertEqual(s.chosen, Self.whileskies)
        XCTAssertEqual(s.steps.map(\.departedAt), [9, 195, 311, 649])
        XCTAssertNil(s.steps.last?.departsAt)
        XCTAssertTrue(s.agrees)
        XCTAssertTrue(s.bugs.isEmpty)
        guard case .replayed(let r) = s.outcome else { return XCTFail("refused") }
        XCTAssertEqual(r.agreed.reduce(0) { $0 + $1.1 }, 1_483)
        XCTAssertEqual(r.agreed.first { $0.0 == .kvmFree }?.1, 292)
    }

    /// Its usertests reparent2 agrees whole: 1,368,690 events, each exec's and each freeproc's
    /// kernel table freed recursively (234,235 kvm_free_kernelpgtbl lines).
    func testWhileskiesReparent2Agrees() throws {
        let log = try read("whileskies-reparent2-nopreempt.log.xz")
        let r = Replay.run(try LogImporter.run(log, overrides: Self.whileskies))
        XCTAssertNil(r.departure, r.text())
        XCTAssertEqual(r.agreed.reduce(0) { $0 + $1.1 }, 1_368_690)
        XCTAssertEqual(r.agreed.first { $0.0 == .kvmFree }?.1, 234_235)
        XCTAssertEqual(r.pipes.map(\.line), [1_503, 1_216_691])
        XCTAssertTrue(r.pipes.allSatisfy { $0.freedAt != nil })
    }

    /// `nosuchcmd`: exec built its fresh table (log lines 1041-1119) before namei failed and
    /// never frees it. Suggest names the bug at the argv page's kfree (line 1121), where the
    /// model freed the table; modelled, the whole log agrees.
    func testWhileskiesExecOfAMissingProgramLeaksItsFreshTable() throws {
        let log = try read("whileskies-execfail-nopreempt.log.xz")
        let s = try Suggest.run(log)
        XCTAssertEqual(s.chosen, Self.whileskies)
        XCTAssertEqual(s.bugs.map(\.setting), ["exec_missing_frees_kernel_table=false"])
        XCTAssertNil(s.bugs.first?.departsAt)
        guard case .replayed(let r) = s.outcome, let d = r.departure else { return XCTFail("no departure") }
        XCTAssertEqual(d.log?.line, 1_121)
        XCTAssertEqual(d.operation?.summary, "exec of nosuchcmd by pid 3 (fails)")
        XCTAssertEqual(d.verdict, "in exec of nosuchcmd by pid 3 (fails), your kernel never frees the kernel table "
                       + "0x0000000087eaa000 that this exec built: the model frees it and the 71 pages below it")
        XCTAssertTrue(s.text.contains("builds a fresh kernel\n  table before exec looks the program up, and leaks all its pages when the\n"), s.text)
        let fixed = Replay.run(try LogImporter.run(log, overrides: Self.whileskies + ["exec_missing_frees_kernel_table=false"]))
        XCTAssertNil(fixed.departure, fixed.text())
        XCTAssertEqual(fixed.agreed.reduce(0) { $0 + $1.1 }, 1_871)
    }

    static let sorablue = ["kernel_table_layout=no-clint", "process_table_maps_trapframe=true", "kstack_in_global_table=true",
                           "mirror_user_mappings=in-uvm-read", "scheduler_idle_kvminithart=true",
                           "exec_kernel_table=fresh-after-user-table", "free_kernel_pagetable=proc-freepagetable",
                           "freewalk_stops_at_leaf=true", "kstack_at_slot=true", "freeproc_kernel_table_first=true",
                           "kstack_free=uvmunmap"]

    /// sorablue's kernel, one design setting at a time: a global table without CLINT (its boot
    /// takes 72 pages, not 73: line 84), TRAPFRAME in its kernel table (169), the stack in
    /// both tables (171), a read-only mirror in uvmalloc (177), an idle loop that loads the
    /// global table (187), exec's fresh table (216) freed by proc_freepagetable (331), a
    /// freewalk that stops at leaves (336), stacks at their slots (671), freeproc's order (1486, 1487).
    func testSuggestFindsSorabluesDesignAndItsBootAgrees() throws {
        let s = try Suggest.run(try read("sorablue-boot.log.xz"))
        XCTAssertEqual(s.chosen, Self.sorablue)
        XCTAssertEqual(s.steps.map(\.departedAt), [84, 169, 171, 177, 187, 216, 331, 336, 671, 1_486, 1_487])
        XCTAssertNil(s.steps.last?.departsAt)
        XCTAssertTrue(s.agrees)
        XCTAssertTrue(s.bugs.isEmpty)
        guard case .replayed(let r) = s.outcome else { return XCTFail("refused") }
        XCTAssertEqual(r.agreed.reduce(0) { $0 + $1.1 }, 1_457)
    }

    /// Its usertests reparent2 agrees whole: 1,382,822 events, 250,394 of them freewalk lines
    /// (a kernel table's pages are freed by freewalk, one line each).
    func testSorabluesReparent2Agrees() throws {
        let log = try read("sorablue-reparent2-nopreempt.log.xz")
        let r = Replay.run(try LogImporter.run(log, overrides: Self.sorablue))
        XCTAssertNil(r.departure, r.text())
        XCTAssertEqual(r.agreed.reduce(0) { $0 + $1.1 }, 1_382_822)
        XCTAssertEqual(r.agreed.first { $0.0 == .freewalk }?.1, 250_394)
        XCTAssertEqual(r.pipes.map(\.line), [1_571, 1_235_976])
        XCTAssertTrue(r.pipes.allSatisfy { $0.freedAt != nil })
    }

    /// mappages ORs in PTE_V: a kernel that passes perm without V writes the same PTE.
    func testAMapsPermIsComparedAsMappagesWritesIt() {
        var a = Probe(.map), b = Probe(.map)
        a.perm = 0xe
        b.perm = 0xf
        XCTAssertTrue(Replay.same(a, b))
        b.perm = 0x6
        XCTAssertFalse(Replay.same(a, b))
    }

    /// Only design values are chosen; bug values and what no probe shows are never tried silently.
    func testEachSettingValueIsADesignABugOrUnseen() {
        XCTAssertEqual(KernelSettings.nature("free_kernel_pagetable", "recursive"), .design)
        XCTAssertEqual(KernelSettings.nature("free_kernel_pagetable", "root-only"),
                       .bug("frees only the root of the process's kernel table: the table pages below it leak"))
        XCTAssertEqual(KernelSettings.nature("exec_unmaps_old_mirror", "false"),
                       .bug("leaves the old image's mirror in the process's kernel table: stale mappings to freed pages"))
        XCTAssertEqual(KernelSettings.nature("scheduler_sfence", "false"), .unseen)
        let tried = Suggest.candidates(KernelSettings.pgtblLab).map(\.0)
        XCTAssertTrue(tried.contains("kstack_at_slot=true"))
        XCTAssertFalse(tried.contains { $0.hasPrefix("fail_kalloc") || $0.hasPrefix("scheduler_sfence") })
    }
}
