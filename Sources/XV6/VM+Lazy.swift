import RISCV

/// The lazy-allocation lab (Miigon's `lazy` branch, 9397371): sbrk only moves `sz`, and a
/// page is allocated when user code (or copyin/copyout) first touches it; uvmunmap and
/// uvmcopy skip the pages never touched.
extension Kernel {
    /// sbrk(n) of the lazy lab: a shrink is unmapped at once (uvmdealloc from sz to
    /// sz + n, with uint64 arithmetic), then n is added to sz, which nothing bounds. The
    /// old sz, as an int. (lazy-lab: `sys_sbrk`)
    func lazySbrk(_ i: Int, _ n: Int32) throws(KernelPanic) -> Int64 {
        let addr = Int32(truncatingIfNeeded: procs[i].sz)
        let target = procs[i].sz &+ UInt64(bitPattern: Int64(n))
        if n < 0 { _ = try uvmdealloc(procs[i].pagetable, procs[i].sz, target) }
        procs[i].sz = target
        return Int64(addr)
    }

    /// Whether `va` is a page the process may touch into being: below sz, and with no
    /// valid PTE (no table on the way, or a PTE without V). The lab's comparison of the
    /// page with the kernel's stack pointer never holds for a user address and is left
    /// out. (lazy-lab: `uvmshouldtouch`, which reads the current process's table)
    func uvmshouldtouch(_ p: Int, _ va: UInt64) throws(KernelPanic) -> Bool {
        guard va < procs[p].sz else { return false }
        guard let pte = try walk(procs[p].pagetable, va, alloc: false) else { return true }
        return try kread(pte) & PTE.Flags.valid.rawValue == 0
    }

    /// Allocates, zeroes and maps (R, W, X, U) the page holding `va`; false, after printing
    /// why, when kalloc or mappages fails: the process is then to be killed.
    /// (lazy-lab: `uvmlazytouch`)
    func uvmlazytouch(_ p: Int, _ va: UInt64) throws(KernelPanic) -> Bool {
        sites.push(.uvmlazytouch); defer { sites.pop() }
        guard let mem = try kalloc() else {
            emit(.console("lazy alloc: out of memory"))
            return false
        }
        try kmemset(mem, 0)
        if try !mappages(procs[p].pagetable, pageRoundDown(va), pageSize, mem, [.write, .execute, .read, .user]) {
            emit(.console("lazy alloc: failed to map page"))
            try kfree(mem)
            return false
        }
        return true
    }

    /// copyin's and copyout's lazy step, on their first address only as the lab's code has
    /// it (or on each page: lazy_copy_check): the current process's page is made if it
    /// may be. False when that failed: the process is then marked killed and the copy fails.
    func lazyCopyTouch(_ va: UInt64) throws(KernelPanic) -> Bool {
        guard let p = slot(ofPid: curpid), try uvmshouldtouch(p, va) else { return true }
        if try uvmlazytouch(p, va) { return true }
        procs[p].killed = true
        return false
    }

    /// What usertrap makes of a page fault by slot `p` under lazy-lab: a load or store
    /// fault the check allows makes the page (`handled`; `killed` when memory runs out).
    func lazyPageFault(_ p: Int, _ fault: Fault) throws(KernelPanic) -> PageFaultOutcome {
        guard fault.access != .fetch, try uvmshouldtouch(p, fault.va.rawValue) else { return .unexpected }
        return try onBehalf(of: procs[p].pid) { () throws(KernelPanic) -> PageFaultOutcome in
            sites.push(.usertrap); defer { sites.pop() }
            return try uvmlazytouch(p, fault.va.rawValue) ? .handled : .killed
        }
    }
}
