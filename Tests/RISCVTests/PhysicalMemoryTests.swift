import XCTest
import RISCV

/// A linear page reads, copies, writes and clears exactly as the 512 words it stands for.
final class PhysicalMemoryTests: XCTestCase {
    let ram = PhysicalMemory(base: PhysAddr(0x8000_0000), end: PhysAddr(0x8010_0000))
    let table = PhysAddr(0x8000_3000)
    /// A PTE for pa 0x80008000 with V|R|W.
    let first: UInt64 = ((0x8000_8000 >> 12) << 10) | 0x7

    func word(_ page: PhysAddr, _ i: Int) -> UInt64 { ram.read64(page + UInt64(i * 8)) }

    func testALinearRunReadsAsTheWordsItStandsFor() {
        ram.fillPage(table, byte: 0)
        XCTAssertTrue(ram.setLinear(table, from: 8, count: 504, first: first, step: 1 << 10))
        XCTAssertEqual(word(table, 0), 0)
        XCTAssertEqual(word(table, 7), 0)
        XCTAssertEqual(word(table, 8), 0x2000_2007)
        XCTAssertEqual(word(table, 9), 0x2000_2407)
        XCTAssertEqual(word(table, 511), 0x2000_2007 + 503 * 0x400)
        XCTAssertEqual(ram.readByte(table + 8 * 9 + 1), 0x24)
        XCTAssertFalse(ram.pageIsUniform(table, byte: 0))
        XCTAssertEqual(ram.linearRun(table)?.first, first)
        XCTAssertEqual(ram.linearRun(table)?.rest, 0)
    }

    func testTheFirstWriteGivesThePageExactlyThoseWords() {
        ram.fillPage(table, byte: 0)
        XCTAssertTrue(ram.setLinear(table, from: 0, count: 512, first: first, step: 1 << 10))
        let before = (0..<512).map { word(table, $0) }
        ram.write64(table + 16, 0xdead)
        XCTAssertNil(ram.linearRun(table))
        var after = before
        after[2] = 0xdead
        XCTAssertEqual((0..<512).map { word(table, $0) }, after)
        let words = ram.materializedWords(table)!
        XCTAssertEqual(words[511], before[511])
    }

    func testCopyingAndClearingKeepTheWords() {
        ram.fillPage(table, byte: 0)
        XCTAssertTrue(ram.setLinear(table, from: 100, count: 50, first: first, step: 1 << 10))
        let dst = PhysAddr(0x8000_5000)
        ram.copyPage(from: table, to: dst)
        XCTAssertEqual((0..<512).map { word(dst, $0) }, (0..<512).map { word(table, $0) })
        XCTAssertEqual(word(dst, 149), first + 49 * 0x400)
        XCTAssertEqual(word(dst, 150), 0)
        // A linear page handed out by materializedWords carries the run.
        XCTAssertEqual(ram.materializedWords(table)?[120], first + 20 * 0x400)
        ram.fillPage(dst, byte: 1)
        XCTAssertTrue(ram.pageIsUniform(dst, byte: 1))
        XCTAssertEqual(word(dst, 149), 0x0101_0101_0101_0101)
    }

    /// Copying onto a page that already has a slot reuses it: RAM has a slot for each page, no more.
    func testCopyingOntoAPageWithASlotReusesIt() {
        let small = PhysicalMemory(base: PhysAddr(0x8000_0000), end: PhysAddr(0x8000_2000))
        let a = PhysAddr(0x8000_0000), b = PhysAddr(0x8000_1000)
        small.write64(a + 8, 0x1111)
        small.write64(b + 8, 0x2222)
        for i in 0..<100 {
            small.write64(a + 16, UInt64(i))
            small.copyPage(from: a, to: b)
            small.copyPage(from: b, to: a)
        }
        XCTAssertEqual(small.read64(b + 8), 0x1111)
        XCTAssertEqual(small.read64(b + 16), 99)
    }

    /// Only a uniform page whose words are invalid PTEs takes a run: nothing could be a remap.
    func testARunIsRefusedWhereItCouldHideContent() {
        ram.fillPage(table, byte: 1)                                     // kfree's junk: V set
        XCTAssertFalse(ram.setLinear(table, from: 0, count: 512, first: first, step: 1 << 10))
        ram.fillPage(table, byte: 0)
        ram.write64(table, 0x1)                                          // a first word of its own
        XCTAssertFalse(ram.setLinear(table, from: 0, count: 512, first: first, step: 1 << 10))
        ram.fillPage(table, byte: 0)
        ram.write64(table + 8, 0x1)                                      // a slot
        XCTAssertFalse(ram.setLinear(table, from: 2, count: 64, first: first, step: 1 << 10))
        ram.fillPage(table, byte: 0)
        XCTAssertFalse(ram.setLinear(table, from: 500, count: 13, first: first, step: 1 << 10))
        XCTAssertTrue(ram.setLinear(table, from: 500, count: 12, first: first, step: 1 << 10))
        XCTAssertFalse(ram.setLinear(table, from: 0, count: 12, first: first, step: 1 << 10))   // one run per page
        XCTAssertEqual(word(table, 511), first + 11 * 0x400)
    }

    /// writePTEs writes a run in order and stops before a valid entry, with the fast paths on
    /// or off; on, a long run into a page of invalid entries becomes a linear page.
    func testWritePTEsStopsAtARemapAndKeepsALongRunLinear() {
        for fast in [true, false] {
            let ram = PhysicalMemory(base: PhysAddr(0x8000_0000), end: PhysAddr(0x8010_0000), fastPaths: fast)
            ram.fillPage(table, byte: 0)
            XCTAssertEqual(ram.writePTEs(table, at: 8, count: 504, first: first, step: 1 << 10), 504)
            XCTAssertEqual(ram.linearRun(table) != nil, fast)
            XCTAssertEqual(ram.read64(table + 8 * 511), first + 503 * 0x400)
            let other = PhysAddr(0x8000_4000)
            ram.fillPage(other, byte: 0)
            ram.write64(other + 8 * 20, 0x1)                              // a valid entry in the way
            XCTAssertEqual(ram.writePTEs(other, at: 10, count: 40, first: first, step: 1 << 10), 10)
            XCTAssertEqual(ram.read64(other + 8 * 19), first + 9 * 0x400)
            XCTAssertEqual(ram.read64(other + 8 * 20), 0x1)
            XCTAssertEqual(ram.read64(other + 8 * 21), 0)
        }
    }

    /// forEachValidPTE reads each entry when it reaches it: a body that writes the page
    /// (here: clears each entry and, at entry 3, fills the rest with kfree's 1s) sees what a
    /// loop over the words would, on a uniform, a linear and a slotted page alike.
    func testAVisitSeesWhatItsBodyWrote() {
        func visit(_ ram: PhysicalMemory, _ page: PhysAddr) -> [Int] {
            var seen: [Int] = []
            ram.forEachValidPTE(page) { i, _ in
                seen.append(i)
                ram.write64(page + UInt64(i * 8), 0)
                if i == 3 { for j in 4..<512 { ram.write64(page + UInt64(j * 8), 0x0101_0101_0101_0101) } }
                if seen.count > 600 { XCTFail("no end"); return }
            }
            return seen
        }
        for fast in [true, false] {
            let ram = PhysicalMemory(base: PhysAddr(0x8000_0000), end: PhysAddr(0x8010_0000), fastPaths: fast)
            ram.fillPage(table, byte: 0)
            XCTAssertEqual(ram.writePTEs(table, at: 2, count: 40, first: first, step: 1 << 10), 40)
            let seen = visit(ram, table)
            XCTAssertEqual(seen, [2, 3] + Array(4..<512), "fast paths \(fast)")
            XCTAssertTrue(ram.pageIsUniform(table, byte: 0))
        }
    }
}
