import Support
import Scenario
import Run
import CosimLog
/// Items of a stream by their index in it, holding only those from `base` on: the log's
/// probes as replay reads them, and what the importer notes of each.
package struct IndexedWindow<T> {
    package var base = 0
    private var items: [T] = []

    /// One past the last index held (the stream's length so far).
    package var end: Int { base + items.count }

    subscript(i: Int) -> T {
        // Borrowed, not copied: `ops[o].kind` must not retain and release the operation's
        // arrays (settling cowtest's log spent half its time doing that).
        _read { yield items[i - base] }
        // In place: `ops[o].probes.append(i)` must not copy the operation's probes each time.
        _modify { yield &items[i - base] }
    }

    mutating func append(_ x: T) { items.append(x) }

    /// Appends `count` of `x` at once, not checking the array's uniqueness and room for each.
    mutating func append(repeating x: T, count: Int) { items.append(contentsOf: repeatElement(x, count: count)) }

    /// Forgets the items before `k`. The array is cut only once at least half of it (and
    /// 4,096 items) can go, so that each item is moved at most once more on average.
    mutating func drop(below k: Int) {
        let n = min(k, end) - base
        guard n >= 4096, n >= items.count / 2 else { return }
        items.removeFirst(n)
        base += n
    }
}

/// Handing operations out as the log streams in: an operation goes out once nothing read
/// later can change it or move it before another (docs/replay-performance.md).
extension LogImporter {
    /// Whether operation `o` may still gain probes or move: its process is in the middle of it,
    /// a fork's late mirror may still take pages for it, or it is an exit whose place (the
    /// process's switch away from the CPU) has not been read.
    @inline(__always)
    func unsettled(_ o: Int, _ openOps: [Int]) -> Bool {
        openOps.contains(o) || ops[o].kind == .exit && exitsAwaiting[ops[o].pid] == o
    }

    /// The earliest probe index an operation not yet handed out could still take effect at,
    /// or a new one could: nothing before it moves any more.
    /// Whether each is settled is given (`settled`, in `waiting`'s order).
    func watermark(_ settled: [Bool]) -> Int {
        var w = oldestPending(below: probes.end)
        for (k, o) in waiting.enumerated() where !settled[k] { w = min(w, min(ops[o].probes.first ?? ops[o].at, ops[o].at)) }
        return w
    }

    /// The operations that can go out now, in the order they take effect (the log's end:
    /// all of them). Each is placed once its place can no longer change.
    mutating func settle(atEnd: Bool) throws(ImportError) -> [LogOperation] {
        if !atEnd && nothingToSettle() {
            settles.skipped += 1
            noteWaitingOldest()
            return []
        }
        // A few (one per process in the middle of something): searched, not hashed.
        var openOps = open.values
        for late in lateMirror.values { openOps.append(late.op) }
        if atEnd { openOps = []; exitsAwaiting = PidMap() }
        // Whether each waiting operation is settled, found once (placing changes none of it).
        let waitingNow = waiting
        let settled = waitingNow.map { !unsettled($0, openOps) }
        let w = atEnd ? Int.max : watermark(settled)
        // The next settles may be skipped only while the watermark the unsettled operations
        // give is this one (they agree on every fixture log: docs/replay-performance.md).
        let skippable = !atEnd && w == unsettledWatermark()
        // Placing may move an operation to just before the fresh exec it falls in: one back.
        let bound = atEnd ? Int.max : w - 1
        for (k, o) in waitingNow.enumerated() where settled[k] && !ops[o].spanned { addSpan(o) }
        var batch: [Int] = []
        for (k, o) in waitingNow.enumerated() where settled[k] {
            if !ops[o].placed {
                guard provisionalPlace(o) < bound else { continue }
                place(o)
                // A reaped process's exit, placed: its last switch is read no more.
                if ops[o].kind == .exit, lives[ops[o].pid]?.reaped == true { lastFrom[ops[o].pid] = nil }
            }
            if ops[o].at < bound { batch.append(o) }
        }
        try checkNotSplit(upTo: min(bound, probes.end))
        settles.full += 1
        guard !batch.isEmpty else {
            lastFullSettle = (skippable ? w : -1, waiting.count)
            noteWaitingOldest()
            return []
        }
        // Accesses come just before the fork they prepare, which was made first.
        func rank(_ o: LogOperation) -> Int { o.kind == .load || o.kind == .store ? 0 : 1 }
        batch.sort { a, b in
            let x = ops[a], y = ops[b]
            if x.at != y.at { return x.at < y.at }
            return rank(x) != rank(y) ? rank(x) < rank(y) : a < b
        }
        let out = batch.map { o -> LogOperation in
            emission[o] = Int32(emitted)
            emitted += 1
            return ops[o]
        }
        // Those handed out have their place in the emission now.
        waiting.removeAll { emission[$0] >= 0 }
        lastFullSettle = (skippable ? w : -1, waiting.count)
        noteWaitingOldest()
        return out
    }

    /// Whether a settle now would hand out and place nothing: the watermark has not moved
    /// since the last full settle, and every operation made since starts at or after it.
    /// Then every operation still waiting takes effect at or after the watermark (those
    /// that were, stay; an exit's place only moves later), and so past the bound. What such
    /// a settle would still do, note the spans of newly settled operations, the next full
    /// one does before it places anything. Settling cowtest's log went through about 2,000
    /// waiting operations each time (a COW fork open over 20,000 probes holds them back):
    /// a fifth of the import thread's instructions.
    func nothingToSettle() -> Bool {
        guard lastFullSettle.watermark >= 0, lastFullSettle.waiting <= waiting.count,
              unsettledWatermark() == lastFullSettle.watermark else { return false }
        for o in waiting[lastFullSettle.waiting...] {
            if min(ops[o].probes.first ?? ops[o].at, ops[o].at) < lastFullSettle.watermark { return false }
        }
        return true
    }

    /// The watermark found from the unsettled operations alone (few: each open, late or
    /// awaiting its switch away), as `watermark` finds it going through every waiting one.
    func unsettledWatermark() -> Int {
        var w = oldestPending(below: probes.end)
        func note(_ o: Int) {
            guard o >= emission.base, emission[o] < 0 else { return }
            w = min(w, min(ops[o].probes.first ?? ops[o].at, ops[o].at))
        }
        for o in open.values { note(o) }
        for late in lateMirror.values { note(late.op) }
        for o in exitsAwaiting.values { note(o) }
        return w
    }

    /// The oldest probe the waiting operations still read (`oldestNeeded`'s part of it),
    /// found as a settle ends, for as long as no probe is read after it: `oldestNeeded`,
    /// asked right after, does not go through them all again.
    mutating func noteWaitingOldest() {
        var oldest = Int.max
        // An exit's place moves to its process's last switch away: its line is older.
        // Two at a time: `min` of four makes an array of the rest on every call.
        for o in waiting {
            let at = ops[o].at
            oldest = min(min(oldest, ops[o].probes.first ?? at), min(at, ops[o].processProbe ?? oldest))
        }
        waitingOldest = (probes.end, oldest)
    }

    /// Where operation `o` takes effect before any other is moved: an exit at its process's
    /// last switch away.
    mutating func provisionalPlace(_ o: Int) -> Int {
        if ops[o].kind == .exit, let last = lastFrom[ops[o].pid], last > ops[o].at { ops[o].at = last }
        return ops[o].at
    }

    /// Notes the span of probes operation `o` explains, now final.
    mutating func addSpan(_ o: Int) {
        ops[o].spanned = true
        guard let firstProbe = ops[o].probes.first, ops[o].kind != .boot else { return }
        let first = min(firstProbe, ops[o].at), last = max(ops[o].probes.last!, ops[o].processProbe ?? 0)
        guard first < last else { return }
        for k in first..<last { spanEnd[k] = max(spanEnd[k], last) }
        if execReplacesKernelTable && ops[o].kind == .exec && first > 0 { for k in first..<last { freshExecStart[k] = first } }
    }

    /// Each operation takes effect where it is printed, except: exit, at the process's last
    /// `swtch from=` (it is a zombie only then); and anything that falls inside another
    /// operation's probes (a sleep in exec), just after that operation; under a kernel whose
    /// exec builds a fresh kernel table, a switch inside that exec goes just before it (the
    /// scheduler loads the old table while the exec sleeps).
    mutating func place(_ o: Int) {
        ops[o].placed = true
        switch ops[o].kind {
        case .boot, .load, .store: return
        default: break
        }
        let at = ops[o].at
        guard at >= spanEnd.base, at < spanEnd.end, spanEnd[at] >= 0 else { return }
        if let first = ops[o].probes.first, first <= at { return }
        if execReplacesKernelTable && freshExecStart[at] > 0 && [.yield, .run, .sleep].contains(ops[o].kind) {
            ops[o].at = freshExecStart[at] - 1
            return
        }
        // Inside another operation: after it (the order among those moved is kept).
        if spanEnd[at] > at { ops[o].at = spanEnd[at] }
    }

    /// Two operations whose memory probes interleave cannot be replayed: the model runs
    /// each operation whole. Checked for the probes before `end`, whose operations are known.
    mutating func checkNotSplit(upTo end: Int) throws(ImportError) {
        while split.next < end {
            let i = split.next
            split.next += 1
            guard probes[i].kind.isMemory else { continue }
            let o = opOf[i]
            guard o >= 0 else { continue }
            if o != split.lastOp {
                if split.lastOp >= 0, split.lastEnd > i, ops[Int(split.lastOp)].kind != .boot {
                    let a = ops[Int(split.lastOp)], b = ops[Int(o)]
                    throw fail(i, "\(b.summary) runs in the middle of \(a.summary) (log line \(a.line)): "
                               + "a kernel operation split by preemption or a sleep; xv6vm replays each operation whole")
                }
                split.lastOp = o
                split.lastEnd = ops[Int(o)].probes.last ?? i
            }
        }
    }

    /// The first probe of the oldest bare kallocs not yet claimed (argument pages, pipes), or
    /// `k` if none is older.
    func oldestPending(below k: Int) -> Int {
        var w = k
        for list in pending.values { if let first = list.first { w = min(w, first) } }
        return w
    }

    /// The oldest probe before `k` the importer still reads: what its probes may be
    /// forgotten below.
    func oldestNeeded(below k: Int) -> Int {
        var keep = oldestPending(below: min(k, split.next))
        if waitingOldest.at == probes.end { return min(keep, waitingOldest.oldest) }
        // An exit's place moves to its process's last switch away: its line is older.
        // Two at a time: `min` of four makes an array of the rest on every call.
        for o in waiting {
            let at = ops[o].at
            keep = min(min(keep, ops[o].probes.first ?? at), min(at, ops[o].processProbe ?? keep))
        }
        return keep
    }

    /// Forgets what the importer holds of probes before `k` and of operations handed out,
    /// as far as it no longer needs them.
    mutating func forget(below k: Int) {
        forget(keeping: oldestNeeded(below: k))
    }

    /// Forgets the probes before `keep` (at most `oldestNeeded`) and the operations handed out.
    mutating func forget(keeping keep: Int) {
        probes.drop(below: keep)
        opOf.drop(below: keep)
        spanEnd.drop(below: keep)
        if execReplacesKernelTable { freshExecStart.drop(below: keep) }
        let oldest = min(waiting.first ?? ops.end, split.lastOp >= 0 ? Int(split.lastOp) : ops.end)
        ops.drop(below: oldest)
        emission.drop(below: oldest)
    }
}
