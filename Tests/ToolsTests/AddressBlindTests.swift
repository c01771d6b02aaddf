import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport

/// The address-blind view (issue 24, item 3): pages named by first use, the same name for
/// the same role on both sides; virtual addresses and the header kept.
final class AddressBlindTests: XCTestCase {
    func named(_ old: String, _ new: String) -> (String, String) {
        let n = AddressBlind.named(old: Array(old.utf8), new: Array(new.utf8))
        return (String(decoding: n.old, as: UTF8.self), String(decoding: n.new, as: UTF8.self))
    }

    /// Physical addresses, PTEs and satp values become page#N; `va` and other numbers stay.
    func testEachKindOfPhysicalAddressIsNamedAndVirtualOnesAreKept() {
        let trace = """
            setting   phystop 0x0000000088000000
            kalloc    0x0000000087fff000 pid - boot > kvminit
            map       kernel 0x0000000087fff000 va 0x0000000080000000 size 0x8000 pa 0x0000000080000000 r-x----
            ..0: pte 0x0000000021fffc01 pa 0x0000000087fff000
            satp      hart 0 0x8000000000087fff kernel
            map       user:1 0x0000000087fff000 va 0x0000000000001000 size 0x1000 pa 0x0000000010000000 rw-----
            """
        let (a, _) = named(trace, trace)
        XCTAssertEqual(a, """
            setting   phystop 0x0000000088000000
            kalloc    page#1 pid - boot > kvminit
            map       kernel page#1 va 0x0000000080000000 size 0x8000 pa page#2 r-x----
            ..0: pte page#1|0x1 pa page#1
            satp      hart 0 sv39:page#1 kernel
            map       user:1 page#1 va 0x0000000000001000 size 0x1000 pa 0x0000000010000000 rw-----
            """)
    }

    /// An extra page moves every later address: blind, the later lines match again.
    func testAnExtraAllocationLeavesOnlyItsOwnLines() {
        let old = "kalloc    0x0000000087fff000 pid 1 exec\nkalloc    0x0000000087ffe000 pid 1 fork\nkfree     0x0000000087ffe000 pid 1 wait\n"
        let new = "kalloc    0x0000000087fff000 pid 1 exec\nkalloc    0x0000000087ffe000 pid 1 sbrk\n"
            + "kalloc    0x0000000087ffd000 pid 1 fork\nkfree     0x0000000087ffd000 pid 1 wait\n"
        let (a, b) = named(old, new)
        // Numbered in the order the aligned walk meets them: the new page first, as it comes first.
        XCTAssertEqual(a, "kalloc    page#1 pid 1 exec\nkalloc    page#3 pid 1 fork\nkfree     page#3 pid 1 wait\n")
        XCTAssertEqual(b, "kalloc    page#1 pid 1 exec\nkalloc    page#2 pid 1 sbrk\nkalloc    page#3 pid 1 fork\nkfree     page#3 pid 1 wait\n")
        let d = Golden.difference(expected: Array(old.utf8), actual: Array(new.utf8), scenario: nil, blind: true)
        XCTAssertEqual(d.diff.removed, 0)
        XCTAssertEqual(d.diff.added, 1)
        XCTAssertEqual(d.addressOnly, 2)
        let exact = Golden.difference(expected: Array(old.utf8), actual: Array(new.utf8), scenario: nil)
        XCTAssertEqual(exact.diff.removed + exact.diff.added, 5)
        XCTAssertEqual(exact.blindSummary?.hunks, 1)
    }

    /// Freeing another page than before is a structural difference, not an address one.
    func testFreeingAnotherPageStillDiffers() {
        let old = "kalloc    0x0000000087fff000\nkalloc    0x0000000087ffe000\nkfree     0x0000000087fff000\n"
        let new = "kalloc    0x0000000087fff000\nkalloc    0x0000000087ffe000\nkfree     0x0000000087ffe000\n"
        let (a, b) = named(old, new)
        XCTAssertEqual(a, "kalloc    page#1\nkalloc    page#2\nkfree     page#1\n")
        XCTAssertEqual(b, "kalloc    page#1\nkalloc    page#2\nkfree     page#2\n")
        let d = Golden.difference(expected: Array(old.utf8), actual: Array(new.utf8), scenario: nil, blind: true)
        XCTAssertEqual(d.diff.hunkCount, 1)
        XCTAssertEqual(d.addressOnly, 0)
    }

    /// The same structure on other pages: no difference but the addresses.
    func testTracesThatDifferOnlyByAddressesAreTheSameBlind() {
        let old = "kalloc    0x0000000087fff000\nkfree     0x0000000087fff000\n"
        let new = "kalloc    0x0000000087ff0000\nkfree     0x0000000087ff0000\n"
        let d = Golden.difference(expected: Array(old.utf8), actual: Array(new.utf8), scenario: nil, blind: true)
        XCTAssertEqual(d.diff.hunkCount, 0)
        XCTAssertEqual(d.addressOnly, 2)
        XCTAssertEqual(CheckReport.changed(d, golden: "g", new: "n").prefix(2), ["    first departs at line 1 of the golden",
                                                                               "    address-blind: no difference but the addresses"])
    }
}
