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
        if !program.exists { return -1 }
        guard let pagetable = try proc_pagetable(p) else { return -1 }
        func bad() throws(KernelPanic) -> Int64 {
            try proc_freepagetable(pagetable, sz)
            return -1
        }
        for ph in program.segments {
            if ph.memsz < ph.filesz { return try bad() }
            if ph.vaddr &+ ph.memsz < ph.vaddr { return try bad() }
            let sz1 = try uvmalloc(pagetable, sz, ph.vaddr &+ ph.memsz)
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
        let sz1 = try uvmalloc(pagetable, sz, sz &+ 2 * pageSize)
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
        let lab = settings.perProcessKernelPagetable
        if lab && settings.mirrorUserMappings == .kvmcopymappings {
            // pgtbl-lab: replace the kernel table's mirror before committing (result ignored).
            try unmapOldMirror(p, oldsz)
            _ = try kvmcopymappings(pagetable, procs[p].kernelPagetable, 0, sz)
        }
        emit(.execCommitted(pid: procs[p].pid, path: path, sz: sz))
        let oldpagetable = procs[p].pagetable
        procs[p].pagetable = pagetable
        let walkCopies = lab && settings.mirrorUserMappings == .walkCopy
        if walkCopies && !settings.execMirrorsAfterFree {
            // seed-003: after committing the new table.
            try unmapOldMirror(p, oldsz)
            try walkCopy(procs[p].pagetable, procs[p].kernelPagetable, from: 0, below: sz)
        }
        procs[p].sz = sz
        try kwrite(trapframeField(p, ExecTrapframe.epc), program.entry)
        try kwrite(trapframeField(p, ExecTrapframe.sp), sp)
        try proc_freepagetable(oldpagetable, oldsz)
        if walkCopies && settings.execMirrorsAfterFree {
            try unmapOldMirror(p, oldsz)
            try walkCopy(procs[p].pagetable, procs[p].kernelPagetable, from: 0, below: sz)
        }
        tableNames[pagetable] = .user(pid: procs[p].pid)
        switch settings.execVmprint {
        case .all: for line in try vmprint(pagetable) { emit(.console(line)) }
        case .pid1 where procs[p].pid == 1: for line in try vmprint(pagetable) { emit(.console(line)) }
        default: break
        }
        return Int64(ustack.count - 1)
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
