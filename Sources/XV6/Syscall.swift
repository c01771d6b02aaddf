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

    public var name: String {
        switch self {
        case .fork: return "fork"
        case .exec: return "exec"
        case .sbrk: return "sbrk"
        case .exit: return "exit"
        case .wait: return "wait"
        }
    }

    /// The arguments as a C call would show them.
    var arguments: String {
        switch self {
        case .fork, .wait: return ""
        case let .exec(path, argv, _): return "\"\(path)\", [" + argv.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        case let .sbrk(n): return "\(n)"
        case let .exit(status): return "\(status)"
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
    public func syscall(pid: Int, hart h: Int = 0, _ call: Syscall) throws(KernelPanic) -> SyscallResult {
        guard let p = slot(ofPid: pid) else { return .noSuchProcess }
        guard procs[p].state == .runnable || procs[p].state == .running else { return .notRunnable }
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
            let addr = Int32(truncatingIfNeeded: procs[p].sz)
            value = try growproc(p, n) < 0 ? -1 : Int64(addr)
        case let .exit(status):
            try exit(p, status)
            running[h] = nil
            return .returned(0)
        case .wait:
            switch try wait(p) {
            case .reaped(let child): value = Int64(child)
            case .noChildren: value = -1
            case .wouldBlock: return .wouldBlock
            }
        }
        emit(.sysret(pid: pid, name: call.name, value: value))
        try usertrapret(p, on: h)
        return .returned(value)
    }

    /// Makes slot `p` the process running in user space on hart `h`. A process running
    /// there is preempted by a timer interrupt and yields; the scheduler then switches
    /// to `p`, which returns to user space from forkret or from its own yield.
    func schedule(_ p: Int, on h: Int) throws(KernelPanic) {
        if running[h] == p { return }
        if let q = running[h] { try preempt(q, on: h) }
        if let other = running.firstIndex(of: p) { try preempt(p, on: other) }
        emit(.scheduled(hart: h, pid: procs[p].pid))
        procs[p].state = .running
        procs[p].neverRan = false
        running[h] = p
        try usertrapret(p, on: h)
    }

    /// A timer interrupt takes slot `q` into the kernel on hart `h` and it yields the CPU.
    func preempt(_ q: Int, on h: Int) throws(KernelPanic) {
        try trapEnter(q, on: h, cause: .timer)
        procs[q].state = .runnable
        running[h] = nil
    }

    /// uservec: the trampoline loads the kernel page table saved in the trapframe.
    func trapEnter(_ p: Int, on h: Int, cause: TrapCause) throws(KernelPanic) {
        emit(.trap(hart: h, pid: procs[p].pid, cause: cause))
        let kernelSatp = try kread(procs[p].trapframe + TrapframeField.kernelSatp)
        writeSatp(hart: h, Satp(rawValue: kernelSatp))
        sfenceVMA(hart: h)
    }

    /// usertrapret and userret: saves the kernel's satp, stack and hart id in the
    /// trapframe for the next trap, then switches to the user page table.
    func usertrapret(_ p: Int, on h: Int) throws(KernelPanic) {
        let tf = procs[p].trapframe
        try kwrite(tf + TrapframeField.kernelSatp, harts[h].satp.rawValue)
        try kwrite(tf + TrapframeField.kernelSp, procs[p].kstack + pageSize)
        try kwrite(tf + TrapframeField.kernelHartid, UInt64(h))
        writeSatp(hart: h, Satp(root: procs[p].pagetable))
        sfenceVMA(hart: h)
    }
}
