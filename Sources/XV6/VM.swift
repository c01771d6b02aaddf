import RISCV

/// xv6's `vm.c`: the kernel's software view of Sv39 page tables. These functions
/// read and write PTEs in simulated physical memory; they never use the MMU.
extension Kernel {
    // MARK: the kernel page table

    /// Builds the global direct-map kernel page table. (xv6: `kvminit`) With per-process
    /// kernel tables it is built like theirs, then gets CLINT, which only boot needs.
    func kvminit() throws(KernelPanic) {
        sites.push(.kvminit); defer { sites.pop() }
        if settings.perProcessKernelPagetable && settings.kernelTableLayout == .clintLast {
            kernelPagetable = try kvminit_newpgtbl(clint: settings.clintInProcessTable, for: .kernel)
            tableNames[kernelPagetable] = .kernel
            if !settings.clintInProcessTable { try kvmmap(MemLayout.clint, PhysAddr(MemLayout.clint), MemLayout.clintSize, [.read, .write]) }
            return
        }
        kernelPagetable = try kalloc() ?? .zero
        try kmemset(kernelPagetable, 0)
        tableNames[kernelPagetable] = .kernel
        let clint = !settings.perProcessKernelPagetable || settings.kernelTableLayout != .noClint
        for m in kernelMappings(clint: clint) { try kvmmap(m.va, m.pa, m.size, m.perm) }
    }

    /// What every kernel page table maps, in the order xv6 maps it: the devices (CLINT
    /// only if `clint`), the kernel's text and data as a direct map, and the trampoline.
    func kernelMappings(clint: Bool) -> [(va: UInt64, pa: PhysAddr, size: UInt64, perm: PTE.Flags)] {
        var m: [(va: UInt64, pa: PhysAddr, size: UInt64, perm: PTE.Flags)] = []
        func direct(_ va: UInt64, _ size: UInt64, _ perm: PTE.Flags) { m.append((va, PhysAddr(va), size, perm)) }
        direct(MemLayout.uart0, pageSize, [.read, .write])
        direct(MemLayout.virtio0, pageSize, [.read, .write])
        if clint { direct(MemLayout.clint, MemLayout.clintSize, [.read, .write]) }
        direct(MemLayout.plic, MemLayout.plicSize, [.read, .write])
        direct(MemLayout.kernbase, image.etext - MemLayout.kernbase, [.read, .execute])
        direct(image.etext, image.phystop - image.etext, [.read, .write])
        m.append((MemLayout.trampoline, PhysAddr(image.trampoline), pageSize, [.read, .execute]))
        return m
    }

    /// Writes the global kernel table into `hart`'s satp and flushes its TLB. (xv6: `kvminithart`)
    public func kvminithart(hart: Int) {
        writeSatp(hart: hart, Satp(root: kernelPagetable), by: .kvminithart)
        sfenceVMA(hart: hart)
    }

    /// Adds a mapping to the global kernel table; only used when booting. (xv6: `kvmmap`)
    func kvmmap(_ va: UInt64, _ pa: PhysAddr, _ sz: UInt64, _ perm: PTE.Flags) throws(KernelPanic) {
        sites.push(.kvmmap); defer { sites.pop() }
        if try !mappages(kernelPagetable, va, sz, pa, perm) { throw KernelPanic("kvmmap") }
    }

    /// Translates a kernel virtual address through the global table. (xv6: `kvmpa`)
    public func kvmpa(_ va: UInt64) throws(KernelPanic) -> PhysAddr { try kvmpa(kernelPagetable, va) }

    /// Translates `va` through the kernel table `pgtbl`. (pgtbl-lab: `kvmpa(pagetable, va)`)
    public func kvmpa(_ pgtbl: PhysAddr, _ va: UInt64) throws(KernelPanic) -> PhysAddr {
        sites.push(.kvmpa); defer { sites.pop() }
        guard let pte = try walk(pgtbl, va, alloc: false) else { throw KernelPanic("kvmpa") }
        let e = PTE(rawValue: try kread(pte))
        if !e.isValid { throw KernelPanic("kvmpa") }
        return e.pa + va % pageSize
    }

    // MARK: walking and mapping

    /// The address of the PTE for `va`, creating table pages on the way if `alloc`;
    /// nil if a table is missing and `alloc` is false or kalloc fails. (xv6: `walk`)
    public func walk(_ pagetable: PhysAddr, _ va: UInt64, alloc: Bool) throws(KernelPanic) -> UInt64? {
        if va >= Sv39.maxVA { throw KernelPanic("walk") }
        var table = pagetable
        for level in stride(from: 2, to: 0, by: -1) {
            let pteAddr = pteAddress(table, Sv39.px(level, va))
            let pte = PTE(rawValue: try kread(pteAddr))
            if pte.isValid {
                table = pte.pa
            } else {
                if !alloc { return nil }
                sites.push(.walk)
                let page = try kalloc()
                sites.pop()
                guard let page else { return nil }
                try kmemset(page, 0)
                try writePTE(pteAddr, PTE(pa: page, flags: .valid).rawValue)
                table = page
            }
        }
        return pteAddress(table, Sv39.px(0, va))
    }

    /// The kernel address of entry `i` of the table page at `table`, which the kernel
    /// reaches through the direct map: `&pagetable[i]`.
    @inline(__always) func pteAddress(_ table: PhysAddr, _ i: Int) -> UInt64 { table.rawValue &+ UInt64(i) * Sv39.pteSize }

    /// The physical page `va` maps to in a user table, or 0 if it is unmapped or
    /// not PTE_U. (xv6: `walkaddr`)
    public func walkaddr(_ pagetable: PhysAddr, _ va: UInt64) throws(KernelPanic) -> UInt64 {
        if va >= Sv39.maxVA { return 0 }
        guard let pte = try walk(pagetable, va, alloc: false) else { return 0 }
        let e = PTE(rawValue: try kread(pte))
        if !e.isValid || !e.flags.contains(.user) { return 0 }
        return e.pa.rawValue
    }

    /// Maps [va, va+size) to [pa, ...) with `perm`; va and size need not be page
    /// aligned. False if walk could not allocate a table page. (xv6: `mappages`)
    public func mappages(_ pagetable: PhysAddr, _ va: UInt64, _ size: UInt64, _ pa: PhysAddr,
                         _ perm: PTE.Flags) throws(KernelPanic) -> Bool {
        sites.push(.mappages); defer { sites.pop() }
        emit(.mappages(table: name(of: pagetable), root: pagetable, va: VirtAddr(va), size: size, pa: pa, perm: perm))
        var a = pageRoundDown(va)
        let last = pageRoundDown(va &+ size &- 1)
        // One page (sbrk's, fork's and the COW fault's, one mappages each): the loop's one turn,
        // written out (writeLeaves writes one PTE as any PTE).
        if a == last && memory.fastPaths {
            guard let pte = try walkToMapPage(pagetable, a) else { return false }
            if try kread(pte) & PTE.Flags.valid.rawValue != 0 { throw KernelPanic("remap") }
            try writePTE(pte, PTE(pa: pa, flags: perm.union(.valid)).rawValue)
            return true
        }
        var pa = pa
        while true {
            guard let pte = try size <= pageSize && memory.fastPaths ? walkToMapPage(pagetable, a)
                    : walk(pagetable, a, alloc: true) else { return false }
            // Every page from `a` to `last` that the same last-level table maps may be written at once.
            let end = a <= last && a >> 21 == last >> 21 ? Sv39.px(0, last) : Sv39.entriesPerTable - 1
            let n = try writeLeaves(at: pte, upTo: end - Sv39.px(0, a) + 1, first: PTE(pa: pa, flags: perm.union(.valid)))
            if a &+ UInt64(n - 1) * pageSize == last { break }
            a &+= UInt64(n) * pageSize
            pa = pa + UInt64(n) * pageSize
        }
        return true
    }

    /// Writes the leaf PTE `first` at `pte`; with the fast paths on and the table in the
    /// direct map, also those of the pages after it into the next entries, `count` in all
    /// (walk would return the same last-level table for each of them: nothing changes the
    /// upper levels in between). Panics "remap" at an entry that is already valid. Returns
    /// how many it wrote; 1 sends mappages back to walk for the next page.
    private func writeLeaves(at pte: UInt64, upTo count: Int, first: PTE) throws(KernelPanic) -> Int {
        let table = pageRoundDown(pte)
        // One PTE (sbrk's, fork's and the COW fault's pages, one mappages each) is written as
        // any PTE: the run costs more than the word.
        if count > 1 && memory.fastPaths && directMapped(table, pageSize) {
            let n = memory.writePTEs(PhysAddr(table), at: Sv39.index(ofPTEAt: pte), count: count, first: first.rawValue, step: 1 << 10)
            counters.pteWrites += n
            if n < count { throw KernelPanic("remap") }
            return n
        }
        if try kread(pte) & PTE.Flags.valid.rawValue != 0 { throw KernelPanic("remap") }
        try writePTE(pte, first.rawValue)
        return 1
    }

    @inline(__always) func writePTE(_ at: UInt64, _ value: UInt64) throws(KernelPanic) {
        counters.pteWrites += 1
        try kwrite(at, value)
    }

    /// Removes `npages` mappings starting at the page-aligned `va`, which must exist;
    /// frees the physical pages if `doFree`. (xv6: `uvmunmap`)
    public func uvmunmap(_ pagetable: PhysAddr, _ va: UInt64, _ npages: UInt64, doFree: Bool) throws(KernelPanic) {
        sites.push(.uvmunmap); defer { sites.pop() }
        if va % pageSize != 0 { throw KernelPanic("uvmunmap: not aligned") }
        emit(.uvmunmap(table: name(of: pagetable), root: pagetable, va: VirtAddr(va), npages: npages, free: doFree))
        let lazy = settings.lazyAllocation
        var a = va
        var region = UInt64.max
        var base: UInt64 = 0
        while a < va &+ npages &* pageSize {
            // With the fast paths on, one walk per 2 MiB region finds the last-level table (see writeLeaves).
            let pte: UInt64
            if memory.fastPaths && a >> 21 == region {
                pte = base &+ UInt64(Sv39.px(0, a)) * Sv39.pteSize
            } else {
                // One page under cow-lab (the COW fault's): the walk its handler has just made, remembered.
                guard let p = try npages == 1 && settings.copyOnWrite ? walkRemembered(pagetable, a)
                        : walk(pagetable, a, alloc: false) else {
                    // lazy-lab: a page never touched has no table on the way.
                    if lazy { a &+= pageSize; continue }
                    throw KernelPanic("uvmunmap: walk")
                }
                pte = p
                region = a >> 21
                base = p &- UInt64(Sv39.px(0, a)) * Sv39.pteSize
            }
            let e = try kread(pte)
            if e & PTE.Flags.valid.rawValue == 0 {
                if lazy { a &+= pageSize; continue }
                throw KernelPanic("uvmunmap: not mapped")
            }
            if e & 0x3ff == PTE.Flags.valid.rawValue { throw KernelPanic("uvmunmap: not a leaf") }
            if settings.copyOnWrite && settings.cowCountDrop == .uvmunmap { krefdrop(PTE(rawValue: e).pa) }
            if doFree { try kfree(PTE(rawValue: e).pa) }
            try writePTE(pte, 0)
            a &+= pageSize
        }
    }

    // MARK: user page tables

    /// An empty user page table, or nil when out of memory. (xv6: `uvmcreate`)
    package func uvmcreate() throws(KernelPanic) -> PhysAddr? {
        sites.push(.uvmcreate); defer { sites.pop() }
        guard let page = try kalloc() else { return nil }
        try kmemset(page, 0)
        return page
    }

    /// Maps one zeroed page at address 0 for initcode, whose `sz` bytes must fit in
    /// it. The bytes of initcode are not modelled: the page stays zero. (xv6: `uvminit`)
    /// A `mirror` table (not zero) gets the page too, without PTE_U (mirror_user_mappings=in-uvm).
    func uvminit(_ pagetable: PhysAddr, _ sz: UInt64, mirror: PhysAddr = .zero) throws(KernelPanic) {
        sites.push(.uvminit); defer { sites.pop() }
        if sz >= pageSize { throw KernelPanic("inituvm: more than a page") }
        let mem = try kalloc() ?? .zero              // not checked, as in xv6
        try kmemset(mem, 0)
        _ = try mappages(pagetable, 0, pageSize, mem, [.write, .read, .execute, .user])
        if mirror != .zero { _ = try mappages(mirror, 0, pageSize, mem, mirrorPerm) }
    }

    /// Grows a process from `oldsz` to `newsz` bytes (neither page aligned), allocating
    /// and mapping zeroed pages. Returns the new size, or 0 after undoing its work on
    /// failure. (xv6: `uvmalloc`)
    /// A `mirror` table (not zero) gets each page too, after the user table, without PTE_U;
    /// a failure shrinks both. (mirror_user_mappings=in-uvm)
    public func uvmalloc(_ pagetable: PhysAddr, _ oldsz: UInt64, _ newsz: UInt64, mirror: PhysAddr = .zero) throws(KernelPanic) -> UInt64 {
        sites.push(.uvmalloc); defer { sites.pop() }
        if newsz < oldsz { return oldsz }
        let oldsz = pageRoundUp(oldsz)
        var a = oldsz
        func undo() throws(KernelPanic) -> UInt64 {
            if mirror != .zero && mirrorFirst { _ = try kvmdealloc(mirror, a, oldsz) }
            _ = try uvmdealloc(pagetable, a, oldsz)
            if mirror != .zero && !mirrorFirst { _ = try kvmdealloc(mirror, a, oldsz) }
            return 0
        }
        while a < newsz {
            guard let mem = try kalloc() else { return try undo() }
            try kmemset(mem, 0)
            // C's `||`: the kernel table is mapped only when the user table was.
            var mapped = try mappages(pagetable, a, pageSize, mem, [.write, .execute, .read, .user])
            if mapped && mirror != .zero { mapped = try mappages(mirror, a, pageSize, mem, mirrorPerm) }
            if !mapped {
                try kfree(mem)
                return try undo()
            }
            a &+= pageSize
        }
        return newsz
    }

    /// Shrinks a process from `oldsz` to `newsz` bytes, unmapping and freeing whole
    /// pages. Returns the new size. (xv6: `uvmdealloc`)
    public func uvmdealloc(_ pagetable: PhysAddr, _ oldsz: UInt64, _ newsz: UInt64) throws(KernelPanic) -> UInt64 {
        sites.push(.uvmdealloc); defer { sites.pop() }
        if newsz >= oldsz { return oldsz }
        if pageRoundUp(newsz) < pageRoundUp(oldsz) {
            // xv6 computes the count in an int.
            let npages = Int32(truncatingIfNeeded: (pageRoundUp(oldsz) &- pageRoundUp(newsz)) / pageSize)
            try uvmunmap(pagetable, pageRoundUp(newsz), UInt64(bitPattern: Int64(npages)), doFree: true)
        }
        return newsz
    }

    /// Frees the table pages of a tree whose leaf mappings are all gone. (xv6: `freewalk`)
    public func freewalk(_ pagetable: PhysAddr) throws(KernelPanic) {
        sites.push(.freewalk); defer { sites.pop() }
        try freewalkLevel(pagetable)
    }

    private func freewalkLevel(_ table: PhysAddr, depth: Int = 0) throws(KernelPanic) {
        emit(.freewalk(pt: table))
        if depth > 64 { throw kerneltrap(.store, MemLayout.kstack(0) - 8) }   // a looping tree overflows the stack
        var stopped = false
        try forEachValidPTE(inTable: table) { i, pte throws(KernelPanic) in
            if stopped { return }
            // A kernel whose freewalk stops at the first leaf and frees the table.
            if pte.isLeaf && settings.freewalkStopsAtLeaf { stopped = true; return }
            if pte.isLeaf { throw KernelPanic("freewalk: leaf") }
            try freewalkLevel(pte.pa, depth: depth + 1)
            try writePTE(pteAddress(table, i), 0)
        }
        try kfree(table)
    }

    /// Calls `body` with the index and value of each valid PTE of the table page `table`
    /// (with `pointersOnly`, of each pointer to a lower table), in index
    /// order, as a C loop over `pagetable[i]` finds them: each entry is read when the loop
    /// reaches it, so `body` may write the table. A table in the direct map is read by
    /// `PhysicalMemory.forEachValidPTE`, which skips what cannot be valid.
    func forEachValidPTE(inTable table: PhysAddr, pointersOnly: Bool = false,
                         _ body: (Int, PTE) throws(KernelPanic) -> Void) throws(KernelPanic) {
        if memory.fastPaths && table.pageOffset == 0 && directMapped(table.rawValue, pageSize) {
            try memory.forEachValidPTE(table, pointersOnly: pointersOnly) { i, word throws(KernelPanic) in
                try body(i, PTE(rawValue: word))
            }
            return
        }
        for i in 0..<Sv39.entriesPerTable {
            let pte = PTE(rawValue: try kread(pteAddress(table, i)))
            if pte.isValid && !(pointersOnly && pte.isLeaf) { try body(i, pte) }
        }
    }

    /// Frees a process's memory pages, then its table pages. (xv6: `uvmfree`)
    public func uvmfree(_ pagetable: PhysAddr, _ sz: UInt64) throws(KernelPanic) {
        sites.push(.uvmfree); defer { sites.pop() }
        if sz > 0 { try uvmunmap(pagetable, 0, pageRoundUp(sz) / pageSize, doFree: true) }
        try freewalk(pagetable)
    }

    /// Copies a parent's memory, pages and flags, into a child's table. False after
    /// freeing what it allocated if memory runs out. (xv6: `uvmcopy`)
    /// A `mirror` table (not zero) gets each page too, flags without PTE_U. (mirror_user_mappings=in-uvm)
    public func uvmcopy(_ old: PhysAddr, _ new: PhysAddr, _ sz: UInt64, mirror: PhysAddr = .zero) throws(KernelPanic) -> Bool {
        sites.push(.uvmcopy); defer { sites.pop() }
        if settings.copyOnWrite { return try uvmcopyShared(old, new, sz) }
        let lazy = settings.lazyAllocation
        var i: UInt64 = 0
        while i < sz {
            // lazy-lab: a page never touched is skipped.
            guard let pte = try walk(old, i, alloc: false) else {
                if lazy { i &+= pageSize; continue }
                throw KernelPanic("uvmcopy: pte should exist")
            }
            let e = PTE(rawValue: try kread(pte))
            if !e.isValid {
                if lazy { i &+= pageSize; continue }
                throw KernelPanic("uvmcopy: page not present")
            }
            guard let mem = try kalloc() else { break }
            try kcopyPage(from: e.pa, to: mem)
            var mapped = try mappages(new, i, pageSize, mem, e.flags)
            let cleared: PTE.Flags = mirrorFirst ? [.user, .write, .execute] : .user
            if mapped && mirror != .zero { mapped = try mappages(mirror, i, pageSize, mem, e.flags.subtracting(cleared)) }
            if !mapped {
                try kfree(mem)
                break
            }
            i &+= pageSize
        }
        if i >= sz { return true }
        if mirror != .zero && mirrorFirst { try uvmunmap(mirror, 0, i / pageSize, doFree: false) }
        try uvmunmap(new, 0, i / pageSize, doFree: true)
        if mirror != .zero && !mirrorFirst { try uvmunmap(mirror, 0, i / pageSize, doFree: false) }
        return false
    }

    /// memmove(dst, src, PGSIZE) by kernel code, through the direct map.
    @inline(__always) func kcopyPage(from src: PhysAddr, to dst: PhysAddr) throws(KernelPanic) {
        if src.pageOffset == 0, dst.pageOffset == 0, directMapped(src.rawValue, pageSize), directMapped(dst.rawValue, pageSize) {
            memory.copyPage(from: src, to: dst)
            return
        }
        var off: UInt64 = 0
        while off < pageSize { try kwrite(dst.rawValue &+ off, try kread(src.rawValue &+ off)); off += 8 }
    }

    /// Clears PTE_U on `va`'s PTE: exec's stack guard page. (xv6: `uvmclear`)
    public func uvmclear(_ pagetable: PhysAddr, _ va: UInt64) throws(KernelPanic) {
        guard let pte = try walk(pagetable, va, alloc: false) else { throw KernelPanic("uvmclear") }
        try writePTE(pte, try kread(pte) & ~PTE.Flags.user.rawValue)
    }

    // MARK: printing

    /// The page-table lab's `vmprint`: the root, then every valid PTE, indented by
    /// depth, exactly as the kernel's console shows it.
    public func vmprint(_ pagetable: PhysAddr) throws(KernelPanic) -> [String] {
        var lines = ["page table \(hex16(pagetable.rawValue))"]
        try vmprintLevel(pagetable, depth: 0, into: &lines)
        return lines
    }

    private func vmprintLevel(_ table: PhysAddr, depth: Int, into lines: inout [String]) throws(KernelPanic) {
        for i in 0..<Sv39.entriesPerTable {
            let pte = PTE(rawValue: try kread(pteAddress(table, i)))
            guard pte.isValid else { continue }
            let dots = ".." + String(repeating: " ..", count: depth)
            lines.append("\(dots)\(i): pte \(hex16(pte.rawValue)) pa \(hex16(pte.pa.rawValue))")
            // As in the lab's solution: descend through every valid non-leaf PTE, at any depth.
            if !pte.isLeaf {
                // A corrupt tree can loop; the real kernel then overflows its one-page stack.
                if depth >= 64 { throw kerneltrap(.store, MemLayout.kstack(0) - 8) }
                try vmprintLevel(pte.pa, depth: depth + 1, into: &lines)
            }
        }
    }

    // MARK: satp

    @inline(__always) func writeSatp(hart: Int, _ value: Satp, by writer: SatpWriter) {
        hartTable[hart].writeSatp(value)
        if !staleNoted.isEmpty { staleNoted.remove(hart) }   // no hashing in the common case
        counters.satpWrites += 1
        emit(.satp(hart: hart, value: value, table: name(of: value.root), by: writer))
    }

    @inline(__always) func sfenceVMA(hart: Int) {
        hartTable[hart].sfenceVMA()
        emit(.sfence(hart: hart))
    }
}
