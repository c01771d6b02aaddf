import ArgumentParser
import Foundation
import Simulation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time scenarios: median wall time, events/s, PTE writes/s, pages allocated, peak memory.",
        discussion: "Build with -c release for meaningful figures: swift run -c release xv6vm bench")

    @Argument(help: ArgumentHelp("Scenario files (default: the full-scale reparent2 under pgtbl-lab, unless --replay is given).", valueName: "SCENARIO"))
    var files: [String] = []

    @Option(name: .customLong("replay"), help: ArgumentHelp("Also time reading, importing and replaying a kernel's log; repeatable.", valueName: "LOG"))
    var logs: [String] = []

    @Option(parsing: .unconditional, help: ArgumentHelp("Runs per scenario and mode; the median is reported.", valueName: "N"), transform: wholeNumber(atLeast: 1, "a number of runs"))
    var runs = 5

    enum Mode: String, CaseIterable { case none = "no trace", devnull = "trace to /dev/null", file = "trace to a file" }

    func run() throws {
        var rows: [[String]] = [["scenario", "mode", "median", "events/s", "PTE writes/s", "pages allocated", "trace"]]
        let files = self.files.isEmpty && logs.isEmpty ? ["scenarios/leaks/reparent2.yaml"] : self.files
        for file in files {
            let scenario = try compileOrExit(file)
            for mode in Mode.allCases {
                var times: [Double] = []
                var last: RunResult?
                var bytes = 0
                for _ in 0..<runs {
                    let (t, r, n) = try once(scenario, mode)
                    times.append(t); last = r; bytes = n
                }
                times.sort()
                let median = times[times.count / 2]
                guard let r = last else { continue }
                rows.append([scenario.file, mode.rawValue, String(format: "%.3f s", median),
                             String(format: "%.0f", Double(r.eventsRun) / median),
                             String(format: "%.3g", Double(r.counters.pteWrites) / median),
                             String(r.counters.kallocs),
                             mode == .none ? "-" : String(format: "%.1f MB", Double(bytes) / 1e6)])
            }
        }
        if !files.isEmpty { table(rows) }
        if !logs.isEmpty { try replays() }
        let what = [files.isEmpty ? nil : "\(files.count) scenario\(files.count == 1 ? "" : "s")",
                    logs.isEmpty ? nil : "\(logs.count) log\(logs.count == 1 ? "" : "s")"].compactMap { $0 }.joined(separator: " and ")
        out("\(what), \(runs) run\(runs == 1 ? "" : "s") each; peak resident memory of this process \(peakResidentMiB().map { "\($0) MiB" } ?? "unknown")")
    }

    /// The process's peak resident memory since it started (VmHWM, which exec resets:
    /// getrusage's maxrss also counts `swift run`, the process this one replaced).
    func peakResidentMiB() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kb / 1024
    }

    /// Prints rows as a table: text columns left-aligned, numbers right-aligned.
    func table(_ rows: [[String]]) {
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max()! }
        for (i, r) in rows.enumerated() {
            out(r.enumerated().map { c, v in c >= 2 ? String(repeating: " ", count: widths[c] - v.count) + v : v + String(repeating: " ", count: widths[c] - v.count) }.joined(separator: "  "))
            if i == 0 { out(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
    }

    /// Co-simulation: reading (and decompressing) a log and importing it, then replaying it.
    func replays() throws {
        var rows: [[String]] = [["log", "step", "median", "probes/s", "agree"]]
        func seconds(_ f: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try f()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        for path in logs {
            var importTimes: [Double] = [], replayTimes: [Double] = []
            var imported: ImportedLog?
            var report: ReplayReport?
            for _ in 0..<runs {
                imported = nil; report = nil             // one log in memory at a time
                importTimes.append(try seconds { imported = try importOrExit(path, overrides: []) })
                replayTimes.append(seconds { report = Replay.run(imported!) })
            }
            let n = Double(imported!.log.probes.count)
            let name = (path as NSString).lastPathComponent
            for (step, times) in [("read and import", importTimes), ("replay", replayTimes)] {
                let median = times.sorted()[times.count / 2]
                rows.append([name, step, String(format: "%.3f s", median), String(format: "%.0f", n / median),
                             step == "replay" ? (report!.agrees ? "yes" : "no") : "-"])
            }
        }
        table(rows)
    }

    /// One run: wall time, result, trace bytes written.
    func once(_ scenario: CompiledScenario, _ mode: Mode) throws -> (Double, RunResult, Int) {
        var written = 0
        var fd: Int32 = -1
        var path: String?
        switch mode {
        case .none: break
        case .devnull: path = "/dev/null"
        case .file: path = NSTemporaryDirectory() + "xv6vm-bench-\(getpid()).trace"
        }
        if let path {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
            if fd < 0 { throw WriteError(path: path, reason: reasonInWords(errno)) }
        }
        defer { if fd >= 0 { close(fd) }; if mode == .file, let path { unlink(path) } }
        var failed: Int32 = 0
        let writer = mode == .none ? nil : TraceWriter(format: .text, sites: .init(), output: { bytes in
            written += bytes.count
            if failed == 0 { failed = bytes.withUnsafeBytes { OutputFile.writeAll(fd, $0) } }
        })
        let start = DispatchTime.now().uptimeNanoseconds
        let (result, _) = Runner.run(scenario, writer: writer)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if failed != 0, let path { throw WriteError(path: path, reason: reasonInWords(failed)) }
        return (seconds, result, written)
    }
}

/// Writes a progress line on stderr when it is a terminal (never into pipes or files):
/// done, left, what was found so far, and an estimate of the time left. Runs that finish
/// out of order never make the count go back.
final class Progress: @unchecked Sendable {
    let total: Int
    let label: String
    let enabled: Bool
    private let lock = NSLock()
    private var shown = 0
    private let start = DispatchTime.now().uptimeNanoseconds

    init(total: Int, label: String, quiet: Bool = false) {
        self.total = total
        self.label = label
        enabled = !quiet && isatty(STDERR_FILENO) == 1
    }

    func update(_ done: Int, _ extra: String = "") {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        guard done > shown else { return }
        shown = done
        var eta = ""
        if done < total {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let left = Int((elapsed / Double(done) * Double(total - done)).rounded())
            if elapsed >= 2 { eta = left >= 60 ? ", about \(left / 60) min \(left % 60) s left" : ", about \(left) s left" }
        }
        StandardStreams.err("\r\(label): \(done) done, \(total - done) left\(extra)\(eta)   ")
        if done == total { StandardStreams.err("\n") }
    }
}

enum SweepFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a scenario once per allocation, with that kalloc failing, and report how the kernel fares at each site.",
        usage: """
            xv6vm sweep <SCENARIO> [--set <KEY=VALUE> ...] [--sample <K>] [--boot]
                                   [--check] [--shard <I/N>] [--verbose]
                                   [--format <text|json>]
            """,
        discussion: "Each run injects one failure (kernel setting fail_kalloc=N). Outcomes: clean (recovered, nothing leaked), leak (with the leak report's top site), panic, or invariant (with --check). Runs in parallel on all cores; output order is fixed.")

    @OptionGroup var options: ScenarioOptions

    @Option(parsing: .unconditional, help: ArgumentHelp("Only K allocations, evenly spread (default: every one after boot).", valueName: "K"),
            transform: wholeNumber(atLeast: 1, "a number of allocations"))
    var sample: Int?

    @Flag(help: "Include the boot's allocations (they can only panic).")
    var boot = false

    @Flag(help: "Check the invariants after every event in each run.")
    var check = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Run only the I-th of N deterministic slices of the allocations.", valueName: "I/N"), transform: Shard.parse)
    var shard: Shard?

    @Flag(name: .shortAndLong, help: "Also list every run: the call that failed, its event, outcome and site.")
    var verbose = false

    @Option(help: ArgumentHelp("text, or json: one JSON line per run as it finishes (in call order), then the totals.", valueName: "text|json"))
    var format: SweepFormat = .text

    func run() throws {
        var scenario = try options.load()
        if check { scenario.checkInvariants = true }
        let (bootCalls, total) = Sweep.allocations(scenario)
        var calls = Sweep.sample(boot ? 1 : bootCalls + 1, total, sample ?? 0)
        if let shard { calls = Golden.shard(calls, index: shard.index, count: shard.count) }
        let progress = Progress(total: calls.count, label: "sweep \(scenario.file)")
        let json = format == .json
        var stream: (@Sendable (Sweep.Outcome) -> Void)?
        if json { stream = { @Sendable o in out(Sweep.json(o).encoded) } }
        let outcomes = Sweep.run(scenario, calls: calls, progress: { progress.update($0, ", \($1) not clean") }, ordered: stream)
        out(json ? Sweep.summaryJSON(scenario, outcomes).encoded : Sweep.report(scenario, outcomes, path: options.file, verbose: verbose))
        if outcomes.contains(where: { $0.verdict != .clean && $0.verdict != .notReached }) { throw ExitCode(1) }
    }
}

struct ShrinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shrink",
        abstract: "Reduce a scenario to a small one that still shows the same panic, leak site, failed expectation, invariant violation or golden difference.",
        usage: """
            xv6vm shrink <SCENARIO> [--set <KEY=VALUE> ...] --until <PREDICATE>
                                    --output <SMALL.yaml>
            """,
        discussion: """
            PREDICATE is one of:
              panic       the original's panic message (panic:MSG names one)
              leak        a leak whose top record is at the original's top site
                          (leak:SITE names one, e.g. "fork > allocproc")
              expect      a failed expectation with the original's first report,
                          numbers masked (expect:REPORT names one)
              invariant   a broken invariant (checked after every event) with the
                          original's first report, numbers masked
              golden      a trace departing from its golden at the same pair of
                          lines, numbers masked; the golden's side is the same
                          events under the kernel the golden's header records
                          (golden:KEY=VALUE,... names that kernel instead)
            """)

    @OptionGroup var options: ScenarioOptions

    @Option(help: ArgumentHelp("What the small scenario must still show.", valueName: "PREDICATE"))
    var until: String

    @Option(name: .shortAndLong, help: "Where to write the small scenario.")
    var output: String

    func run() throws {
        let scenario = try options.load()
        try options.refuseOverwritingInput(output, of: scenario)
        let predicate: Shrink.Predicate
        do {
            predicate = try Shrink.Predicate(until, original: scenario, file: options.file)
        } catch {
            throw ValidationError("cannot shrink \(options.file) --until \(until): \(error.description)")
        }
        let terminal = isatty(STDERR_FILENO) == 1
        let progress: (Int, Int) -> Void = { tests, smallest in
            if terminal { StandardStreams.err("\rshrink: \(tests) test runs, smallest so far \(smallest) events as run   ") }
        }
        let shrunk = Shrink.run(scenario, file: options.file, predicate: predicate, overrides: options.overrides, progress: progress)
        if terminal { StandardStreams.err("\n") }
        guard let result = shrunk else {
            warn("xv6vm shrink: \(options.file) does not show \(predicate) once written back out; nothing to shrink")
            throw ExitCode(1)
        }
        try Golden.writeAtomically(Array(result.yaml.utf8), to: output)
        let runs = result.afterExpanded != result.after ? " (\(result.afterExpanded) when run)" : ""
        out("wrote \(output): \(result.after) events\(runs), \(result.before - result.after) removed of \(result.before) (\(result.tests) test runs); it still shows \(predicate)")
        if let d = predicate.departure {
            out("the first lines that differ (\(d.expected == d.actual ? "only in their numbers, masked here" : "numbers masked")):\n  golden:   \(d.expected)\n  this run: \(d.actual)")
        }
    }
}
