import XCTest
import XV6
import RISCV

final class KAllocTests: XCTestCase {
    func testKinitFreesEveryPageAboveEndAndBootTakesTheTopPagesFirst() throws {
        let rec = Recorder()
        let k = try Kernel(config: KernelConfig(), sink: rec)
        guard case let .kinit(start, end, pages) = rec.events.first else { return XCTFail("kinit first") }
        XCTAssertEqual(start, PhysAddr(0x8002_8000))           // PGROUNDUP(end = 0x80027020)
        XCTAssertEqual(end, PhysAddr(0x8800_0000))
        XCTAssertEqual(pages, 32728)
        // kvminit takes 73 table pages and procinit 64 kernel stacks, from PHYSTOP down.
        guard case let .kalloc(first, _, _) = rec.events[1] else { return XCTFail("kalloc second") }
        XCTAssertEqual(first, PhysAddr(0x87ff_f000))
        XCTAssertEqual(k.kernelPagetable.rawValue, 0x87ff_f000)
        XCTAssertEqual(k.counters.kallocs, 73 + 64)
        XCTAssertEqual(k.freePages, 32728 - 137)
        XCTAssertEqual(k.freelist, 0x87f7_6000)
    }

    func testKallocIsLIFOAndFillsPagesWithJunk() throws {
        let k = try Kernel(config: KernelConfig())
        let a = try XCTUnwrap(try k.kalloc())
        XCTAssertEqual(a, PhysAddr(0x87f7_6000))
        XCTAssertTrue(k.memory.pageIsUniform(a, byte: 5))
        let b = try k.kalloc()
        XCTAssertEqual(b, PhysAddr(0x87f7_5000))
        try k.kfree(a)
        // A freed page holds 1s, and its first word links to the old head of the list.
        XCTAssertEqual(k.memory.read64(a), 0x87f7_4000)
        XCTAssertEqual(k.memory.read64(a + 8), 0x0101_0101_0101_0101)
        XCTAssertEqual(try k.kalloc(), a)
        XCTAssertEqual(try k.kalloc(), PhysAddr(0x87f7_4000))
    }

    func testKfreePanicsOnMisalignedOrOutOfRangeAddresses() throws {
        let k = try Kernel(config: KernelConfig())
        XCTAssertPanics("kfree") { try k.kfree(PhysAddr(0x87f7_6001)) }
        XCTAssertPanics("kfree") { try k.kfree(PhysAddr(0x8002_7000)) }   // aligned, but below end (0x80027020)
        XCTAssertPanics("kfree") { try k.kfree(PhysAddr(0x8800_0000)) }   // PHYSTOP
        XCTAssertPanics("kfree") { try k.kfree(.zero) }
    }

    func testDoubleFreeIsAFindingAndTheCorruptListHandsThePageOutTwice() throws {
        let k = try Kernel(config: KernelConfig())
        let a = try XCTUnwrap(try k.kalloc())
        try k.kfree(a)
        try k.kfree(a)
        XCTAssertEqual(k.findings.map(\.kind), [.doubleFree])
        XCTAssertEqual(k.findings[0].pa, a.rawValue)
        // As in xv6, the page is on the list twice: the next two kallocs both return it.
        XCTAssertEqual(try k.kalloc(), a)
        XCTAssertEqual(try k.kalloc(), a)
        XCTAssertEqual(k.findings.map(\.kind), [.doubleFree, .inUseHandedOut])
    }

    func testKallocReturnsNilWhenMemoryIsExhausted() throws {
        let k = try Kernel(config: KernelConfig())
        var n = 0
        while try k.kalloc() != nil { n += 1 }
        XCTAssertEqual(n, 32591)
        XCTAssertEqual(k.freePages, 0)
        XCTAssertNil(try k.kalloc())
    }
}
