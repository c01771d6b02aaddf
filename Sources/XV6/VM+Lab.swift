import RISCV

/// The page-table lab's extension of `vm.c`: a kernel page table per process, the
/// user mappings mirrored into it without PTE_U, and copyin through the MMU.
/// Which of these run, and how, is decided by `KernelSettings`.
extension Kernel {
    /// Builds a kernel page table with the direct map, devices and trampoline: with
    /// kvmmap (panics when a mapping fails) or, unchecked, with bare mappages (seed-003's
    /// `kvmmake`). The root's kalloc is not checked, as in both solutions. `owner` names
    /// the table in the trace while it is built. (pgtbl-lab: `kvminit_newpgtbl`, `kvm_map_pagetable`)
    func kvminit_newpgtbl(clint: Bool, for owner: TableRef) throws(KernelPanic) -> PhysAddr {
        sites.push(settings.kernelTableChecked ? .kvminit_newpgtbl : .kvmmake); defer { sites.pop() }
        let root = try kalloc() ?? .zero
        try kmemset(root, 0)
        tableNames[root] = owner
        if settings.kernelTableChecked { sites.push(.kvm_map_pagetable) }
        defer { if settings.kernelTableChecked { sites.pop() } }
        building.append(root)
        for m in kernelMappings(clint: clint) { try kvmmapInto(root, m.va, m.pa, m.size, m.perm) }
        building.removeLast()
        return root
    }

    /// kvmmap into a given table when kernel tables are built checked, else bare mappages.
    func kvmmapInto(_ pgtbl: PhysAddr, _ va: UInt64, _ pa: PhysAddr, _ sz: UInt64, _ perm: PTE.Flags) throws(KernelPanic) {
        if settings.kernelTableChecked {
            sites.push(.kvmmap); defer { sites.pop() }
            if try !mappages(pgtbl, va, sz, pa, perm) { throw KernelPanic("kvmmap") }
        } else {
            _ = try mappages(pgtbl, va, sz, pa, perm)
        }
    }

    /// Frees every table page of a kernel page table, recursively, but no leaf's page.
    /// (pgtbl-lab: `kvm_free_kernelpgtbl`)
    func kvm_free_kernelpgtbl(_ pgtbl: PhysAddr, depth: Int = 0) throws(KernelPanic) {
        sites.push(.kvm_free_kernelpgtbl); defer { sites.pop() }
        emit(.kvmFreeKernelPagetable(pt: pgtbl))
        if depth > 64 { throw kerneltrap(.store, MemLayout.kstack(0) - 8) }   // a looping tree overflows the stack
        try forEachValidPTE(inTable: pgtbl, pointersOnly: true) { i, pte throws(KernelPanic) in
            try kvm_free_kernelpgtbl(pte.pa, depth: depth + 1)
            try writePTE(pteAddress(pgtbl, i), 0)
        }
        try kfree(pgtbl)
    }

    /// Copies the mappings of [PGROUNDUP(start), start+sz) from `src` into `dst` without
    /// PTE_U; on failure unmaps what it mapped and returns false. (pgtbl-lab: `kvmcopymappings`)
    func kvmcopymappings(_ src: PhysAddr, _ dst: PhysAddr, _ start: UInt64, _ sz: UInt64) throws(KernelPanic) -> Bool {
        sites.push(.kvmcopymappings); defer { sites.pop() }
        var i = pageRoundUp(start)
        while i < start &+ sz {
            guard let pte = try walk(src, i, alloc: false) else { throw KernelPanic("kvmcopymappings: pte should exist") }
            let e = PTE(rawValue: try kread(pte))
            if !e.isValid { throw KernelPanic("kvmcopymappings: page not present") }
            // `flags` is a C `uint`: the low ten bits, PTE_U cleared.
            let flags = PTE.Flags(rawValue: e.rawValue & 0x3ff & ~PTE.Flags.user.rawValue)
            if try !mappages(dst, i, pageSize, e.pa, flags) {
                try uvmunmap(dst, pageRoundUp(start), (i &- pageRoundUp(start)) / pageSize, doFree: false)
                return false
            }
            i &+= pageSize
        }
        return true
    }

    /// uvmdealloc without freeing the pages: shrinks the kernel table's mirror. (pgtbl-lab: `kvmdealloc`)
    func kvmdealloc(_ pgtbl: PhysAddr, _ oldsz: UInt64, _ newsz: UInt64) throws(KernelPanic) -> UInt64 {
        sites.push(.kvmdealloc); defer { sites.pop() }
        if newsz >= oldsz { return oldsz }
        if pageRoundUp(newsz) < pageRoundUp(oldsz) {
            let npages = Int32(truncatingIfNeeded: (pageRoundUp(oldsz) &- pageRoundUp(newsz)) / pageSize)
            try uvmunmap(pgtbl, pageRoundUp(newsz), UInt64(bitPattern: Int64(npages)), doFree: false)
        }
        return newsz
    }

    /// seed-003's mirror: for each page, walk(kpt, va, 1) and store the user PTE without
    /// PTE_U, checking nothing (a failed walk stores through a null pointer).
    func walkCopy(_ user: PhysAddr, _ kpt: PhysAddr, from: UInt64, below end: UInt64) throws(KernelPanic) {
        var va = from
        while va < end {
            let pteU = try walk(user, va, alloc: false) ?? 0
            let pteK = try walk(kpt, va, alloc: true) ?? 0
            try writePTE(pteK, try kread(pteU) & ~mirrorCleared)
            va &+= pageSize
        }
    }

    /// in-uvm-read: the kernel table's pages are read-only, and undone before the user table's.
    var mirrorFirst: Bool { settings.mirrorUserMappings == .inUvmRead }

    /// The perm uvminit and uvmalloc pass for the kernel table's copy of a page.
    var mirrorPerm: PTE.Flags { mirrorFirst ? .read : [.write, .execute, .read] }

    /// The PTE bits a walk-and-copy mirror clears: U, and W and X too where the settings say.
    var mirrorCleared: UInt64 {
        (settings.mirrorReadOnly ? PTE.Flags([.user, .write, .execute]) : PTE.Flags.user).rawValue
    }

    /// A kernel table whose root shares the global table's entries 1-511 (the kernel, the
    /// trampoline, procinit's kernel stacks), with the devices below 1 GiB mapped in tables
    /// of its own. Slot `i` keeps procinit's stack. (a student's design: `kvmcreate`)
    func kvmcreate(_ i: Int) throws(KernelPanic) {
        sites.push(.kvmcreate); defer { sites.pop() }
        // The root's kalloc is not checked: copying into page 0 faults.
        guard let root = try uvmcreate() else { throw kerneltrap(.store, 8) }
        tableNames[root] = .procKernel(pid: procs[i].pid)
        for e in 1..<512 { try writePTE(pteAddress(root, e), try kread(pteAddress(kernelPagetable, e))) }
        building.append(root)
        for m in kernelMappings(clint: true).prefix(4) {
            sites.push(.kvmmap); defer { sites.pop() }
            if try !mappages(root, m.va, m.size, m.pa, m.perm) { throw KernelPanic("kvmmap") }
        }
        building.removeLast()
        procs[i].kernelPagetable = root
        procs[i].kstack = MemLayout.kstack(i)
    }

    /// Frees a `kvmcreate` table: every level-0 table under entry 0, that level-1 table, the
    /// root; nothing the global table shares. (a student's design: `kvmfree`)
    func kvmfree(_ root: PhysAddr) throws(KernelPanic) {
        sites.push(.kvmfree); defer { sites.pop() }
        emit(.kvmFreeKernelPagetable(pt: root))
        let level1 = PTE(rawValue: try kread(pteAddress(root, 0))).pa
        for e in 0..<512 {
            let pte = PTE(rawValue: try kread(pteAddress(level1, e)))
            guard pte.isValid else { continue }
            try kfree(pte.pa)
            try writePTE(pteAddress(level1, e), 0)
        }
        try kfree(level1)
        try kfree(root)
    }

    /// seed-003's freeing of a kernel table: unmaps the direct map, devices and trampoline,
    /// unmaps and frees the kernel stack, then freewalk, which panics on any leaf left
    /// (the mirrored user pages). (seed-003: `proc_free_kernel_pagetable`)
    /// With `mirror`, the user mirror [0, PGROUNDUP(mirror)) is unmapped too, before the stack.
    func proc_free_kernel_pagetable(_ pgtbl: PhysAddr, mirror: UInt64? = nil, kstack: UInt64) throws(KernelPanic) {
        sites.push(.proc_free_kernel_pagetable); defer { sites.pop() }
        try uvmunmap(pgtbl, MemLayout.uart0, 1, doFree: false)
        try uvmunmap(pgtbl, MemLayout.virtio0, 1, doFree: false)
        try uvmunmap(pgtbl, MemLayout.plic, MemLayout.plicSize / pageSize, doFree: false)
        try uvmunmap(pgtbl, MemLayout.kernbase, (image.etext - MemLayout.kernbase) / pageSize, doFree: false)
        try uvmunmap(pgtbl, image.etext, (image.phystop - image.etext) / pageSize, doFree: false)
        try uvmunmap(pgtbl, MemLayout.trampoline, 1, doFree: false)
        if let mirror { try uvmunmap(pgtbl, 0, pageRoundUp(mirror) / pageSize, doFree: false) }
        try uvmunmap(pgtbl, kstack, 1, doFree: true)
        try freewalk(pgtbl)
    }

    /// Copies user mappings of slot `p` over [from, to) into its kernel table the way the
    /// settings say; false only when kvmcopymappings fails.
    func mirrorUser(_ p: Int, from: UInt64, size: UInt64) throws(KernelPanic) -> Bool {
        guard settings.perProcessKernelPagetable else { return true }
        switch settings.mirrorUserMappings {
        case .kvmcopymappings:
            return try kvmcopymappings(procs[p].pagetable, procs[p].kernelPagetable, from, size)
        case .walkCopy:
            try walkCopy(procs[p].pagetable, procs[p].kernelPagetable, from: from, below: from &+ size)
            return true
        case .none, .inUvm, .inUvmRead:
            return true
        }
    }

    // MARK: copyin through the MMU

    /// copyin_new: checks the range against p->sz, then reads the user address directly,
    /// through the MMU and the process's kernel table. Nil where it returns -1; a fault is
    /// a kernel trap. (pgtbl-lab: `vmcopyin.c`)
    func copyin_new(_ p: Int, _ srcva: UInt64, _ len: UInt64) throws(KernelPanic) -> [UInt8]? {
        let sz = procs[p].sz
        if srcva >= sz || srcva &+ len >= sz || srcva &+ len < srcva { return nil }
        var out: [UInt8] = []
        var i: UInt64 = 0
        while i < len { out.append(try userByte(srcva &+ i, first: i == 0)); i += 1 }
        return out
    }

    /// One byte of user memory read by kernel code through the MMU; traced once per page.
    func userByte(_ va: UInt64, first: Bool) throws(KernelPanic) -> UInt8 {
        let b = try kreadByte(va)
        if tracing && (first || va % pageSize == 0) && !directMapped(va, 1) {
            emit(.kload(hart: cpu, va: VirtAddr(va), pa: PhysAddr(lastKernelPA), tlbHit: hartTable[cpu].lastTranslationHitTLB))
        }
        return b
    }

    /// copyinstr_new: reads bytes through the MMU until NUL, `max`, or p->sz. (pgtbl-lab: `vmcopyin.c`)
    func copyinstr_new(_ p: Int, _ srcva: UInt64, _ max: UInt64) throws(KernelPanic) -> [UInt8]? {
        var out: [UInt8] = []
        var i: UInt64 = 0
        while i < max && srcva &+ i < procs[p].sz {
            let b = try userByte(srcva &+ i, first: i == 0)
            if b == 0 { return out }
            out.append(b)
            i += 1
        }
        return nil
    }
}
