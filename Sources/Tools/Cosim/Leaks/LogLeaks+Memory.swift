import RISCV
import Support
import CosimLog

/// The memory probes: each page's role (a table's root, a table page walk allocated, a
/// data page a map names, or bare), the tables' leaves, and the frees that misuse them.
extension LogLeakTracker {
    mutating func kalloc(_ p: Probe) {
        if p.pa == 0 {
            // kalloc returned 0: the map in progress, or the growproc, stops here.
            expect.count = 0
            findings.failedKallocs += 1
            if let op = procs[current]?.op, op != 0, ops[op]?.kind == .growproc { ops[op]!.remaining = 0 }
            return
        }
        if let old = pages[p.pa] {
            findings.allocatedTwice.append(DoubleFree(line: p.line, pa: p.pa, before: old.line, by: summary(procs[current]?.op ?? 0)))
            forget(p.pa, old, line: p.line)
        }
        if expect.count > 0, tables[expect.table] != nil {
            expect.count -= 1
            pages[p.pa] = PageRecord(line: p.line, op: expect.op, role: .table, table: expect.table)
            tables[expect.table]!.pages += 1
            ops[expect.op]?.refs += 1
        } else {
            let op = contextOp()
            pages[p.pa] = PageRecord(line: p.line, op: op)
            ops[op]!.refs += 1
            if context.kind == .pagefault || context.kind == .copyout { faultKalloc = p.pa }
        }
    }

    mutating func kfree(_ p: Probe) {
        guard let rec = pages[p.pa] else {
            var d = DoubleFree(line: p.line, pa: p.pa, before: lastFreed[p.pa] ?? 0, by: summary(procs[current]?.op ?? 0))
            if counted { d.during = context.text }
            findings.doubleFrees.append(d)
            return
        }
        lastFreed[p.pa] = p.line
        if countedFree(p, rec) {
            // Reported as freed with its count above zero, with a table that maps it.
        } else if rec.role == .data {
            let mapped = rec.mappings.filter { isLive($0.table) }
            if !mapped.isEmpty { suspects.append((p.pa, p.line, procs[current]?.op ?? 0, mapped, counted ? context.text : "")) }
            if counted { copyLeaves(p.pa, rec) }
        }
        forget(p.pa, rec, line: p.line)
    }

    /// The page is no longer allocated: its table loses a page, a root's table is freed.
    mutating func forget(_ pa: UInt64, _ rec: PageRecord, line: Int) {
        pages[pa] = nil
        switch rec.role {
        case .root:
            let t = rec.table
            if liveRoot[pa] == t { liveRoot[pa] = nil }
            if tables[t] != nil {
                tables[t]!.pages -= 1
                tables[t]!.rootFreedLine = line
                if tables[t]!.pages > 0 { orphan(t, LeakCause(kind: .rootFreed, line: line, pid: tables[t]!.owner)) }
                live.remove(t)
                tableFreed(t, line: line)
            }
        case .table:
            if tables[rec.table] != nil { tables[rec.table]!.pages -= 1; dropIfEmpty(rec.table) }
        case .data, .bare:
            break
        }
        if rec.unmappedOp != 0 { unref(rec.unmappedOp) }
        unref(rec.op)
    }

    mutating func unref(_ op: Int32) {
        guard ops[op] != nil else { return }
        ops[op]!.refs -= 1
        release(op)
    }

    /// A table's root is freed: entries left pointing at pages freed in an earlier
    /// operation are a finding; its leaves no longer map anything.
    mutating func tableFreed(_ t: Int32, line: Int) {
        let table = tables[t]!
        if !table.stale.isEmpty {
            let first = table.stale.min { $0.key < $1.key }!
            findings.staleTables.append(StaleTable(line: line, root: table.root, owner: table.owner, kernel: table.kernel,
                                                   entries: table.stale.count, va: first.key, freedAt: table.stale.values.min()!))
        }
        for (va, pa) in table.entries {
            guard var rec = pages[pa], let i = rec.mappings.firstIndex(where: { $0.table == t && $0.va == va }) else { continue }
            rec.mappings.remove(at: i)
            if rec.mappings.isEmpty { unmapped(&rec, line: line) }
            pages[pa] = rec
            if counted && !table.kernel { settle(pa, owes: .rootFreed, line: line, table: t, va: va) }
        }
        tables[t]!.entries = [:]
        tables[t]!.stale = [:]
        tables[t]!.l0 = []
        tables[t]!.l1 = []
        dropIfEmpty(t)
    }

    mutating func unmapped(_ rec: inout PageRecord, line: Int) {
        rec.unmappedLine = line
        let op = procs[current]?.op ?? 0
        if rec.unmappedOp != 0 { unref(rec.unmappedOp) }
        rec.unmappedOp = op
        if op != 0 { ops[op]?.refs += 1 }
    }

    /// Forgets a table whose root is freed and whose pages are all freed.
    mutating func dropIfEmpty(_ t: Int32) {
        guard let table = tables[t], table.pages <= 0, liveRoot[table.root] != t else { return }
        tables[t] = nil
        unref(table.op)
    }

    func isLive(_ t: Int32) -> Bool { live.contains(t) }

    /// The table's owner is gone, for `cause`, unless it went before.
    mutating func orphan(_ t: Int32, _ cause: LeakCause) {
        guard tables[t] != nil, tables[t]!.death == nil else { return }
        tables[t]!.death = cause
        live.remove(t)
    }

    mutating func map(_ p: Probe) {
        let op = mapOp()
        let t = table(for: p.pt, op: op)
        guard p.size > 0 else { return }
        let first = p.va & ~UInt64(0xfff)
        let last = (p.va &+ p.size &- 1) & ~UInt64(0xfff)
        guard last >= first, last < 1 << 38 else { return }
        if p.va == p.pa || p.pa < 0x8000_0000 { tables[t]!.kernel = true }
        // The table pages walk will allocate for it: one per level-1 and level-0 table missing.
        var need = 0
        for i in (first >> 30)...(last >> 30) where tables[t]!.l1.insert(i).inserted { need += 1 }
        for i in (first >> 21)...(last >> 21) where tables[t]!.l0.insert(i).inserted { need += 1 }
        expect = (t, need, op)
        if handSwap != nil { handSwapShown(t, first: first, pages: ((last - first) >> 12) + 1) }
        if p.va != p.pa { mapLeaves(t, first: first, last: last, pa: p.pa & ~UInt64(0xfff)) }
    }

    /// The table rooted at `root`, made now if the root is new.
    mutating func table(for root: UInt64, op: Int32) -> Int32 {
        if let t = liveRoot[root] { return t }
        let id = nextTable
        nextTable += 1
        var made = op
        if var rec = pages[root] {
            if rec.role == .table, tables[rec.table] != nil { tables[rec.table]!.pages -= 1 }
            rec.role = .root
            rec.table = id
            made = rec.op
            pages[root] = rec
        }
        let owner = ops[made]?.pid ?? 0
        var table = TableRecord(root: root, owner: owner, op: made)
        table.pages = pages[root] != nil ? 1 : 0
        tables[id] = table
        liveRoot[root] = id
        live.insert(id)
        ops[made]?.refs += 1
        ops[made]?.tables.append(id)
        if owner != 0 { procs[owner]?.tables.append(id) }
        return id
    }

    /// Records the leaves of a map to pages the log shows allocated.
    mutating func mapLeaves(_ t: Int32, first: UInt64, last: UInt64, pa: UInt64) {
        let n = Int((last - first) >> 12) + 1
        func leaf(_ i: UInt64) {
            let va = first + i << 12, target = pa &+ i << 12
            // Fields read first, so that the record's list is changed in place, not copied.
            guard let (role, owner, unmappedOp, has) = pages[target].map({
                ($0.role, $0.table, $0.unmappedOp, $0.mappings.contains { $0.table == t && $0.va == va })
            }) else { return }
            if let old = tables[t]!.entries[va], old != target { dropMapping(t, va: va, pa: old, event: .remapped) }
            if role == .table, tables[owner] != nil {
                // Taken for a table page of the map before: a map names it, so it is data.
                tables[owner]!.pages -= 1
                pages[target]!.role = .data
            } else if role == .bare {
                pages[target]!.role = .data
            }
            if !has { pages[target]!.mappings.append((t, va)) }
            if unmappedOp != 0 { unref(unmappedOp); pages[target]!.unmappedOp = 0 }
            pages[target]!.unmappedLine = 0
            tables[t]!.entries[va] = target
            if counted { settle(target, owes: nil, at: .mapped, line: lastLine, table: t, va: va) }
        }
        if n <= pages.count {
            for i in 0..<UInt64(n) { leaf(i) }
        } else {
            let end = pa &+ UInt64(n) << 12
            for target in pages.keys.sorted() where target >= pa && target < end { leaf((target - pa) >> 12) }
        }
    }

    mutating func dropMapping(_ t: Int32, va: UInt64, pa: UInt64, event: CountSite.Event = .unmapped) {
        tables[t]!.entries[va] = nil
        tables[t]!.stale[va] = nil
        guard var rec = pages[pa], let i = rec.mappings.firstIndex(where: { $0.table == t && $0.va == va }) else { return }
        rec.mappings.remove(at: i)
        if rec.mappings.isEmpty { unmapped(&rec, line: lastLine) }
        pages[pa] = rec
        if counted && !tables[t]!.kernel { settle(pa, owes: event, line: lastLine, table: t, va: va) }
    }

    mutating func unmap(_ p: Probe) {
        guard let t = liveRoot[p.pt], p.n > 0 else { return }
        let first = p.va & ~UInt64(0xfff)
        let n = UInt64(p.n)
        if handSwap != nil { handSwapShown(t, first: first, pages: n) }
        if n <= UInt64(tables[t]!.entries.count) {
            for i in 0..<n {
                let va = first &+ i << 12
                if let pa = tables[t]!.entries[va] { dropMapping(t, va: va, pa: pa) }
            }
        } else {
            let end = first &+ n << 12
            for (va, pa) in tables[t]!.entries.sorted(by: { $0.key < $1.key }) where va >= first && va < end {
                dropMapping(t, va: va, pa: pa)
            }
        }
    }

    /// freewalk / kvm_free_kernelpgtbl: at a root, the table being freed; below it, a
    /// page the log had not shown as a table page (a walk without a map line) is one.
    mutating func freeing(_ p: Probe) {
        if let t = liveRoot[p.pt] { walking = t; return }
        guard walking != 0, tables[walking] != nil, var rec = pages[p.pt], rec.role == .bare || rec.role == .table,
              rec.table != walking || rec.role == .bare else { return }
        if rec.role == .table, tables[rec.table] != nil { tables[rec.table]!.pages -= 1 }
        rec.role = .table
        rec.table = walking
        tables[walking]!.pages += 1
        pages[p.pt] = rec
    }

    /// At each operation line: a page freed since the last one that a live table still
    /// maps is a free of a mapped page (an operation may free a page and unmap it after).
    mutating func checkpoint() {
        if !undercounted.isEmpty { judgeUndercounted() }
        guard !suspects.isEmpty else { return }
        for s in suspects {
            for m in s.mappings where isLive(m.table) && tables[m.table]!.entries[m.va] == s.pa {
                tables[m.table]!.stale[m.va] = s.line
                let table = tables[m.table]!
                findings.addMappedFree(MappedFree(line: s.line, pa: s.pa, va: m.va, root: table.root, owner: table.owner,
                                                  kernel: table.kernel, by: summary(s.op), during: s.during))
            }
        }
        suspects.removeAll(keepingCapacity: true)
    }

    /// An operation in words, for reports.
    func summary(_ op: Int32) -> LeakOpSummary {
        guard let o = ops[op] else { return LeakOpSummary(kind: .kernel, pid: 0, line: 0) }
        return LeakOpSummary(kind: o.kind, pid: o.pid, line: o.line, parent: o.parent, path: o.path, failed: o.failed, n: o.n)
    }
}
