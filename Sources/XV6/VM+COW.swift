import RISCV

extension PTE.Flags {
    /// cow-lab: PTE_COW, the first bit the hardware leaves to software (RSW, bit 8): a page
    /// shared by fork, read-only until a store or a copyout copies it.
    public static let cow = PTE.Flags(rawValue: 1 << 8)
}

/// The copy-on-write lab (Miigon's `cow` branch, c119f03, with its parent's two bugs as
/// settings): a reference count per page beside the free list (kalloc sets it to 1, kfree
/// lowers it and frees the page at zero), fork sharing pages read-only, and the copy that
/// usertrap's store-fault handler and copyout make of a shared page.
extension Kernel {
    /// Raises the count of the page at `pa`. (cow-lab: `krefpage`)
    @inline(__always) func krefpage(_ pa: PhysAddr) {
        guard memory.contains(pa) else { return }
        let i = pageIndex(pa)
        refcount[i] += 1
        emit(.refinc(pa: pa, count: refcount[i], pid: curpid))
    }

    /// Lowers the count of the page at `pa` (cow_count_drop: uvmunmap, for each page it
    /// unmaps); a count still above zero prints refdec. (pkuflyingpig's cow: in `uvmunmap`)
    func krefdrop(_ pa: PhysAddr) {
        guard memory.contains(pa) else { return }
        let i = pageIndex(pa)
        refcount[i] -= 1
        if refcount[i] > 0 { emit(.refdec(pa: pa, count: refcount[i], pid: curpid)) }
    }

    /// The page to write in place of the shared page `pa`: `pa` itself when nobody else
    /// holds it (count 1 or less), else a new page with its bytes, `pa`'s count lowered
    /// by one; nil, the count unchanged, when kalloc fails. (cow-lab: `kcopy_n_deref`)
    @inline(__always) func kcopy_n_deref(_ pa: PhysAddr) throws(KernelPanic) -> PhysAddr? {
        sites.push(.kcopy_n_deref); defer { sites.pop() }
        guard memory.contains(pa) else { return pa }
        let i = pageIndex(pa)
        if refcount[i] <= 1 && settings.cowFaultCopy == .shared { return pa }
        guard let new = try kalloc() else { return nil }
        try kcopyPage(from: pa, to: new)
        if refcount[i] <= 1 {
            try kfree(pa)
        } else {
            refcount[i] -= 1
            emit(.refdec(pa: pa, count: refcount[i], pid: curpid))
        }
        return new
    }

    /// `walk(pagetable, va, alloc: false)`, remembering the last-level table it found: the next
    /// call for the same root and 2 MiB region reads the two upper PTEs again and, when both
    /// hold what they held, takes the same table, as the walk would, without the walk. Only
    /// for upper PTEs in the direct map, where the kernel's reads have no effect. (The COW
    /// fault's check and copy walk to the same page; fork walks the parent page by page.)
    /// The memo's hit is inlined where it is called; the walk is not.
    @inline(__always) func walkRemembered(_ pagetable: PhysAddr, _ va: UInt64) throws(KernelPanic) -> UInt64? {
        if va < Sv39.maxVA, let pte = recalled(&walkMemo, pagetable, va) { return pte }
        return try walkAndRemember(pagetable, va)
    }

    @inline(never) private func walkAndRemember(_ pagetable: PhysAddr, _ va: UInt64) throws(KernelPanic) -> UInt64? {
        if va >= Sv39.maxVA { throw KernelPanic("walk") }
        walkMemo = WalkMemo()
        guard let pte = try walk(pagetable, va, alloc: false) else { return nil }
        walkMemo = remembered(pagetable, va)
        return pte
    }

    /// The PTE address the walk of `pagetable` for `va` would find through `m`'s table, when
    /// `m` is of the same root and region and its two upper PTEs hold what they held: known
    /// without reading them while the memory's `watchEpoch` is the one `m` read them under,
    /// else read again (and `m` stamped with the epoch from which their pages are watched).
    @inline(__always) private func recalled(_ m: inout WalkMemo, _ pagetable: PhysAddr, _ va: UInt64) -> UInt64? {
        guard m.root == pagetable.rawValue && m.region == va >> 21 else { return nil }
        if m.epoch != memory.watchEpoch {
            guard memory.read64(PhysAddr(m.upper)) == m.upperPTE && memory.read64(PhysAddr(m.middle)) == m.middlePTE else { return nil }
            m.epoch = watch(m.upper, m.middle)
        }
        return m.table &+ UInt64(Sv39.px(0, va)) &* Sv39.pteSize
    }

    /// Watches the pages of the PTEs at `upper` and `middle`; the epoch they are watched from.
    @inline(__always) private func watch(_ upper: UInt64, _ middle: UInt64) -> UInt64 {
        memory.watch(upper)
        memory.watch(middle)
        return memory.watchEpoch
    }

    /// What to remember of a walk of `pagetable` for `va` that has just found both upper PTEs
    /// valid: read again (without effect) where it read them; nothing unless both are in the
    /// direct map.
    private func remembered(_ pagetable: PhysAddr, _ va: UInt64) -> WalkMemo {
        let upper = pteAddress(pagetable, Sv39.px(2, va))
        guard directMapped(upper, 8) else { return WalkMemo() }
        let upperPTE = memory.read64(PhysAddr(upper))
        let middle = pteAddress(PTE(rawValue: upperPTE).pa, Sv39.px(1, va))
        guard directMapped(middle, 8) else { return WalkMemo() }
        let middlePTE = memory.read64(PhysAddr(middle))
        return WalkMemo(root: pagetable.rawValue, region: va >> 21, upper: upper, upperPTE: upperPTE,
                        middle: middle, middlePTE: middlePTE, table: PTE(rawValue: middlePTE).pa.rawValue,
                        epoch: watch(upper, middle))
    }

    /// mappages' `walk(pagetable, va, alloc: true)` of a one-page mapping (sbrk's pages one by
    /// one, fork's child page after page, the COW fault's page), remembered as
    /// `walkRemembered` remembers its walks, in `mapMemo`: when the two upper PTEs hold what
    /// they held, both are valid, so the walk allocates nothing and finds the same table.
    /// (A va at or above MAXVA is in no remembered region: the walk panics.)
    @inline(__always) func walkToMapPage(_ pagetable: PhysAddr, _ va: UInt64) throws(KernelPanic) -> UInt64? {
        if let pte = recalled(&mapMemo, pagetable, va) { return pte }
        return try walkToMapPageAgain(pagetable, va)
    }

    @inline(never) private func walkToMapPageAgain(_ pagetable: PhysAddr, _ va: UInt64) throws(KernelPanic) -> UInt64? {
        // The COW fault maps the page whose walk `walkRemembered` has just remembered.
        if let pte = recalled(&walkMemo, pagetable, va) { return pte }
        mapMemo = WalkMemo()
        guard let pte = try walk(pagetable, va, alloc: true) else { return nil }
        mapMemo = remembered(pagetable, va)
        return pte
    }

    /// Whether `va` lies below `sz` on a valid COW page of `pagetable` (PTE_U is not
    /// checked). (cow-lab: `uvmcheckcowpage`, which reads the current process's table)
    @inline(__always) func uvmcheckcowpage(_ pagetable: PhysAddr, _ sz: UInt64, _ va: UInt64) throws(KernelPanic) -> Bool {
        guard va < sz, let pte = try walkRemembered(pagetable, va) else { return false }
        let e = PTE(rawValue: try kread(pte))
        return e.isValid && e.flags.contains(.cow)
    }

    /// Makes the COW page holding `va` writable: its own copy (or the page itself when its
    /// count is 1), unmapped and mapped again with W and without COW, A and D kept; as the
    /// lab's code, by mappages of the unrounded va with size 1 (cow_fault_map). False when
    /// kalloc fails: the table is then unchanged. (cow-lab: `uvmcowcopy`)
    func uvmcowcopy(_ pagetable: PhysAddr, _ va: UInt64) throws(KernelPanic) -> Bool {
        sites.push(.uvmcowcopy); defer { sites.pop() }
        guard let pte = try walkRemembered(pagetable, va) else { throw KernelPanic("uvmcowcopy: walk") }
        let e = PTE(rawValue: try kread(pte))
        let flags = e.flags.union(.write).subtracting(.cow)
        if settings.cowFaultMap == .unmapThenPTE {
            // A new page every time; uvmunmap drops (or frees) the old one.
            guard let page = try kalloc() else { return false }
            try kcopyPage(from: e.pa, to: page)
            try uvmunmap(pagetable, pageRoundDown(va), 1, doFree: true)
            try writePTE(pte, PTE(pa: page, flags: flags).rawValue)
            return true
        }
        guard let page = try kcopy_n_deref(e.pa) else { return false }
        if settings.cowFaultMap == .pte {
            try writePTE(pte, PTE(pa: page, flags: flags).rawValue)
            return true
        }
        try uvmunmap(pagetable, pageRoundDown(va), 1, doFree: false)
        let mapped = settings.cowFaultMap == .vaSize1
            ? try mappages(pagetable, va, 1, page, flags)
            : try mappages(pagetable, pageRoundDown(va), pageSize, page, flags)
        if !mapped { throw KernelPanic("uvmcowcopy: mappages") }
        return true
    }

    /// fork's uvmcopy under cow-lab: each of the parent's pages below `sz` is mapped into
    /// the child, the same frame, with the parent's flags after a page with W (or any page:
    /// cow_uvmcopy_marks) lost W and got COW in the parent's PTE, in place; then its count
    /// is raised. When mappages fails, what the child got is unmapped, each page's count
    /// dropped; the parent's pages stay COW. (cow-lab: `uvmcopy`)
    func uvmcopyShared(_ old: PhysAddr, _ new: PhysAddr, _ sz: UInt64) throws(KernelPanic) -> Bool {
        var i: UInt64 = 0
        while i < sz {
            guard let pte = try walkRemembered(old, i) else { throw KernelPanic("uvmcopy: pte should exist") }
            var e = PTE(rawValue: try kread(pte))
            if !e.isValid { throw KernelPanic("uvmcopy: page not present") }
            if settings.cowMarks == .everyPage || e.flags.contains(.write) {
                e = PTE(rawValue: (e.rawValue & ~PTE.Flags.write.rawValue) | PTE.Flags.cow.rawValue)
                try writePTE(pte, e.rawValue)
            }
            if settings.cowRefincBeforeMap { krefpage(e.pa) }
            if try !mappages(new, i, pageSize, e.pa, e.flags) {
                if settings.cowRefincBeforeMap { try kfree(e.pa) }
                try uvmunmap(new, 0, i / pageSize, doFree: true)
                return false
            }
            if !settings.cowRefincBeforeMap { krefpage(e.pa) }
            i &+= pageSize
        }
        return true
    }

    /// copyout's COW step for the page of `dstva`: if the check passes, the copy, whose
    /// result is ignored (when kalloc fails copyout writes into the shared page). The check
    /// and the copy use the current process's table and sz (cow_check_table: current), or
    /// the table copyout was given with the process's sz.
    func copyoutUnshare(_ given: PhysAddr, _ dstva: UInt64) throws(KernelPanic) {
        guard let p = slot(ofPid: curpid) else { return }
        let pagetable = settings.cowCheckTable == .current ? procs[p].pagetable : given
        if try uvmcheckcowpage(pagetable, procs[p].sz, dstva) { _ = try uvmcowcopy(pagetable, dstva) }
    }

    /// What usertrap makes of a page fault by slot `p` under cow-lab: a load or store fault
    /// on a COW page below sz is copied (`handled`, or `killed` when kalloc fails); any
    /// other is `unexpected`, as is every fault in a kernel without a lab's handler.
    /// lazy-lab's handler is `lazyPageFault`.
    func usertrapPageFault(_ p: Int, _ fault: Fault) throws(KernelPanic) -> PageFaultOutcome {
        guard settings.copyOnWrite || settings.lazyAllocation, fault.kind == .pageFault else { return .unexpected }
        emit(.pagefault(pid: procs[p].pid, scause: fault.scause, va: fault.va))
        if !settings.copyOnWrite { return try lazyPageFault(p, fault) }
        guard fault.access != .fetch else { return .unexpected }
        return try onBehalf(of: procs[p].pid) { () throws(KernelPanic) -> PageFaultOutcome in
            sites.push(.usertrap); defer { sites.pop() }
            guard try uvmcheckcowpage(procs[p].pagetable, procs[p].sz, fault.va.rawValue) else { return .unexpected }
            return try uvmcowcopy(procs[p].pagetable, fault.va.rawValue) ? .handled : .killed
        }
    }

    /// What usertrap did with a page fault.
    package enum PageFaultOutcome {
        /// The handler fixed the page: the process returns to user space and retries.
        case handled
        /// The handler could not (out of memory): the process is killed, silently.
        case killed
        /// No handler took it: "usertrap(): unexpected scause", and the process is killed.
        case unexpected
    }
}

/// What `walkRemembered` found last: under root `root`, for the 2 MiB region `region` (va >>
/// 21), the PTEs `upperPTE` at `upper` and `middlePTE` at `middle` led to the last-level table
/// `table`. The region UInt64.max (none: walk panics above MAXVA) matches no walk.
struct WalkMemo {
    var root: UInt64 = 0
    var region = UInt64.max
    var upper: UInt64 = 0
    var upperPTE: UInt64 = 0
    var middle: UInt64 = 0
    var middlePTE: UInt64 = 0
    var table: UInt64 = 0
    /// The memory's `watchEpoch` when the two upper PTEs were last read (0: never).
    var epoch: UInt64 = 0
}
