import XV6
import RISCV
import Support
import Scenario
import Run
import CosimLog

/// Where a stream parts, replay reads the model's tables then, and marks them with the log's
/// events of the departing operation when it reports (DepartureTables.swift).
extension ReplaySession {
    /// Reads the model's tables where `side` parts at `k`, with the model's probe `m` there:
    /// of the process the operation under way acts on (the log's or the model's, the one that
    /// began first, as `departure` finds it). The model makes its probes as it runs, and runs
    /// an operation once the log's probes of it are read, so it is still there; unless it made
    /// more probes of the stream than the log had, and has run on. Boot is then run again to
    /// that probe; a later operation's tables are read as they are, and said to be late.
    func captureTables(_ kernel: Kernel, _ side: StreamComparison, _ k: Int, _ m: ModelProbe) {
        guard readsTables else { return }
        let late = side.records.end - 1 != k
        let model = m.probe.kind.isMemory ? m.probe : nil
        if late && m.event == 0 {
            bootAgain(to: k, of: side.name) { self.tables[side.name] = DepartureTables.read($0, pid: 0, model: model, late: false) }
            return
        }
        var candidates = [m.event]
        if k >= side.expected.base && k < side.expected.end, case let i = side.expected[k], i >= store.opOf.base, store.opOf[i] >= 0 {
            candidates.append(Int(store.opOf[i]))
        }
        var pid = 0
        if let o = candidates.min(), o >= operations.base, o < operations.end {
            let op = operations[o]
            let reaped = op.processProbe.flatMap { $0 >= store.probes.base && $0 < store.end ? store[$0].other : nil }
            pid = Replay.actedOn(op, reaped: reaped).first { kernel.slot(ofPid: $0) != nil } ?? 0
        }
        tables[side.name] = DepartureTables.read(kernel, pid: pid, model: model, late: late)
    }

    /// Where the memory streams part inside a copyout, as the model makes the event there (not
    /// later: the model goes on copying, and the pages it copies are then no longer shared):
    /// the frames the other processes map at the pages the copy writes, with their pids.
    func noteSharers(_ kernel: Kernel, _ side: StreamComparison, _ k: Int, _ m: ModelProbe) {
        guard side.name == "memory", side.records.end - 1 == k, m.event >= operations.base, m.event < operations.end
        else { return }
        let op = operations[m.event]
        guard op.kind == .copyout, op.n > 0 else { return }
        let others = kernel.procs.filter { $0.state != .unused && $0.pid != op.pid }.map(\.pid).sorted()
        var page = pageRoundDown(op.va)
        let end = op.va &+ UInt64(op.n), last = page &+ 63 * pageSize       // as copyoutTerms: 64 pages at most
        while page < end && page <= last {
            for pid in others {
                guard let frame = kernel.userFrame(pid: pid, va: page) else { continue }
                var held = sharers[frame.rawValue] ?? (page, [])
                if !held.pids.contains(pid) { held.pids.append(pid) }
                sharers[frame.rawValue] = held
            }
            page &+= pageSize
        }
    }

    /// Boots a model again, as this one booted, and hands it to `body` as it makes its probe
    /// `k` of the stream `name`.
    func bootAgain(to k: Int, of name: String, _ body: @escaping (Kernel) -> Void) {
        let recorder = ProbeRecorder(store: ProbeStore())
        let side = recorder.streams.first { $0.name == name }!
        let writer = TraceWriter(format: .none, sites: SiteTree())
        let again = Kernel(unbooted: config, sink: writer, sites: writer.sites)
        var done = false
        writer.tap = { [unowned again] r, event in
            guard case .kernel(let e) = r else { return }
            recorder.take(e, event)
            if !done && side.records.end == k + 1 { done = true; body(again) }
        }
        writer.begin(event: 0, Event(kind: .boot, location: nil, label: "boot"))
        try? again.boot()
    }

    /// The tables read where `d` parts, marked with the log's events of its operation; with
    /// the kernel's side of each only for a report (an observer, or `kernelSides`), which
    /// alone draws it.
    func tables(at d: Departure) -> DepartureTables? {
        guard let read = tables[d.stream] else { return nil }
        let probes = d.operation?.probes.filter { $0 >= store.probes.base && $0 < store.end }.map { store[$0] } ?? []
        return read.marked(probes, from: d.log?.line ?? Int.max, kernelSide: kernelSides || observer != nil)
    }
}
