import XV6
import RISCV
import Support
import Scenario
import Run
import CosimLog

/// What a replay comes to: the first departure, in the student's terms, and the tallies.
extension ReplaySession {
    /// The report, once the log has ended or the departure is `decided`. `kernelPanic`: the
    /// kernel's, from its log, and its line.
    public func report(kernelPanic: (line: Int, message: String)?) -> ReplayReport {
        let streams = recorder.streams
        var departures: [Departure] = []
        for side in streams {
            guard let k = logEnded ? side.departure : side.departedAt,
                  !found.contains(where: { $0.departure.stream == side.name && $0.departure.position == k }) else { continue }
            departures.append(departure(side, k))
        }
        func line(_ d: Departure) -> Int { d.log?.line ?? Int.max }
        // Exactly, the streams part; say whether only addresses are to blame, or until where.
        let firstExact = departures.min { line($0) < line($1) }
        let blindPartsAt = blind || !["memory", "satp"].contains(firstExact?.stream ?? "") ? nil
            : blindParts([recorder.memory, recorder.satp], after: departures.map(line).min() ?? 0)
        departures += found.map(\.departure)
        if logEnded && departures.isEmpty && kernelPanic?.message != modelPanic {
            departures.append(Replay.panicDeparture(kernelPanic, modelPanic, []))
        }
        let first = departures.min { line($0) < line($1) }
        var report = ReplayReport(file: file, variant: config.variant, operations: max(0, operations.end - 1),
                                  agreed: recorder.agreed, departure: first, panic: modelPanic, kernelPanic: kernelPanic,
                                  held: [], heldAtLine: 0)
        report.departure?.tables = first?.tables ?? first.flatMap(tables(at:))
        report.blind = blind
        report.blindPartsAt = keepGoing > 1 ? nil : blindPartsAt
        if keepGoing > 1 {
            report.departures = Array(departures.sorted { line($0) < line($1) }.prefix(keepGoing))
            for i in report.departures.indices {
                report.departures[i].ordinal = i + 1
                if report.departures[i].tables == nil { report.departures[i].tables = tables(at: report.departures[i]) }
            }
        }
        report.pipes = pipes
        report.readWhole = logEnded
        report.readToLine = store.end > store.probes.base ? store[store.end - 1].line : 0
        held(&report, finishing: first?.stream == "memory" ? first?.model?.event : nil)
        if let h = firstHeld { report.held = h.held; report.heldAtLine = h.line }
        return report
    }

    /// The log line where the memory and satp streams part address-blind, when that is later
    /// than `exact` (0: they do not part, or only past the log's end); nil when not later.
    func blindParts(_ streams: [StreamComparison], after exact: Int) -> Int? {
        var parts: Int?
        for side in streams {
            let k = side.blindPartedAt ?? side.compared
            let at = k < side.expected.end ? store[side.expected[k]].line : (k < side.records.end ? Int.max : nil)
            if let at { parts = min(parts ?? at, at) }
        }
        guard let parts else { return 0 }
        return parts > exact ? (parts == Int.max ? 0 : parts) : nil
    }

    /// The departure of `side` at its position `k`, in the student's terms.
    func departure(_ side: StreamComparison, _ k: Int) -> Departure {
        let stream = side.name
        let log = k < side.expected.end ? store[side.expected[k]] : nil
        let model = side.model(at: k)
        let lo = max(side.expected.base, k)
        let logContext = side.logBefore + (lo < min(side.expected.end, k + 4) ? (lo..<min(side.expected.end, k + 4)).map { store[side.expected[$0]] } : [])
        let modelContext = side.context(at: k)
        func op(ofProbeAt position: Int) -> Int? {
            guard position >= side.expected.base, position < side.expected.end else { return nil }
            let i = side.expected[position]
            return i >= store.opOf.base && store.opOf[i] >= 0 ? Int(store.opOf[i]) : nil
        }
        // The operation under way: of the log's probe and the model's, the one that began first
        // (the other side has already moved on from it).
        var candidates: [Int] = []
        if let o = op(ofProbeAt: k) { candidates.append(o) }
        if let m = model { candidates.append(m.event) }
        if candidates.isEmpty, k > 0, let o = op(ofProbeAt: k - 1) { candidates.append(o) }
        let opIndex = candidates.min()
        var d = Departure(stream: stream, position: k, log: log, model: model, logContext: logContext, modelContext: modelContext,
                          operation: nil, event: opIndex, logCounts: [], modelCounts: [], modelSites: [], verdict: "")
        if let o = opIndex, o >= operations.base, o < operations.end {
            describe(&d, operations[o], o, side)
        }
        if d.verdict.isEmpty {
            d.verdict = log == nil ? "the log ends here; the model goes on with \(side.records.end - k) more \(stream) events"
                                   : "the model stops here; the log goes on with \(side.expected.end - k) more \(stream) events"
                                     + (logEnded ? "" : " as far as it was read")
        }
        if let m = model, m.probe.kind == .kalloc || m.probe.kind == .kfree { d.modelSite = sites.name(m.site) }
        return d
    }

    /// The operation under way at a departure: what it did on each side, kind by kind, and a
    /// sentence on the difference.
    private func describe(_ d: inout Departure, _ op: LogOperation, _ o: Int, _ side: StreamComparison) {
        let stream = side.name
        d.operation = op
        var lc: [ProbeKind: Int] = [:], mc: [ProbeKind: Int] = [:], sc: [String: Int] = [:]
        let kernelOp = op.probes.filter { $0 >= store.probes.base }.map { store[$0] }
        for p in kernelOp where stream == "memory" || !p.kind.isMemory { lc[p.kind, default: 0] += 1 }
        var modelOp: [ModelRecord] = []
        for r in side.records.base..<side.records.end where Int(side.records[r].event) == o { modelOp.append(side.records[r]) }
        for m in modelOp {
            mc[m.kind, default: 0] += 1
            if m.kind == (d.model?.probe.kind ?? d.log?.kind) { sc[sites.name(m.site), default: 0] += 1 }
        }
        d.logCounts = ProbeKind.allCases.compactMap { k in lc[k].map { (k, $0) } }
        d.modelCounts = ProbeKind.allCases.compactMap { k in mc[k].map { (k, $0) } }
        d.modelSites = sc.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }
        let kf = lc[.kfree] ?? 0, mf = mc[.kfree] ?? 0, ka = lc[.kalloc] ?? 0, ma = mc[.kalloc] ?? 0
        let what = Replay.innermost(op, modelOp)
        let kernelTable = store.schedulerRoot(of: op.pid, before: op.at)
        if stream == "memory", let sentence = Replay.copyoutTerms(op, modelOp, kernelOp, sharers: sharers)
            ?? Replay.freeprocTerms(what, modelOp, kernelOp, sites)
            ?? Replay.mirrorTerms(what, op, d.model, kernelTable: kernelTable) {
            d.verdict = sentence
        } else if stream == "memory" && mf != kf {
            d.verdict = "in \(what), the kernel frees \(Replay.pages(kf)); the model frees \(mf): "
                + (mf > kf ? "\(Replay.pages(mf - kf)) the kernel never frees" : "the kernel frees \(Replay.pages(kf - mf)) the model keeps")
        } else if stream == "memory" && ma != ka {
            d.verdict = "in \(what), the kernel allocates \(Replay.pages(ka)); the model allocates \(ma)"
        } else if let l = d.log, let m = d.model {
            d.verdict = "in \(what), the kernel's \(l.kind.rawValue) is not the model's \(m.probe.kind.rawValue)"
        }
    }

    /// The kernel's pages still allocated where the memory streams stop agreeing, by aligned
    /// site; the model finishes the operation it was in where the two part (`finishing`).
    func held(_ report: inout ReplayReport, finishing event: Int?) {
        let side = recorder.memory
        var modelLive = side.modelLive
        let n = side.departedAt ?? side.compared
        if let event, let d = side.departedAt {
            var k = max(d, side.records.base)
            while k < side.records.end, Int(side.records[k].event) == event {
                switch side.records[k].kind {
                case .kalloc where side.records[k].pa != 0: modelLive[side.records[k].pa] = true
                case .kfree: modelLive[side.records[k].pa] = false
                default: break
                }
                k += 1
            }
        }
        var bySite: [Int32: (Int, Int)] = [:]
        side.live.forEach { pa, site in
            var e = bySite[site] ?? (0, 0)
            e.0 += 1
            if !modelLive[pa] { e.1 += 1 }
            bySite[site] = e
        }
        // Typed step by step: as one chain of closures over tuples this took 0.8 s of the
        // release build to type-check.
        var rows: [(site: String, pages: Int, modelFreed: Int)] = []
        for (site, counts) in bySite { rows.append((site: sites.name(site), pages: counts.0, modelFreed: counts.1)) }
        rows.sort { a, b in a.pages != b.pages ? a.pages > b.pages : a.site < b.site }
        report.held = rows
        report.heldAtLine = n < side.expected.end && n >= side.expected.base ? store[side.expected[n]].line
            : (store.end > store.probes.base ? store[store.end - 1].line : 0)
    }
}
