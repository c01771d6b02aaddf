import RISCV

/// A system call a process makes from user space.
public enum Syscall: Equatable, Sendable {
    case fork
    case exec(path: String, argv: [String], program: Program)
    /// sbrk(n): grow (or shrink) memory by `n` bytes.
    case sbrk(Int32)
    case exit(Int32)
    /// wait(0).
    case wait
    /// A call that makes the kernel copy `len` bytes in from user address `va` (as read() of a pipe's writer does).
    case copyin(va: UInt64, len: UInt64)
    /// A call that makes the kernel copy a string of at most `max` bytes in from `va` (as open()'s path).
    case copyinstr(va: UInt64, max: UInt64)
    /// A call that makes the kernel copy `len` bytes out to user address `va` (as fstat()).
    case copyout(va: UInt64, len: UInt64)
    /// pipe(): a new pipe, which holds one page until its last end is closed. `id` names it.
    case pipe(id: Int)
    /// close() of the last open end of pipe `id`: its page is freed.
    case close(pipe: Int)

    public var name: String {
        switch self {
        case .fork: return "fork"
        case .exec: return "exec"
        case .sbrk: return "sbrk"
        case .exit: return "exit"
        case .wait: return "wait"
        case .copyin: return "copyin"
        case .copyinstr: return "copyinstr"
        case .copyout: return "copyout"
        case .pipe: return "pipe"
        case .close: return "close"
        }
    }

    /// The arguments as a C call would show them.
    var arguments: String {
        switch self {
        case .fork, .wait: return ""
        case let .exec(path, argv, _): return "\"\(path)\", [" + argv.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        case let .sbrk(n): return "\(n)"
        case let .exit(status): return "\(status)"
        case let .copyin(va, len), let .copyout(va, len): return "\(hex16(va)), \(len)"
        case let .copyinstr(va, max): return "\(hex16(va)), \(max)"
        case let .pipe(id): return "pipe \(id)"
        case let .close(id): return "pipe \(id)"
        }
    }
}

/// How a system call ended.
public enum SyscallResult: Equatable, Sendable {
    /// The value returned to user space (exit never returns: 0 is reported).
    case returned(Int64)
    /// No live process has this pid (a fork that was expected to create it failed).
    case noSuchProcess
    /// The process is a zombie and cannot run.
    case notRunnable
    /// wait found children but no zombie: the real call would sleep.
    case wouldBlock
}

/// How a process gets to make a system call: the scheduler (`scheduler`, `swtch`),
/// the trampoline (`userret`, `uservec`) and `usertrapret`, with every satp write.
extension Kernel {
    /// Runs `call` as process `pid` on `hart`: schedules it there if it is not running,
    /// traps in through the trampoline, runs the call, and returns to user space
    /// (or, for exit, to the scheduler).
    public func syscall(pid: Int, hart: Int? = nil, _ call: Syscall) throws(KernelPanic) -> SyscallResult {
        guard let p = slot(ofPid: pid) else { return .noSuchProcess }
        guard procs[p].state == .runnable || procs[p].state == .running else { return .notRunnable }
        let h = hart ?? running.firstIndex(of: p) ?? 0
        cpu = h
        try schedule(p, on: h)
        try trapEnter(p, on: h, cause: .ecall)
        if tracing { emit(.syscall(pid: pid, name: call.name, args: call.arguments)) }
        curpid = pid
        defer { curpid = 0 }
        let value: Int64
        switch call {
        case .fork:
            value = Int64(try fork(p))
        case let .exec(path, argv, program):
            value = try sys_exec(p, path: path, argv: argv, program: program)
        case let .sbrk(n):
            value = try sys_sbrk(p, n)
        case let .exit(status):
            try exit(p, status)
            running[h] = nil
            schedulerResumes(on: h)
            return .returned(0)
        case let .copyin(va, len):
            let got = settings.copyin == .mmu ? try copyin_new(p, va, len) : try copyin(procs[p].pagetable, va, len)
            value = got == nil ? -1 : 0
        case let .copyinstr(va, max):
            let got = settings.copyin == .mmu ? try copyinstr_new(p, va, max) : try copyinstr(procs[p].pagetable, va, max)
            value = got == nil ? -1 : 0
        case let .copyout(va, len):
            let bytes = (0..<len).map { UInt8(truncatingIfNeeded: $0) }
            value = try copyout(procs[p].pagetable, va, bytes) ? 0 : -1
        case let .pipe(id):
            value = try sys_pipe(p, id: id)
        case let .close(id):
            value = try sys_close(p, pipe: id)
        case .wait:
            switch try wait(p) {
            case .reaped(let child): value = Int64(child)
            case .noChildren: value = -1
            case .wouldBlock:
                // The model does not sleep: the call is abandoned and the process goes back to user space.
                try usertrapret(p, on: h)
                return .wouldBlock
            }
        }
        emit(.sysret(pid: pid, name: call.name, value: value))
        try usertrapret(p, on: h)
        return .returned(value)
    }

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

    /// What a user-mode access did.
    public enum AccessResult: Equatable, Sendable {
        case ok(pa: UInt64)
        /// The access faulted; usertrap printed the fault and the process was killed (it exited with -1).
        case killed(Fault)
        case noSuchProcess
        case notRunnable
    }

    /// Process `pid` loads, stores or fetches at `va` in user mode, through the MMU and
    /// its user page table (setting A and D as QEMU does). A fault goes to usertrap,
    /// which prints it and kills the process: exit(-1).
    public func userAccess(pid: Int, va: UInt64, _ access: AccessType, hart: Int? = nil) throws(KernelPanic) -> AccessResult {
        guard let p = slot(ofPid: pid) else { return .noSuchProcess }
        guard procs[p].state == .runnable || procs[p].state == .running else { return .notRunnable }
        let h = hart ?? running.firstIndex(of: p) ?? 0
        cpu = h
        try schedule(p, on: h)
        noteTranslation(va, hart: h, "user \(access.rawValue)")
        switch MMU.translate(VirtAddr(va), access, mode: .user, hart: &harts[h], memory: memory) {
        case .success(let pa):
            emit(.access(pid: procs[p].pid, va: va, access: access, pa: pa.rawValue))
            return .ok(pa: pa.rawValue)
        case .failure(let fault):
            emit(.access(pid: procs[p].pid, va: va, access: access, pa: nil))
            try trapEnter(p, on: h, cause: .fault)
            emit(.console("usertrap(): unexpected scause \(hex16(fault.scause)) pid=\(procs[p].pid)"))
            emit(.console("            sepc=(not modelled) stval=\(fault.va)"))
            curpid = procs[p].pid
            defer { curpid = 0 }
            try exit(p, -1)
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
        try hardwareAccess(MemLayout.trampoline, .fetch, on: h)
        try hardwareAccess(MemLayout.trapframe, .store, on: h)
        let kernelSatp = try kread(trapframeField(p, TrapframeField.kernelSatp))
        writeSatp(hart: h, Satp(rawValue: kernelSatp), by: .trampoline)
        if settings.trampolineSfence { sfenceVMA(hart: h) }
        try hardwareAccess(MemLayout.trampoline, .fetch, on: h)
        try hardwareAccess(procs[p].kstack + pageSize - 8, .store, on: h)
    }

    /// usertrapret and userret: saves the kernel's satp, stack and hart id in the
    /// trapframe for the next trap, then the trampoline switches to the user page table
    /// and restores the user registers from TRAPFRAME.
    func usertrapret(_ p: Int, on h: Int) throws(KernelPanic) {
        try kwrite(trapframeField(p, TrapframeField.kernelSatp), harts[h].satp.rawValue)
        try kwrite(trapframeField(p, TrapframeField.kernelSp), procs[p].kstack + pageSize)
        try kwrite(trapframeField(p, TrapframeField.kernelHartid), UInt64(h))
        try hardwareAccess(MemLayout.trampoline, .fetch, on: h)
        writeSatp(hart: h, Satp(root: procs[p].pagetable), by: .trampoline)
        if settings.trampolineSfence { sfenceVMA(hart: h) }
        try hardwareAccess(MemLayout.trampoline, .fetch, on: h)
        try hardwareAccess(MemLayout.trapframe, .load, on: h)
    }

    /// An access the hardware makes on hart `h` in supervisor mode while running the trap
    /// path (the trampoline's fetches, its TRAPFRAME loads and stores, usertrap's stack):
    /// translated by the MMU only for its effect on the A and D bits and the TLB. A fault
    /// here is a kernel trap.
    func hardwareAccess(_ va: UInt64, _ access: AccessType, on h: Int) throws(KernelPanic) {
        noteTranslation(va, hart: h, "trap path \(access.rawValue)")
        if case .failure(let fault) = MMU.translate(VirtAddr(va), access, mode: .supervisor, hart: &harts[h], memory: memory) {
            throw kerneltrap(fault)
        }
    }
}
