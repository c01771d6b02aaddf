import XCTest
import RISCV

/// Snapshots of physical memory: copies that share pages until one side writes them.
final class SnapshotMemoryTests: XCTestCase {
    let base = PhysAddr(0x8000_0000)
    func page(_ n: UInt64) -> PhysAddr { PhysAddr(0x8000_0000 + n * 4096) }

    func testASnapshotAndItsOriginalGoOnApart() {
        let ram = PhysicalMemory(base: base, end: page(8))
        ram.fillPage(page(0), byte: 1)
        ram.write64(page(0) + 8, 0xaaaa)                  // a slot
        ram.write64(page(1), 0x1234)                      // a first word of its own
        XCTAssertTrue(ram.setLinear(page(2), from: 4, count: 40, first: 0x2000_0001, step: 0x400))
        let copy = ram.snapshot()
        XCTAssertEqual(ram.pagesWithSlots, 1)
        XCTAssertEqual(copy.pagesWithSlots, 1)
        // Writes to the shared slot, from either side, stay on that side.
        copy.write64(page(0) + 8, 0xbbbb)
        ram.write64(page(0) + 16, 0xcccc)
        XCTAssertEqual(ram.read64(page(0) + 8), 0xaaaa)
        XCTAssertEqual(copy.read64(page(0) + 8), 0xbbbb)
        XCTAssertEqual(ram.read64(page(0) + 16), 0xcccc)
        XCTAssertEqual(copy.read64(page(0) + 16), 0x0101_0101_0101_0101)
        // Uniform, first-word and linear pages are copied as records.
        copy.write64(page(1), 0x5678)
        copy.write64(page(2) + 8 * 10, 0)                 // gives the copy's linear page a slot
        XCTAssertEqual(ram.read64(page(1)), 0x1234)
        XCTAssertEqual(ram.read64(page(2) + 8 * 10), 0x2000_0001 + 6 * 0x400)
        XCTAssertEqual(copy.read64(page(2) + 8 * 11), 0x2000_0001 + 7 * 0x400)
        // copyPage and pageWords write only their own side.
        ram.copyPage(from: page(2), to: page(3))
        copy.pageWords(page(0))[3] = 7
        XCTAssertEqual(ram.read64(page(0) + 24), 0x0101_0101_0101_0101)
        XCTAssertEqual(copy.read64(page(3) + 8 * 4), 0)
        XCTAssertEqual(ram.read64(page(3) + 8 * 4), 0x2000_0001)
        // A snapshot outlives its original, and its slots stay its own.
        var chain: [PhysicalMemory] = [copy]
        for i in 0..<5 { let next = chain.last!.snapshot(); next.write64(page(4) + 8, UInt64(i)); chain.append(next) }
        chain.removeFirst(3)
        XCTAssertEqual(chain.map { $0.read64(page(4) + 8) }, [2, 3, 4])
        XCTAssertEqual(chain[0].read64(page(0) + 8), 0xbbbb)
    }

    /// A snapshot shares every page with a slot, wherever it lies: pages are passed over eight
    /// at a time, so these sit at the edges of those groups and in a last group of three.
    func testEverySlotIsSharedAtTheEdgesOfEightPageGroups() {
        let ram = PhysicalMemory(base: base, end: page(19))
        let slotted: [UInt64] = [0, 7, 8, 15, 18]
        for p in slotted { ram.write64(page(p) + 8, 0x1000 + p) }
        XCTAssertEqual(ram.pagesWithSlots, 5)
        var copy: PhysicalMemory? = ram.snapshot()
        for p in slotted { copy!.write64(page(p) + 8, 0x2000 + p) }
        XCTAssertEqual(slotted.map { ram.read64(page($0) + 8) }, [0x1000, 0x1007, 0x1008, 0x100f, 0x1012])
        XCTAssertEqual(slotted.map { copy!.read64(page($0) + 8) }, [0x2000, 0x2007, 0x2008, 0x200f, 0x2012])
        copy = nil                                          // gives its slots back
        for p in slotted { ram.write64(page(p) + 16, p) }
        XCTAssertEqual(slotted.map { ram.read64(page($0) + 16) }, slotted)
        XCTAssertEqual(ram.read64(page(18) + 8), 0x1012)
    }

    /// forEachValidPTE sees exactly the words with V set, in order, whatever the page's form.
    func testValidPTEsAreTheWordsWithBitZeroSet() {
        let ram = PhysicalMemory(base: base, end: page(8))
        func naive(_ p: PhysAddr) -> [Int: UInt64] {
            var out: [Int: UInt64] = [:]
            for i in 0..<512 { let w = ram.read64(p + UInt64(i * 8)); if w & 1 != 0 { out[i] = w } }
            return out
        }
        func visited(_ p: PhysAddr) -> [Int: UInt64] {
            var out: [Int: UInt64] = [:]
            var last = -1
            ram.forEachValidPTE(p) { i, w in XCTAssertGreaterThan(i, last); last = i; out[i] = w }
            return out
        }
        ram.fillPage(page(0), byte: 0)                                   // nothing valid
        ram.fillPage(page(1), byte: 1); ram.write64(page(1), 0)          // kfree's junk: all valid but word 0
        ram.fillPage(page(2), byte: 0); ram.write64(page(2), 0x21)       // a free-list link
        _ = ram.setLinear(page(3), from: 100, count: 50, first: 0x2000_0001, step: 0x400)
        ram.fillPage(page(4), byte: 0); ram.write64(page(4) + 8 * 300, 0x3001); ram.write64(page(4) + 8, 0x3000)
        _ = ram.setLinear(page(5), from: 0, count: 3, first: 0x2000_0000, step: 1)  // every other word valid
        for p in 0..<6 { XCTAssertEqual(visited(page(UInt64(p))), naive(page(UInt64(p))), "page \(p)") }
        XCTAssertEqual(visited(page(1)).count, 511)
        XCTAssertEqual(visited(page(3)).count, 50)
        XCTAssertEqual(visited(page(4)), [300: 0x3001])
        XCTAssertEqual(visited(page(5)), [1: 0x2000_0001])
    }
}
