/// The page-table walks of the trap path, remembered: the three PTEs each read. A walk
/// only reads memory, so when the same three words, read again, hold what they held, a
/// walk would find the same leaf; `recall` gives that leaf, or nothing: at once while no
/// page of the three has been written since they were read (the memory watches them), else
/// after reading them again (without the walk's checks, which those values passed). Exact
/// whatever was written since: nothing is trusted that was not read again or watched.
///
/// After each of the trap path's two `sfence.vma`s it walks the same pages (TRAMPOLINE
/// and TRAPFRAME in the user table, TRAMPOLINE and the kernel stack in the kernel's), in
/// tables that hardly change: the COW lab's faults walk them hundreds of thousands of
/// times. One per memory; a snapshot of the memory starts with none.
final class RememberedWalks {
    struct Entry {
        /// Not page aligned: no walk.
        var root: UInt64 = 1
        var vpn: UInt64 = 0
        /// The PTEs read at levels 2 and 1, and the leaf's (level 0) as the access left it.
        var upper: UInt64 = 0
        var middle: UInt64 = 0
        var leaf: UInt64 = 0
        /// Where the leaf PTE lives.
        var address: UInt64 = 0
        /// The memory's `watchEpoch` when the three words were last read (0: never).
        var epoch: UInt64 = 0
    }

    private static let capacity = 128
    private let entries: UnsafeMutablePointer<Entry>

    init() { entries = .allocate(capacity: Self.capacity); entries.initialize(repeating: Entry(), count: Self.capacity) }

    deinit { entries.deallocate() }

    @inline(__always) private static func index(_ root: UInt64, _ vpn: UInt64) -> Int {
        Int(truncatingIfNeeded: ((root >> 12 ^ vpn) &* 0x9E37_79B9_7F4A_7C15) >> 57)   // 128 entries
    }

    /// What a walk of the table at `root` for `va` would find now, a leaf at level 0 (its
    /// PTE and where it lives), if a walk of that page is remembered and memory still holds
    /// the three PTEs it read: known without reading them while no page they lie in has been
    /// written (the memory's `watchEpoch` is the one they were read under), else read again.
    /// Each address read is one that walk read (in RAM): the first is fixed by `root`, the
    /// next by the word just found equal.
    @inline(__always) func recall(_ root: UInt64, _ va: UInt64, _ memory: PhysicalMemory) -> (pte: UInt64, address: UInt64)? {
        let i = Self.index(root, va >> 12)
        let e = entries[i]
        guard e.root == root && e.vpn == va >> 12 else { return nil }
        if e.epoch == memory.watchEpoch { return (e.leaf, e.address) }
        let upper = root &+ ((va >> 30) & 0x1ff) &* 8
        let middle = (e.upper >> 10) << 12 &+ ((va >> 21) & 0x1ff) &* 8
        guard memory.read64(PhysAddr(upper)) == e.upper, memory.read64(PhysAddr(middle)) == e.middle,
              memory.read64(PhysAddr(e.address)) == e.leaf else { return nil }
        entries[i].epoch = Self.watch(upper, middle, e.address, memory)
        return (e.leaf, e.address)
    }

    /// Remembers the walk of `va` under `root` that has just read these three words (the leaf as
    /// the access left it), its pages watched from now.
    @inline(__always) func remember(_ root: UInt64, _ va: UInt64, upper: UInt64, middle: UInt64, leaf: UInt64,
                                    _ memory: PhysicalMemory) {
        let a = root &+ ((va >> 30) & 0x1ff) &* 8, b = (upper >> 10) << 12 &+ ((va >> 21) & 0x1ff) &* 8
        let address = (middle >> 10) << 12 &+ ((va >> 12) & 0x1ff) &* 8
        entries[Self.index(root, va >> 12)] = Entry(root: root, vpn: va >> 12, upper: upper, middle: middle, leaf: leaf,
                                                    address: address, epoch: Self.watch(a, b, address, memory))
    }

    /// The last 2 MiB region a translation's walk reached a 4 KiB leaf in: its root, region
    /// (va >> 21), last-level table, and the epoch its two upper PTEs are watched from.
    private var region: (root: UInt64, region: UInt64, table: UInt64, epoch: UInt64) = (1, .max, 0, 0)

    /// The last-level table a walk of the table at `root` for `va` reaches, if it is the one
    /// the last walk of `va`'s region reached and neither upper PTE's page has been written
    /// since (the region's bits above 21 are `va`'s: it is canonical, as that walk's was).
    @inline(__always) func table(_ root: UInt64, _ va: UInt64, _ memory: PhysicalMemory) -> UInt64? {
        region.root == root && region.region == va >> 21 && region.epoch == memory.watchEpoch ? region.table : nil
    }

    /// Remembers the region of a walk of `root` for `va` that has just reached a leaf at level
    /// 0 (so both upper PTEs are valid pointers, in RAM): read again, watched from now.
    func rememberTable(_ root: UInt64, _ va: UInt64, _ memory: PhysicalMemory) {
        let a = root &+ ((va >> 30) & 0x1ff) &* 8
        let b = (memory.read64(PhysAddr(a)) >> 10) << 12 &+ ((va >> 21) & 0x1ff) &* 8
        let table = (memory.read64(PhysAddr(b)) >> 10) << 12
        memory.watch(a); memory.watch(b)
        region = (root, va >> 21, table, memory.watchEpoch)
    }

    /// Watches the pages of the three PTEs at `a`, `b` and `c`; the epoch they are watched from.
    @inline(__always) private static func watch(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ memory: PhysicalMemory) -> UInt64 {
        memory.watch(a); memory.watch(b); memory.watch(c)
        return memory.watchEpoch
    }
}

extension MMU {
    /// `translate` in supervisor mode for an access of the trap path (the trampoline's
    /// fetches, TRAPFRAME, the kernel stack): nil when it succeeded, else its fault. A TLB
    /// miss whose walk is remembered (see `RememberedWalks`), and whose access needs no A or D
    /// bit set, fills the TLB from it; any other walks, and a walk to a 4 KiB page is
    /// remembered. (With the fast paths off, it walks as `translate` does.)
    public static func translateTrapPath(_ va: VirtAddr, _ access: AccessType, hart: inout Hart,
                                         memory: PhysicalMemory) -> Fault? {
        trapPathAccess(va, access, hart: &hart, memory: memory)
    }

    /// `translateTrapPath` of `va`, then, if it succeeded, of `va2`: nil when both did, else
    /// the fault. (The trap path's accesses come in pairs; one call makes both.)
    public static func translateTrapPath(_ va: VirtAddr, _ access: AccessType, then va2: VirtAddr, _ access2: AccessType,
                                         hart: inout Hart, memory: PhysicalMemory) -> Fault? {
        if let fault = trapPathAccess(va, access, hart: &hart, memory: memory) { return fault }
        return trapPathAccess(va2, access2, hart: &hart, memory: memory)
    }

    @inline(__always) static func trapPathAccess(_ va: VirtAddr, _ access: AccessType, hart: inout Hart,
                                                 memory: PhysicalMemory) -> Fault? {
        guard hart.satp.translates else {
            return memory.contains(PhysAddr(va.rawValue)) ? nil : Fault(kind: .accessFault, access: access, va: va)
        }
        if tlbHit(va, access, mode: .supervisor, sum: false, hart: &hart) != nil { return nil }
        guard memory.fastPaths else {
            if case .failure(let fault) = tlbMiss(va, access, mode: .supervisor, sum: false, hart: &hart, memory: memory) { return fault }
            return nil
        }
        let root = hart.satp.root.rawValue, memo = memory.rememberedWalks
        let set = PTE.Flags.accessed.rawValue | (access == .store ? PTE.Flags.dirty.rawValue : 0)
        if let (pte, address) = memo.recall(root, va.rawValue, memory), pte & set == set,
           permits(PTE.Flags(rawValue: pte & 0x3ff), access, .supervisor, false) {
            // As `tlbMiss` with this leaf: nothing to write.
            hart.lastTranslationHitTLB = false
            hart.tlb.fill(va, TLB.Entry(pte: PTE(rawValue: pte), pteAddress: PhysAddr(address), level: 0))
            let pa = (pte >> 10) << 12 | (va.rawValue & 0xfff)
            return memory.contains(PhysAddr(pa)) ? nil : Fault(kind: .accessFault, access: access, va: va)
        }
        hart.lastTranslationHitTLB = false
        var leaf = Leaf()
        if let failure = walkLeaf(root, va.rawValue, memory, &leaf) { return Fault(kind: failure.faultKind, access: access, va: va) }
        // A leaf at level 0: the walk read these two pointers on its way.
        let upper = leaf.level == 0 ? memory.read64(PhysAddr(root &+ ((va.rawValue >> 30) & 0x1ff) &* 8)) : 0
        let middle = leaf.level == 0 ? memory.read64(PhysAddr((upper >> 10) << 12 &+ ((va.rawValue >> 21) & 0x1ff) &* 8)) : 0
        // The rest of `tlbMiss`.
        guard permits(PTE.Flags(rawValue: leaf.pte & 0x3ff), access, .supervisor, false) else {
            return Fault(kind: .pageFault, access: access, va: va)
        }
        let pte = leaf.pte | set
        if pte != leaf.pte { memory.write64(PhysAddr(leaf.address), pte) }
        hart.tlb.fill(va, TLB.Entry(pte: PTE(rawValue: pte), pteAddress: PhysAddr(leaf.address), level: leaf.level))
        guard memory.contains(physical(PTE(rawValue: pte), leaf.level, va)) else { return Fault(kind: .accessFault, access: access, va: va) }
        if leaf.level == 0 { memo.remember(root, va.rawValue, upper: upper, middle: middle, leaf: pte, memory) }
        return nil
    }
}
