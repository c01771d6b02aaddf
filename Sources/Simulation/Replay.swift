import XV6
import RISCV

/// A probe the model made, with where it came from.
public struct ModelProbe: Sendable {
    public var probe: Probe
    /// The scenario event (= imported operation) that caused it.
    public var event: Int
    /// kalloc/kfree: the allocation site's chain.
    public var site: Int32 = 0
}

/// Turns the model's trace events into probes the way a kernel's `@T` lines show them,
/// and compares each with the log's as it comes, in the three streams replay compares.
final class ProbeRecorder {
    let memory: StreamComparison
    let satp: StreamComparison
    let process: StreamComparison
    let events: [Event]
    let probes: [Probe]
    /// Probes compared and agreeing, by kind.
    var agreed: [ProbeKind: Int] = [:]
    /// Whether the model's kvminithart writes after boot are left out (an idle loop's, in the kernel).
    var skipsKvminithartAfterBoot = false

    /// Compares physical pages by first use (`blind`), or by address with the address-blind
    /// comparison alongside, to say where that one parts.
    func compare(blind: Bool, ram: Range<UInt64>) {
        for side in [memory, satp, process] {
            if blind { side.pages = PageBinding(ram: ram) } else { side.blindPages = PageBinding(ram: ram) }
        }
    }

    init(events: [Event], probes: [Probe], memory: [Int], satp: [Int], process: [Int]) {
        self.events = events
        self.probes = probes
        self.memory = StreamComparison("memory", expected: memory)
        self.satp = StreamComparison("satp", expected: satp)
        self.process = StreamComparison("process", expected: process)
    }

    func take(_ e: TraceEvent, _ event: Int) {
        func mem(_ p: Probe, site: Int32 = 0) { memory.add(ModelProbe(probe: p, event: event, site: site), probes, &agreed) }
        func proc(_ p: Probe) { process.add(ModelProbe(probe: p, event: event), probes, &agreed) }
        switch e {
        case let .kalloc(pa, site, _):
            var p = Probe(.kalloc); p.pa = pa.rawValue; mem(p, site: site)
        case let .kallocFailed(site, _):
            mem(Probe(.kalloc), site: site)
        case let .kfree(pa, site, _):
            var p = Probe(.kfree); p.pa = pa.rawValue; mem(p, site: site)
        case let .mappages(_, root, va, size, pa, perm):
            var p = Probe(.map); p.pt = root.rawValue; p.va = va.rawValue; p.size = size; p.pa = pa.rawValue; p.perm = UInt64(perm.rawValue); mem(p)
        case let .uvmunmap(_, root, va, npages, free):
            var p = Probe(.unmap); p.pt = root.rawValue; p.va = va.rawValue; p.n = Int64(bitPattern: npages); p.flag = free; mem(p)
        case let .freewalk(pt):
            var p = Probe(.freewalk); p.pt = pt.rawValue; mem(p)
        case let .kvmFreeKernelPagetable(pt):
            var p = Probe(.kvmFree); p.pt = pt.rawValue; mem(p)
        case let .allocproc(pid, _):
            var p = Probe(.allocproc); p.pid = pid; mem(p)
        case let .freeproc(pid, _):
            // wait found a zombie: the kernel prints that before freeproc, as the model does here.
            if event < events.count, case .syscall(let parent, .wait) = events[event].kind {
                var w = Probe(.wait); w.pid = parent; w.other = pid; proc(w)
            }
            var p = Probe(.freeproc); p.pid = pid; mem(p)
        case let .satp(_, value, table, by):
            guard by != .trampoline && by != .exec, !(skipsKvminithartAfterBoot && event > 0 && by == .kvminithart) else { return }
            var p = Probe(.satp); p.pa = value.root.rawValue; p.text = by.rawValue
            if case .procKernel(let pid) = table { p.pid = pid }
            satp.add(ModelProbe(probe: p, event: event), probes, &agreed)
        case let .sysret(pid, name, value):
            switch name {
            case "fork":
                var p = Probe(.fork); p.pid = pid; p.other = Int(value); proc(p)


            default: break
            }
        case let .execCommitted(pid, path, sz):
            var p = Probe(.exec); p.pid = pid; p.text = path; p.sz = sz; proc(p)
        case let .execFailed(pid, path):
            var p = Probe(.execfail); p.pid = pid; p.text = path; proc(p)
        case let .syscall(pid, name, args) where name == "sbrk":
            var p = Probe(.growproc); p.pid = pid; p.n = Int64(args) ?? 0; proc(p)
        case let .zombie(pid, status):
            var p = Probe(.exit); p.pid = pid; p.n = Int64(status); proc(p)
        default: break
        }
    }
}

/// Where the kernel and the model part.
public struct Departure: Sendable {
    /// Which stream: memory, satp or process.
    public var stream: String
    /// Position in that stream.
    public var position: Int
    /// The log's probe there (nil: the log ended first).
    public var log: Probe?
    /// The model's probe there (nil: the model ended first).
    public var model: ModelProbe?
    public var logContext: [Probe]
    public var modelContext: [ModelProbe]
    /// The operation under way, from the log's side (or the model's).
    public var operation: LogOperation?
    public var event: Int?
    /// What the operation did on each side, kind by kind, and a sentence on the difference.
    public var logCounts: [(ProbeKind, Int)]
    public var modelCounts: [(ProbeKind, Int)]
    public var modelSites: [(String, Int)]
    public var verdict: String
    /// The allocation site of the model's kalloc or kfree there.
    public var modelSite = ""
}

/// The outcome of a replay.
public struct ReplayReport: Sendable {
    public var file: String
    public var variant: String
    public var operations: Int
    /// Probes compared (and agreeing) per kind, in ProbeKind order.
    public var agreed: [(ProbeKind, Int)]
    public var departure: Departure?
    /// The model's panic, if it panicked.
    public var panic: String?
    /// The kernel's, from its log, and the line.
    public var kernelPanic: (line: Int, message: String)?
    /// Pages the kernel allocated and had not freed where the comparison stopped, by the
    /// model's allocation site they align with: (site, pages, of which the model had freed).
    public var held: [(site: String, pages: Int, modelFreed: Int)]
    public var heldAtLine: Int
    /// Whether the variant was guessed from the log's shape (no `--set variant=`).
    public var variantGuessed = true
    /// The log lines of the bare kallocs import took for pipes, and of their frees (nil: never freed).
    public var pipes: [(line: Int, freedAt: Int?)] = []
    public var agrees: Bool { departure == nil }
    /// Whether physical pages were matched by first use rather than by address (`--blind-addresses`).
    public var blind = false
    /// In the exact comparison: where the address-blind one parts (its log line; 0: it agrees),
    /// when that is later than the exact departure (nil: not later, or the view is blind).
    public var blindPartsAt: Int?
}

/// Physical pages of the log and of the model, matched by first use: a page of RAM on one
/// side stands for the page on the other side it was first seen with, and for no other.
struct PageBinding {
    var ram: Range<UInt64>
    var logToModel: [UInt64: UInt64] = [:]
    var modelToLog: [UInt64: UInt64] = [:]

    /// Whether the log's address `a` and the model's `b` name the same thing: equal outside
    /// RAM; in RAM, the same offset in pages matched before, or in two pages seen now first.
    mutating func same(_ a: UInt64, _ b: UInt64) -> Bool {
        guard ram.contains(a) && ram.contains(b) else { return a == b }
        let (pa, pb) = (a & ~0xfff, b & ~0xfff)
        guard a & 0xfff == b & 0xfff else { return false }
        switch (logToModel[pa], modelToLog[pb]) {
        case (nil, nil): logToModel[pa] = pb; modelToLog[pb] = pa; return true
        case (let m?, let l?): return m == pb && l == pa
        default: return false
        }
    }
}

public enum Replay {
    /// Runs an imported log on the model and compares the streams, each model probe with
    /// the log's as the model makes it. With `blind`, physical pages are matched by first use
    /// (`PageBinding`): the kernel may place pages elsewhere, as long as it does the same
    /// things with them.
    public static func run(_ imported: ImportedLog, blind: Bool = false) -> ReplayReport {
        let scenario = imported.scenario
        let sites = SiteTree()
        let writer = TraceWriter(format: .none, sites: sites)
        let probes = imported.log.probes
        var memory: [Int] = [], satp: [Int] = []
        memory.reserveCapacity(probes.reduce(0) { $0 + ($1.kind.isMemory ? 1 : 0) })
        satp.reserveCapacity(probes.reduce(0) { $0 + ($1.kind == .satp ? 1 : 0) })
        // An idle loop's kvminithart writes come where timing puts them: neither side's are compared.
        let idle = imported.config.settings.schedulerIdleKvminithart
        var booted = false
        for (i, p) in probes.enumerated() {
            booted = booted || p.kind == .allocproc
            if p.kind.isMemory { memory.append(i) }
            else if p.kind == .satp && !(idle && booted && p.text == "kvminithart") { satp.append(i) }
        }
        let process = imported.operations.compactMap(\.processProbe)
        let recorder = ProbeRecorder(events: scenario.events, probes: probes, memory: memory, satp: satp, process: process)
        recorder.skipsKvminithartAfterBoot = idle
        // RAM on either side: the kernel's may end elsewhere than the model's.
        recorder.compare(blind: blind, ram: MemLayout.kernbase..<(UInt64(1) << 40))
        writer.tap = { recorder.take($0, $1) }
        let (result, _) = Runner.run(scenario, writer: writer)

        var departures: [Departure] = []
        for stream in [recorder.memory, recorder.satp, recorder.process] {
            if let k = stream.departure { departures.append(departure(stream, k, imported, sites)) }
        }
        // Exactly, the streams part; say whether only addresses are to blame, or until where.
        let firstExact = departures.min { line($0, probes) < line($1, probes) }
        let blindPartsAt = blind || !["memory", "satp"].contains(firstExact?.stream ?? "") ? nil
            : Self.blindPartsAt(probes, [recorder.memory, recorder.satp], after: departures.map { line($0, probes) }.min() ?? 0)
        if departures.isEmpty && imported.log.panic?.message != result.panic?.message {
            departures.append(panicDeparture(imported.log.panic, result.panic?.message, probes))
        }
        let first = departures.min { line($0, probes) < line($1, probes) }
        var report = ReplayReport(file: imported.log.file, variant: imported.config.variant,
                                  operations: imported.operations.count - 1,
                                  agreed: ProbeKind.allCases.compactMap { k in recorder.agreed[k].map { (k, $0) } },
                                  departure: first, panic: result.panic?.message, kernelPanic: imported.log.panic,
                                  held: [], heldAtLine: 0)
        report.variantGuessed = imported.variantGuessed
        report.blind = blind
        report.blindPartsAt = blindPartsAt
        var freed: [Int: Int] = [:]
        for op in imported.operations where op.kind == .close { freed[op.pipe] = probes[op.probes[0]].line }
        // A pipe whose kalloc returned 0 holds nothing: it counts as freed where it failed.
        report.pipes = imported.operations.filter { $0.kind == .pipe }.map {
            let p = probes[$0.probes[0]]
            return (p.line, p.pa == 0 ? p.line : freed[$0.pipe])
        }
        held(&report, memory, recorder.memory.records, probes, sites, upTo: first?.stream == "memory" ? first!.position : nil,
             finishing: first?.model?.event)
        return report
    }

    /// The log line where the memory and satp streams part address-blind, when that is later
    /// than `exact` (0: they do not part, or only past the log's end); nil when not later.
    static func blindPartsAt(_ probes: [Probe], _ streams: [StreamComparison], after exact: Int) -> Int? {
        var parts: Int?
        for side in streams {
            let k = side.blindPartedAt ?? min(side.expected.count, side.records.count)
            let at = k < side.expected.count ? probes[side.expected[k]].line : (k < side.records.count ? Int.max : nil)
            if let at { parts = min(parts ?? at, at) }
        }
        guard let parts else { return 0 }
        return parts > exact ? (parts == Int.max ? 0 : parts) : nil
    }

    static func line(_ d: Departure, _ probes: [Probe]) -> Int {
        d.log?.line ?? Int.max
    }

    /// Whether the log's probe and the model's say the same.
    /// With `pages`, physical addresses are compared through it (address-blind).
    static func same(_ a: Probe, _ b: Probe, _ pages: inout PageBinding?) -> Bool {
        guard a.kind == b.kind else { return false }
        func pa(_ x: UInt64, _ y: UInt64) -> Bool { pages == nil ? x == y : pages!.same(x, y) }
        switch a.kind {
        case .kalloc, .kfree: return pa(a.pa, b.pa)
        // mappages writes perm|PTE_V: a kernel that passes V and one that does not write the same PTEs.
        case .map: return a.va == b.va && a.size == b.size && a.perm | 1 == b.perm | 1 && pa(a.pt, b.pt) && pa(a.pa, b.pa)
        case .unmap: return a.va == b.va && a.n == b.n && a.flag == b.flag && pa(a.pt, b.pt)
        case .freewalk, .kvmFree: return pa(a.pt, b.pt)
        case .allocproc, .freeproc: return a.pid == b.pid
        case .satp: return a.text == b.text && (a.text != "scheduler" || a.pid == b.pid) && pa(a.pa, b.pa)
        case .fork, .wait: return a.pid == b.pid && a.other == b.other
        case .exec: return a.pid == b.pid && a.text == b.text && a.sz == b.sz
        case .execfail: return a.pid == b.pid && a.text == b.text
        case .growproc, .exit: return a.pid == b.pid && a.n == b.n
        case .swtch: return a.pid == b.pid && a.other == b.other
        }
    }

    static func same(_ a: Probe, _ b: Probe) -> Bool {
        var exact: PageBinding? = nil
        return same(a, b, &exact)
    }

    static func departure(_ side: StreamComparison, _ k: Int, _ imported: ImportedLog, _ sites: SiteTree) -> Departure {
        let stream = side.name, expected = side.expected, actual = side.records
        let probes = imported.log.probes
        let log = k < expected.count ? probes[expected[k]] : nil
        let model = side.model(at: k)
        let lo = max(0, k - 3)
        let logContext = expected[lo..<min(expected.count, k + 4)].map { probes[$0] }
        let modelContext = side.context(at: k)
        // The operation under way: the log's, else the one the model was running.
        // The operation under way: of the log's probe and the model's, the one that began first
        // (the other side has already moved on from it).
        var candidates: [Int] = []
        if k < expected.count, imported.operationOf[expected[k]] >= 0 { candidates.append(Int(imported.operationOf[expected[k]])) }
        if let m = model { candidates.append(m.event) }
        if candidates.isEmpty, k > 0, k - 1 < expected.count, imported.operationOf[expected[k - 1]] >= 0 {
            candidates.append(Int(imported.operationOf[expected[k - 1]]))
        }
        let opIndex = candidates.min()
        var logCounts: [(ProbeKind, Int)] = [], modelCounts: [(ProbeKind, Int)] = [], modelSites: [(String, Int)] = []
        var verdict = ""
        var op: LogOperation?
        if let o = opIndex, o < imported.operations.count {
            op = imported.operations[o]
            var lc: [ProbeKind: Int] = [:], mc: [ProbeKind: Int] = [:], sc: [String: Int] = [:]
            for i in imported.operations[o].probes where stream == "memory" || !probes[i].kind.isMemory { lc[probes[i].kind, default: 0] += 1 }
            for m in actual where Int(m.event) == o {
                mc[m.kind, default: 0] += 1
                if m.kind == (model?.probe.kind ?? log?.kind) { sc[sites.name(m.site), default: 0] += 1 }
            }
            logCounts = ProbeKind.allCases.compactMap { k in lc[k].map { (k, $0) } }
            modelCounts = ProbeKind.allCases.compactMap { k in mc[k].map { (k, $0) } }
            modelSites = sc.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }
            let kf = lc[.kfree] ?? 0, mf = mc[.kfree] ?? 0, ka = lc[.kalloc] ?? 0, ma = mc[.kalloc] ?? 0
            let modelOp = actual.filter { Int($0.event) == o }
            let kernelOp = imported.operations[o].probes.map { probes[$0] }
            let what = innermost(op!, modelOp)
            if stream == "memory", let sentence = freeprocTerms(what, modelOp, kernelOp, sites) ?? mirrorTerms(what, op!, model, probes) {
                verdict = sentence
            } else if stream == "memory" && mf != kf {
                verdict = "in \(what), the kernel frees \(pages(kf)); the model frees \(mf): "
                    + (mf > kf ? "\(pages(mf - kf)) the kernel never frees" : "the kernel frees \(pages(kf - mf)) the model keeps")
            } else if stream == "memory" && ma != ka {
                verdict = "in \(what), the kernel allocates \(pages(ka)); the model allocates \(ma)"
            } else if let l = log, let m = model {
                verdict = "in \(what), the kernel's \(l.kind.rawValue) is not the model's \(m.probe.kind.rawValue)"
            }
        }
        if verdict.isEmpty {
            verdict = log == nil ? "the log ends here; the model goes on with \(actual.count - k) more \(stream) events"
                                 : "the model stops here; the log goes on with \(expected.count - k) more \(stream) events"
        }
        var d = Departure(stream: stream, position: k, log: log, model: model, logContext: logContext, modelContext: modelContext,
                          operation: op, event: opIndex, logCounts: logCounts, modelCounts: modelCounts, modelSites: modelSites,
                          verdict: verdict)
        if let m = model, m.probe.kind == .kalloc || m.probe.kind == .kfree { d.modelSite = sites.name(m.site) }
        return d
    }

    /// Every event agreed, but one side panicked and the other did not, or not the same way.
    static func panicDeparture(_ kernel: (line: Int, message: String)?, _ model: String?, _ probes: [Probe]) -> Departure {
        var log: Probe?
        if let kernel { log = Probe(.exit); log!.line = kernel.line }
        let verdict = switch (kernel, model) {
        case let (k?, m?): "the kernel panics (\(k.message)) where the model panics (\(m))"
        case let (k?, nil): "the kernel panics (\(k.message)); the model does not"
        case let (nil, m?): "the model panics (\(m)); the kernel's log shows no panic"
        default: ""
        }
        return Departure(stream: "panic", position: 0, log: log, model: nil, logContext: [], modelContext: [], operation: nil,
                         event: nil, logCounts: [], modelCounts: [], modelSites: [], verdict: verdict)
    }

    static func pages(_ n: Int) -> String { n == 1 ? "1 page" : "\(n) pages" }

    /// The kernel's pages still allocated where the streams stop agreeing, by aligned site.
    static func held(_ report: inout ReplayReport, _ expected: [Int], _ actual: [ModelRecord], _ probes: [Probe],
                     _ sites: SiteTree, upTo: Int?, finishing event: Int?) {
        let n = min(upTo ?? expected.count, expected.count, actual.count)
        var live: [UInt64: Int32] = [:]
        var modelLive: Set<UInt64> = []
        for k in 0..<n {
            let p = probes[expected[k]]
            let m = actual[k]
            switch p.kind {
            case .kalloc where p.pa != 0: live[p.pa] = m.site
            case .kfree: live[p.pa] = nil
            default: break
            }
            switch m.kind {
            case .kalloc where m.pa != 0: modelLive.insert(m.pa)
            case .kfree: modelLive.remove(m.pa)
            default: break
            }
        }
        // The model finishes the operation it was in where the two part.
        var k = n
        while let event, k < actual.count, Int(actual[k].event) == event {
            switch actual[k].kind {
            case .kalloc where actual[k].pa != 0: modelLive.insert(actual[k].pa)
            case .kfree: modelLive.remove(actual[k].pa)
            default: break
            }
            k += 1
        }
        var bySite: [Int32: (Int, Int)] = [:]
        for (pa, site) in live {
            var e = bySite[site] ?? (0, 0)
            e.0 += 1
            if !modelLive.contains(pa) { e.1 += 1 }
            bySite[site] = e
        }
        report.held = bySite.map { (sites.name($0.key), $0.value.0, $0.value.1) }
            .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            .map { (site: $0.0, pages: $0.1, modelFreed: $0.2) }
        report.heldAtLine = n < expected.count ? probes[expected[n]].line : (probes.last?.line ?? 0)
    }
}
