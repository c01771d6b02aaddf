import RISCV

/// Checks of what must hold between events, for `xv6vm run --check`. Each returns
/// plain sentences naming tables, addresses and pages, so a student can act on them.
extension Kernel {
    /// Every violation of the invariants now, in a stable order.
    public func checkInvariants() throws(KernelPanic) -> [String] {
        var out: [String] = []
        for (i, p) in procs.enumerated() where p.state != .unused && p.pagetable != .zero {
            out += try userPartBelowPlic(i)
            if settings.values.perProcessKernelPagetable && p.kernelPagetable != .zero { out += try mirrors(i) }
        }
        out += freeListPartitionsRAM()
        out += staleTranslations
        staleTranslations.removeAll()
        return out
    }

    /// The leaves of the table rooted at `root` whose va is below `limit`, in address order.
    func leaves(_ root: PhysAddr, below limit: UInt64) -> [(va: UInt64, pte: PTE)] {
        var out: [(va: UInt64, pte: PTE)] = []
        forEachLeaf(root, enter: { _, _, va in va < limit }, { va, pte in if va < limit { out.append((va, pte)) } })
        return out
    }

    /// Nothing in the user part of a process's table lies at PLIC or above (below TRAPFRAME).
    func userPartBelowPlic(_ i: Int) throws(KernelPanic) -> [String] {
        let p = procs[i]
        let high = leaves(p.pagetable, below: MemLayout.trapframe).filter { $0.va >= MemLayout.plic }
        return high.prefix(1).map { "user:\(p.pid) maps va \(hex16($0.va)) at or above PLIC (\(high.count) page\(high.count == 1 ? "" : "s"))" }
    }

    /// The kernel table mirrors the user table on [0, sz): same pages, same R/W/X, no
    /// PTE_U; and maps no user page at or beyond sz (below PLIC, CLINT aside).
    func mirrors(_ i: Int) throws(KernelPanic) -> [String] {
        let p = procs[i]
        var out: [String] = []
        if settings.values.mirrorUserMappings != .none {
            var va: UInt64 = 0
            while va < p.sz {
                defer { va += pageSize }
                guard let up = try walk(p.pagetable, va, alloc: false) else { continue }
                let u = PTE(rawValue: try kread(up))
                guard u.isValid else { continue }
                var k: PTE?
                if let kp = try walk(p.kernelPagetable, va, alloc: false) { k = PTE(rawValue: try kread(kp)) }
                // A read-only mirror keeps only R of the user page's R/W/X.
                let readOnly = settings.mirrorReadOnly || settings.mirrorUserMappings == .inUvmRead
                let rwx: UInt64 = readOnly ? 0b0010 : 0b1110
                if k == nil || !k!.isValid || k!.pa != u.pa || k!.flags.contains(.user) || k!.rawValue & rwx != u.rawValue & rwx {
                    out.append("kernel:\(p.pid) does not mirror user:\(p.pid) at va \(hex16(va)): user pte \(hex16(u.rawValue)), kernel pte \(k.map { hex16($0.rawValue) } ?? "none")")
                    break
                }
            }
        }
        let clint = MemLayout.clint..<(MemLayout.clint + MemLayout.clintSize)
        let stale = leaves(p.kernelPagetable, below: MemLayout.plic).filter { $0.va >= pageRoundUp(p.sz) && !clint.contains($0.va) }
        if let first = stale.first {
            out.append("kernel:\(p.pid) still maps va \(hex16(first.va)) to \(hex16(first.pte.pa.rawValue)) beyond sz \(hexShort(p.sz)) (\(stale.count) page\(stale.count == 1 ? "" : "s"))")
        }
        return out
    }

    /// The free list (followed through the links in memory) and the allocated pages
    /// partition RAM above the kernel: no page on both, none twice, none on neither.
    func freeListPartitionsRAM() -> [String] {
        var out: [String] = []
        var onList = [Bool](repeating: false, count: memory.pageCount)
        var r = freelist
        var steps = 0
        while r != 0 {
            guard r % pageSize == 0, memory.contains(PhysAddr(r)), r >= pageRoundUp(image.end) else {
                out.append("the free list links to \(hex16(r)), which is not a free page of RAM")
                break
            }
            let page = pageIndex(r)
            if onList[page] { out.append("page \(hex16(r)) is on the free list twice (the list loops)"); break }
            onList[page] = true
            if owner[page] >= 0 { out.append("page \(hex16(r)) is on the free list and allocated by \(sites.name(owner[page]))") }
            steps += 1
            r = memory.read64(PhysAddr(r))
        }
        var lost = 0, firstLost: UInt64 = 0
        for page in 0..<memory.pageCount where owner[page] == PageOwner.free && !onList[page] {
            if lost == 0 { firstLost = MemLayout.kernbase + UInt64(page) * pageSize }
            lost += 1
        }
        if lost > 0 { out.append("\(lost) freed page\(lost == 1 ? " is" : "s are") not on the free list (first \(hex16(firstLost)))") }
        if out.isEmpty && steps != freePages { out.append("the free list holds \(steps) pages, but \(freePages) are free") }
        return out
    }

    /// Notes a translation made between a satp write and the next sfence.vma.
    /// Only the first such translation after each satp write is noted.
    /// `what` is made only when it is reported: every user and kernel access comes here.
    func noteTranslation(_ va: UInt64, hart h: Int, _ what: @autoclosure () -> String) {
        if hartTable[h].satpWrittenSinceFence && !staleNoted.contains(h) {
            staleNoted.insert(h)
            staleTranslations.append("hart \(h) translated \(hex16(va)) (\(what())) after a satp write with no sfence.vma since: the TLB may hold the previous table's entries")
        }
    }
}
