import XCTest
import RISCV

/// The TLB's table (open addressing, flushed by generation) holds exactly what a dictionary
/// from page number to entry would: every fill until the next flush, none after it.
final class TLBTests: XCTestCase {
    func entry(_ n: UInt64) -> TLB.Entry {
        TLB.Entry(pte: PTE(rawValue: n << 10 | 0xf), pteAddress: PhysAddr(0x8000_0000 + n * 8), level: Int(n % 3))
    }

    func testItHoldsWhatADictionaryWouldThroughFillsFlushesAndGrowth() {
        var tlb = TLB()
        var model: [UInt64: TLB.Entry] = [:]
        var seed: UInt64 = 0x1234_5678
        func next() -> UInt64 { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return seed >> 33 }
        for round in 0..<200 {
            // Rounds of very different sizes: a few pages, and loops over thousands.
            let fills = round % 17 == 0 ? 5_000 : Int(next() % 40)
            let spread: UInt64 = round % 5 == 0 ? 1 << 27 : 64
            for _ in 0..<fills {
                let vpn = next() % spread
                let e = entry(next() % 1_000)
                tlb.fill(VirtAddr(vpn << 12 | (next() & 0xfff)), e)
                model[vpn] = e
            }
            XCTAssertEqual(tlb.count, model.count)
            for vpn in model.keys { XCTAssertEqual(tlb.lookup(VirtAddr(vpn << 12)), model[vpn]) }
            for _ in 0..<50 {
                let vpn = next() % spread
                XCTAssertEqual(tlb.lookup(VirtAddr(vpn << 12 | 0x123)), model[vpn])
            }
            if next() % 3 != 0 {
                tlb.flush(); model = [:]
                XCTAssertEqual(tlb.count, 0)
                for _ in 0..<20 { XCTAssertNil(tlb.lookup(VirtAddr((next() % spread) << 12))) }
            }
        }
    }

    func testACopyKeepsItsEntriesWhenTheOriginalChanges() {
        var tlb = TLB()
        for n: UInt64 in 0..<100 { tlb.fill(VirtAddr(n << 12), entry(n)) }
        let copy = tlb
        tlb.flush()
        tlb.fill(VirtAddr(5 << 12), entry(77))
        XCTAssertEqual(copy.count, 100)
        XCTAssertEqual(copy.lookup(VirtAddr(5 << 12)), entry(5))
        XCTAssertEqual(tlb.lookup(VirtAddr(5 << 12)), entry(77))
        XCTAssertNil(tlb.lookup(VirtAddr(6 << 12)))
    }
}
