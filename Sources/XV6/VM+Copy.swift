import RISCV

/// xv6's `vm.c`: copying across the user boundary, in software, with the labs' steps
/// (cow-lab's copy of a shared page, lazy-lab's page made on first use).
extension Kernel {
    /// Copies `bytes` to user address `dstva`, walking the table in software. (xv6: `copyout`)
    /// cow-lab: each destination page (or only the first: cow_copyout_check) is checked,
    /// and copied first if it is shared.
    public func copyout(_ pagetable: PhysAddr, _ dstva: UInt64, _ bytes: [UInt8]) throws(KernelPanic) -> Bool {
        sites.push(.copyout); defer { sites.pop() }
        let cow = settings.copyOnWrite, lazy = settings.lazyAllocation
        let everyPage = cow && settings.cowCopyoutCheck == .everyPage
        let lazyEveryPage = lazy && settings.lazyCopyCheck == .everyPage
        if cow && !everyPage { try copyoutUnshare(pagetable, dstva) }
        if lazy && !lazyEveryPage { _ = try lazyCopyTouch(dstva) }
        var dstva = dstva
        var done = 0
        while done < bytes.count {
            if everyPage { try copyoutUnshare(pagetable, dstva) }
            if lazyEveryPage { _ = try lazyCopyTouch(dstva) }
            let va0 = pageRoundDown(dstva)
            let pa0 = try walkaddr(pagetable, va0)
            if pa0 == 0 { return false }
            let n = min(Int(pageSize - (dstva - va0)), bytes.count - done)
            try kstore(pa0 + (dstva - va0), bytes[done..<done + n])
            done += n
            dstva = va0 &+ pageSize
        }
        return true
    }

    /// `len` bytes from user address `srcva`, or nil where xv6 returns -1. (xv6: `copyin`)
    /// lazy-lab: the first page (or each: lazy_copy_check) is made if never touched.
    public func copyin(_ pagetable: PhysAddr, _ srcva: UInt64, _ len: UInt64) throws(KernelPanic) -> [UInt8]? {
        sites.push(.copyin); defer { sites.pop() }
        let lazy = settings.lazyAllocation, lazyEveryPage = lazy && settings.lazyCopyCheck == .everyPage
        if lazy && !lazyEveryPage { _ = try lazyCopyTouch(srcva) }
        var out: [UInt8] = []
        var srcva = srcva
        var len = len
        while len > 0 {
            if lazyEveryPage { _ = try lazyCopyTouch(srcva) }
            let va0 = pageRoundDown(srcva)
            let pa0 = try walkaddr(pagetable, va0)
            if pa0 == 0 { return nil }
            let n = min(pageSize - (srcva - va0), len)
            out += try kload(pa0 + (srcva - va0), Int(n))
            len -= n
            srcva = va0 &+ pageSize
        }
        return out
    }

    /// A NUL-terminated string of at most `max` bytes from user address `srcva`
    /// (without its NUL), or nil where xv6 returns -1. (xv6: `copyinstr`)
    public func copyinstr(_ pagetable: PhysAddr, _ srcva: UInt64, _ max: UInt64) throws(KernelPanic) -> [UInt8]? {
        var out: [UInt8] = []
        var srcva = srcva
        var max = max
        while max > 0 {
            let va0 = pageRoundDown(srcva)
            let pa0 = try walkaddr(pagetable, va0)
            if pa0 == 0 { return nil }
            var n = Swift.min(pageSize - (srcva - va0), max)
            var p = pa0 + (srcva - va0)
            while n > 0 {
                let b = try kload(p, 1)[0]
                if b == 0 { return out }
                out.append(b)
                n -= 1; max -= 1; p += 1
            }
            srcva = va0 &+ pageSize
        }
        return nil
    }
}
