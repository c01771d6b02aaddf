/// A hart's translation cache. It holds whatever the page-table walk found
/// when the entry was filled, and keeps it, even if the page table in memory
/// changes or satp is written, until `sfence.vma` flushes it. xv6 runs with
/// ASID 0 everywhere, so entries are not tagged by address space: that is
/// exactly why a satp write without `sfence.vma` can translate through the
/// previous table.
///
/// It has no capacity limit, as before: an entry leaves only by a flush. The
/// table is open addressing with linear probing, keyed by page number, and each
/// slot carries the flush generation it was filled in: a flush starts a new
/// generation, so it costs nothing however many entries it forgets. (A Dictionary
/// cost a SipHash per lookup and a regrowth after every flush; the COW lab's
/// faults flush the TLB twice each.) The first four pages filled after a flush are kept
/// in the TLB itself, in front of the table: the trap path fills two after each of its
/// flushes, and those fills and their lookups then touch no shared buffer (whose
/// uniqueness a write would check) and hash nothing.
public struct TLB: Sendable {
    /// One cached translation of a 4096-byte page.
    public struct Entry: Sendable, Equatable {
        /// The leaf PTE as it was read at fill time.
        public var pte: PTE
        /// Where that PTE lives in physical memory.
        public var pteAddress: PhysAddr
        /// The level of the leaf (0 for a 4 KiB page, 1 or 2 for a superpage).
        public var level: Int

        public init(pte: PTE, pteAddress: PhysAddr, level: Int) {
            self.pte = pte; self.pteAddress = pteAddress; self.level = level
        }
    }

    /// 32 bytes, two to a cache line: the entry's fields, not the Entry (whose Int level
    /// would make it 40).
    private struct Slot: Sendable {
        var vpn: UInt64
        var pte: UInt64
        var pteAddress: UInt64
        /// The generation the slot was filled in; another generation's slot is empty.
        var generation: UInt32
        var level: UInt8

        static let empty = Slot(vpn: 0, pte: 0, pteAddress: 0, generation: 0, level: 0)

        @inline(__always) var entry: Entry {
            Entry(pte: PTE(rawValue: pte), pteAddress: PhysAddr(pteAddress), level: Int(level))
        }
    }

    /// A power of two long, or empty; at most half full.
    private var slots: [Slot] = []
    /// Slots of another generation are empty (0 is never current).
    private var generation: UInt32 = 1
    public private(set) var count = 0
    /// The table's entries of this generation; the rest of `count` is in `front`.
    private var tableCount = 0
    /// Up to four entries filled since the flush, before any went to the table: `front.0`
    /// to the `frontCount`th (their generation is not looked at). A page is in one place.
    private var front = (Slot.empty, Slot.empty, Slot.empty, Slot.empty)
    private var frontCount = 0

    public init() {}

    /// Pages in groups of eight consecutive ones share a hashed run of eight slots: a loop
    /// over thousands of pages reads and fills the table a cache line after another, where a
    /// hash of each page alone sent every access to a line of its own.
    @inline(__always) private static func home(_ vpn: UInt64, _ mask: Int) -> Int {
        (Int(truncatingIfNeeded: ((vpn >> 3) &* 0x9E37_79B9_7F4A_7C15) >> 32) << 3 | Int(truncatingIfNeeded: vpn & 7)) & mask
    }

    /// The cached translation of the page containing `va`, if any.
    @inline(__always) public func lookup(_ va: VirtAddr) -> Entry? {
        if count == 0 { return nil }
        let vpn = va.rawValue >> 12
        if let i = frontIndex(vpn) { return frontSlot(i).entry }
        if tableCount == 0 { return nil }
        let current = generation
        return slots.withUnsafeBufferPointer { s -> Entry? in
            let mask = s.count - 1
            var i = Self.home(vpn, mask)
            while s[i].generation == current {
                if s[i].vpn == vpn { return s[i].entry }
                i = (i + 1) & mask
            }
            return nil
        }
    }

    /// Which of the front's entries holds page `vpn`, if one does.
    @inline(__always) private func frontIndex(_ vpn: UInt64) -> Int? {
        let n = frontCount
        if n == 0 { return nil }
        if front.0.vpn == vpn { return 0 }
        if n == 1 { return nil }
        if front.1.vpn == vpn { return 1 }
        if n == 2 { return nil }
        if front.2.vpn == vpn { return 2 }
        if n == 3 { return nil }
        return front.3.vpn == vpn ? 3 : nil
    }

    @inline(__always) private func frontSlot(_ i: Int) -> Slot {
        switch i {
        case 0: front.0
        case 1: front.1
        case 2: front.2
        default: front.3
        }
    }

    @inline(__always) private mutating func setFront(_ i: Int, _ slot: Slot) {
        switch i {
        case 0: front.0 = slot
        case 1: front.1 = slot
        case 2: front.2 = slot
        default: front.3 = slot
        }
    }

    /// Caches the translation of the page containing `va` (replacing the page's entry).
    @inline(__always) public mutating func fill(_ va: VirtAddr, _ entry: Entry) {
        let slot = Slot(vpn: va.rawValue >> 12, pte: entry.pte.rawValue, pteAddress: entry.pteAddress.rawValue,
                        generation: generation, level: UInt8(truncatingIfNeeded: entry.level))
        if let i = frontIndex(slot.vpn) { setFront(i, slot); return }
        if tableCount == 0 && frontCount < 4 {
            setFront(frontCount, slot)
            frontCount += 1
            count += 1
            return
        }
        if (tableCount + 1) * 2 > slots.count { grow() }
        if place(slot) { tableCount += 1; count += 1 }
    }

    /// Puts `slot` in its page's place in the table (which has room), replacing the page's
    /// slot of this generation; true if the page had none.
    @inline(__always) private mutating func place(_ slot: Slot) -> Bool {
        slots.withUnsafeMutableBufferPointer { s -> Bool in
            let mask = s.count - 1
            var i = Self.home(slot.vpn, mask)
            while s[i].generation == slot.generation {
                if s[i].vpn == slot.vpn { s[i] = slot; return false }
                i = (i + 1) & mask
            }
            s[i] = slot
            return true
        }
    }

    /// Four times the slots (16 at first), the current generation's entries moved into them:
    /// a loop over 20,000 pages moves a third of them, where doubling moved as many again.
    @inline(never) private mutating func grow() {
        let old = slots, current = generation
        slots = Array(repeating: Slot(vpn: 0, pte: 0, pteAddress: 0, generation: 0, level: 0), count: max(16, old.count * 4))
        generation = 1
        for var s in old where s.generation == current {
            s.generation = 1
            _ = place(s)
        }
    }

    /// The same entries in the smallest table that holds them. A flush keeps the table it
    /// empties (dropping one that a loop over 20,000 pages had grown made every such loop
    /// grow it again, in fresh host memory); a snapshot of a machine takes this instead, so
    /// that it neither carries nor, at its first fill, copies the slots of such a loop.
    public func compacted() -> TLB {
        var t = TLB()
        let current = generation
        for i in 0..<frontCount { let s = frontSlot(i); t.fill(VirtAddr(s.vpn << 12), s.entry) }
        if tableCount > 0 { for s in slots where s.generation == current { t.fill(VirtAddr(s.vpn << 12), s.entry) } }
        return t
    }

    /// Forgets every translation. (`sfence.vma zero, zero`)
    @inline(__always) public mutating func flush() {
        if count == 0 { return }
        count = 0
        frontCount = 0
        if tableCount == 0 { return }
        tableCount = 0
        generation &+= 1
        if generation == 0 { restartGenerations() }
    }

    /// After 2^32 - 1 flushes: marks every slot empty again, and starts over.
    @inline(never) private mutating func restartGenerations() {
        for i in slots.indices { slots[i].generation = 0 }
        generation = 1
    }
}
