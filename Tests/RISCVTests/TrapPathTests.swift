import XCTest
import RISCV

/// The trap path's translations: a TLB miss after `sfence.vma` takes a remembered walk only
/// while the three PTEs it read still hold what they held, and only when the access sets no
/// A or D bit; anything else walks, exactly as `translate` does.
final class TrapPathTests: XCTestCase {
    let root = PhysAddr(0x8000_0000), l1 = PhysAddr(0x8000_1000), l0 = PhysAddr(0x8000_2000), other = PhysAddr(0x8000_3000)
    let page = PhysAddr(0x8000_5000), page2 = PhysAddr(0x8000_6000)
    let va: UInt64 = 0x20_0010

    func machine(fastPaths: Bool) -> PhysicalMemory {
        let ram = PhysicalMemory(base: PhysAddr(0x8000_0000), end: PhysAddr(0x8010_0000), fastPaths: fastPaths)
        ram.write64(root, PTE(pa: l1, flags: .valid).rawValue)
        ram.write64(l1 + 8, PTE(pa: l0, flags: .valid).rawValue)
        ram.write64(l0, PTE(pa: page, flags: [.valid, .read, .write]).rawValue)
        ram.write64(other, PTE(pa: page2, flags: [.valid, .read, .write, .execute]).rawValue)
        return ram
    }

    /// Each step: the fault (or nil), whether the TLB served it, and the TLB's entry for the page afterwards.
    func steps(_ ram: PhysicalMemory) -> [String] {
        var hart = Hart(id: 0)
        hart.writeSatp(Satp(root: root))
        hart.sfenceVMA()
        var out: [String] = []
        func access(_ a: AccessType, flush: Bool = true) {
            if flush { hart.sfenceVMA() }
            let fault = MMU.translateTrapPath(VirtAddr(va), a, hart: &hart, memory: ram)
            let e = hart.tlb.lookup(VirtAddr(va))
            out.append("\(a) \(fault?.name ?? "ok") hit=\(hart.lastTranslationHitTLB) tlb=\(e.map { "\($0.pte.rawValue) at \($0.pteAddress)" } ?? "-")")
        }
        access(.load)                 // walks, sets A
        access(.load, flush: false)   // the TLB
        access(.load)                 // remembered
        access(.store)                // D to set: walks
        access(.store)                // remembered
        ram.write64(l1 + 8, PTE(pa: other, flags: .valid).rawValue)   // another last-level table
        access(.load)
        access(.fetch)
        ram.write64(other, 0)                                          // the leaf made invalid
        access(.load)
        ram.write64(l1 + 8, PTE(pa: l0, flags: .valid).rawValue)      // back to the first table
        access(.store)
        out.append("leaves \(ram.read64(l0)) \(ram.read64(other))")
        return out
    }

    func testRememberedWalksDoWhatTheWalkDoes() {
        let fast = steps(machine(fastPaths: true))
        XCTAssertEqual(fast, steps(machine(fastPaths: false)))
        let first = PTE(pa: page, flags: [.valid, .read, .write]).rawValue, a = PTE.Flags.accessed.rawValue, d = PTE.Flags.dirty.rawValue
        let second = PTE(pa: page2, flags: [.valid, .read, .write, .execute]).rawValue
        XCTAssertEqual(fast, [
            "load ok hit=false tlb=\(first | a) at \(l0)",
            "load ok hit=true tlb=\(first | a) at \(l0)",
            "load ok hit=false tlb=\(first | a) at \(l0)",
            "store ok hit=false tlb=\(first | a | d) at \(l0)",
            "store ok hit=false tlb=\(first | a | d) at \(l0)",
            "load ok hit=false tlb=\(second | a) at \(other)",
            "fetch ok hit=false tlb=\(second | a) at \(other)",
            "load load page fault hit=false tlb=-",
            "store ok hit=false tlb=\(first | a | d) at \(l0)",
            "leaves \(first | a | d) 0",
        ])
    }
}
