import RISCV
import Support
import CosimLog

/// Reference counts (the COW lab), read from the log's own lines: a page's count is 1 at its
/// `kalloc`, one more at each `refinc`, one less at each `refdec`, and its `kfree` is the drop
/// that takes it to zero. The holders of a page are the processes whose user tables map it
/// (a `map` line puts it there, an `unmap` takes it out). Wherever a
/// holder goes (an `unmap`, a table freed) and the count does not follow, the page owes a
/// drop, and the event that left it owing is kept: at the end, a page nobody maps whose
/// count is still above zero leaked there, and one whose count is above its mappings can
/// never reach zero.
extension LogLeakTracker {
    /// What the kernel was doing, as its last process line says: where count sites happen.
    package struct CountContext: Hashable, Sendable {
        package enum Kind: UInt8, Sendable { case kernel, process, fork, exec, execfail, freeproc, growproc, sbrk, pagefault, copyout, exit, wait }
        package var kind = Kind.kernel
        package var pid = 0
        /// freeproc: the reaper; fork: the parent.
        package var other = 0
        package var line = 0
        package var path = ""
        package var va: UInt64 = 0
        package var n: Int64 = 0

        package var text: String {
            switch kind {
            case .kernel: return "the kernel"
            case .process: return "pid \(pid)"
            case .fork: return "fork by pid \(other) (child \(pid))"
            case .exec: return "exec of \(path) by pid \(pid)"
            case .execfail: return "failed exec of \(path) by pid \(pid)"
            case .freeproc: return "freeproc of pid \(pid)" + (other != 0 ? " (reaped by pid \(other))" : "")
            case .growproc: return "growproc of pid \(pid) (n=\(n))"
            case .sbrk: return "sbrk of pid \(pid) (n=\(n))"
            case .pagefault: return "a page fault of pid \(pid) at va \(hex16(va))"
            case .copyout: return "copyout by pid \(pid) to va \(hex16(va))"
            case .exit: return "exit of pid \(pid)"
            case .wait: return "wait by pid \(pid)"
            }
        }
    }

    /// Follows the process lines that name what the next memory lines are for.
    mutating func noteContext(_ p: Probe) {
        var c = CountContext(line: p.line)
        c.pid = p.pid
        switch p.kind {
        case .allocproc: c.kind = .fork; c.other = current
        case .fork:
            c.kind = .fork; c.pid = p.other; c.other = p.pid
        case .exec: c.kind = .exec; c.path = p.text; c.pid = current != 0 ? current : p.pid
        case .execfail: c.kind = .execfail; c.path = p.text; c.pid = current != 0 ? current : p.pid
        case .freeproc: c.kind = .freeproc; c.other = current
        case .growproc: c.kind = .growproc; c.n = p.n; c.pid = current != 0 ? current : p.pid
        case .sbrk: c.kind = .sbrk; c.n = p.n
        case .pagefault: c.kind = .pagefault; c.va = p.va; faultKalloc = 0
        case .copyout: c.kind = .copyout; c.va = p.va; faultKalloc = 0
        case .exit: c.kind = .exit
        case .wait: c.kind = .wait
        case .swtch:
            c.kind = p.other == 1 ? .process : .kernel
            if p.other != 1 { c.pid = 0 }
        default: return
        }
        context = c
    }

    /// The processes whose user tables (not kernel tables, whose entries mirror or
    /// direct-map) map the page: exec's new table and the old one it replaces hold the
    /// trapframe once between them.
    func holders(_ rec: PageRecord) -> Int {
        var owners: [Int] = []
        for m in rec.mappings {
            guard let t = tables[m.table], !t.kernel, !owners.contains(t.owner) else { continue }
            owners.append(t.owner)
        }
        return owners.count
    }

    /// After a holder or the count changed: a page whose count rose above its holders owes
    /// a drop to the event `site` names (when `owes`); drops and new holders pay the latest first.
    /// One whose count fell below its holders is judged at the next operation line (`at`: the
    /// event that made it so).
    mutating func settle(_ pa: UInt64, owes: CountSite.Event?, at event: CountSite.Event? = nil,
                         line: Int, table t: Int32 = 0, va: UInt64 = 0) {
        guard counted, let rec = pages[pa], rec.role == .data || rec.role == .bare else { return }
        let surplus = Int(rec.count) - holders(rec)
        if let owes, surplus > rec.debts.count {
            pages[pa]!.debts.append(site(owes, line: line, table: t, va: va))
        } else if rec.debts.count > max(surplus, 0) {
            pages[pa]!.debts.removeLast(rec.debts.count - max(surplus, 0))
        }
        if surplus < 0 {
            if let event, !rec.undercounted, undercounted[pa] == nil { undercounted[pa] = site(event, line: line, table: t, va: va) }
        } else if !undercounted.isEmpty {
            undercounted[pa] = nil
        }
    }

    /// At an operation line: a page more user tables map than its count says has lost a
    /// raise (a fork that shared it without one, a drop too many): it will be freed while mapped.
    mutating func judgeUndercounted() {
        for (pa, event) in undercounted.sorted(by: { ($0.value.line, $0.key) < ($1.value.line, $1.key) }) {
            guard let rec = pages[pa] else { continue }
            let h = holders(rec)
            guard Int(rec.count) < h else { continue }
            pages[pa]!.undercounted = true
            var f = CountFinding(kind: .belowMappings, line: event.line, pa: pa, count: Int(rec.count), n: Int64(h),
                                 before: rec.line, by: event.by)
            f.mapped = (event.root, event.owner, event.va)
            f.isFree = event.event != .mapped
            findings.counts.append(f)
        }
        undercounted.removeAll(keepingCapacity: true)
    }

    func site(_ event: CountSite.Event, line: Int, table t: Int32 = 0, va: UInt64 = 0) -> CountSite {
        let table = tables[t]
        return CountSite(event: event, line: line, context: context, va: va, root: table?.root ?? 0, owner: table?.owner ?? 0)
    }

    mutating func refinc(_ p: Probe) {
        counted = true
        guard pages[p.pa] != nil else {
            findings.counts.append(CountFinding(kind: .raisedWhileFree, line: p.line, pa: p.pa, count: 0, n: p.n,
                                                before: lastFreed[p.pa] ?? 0, by: context.text))
            return
        }
        let count = Int64(pages[p.pa]!.count) + 1
        if p.n != count {
            var f = CountFinding(kind: .outOfStep, line: p.line, pa: p.pa, count: Int(count), n: p.n,
                                 before: pages[p.pa]!.line, by: context.text)
            f.isRaise = true
            findings.counts.append(f)
        }
        pages[p.pa]!.count = Int32(clamping: p.n)
        if pages[p.pa]!.sharedLine == 0 { pages[p.pa]!.sharedLine = p.line }
        settle(p.pa, owes: .raised, line: p.line)
    }

    mutating func refdec(_ p: Probe) {
        counted = true
        guard pages[p.pa] != nil else {
            var f = CountFinding(kind: .belowZero, line: p.line, pa: p.pa, count: -1, n: p.n,
                                 before: lastFreed[p.pa] ?? 0, by: context.text)
            f.ofFreePage = true
            findings.counts.append(f)
            return
        }
        let count = Int64(pages[p.pa]!.count) - 1
        if p.n < 0 {
            findings.counts.append(CountFinding(kind: .belowZero, line: p.line, pa: p.pa, count: Int(count), n: p.n,
                                                before: pages[p.pa]!.line, by: context.text))
        } else if p.n != count {
            findings.counts.append(CountFinding(kind: .outOfStep, line: p.line, pa: p.pa, count: Int(count), n: p.n,
                                                before: pages[p.pa]!.line, by: context.text))
        }
        pages[p.pa]!.count = Int32(clamping: p.n)
        settle(p.pa, owes: nil, at: .dropped, line: p.line)
        copyLeaves(p.pa, pages[p.pa]!)
    }

    /// A COW copy's drop of the old page, a `refdec`, or a `kfree` when the count reached
    /// zero (a kernel that copies even a page nobody else holds, as whileskies' does): the
    /// faulting process's entry leaves the old page, with or without an unmap line.
    mutating func copyLeaves(_ pa: UInt64, _ rec: PageRecord) {
        guard context.kind == .pagefault || context.kind == .copyout else { return }
        if handSwap != nil { applyHandSwap() }
        let pid = current != 0 ? current : context.pid
        if let m = rec.mappings.first(where: { isLive($0.table) && tables[$0.table]!.owner == pid && !tables[$0.table]!.kernel }) {
            handSwap = (pa, m.table, m.va, faultKalloc)
        }
    }

    /// The COW copy's drop was followed by no `unmap` of its entry: the kernel wrote the PTE
    /// by hand. The entry now maps the page the copy allocated, if the log showed one.
    mutating func applyHandSwap() {
        guard let h = handSwap else { return }
        handSwap = nil
        guard tables[h.table] != nil, tables[h.table]!.entries[h.va] == h.pa else { return }
        tables[h.table]!.entries[h.va] = nil
        tables[h.table]!.stale[h.va] = nil
        if var rec = pages[h.pa], let i = rec.mappings.firstIndex(where: { $0.table == h.table && $0.va == h.va }) {
            rec.mappings.remove(at: i)
            pages[h.pa] = rec
            settle(h.pa, owes: nil, line: lastLine)
        }
        if h.fresh != 0, pages[h.fresh]?.role == .bare { mapLeaves(h.table, first: h.va, last: h.va, pa: h.fresh) }
    }

    /// An unmap or map of the COW copy's entry: the kernel shows the switch itself.
    mutating func handSwapShown(_ t: Int32, first: UInt64, pages n: UInt64) {
        guard let h = handSwap, h.table == t, h.va >= first, (h.va - first) >> 12 < n else { return }
        handSwap = nil
    }

    /// A kfree in a counted log is the drop that takes the count to zero: one taken from
    /// above one frees a page others still count; one from zero or below takes it below zero.
    /// Returns whether it was reported (then not as a free of a mapped page too).
    mutating func countedFree(_ p: Probe, _ rec: PageRecord) -> Bool {
        guard counted, rec.count != 1 else { return false }
        let live = rec.mappings.first { isLive($0.table) && !tables[$0.table]!.kernel }
        var f = CountFinding(kind: rec.count > 1 ? .freedWithCount : .belowZero, line: p.line, pa: p.pa, count: Int(rec.count) - 1,
                             n: 0, before: rec.sharedLine != 0 ? rec.sharedLine : rec.line, by: context.text)
        f.isFree = true
        if let live, let t = tables[live.table] { f.mapped = (t.root, t.owner, live.va) }
        findings.counts.append(f)
        return rec.count > 1
    }
}

/// An event that left a page counted above its holders: the unmap or table free that
/// dropped a holder without the count, or a raise with no new holder.
public struct CountSite: Hashable, Sendable {
    public enum Event: UInt8, Sendable { case unmapped, rootFreed, remapped, raised, mapped, dropped }
    public var event: Event
    public var line: Int
    package var context: LogLeakTracker.CountContext
    /// The va the holder mapped the page at, its table's root and owner.
    public var va: UInt64
    public var root: UInt64
    public var owner: Int

    /// The operation it happened in, in words.
    public var by: String { context.text }

    public var text: String {
        switch event {
        case .unmapped: return "\(by), unmap at line \(line)"
        case .rootFreed: return "\(by), table freed at line \(line)"
        case .remapped: return "\(by), remapped at line \(line)"
        case .raised: return "\(by), raised at line \(line)"
        case .mapped: return "\(by), map at line \(line)"
        case .dropped: return "\(by), refdec at line \(line)"
        }
    }
}

/// A count the log's lines show misused, at the line that does it.
public struct CountFinding: Sendable {
    public enum Kind: Int, Sendable { case freedWithCount, belowZero, belowMappings, raisedWhileFree, outOfStep }
    public var kind: Kind
    public var line: Int
    public var pa: UInt64
    /// The count after this line as the log's lines give it (freedWithCount: what is left).
    public var count: Int
    /// refinc, refdec: the count the kernel printed.
    public var n: Int64
    /// A free page: its last kfree (0: never); else the line it was allocated or first shared.
    public var before: Int
    /// The operation it happened in, in words.
    public var by: String
    /// The line is a kfree.
    public var isFree = false
    /// The page was free (not allocated) when the line came.
    public var ofFreePage = false
    /// The line is a refinc.
    public var isRaise = false
    /// freedWithCount: a user table that still maps it (root, owner, va); belowMappings: the
    /// map that made it so (isFree: a refdec did), and `n` the user tables that map it.
    public var mapped: (root: UInt64, owner: Int, va: UInt64)?
}

/// Pages whose count is above the user tables that map them, for the same sites.
public struct CountSurplus: Sendable {
    public var sites: [CountSite]
    /// The pages, each with the va its first holder maps it at and its count.
    public var pages: [(pa: UInt64, va: UInt64, count: Int)]
    /// The first page's holders: owner pids.
    public var holders: [Int]
}
