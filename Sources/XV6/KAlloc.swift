import RISCV

/// xv6's `kalloc.c`: a LIFO free list of 4096-byte pages whose links live in
/// the first word of each free page.
extension Kernel {
    /// Puts every page of [PGROUNDUP(end), PHYSTOP) on the free list, in ascending
    /// order, so the first kalloc returns PHYSTOP-4096. (xv6: `kinit`, `freerange`)
    func kinit() throws(KernelPanic) {
        sites.push(.kinit); defer { sites.pop() }
        let start = pageRoundUp(image.end)
        var p = start
        var n = 0
        while p + pageSize <= image.phystop {
            try kfree(PhysAddr(p), quiet: true)
            p += pageSize
            n += 1
        }
        emit(.kinit(start: PhysAddr(start), end: PhysAddr(image.phystop), pages: n))
        if settings.kinitPrintsPhystop { emit(.console("PHYSTOP is \(hex16(image.phystop))")) }
    }

    /// Frees the page at `pa`: fills it with 1s and pushes it on the free list.
    /// Panics on a misaligned address or one outside [end, PHYSTOP). A page that
    /// is already free is linked in again, as xv6 does, and reported as a finding.
    public func kfree(_ pa: PhysAddr, quiet: Bool = false) throws(KernelPanic) {
        if pa.pageOffset != 0 || pa.rawValue < image.end || pa.rawValue >= image.phystop {
            throw KernelPanic("kfree")
        }
        let page = pageIndex(pa)
        // cow-lab: a page goes back on the list only when its count drops to zero or below.
        if settings.copyOnWrite && settings.cowCountDrop == .uvmunmap {
            // Counts drop in uvmunmap; kfree frees only a page nobody counts.
            if refcount[page] != 0 { return }
        } else if settings.copyOnWrite {
            refcount[page] -= 1
            if refcount[page] > 0 {
                emit(.refdec(pa: pa, count: refcount[page], pid: curpid))
                return
            }
        }
        if owner[page] == PageOwner.free {
            let f = Finding(kind: .doubleFree, pa: pa.rawValue, detail: "kfree of a free page by \(sites.name(sites.current))")
            findings.append(f)
            emit(.finding(f))
        } else {
            freePages += 1
        }
        owner[page] = PageOwner.free
        try kmemset(pa, 1)
        try kwrite(pa.rawValue, freelist)
        freelist = pa.rawValue
        if !quiet {
            counters.kfrees += 1
            emit(.kfree(pa: pa, site: sites.current, pid: curpid))
        }
    }

    /// Takes the page at the head of the free list and fills it with 5s; nil (xv6: 0) when
    /// memory is exhausted. The caller's chain (`sites.current`) is recorded as the page's
    /// allocation site.
    public func kalloc() throws(KernelPanic) -> PhysAddr? {
        kallocCalls += 1
        if kallocCalls == settings.failKalloc || kallocCalls == failNextKalloc {
            // Failure injection: this kalloc behaves as if the free list were empty.
            injectedFailure = (kallocCalls, sites.current, curpid, eventTag)
            emit(.kallocFailed(site: sites.current, pid: curpid))
            return nil
        }
        let r = freelist
        guard r != 0 else {
            emit(.kallocFailed(site: sites.current, pid: curpid))
            return nil
        }
        freelist = try kread(r)
        try kmemset(r, 5)
        let page = pageIndex(r)
        if owner[page] == PageOwner.free {
            freePages -= 1
        } else {
            let f = Finding(kind: .inUseHandedOut, pa: r,
                            detail: "kalloc by \(sites.name(sites.current)) returned a page still held by \(sites.name(owner[page]))")
            findings.append(f)
            emit(.finding(f))
        }
        if settings.copyOnWrite { refcount[page] = 1 }
        owner[page] = sites.current
        ownerPid[page] = Int32(truncatingIfNeeded: curpid)
        ownerEvent[page] = eventTag
        counters.kallocs += 1
        emit(.kalloc(pa: PhysAddr(r), site: sites.current, pid: curpid))
        return PhysAddr(r)
    }
}
