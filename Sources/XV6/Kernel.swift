import RISCV

/// The configuration a kernel boots with.
public struct KernelConfig: Equatable, Sendable {
    /// The kernel variant's name. The foundation models the stock 2020 kernel only.
    public var variant: String = "xv6-2020"
    public var image: KernelImage = .lab2020
    /// Harts the machine has (QEMU's `-smp`); each runs kvminithart at boot.
    public var harts: Int = 1

    public init(variant: String = "xv6-2020", image: KernelImage = .lab2020, harts: Int = 1) {
        self.variant = variant; self.image = image; self.harts = harts
    }
}

/// Counts of the work the machine did, for benchmarks and summaries.
public struct Counters: Equatable, Sendable {
    public var kallocs = 0
    public var kfrees = 0
    public var pteWrites = 0
    public var satpWrites = 0
    public init() {}
}

/// Per-page shadow state the kernel keeps beside the free list, to catch what xv6 cannot.
enum PageOwner {
    /// Never freed into the allocator: the kernel image, or before kinit.
    static let boot: Int32 = -2
    /// On the free list.
    static let free: Int32 = -1
}

/// The xv6 kernel running on a RISC-V machine: physical memory, harts, the
/// allocator's free list, the process table and the global kernel page table.
/// Its operations keep xv6's names and live in files named after xv6's.
public final class Kernel {
    public let config: KernelConfig
    public var image: KernelImage { config.image }
    public let memory: PhysicalMemory
    public internal(set) var harts: [Hart]
    /// The process each hart is running, as a slot index.
    public internal(set) var running: [Int?]
    public internal(set) var procs: [Proc]
    /// The global kernel page table. (xv6: `kernel_pagetable`)
    public internal(set) var kernelPagetable: PhysAddr = .zero
    /// The slot of the first process. (xv6: `initproc`)
    public internal(set) var initproc: Int?
    var nextpid = 1
    /// Head of the free list, whose links live in the free pages themselves. (xv6: `kmem.freelist`)
    var freelist: UInt64 = 0

    public let sites: SiteTree
    public weak var sink: TraceSink?
    public internal(set) var counters = Counters()
    public internal(set) var findings: [Finding] = []
    /// Pages on the free list, counted beside it (the list itself is in simulated memory).
    public internal(set) var freePages = 0
    /// For each page of RAM: the allocation site that holds it, or a `PageOwner` value.
    var owner: [Int32]
    /// Names of page-table roots, for traces.
    var tableNames: [UInt64: TableRef] = [:]
    /// The process on whose behalf the kernel is running (0: none).
    var curpid = 0

    /// Builds the machine and runs the boot path of `main()` on hart 0: kinit, kvminit,
    /// kvminithart, procinit. `userinit` is the scenario's first event.
    public init(config: KernelConfig, sink: TraceSink? = nil, sites: SiteTree = SiteTree()) throws(KernelPanic) {
        self.config = config
        self.sink = sink
        self.sites = sites
        memory = PhysicalMemory(base: PhysAddr(MemLayout.kernbase), end: PhysAddr(config.image.phystop))
        harts = (0..<config.harts).map { Hart(id: $0) }
        running = Array(repeating: nil, count: config.harts)
        procs = Array(repeating: Proc(), count: Param.nproc)
        owner = Array(repeating: PageOwner.boot, count: memory.pageCount)
        sites.push(.boot); defer { sites.pop() }
        try kinit()
        try kvminit()
        kvminithart(hart: 0)
        try procinit()
    }

    @inline(__always) func emit(_ e: @autoclosure () -> TraceEvent) {
        if let s = sink { s.record(e()) }
    }

    @inline(__always) var tracing: Bool { sink != nil }

    func name(of root: PhysAddr) -> TableRef { tableNames[root.rawValue] ?? .unknown }

    @inline(__always) func pageIndex(_ pa: UInt64) -> Int { Int(truncatingIfNeeded: (pa &- MemLayout.kernbase) >> pageShift) }

    // MARK: the kernel's own loads and stores, through its direct map

    /// A load by kernel code from physical address `pa` (the direct map makes va == pa).
    /// Outside RAM the real kernel takes a page fault in supervisor mode: `panic: kerneltrap`.
    @inline(__always) func kread(_ pa: UInt64) throws(KernelPanic) -> UInt64 {
        guard memory.contains(PhysAddr(pa), length: 8) else { throw kerneltrap(.load, pa) }
        return memory.read64(PhysAddr(pa))
    }

    /// A store by kernel code to `pa`; the kernel text is mapped read-only.
    @inline(__always) func kwrite(_ pa: UInt64, _ value: UInt64) throws(KernelPanic) {
        guard memory.contains(PhysAddr(pa), length: 8), pa >= image.etext else { throw kerneltrap(.store, pa) }
        memory.write64(PhysAddr(pa), value)
    }

    /// memset(pa, byte, PGSIZE) by kernel code.
    func kmemset(_ pa: UInt64, _ byte: UInt8) throws(KernelPanic) {
        guard pa % pageSize == 0, memory.contains(PhysAddr(pa), length: pageSize), pa >= image.etext else {
            throw kerneltrap(.store, pa)
        }
        memory.fillPage(PhysAddr(pa), byte: byte)
    }

    /// What kerneltrap() prints for a page fault at `va`, then its panic. sepc is not modelled.
    func kerneltrap(_ access: AccessType, _ va: UInt64) -> KernelPanic {
        let fault = Fault(kind: .pageFault, access: access, va: va)
        return KernelPanic("kerneltrap", preamble: ["scause \(hex16(fault.scause))", "sepc=(not modelled) stval=\(hex16(va))"])
    }

    // MARK: inspection (never allocates)

    /// The slot of the live (not UNUSED) process with `pid`.
    public func slot(ofPid pid: Int) -> Int? {
        procs.firstIndex { $0.state != .unused && $0.pid == pid }
    }

    /// The allocation site holding the page at `pa`, or nil when it is free or never allocated.
    public func allocationSite(of pa: UInt64) -> Int32? {
        guard memory.contains(PhysAddr(pa)) else { return nil }
        let o = owner[pageIndex(pa)]
        return o >= 0 ? o : nil
    }

    /// Pages that were handed out by kalloc and not freed.
    public var allocatedPages: Int { owner.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }
}
