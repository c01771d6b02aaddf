import XV6
import RISCV
import Support
import Scenario
import Run

/// What `xv6vm report` shows of a scenario's run, gathered from typed records while the
/// run goes (never from trace text): each event's counts and the page-table entries it
/// changed, the processes alive after it, and the findings with their events.
public struct RunReport {
    public struct EventRow {
        public var label: String
        public var location: String
        public var pid: Int?
        public var kallocs = 0
        public var kfrees = 0
        public var free = 0
        package var changes: [ReportTables.Change] = []
        public var changedEntries: Int { changes.reduce(0) { $0 + $1.count } }
    }
    /// A live process after an event: its pid, name and table roots (kernel: 0 when it has none).
    public struct Process: Equatable {
        public var pid: Int, name: String, user: UInt64, kernel: UInt64
    }
    public struct FindingRow {
        public var event: Int
        public var kind: String
        public var text: String
    }

    public var scenario: CompiledScenario
    public var events: [EventRow] = []
    /// The live processes, recorded at each event where they differ from before.
    public var processes: [(event: Int, list: [Process])] = []
    public var findings: [FindingRow] = []
    public var result: RunResult
    /// Leaked pages at the end, by allocation site: (site, [(pa, event)]).
    public var leaks: [(site: String, pages: [(pa: UInt64, event: Int)])] = []
    public var totalPages = 0

    /// Runs `scenario` and gathers its report.
    public init(scenario: CompiledScenario) {
        self.scenario = scenario
        let sites = SiteTree()
        let writer = TraceWriter(format: .none, sites: sites)
        var rows = scenario.events.map { e in
            EventRow(label: e.label, location: e.location.map { "\(e.source ?? scenario.file):\($0.line)" } ?? "-", pid: Self.pid(of: e.kind))
        }
        var found: [FindingRow] = []
        writer.tap = { r, i in
            guard i < rows.count, case .kernel(let e) = r else { return }
            switch e {
            case .kalloc: rows[i].kallocs += 1
            case .kfree: rows[i].kfrees += 1
            case .finding(let f): found.append(FindingRow(event: i, kind: f.kind.rawValue, text: "\(f.kind.rawValue) \(hex16(f.pa)) \(f.detail)"))
            default: break
            }
        }
        var tables: ReportTables?
        var procs: [(event: Int, list: [Process])] = []
        var total = 0
        let perProcessKernel = scenario.config.settings.perProcessKernelPagetable
        let (result, kernel) = Runner.run(scenario, writer: writer, afterEvent: { i, k in
            if tables == nil {
                tables = ReportTables(memory: k.memory)
                k.memory.writeLog = WriteLog(pageCount: k.memory.pageCount)
                total = k.freePages + k.allocatedPages
            }
            let live = Self.live(k, perProcessKernel: perProcessKernel)
            if procs.last?.list != live { procs.append((i, live)) }
            let roots = live.flatMap { [$0.user, $0.kernel] }.filter { $0 != UInt64(0) }.map { PhysAddr($0) }
            rows[i].changes = tables!.record(roots: roots, written: k.memory.writeLog!.take())
            rows[i].free = k.freePages
        })
        kernel?.memory.writeLog = nil
        self.result = result
        events = Array(rows.prefix(result.eventsRun))
        processes = procs
        totalPages = total
        findings = found + Self.findings(of: result)
        findings.sort { ($0.event, $0.kind) < ($1.event, $1.kind) }
        if let k = kernel { leaks = Self.leaks(k, sites: sites) }
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

    /// The process an event is about, if any.
    static func pid(of kind: EventKind) -> Int? { kind.spec.process(kind) }
}
