import ArgumentParser
import Foundation
import Support
import Scenario
import Run
import Goldens
import Explore
import CosimLog
import LogReplay
import HTMLReport
import XV6

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one HTML page to look at a run: events, page tables, findings.",
        usage: """
            xv6vm report <SCENARIO> -o <FILE.html> [--set <KEY=VALUE> ...]
            xv6vm report <LOG> -o <FILE.html> [--set <KEY=VALUE> ...]
            """,
        discussion: """
            The scenario is run on the model, and one self-contained page is written (its \
            script and styles inside; it needs no network): a summary with the findings, \
            every event with its file:line, process and counts, and after the selected \
            event the page tables of every live process as vmprint trees you can fold, \
            each PTE's bits decoded and what the event added, changed or removed \
            highlighted with the old values. ←/→ move between events, j/k between \
            findings; report.html#event=N opens at event N. Given a kernel's log (text \
            or .xz, as replay reads it) the page is the replay's: the model's events as it \
            ran the log's operations, each with its log line, and where the two part, the \
            kernel's lines and the model's side by side with the model's tables there. \
            Exit 0: written (a log that departs too); 2: a scenario or log that cannot be \
            read; 64: bad usage; 74: the file cannot be written \
            (docs/limits-and-exit-codes.md).
            """)

    @OptionGroup var options: ScenarioOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("The HTML file to write.", valueName: "FILE.html"))
    var output: String

    func run() throws {
        let report = Leaks.isKernelLog(options.file) ? try logReport() : RunReport(scenario: try scenario())
        let page = report.htmlBytes
        try OutputFile.writeAtomically(page, to: output, createDirectories: false)
        let changed = report.events.reduce(0) { $0 + $1.changedEntries }
        out("wrote \(output): \(report.events.count) events, \(changed) PTE changes, "
            + "\(report.findings.count) finding\(report.findings.count == 1 ? "" : "s"), \(page.count) bytes")
        if let r = report.replay { for line in folded(r.verdict) { out(line) } }
    }

    func scenario() throws -> CompiledScenario {
        let scenario = try options.load()
        try options.refuseOverwritingInput(output, of: scenario)
        return scenario
    }

    /// A kernel log's replay, the report fed from the replay's model as it runs (the report
    /// does not import LogReplay, nor LogReplay the report: they meet here).
    func logReport() throws -> RunReport {
        let log = options.file
        if FileStatus.sameFile(output, log) {
            throw ValidationError("-o \(output) is the kernel's log being read, \(log); write the output to another file")
        }
        let name = (log as NSString).lastPathComponent
        var recorder = ReportRecorder(settings: KernelSettings.xv6_2020)
        var config = KernelConfig(variant: "xv6-2020")
        var kernel: Kernel?
        let streamed: StreamedReplay
        do {
            streamed = try Replay.stream(path: log, overrides: options.overrides, blind: false, observe: { c in
                let r = ReportRecorder(settings: c.settings)
                (recorder, config, kernel) = (r, c, nil)
                return ReplayObserver(
                    begin: { i, op, e in
                        r.begin(i, label: e.label, location: op.map { "\(name):\($0.line)" } ?? "-", kind: e.kind, line: op?.line)
                    },
                    record: { rec, i in r.take(rec, i) },
                    after: { i, k in r.after(i, k); kernel = k })
            })
        } catch {
            // A bad --set is bad usage (64, with the usage), as for every other command.
            if error.file == LogImporter.overridesFile { throw ValidationError(error.message) }
            warn(error.description)
            throw ExitCode(2)
        }
        for w in streamed.warnings { warn(w.description) }
        let r = streamed.report
        return RunReport(log: name, config: config, operations: r.operations, recorder: recorder, kernel: kernel,
                         sites: kernel?.sites ?? SiteTree(), replay: Self.view(r, file: name), kernelPanic: r.kernelPanic)
    }

    /// The replay's outcome as the page shows it.
    static func view(_ r: ReplayReport, file: String) -> ReplayView {
        let total = r.agreed.reduce(0) { $0 + $1.1 }
        let verdict = r.departure.map { "DEPARTS at \(file):\($0.log.map { String($0.line) } ?? "end"): \($0.verdict)" }
            ?? "AGREE: \(total) events, every one the same" + (r.kernelPanic != nil ? ", and the same panic" : "")
        return ReplayView(verdict: verdict, agrees: r.agrees, compared: r.agreed.map { ($0.0.rawValue, $0.1) },
                          readToLine: r.readToLine, readWhole: r.readWhole, departure: r.departure.map(view))
    }

    static func view(_ d: Departure) -> DepartureView {
        func counts(_ c: [(ProbeKind, Int)]) -> String { c.isEmpty ? "nothing" : c.map { "\($0.1) \($0.0.rawValue)" }.joined(separator: ", ") }
        func mark(_ m: TableMark?) -> DepartureView.Mark? { m.map { DepartureView.Mark(line: $0.line, reason: $0.reason) } }
        var title = ""
        if let t = d.tables {
            title = (t.pid > 0 ? "the model's tables of pid \(t.pid)" : "the model's tables")
                + " where the two part, each beside the kernel's as its log says; ! marks what the kernel's"
                + " events in this operation contradict"
            if t.late { title += " (the model had run on past its departing event: they are as they were then)" }
        }
        return DepartureView(
            event: d.event, stream: d.stream, verdict: d.verdict,
            operation: d.operation.map { "\($0.summary), from log line \($0.line)" },
            kernel: d.logContext.map { ($0.line, $0.rendered, $0 == d.log) },
            model: d.modelContext.map { m in (m.event, m.probe.rendered, d.model.map { $0.probe == m.probe && $0.event == m.event } == true) },
            kernelCounts: counts(d.logCounts), modelCounts: counts(d.modelCounts), tablesTitle: title,
            tables: (d.tables?.tables ?? []).map { t in
                DepartureView.Table(name: t.name, root: t.root, total: t.total, whole: t.whole, freed: t.freed, rootMark: mark(t.rootMark),
                                    rows: t.shown.map { .init(depth: $0.depth, index: $0.index, pte: $0.pte, va: $0.va, mark: mark($0.mark)) },
                                    missing: t.missing.map { .init(line: $0.line, reason: $0.reason) },
                                    kernelRows: t.kernelSide.map { .init(depth: $0.depth, index: $0.index, va: $0.va, pte: $0.pte,
                                                                         mark: mark($0.mark), gone: $0.gone) })
            })
    }
}
