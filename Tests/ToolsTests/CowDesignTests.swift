import Foundation
import XCTest
import XV6
import Support
import Scenario
import Run
import CosimLog
import CosimLeaks
import LogReplay

/// Another student's copy-on-write kernel (whileskies, docs/kernel-logs/README.md), read
/// with the design settings that describe it: its uvmcopy raises a count before it maps the
/// page, and its fault handler always copies and writes the new PTE in place.
final class CowDesignTests: XCTestCase {
    func read(_ name: String) throws -> KernelLog { try KernelLog.read(path: ReplayTests.logs + name) }
    func replay(_ name: String, _ settings: [String]) throws -> ReplayReport {
        Replay.run(try LogImporter.run(try read(name), overrides: settings))
    }

    static let whileskies = ["cow_refinc_before_map=true", "cow_fault_map=pte", "cow_fault_copy=always"]

    /// Under the seed's design the boot parts at the first fork's first shared page: the
    /// kernel's refinc (line 331) where the model maps the page first.
    func testTheSeedsOrderPartsAtForksFirstRefinc() throws {
        let r = try replay("whileskies-cow-boot.log.xz", [])
        let d = try XCTUnwrap(r.departure, r.text())
        XCTAssertEqual(d.log?.line, 331)
        XCTAssertTrue(r.text().contains("      refinc pa=0x0000000087f6b000 n=2\n"), r.text())
        XCTAssertEqual(d.verdict, "in fork by pid 1 (child pid 2), the kernel's refinc is not the model's map")
    }

    /// cow_refinc_before_map: fork agrees; the first store fault (pid 3 at va 0x3fa8) then
    /// parts: the kernel writes the PTE in place, the model unmaps va 0x3000 and maps again.
    func testRefincBeforeMapTakesForkAndPartsAtTheFaultsUnmap() throws {
        let r = try replay("whileskies-cow-boot.log.xz", ["cow_refinc_before_map=true"])
        let d = try XCTUnwrap(r.departure, r.text())
        XCTAssertEqual(d.log?.line, 432)
        XCTAssertTrue(r.text().contains("under way: page fault of pid 3 at va 0x3fa8, from log line 428"), r.text())
        XCTAssertTrue(r.text().contains("unmap pt=0x0000000087f75000 va=0x0000000000003000 npages=1 free=0"), r.text())
    }

    /// cow_fault_map=pte as well: the faults agree until pid 2 faults on a page nobody else
    /// holds; this kernel copies it anyway and frees the old page (kalloc 0x87f49000 at line
    /// 565, kfree 0x87f5e000), where the model makes it writable in place.
    func testFaultMapPTEPartsWhereTheKernelCopiesAPageItAloneHolds() throws {
        let r = try replay("whileskies-cow-boot.log.xz", ["cow_refinc_before_map=true", "cow_fault_map=pte"])
        let d = try XCTUnwrap(r.departure, r.text())
        XCTAssertEqual(d.log?.line, 565)
        XCTAssertEqual(d.log?.rendered, "kalloc pa=0x0000000087f49000")
        XCTAssertEqual(d.verdict, "in page fault of pid 2 at va 0x3fa8, the kernel frees 1 page; the model frees 0: the kernel frees 1 page the model keeps")
    }

    /// All three: every one of the boot's 437 events agrees, 4 page faults, 7 refinc and
    /// 7 refdec among them.
    func testWithAllThreeTheBootAgrees() throws {
        let r = try replay("whileskies-cow-boot.log.xz", Self.whileskies)
        XCTAssertNil(r.departure, r.text())
        XCTAssertEqual(r.agreed.reduce(0) { $0 + $1.1 }, 437)
        XCTAssertEqual(r.agreed.first { $0.0 == .pagefault }?.1, 4)
        XCTAssertEqual(r.agreed.first { $0.0 == .refinc }?.1, 7)
        XCTAssertEqual(r.agreed.first { $0.0 == .refdec }?.1, 7)
    }

    /// --suggest finds the three, one departure each, none of them a bug.
    func testSuggestFindsWhileskiesCOWDesign() throws {
        let s = try Suggest.run(try read("whileskies-cow-boot.log.xz"))
        XCTAssertEqual(s.chosen, Self.whileskies)
        XCTAssertEqual(s.steps.map(\.departedAt), [331, 432, 565])
        XCTAssertTrue(s.agrees)
        XCTAssertTrue(s.bugs.isEmpty)
    }

    /// Every setting lies in the first 64 bytes of KernelSettings, where a run records that it
    /// read it (ConsultedSettings): past them, a setting the run read would be reported as
    /// never read.
    func testEverySettingIsWhereItsReadIsRecorded() {
        for s in KernelSettings.catalogue { XCTAssertTrue((0..<64).contains(s.offset), "\(s.key) at byte \(s.offset)") }
        XCTAssertEqual(KernelSettings.catalogue.count, 45)
    }

    /// Each new value is a design: suggest may choose it.
    func testTheNewCOWSettingsAreDesigns() {
        for (k, v) in [("cow_refinc_before_map", "true"), ("cow_fault_map", "pte"), ("cow_fault_copy", "always")] {
            XCTAssertEqual(KernelSettings.nature(k, v), .design, k)
        }
    }

    /// The whole of its cowtest (simple twice, three three times, file: "ALL COW TESTS
    /// PASSED"), 654,670 events, agrees under the boot's three settings.
    func testWhileskiesCowtestAgreesUnderTheBootsSettings() throws {
        let r = try replay("whileskies-cow-cowtest-nopreempt.log.xz", Self.whileskies)
        XCTAssertNil(r.departure, r.text())
        XCTAssertEqual(r.agreed.reduce(0) { $0 + $1.1 }, 654_670)
        XCTAssertEqual(r.agreed.first { $0.0 == .pagefault }?.1, 56_540)
    }

    /// pkuflyingpig's cow kernel (c6fb225, "cowtest passed but fail usertests") lowers counts
    /// in uvmunmap, and its kfree frees only a page whose count is already zero: a page
    /// freed anywhere else (a page-table page by freewalk, sys_exec's argument page) keeps
    /// its count of 1 and is never freed. The boot parts at /init's exec, where the old
    /// table's pages should go back, and no design setting explains it.
    func testPkuflyingpigsCOWKernelPartsAtItsLeakInExec() throws {
        let r = try replay("pkuflyingpig-cow-boot.log.xz", [])
        let d = try XCTUnwrap(r.departure, r.text())
        XCTAssertEqual(d.log?.line, 270)
        XCTAssertEqual(d.log?.rendered, "freewalk pt=0x0000000087f74000")
        XCTAssertEqual(d.model?.probe.rendered, "kfree pa=0x0000000087f70000")
        XCTAssertEqual(d.verdict, "in exec of /init by pid 1, the kernel frees 1 page; the model frees 7: 6 pages the kernel never frees")
        let s = try Suggest.run(try read("pkuflyingpig-cow-boot.log.xz"))
        XCTAssertEqual(s.chosen, [])
        XCTAssertFalse(s.agrees)
        // --suggest names the bug that explains it, and does not choose it.
        XCTAssertEqual(s.bugs.map(\.setting), ["cow_count_drop=uvmunmap"])
        XCTAssertEqual(s.bugs.first?.departsAt, 325)
        XCTAssertTrue(s.text.contains("""
            a bug would explain the departure: your kernel probably lowers counts in
              uvmunmap, and its kfree frees only a page whose count is already zero: a page
              freed any other way (a page-table page, exec's argument page) is never freed.
              to see past it, model it with --set cow_count_drop=uvmunmap
            """), s.text)
    }

    /// With the bug modelled (cow_count_drop=uvmunmap), --suggest finds the kernel's three
    /// designs: the count raised before the map, a fault that unmaps the old page and writes
    /// the PTE by hand, and copyout checking the table it was given; then all 415 agree.
    func testWithItsBugModelledSuggestFindsPkuflyingpigsDesign() throws {
        let s = try Suggest.run(try read("pkuflyingpig-cow-boot.log.xz"), overrides: ["cow_count_drop=uvmunmap"])
        XCTAssertEqual(s.chosen, ["cow_count_drop=uvmunmap", "cow_refinc_before_map=true", "cow_fault_map=unmap-then-pte", "cow_check_table=given"])
        XCTAssertEqual(s.steps.map(\.departedAt), [325, 418, 489])
        XCTAssertTrue(s.agrees)
        let r = try replay("pkuflyingpig-cow-boot.log.xz", s.chosen)
        XCTAssertNil(r.departure, r.text())
        XCTAssertEqual(r.agreed.reduce(0) { $0 + $1.1 }, 415)
    }

    /// leaks LOG follows the counts of a kernel that copies every faulting page and writes
    /// the PTE by hand: the old page's kfree (count 1 to 0) is the copy's, not a free of a
    /// page still mapped. Nothing is reported in either log.
    func testLeaksReadsWhileskiesCOWLogsWithoutFalseReports() throws {
        for name in ["whileskies-cow-boot.log.xz", "whileskies-cow-cowtest-nopreempt.log.xz"] {
            let r = LogLeakTracker.run(try read(name))
            XCTAssertEqual(r.summary, "SUMMARY: no leaks, no double frees, no frees of mapped pages", name)
            XCTAssertTrue(r.counted, name)
            XCTAssertEqual(r.heldByKernel, 137, name)
            XCTAssertEqual(r.heldByProcesses.pages, 19, name)
        }
    }

    /// From the log alone, pkuflyingpig's leak by site: every user table exec replaced or
    /// freeproc freed keeps its 5 pages, and sys_exec's argument pages stay: 24 pages.
    func testLeaksFindsPkuflyingpigsTablesAndArgumentPages() throws {
        let r = LogLeakTracker.run(try read("pkuflyingpig-cow-boot.log.xz"))
        XCTAssertEqual(r.summary, "SUMMARY: 24 pages leaked in 4 records (7 times)")
        XCTAssertTrue(r.text.contains("""
              pid 1: table 0x0000000087f75000, 5 pages (the root, 4 table pages); exec of
                  /init at line 262
            """), r.text)
        XCTAssertTrue(r.text.contains("""
              pid 3: table 0x0000000087f3d000, 5 pages (the root, 4 table pages); freeproc
                  at line 527 (reaped by pid 2)
            """), r.text)
        XCTAssertTrue(r.text.contains("pid 1: exec of /init returned at line 262, 1 page kept: 0x0000000087f6f000"), r.text)
    }
}
