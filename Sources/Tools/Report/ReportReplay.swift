import XV6
import Support
import Scenario
import Run

/// A kernel log's replay as the report shows it: its outcome, and where the kernel and the
/// model part, side by side. Plain data: the command line fills it from Cosim's replay report
/// (this target does not import LogReplay), and the page draws it.
public struct ReplayView {
    /// The replay's last line: `AGREE: ...` or `DEPARTS at log:line: ...`.
    public var verdict: String
    public var agrees: Bool
    /// Events compared and agreeing, by kind.
    public var compared: [(kind: String, count: Int)]
    /// The last log line read, and whether that is the log's end.
    public var readToLine: Int
    public var readWhole: Bool
    public var departure: DepartureView?
    public init(verdict: String, agrees: Bool, compared: [(kind: String, count: Int)], readToLine: Int, readWhole: Bool,
                departure: DepartureView?) {
        self.verdict = verdict; self.agrees = agrees; self.compared = compared
        self.readToLine = readToLine; self.readWhole = readWhole; self.departure = departure
    }
}

/// Where the kernel's log and the model part: the lines of each side around it, and the
/// model's tables there, marked where the kernel's events contradict them.
public struct DepartureView {
    /// The model's event (= the log's operation) it is in; nil when none is known.
    public var event: Int?
    /// The stream it parts in (memory, satp, process, panic) and the sentence on it.
    public var stream: String
    public var verdict: String
    /// The operation under way, and its first log line.
    public var operation: String?
    /// Each side around it: the kernel's log lines (line, text, whether it is the departing
    /// one) and the model's records (its event, text, whether it is the departing one).
    public var kernel: [(line: Int, text: String, here: Bool)]
    public var model: [(event: Int, text: String, here: Bool)]
    /// What the operation did on each side, kind by kind ("2 kalloc, 1 map").
    public var kernelCounts: String
    public var modelCounts: String
    /// Whose tables these are ("the model's tables of pid 1"), and the tables.
    public var tablesTitle: String
    public var tables: [Table]

    public struct Table {
        public var name: String
        public var root: UInt64
        /// Valid PTEs in all; whether `rows` is all of them.
        public var total: Int
        public var whole: Bool
        public var freed: Bool
        public var rootMark: Mark?
        public var rows: [Row]
        /// The kernel's maps and unmaps the model's table has no PTE for.
        public var missing: [Mark]
        /// The same table as the kernel's log says it is: the model's PTEs, where the two
        /// agreed, with the kernel's own maps and unmaps from the departing line on.
        public var kernelRows: [KernelRow]
        public init(name: String, root: UInt64, total: Int, whole: Bool, freed: Bool, rootMark: Mark?, rows: [Row], missing: [Mark],
                    kernelRows: [KernelRow] = []) {
            self.name = name; self.root = root; self.total = total; self.whole = whole; self.freed = freed
            self.rootMark = rootMark; self.rows = rows; self.missing = missing; self.kernelRows = kernelRows
        }
    }
    /// A PTE of the kernel's side: `pte` nil for a table page no probe gives the address of;
    /// `mark` the kernel's event that wrote it, took it out (`gone`) or left it stale.
    public struct KernelRow {
        public var depth: Int, index: Int, va: UInt64, pte: UInt64?
        public var mark: Mark?
        public var gone: Bool
        public init(depth: Int, index: Int, va: UInt64, pte: UInt64?, mark: Mark?, gone: Bool) {
            self.depth = depth; self.index = index; self.va = va; self.pte = pte; self.mark = mark; self.gone = gone
        }
    }
    public struct Row {
        public var depth: Int, index: Int, pte: UInt64, va: UInt64
        public var mark: Mark?
        public init(depth: Int, index: Int, pte: UInt64, va: UInt64, mark: Mark?) {
            self.depth = depth; self.index = index; self.pte = pte; self.va = va; self.mark = mark
        }
    }
    /// A log line whose event contradicts the model's table, and how.
    public struct Mark {
        public var line: Int, reason: String
        public init(line: Int, reason: String) { self.line = line; self.reason = reason }
    }

    public init(event: Int?, stream: String, verdict: String, operation: String?, kernel: [(line: Int, text: String, here: Bool)],
                model: [(event: Int, text: String, here: Bool)], kernelCounts: String, modelCounts: String,
                tablesTitle: String, tables: [Table]) {
        self.event = event; self.stream = stream; self.verdict = verdict; self.operation = operation
        self.kernel = kernel; self.model = model; self.kernelCounts = kernelCounts; self.modelCounts = modelCounts
        self.tablesTitle = tablesTitle; self.tables = tables
    }
}

extension RunReport {
    /// The report of a kernel log's replay, from what `recorder` gathered as the model ran
    /// the log's operations: `panics` the model's (event, message), `kernelPanic` the
    /// kernel's (log line, message).
    public init(log file: String, config: KernelConfig, operations: Int, recorder: ReportRecorder, kernel: Kernel?,
                sites: SiteTree, replay: ReplayView, kernelPanic: (line: Int, message: String)?) {
        let run = recorder.rowsRun
        self.init(file: file, config: config, eventCount: operations + 1, recorder: recorder, eventsRun: run,
                  kernel: kernel, sites: sites)
        isLog = true
        self.replay = replay
        for (e, message) in recorder.panics where e < run {
            findings.append(FindingRow(event: e, kind: "panic", text: "the model panics: \(message)"))
        }
        if let k = kernelPanic, run > 0 {
            let e = recorder.event(atLine: k.line, below: run)
            findings.append(FindingRow(event: e, kind: "kernel panic", text: "the kernel panics at log line \(k.line): \(k.message)"))
        }
        if let d = replay.departure, run > 0 {
            let e = min(d.event ?? (run - 1), run - 1)
            findings.append(FindingRow(event: e, kind: "departure", text: replay.verdict))
        }
        findings.sort { ($0.event, $0.kind) < ($1.event, $1.kind) }
    }
}
