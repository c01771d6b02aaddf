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

/// xv6's `syscall.c`: a process traps in, the call it made runs, and it returns to user
/// space. The calls themselves live where xv6 keeps them (`exec.c`, `pipe.c`, `proc.c`),
/// but for `sys_sbrk` (`sysproc.c`), below.
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
        if tracing { emit(.syscall(pid: pid, call: call)) }
        return try onBehalf(of: pid) { () throws(KernelPanic) -> SyscallResult in
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
            if procs[p].killed {
                // usertrap's check after syscall(): a lazy copy found no memory.
                try exit(p, -1)
                running[h] = nil
                schedulerResumes(on: h)
                return .returned(value)
            }
            try usertrapret(p, on: h)
            return .returned(value)
        }
    }

    /// sbrk(n): returns the old size, or -1. seed-003 mirrors the change into the kernel
    /// table here, after growproc, with `int` loops. (xv6: `sys_sbrk`)
    func sys_sbrk(_ i: Int, _ n: Int32) throws(KernelPanic) -> Int64 {
        sites.push(.sys_sbrk); defer { sites.pop() }
        if settings.lazyAllocation { return try lazySbrk(i, n) }
        let addr = Int32(truncatingIfNeeded: procs[i].sz)
        if settings.sbrkPlicCheck && n > 0 && procs[i].sz &+ UInt64(n) >= MemLayout.plic { return -1 }
        if try growproc(i, n) < 0 { return -1 }
        if settings.perProcessKernelPagetable && settings.mirrorUserMappings == .walkCopy && settings.mirrorIn == .sysSbrk {
            // seed-003's loops use `int j`, sign-extended to a 64-bit va.
            let kpt = procs[i].kernelPagetable
            if n > 0 {
                var j = addr
                while j < addr &+ n {
                    let va = UInt64(bitPattern: Int64(j))
                    let pteU = try walk(procs[i].pagetable, va, alloc: false) ?? 0
                    let pteK = try walk(kpt, va, alloc: true) ?? 0
                    try writePTE(pteK, try kread(pteU) & ~mirrorCleared)
                    j &+= Int32(pageSize)
                }
            } else if settings.shrinkUnmapsMirror {
                var j = addr &- Int32(pageSize)
                while j >= addr &+ n {
                    try uvmunmap(kpt, UInt64(bitPattern: Int64(j)), 1, doFree: false)
                    j &-= Int32(pageSize)
                }
            }
        }
        return Int64(addr)
    }
}
