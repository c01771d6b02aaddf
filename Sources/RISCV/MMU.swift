/// The Sv39 translation hardware, following the steps of section 4.3.2 of the
/// RISC-V privileged specification ("Virtual Address Translation Process").
/// It sees physical memory and a hart, never processes.

/// What an access is for: it selects the permission bit and the fault code.
public enum AccessType: String, Sendable {
    case load, store, fetch
}

/// The privilege mode the access is made in.
public enum PrivilegeMode: String, Sendable {
    case user, supervisor
}

/// A synchronous exception raised by translation. `name` is stable: it is what traces print.
public struct Fault: Error, Equatable, Sendable {
    public enum Kind: Sendable { case pageFault, accessFault }
    public let kind: Kind
    public let access: AccessType
    /// The faulting virtual address, as the hardware writes it into `stval`.
    public let va: VirtAddr

    public init(kind: Kind, access: AccessType, va: VirtAddr) {
        self.kind = kind; self.access = access; self.va = va
    }

    /// The exception code the hardware writes into `scause`.
    public var scause: UInt64 {
        switch (kind, access) {
        case (.accessFault, .fetch): return 1
        case (.accessFault, .load): return 5
        case (.accessFault, .store): return 7
        case (.pageFault, .fetch): return 12
        case (.pageFault, .load): return 13
        case (.pageFault, .store): return 15
        }
    }

    /// The privileged specification's name for the exception.
    public var name: String {
        switch (kind, access) {
        case (.accessFault, .fetch): return "instruction access fault"
        case (.accessFault, .load): return "load access fault"
        case (.accessFault, .store): return "store/AMO access fault"
        case (.pageFault, .fetch): return "instruction page fault"
        case (.pageFault, .load): return "load page fault"
        case (.pageFault, .store): return "store/AMO page fault"
        }
    }
}

/// What a successful walk found.
public struct Walk: Equatable, Sendable {
    public let pa: PhysAddr
    public let pte: PTE
    public let pteAddress: PhysAddr
    public let level: Int
}

/// Why a walk found no translation, as sail-riscv's page-table walk reports it
/// (`PTW_Invalid_Addr`, `PTW_Access`, `PTW_Invalid_PTE`, `PTW_Misaligned`).
public enum WalkFailure: Error, Equatable, Sendable {
    /// The address is not canonical.
    case invalidAddress
    /// A PTE's address lies outside RAM (step 2).
    case access
    /// A PTE that is not valid, is writable but not readable (step 3), or points to a
    /// lower table at the last level.
    case invalidPTE
    /// A superpage whose PPN is not aligned to its size (step 6).
    case misaligned

    /// The exception the hardware raises: an access fault for a table outside RAM, a page
    /// fault for anything else.
    public var faultKind: Fault.Kind { self == .access ? .accessFault : .pageFault }
}

public enum MMU {
    /// Walks the table rooted at `satp` for `va` without side effects and without
    /// permission checks beyond validity (steps 1 to 4, 6 and 8 of 4.3.2): the leaf, or
    /// why there is none.
    public static func walk(_ satp: Satp, _ va: VirtAddr, in memory: PhysicalMemory) -> Result<Walk, WalkFailure> {
        var leaf = Leaf()
        if let failure = walkLeaf(satp.root.rawValue, va.rawValue, memory, &leaf) { return .failure(failure) }
        return .success(Walk(pa: physical(PTE(rawValue: leaf.pte), leaf.level, va), pte: PTE(rawValue: leaf.pte),
                             pteAddress: PhysAddr(leaf.address), level: leaf.level))
    }

    /// What a walk found: the leaf PTE, where it lives, and its level.
    struct Leaf {
        var pte: UInt64 = 0
        var address: UInt64 = 0
        var level = 0
    }

    /// The walk of `walk` (steps 1 to 4 and 6), into `leaf`: nil when it found one, else why
    /// not. Word by word as `walk` always read them, without building a `Walk` (the TLB's
    /// refills after every trap's `sfence.vma` walk as often as user accesses do).
    @inline(__always) static func walkLeaf(_ root: UInt64, _ va: UInt64, _ memory: PhysicalMemory,
                                           _ leaf: inout Leaf) -> WalkFailure? {
        guard Sv39.isCanonical(va) else { return .invalidAddress }
        let base = memory.base.rawValue, span = memory.end.rawValue &- base
        var a = root                                                  // step 1
        var level = 2
        while true {
            let pteAddr = a &+ ((va >> (12 &+ 9 &* UInt64(truncatingIfNeeded: level))) & 0x1ff) &* 8   // step 2
            // In RAM: a is page aligned, so the PTE is 8-byte aligned and ends by `end` when it starts before it.
            let off = pteAddr &- base
            guard off < span else { return .access }
            let page = Int(truncatingIfNeeded: off >> 12), word = Int(truncatingIfNeeded: (off & 0xfff) >> 3)
            let s = memory.slot[page]
            let pte = s >= 0 ? memory.store.words(s)[word] : memory.slotlessWord(page, word)
            if pte & 1 == 0 || pte & 0b110 == 0b100 { return .invalidPTE }   // step 3: not V, or W without R
            if pte & 0b1010 != 0 {                                          // step 4: a leaf (R or X)
                let lowMask: UInt64 = (1 << (9 &* UInt64(truncatingIfNeeded: level))) &- 1
                if level > 0 && (pte >> 10) & lowMask != 0 { return .misaligned }   // step 6
                leaf = Leaf(pte: pte, address: pteAddr, level: level)
                return nil
            }
            level -= 1
            if level < 0 { return .invalidPTE }
            a = (pte >> 10) << 12
        }
    }

    /// Steps 2 to 4 of `walkLeaf` at level 0, in the last-level table at `table` (in RAM).
    @inline(__always) static func lastLevel(_ table: UInt64, _ va: UInt64, _ memory: PhysicalMemory, _ leaf: inout Leaf) -> WalkFailure? {
        let pteAddr = table &+ ((va >> 12) & 0x1ff) &* 8
        let pte = memory.read64(PhysAddr(pteAddr))
        if pte & 1 == 0 || pte & 0b110 == 0b100 { return .invalidPTE }   // step 3
        if pte & 0b1010 == 0 { return .invalidPTE }                      // a pointer at level 0
        leaf = Leaf(pte: pte, address: pteAddr, level: 0)
        return nil
    }

    /// Translates `va` for an access on `hart`, as the hardware does: through the
    /// TLB when it holds the page, else by walking the table in `hart.satp` and
    /// filling the TLB.
    public static func translate(_ va: VirtAddr, _ access: AccessType, mode: PrivilegeMode, sum: Bool = false,
                                 hart: inout Hart, memory: PhysicalMemory) -> Result<PhysAddr, Fault> {
        guard hart.satp.translates else {
            return memory.contains(PhysAddr(va.rawValue)) ? .success(PhysAddr(va.rawValue))
                : .failure(Fault(kind: .accessFault, access: access, va: va))
        }
        if let pa = tlbHit(va, access, mode: mode, sum: sum, hart: &hart) { return .success(pa) }
        return tlbMiss(va, access, mode: mode, sum: sum, hart: &hart, memory: memory)
    }

    /// The TLB's translation of `va`, if it holds the page with the permission the access
    /// needs and the access would not set the Dirty bit; nil sends the access to the walk.
    @inline(__always) static func tlbHit(_ va: VirtAddr, _ access: AccessType, mode: PrivilegeMode, sum: Bool,
                                         hart: inout Hart) -> PhysAddr? {
        guard let cached = hart.tlb.lookup(va), permits(cached.pte.flags, access, mode, sum) else { return nil }
        if access == .store && !cached.pte.flags.contains(.dirty) { return nil }
        hart.lastTranslationHitTLB = true
        return physical(cached.pte, cached.level, va)
    }

    /// Walks the table for `va`, checks permissions (step 5) and, as QEMU does, sets the
    /// Accessed bit, and the Dirty bit on a store, in the PTE in memory (step 7); then
    /// caches the leaf in the TLB.
    @inline(__always) static func tlbMiss(_ va: VirtAddr, _ access: AccessType, mode: PrivilegeMode, sum: Bool,
                        hart: inout Hart, memory: PhysicalMemory) -> Result<PhysAddr, Fault> {
        hart.lastTranslationHitTLB = false
        var leaf = Leaf()
        let root = hart.satp.root.rawValue
        if memory.fastPaths, let table = memory.rememberedWalks.table(root, va.rawValue, memory) {
            // The upper PTEs are what the region's last walk read: only the last level is left.
            if let failure = lastLevel(table, va.rawValue, memory, &leaf) {
                return .failure(Fault(kind: failure.faultKind, access: access, va: va))
            }
        } else {
            if let failure = walkLeaf(root, va.rawValue, memory, &leaf) {
                return .failure(Fault(kind: failure.faultKind, access: access, va: va))
            }
            if memory.fastPaths && leaf.level == 0 { memory.rememberedWalks.rememberTable(root, va.rawValue, memory) }
        }
        guard permits(PTE.Flags(rawValue: leaf.pte & 0x3ff), access, mode, sum) else {
            return .failure(Fault(kind: .pageFault, access: access, va: va))
        }
        let pte = leaf.pte | PTE.Flags.accessed.rawValue | (access == .store ? PTE.Flags.dirty.rawValue : 0)
        if pte != leaf.pte { memory.write64(PhysAddr(leaf.address), pte) }
        hart.tlb.fill(va, TLB.Entry(pte: PTE(rawValue: pte), pteAddress: PhysAddr(leaf.address), level: leaf.level))
        let pa = physical(PTE(rawValue: pte), leaf.level, va)
        guard memory.contains(pa) else { return .failure(Fault(kind: .accessFault, access: access, va: va)) }
        return .success(pa)
    }

    /// Step 5: the leaf's permission bits against the access (MXR clear).
    @inline(__always) static func permits(_ f: PTE.Flags, _ access: AccessType, _ mode: PrivilegeMode, _ sum: Bool) -> Bool {
        switch access {
        case .load: if !f.contains(.read) { return false }
        case .store: if !f.contains(.write) { return false }
        case .fetch: if !f.contains(.execute) { return false }
        }
        switch mode {
        case .user: return f.contains(.user)
        case .supervisor: return !f.contains(.user) || (sum && access != .fetch)
        }
    }

    /// The leaf's page at `level` (0, 1 or 2), with `va`'s offset in it. (Wrapping arithmetic:
    /// for those levels nothing overflows, and every translation comes here.)
    @inline(__always) static func physical(_ pte: PTE, _ level: Int, _ va: VirtAddr) -> PhysAddr {
        let shift = 9 &* UInt64(truncatingIfNeeded: level)
        let lowMask: UInt64 = (1 &<< shift) &- 1
        let pageBase = ((pte.rawValue >> 10) & ~lowMask) << 12
        return PhysAddr(pageBase | (va.rawValue & ((pageSize &<< shift) &- 1)))
    }
}
