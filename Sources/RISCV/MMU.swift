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
    public let va: UInt64

    public init(kind: Kind, access: AccessType, va: UInt64) {
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

public enum MMU {
    /// Walks the table rooted at `satp` for `va` without side effects and without
    /// permission checks beyond validity (steps 1 to 4, 6 and 8 of 4.3.2).
    /// Returns nil where the hardware would raise a page or access fault.
    public static func walk(_ satp: Satp, _ va: UInt64, in memory: PhysicalMemory) -> Walk? {
        guard Sv39.isCanonical(va) else { return nil }
        var a = satp.root                                            // step 1
        var level = Sv39.levels - 1
        while true {
            let pteAddr = a + UInt64(Sv39.px(level, va)) * Sv39.pteSize   // step 2
            guard memory.contains(pteAddr, length: 8) else { return nil }
            let pte = PTE(rawValue: memory.read64(pteAddr))
            let f = pte.flags
            if !f.contains(.valid) || (!f.contains(.read) && f.contains(.write)) { return nil }  // step 3
            if f.contains(.read) || f.contains(.execute) {            // step 4: a leaf
                let ppn = pte.rawValue >> 10
                let lowMask: UInt64 = (1 << (9 * UInt64(level))) - 1
                if level > 0 && ppn & lowMask != 0 { return nil }       // step 6: misaligned superpage
                let pageBase = (ppn & ~lowMask) << 12                   // step 8
                let offset = va & ((pageSize << (9 * UInt64(level))) - 1)
                return Walk(pa: PhysAddr(pageBase | offset), pte: pte, pteAddress: pteAddr, level: level)
            }
            level -= 1
            if level < 0 { return nil }
            a = pte.pa
        }
    }

    /// Translates `va` for an access on `hart`, as the hardware does: through the
    /// TLB when it holds the page, else by walking the table in `hart.satp` and
    /// filling the TLB. Checks permissions (step 5) and, as QEMU does, sets the
    /// Accessed bit, and the Dirty bit on a store, in the PTE in memory (step 7).
    public static func translate(_ va: UInt64, _ access: AccessType, mode: PrivilegeMode, sum: Bool = false,
                                 hart: inout Hart, memory: PhysicalMemory) -> Result<PhysAddr, Fault> {
        guard hart.satp.translates else {
            return memory.contains(PhysAddr(va)) ? .success(PhysAddr(va))
                : .failure(Fault(kind: .accessFault, access: access, va: va))
        }
        let pageFault = Fault(kind: .pageFault, access: access, va: va)
        if let cached = hart.tlb.lookup(va), permits(cached.pte.flags, access, mode, sum) {
            let needsUpdate = access == .store && !cached.pte.flags.contains(.dirty)
            if !needsUpdate {
                hart.lastTranslationHitTLB = true
                return .success(physical(cached.pte, cached.level, va))
            }
        }
        hart.lastTranslationHitTLB = false
        guard let w = walk(hart.satp, va, in: memory) else {
            return .failure(rootOrTableOutsideRAM(hart.satp, va, memory) ? Fault(kind: .accessFault, access: access, va: va) : pageFault)
        }
        guard permits(w.pte.flags, access, mode, sum) else { return .failure(pageFault) }
        var pte = w.pte
        pte.rawValue |= PTE.Flags.accessed.rawValue | (access == .store ? PTE.Flags.dirty.rawValue : 0)
        if pte != w.pte { memory.write64(w.pteAddress, pte.rawValue) }
        hart.tlb.fill(va, TLB.Entry(pte: pte, pteAddress: w.pteAddress, level: w.level))
        guard memory.contains(w.pa) else { return .failure(Fault(kind: .accessFault, access: access, va: va)) }
        return .success(w.pa)
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

    @inline(__always) static func physical(_ pte: PTE, _ level: Int, _ va: UInt64) -> PhysAddr {
        let lowMask: UInt64 = (1 << (9 * UInt64(level))) - 1
        let pageBase = ((pte.rawValue >> 10) & ~lowMask) << 12
        return PhysAddr(pageBase | (va & ((pageSize << (9 * UInt64(level))) - 1)))
    }

    /// Whether the walk failed because a page-table address left RAM (an access
    /// fault, step 2) rather than because of a PTE (a page fault).
    static func rootOrTableOutsideRAM(_ satp: Satp, _ va: UInt64, _ memory: PhysicalMemory) -> Bool {
        guard Sv39.isCanonical(va) else { return false }
        var a = satp.root
        var level = Sv39.levels - 1
        while level >= 0 {
            let pteAddr = a + UInt64(Sv39.px(level, va)) * Sv39.pteSize
            guard memory.contains(pteAddr, length: 8) else { return true }
            let pte = PTE(rawValue: memory.read64(pteAddr))
            if !pte.isValid || pte.isLeaf { return false }
            a = pte.pa
            level -= 1
        }
        return false
    }
}
