import XV6
import Support
import Scenario
import Run
import CosimLog
/// A model probe once compared, as replay keeps it: what a departure's counts and the
/// held-pages tally read, in 24 bytes rather than a whole `ModelProbe`.
package struct ModelRecord {
    /// The page (kalloc, kfree, map, satp), the table (unmap, freewalk, kvm_free_kernelpgtbl)
    /// or the pid (allocproc, freeproc).
    var pa: UInt64
    var event: Int32
    var site: Int32
    var kind: ProbeKind

    package init(_ m: ModelProbe) {
        switch m.probe.kind {
        case .unmap, .freewalk, .kvmFree: pa = m.probe.pt
        case .allocproc, .freeproc: pa = UInt64(m.probe.pid)
        default: pa = m.probe.pa
        }
        event = Int32(truncatingIfNeeded: m.event); site = m.site; kind = m.probe.kind
    }
}

/// The log's probes as replay reads them, by their index in the log (those still needed),
/// each with the operation that explains it once that operation is handed out (-1: none).
package final class ProbeStore {
    package var probes = ProbeWindow()
    var opOf = IndexedWindow<Int32>()
    /// The last few scheduler `satp` lines of each pid: (probe index, root).
    var schedulerSatp: [Int: [(Int, UInt64)]] = [:]

    package init() {}

    subscript(i: Int) -> Probe { probes[i] }
    package var end: Int { probes.end }
    package var base: Int { probes.base }

    package func append(_ p: Probe) {
        noteScheduler(p, at: probes.end)
        probes.append(p)
        opOf.append(-1)
    }

    /// Appends a run of probes at once; their scheduler `satp` lines are noted by the one
    /// who takes them, one by one (`noteScheduler`), as `append` would have noted them.
    func append(contentsOf run: ArraySlice<Probe>) {
        probes.append(contentsOf: run)
        opOf.append(repeating: -1, count: run.count)
    }

    /// Notes probe `i`, `p`, if the scheduler wrote it: the last 4 of each pid are kept, for
    /// the pids scheduled most recently (`schedulerPids`).
    @inline(__always)
    func noteScheduler(_ p: Probe, at i: Int) {
        guard p.kind == .satp && p.textID == ProbeText.scheduler else { return }
        var list = schedulerSatp[p.pid] ?? []
        if list.count == 4 { list.removeFirst() }
        list.append((i, p.pa))
        schedulerSatp[p.pid] = list
        if schedulerSatp.count > 2 * Self.schedulerPids { forgetLongUnscheduled() }
    }

    /// The pids whose scheduler satps are kept at least: far more than any real log runs
    /// processes. A generated log of 290,000 echoes held every pid's, 15 MB a 100,000
    /// (xv6 never reuses a pid), so memory grew with the log.
    package static let schedulerPids = 65_536

    /// Keeps the `schedulerPids` pids scheduled most recently.
    private func forgetLongUnscheduled() {
        let lasts = schedulerSatp.values.map { $0.last!.0 }.sorted()
        let keepFrom = lasts[lasts.count - Self.schedulerPids]
        schedulerSatp = schedulerSatp.filter { $0.value.last!.0 >= keepFrom }
    }

    /// The root the scheduler last loaded for `pid` before probe `i`, as far as it is known.
    package func schedulerRoot(of pid: Int, before i: Int) -> UInt64? {
        schedulerSatp[pid]?.last { $0.0 < i }?.1
    }

    func drop(below k: Int) {
        probes.drop(below: k)
        opOf.drop(below: k)
    }
}

/// One of the streams replay compares (memory, satp, process), compared as both sides come
/// in: the log's probes as they are read, the model's as it makes them. Each position is
/// compared once both have it; model probes are kept whole only near the departure (3 before
/// it, it, and 3 after), and compactly (`ModelRecord`) from a little before the position
/// compared last.
package final class StreamComparison {
    let name: String
    package let store: ProbeStore
    /// The log's probes of this stream, as indices into the log's probes, as they are read.
    var expected = IndexedWindow<Int>()
    /// The model's probes of this stream so far, compactly (`records.end`: how many).
    package var records = IndexedWindow<ModelRecord>()
    /// Model probes made before the log's probe at their position was read.
    private var unmatched: [ModelProbe] = []
    private var unmatchedHead = 0
    /// Positions compared (of the log's side; the model's is `compared + skew`, once
    /// --keep-going has skipped an operation's probes on one side more than on the other).
    private(set) var compared = 0
    private(set) var skew = 0
    /// After a departure, what is skipped before the two go on (--keep-going).
    private var resync: (event: Int, logThrough: Int)?
    /// Whether the departure has its context and waits for `resume` or `release`, and
    /// whether `onContext` has been told.
    private var paused = false
    private var told = false
    /// Called when the departure has its context (the model's 3 probes after it), with its
    /// position: the session may note it and `resume` (--keep-going).
    var onContext: ((StreamComparison, Int) -> Void)?
    /// Probes compared and agreeing, by kind (`ProbeKind.index`): an array, not a hash, for
    /// each probe compared.
    var agreed = [Int](repeating: 0, count: ProbeKind.allCases.count)
    /// Where the two part, once they have.
    var departedAt: Int?
    /// The last 3 model probes that agreed, with the log's probes they agreed with (a
    /// departure's context on the log's side, kept here so that a stream with few probes,
    /// satp on a stock kernel, holds no old part of the log in the store).
    private var lastAgreed = LastAgreed()
    var before: [ModelProbe] { lastAgreed.elements.map(\.0) }
    var logBefore: [Probe] { lastAgreed.elements.map(\.1) }
    /// From the departure on, it and the 3 after it.
    var after: [ModelProbe] = []
    /// Address-blind: the pages matched so far, for the comparison itself (`--blind-addresses`)
    /// or for one alongside the exact comparison, which only says where it parts.
    var pages: PageBinding?
    var blindPages: PageBinding?
    /// The address-blind comparison alongside, while the exact one agrees (`SeenPages`).
    var blindSeen: SeenPages?
    var blindPartedAt: Int?
    /// Called once, as the two part (with the position and the model's probe there).
    var onDepart: ((StreamComparison, Int, ModelProbe) -> Void)?
    /// Memory: the kernel's pages allocated, by the model's site at the same place, and the
    /// model's, up to the departure (what `--leaks` reads).
    var live = PageMap()
    var modelLive = PageSet()
    var tallies: Bool
    /// Whether the log's probes of this stream come in the log's order (memory, satp), not in
    /// the order their operations take effect (process).
    let inLogOrder: Bool
    /// The model's event of the last record, and where the records of that event and of the
    /// one before it begin.
    private var eventStarts = (event: -1, previous: 0, current: 0)

    package init(_ name: String, store: ProbeStore) {
        self.name = name
        self.store = store
        tallies = name == "memory"
        inLogOrder = name != "process"
    }

    /// The model's next probe of this stream.
    func add(_ m: ModelProbe) {
        if m.event != eventStarts.event { eventStarts = (m.event, eventStarts.current, records.end) }
        records.append(ModelRecord(m))
        if unmatchedHead == unmatched.count && !paused && resync == nil && compared < expected.end {
            // The log's probe at this position is read, and nothing waits before it: compared
            // at once, as `pump` would, without a stop in `unmatched`.
            compare(m, at: compared)
            compared += 1
            tellContext()
            return
        }
        unmatched.append(m)
        pump()
    }

    /// The log's next probe of this stream, at index `i`.
    func logged(_ i: Int) {
        expected.append(i)
        pump()
    }

    private func pump() {
        while unmatchedHead < unmatched.count && !paused {
            if let r = resync {
                // After a departure (--keep-going): each side skips the rest of the operation
                // it parted in, and the two go on from the next.
                if unmatched[unmatchedHead].event <= r.event { unmatchedHead += 1; skew += 1; continue }
                guard compared < expected.end else { break }
                if expected[compared] <= r.logThrough { compared += 1; skew -= 1; continue }
                resync = nil
            }
            guard compared < expected.end else { break }
            compare(unmatched[unmatchedHead], at: compared)
            unmatchedHead += 1
            compared += 1
        }
        if unmatchedHead > 0 && unmatchedHead == unmatched.count { unmatched.removeAll(keepingCapacity: true); unmatchedHead = 0 }
        tellContext()
    }

    /// Once the departure has its context: `onContext`, once.
    private func tellContext() {
        if paused && !told, let d = departedAt {
            told = true
            onContext?(self, d)
        }
    }

    /// Goes on comparing nothing after the departure (what the stream does without --keep-going).
    func release() {
        paused = false
        pump()
    }

    /// Goes on after the departure at `departedAt` (--keep-going): the model's probes of
    /// events up to `event` and the log's up to probe `logThrough` are skipped, and pages are
    /// matched by first use from then on (where pages went has parted with the departure).
    func resume(afterEvent event: Int, logThrough: Int) {
        guard departedAt != nil else { return }
        departedAt = nil
        paused = false
        told = false
        lastAgreed = LastAgreed()
        after = []
        resync = (event, logThrough)
        pages = PageBinding(ram: pages?.ram ?? blindPages?.ram ?? blindSeen?.ram ?? 0..<0)
        blindSeen = nil
        blindPages = nil
        tallies = false
        pump()
    }

    /// The log has ended: the model's probes still unmatched are past its end.
    func logEnded() {
        while let r = resync, unmatchedHead < unmatched.count, unmatched[unmatchedHead].event <= r.event { unmatchedHead += 1 }
        resync = nil
        while unmatchedHead < unmatched.count {
            compare(unmatched[unmatchedHead], at: compared)
            unmatchedHead += 1
            compared += 1
        }
    }

    private func compare(_ m: ModelProbe, at k: Int) {
        let log = k < expected.end ? store[expected[k]] : nil
        if blindSeen != nil {
            if departedAt == nil, let log, Replay.same(log, m.probe, &pages) {
                blindSeen!.note(log)
                agreed(m, log)
                return
            }
            blindPages = blindSeen!.binding
            blindSeen = nil
        }
        if blindPages != nil && blindPartedAt == nil && (log == nil || !Replay.same(log!, m.probe, &blindPages)) {
            blindPartedAt = k
        }
        if let d = departedAt {
            if k - d < 4 { after.append(m) }
            if k - d == 3 && onContext != nil { paused = true }
            return
        }
        if let log, Replay.same(log, m.probe, &pages) {
            agreed(m, log)
        } else {
            departedAt = k
            after = [m]
            onDepart?(self, k, m)
        }
    }

    private func agreed(_ m: ModelProbe, _ log: Probe) {
        agreed[m.probe.kind.index] += 1
        lastAgreed.append(m, log)
        if tallies { tally(log, m) }
    }

    private func tally(_ p: Probe, _ m: ModelProbe) {
        switch p.kind {
        case .kalloc where p.pa != 0: live[p.pa] = m.site
        case .kfree: live[p.pa] = nil
        default: break
        }
        switch m.probe.kind {
        case .kalloc where m.probe.pa != 0: modelLive[m.probe.pa] = true
        case .kfree: modelLive[m.probe.pa] = false
        default: break
        }
    }

    /// Where the streams part once both have ended: at the first difference, or where the
    /// model's probes ended before the log's (nil: they agree to the end).
    var departure: Int? {
        departedAt ?? (compared < expected.end ? compared : nil)
    }

    /// The log's probe index of the first position not yet compared and agreeing, if read.
    var frontier: Int? {
        let k = departedAt ?? compared
        return k < expected.end ? expected[k] : nil
    }

    /// The model's probe at `k` (the departure), if it made one.
    func model(at k: Int) -> ModelProbe? { k == departedAt ? after.first : nil }

    /// The model's probes from `k - 3` to `k + 3`, as far as it made them.
    func context(at k: Int) -> [ModelProbe] { before + (k == departedAt ? after : []) }

    /// Forgets what comes before the last few positions compared, unless it has departed
    /// (then the departure's operation is counted from what is kept).
    func forget() {
        guard departedAt == nil else { return }
        expected.drop(below: compared)
        records.drop(below: min(eventStarts.previous, max(0, compared + skew - 4)))
    }

    /// The oldest log probe this stream still needs: the one it compares next (the 3 before
    /// it, a departure's context, are kept in `logBefore`). Nil when every one read is compared.
    var oldestNeeded: Int? {
        // The process stream's probes come in the order their operations take effect, not
        // the log's: the oldest of those not yet compared.
        let from = max(departedAt ?? compared, expected.base)
        guard from < expected.end else { return nil }
        guard !inLogOrder else { return expected[from] }
        var oldest = expected[from]
        for k in from..<expected.end { oldest = min(oldest, expected[k]) }
        return oldest
    }
}

/// The last 3 agreements (the model's probe and the log's), in a ring of three slots, each
/// written in place at every agreement: plain fields, not optionals of a generic tuple,
/// which were copied through memcpy twice for every probe compared.
struct LastAgreed {
    private var m0: ModelProbe, m1: ModelProbe, m2: ModelProbe
    private var l0: Probe, l1: Probe, l2: Probe
    /// The slot the next agreement goes in, and how many are filled.
    private var next = 0, count = 0

    init() {
        let l = Probe(.kalloc), m = ModelProbe(probe: l, event: 0)
        (m0, m1, m2) = (m, m, m)
        (l0, l1, l2) = (l, l, l)
    }

    mutating func append(_ m: ModelProbe, _ l: Probe) {
        switch next {
        case 0: m0 = m; l0 = l
        case 1: m1 = m; l1 = l
        default: m2 = m; l2 = l
        }
        next = next == 2 ? 0 : next + 1
        if count < 3 { count += 1 }
    }

    /// Oldest first.
    var elements: [(ModelProbe, Probe)] {
        let all = [(m0, l0), (m1, l1), (m2, l2)]
        return (0..<count).map { all[(next - count + $0 + 3) % 3] }
    }
}

/// The first GiB of RAM from KERNBASE, where xv6's pages are, by page number: what a page
/// tally keeps in an array rather than a hash, for every kalloc and kfree compared.
private let nearRAM = MemLayout.kernbase..<(MemLayout.kernbase + (1 << 30))

/// The page (by page number in `nearRAM`) of an address, if it is a page's start there.
private func nearPage(_ pa: UInt64) -> Int? {
    nearRAM.contains(pa) && pa & 0xfff == 0 ? Int((pa - nearRAM.lowerBound) >> 12) : nil
}

/// Addresses, each with a number (the pages the kernel holds, by the model's allocation site).
package struct PageMap {
    /// By page: the number's bits + 1 (0: absent).
    private var near: [UInt32] = []
    private var far: [UInt64: Int32] = [:]

    package init() {}

    package subscript(pa: UInt64) -> Int32? {
        get {
            if let i = nearPage(pa), !near.isEmpty, near[i] != 0 { return Int32(bitPattern: near[i] &- 1) }
            return far.isEmpty ? nil : far[pa]
        }
        set {
            if let i = nearPage(pa), newValue.map({ $0 != -1 }) ?? true {
                if near.isEmpty {
                    if newValue == nil { far[pa] = nil; return }
                    near = [UInt32](repeating: 0, count: nearRAM.count >> 12)
                }
                near[i] = newValue.map { UInt32(bitPattern: $0) &+ 1 } ?? 0
                if !far.isEmpty { far[pa] = nil }
            } else {
                far[pa] = newValue
            }
        }
    }

    /// Every address held, with its number (in no particular order).
    package func forEach(_ body: (UInt64, Int32) -> Void) {
        for (i, v) in near.enumerated() where v != 0 { body(nearRAM.lowerBound + UInt64(i) << 12, Int32(bitPattern: v &- 1)) }
        for (pa, v) in far { body(pa, v) }
    }
}

/// A set of addresses (the pages the model holds).
package struct PageSet {
    /// By page, a bit each.
    private var near: [UInt64] = []
    private var far: Set<UInt64> = []

    package init() {}

    package subscript(pa: UInt64) -> Bool {
        get {
            if let i = nearPage(pa), !near.isEmpty, near[i >> 6] & (1 << UInt64(i & 63)) != 0 { return true }
            return !far.isEmpty && far.contains(pa)
        }
        set {
            if let i = nearPage(pa) {
                if near.isEmpty {
                    if !newValue { far.remove(pa); return }
                    near = [UInt64](repeating: 0, count: nearRAM.count >> 18)
                }
                if newValue { near[i >> 6] |= 1 << UInt64(i & 63) } else { near[i >> 6] &= ~(1 << UInt64(i & 63)) }
                if !far.isEmpty { far.remove(pa) }
            } else if newValue {
                far.insert(pa)
            } else {
                far.remove(pa)
            }
        }
    }
}
