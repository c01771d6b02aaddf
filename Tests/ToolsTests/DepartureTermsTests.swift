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

/// Departures in the student's terms (issue 20): the innermost operation, the process it acts
/// on, and what the kernel did against what the model did.
final class DepartureTermsTests: XCTestCase {
    /// The real lab kernel's boot log (docs/kernel-logs/pgtbl-boot.log.xz), cut where sh
    /// reaps echo (73 kfrees: the root and 72 table pages below it) and edited into a kernel whose freeproc frees only the root of the
    /// process's kernel table: the departure names freeproc, the pid it frees, the parent that
    /// reaped it, the table, and the pages below the root the kernel keeps.
    func testALeakyFreeprocIsNamedWithTheProcessItFreesAndTheTablePagesItKeeps() throws {
        let lines = try kernelLogLines("pgtbl-boot.log.xz")
        let first = try XCTUnwrap(lines.firstIndex { $0.contains("@T kvm_free_kernelpgtbl") })
        let end = try XCTUnwrap(lines[first...].firstIndex { !$0.hasPrefix("@T kvm_free") && !$0.hasPrefix("@T kfree") })
        let root = try XCTUnwrap(lines[end - 1].split(separator: "=").last)
        XCTAssertEqual(String(root), "0x0000000087f15000")
        let leaky = Array(lines[..<(first + 1)]) + [lines[end - 1]]
        let log = try KernelLog.parse(Array((leaky.joined(separator: "\n") + "\n").utf8), file: "leaky.log")
        let r = Replay.run(try LogImporter.run(log))
        let d = try XCTUnwrap(r.departure)
        XCTAssertEqual(d.log?.line, first + 2)
        XCTAssertEqual(d.verdict, "in freeproc of pid 3 (reaped by pid 2's wait), your kernel frees the root of pid 3's "
                       + "kernel table 0x0000000087f15000 and none of the 72 pages below it")
        XCTAssertTrue(r.text().contains("\nDEPARTS at leaky.log:\(first + 2): in freeproc of pid 3 (reaped by pid 2's wait), your\n"), r.text())
    }
}
