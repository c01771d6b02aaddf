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
        guard Sv39.isCanonical(va.rawValue) else { return .failure(.invalidAddress) }
        var a = satp.root                                            // step 1
        var level = Sv39.levels - 1
        while true {
            let pteAddr = a + UInt64(Sv39.px(level, va.rawValue)) * Sv39.pteSize   // step 2
            guard memory.contains(pteAddr, length: 8) else { return .failure(.access) }
            let pte = PTE(rawValue: memory.read64(pteAddr))
            let f = pte.flags
            if !f.contains(.valid) || (!f.contains(.read) && f.contains(.write)) { return .failure(.invalidPTE) }  // step 3
            if f.contains(.read) || f.contains(.execute) {            // step 4: a leaf
                let ppn = pte.rawValue >> 10
                let lowMask: UInt64 = (1 << (9 * UInt64(level))) - 1
                if level > 0 && ppn & lowMask != 0 { return .failure(.misaligned) }   // step 6
                let pageBase = (ppn & ~lowMask) << 12                   // step 8
                let offset = va.rawValue & ((pageSize << (9 * UInt64(level))) - 1)
                return .success(Walk(pa: PhysAddr(pageBase | offset), pte: pte, pteAddress: pteAddr, level: level))
            }
            level -= 1
            if level < 0 { return .failure(.invalidPTE) }
            a = pte.pa
        }
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
    static func tlbMiss(_ va: VirtAddr, _ access: AccessType, mode: PrivilegeMode, sum: Bool,
                        hart: inout Hart, memory: PhysicalMemory) -> Result<PhysAddr, Fault> {
        hart.lastTranslationHitTLB = false
        let w: Walk
        switch walk(hart.satp, va, in: memory) {
        case .success(let found): w = found
        case .failure(let failure): return .failure(Fault(kind: failure.faultKind, access: access, va: va))
        }
        guard permits(w.pte.flags, access, mode, sum) else { return .failure(Fault(kind: .pageFault, access: access, va: va)) }
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

    @inline(__always) static func physical(_ pte: PTE, _ level: Int, _ va: VirtAddr) -> PhysAddr {
        let lowMask: UInt64 = (1 << (9 * UInt64(level))) - 1
        let pageBase = ((pte.rawValue >> 10) & ~lowMask) << 12
        return PhysAddr(pageBase | (va.rawValue & ((pageSize << (9 * UInt64(level))) - 1)))
    }
}
