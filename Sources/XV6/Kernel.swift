import RISCV

/// The configuration a kernel boots with.
public struct KernelConfig: Equatable, Sendable {
    /// The preset the settings started from (`xv6-2020`, `pgtbl-lab`, `seed-003`).
    public var variant: String = "xv6-2020"
    /// The kernel's design choices in force: the preset's, with any overrides.
    public var settings: KernelSettings = .xv6_2020
    public var image: KernelImage = .lab2020
    /// Harts the machine has (QEMU's `-smp`); each runs kvminithart at boot.
    public var harts: Int = 1
    /// Whether the model takes its speed tricks (`PhysicalMemory.fastPaths`): not a design
    /// choice of the kernel, and no scenario can set it. Traces are the same either way.
    public var fastPaths = true

    /// The variant's preset, on its own build's image unless `image` is given.
    public init(variant: String = "xv6-2020", image: KernelImage? = nil, harts: Int = 1) {
        self.variant = variant
        self.settings = KernelSettings.preset(named: variant) ?? .xv6_2020
        self.image = image ?? KernelSettings.image(named: variant) ?? .lab2020
        self.harts = harts
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
package enum PageOwner {
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
    /// The design choices in force; the kernel reads them through a record of what it read.
    public let settings: ConsultedSettings
    public let memory: PhysicalMemory
    /// Every hart as it is now (a copy).
    public var harts: [Hart] { hartTable.all }
    /// The harts themselves, reached in place.
    package let hartTable: Harts
    /// The process each hart is running, as a slot index.
    public package(set) var running: [Int?]
    public package(set) var procs: [Proc]
    /// The global kernel page table. (xv6: `kernel_pagetable`)
    public package(set) var kernelPagetable: PhysAddr = .zero
    /// The slot of the first process. (xv6: `initproc`)
    public package(set) var initproc: Int?
    package var nextpid = 1
    /// Head of the free list, whose links live in the free pages themselves. (xv6: `kmem.freelist`)
    package var freelist: UInt64 = 0

    public let sites: SiteTree
    /// Held strongly: no sink holds its kernel, and a weak load at every event was a twentieth
    /// of a traced run.
    public var sink: TraceSink? { didSet { sinkForEvents = sink.map(Unmanaged.passUnretained) } }
    /// The same sink, unretained (`sink` holds it), as each event reaches it.
    private var sinkForEvents: Unmanaged<TraceSink>?
    public package(set) var counters = Counters()
    public package(set) var findings: [Finding] = []
    /// Pages on the free list, counted beside it (the list itself is in simulated memory).
    public package(set) var freePages = 0
    /// For each page of RAM: the allocation site that holds it, or a `PageOwner` value.
    var owner: [Int32]
    /// For each allocated page: the pid and the event tag of its allocation.
    var ownerPid: [Int32]
    var ownerEvent: [Int32]
    /// cow-lab: the reference count of each page of RAM, indexed from KERNBASE as the lab's
    /// array is (-1 for a free page, 0 for the image's, 1 for a page kalloc handed out);
    /// empty in other variants. (cow-lab: `pageref`)
    public package(set) var refcount: PerPage<Int32>
    /// A tag the simulation sets before each event; allocations record it.
    public var eventTag: Int32 = 0
    /// kalloc calls so far, boot included (failed ones too).
    public package(set) var kallocCalls = 0
    /// Failure injection from a scenario event: the kalloc call with this number returns 0.
    public var failNextKalloc = 0
    /// The kalloc that failure injection made fail: its number, site, pid and event.
    public package(set) var injectedFailure: (call: Int, site: Int32, pid: Int, event: Int32)?
    /// Roots of kernel page tables being built (the lab's kvminit_newpgtbl): held only by the
    /// kernel's stack until allocproc stores them, which a panic in the middle never does.
    var building: [PhysAddr] = []
    /// The page each open pipe holds, by the pipe's id (a scenario's name for it).
    var pipes: [Int: PhysAddr] = [:]
    /// Names of page-table roots, for traces.
    var tableNames = TableNames()
    /// The process on whose behalf the kernel is running (0: none): what kalloc and kfree do
    /// is charged to it in traces and leak reports. Only `onBehalf(of:_:)` sets it.
    private(set) var curpid = 0
    /// The hart the kernel is running on. (xv6: `cpuid()`)
    public package(set) var cpu = 0
    /// Translations made after a satp write without sfence.vma, for the invariant check.
    var staleTranslations: [String] = []
    /// Harts whose current unflushed satp write has already been noted.
    var staleNoted: Set<Int> = []
    /// Where the last kernel access through the MMU went.
    var lastKernelPA: UInt64 = 0
    /// The last-level table `walkRemembered` last found, and the upper PTEs that led to it.
    var walkMemo = WalkMemo()
    /// The same for mappages' walks of one page (`walkToMapPage`).
    var mapMemo = WalkMemo()

    /// Builds the machine and runs the boot path of `main()` on hart 0 (see `boot`).
    /// `userinit` is the scenario's first event.
    public convenience init(config: KernelConfig, sink: TraceSink? = nil, sites: SiteTree = SiteTree()) throws(KernelPanic) {
        self.init(unbooted: config, sink: sink, sites: sites)
        try boot()
    }

    /// The machine at reset, with the kernel loaded but not yet run: `boot` runs it. A
    /// kernel whose boot panicked can still be inspected (which kalloc failed, and where).
    public init(unbooted config: KernelConfig, sink: TraceSink? = nil, sites: SiteTree = SiteTree()) {
        self.config = config
        self.settings = ConsultedSettings(config.settings)
        self.sink = sink
        sinkForEvents = sink.map(Unmanaged.passUnretained)
        self.sites = sites
        memory = PhysicalMemory(base: PhysAddr(MemLayout.kernbase), end: PhysAddr(config.image.phystop), fastPaths: config.fastPaths)
        hartTable = Harts((0..<config.harts).map { Hart(id: $0) })
        running = Array(repeating: nil, count: config.harts)
        procs = Array(repeating: Proc(), count: Param.nproc)
        owner = Array(repeating: PageOwner.boot, count: memory.pageCount)
        ownerPid = Array(repeating: 0, count: memory.pageCount)
        ownerEvent = Array(repeating: 0, count: memory.pageCount)
        refcount = PerPage(repeating: 0, count: config.settings.copyOnWrite ? memory.pageCount : 0)
    }

    /// The boot path of `main()` on hart 0: kinit, kvminit, kvminithart, procinit.
    public func boot() throws(KernelPanic) {
        sites.push(.boot); defer { sites.pop() }
        try kinit()
        try kvminit()
        kvminithart(hart: 0)
        try procinit()
    }

    /// A copy of `k` as it is between two events: the machine (memory shared page by page
    /// until written, harts and their TLBs), the allocator, the process table, the sites and
    /// every counter. Every stored property of the kernel is copied here.
    private init(copying k: Kernel, settings: KernelSettings, sink: TraceSink?, sites: SiteTree) {
        var config = k.config
        config.settings = settings
        self.config = config
        self.settings = ConsultedSettings(settings, read: k.settings.read)
        memory = k.memory.snapshot()
        hartTable = Harts(k.harts.map { h in
            var h = h
            h.tlb = h.tlb.compacted()
            return h
        })
        running = k.running
        procs = k.procs
        kernelPagetable = k.kernelPagetable
        initproc = k.initproc
        nextpid = k.nextpid
        freelist = k.freelist
        self.sites = sites
        self.sink = sink
        sinkForEvents = sink.map(Unmanaged.passUnretained)
        counters = k.counters
        findings = k.findings
        freePages = k.freePages
        owner = k.owner
        ownerPid = k.ownerPid
        ownerEvent = k.ownerEvent
        refcount = settings.copyOnWrite == k.settings.values.copyOnWrite ? k.refcount.copy()
            : PerPage(repeating: 0, count: settings.copyOnWrite ? k.memory.pageCount : 0)
        eventTag = k.eventTag
        kallocCalls = k.kallocCalls
        failNextKalloc = k.failNextKalloc
        injectedFailure = k.injectedFailure
        building = k.building
        pipes = k.pipes
        tableNames = k.tableNames
        curpid = k.curpid
        cpu = k.cpu
        staleTranslations = k.staleTranslations
        staleNoted = k.staleNoted
        lastKernelPA = k.lastKernelPA
        walkMemo = k.walkMemo
        mapMemo = k.mapMemo
    }

    /// A copy of this kernel that goes on from here on its own, between two events: what
    /// either does next does not show in the other. `settings` replaces the settings from
    /// here on (a sweep sets `failKalloc`); the copy traces into `sink` with `sites` (a copy
    /// of this kernel's sites by default). It costs about what the kernel holds outside its
    /// pages (1 MiB for 128 MiB of RAM): pages are shared until one side writes them.
    public func snapshot(settings: KernelSettings? = nil, sink: TraceSink? = nil, sites: SiteTree? = nil) -> Kernel {
        Kernel(copying: self, settings: settings ?? self.settings.values, sink: sink, sites: sites ?? self.sites.copy())
    }

    /// Runs `body` on behalf of process `pid`, the one the caller was handed (as xv6 code
    /// is handed a `struct proc *`): the pages it allocates and frees are charged to `pid`.
    /// The process charged before is charged again after.
    func onBehalf<T>(of pid: Int, _ body: () throws(KernelPanic) -> T) throws(KernelPanic) -> T {
        let outer = curpid
        curpid = pid
        defer { curpid = outer }
        return try body()
    }

    @inline(__always) func emit(_ e: @autoclosure () -> TraceEvent) {
        if let s = sinkForEvents { s._withUnsafeGuaranteedRef { $0.record(e()) } }
    }

    @inline(__always) var tracing: Bool { sink != nil }

    func name(of root: PhysAddr) -> TableRef { tableNames[root] ?? .unknown }

    @inline(__always) func pageIndex(_ pa: UInt64) -> Int { Int(truncatingIfNeeded: (pa &- MemLayout.kernbase) >> pageShift) }
    @inline(__always) func pageIndex(_ pa: PhysAddr) -> Int { pageIndex(pa.rawValue) }

    // MARK: the kernel's own loads and stores

    /// Whether `va` lies in the direct map of RAM above the kernel text, which every
    /// kernel page table of every variant maps read-write with va == pa.
    @inline(__always) func directMapped(_ va: UInt64, _ length: UInt64) -> Bool {
        va >= image.etext && va < image.phystop && length <= image.phystop - va
    }

    /// A load by kernel code from virtual address `va` (8-byte aligned). RAM above etext is
    /// reached through the direct map; any other address goes through the MMU with the
    /// hart's satp, as on the real machine (in a per-process kernel table, low addresses
    /// are user memory). A fault is a kernel trap: `panic: kerneltrap`.
    @inline(__always) func kread(_ va: UInt64) throws(KernelPanic) -> UInt64 {
        if directMapped(va, 8) { return memory.read64(PhysAddr(va)) }
        guard let pa = try kernelTranslate(va, .load) else { return 0 }
        return memory.read64(pa)
    }

    /// A store by kernel code to virtual address `va` (see `kread`).
    @inline(__always) func kwrite(_ va: UInt64, _ value: UInt64) throws(KernelPanic) {
        if directMapped(va, 8) { memory.write64(PhysAddr(va), value); return }
        guard let pa = try kernelTranslate(va, .store) else { return }
        memory.write64(pa, value)
    }

    /// A byte load by kernel code.
    func kreadByte(_ va: UInt64) throws(KernelPanic) -> UInt8 {
        if directMapped(va, 1) { return memory.readByte(PhysAddr(va)) }
        guard let pa = try kernelTranslate(va, .load) else { return 0 }
        return memory.readByte(pa)
    }

    /// A byte store by kernel code.
    func kwriteByte(_ va: UInt64, _ value: UInt8) throws(KernelPanic) {
        if directMapped(va, 1) { memory.writeByte(PhysAddr(va), value); return }
        guard let pa = try kernelTranslate(va, .store) else { return }
        memory.writeByte(pa, value)
    }

    /// memmove(va, bytes, n) by kernel code.
    func kstore(_ va: UInt64, _ bytes: ArraySlice<UInt8>) throws(KernelPanic) {
        if directMapped(va, UInt64(bytes.count)) { memory.write(PhysAddr(va), bytes); return }
        var a = va
        for b in bytes { try kwriteByte(a, b); a &+= 1 }
    }

    /// memmove(buf, va, count) by kernel code.
    func kload(_ va: UInt64, _ count: Int) throws(KernelPanic) -> [UInt8] {
        if directMapped(va, UInt64(count)) { return memory.read(PhysAddr(va), count: count) }
        var out: [UInt8] = []
        for i in 0..<count { out.append(try kreadByte(va &+ UInt64(i))) }
        return out
    }

    /// memset(va, byte, PGSIZE) by kernel code.
    func kmemset(_ va: UInt64, _ byte: UInt8) throws(KernelPanic) {
        if va % pageSize == 0 && directMapped(va, pageSize) {
            memory.fillPage(PhysAddr(va), byte: byte)
            return
        }
        let word = UInt64(byte) &* 0x0101_0101_0101_0101
        var off: UInt64 = 0
        while off < pageSize { try kwrite(va &+ off, word); off += 8 }
    }

    /// memset(pa, byte, PGSIZE) of a page of RAM by kernel code, through the direct map
    /// (a page kalloc handed out; the null page when a kalloc went unchecked).
    func kmemset(_ page: PhysAddr, _ byte: UInt8) throws(KernelPanic) { try kmemset(page.rawValue, byte) }

    /// Translates a kernel access outside the direct map through the MMU of the current
    /// hart: the physical address, or nil for device memory (which the model reads as
    /// zero and whose stores it drops).
    func kernelTranslate(_ va: UInt64, _ access: AccessType) throws(KernelPanic) -> PhysAddr? {
        noteTranslation(va, hart: cpu, "kernel \(access.rawValue)")
        switch MMU.translate(VirtAddr(va), access, mode: .supervisor, hart: &hartTable[cpu], memory: memory) {
        case .success(let pa):
            lastKernelPA = pa.rawValue
            return memory.contains(pa) ? pa : nil
        case .failure(let fault):
            throw kerneltrap(fault)
        }
    }

    /// What kerneltrap() prints for a fault, then its panic. sepc is not modelled.
    func kerneltrap(_ fault: Fault) -> KernelPanic {
        KernelPanic("kerneltrap", preamble: ["scause \(hex16(fault.scause))", "sepc=(not modelled) stval=\(fault.va)"])
    }

    func kerneltrap(_ access: AccessType, _ va: UInt64) -> KernelPanic {
        kerneltrap(Fault(kind: .pageFault, access: access, va: VirtAddr(va)))
    }

    // MARK: inspection (never allocates)

    /// The slot of the live (not UNUSED) process with `pid`.
    public func slot(ofPid pid: Int) -> Int? {
        // By index, field by field: `firstIndex` with a closure copied each Proc (its name
        // retained and released), four copies a user access in the cow lab's cowtest.
        for i in procs.indices where procs[i].pid == pid && procs[i].state != .unused { return i }
        return nil
    }

    /// The allocation site holding the page at `pa`, or nil when it is free or never allocated.
    public func allocationSite(of pa: UInt64) -> Int32? {
        guard memory.contains(PhysAddr(pa)) else { return nil }
        let o = owner[pageIndex(pa)]
        return o >= 0 ? o : nil
    }

    /// Pids handed out so far.
    public var processesCreated: Int { nextpid - 1 }

    /// Pages that were handed out by kalloc and not freed.
    public var allocatedPages: Int { owner.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }
}
