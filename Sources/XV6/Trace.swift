import RISCV

/// Which page table a root address belongs to, for traces a student can read.
public enum TableRef: Equatable, Sendable, CustomStringConvertible {
    /// The global kernel page table. (xv6: `kernel_pagetable`)
    case kernel
    /// A process's user page table.
    case user(pid: Int)
    /// A process's own kernel page table (the page-table lab).
    case procKernel(pid: Int)
    /// A page table the kernel does not know (a freed or corrupt root).
    case unknown

    public var description: String {
        switch self {
        case .kernel: return "kernel"
        case .user(let pid): return "user:\(pid)"
        case .procKernel(let pid): return "kernel:\(pid)"
        case .unknown: return "?"
        }
    }
}

/// Which code wrote satp: the probes of a real kernel name the first two.
public enum SatpWriter: String, Sendable {
    /// `kvminithart`: the global kernel table (boot, and the lab's scheduler switching back).
    case kvminithart
    /// The lab's scheduler loading a process's own kernel table before `swtch`.
    case scheduler
    /// exec loading the fresh kernel table it built (exec_kernel_table=fresh-first): no probe prints it.
    case exec
    /// The trampoline, into and out of user space (assembly: no probe can print it).
    case trampoline
}

/// Why the hart left user space.
public enum TrapCause: String, Sendable {
    /// A system call.
    case ecall
    /// A timer interrupt: the scheduler preempts the running process.
    case timer
    /// An exception in user mode (a page fault).
    case fault
}

/// One observable step of the kernel or the hardware. The kernel never prints:
/// it hands these to a `TraceSink`, and the simulation decides how to write them.
/// `pid` 0 means no process (the kernel at boot).
public enum TraceEvent: Equatable, Sendable {
    /// kinit put `pages` pages of [start, end) on the free list.
    case kinit(start: PhysAddr, end: PhysAddr, pages: Int)
    case kalloc(pa: PhysAddr, site: Int32, pid: Int)
    /// kalloc found the free list empty and returned 0.
    case kallocFailed(site: Int32, pid: Int)
    case kfree(pa: PhysAddr, site: Int32, pid: Int)
    /// One call of mappages.
    case mappages(table: TableRef, root: PhysAddr, va: VirtAddr, size: UInt64, pa: PhysAddr, perm: PTE.Flags)
    /// One call of freewalk (recursive calls included), at its top: `pt` is the table page it frees.
    case freewalk(pt: PhysAddr)
    /// One call of the lab's recursive free of a per-process kernel table, at its top.
    case kvmFreeKernelPagetable(pt: PhysAddr)
    /// exec reached its commit point with the new image of `sz` bytes. Like `execFailed`,
    /// it marks a place a real kernel's probe prints; traces do not show it.
    case execCommitted(pid: Int, path: String, sz: UInt64)
    /// exec itself returned -1 (not sys_exec failing before it could call exec).
    case execFailed(pid: Int, path: String)
    /// One call of uvmunmap.
    case uvmunmap(table: TableRef, root: PhysAddr, va: VirtAddr, npages: UInt64, free: Bool)
    case satp(hart: Int, value: Satp, table: TableRef, by: SatpWriter)
    case sfence(hart: Int)
    case trap(hart: Int, pid: Int, cause: TrapCause)
    /// The scheduler on `hart` switched to process `pid`.
    case scheduled(hart: Int, pid: Int)
    case allocproc(pid: Int, slot: Int)
    case freeproc(pid: Int, slot: Int)
    /// A system call made by `pid`, with its arguments.
    case syscall(pid: Int, call: Syscall)
    /// The value a system call returned to `pid`.
    case sysret(pid: Int, name: String, value: Int64)
    /// `pid` became a zombie with exit status `status`.
    case zombie(pid: Int, status: Int32)
    /// `pid` was handed to init by its exiting parent.
    case reparent(pid: Int, to: Int)
    /// cow-lab: usertrap was entered for a page fault (scause 12, 13 or 15) by `pid` at
    /// `va`, before its handler decides anything (the lab probe's place).
    case pagefault(pid: Int, scause: UInt64, va: VirtAddr)
    /// cow-lab: the reference count of the page at `pa` was raised to `count` (uvmcopy).
    case refinc(pa: PhysAddr, count: Int32, pid: Int)
    /// cow-lab: the count of `pa` was lowered to `count`, still above zero (a kfree of a
    /// shared page, a COW copy); a drop to zero is the `kfree` that frees it.
    case refdec(pa: PhysAddr, count: Int32, pid: Int)
    /// A user-mode access through the MMU and where it went (nil: it faulted).
    case access(pid: Int, va: VirtAddr, access: AccessType, pa: PhysAddr?)
    /// A load by kernel code through the MMU (copyin_new), the first in each page: where
    /// it went and whether the TLB served it.
    case kload(hart: Int, va: VirtAddr, pa: PhysAddr, tlbHit: Bool)
    /// A line the kernel printed on its console (vmprint).
    case console(String)
    case finding(Finding)
    case panic(KernelPanic)
}

/// Receives the kernel's trace events in order. A class to subclass, not a protocol: the
/// kernel, which holds its sink, reaches it at each event without retaining and releasing
/// it (an existential was retained and released at every event: two atomic operations,
/// a tenth of a traced run's model thread).
open class TraceSink {
    public init() {}

    /// One event; a subclass overrides it (this one drops it).
    open func record(_ event: TraceEvent) {}
}
