import CosimLog
/// The log's probes by index, those still needed: a window like `IndexedWindow`, but a run of
/// probes appended at once from a batch the reader parsed is kept as a slice of that batch,
/// not copied. The import thread hands the main thread the reader's batches as they are, so
/// the two threads' windows share the batches' storage: a probe is held once, not once a
/// thread (cowtest's log: 10 MB less at the peak), and the main thread copies nothing.
/// Short runs and single probes are copied into a tail, as an array window does.
package struct ProbeWindow {
    /// Slices of batches, in index order, then the tail.
    private var segments: [ArraySlice<Probe>] = []
    /// The index of each segment's first probe.
    private var starts: [Int] = []
    private var tail: [Probe] = []
    private var tailStart = 0
    /// The oldest index held.
    package private(set) var base = 0

    /// Runs at least this long are kept as slices.
    static let sliceAtLeast = 1024

    package init() {}

    /// One past the last index held (the log's probes read so far).
    package var end: Int { tailStart + tail.count }

    package subscript(i: Int) -> Probe {
        if i >= tailStart { return tail[i - tailStart] }
        // The newest segments first: the probes read are mostly recent ones.
        var s = starts.count - 1
        while starts[s] > i { s -= 1 }
        let seg = segments[s]
        return seg[seg.startIndex + (i - starts[s])]
    }

    package mutating func append(_ p: Probe) { tail.append(p) }

    package mutating func append(contentsOf run: ArraySlice<Probe>) {
        guard run.count >= Self.sliceAtLeast else { tail.append(contentsOf: run); return }
        if !tail.isEmpty {
            segments.append(tail[...])
            starts.append(tailStart)
            tailStart += tail.count
            tail = []
        }
        segments.append(run)
        starts.append(tailStart)
        tailStart += run.count
    }

    /// Forgets the probes before `k`, as far as whole segments go (and the tail as an array
    /// window cuts its own: once half of it, and 4,096 probes, can go).
    package mutating func drop(below k: Int) {
        var n = 0
        while n < segments.count && starts[n] + segments[n].count <= k { n += 1 }
        if n > 0 {
            segments.removeFirst(n)
            starts.removeFirst(n)
        }
        base = starts.first ?? tailStart
        guard segments.isEmpty else { return }
        let cut = min(k, end) - tailStart
        if cut >= 4096 && cut >= tail.count / 2 {
            tail.removeFirst(cut)
            tailStart += cut
            base = tailStart
        }
    }
}
