import RISCV

/// One loadable segment of a program (an ELF program header of type LOAD).
public struct Segment: Equatable, Sendable {
    public var vaddr: UInt64
    public var memsz: UInt64
    public var filesz: UInt64
    public init(vaddr: UInt64, memsz: UInt64, filesz: UInt64) {
        self.vaddr = vaddr; self.memsz = memsz; self.filesz = filesz
    }
}

/// A program as exec sees it. The file's bytes are not modelled: loaded pages stay zero.
public struct Program: Equatable, Sendable {
    public var segments: [Segment]
    /// The ELF entry point, written to the trapframe's epc.
    public var entry: UInt64
    /// False when exec cannot open the file (namei fails) or it is no ELF: exec returns -1
    /// before it allocates anything.
    public var exists: Bool
    public init(segments: [Segment], entry: UInt64 = 0, exists: Bool = true) {
        self.segments = segments; self.entry = entry; self.exists = exists
    }
}

/// Trapframe offsets exec writes.
private enum ExecTrapframe {
    static let epc: UInt64 = 24
    static let sp: UInt64 = 48
    static let a1: UInt64 = 120
}

/// xv6's `sys_exec` (in `sysfile.c`) and `exec.c`.
extension Kernel {
    /// Copies each argument string into a page of its own, runs exec, then frees the
    /// pages in argument order. -1 on any failure. (xv6: `sys_exec`)
    /// The strings are taken as given: where they lie in user memory is not modelled.
    func sys_exec(_ p: Int, path: String, argv: [String], program: Program) throws(KernelPanic) -> Int64 {
        sites.push(.sys_exec); defer { sites.pop() }
        let maxpath = 128
        if path.utf8.count >= maxpath { return -1 }
        var pages: [PhysAddr] = []
        var ok = true
        for i in 0... {
            if i >= Param.maxarg { ok = false; break }
            if i == argv.count { break }
            guard let page = try kalloc() else { ok = false; break }
            pages.append(page)
            // fetchstr(uarg, argv[i], PGSIZE): fails if no NUL within a page.
            let bytes = Array(argv[i].utf8.prefix { $0 != 0 })
            if bytes.count >= Int(pageSize) { ok = false; break }
            try kstore(page.rawValue, (bytes + [0])[...])
        }
        var ret: Int64 = -1
        if ok {
            ret = try exec(p, path: path, argv: pages, program: program)
            if ret < 0 { emit(.execFailed(pid: procs[p].pid, path: path)) }
        }
        for page in pages { try kfree(page) }
        return ret
    }

    /// Replaces slot `p`'s image: a new user table with the program's segments and a
    /// two-page stack (guard page below), the argument strings and argv array copied
    /// onto the stack, then the old image freed. argc, or -1 with the old image kept.
    /// (xv6: `exec`)
    func exec(_ p: Int, path: String, argv: [PhysAddr], program: Program) throws(KernelPanic) -> Int64 {
        sites.push(.exec); defer { sites.pop() }
        var sz: UInt64 = 0
        var fresh = try freshKernelTable(p, first: true)
        guard program.exists, let pagetable = try proc_pagetable(p) else {
            // A kernel that returns when namei fails leaks the table (exec_missing_frees_kernel_table).
            if fresh != .zero && (program.exists || settings.execMissingFreesKernelTable) { try freeUnusedKernelTable(fresh) }
            return -1
        }
        fresh = fresh != .zero ? fresh : try freshKernelTable(p, first: false)
        // A table built after the user table is freed before it.
        let afterUser = settings.execKernelTable == .freshAfterUserTable
        func bad() throws(KernelPanic) -> Int64 {
            if afterUser && fresh != .zero { try freeUnusedKernelTable(fresh) }
            try proc_freepagetable(pagetable, sz)
            if !afterUser && fresh != .zero { try freeUnusedKernelTable(fresh) }
            return -1
        }
        for ph in program.segments {
            if ph.memsz < ph.filesz { return try bad() }
            if ph.vaddr &+ ph.memsz < ph.vaddr { return try bad() }
            let sz1 = try uvmalloc(pagetable, sz, ph.vaddr &+ ph.memsz, mirror: fresh)
            if sz1 == 0 { return try bad() }
            // The lab's check comes before `sz = sz1`: bad then frees only the old sz.
            if settings.execPlicCheck && sz1 >= MemLayout.plic { return try bad() }
            sz = sz1
            if ph.vaddr % pageSize != 0 { return try bad() }
            try loadseg(pagetable, ph.vaddr, UInt32(truncatingIfNeeded: ph.filesz))
        }
        let oldsz = procs[p].sz

        // Two pages at the next page boundary: a guard page, then the stack.
        sz = pageRoundUp(sz)
        let sz1 = try uvmalloc(pagetable, sz, sz &+ 2 * pageSize, mirror: fresh)
        if sz1 == 0 { return try bad() }
        sz = sz1
        try uvmclear(pagetable, sz - 2 * pageSize)
        var sp = sz
        let stackbase = sp - pageSize

        var ustack: [UInt64] = []
        for page in argv {
            if ustack.count >= Param.maxarg { return try bad() }
            let s = try kstring(page)
            sp -= UInt64(s.count + 1)
            sp -= sp % 16
            if sp < stackbase { return try bad() }
            if try !copyout(pagetable, sp, s + [0]) { return try bad() }
            ustack.append(sp)
        }
        ustack.append(0)
        sp -= UInt64(ustack.count * 8)
        sp -= sp % 16
        if sp < stackbase { return try bad() }
        if try !copyout(pagetable, sp, ustack.flatMap(Self.littleEndian)) { return try bad() }
        try kwrite(trapframeField(p, ExecTrapframe.a1), sp)

        procs[p].name = String(decoding: path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            .last.map { Array($0.prefix(15)) } ?? [], as: UTF8.self)
        if try !kernelTableBeforeCommit(p, pagetable, fresh: fresh, oldsz: oldsz, sz: sz) { return try bad() }
        emit(.execCommitted(pid: procs[p].pid, path: path, sz: sz))
        let oldpagetable = procs[p].pagetable
        procs[p].pagetable = pagetable
        // seed-003: the walk-copy mirror right after committing the new table.
        if walkCopies && !settings.execMirrorsAfterFree { try remirror(p, oldsz, sz) }
        procs[p].sz = sz
        try kwrite(trapframeField(p, ExecTrapframe.epc), program.entry)
        try kwrite(trapframeField(p, ExecTrapframe.sp), sp)
        try proc_freepagetable(oldpagetable, oldsz)
        if fresh != .zero { try replaceKernelTable(p, with: fresh) }
        if walkCopies && settings.execMirrorsAfterFree { try remirror(p, oldsz, sz) }
        tableNames[pagetable] = .user(pid: procs[p].pid)
        switch settings.execVmprint {
        case .all: for line in try vmprint(pagetable) { emit(.console(line)) }
        case .pid1 where procs[p].pid == 1: for line in try vmprint(pagetable) { emit(.console(line)) }
        default: break
        }
        return Int64(ustack.count - 1)
    }

    var walkCopies: Bool { settings.perProcessKernelPagetable && settings.mirrorUserMappings == .walkCopy }

    /// A walk-copy exec's mirror: the old image's unmapped, the new one's [0, sz) copied.
    func remirror(_ p: Int, _ oldsz: UInt64, _ sz: UInt64) throws(KernelPanic) {
        try unmapOldMirror(p, oldsz)
        try walkCopy(procs[p].pagetable, procs[p].kernelPagetable, from: 0, below: sz)
    }

    /// The fresh kernel table exec builds `first` (fresh-first, with slot `p`'s kernel stack
    /// mapped into it, unchecked) or after its user table (fresh-after-user-table, the stack
    /// mapped at the commit); zero when the settings build none there.
    func freshKernelTable(_ p: Int, first: Bool) throws(KernelPanic) -> PhysAddr {
        guard settings.perProcessKernelPagetable,
              settings.execKernelTable == (first ? .freshFirst : .freshAfterUserTable) else { return .zero }
        let kpt = try processKernelTable(p)
        if first { _ = try mapKernelStack(p, into: kpt) }
        return kpt
    }

    /// mappages of slot `p`'s kernel stack page (found by walking its kernel table) into `kpt`.
    func mapKernelStack(_ p: Int, into kpt: PhysAddr) throws(KernelPanic) -> Bool {
        var stack = PhysAddr.zero
        if let pte = try walk(procs[p].kernelPagetable, procs[p].kstack, alloc: false) {
            let e = PTE(rawValue: try kread(pte))
            if e.isValid { stack = e.pa }
        }
        return try mappages(kpt, procs[p].kstack, pageSize, stack, [.read, .write])
    }

    /// What exec does to the kernel tables just before its commit: pgtbl-lab replaces the
    /// mirror (result ignored); a table built after the user table gets the kernel stack.
    func kernelTableBeforeCommit(_ p: Int, _ pagetable: PhysAddr, fresh: PhysAddr, oldsz: UInt64, sz: UInt64) throws(KernelPanic) -> Bool {
        guard settings.perProcessKernelPagetable else { return true }
        let mirror = settings.mirrorUserMappings
        if mirror == .kvmcopymappings || ((mirror == .inUvm || mirror == .inUvmRead) && fresh == .zero) {
            try unmapOldMirror(p, oldsz)
            _ = try kvmcopymappings(pagetable, procs[p].kernelPagetable, 0, sz)
        }
        if fresh != .zero && settings.execKernelTable == .freshAfterUserTable { return try mapKernelStack(p, into: fresh) }
        return true
    }

    /// Frees a kernel table exec built and did not use: recursively, no leaf's page; or, where
    /// freeproc uses proc_freepagetable, by uvmfree(kpt, 0): freewalk alone.
    func freeUnusedKernelTable(_ kpt: PhysAddr) throws(KernelPanic) {
        if settings.freeKernelPagetable == .procFreepagetable { try uvmfree(kpt, 0) } else { try kvm_free_kernelpgtbl(kpt) }
        tableNames[kpt] = nil
    }

    /// exec's commit with a fresh table: slot `p` takes it, satp loads it, and the old one is
    /// freed the way freeproc frees one (its kernel stack page lives on in the fresh one).
    func replaceKernelTable(_ p: Int, with fresh: PhysAddr) throws(KernelPanic) {
        let old = procs[p].kernelPagetable
        procs[p].kernelPagetable = fresh
        tableNames[fresh] = .procKernel(pid: procs[p].pid)
        writeSatp(hart: cpu, Satp(root: fresh), by: .exec)
        sfenceVMA(hart: cpu)
        if settings.freeKernelPagetable == .procFreepagetable { try proc_freepagetable(old, 0) } else { try kvm_free_kernelpgtbl(old) }
        if tableNames[old] == .procKernel(pid: procs[p].pid) { tableNames[old] = nil }
    }

    /// The lab's exec removes the old image's mirror from slot `p`'s kernel table, unless
    /// the settings model a kernel that forgets to (its entries then outlive the pages).
    func unmapOldMirror(_ p: Int, _ oldsz: UInt64) throws(KernelPanic) {
        guard settings.execUnmapsOldMirror else { return }
        try uvmunmap(procs[p].kernelPagetable, 0, pageRoundUp(oldsz) / pageSize, doFree: false)
    }

    /// Checks that the pages of a segment are mapped; reading the file is not modelled.
    /// (xv6: `loadseg`)
    func loadseg(_ pagetable: PhysAddr, _ va: UInt64, _ sz: UInt32) throws(KernelPanic) {
        if va % pageSize != 0 { throw KernelPanic("loadseg: va must be page aligned") }
        var i: UInt32 = 0
        while i < sz {
            if try walkaddr(pagetable, va &+ UInt64(i)) == 0 { throw KernelPanic("loadseg: address should exist") }
            i &+= UInt32(pageSize)
            if i < UInt32(pageSize) { break }
        }
    }

    /// The NUL-terminated string in the kernel page at `pa` (without its NUL).
    func kstring(_ pa: PhysAddr) throws(KernelPanic) -> [UInt8] {
        var out: [UInt8] = []
        var a = pa.rawValue
        while true {
            let b = try kload(a, 1)[0]
            if b == 0 { return out }
            out.append(b)
            a += 1
        }
    }

    static func littleEndian(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}
