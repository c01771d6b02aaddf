import RISCV

/// A process's scheduling state. xv6 2020 has no USED state: a slot stays UNUSED
/// from allocproc until fork or userinit makes it RUNNABLE.
public enum ProcState: String, Sendable {
    case unused, sleeping, runnable, running, zombie
}

/// One slot of the process table. (xv6: `struct proc`)
public struct Proc: Sendable {
    public package(set) var state: ProcState = .unused
    public package(set) var pid = 0
    /// The parent's slot.
    public package(set) var parent: Int?
    /// Virtual address of the kernel stack.
    public package(set) var kstack: UInt64 = 0
    /// Bytes of user memory.
    public package(set) var sz: UInt64 = 0
    public package(set) var pagetable: PhysAddr = .zero
    /// The process's own kernel page table (the page-table lab; zero in the stock kernel).
    public package(set) var kernelPagetable: PhysAddr = .zero
    /// Physical address of the trapframe page (the kernel reaches it through the direct map).
    public package(set) var trapframe: PhysAddr = .zero
    public package(set) var name = ""
    public package(set) var xstate: Int32 = 0
    /// Marked to die: it exits with -1 when its system call returns. (xv6: `killed`)
    public package(set) var killed = false
}

/// Byte offsets of `struct trapframe` fields the model writes.
package enum TrapframeField {
    static let kernelSatp: UInt64 = 0
    static let kernelSp: UInt64 = 8
    static let kernelHartid: UInt64 = 32
    static let a0: UInt64 = 112
    /// sizeof(struct trapframe): 36 registers of 8 bytes.
    static let size: UInt64 = 288
}

/// xv6's `proc.c`.
extension Kernel {
    /// Allocates and maps a kernel stack for every slot, then reloads satp. (xv6: `procinit`)
    func procinit() throws(KernelPanic) {
        sites.push(.procinit); defer { sites.pop() }
        // With per-process kernel tables, allocproc maps each process's stack instead.
        let shared = settings.perProcessKernelPagetable && settings.processKernelTable == .shareRoot
        for i in 0..<Param.nproc where !settings.perProcessKernelPagetable || shared {
            guard let pa = try kalloc() else { throw KernelPanic("kalloc") }
            let va = MemLayout.kstack(i)
            try kvmmap(va, pa, pageSize, [.read, .write])
            procs[i].kstack = va
        }
        kvminithart(hart: 0)
    }

    /// The kernel address of the field at `offset` in slot `i`'s trapframe, which the kernel
    /// reaches through the direct map: `&p->trapframe->field`.
    func trapframeField(_ i: Int, _ offset: UInt64) -> UInt64 { procs[i].trapframe.rawValue &+ offset }

    func allocpid() -> Int {
        defer { nextpid += 1 }
        return nextpid
    }

    /// Finds an UNUSED slot and gives it a pid, a trapframe and an empty user table.
    /// Nil when no slot is free or memory runs out. (xv6: `allocproc`)
    func allocproc() throws(KernelPanic) -> Int? {
        sites.push(.allocproc); defer { sites.pop() }
        guard let i = procs.firstIndex(where: { $0.state == .unused }) else { return nil }
        procs[i].pid = allocpid()
        emit(.allocproc(pid: procs[i].pid, slot: i))
        // What allocproc allocates is the new process's.
        return try onBehalf(of: procs[i].pid) { () throws(KernelPanic) -> Int? in
            guard let tf = try kalloc() else { return nil }
            procs[i].trapframe = tf
            let lab = settings.perProcessKernelPagetable
            if lab && settings.kernelTableBeforeUserTable { try allocKernelPagetable(i) }
            guard let pt = try proc_pagetable(i) else {
                try freeproc(i)
                return nil
            }
            procs[i].pagetable = pt
            if lab && !settings.kernelTableBeforeUserTable { try allocKernelPagetable(i) }
            return i
        }
    }

    /// The lab's part of allocproc: the process's kernel table and its kernel stack at KSTACK(0).
    func allocKernelPagetable(_ i: Int) throws(KernelPanic) {
        if settings.processKernelTable == .shareRoot { return try kvmcreate(i) }
        let kpt = try processKernelTable(i)
        procs[i].kernelPagetable = kpt
        tableNames[kpt] = .procKernel(pid: procs[i].pid)
        guard let pa = try kalloc() else { throw KernelPanic("kalloc") }
        let va = MemLayout.kstack(settings.kstackAtSlot ? i : 0)
        if settings.kstackInGlobalTable { try kvmmap(va, pa, pageSize, [.read, .write]) }
        switch settings.kstackMapping {
        case .kvmmap:
            sites.push(.kvmmap); defer { sites.pop() }
            if try !mappages(kpt, va, pageSize, pa, [.read, .write]) { throw KernelPanic("kvmmap") }
        case .mappages:
            _ = try mappages(kpt, va, pageSize, pa, [.read, .write])
        case .mappagesSwapped:
            _ = try mappages(kpt, va, pa.rawValue, PhysAddr(pageSize), [.read, .write])
        }
        procs[i].kstack = va
    }

    /// A kernel table for slot `i`: devices, kernel, trampoline, and, where the settings say,
    /// its trapframe at TRAPFRAME (unchecked).
    func processKernelTable(_ i: Int) throws(KernelPanic) -> PhysAddr {
        let kpt = try kvminit_newpgtbl(clint: settings.clintInProcessTable, for: .procKernel(pid: procs[i].pid))
        if settings.processTableMapsTrapframe { _ = try mappages(kpt, MemLayout.trapframe, pageSize, procs[i].trapframe, [.read, .write]) }
        return kpt
    }

    /// Frees a slot's trapframe and user memory and marks it UNUSED. (xv6: `freeproc`)
    func freeproc(_ i: Int) throws(KernelPanic) {
        sites.push(.freeproc); defer { sites.pop() }
        emit(.freeproc(pid: procs[i].pid, slot: i))
        // What freeproc frees was the freed process's.
        try onBehalf(of: procs[i].pid != 0 ? procs[i].pid : curpid) { () throws(KernelPanic) in
            if procs[i].trapframe != .zero { try kfree(procs[i].trapframe) }
            procs[i].trapframe = .zero
            let lab = settings.perProcessKernelPagetable
            if lab && settings.kernelTableFreedFirst { try freeKernelSide(i) }
            if procs[i].pagetable != .zero { try proc_freepagetable(procs[i].pagetable, procs[i].sz) }
            if lab && !settings.kernelTableFreedFirst { try freeKernelSide(i) }
            procs[i].pagetable = .zero
            procs[i].sz = 0
            procs[i].pid = 0
            procs[i].parent = nil
            procs[i].name = ""
            procs[i].xstate = 0
            procs[i].killed = false
        }
        procs[i].state = .unused
    }

    /// The lab's part of freeproc: slot `i`'s kernel stack and kernel table, the way the
    /// settings say.
    func freeKernelSide(_ i: Int) throws(KernelPanic) {
        switch settings.freeKernelPagetable {
        case .unmapThenFreewalk, .unmapAllThenFreewalk:
            guard procs[i].kernelPagetable != .zero else { return }
            try proc_free_kernel_pagetable(procs[i].kernelPagetable, mirror: settings.freeKernelPagetable == .unmapAllThenFreewalk ? procs[i].sz : nil,
                                           kstack: procs[i].kstack != 0 ? procs[i].kstack : MemLayout.kstack(0))
            forgetKernelPagetable(i)
        case .procFreepagetable:
            if settings.freeKernelStack { try freeKernelStack(i) }
            if procs[i].kernelPagetable != .zero { try proc_freepagetable(procs[i].kernelPagetable, 0) }
            forgetKernelPagetable(i)
        case .recursive, .rootOnly, .none:
            let shared = settings.processKernelTable == .shareRoot
            if settings.freeKernelStack && !shared { try freeKernelStack(i) }
            let kpt = procs[i].kernelPagetable
            switch settings.freeKernelPagetable {
            case .recursive where shared: try kvmfree(kpt)
            case .recursive: try kvm_free_kernelpgtbl(kpt)
            case .rootOnly: try kfree(kpt)
            default: break
            }
            if tableNames[kpt] == .procKernel(pid: procs[i].pid) { tableNames[kpt] = nil }
            procs[i].kernelPagetable = .zero
        }
    }

    /// freeproc's free of slot `i`'s kernel stack page, the way the settings say.
    func freeKernelStack(_ i: Int) throws(KernelPanic) {
        if settings.kstackInGlobalTable && procs[i].kstack != 0 { try uvmunmap(kernelPagetable, procs[i].kstack, 1, doFree: false) }
        switch settings.kstackFree {
        case .kfree: try kfree(try kvmpa(procs[i].kernelPagetable, procs[i].kstack))
        case .uvmunmap: try uvmunmap(procs[i].kernelPagetable, procs[i].kstack, 1, doFree: true)
        }
        procs[i].kstack = 0
    }

    func forgetKernelPagetable(_ i: Int) {
        tableNames[procs[i].kernelPagetable] = nil
        procs[i].kernelPagetable = .zero
    }

    /// A user page table with only the trampoline and the slot's trapframe mapped,
    /// or nil when memory runs out. (xv6: `proc_pagetable`)
    func proc_pagetable(_ i: Int) throws(KernelPanic) -> PhysAddr? {
        sites.push(.proc_pagetable); defer { sites.pop() }
        guard let pagetable = try uvmcreate() else { return nil }
        tableNames[pagetable] = .user(pid: procs[i].pid)
        if try !mappages(pagetable, MemLayout.trampoline, pageSize, PhysAddr(image.trampoline), [.read, .execute]) {
            try uvmfree(pagetable, 0)
            tableNames[pagetable] = nil
            return nil
        }
        if try !mappages(pagetable, MemLayout.trapframe, pageSize, procs[i].trapframe, [.read, .write]) {
            try uvmunmap(pagetable, MemLayout.trampoline, 1, doFree: false)
            try uvmfree(pagetable, 0)
            tableNames[pagetable] = nil
            return nil
        }
        return pagetable
    }

    /// Unmaps the trampoline and trapframe, then frees the user memory and the table.
    /// (xv6: `proc_freepagetable`)
    func proc_freepagetable(_ pagetable: PhysAddr, _ sz: UInt64) throws(KernelPanic) {
        sites.push(.proc_freepagetable); defer { sites.pop() }
        try uvmunmap(pagetable, MemLayout.trampoline, 1, doFree: false)
        try uvmunmap(pagetable, MemLayout.trapframe, 1, doFree: false)
        try uvmfree(pagetable, sz)
        tableNames[pagetable] = nil
    }

    /// Sets up the first process: one page holding initcode at address 0, then
    /// brings up the other harts, which each load the kernel table. (xv6: `userinit`,
    /// and the end of `main`)
    public func userinit() throws(KernelPanic) -> Int {
        sites.push(.userinit); defer { sites.pop() }
        // userinit does not check allocproc: with no process it loads p->pagetable
        // (offset 0x50 of struct proc) from a null pointer, which the kernel table does not map.
        guard let i = try allocproc() else { throw kerneltrap(.load, 0x50) }
        initproc = i
        return try onBehalf(of: procs[i].pid) { () throws(KernelPanic) -> Int in
            try uvminit(procs[i].pagetable, Self.initcodeSize, mirror: uvmMirror(i))
            procs[i].sz = pageSize
            procs[i].name = "initcode"
            procs[i].state = .runnable
            _ = try mirrorUser(i, from: 0, size: procs[i].sz)
            for h in 1..<max(1, hartTable.count) { kvminithart(hart: h) }
            return procs[i].pid
        }
    }

    /// The kernel table uvminit, uvmalloc and uvmcopy mirror slot `i`'s pages into, or zero
    /// where they mirror nothing.
    func uvmMirror(_ i: Int) -> PhysAddr {
        let inUvm = settings.mirrorUserMappings == .inUvm || settings.mirrorUserMappings == .inUvmRead
        return settings.perProcessKernelPagetable && inUvm ? procs[i].kernelPagetable : .zero
    }

    /// sizeof(initcode) in the 2020 kernel.
    static let initcodeSize: UInt64 = 52

    /// Grows or shrinks the user memory of slot `i` by `n` bytes, with xv6's 32-bit
    /// `uint sz` arithmetic. 0 on success, -1 on failure. (xv6: `growproc`)
    func growproc(_ i: Int, _ n: Int32) throws(KernelPanic) -> Int32 {
        sites.push(.growproc); defer { sites.pop() }
        var sz = UInt32(truncatingIfNeeded: procs[i].sz)
        let target = UInt64(sz &+ UInt32(bitPattern: n))
        let kvmSync = settings.perProcessKernelPagetable && settings.mirrorUserMappings == .kvmcopymappings
        let walkCopiesHere = settings.perProcessKernelPagetable && settings.mirrorUserMappings == .walkCopy && settings.mirrorIn == .growproc
        if settings.growprocPlicCheck && n > 0 && UInt64(sz) + UInt64(n) >= MemLayout.plic { return -1 }
        if n > 0 {
            let newsz = try uvmalloc(procs[i].pagetable, UInt64(sz), target, mirror: uvmMirror(i))
            if newsz == 0 { return -1 }
            if kvmSync {
                let ok = try kvmcopymappings(procs[i].pagetable, procs[i].kernelPagetable, UInt64(sz), UInt64(n))
                if !ok {
                    _ = try uvmdealloc(procs[i].pagetable, newsz, UInt64(sz))
                    return -1
                }
            }
            if walkCopiesHere { try walkCopy(procs[i].pagetable, procs[i].kernelPagetable, from: procs[i].sz, below: newsz) }
            sz = UInt32(truncatingIfNeeded: newsz)
        } else if n < 0 {
            // A read-only in-uvm mirror is shrunk first, inside uvmdealloc.
            if uvmMirror(i) != .zero && settings.mirrorUserMappings == .inUvmRead && settings.shrinkUnmapsMirror { _ = try kvmdealloc(procs[i].kernelPagetable, UInt64(sz), target) }
            var newsz = try uvmdealloc(procs[i].pagetable, UInt64(sz), target)
            if kvmSync { newsz = try kvmdealloc(procs[i].kernelPagetable, UInt64(sz), target) }
            // uvmdealloc_nofree of the kernel table; growproc keeps uvmdealloc's size.
            if uvmMirror(i) != .zero && settings.mirrorUserMappings == .inUvm && settings.shrinkUnmapsMirror { _ = try kvmdealloc(procs[i].kernelPagetable, UInt64(sz), target) }
            sz = UInt32(truncatingIfNeeded: newsz)
        }
        procs[i].sz = UInt64(sz)
        return 0
    }

    /// Creates a child of slot `p` with a copy of its memory. The child's pid, or -1
    /// when no slot is free or memory runs out. (xv6: `fork`)
    func fork(_ p: Int) throws(KernelPanic) -> Int {
        sites.push(.fork); defer { sites.pop() }
        guard let np = try allocproc() else { return -1 }
        // What fork allocates from here on is the child's.
        return try onBehalf(of: procs[np].pid) { () throws(KernelPanic) -> Int in
            var copied = try uvmcopy(procs[p].pagetable, procs[np].pagetable, procs[p].sz, mirror: uvmMirror(np))
            if copied && settings.perProcessKernelPagetable && settings.mirrorUserMappings == .kvmcopymappings {
                copied = try kvmcopymappings(procs[np].pagetable, procs[np].kernelPagetable, 0, procs[p].sz)
            }
            if !copied {
                try freeproc(np)
                return -1
            }
            if settings.perProcessKernelPagetable && settings.mirrorUserMappings == .walkCopy {
                try walkCopy(procs[np].pagetable, procs[np].kernelPagetable, from: 0, below: procs[p].sz)
            }
            procs[np].sz = procs[p].sz
            procs[np].parent = p
            var off: UInt64 = 0
            while off < TrapframeField.size {
                try kwrite(trapframeField(np, off), try kread(trapframeField(p, off)))
                off += 8
            }
            try kwrite(trapframeField(np, TrapframeField.a0), 0)
            procs[np].name = procs[p].name
            procs[np].state = .runnable
            return procs[np].pid
        }
    }

    /// Hands slot `p`'s children to init. (xv6: `reparent`)
    func reparent(_ p: Int) {
        for c in procs.indices where procs[c].parent == p {
            procs[c].parent = initproc
            emit(.reparent(pid: procs[c].pid, to: initproc.map { procs[$0].pid } ?? 0))
        }
    }

    /// Slot `p` exits with `status` and becomes a zombie until its parent waits;
    /// its memory stays allocated until then. (xv6: `exit`)
    func exit(_ p: Int, _ status: Int32) throws(KernelPanic) {
        sites.push(.exit); defer { sites.pop() }
        if p == initproc { throw KernelPanic("init exiting") }
        reparent(p)
        procs[p].xstate = status
        procs[p].state = .zombie
        emit(.zombie(pid: procs[p].pid, status: status))
    }

    /// What `wait` found.
    public enum WaitResult: Equatable, Sendable {
        /// Reaped the zombie child with this pid.
        case reaped(pid: Int)
        /// No children: wait returns -1.
        case noChildren
        /// Children, none a zombie: the real wait would sleep.
        case wouldBlock
    }

    /// Reaps the first zombie child of slot `p` in table order, freeing it. (xv6: `wait`)
    func wait(_ p: Int) throws(KernelPanic) -> WaitResult {
        sites.push(.wait); defer { sites.pop() }
        var havekids = false
        for c in procs.indices where procs[c].parent == p {
            havekids = true
            if procs[c].state == .zombie {
                let pid = procs[c].pid
                try freeproc(c)
                return .reaped(pid: pid)
            }
        }
        return havekids ? .wouldBlock : .noChildren
    }
}

/// xv6's scheduler, `swtch` and `yield` (`proc.c`), as far as memory goes: which process
/// each hart runs, and every satp write and sfence.vma on the way.
extension Kernel {
    /// Makes slot `p` the process running in user space on hart `h`. A process running
    /// there is preempted by a timer interrupt and yields; the scheduler then switches
    /// to `p` (loading its kernel table, in the lab), which returns to user space from
    /// forkret or from its own yield.
    func schedule(_ p: Int, on h: Int) throws(KernelPanic) {
        if running[h] == p { return }
        if let q = running[h] { try preempt(q, on: h) }
        if let other = running.firstIndex(of: p) { try preempt(p, on: other) }
        emit(.scheduled(hart: h, pid: procs[p].pid))
        if settings.perProcessKernelPagetable {
            writeSatp(hart: h, Satp(root: procs[p].kernelPagetable), by: .scheduler)
            if settings.schedulerSfence { sfenceVMA(hart: h) }
        }
        procs[p].state = .running
        running[h] = p
        try usertrapret(p, on: h)
    }

    /// A timer interrupt takes slot `q` into the kernel on hart `h` and it yields the CPU.
    func preempt(_ q: Int, on h: Int) throws(KernelPanic) {
        let saved = cpu
        cpu = h
        defer { cpu = saved }
        try trapEnter(q, on: h, cause: .timer)
        procs[q].state = .runnable
        running[h] = nil
        schedulerResumes(on: h)
    }

    /// The scheduler gets the CPU back from a process (swtch returns): the lab reloads
    /// the global kernel table.
    func schedulerResumes(on h: Int) {
        if settings.perProcessKernelPagetable && settings.schedulerSwitchBack { kvminithart(hart: h) }
    }

    /// Process `pid` gives up the CPU and the scheduler picks it again with nothing run in
    /// between: it slept (on the disk, the console) or found nothing to reap. The lab's
    /// scheduler then loads the global table and the process's own table again. A process
    /// not running is simply scheduled.
    public func yield(pid: Int) throws(KernelPanic) -> SyscallResult {
        guard let p = slot(ofPid: pid) else { return .noSuchProcess }
        guard procs[p].state == .runnable || procs[p].state == .running else { return .notRunnable }
        let h = running.firstIndex(of: p) ?? 0
        cpu = h
        if running[h] == p { try preempt(p, on: h) }
        try schedule(p, on: h)
        return .returned(0)
    }

    /// Process `pid` gives up the CPU inside a system call (it sleeps on the disk, the console,
    /// a child) and the scheduler finds nothing else to run: under the lab it loads the global
    /// table again. A later event of the process schedules it again.
    public func sleep(pid: Int) throws(KernelPanic) -> SyscallResult {
        guard let p = slot(ofPid: pid) else { return .noSuchProcess }
        guard procs[p].state == .runnable || procs[p].state == .running else { return .notRunnable }
        guard let h = running.firstIndex(of: p) else { return .returned(0) }
        cpu = h
        try trapEnter(p, on: h, cause: .ecall)
        procs[p].state = .runnable
        running[h] = nil
        schedulerResumes(on: h)
        return .returned(0)
    }

    /// Runs process `pid` on hart `h` without a system call: the scheduler picks it.
    public func run(pid: Int, hart h: Int) throws(KernelPanic) -> SyscallResult {
        guard let p = slot(ofPid: pid) else { return .noSuchProcess }
        guard procs[p].state == .runnable || procs[p].state == .running else { return .notRunnable }
        cpu = h
        try schedule(p, on: h)
        return .returned(0)
    }
}
