import XV6
import RISCV
import Support
import Scenario
import Run

/// What `xv6vm report` shows of a run, gathered from typed records while the model runs
/// (never from trace text): each event's counts, the page-table entries it changed and the
/// pages in use by owner after it, the processes alive after it, and the findings with their
/// events. The run is a scenario's (`init(scenario:)`) or a kernel log's replay, which the
/// command line feeds into a `ReportRecorder` (this target does not import LogReplay).
public struct RunReport {
    public struct EventRow {
        public var label: String
        public var location: String
        public var pid: Int?
        /// The kind of event, as the scenario language names it (`fork`, `exec` ...; `boot`).
        public var kind = "-"
        public var kallocs = 0
        public var kfrees = 0
        public var free = 0
        package var changes: [ReportTables.Change] = []
        public var changedEntries: Int { changes.reduce(0) { $0 + $1.count } }
        /// The pages in use after the event, by owner (`OwnerCounts`); nil where they were
        /// not counted (`ReportRecorder.walkPerEvent`).
        public var owners: OwnerCounts?
    }
    /// A live process after an event: its pid, name and table roots (kernel: 0 when it has none).
    public struct Process: Equatable {
        public var pid: Int, name: String, user: UInt64, kernel: UInt64
    }
    public struct FindingRow {
        public var event: Int
        public var kind: String
        public var text: String
        public init(event: Int, kind: String, text: String) { self.event = event; self.kind = kind; self.text = text }
    }

    /// The scenario's file or the kernel's log.
    public var file: String
    /// Whether `file` is a kernel's log (the report is its replay's).
    public var isLog = false
    public var variant: String
    /// The settings that differ from the variant, in the catalogue's order.
    public var differingSettings: [(key: String, value: String)]
    public var copyOnWrite: Bool
    /// Events in the scenario (or operations the log was read into); `events` holds those run.
    public var eventCount: Int
    public var kallocs = 0, kfrees = 0, freeAtEnd = 0
    public var events: [EventRow] = []
    /// The live processes, recorded at each event where they differ from before.
    public var processes: [(event: Int, list: [Process])] = []
    public var findings: [FindingRow] = []
    /// The scenario's run (nil for a log's replay).
    public var result: RunResult?
    /// The replay's outcome and departure (nil for a scenario).
    public var replay: ReplayView?
    /// Leaked pages at the end, by allocation site: (site, [(pa, event)]).
    public var leaks: [(site: String, pages: [(pa: UInt64, event: Int)])] = []
    public var totalPages = 0

    /// Runs `scenario` and gathers its report.
    public init(scenario: CompiledScenario) {
        let sites = SiteTree()
        let writer = TraceWriter(format: .none, sites: sites)
        let recorder = ReportRecorder(settings: scenario.config.settings)
        for (i, e) in scenario.events.enumerated() {
            recorder.begin(i, label: e.label, location: e.location.map { "\(e.source ?? scenario.file):\($0.line)" } ?? "-",
                           kind: e.kind)
        }
        writer.tap = { r, i in recorder.take(r, i) }
        let (result, kernel) = Runner.run(scenario, writer: writer, afterEvent: { i, k in recorder.after(i, k) })
        self.init(file: scenario.file, config: scenario.config, eventCount: scenario.events.count,
                  recorder: recorder, eventsRun: result.eventsRun, kernel: kernel, sites: sites)
        self.result = result
        kallocs = result.counters.kallocs
        kfrees = result.counters.kfrees
        freeAtEnd = result.freePages
        findings += Self.findings(of: result)
        findings.sort { ($0.event, $0.kind) < ($1.event, $1.kind) }
    }

    /// The report of what `recorder` gathered: `eventsRun` of its events, the model's
    /// `kernel` at the end (for the leaks), `sites` its allocation sites.
    public init(file: String, config: KernelConfig, eventCount: Int, recorder: ReportRecorder, eventsRun: Int,
                kernel: Kernel?, sites: SiteTree) {
        self.file = file
        variant = config.variant
        differingSettings = Self.differing(config)
        copyOnWrite = config.settings.copyOnWrite
        self.eventCount = eventCount
        kernel?.memory.writeLog = nil
        events = Array(recorder.rows.prefix(eventsRun))
        processes = recorder.processes
        totalPages = recorder.totalPages
        findings = recorder.findings.filter { $0.event < eventsRun }
        kallocs = events.reduce(0) { $0 + $1.kallocs }
        kfrees = events.reduce(0) { $0 + $1.kfrees }
        freeAtEnd = events.last?.free ?? 0
        if let k = kernel {
            leaks = Self.leaks(k, sites: sites)
            if eventsRun > 0 && eventsRun == recorder.rowsRun && events[eventsRun - 1].owners == nil {
                events[eventsRun - 1].owners = OwnerCounts(k.ownerCounts(allocated: totalPages - k.freePages).tally)
            }
        }
    }

    package static func live(_ k: Kernel, perProcessKernel: Bool) -> [Process] {
        k.procs.filter { $0.state != .unused && $0.pid > 0 }.sorted { $0.pid < $1.pid }.map { p in
            Process(pid: p.pid, name: p.name, user: p.pagetable.rawValue,
                    kernel: perProcessKernel && p.kernelPagetable.rawValue != k.kernelPagetable.rawValue ? p.kernelPagetable.rawValue : 0)
        }
    }

    static func findings(of r: RunResult) -> [FindingRow] {
        var out: [FindingRow] = []
        if let p = r.panic, let e = r.panicEvent {
            out.append(FindingRow(event: e, kind: r.panicExpected ? "panic (expected)" : "panic", text: "panic: \(p.message)"))
        }
        for (e, t) in r.failedExpectations { out.append(FindingRow(event: e, kind: "expectation", text: t)) }
        for (e, t) in r.violations { out.append(FindingRow(event: e, kind: "invariant", text: t)) }
        for e in r.skipped { out.append(FindingRow(event: e, kind: "skipped", text: "the event could not run as written")) }
        return out
    }

    /// The pages nobody holds at the end, grouped by the site that allocated them.
    static func leaks(_ k: Kernel, sites: SiteTree) -> [(site: String, pages: [(pa: UInt64, event: Int)])] {
        let o = k.ownership()
        var bySite: [String: [(pa: UInt64, event: Int)]] = [:]
        for pa in (o.definitelyLost + o.indirectlyLost).sorted() {
            let a = k.allocation(of: pa)
            bySite[a.map { sites.name($0.site) } ?? "?", default: []].append((pa, a?.event ?? 0))
        }
        return bySite.keys.sorted().map { ($0, bySite[$0]!) }
    }

    /// The settings of `config` that differ from its variant, in the catalogue's order.
    static func differing(_ config: KernelConfig) -> [(key: String, value: String)] {
        guard let preset = KernelSettings.preset(named: config.variant) else { return config.settings.listed }
        let base = Dictionary(uniqueKeysWithValues: preset.listed.map { ($0.key, $0.value) })
        return config.settings.listed.filter { base[$0.key] != $0.value }
    }
}

/// The pages in use after an event, by owner as the kernel's structures hold them
/// (`Kernel.ownership`): by kind of owner in `OwnerKind` order, then those no live structure
/// holds (leaked, or held by something the model does not walk); and each process's share.
public struct OwnerCounts: Equatable {
    /// Pages by `OwnerKind` (index `rawValue - 1`), then the unattributed.
    public var kinds: [Int] = []
    /// Each process's pages: [pid, user memory, user page tables, its kernel table, its
    /// kernel stack and trapframe, all of a zombie's].
    public var processes: [[Int]] = []
    public init() {}

    /// The series the plot stacks, in order, with their names and colours.
    public static let series: [(name: String, colour: String)] = [
        ("user memory", "#4e79a7"), ("user page tables", "#76b7b2"), ("per-process kernel tables", "#f28e2b"),
        ("per-process kernel stacks", "#edc948"), ("trapframes", "#b07aa1"), ("zombies awaiting wait", "#9c755f"),
        ("pipes", "#ff9da7"), ("kernel page table (boot)", "#8c8c8c"), ("kernel stacks (procinit)", "#b0b0b0"),
        ("being built at a panic", "#bab0ac"), ("held by no live structure", "#e15759"),
    ]
    /// `OwnerKind` of each series but the last.
    package static let order: [OwnerKind] = [.userMemory, .userPageTables, .processKernelTables, .processKernelStacks, .trapframes,
                                     .zombies, .pipes, .kernelTables, .kernelStacks, .beingBuilt]

    /// The counts of `k` now, of which `allocated` pages are allocated.
    init(_ t: OwnerTally) {
        kinds = Self.order.map { t.kinds[$0.rawValue] } + [t.kinds[0]]
        processes = t.slots.sorted { $0.pid < $1.pid }.map { p in
            [p.pid, p.kinds[OwnerKind.userMemory.rawValue], p.kinds[OwnerKind.userPageTables.rawValue],
             p.kinds[OwnerKind.processKernelTables.rawValue],
             p.kinds[OwnerKind.processKernelStacks.rawValue] + p.kinds[OwnerKind.trapframes.rawValue], p.kinds[OwnerKind.zombies.rawValue]]
        }
    }

    public var total: Int { kinds.reduce(0, +) }
}

/// Gathers a report's records while a model runs: `begin` names each event, `take` sees every
/// trace record (the trace writer's `tap`), and `after` reads the kernel after each event.
/// A scenario's report drives it from `Runner.run`; a log's, from the replay's session.
public final class ReportRecorder {
    package var rows: [RunReport.EventRow] = []
    package var processes: [(event: Int, list: [RunReport.Process])] = []
    package var findings: [RunReport.FindingRow] = []
    package var totalPages = 0
    /// The model's panics, by event (a log's report lists them; a scenario's has its result's).
    package var panics: [(event: Int, message: String)] = []
    /// How many events were run, each read by `after` (a model that panicked runs no more).
    package var rowsRun = 0
    /// Each event's line in its file, where known.
    private var lines: [Int?] = []
    private var tables: ReportTables?
    private let perProcessKernel: Bool

    public init(settings: KernelSettings) {
        perProcessKernel = settings.perProcessKernelPagetable
    }

    /// Names event `i` (0: boot); events are numbered from 0 with none left out.
    public func begin(_ i: Int, label: String, location: String, kind: EventKind?, line: Int? = nil) {
        while rows.count <= i { rows.append(RunReport.EventRow(label: "", location: "-", pid: nil)); lines.append(nil) }
        lines[i] = line
        rows[i].label = label
        rows[i].location = location
        if let kind {
            rows[i].pid = kind.spec.process(kind)
            if case .boot = kind { rows[i].kind = "boot" } else { rows[i].kind = kind.spec.name }
        }
    }

    /// A record the model wrote in event `i`.
    public func take(_ r: TraceRecord, _ i: Int) {
        guard i < rows.count, case .kernel(let e) = r else { return }
        switch e {
        case .kalloc: rows[i].kallocs += 1
        case .kfree: rows[i].kfrees += 1
        case .finding(let f): findings.append(.init(event: i, kind: f.kind.rawValue, text: "\(f.kind.rawValue) \(hex16(f.pa)) \(f.detail)"))
        case .panic(let p): panics.append((i, p.message))
        default: break
        }
    }

    /// The last of the first `n` events that begins at or before `line` (0 when none does).
    package func event(atLine line: Int, below n: Int) -> Int {
        var e = 0
        for i in 0..<min(n, lines.count) { if let l = lines[i], l <= line { e = i } }
        return e
    }

    /// The model `k` after event `i`: what its tables changed, who is alive, the pages by owner.
    public func after(_ i: Int, _ k: Kernel) {
        guard i < rows.count else { return }
        rowsRun = max(rowsRun, i + 1)
        if tables == nil {
            tables = ReportTables(memory: k.memory)
            k.memory.writeLog = WriteLog(pageCount: k.memory.pageCount)
            totalPages = k.freePages + k.allocatedPages
        }
        let live = RunReport.live(k, perProcessKernel: perProcessKernel)
        let changed = processes.last?.list != live
        if changed { processes.append((i, live)) }
        let roots = live.flatMap { [$0.user, $0.kernel] }.filter { $0 != UInt64(0) }.map { PhysAddr($0) }
        let written = k.memory.writeLog!.take()
        rows[i].changes = tables!.record(roots: roots, written: written)
        rows[i].free = k.freePages
        if i == 0 || changed || i >= nextCount { count(i, k) }
    }

    /// Counts the pages by owner after event `i`, and says when to count next: after every
    /// event that changes the processes, and otherwise after as many events as the walk
    /// visited pages, in thousands (`walkPerEvent`): a process of 30,000 pages that grows a
    /// page at a time is counted every 15th step, not at every one.
    package func count(_ i: Int, _ k: Kernel) {
        let (t, walked) = k.ownerCounts(allocated: totalPages - k.freePages)
        rows[i].owners = OwnerCounts(t)
        nextCount = i + 1 + walked / Self.walkPerEvent
    }
    private var nextCount = 0
    /// How many pages the walk of the owners may visit per event, on average, before events
    /// are left uncounted between two counts.
    static let walkPerEvent = 2048
}
