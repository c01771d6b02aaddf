/// A model probe once compared, as replay keeps it: what a departure's counts and the
/// held-pages tally read, in 24 bytes rather than a whole `ModelProbe`.
struct ModelRecord {
    /// The page (kalloc, kfree, map, satp), the table (unmap, freewalk, kvm_free_kernelpgtbl)
    /// or the pid (allocproc, freeproc).
    var pa: UInt64
    var event: Int32
    var site: Int32
    var kind: ProbeKind

    init(_ m: ModelProbe) {
        switch m.probe.kind {
        case .unmap, .freewalk, .kvmFree: pa = m.probe.pt
        case .allocproc, .freeproc: pa = UInt64(m.probe.pid)
        default: pa = m.probe.pa
        }
        event = Int32(truncatingIfNeeded: m.event); site = m.site; kind = m.probe.kind
    }
}

/// One of the streams replay compares (memory, satp, process), compared as the model's
/// probes arrive: each is checked against the log's probe at the same place at once, and
/// kept whole only near the departure (3 before it, it, and 3 after), for its context.
final class StreamComparison {
    let name: String
    /// The log's probes of this stream, as indices into the log's probes.
    let expected: [Int]
    /// Every model probe of the stream so far, compactly.
    var records: [ModelRecord] = []
    /// Where the two part, once they have.
    var departedAt: Int?
    /// The last 3 model probes that agreed; from the departure on, it and the 3 after it.
    var before: [ModelProbe] = []
    var after: [ModelProbe] = []
    /// Address-blind: the pages matched so far, for the comparison itself (`--blind-addresses`)
    /// or for one alongside the exact comparison, which only says where it parts.
    var pages: PageBinding?
    var blindPages: PageBinding?
    var blindPartedAt: Int?

    init(_ name: String, expected: [Int]) {
        self.name = name
        self.expected = expected
        records.reserveCapacity(expected.count + 64)
    }

    /// The model's next probe of this stream, compared with the log's.
    func add(_ m: ModelProbe, _ probes: [Probe], _ agreed: inout [ProbeKind: Int]) {
        let k = records.count
        records.append(ModelRecord(m))
        if blindPages != nil && blindPartedAt == nil && k < expected.count && !Replay.same(probes[expected[k]], m.probe, &blindPages) {
            blindPartedAt = k
        }
        if let d = departedAt {
            if k - d < 4 { after.append(m) }
            return
        }
        if k < expected.count, Replay.same(probes[expected[k]], m.probe, &pages) {
            agreed[m.probe.kind, default: 0] += 1
            if before.count == 3 { before.removeFirst() }
            before.append(m)
        } else {
            departedAt = k
            after = [m]
        }
    }

    /// Where the streams part once the model has run: at the first difference, or where
    /// one of them ends first (nil: they agree to the end).
    var departure: Int? {
        departedAt ?? (records.count < expected.count ? records.count : nil)
    }

    /// The model's probe at `k` (the departure), if it made one.
    func model(at k: Int) -> ModelProbe? { k == departedAt ? after.first : nil }

    /// The model's probes from `k - 3` to `k + 3`, as far as it made them.
    func context(at k: Int) -> [ModelProbe] { before + (k == departedAt ? after : []) }
}
