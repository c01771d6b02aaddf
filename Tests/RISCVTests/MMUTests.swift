import XCTest
import RISCV

/// The walk says why it found no leaf, and translate raises the fault that reason calls for.
final class MMUTests: XCTestCase {
    let ram = PhysicalMemory(base: PhysAddr(0x8000_0000), end: PhysAddr(0x8010_0000))
    let root = PhysAddr(0x8000_0000), l1 = PhysAddr(0x8000_1000), l0 = PhysAddr(0x8000_2000)
    let page = PhysAddr(0x8000_5000)

    override func setUp() {
        ram.write64(root, PTE(pa: l1, flags: .valid).rawValue)                          // va 0 .. 1 GiB
        ram.write64(root + 8, PTE(pa: PhysAddr(0x1000_0000), flags: .valid).rawValue)   // a table outside RAM
        ram.write64(l1, PTE(pa: PhysAddr(0x8000_1000), flags: [.valid, .read]).rawValue)  // a misaligned 2 MiB page
        ram.write64(l1 + 8, PTE(pa: l0, flags: .valid).rawValue)
        ram.write64(l0, PTE(pa: page, flags: [.valid, .read, .write, .user]).rawValue)
        ram.write64(l0 + 8, PTE(pa: page, flags: [.valid, .write]).rawValue)              // W without R
    }

    func testTheWalkSaysWhyItFoundNoLeaf() {
        let satp = Satp(root: root)
        func failure(_ va: UInt64) -> WalkFailure? {
            if case .failure(let f) = MMU.walk(satp, VirtAddr(va), in: ram) { return f } else { return nil }
        }
        XCTAssertEqual(try MMU.walk(satp, VirtAddr(0x20_0010), in: ram).get().pa, page + 0x10)
        XCTAssertEqual(try MMU.walk(satp, VirtAddr(0x20_0010), in: ram).get().pteAddress, l0)
        XCTAssertEqual(failure(1 << 40), .invalidAddress)
        XCTAssertEqual(failure(0x4000_0000), .access)
        XCTAssertEqual(failure(0x1234), .misaligned)
        XCTAssertEqual(failure(0x20_1000), .invalidPTE)
        XCTAssertEqual(failure(0x20_2000), .invalidPTE)
        XCTAssertEqual(failure(0x8000_0000), .invalidPTE)
    }

    func testTranslateFaultsAsTheWalkSaysAndFillsTheTLBOnAMiss() {
        var hart = Hart(id: 0)
        hart.writeSatp(Satp(root: root))
        func translate(_ va: UInt64, _ access: AccessType = .load) -> Result<PhysAddr, Fault> {
            MMU.translate(VirtAddr(va), access, mode: .user, hart: &hart, memory: ram)
        }
        XCTAssertEqual(translate(0x4000_0000), .failure(Fault(kind: .accessFault, access: .load, va: VirtAddr(0x4000_0000))))
        XCTAssertEqual(translate(0x1234), .failure(Fault(kind: .pageFault, access: .load, va: VirtAddr(0x1234))))
        XCTAssertEqual(translate(0x20_0008), .success(page + 8))
        XCTAssertFalse(hart.lastTranslationHitTLB)
        XCTAssertEqual(translate(0x20_0010), .success(page + 0x10))
        XCTAssertTrue(hart.lastTranslationHitTLB)
        // A store must set Dirty: it walks again, and the next store hits.
        XCTAssertEqual(translate(0x20_0010, .store), .success(page + 0x10))
        XCTAssertFalse(hart.lastTranslationHitTLB)
        XCTAssertEqual(PTE(rawValue: ram.read64(l0)).flags, [.valid, .read, .write, .user, .accessed, .dirty])
        XCTAssertEqual(translate(0x20_0018, .store), .success(page + 0x18))
        XCTAssertTrue(hart.lastTranslationHitTLB)
        XCTAssertEqual(translate(0x20_0018, .fetch), .failure(Fault(kind: .pageFault, access: .fetch, va: VirtAddr(0x20_0018))))
    }
}
