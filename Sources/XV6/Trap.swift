import RISCV

/// xv6's `trap.c` and `trampoline.S`, as far as memory goes: a process enters the kernel
/// (`uservec`, `usertrap`) and returns to user space (`usertrapret`, `userret`), each step
/// an access through the MMU or a satp write; and a user-mode access that faults kills
/// the process.
extension Kernel {
    /// What a user-mode access did.
    public enum AccessResult: Equatable, Sendable {
        case ok(pa: UInt64)
        /// The access faulted, usertrap's handler (cow-lab) made the page writable, and the
        /// access, made again on the return to user space, went to `pa`.
        case handled(Fault, pa: UInt64)
        /// The access faulted; usertrap printed the fault (or, for a COW fault that found no
        /// memory, said nothing) and the process was killed (it exited with -1).
        case killed(Fault)
        case noSuchProcess
        case notRunnable
    }

    /// Process `pid` loads, stores or fetches at `va` in user mode, through the MMU and
    /// its user page table (setting A and D as QEMU does). A fault goes to usertrap: under
    /// cow-lab its handler may copy the page, and the access is made again; else usertrap
    /// prints the fault and kills the process: exit(-1).
    public func userAccess(pid: Int, va: UInt64, _ access: AccessType, hart: Int? = nil) throws(KernelPanic) -> AccessResult {
        guard let p = slot(ofPid: pid) else { return .noSuchProcess }
        guard procs[p].state == .runnable || procs[p].state == .running else { return .notRunnable }
        let h = hart ?? running.firstIndex(of: p) ?? 0
        cpu = h
        try schedule(p, on: h)
        return try userAccessOnHart(p, h, va, access)
    }

    /// `userAccess` of `count` addresses from `va`, `stride` bytes apart, one after another
    /// until one is neither `ok` nor `handled`: that one's result and address, or nil. After
    /// an access that is `ok` or `handled` the process is still in its slot and running on
    /// the same hart, so the next one goes straight to the MMU, without looking the process
    /// up and scheduling it again (which would change nothing): a `touch` of 20,000 pages.
    public func userAccesses(pid: Int, va: UInt64, _ access: AccessType, count: Int,
                             stride: UInt64) throws(KernelPanic) -> (result: AccessResult, va: UInt64)? {
        if count <= 0 { return nil }
        let first = try userAccess(pid: pid, va: va, access)
        switch first {
        case .ok, .handled: break
        default: return (first, va)
        }
        let p = slot(ofPid: pid)!, h = cpu
        var a = va
        for _ in 1..<count {
            a = a &+ stride
            let r = try userAccessOnHart(p, h, a, access)
            if case .killed = r { return (r, a) }
        }
        return nil
    }

    /// Slot `p`, running on hart `h`, accesses `va` in user mode (see `userAccess`). An access
    /// that translates is all here, inlined into `touch`'s loop; a fault goes to `userFault`.
    @inline(__always) private func userAccessOnHart(_ p: Int, _ h: Int, _ va: UInt64, _ access: AccessType) throws(KernelPanic) -> AccessResult {
        noteTranslation(va, hart: h, "user \(access.rawValue)")
        switch MMU.translate(VirtAddr(va), access, mode: .user, hart: &hartTable[h], memory: memory) {
        case .success(let pa):
            emit(.access(pid: procs[p].pid, va: VirtAddr(va), access: access, pa: pa))
            return .ok(pa: pa.rawValue)
        case .failure(let fault):
            return try userFault(p, h, va, access, fault)
        }
    }

    /// The user-mode access of slot `p` at `va` has faulted: usertrap, and the access made
    /// again on the return to user space if the handler made the page writable.
    @inline(never) private func userFault(_ p: Int, _ h: Int, _ va: UInt64, _ access: AccessType,
                                          _ first: Fault) throws(KernelPanic) -> AccessResult {
        var fault = first
        var handled: Fault?
        while true {
            emit(.access(pid: procs[p].pid, va: VirtAddr(va), access: access, pa: nil))
            try trapEnter(p, on: h, cause: .fault)
            // The handler clears COW: a second fault at the same place is never handled.
            let outcome = handled == nil ? try usertrapPageFault(p, fault) : .unexpected
            if outcome == .handled {
                try usertrapret(p, on: h)
                handled = fault
                noteTranslation(va, hart: h, "user \(access.rawValue)")
                switch MMU.translate(VirtAddr(va), access, mode: .user, hart: &hartTable[h], memory: memory) {
                case .success(let pa):
                    emit(.access(pid: procs[p].pid, va: VirtAddr(va), access: access, pa: pa))
                    return .handled(fault, pa: pa.rawValue)
                case .failure(let again):
                    fault = again
                    continue
                }
            }
            if outcome == .unexpected {
                emit(.console("usertrap(): unexpected scause \(hex16(fault.scause)) pid=\(procs[p].pid)"))
                emit(.console("            sepc=(not modelled) stval=\(fault.va)"))
            }
            try onBehalf(of: procs[p].pid) { () throws(KernelPanic) in try exit(p, -1) }
            running[h] = nil
            schedulerResumes(on: h)
            return .killed(fault)
        }
    }

    /// uservec: the trampoline, fetched through the user page table, saves the user
    /// registers in TRAPFRAME, loads the kernel page table saved there, and jumps to
    /// usertrap, which runs on the kernel stack. Each of those accesses goes through
    /// the MMU, which sets the PTEs' Accessed (and Dirty) bits as QEMU does.
    func trapEnter(_ p: Int, on h: Int, cause: TrapCause) throws(KernelPanic) {
        emit(.trap(hart: h, pid: procs[p].pid, cause: cause))
        try hardwareAccesses(MemLayout.trampoline, .fetch, MemLayout.trapframe, .store, on: h)
        let kernelSatp = try kread(trapframeField(p, TrapframeField.kernelSatp))
        writeSatp(hart: h, Satp(rawValue: kernelSatp), by: .trampoline)
        if settings.trampolineSfence { sfenceVMA(hart: h) }
        try hardwareAccesses(MemLayout.trampoline, .fetch, procs[p].kstack + pageSize - 8, .store, on: h)
    }

    /// usertrapret and userret: saves the kernel's satp, stack and hart id in the
    /// trapframe for the next trap, then the trampoline switches to the user page table
    /// and restores the user registers from TRAPFRAME.
    func usertrapret(_ p: Int, on h: Int) throws(KernelPanic) {
        try kwrite(trapframeField(p, TrapframeField.kernelSatp), hartTable[h].satp.rawValue)
        try kwrite(trapframeField(p, TrapframeField.kernelSp), procs[p].kstack + pageSize)
        try kwrite(trapframeField(p, TrapframeField.kernelHartid), UInt64(h))
        try hardwareAccess(MemLayout.trampoline, .fetch, on: h)
        writeSatp(hart: h, Satp(root: procs[p].pagetable), by: .trampoline)
        if settings.trampolineSfence { sfenceVMA(hart: h) }
        try hardwareAccesses(MemLayout.trampoline, .fetch, MemLayout.trapframe, .load, on: h)
    }

    /// An access the hardware makes on hart `h` in supervisor mode while running the trap
    /// path (the trampoline's fetches, its TRAPFRAME loads and stores, usertrap's stack):
    /// translated by the MMU only for its effect on the A and D bits and the TLB. A fault
    /// here is a kernel trap.
    /// Two of the trap path's accesses, one after the other (see `hardwareAccess`), in one call
    /// to the MMU. Only the first is noted: a stale translation is noted once a satp write,
    /// and translating changes no satp, so a note of the second would do nothing.
    @inline(__always) func hardwareAccesses(_ va: UInt64, _ access: AccessType, _ va2: UInt64, _ access2: AccessType,
                                            on h: Int) throws(KernelPanic) {
        noteTranslation(va, hart: h, "trap path \(access.rawValue)")
        if let fault = MMU.translateTrapPath(VirtAddr(va), access, then: VirtAddr(va2), access2, hart: &hartTable[h], memory: memory) {
            throw kerneltrap(fault)
        }
    }

    @inline(__always) func hardwareAccess(_ va: UInt64, _ access: AccessType, on h: Int) throws(KernelPanic) {
        noteTranslation(va, hart: h, "trap path \(access.rawValue)")
        if let fault = MMU.translateTrapPath(VirtAddr(va), access, hart: &hartTable[h], memory: memory) {
            throw kerneltrap(fault)
        }
    }
}
