import RISCV

/// Who holds a page of RAM, found by walking the kernel's live structures.
public enum OwnerKind: Int, CaseIterable, Sendable {
    case kernelTables = 1, kernelStacks, userMemory, userPageTables, processKernelTables, processKernelStacks, trapframes, zombies, pipes, beingBuilt

    /// How reports name the owner.
    public var name: String {
        switch self {
        case .kernelTables: return "kernel page table (boot)"
        case .kernelStacks: return "kernel stacks (procinit)"
        case .userMemory: return "user memory"
        case .userPageTables: return "user page tables"
        case .processKernelTables: return "per-process kernel page tables"
        case .processKernelStacks: return "per-process kernel stacks"
        case .trapframes: return "trapframes"
        case .zombies: return "zombies awaiting wait"
        case .pipes: return "pipes"
        case .beingBuilt: return "being built when the kernel panicked"
        }
    }
}

/// Every allocated page, accounted to a live owner or found leaked.
public struct Ownership: Sendable {
    /// Pages held by each kind of owner.
    public var pages: [OwnerKind: Int] = [:]
    /// Leaked pages no table or process refers to: the roots of what was lost.
    public var definitelyLost: [UInt64] = []
    /// Leaked pages referred to only by a leaked page table.
    public var indirectlyLost: [UInt64] = []
    public var leaked: Int { definitelyLost.count + indirectlyLost.count }
}

/// Where and when a page was allocated.
public struct AllocationRecord: Equatable, Sendable {
    public var site: Int32
    public var pid: Int
    /// The simulation's event tag at the time (the event index).
    public var event: Int
}

extension Kernel {
    /// Allocation site, pid and event of the page at `pa`, if it is allocated.
    public func allocation(of pa: UInt64) -> AllocationRecord? {
        guard let site = allocationSite(of: pa) else { return nil }
        let i = pageIndex(pa)
        return AllocationRecord(site: site, pid: Int(ownerPid[i]), event: Int(ownerEvent[i]))
    }

    /// Walks the global kernel table and every live process's tables, trapframe and stack,
    /// and accounts each allocated page to its owner; what no one holds is leaked.
    /// With `classifyLeaks` false, leaked pages are only counted (all as definitely lost),
    /// which is much cheaper when many tables leaked.
    public func ownership(classifyLeaks: Bool = true) -> Ownership {
        var kind = [UInt8](repeating: 0, count: memory.pageCount)
        func mark(_ pa: PhysAddr, _ k: OwnerKind) {
            guard memory.contains(pa), pa.pageOffset == 0 else { return }
            let i = pageIndex(pa)
            if owner[i] >= 0 && kind[i] == 0 { kind[i] = UInt8(k.rawValue) }
        }
        markOwners { pa, k, _ in mark(pa, k) }
        var result = Ownership()
        var leaked: [UInt64] = []
        var isLeaked = [Bool](repeating: false, count: memory.pageCount)
        for i in 0..<memory.pageCount where owner[i] >= 0 {
            if kind[i] == 0 {
                let pa = MemLayout.kernbase + UInt64(i) * pageSize
                leaked.append(pa)
                isLeaked[i] = true
            } else {
                result.pages[OwnerKind(rawValue: Int(kind[i]))!, default: 0] += 1
            }
        }
        if !classifyLeaks {
            result.definitelyLost = leaked
            return result
        }
        // A leaked page that a leaked page table points at is lost only because that table is:
        // through a pointer to a lower table, or, in a user page table, through a leaf (its
        // user memory). A kernel table's leaves map RAM the table does not own.
        var indirect = [Bool](repeating: false, count: memory.pageCount)
        let tableMakers: Set<KFunc> = [.walk, .uvmcreate, .kvminit_newpgtbl, .kvmmake, .kvminit]
        let kernelTableMakers: Set<KFunc> = [.kvminit, .kvminit_newpgtbl, .kvmmake, .kvmcopymappings, .kvmmap]
        for pa in leaked {
            let chain = sites.functions(owner[pageIndex(pa)])
            guard let f = chain.last, tableMakers.contains(f) else { continue }
            let kernelTable = chain.contains { kernelTableMakers.contains($0) }
            memory.forEachValidPTE(PhysAddr(pa), pointersOnly: kernelTable) { _, word in
                let pte = PTE(rawValue: word)
                guard memory.contains(pte.pa) else { return }
                let j = pageIndex(pte.pa.rawValue)
                if isLeaked[j] && pte.pa.rawValue != pa { indirect[j] = true }
            }
        }
        for pa in leaked {
            if indirect[pageIndex(pa)] { result.indirectlyLost.append(pa) } else { result.definitelyLost.append(pa) }
        }
        return result
    }

    /// Visits every page the kernel's live structures hold, as `ownership` accounts them:
    /// `visit(page, owner, structure)`. The structures, in the order they are walked
    /// (a page may be visited more than once; its first owner is the one that counts): 0 the
    /// global kernel table and the kernel stacks it maps, 1 the tables being built at a
    /// panic, 2 + slot each process, 2 + NPROC the pipes.
    private func markOwners(_ visit: (PhysAddr, OwnerKind, Int) -> Void) {
        var holder = 0
        func mark(_ pa: PhysAddr, _ k: OwnerKind) { visit(pa, k, holder) }
        /// Marks the table pages of a tree as `tables`, and its leaves (below `leafLimit`) as `leaves`.
        func markTree(_ root: PhysAddr, tables: OwnerKind, leaves: OwnerKind?, leafLimit: UInt64) {
            forEachLeaf(root, enter: { table, level, _ in
                mark(table, tables)
                return level > 0 || leaves != nil                 // a last level holds only leaves
            }, { va, pte in
                if let leaves, va < leafLimit { mark(pte.pa, leaves) }
            })
        }
        /// The page mapped at `va` in `root`, if any: a kernel stack.
        func stack(_ root: PhysAddr, _ va: UInt64) -> PhysAddr? {
            guard let pte = try? walk(root, va, alloc: false), memory.contains(PhysAddr(pte)) else { return nil }
            let e = PTE(rawValue: memory.read64(PhysAddr(pte)))
            return e.isValid ? e.pa : nil
        }
        if kernelPagetable != .zero {
            markTree(kernelPagetable, tables: .kernelTables, leaves: nil, leafLimit: 0)
            if !settings.values.perProcessKernelPagetable {
                for i in 0..<Param.nproc {
                    if let pa = stack(kernelPagetable, MemLayout.kstack(i)) { mark(pa, .kernelStacks) }
                }
            }
        }
        holder = 1
        for root in building { markTree(root, tables: .beingBuilt, leaves: nil, leafLimit: 0) }
        // A slot allocproc was filling when the kernel panicked holds its trapframe already.
        for (slot, p) in procs.enumerated() where p.state != .unused || p.pagetable != .zero || p.kernelPagetable != .zero || p.trapframe != .zero {
            holder = 2 + slot
            let zombie = p.state == .zombie
            if p.trapframe != .zero { mark(p.trapframe, zombie ? .zombies : .trapframes) }
            if p.pagetable != .zero {
                markTree(p.pagetable, tables: zombie ? .zombies : .userPageTables,
                         leaves: zombie ? .zombies : .userMemory, leafLimit: MemLayout.trapframe)
            }
            if p.kernelPagetable != .zero {
                if p.kstack != 0, let pa = stack(p.kernelPagetable, p.kstack) { mark(pa, zombie ? .zombies : .processKernelStacks) }
                markTree(p.kernelPagetable, tables: zombie ? .zombies : .processKernelTables, leaves: nil, leafLimit: 0)
            }
        }
        holder = 2 + procs.count
        for pa in pipes.values { mark(pa, .pipes) }
    }

    /// The pages each kind of owner holds now, and each process's, counted as `ownership`
    /// counts them but in arrays, cheaply enough to run after most events (a report's plot).
    /// `allocated`: the pages allocated, when the caller knows (else they are counted).
    /// `walked`: how many pages the walk visited (what it cost).
    public func ownerCounts(allocated: Int? = nil) -> (tally: OwnerTally, walked: Int) {
        let kinds = OwnerKind.allCases.count + 1
        // Buffers, not captured arrays: each write to a captured array checked that it was
        // not shared, a tenth of this walk's time.
        let kind = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: memory.pageCount)
        let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: kinds + procs.count * kinds)
        defer { kind.deallocate(); counts.deallocate() }
        kind.initialize(repeating: 0)
        counts.initialize(repeating: 0)
        let bySlot = counts.baseAddress! + kinds, slots = procs.count
        var walked = 0
        owner.withUnsafeBufferPointer { owner in
            markOwners { pa, k, s in
                walked += 1
                guard memory.contains(pa), pa.pageOffset == 0 else { return }
                let i = pageIndex(pa)
                guard owner[i] >= 0 && kind[i] == 0 else { return }
                kind[i] = UInt8(k.rawValue)
                counts[k.rawValue] += 1
                if s >= 2 && s < 2 + slots { bySlot[(s - 2) * kinds + k.rawValue] += 1 }
            }
        }
        var tally = OwnerTally(kinds: Array(counts[0..<kinds]), slots: [])
        tally.kinds[0] = (allocated ?? allocatedPages) - tally.kinds.reduce(0, +)
        for (slot, p) in procs.enumerated() {
            let mine = UnsafeBufferPointer(start: bySlot + slot * kinds, count: kinds)
            if mine.contains(where: { $0 > 0 }) { tally.slots.append((p.pid, Array(mine))) }
        }
        return (tally, walked)
    }
}

/// Pages by owner (`Kernel.ownerCounts`): `kinds[k.rawValue]` for each `OwnerKind`, and
/// `kinds[0]` the allocated pages no live structure holds; each process's the same way.
public struct OwnerTally: Sendable {
    public var kinds: [Int]
    public var slots: [(pid: Int, kinds: [Int])]
}

extension Kernel {
    /// Visits the tree of page tables rooted at `root` as the MMU would find it, reading
    /// physical memory directly (never through the MMU: looking changes nothing). For each
    /// table page in RAM, `enter(table, level, va)`, with the first va the table maps, says
    /// whether to read its entries; `leaf(va, pte)` gets each valid leaf, in address order
    /// (at the last level every valid entry is one). A table outside RAM is skipped.
    func forEachLeaf(_ root: PhysAddr, enter: (PhysAddr, Int, UInt64) -> Bool, _ leaf: (UInt64, PTE) -> Void) {
        func visit(_ table: PhysAddr, _ level: Int, _ base: UInt64) {
            guard memory.contains(table, length: pageSize), table.pageOffset == 0, enter(table, level, base) else { return }
            memory.forEachValidPTE(table) { i, word in
                let va = base | (UInt64(i) << (pageShift + 9 * UInt64(level)))
                let pte = PTE(rawValue: word)
                if pte.isLeaf || level == 0 { leaf(va, pte) } else { visit(pte.pa, level - 1, va) }
            }
        }
        visit(root, Sv39.levels - 1, 0)
    }
}

extension Kernel {
    /// The frame process `pid`'s user table maps at `va` (a valid user leaf, at any level),
    /// found by the MMU's walk without side effects: nothing is traced, counted or cached.
    /// Nil when the process is gone or the page is not mapped. (A departure's sentence:
    /// which process a shared frame belongs to.)
    public func userFrame(pid: Int, va: UInt64) -> PhysAddr? {
        guard let s = slot(ofPid: pid), procs[s].pagetable != .zero,
              case .success(let w) = MMU.walk(Satp(root: procs[s].pagetable), VirtAddr(va), in: memory),
              w.pte.flags.contains(.user) else { return nil }
        return PhysAddr(w.pa.rawValue & ~(pageSize - 1))
    }
}
