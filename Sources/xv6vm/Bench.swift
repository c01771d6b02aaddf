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

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time scenarios: median wall time, events/s, PTE writes/s, pages allocated, peak memory.",
        usage: """
            xv6vm bench [<SCENARIO> ...] [--replay <LOG> ...] [--runs <N>]
            xv6vm bench --sweep <SCENARIO> ... [--sample <K>] [--runs <N>]
            xv6vm bench --read <LOG> ... [--runs <N>]
            """,
        discussion: "Build with -c release for meaningful figures: swift run -c release xv6vm bench")

    @Argument(help: ArgumentHelp("Scenario files (default: the full-scale reparent2 under pgtbl-lab, unless --replay is given).", valueName: "SCENARIO"))
    var files: [String] = []

    @Option(name: .customLong("replay"), help: ArgumentHelp("Also time reading, importing and replaying a kernel's log; repeatable.", valueName: "LOG"))
    var logs: [String] = []

    @Option(name: .customLong("read"), help: ArgumentHelp("Also time reading a log alone (decompressing and parsing; probes counted, not kept; no size limit: a FIFO of any length); repeatable.", valueName: "LOG"))
    var reads: [String] = []

    @Option(name: .customLong("sweep"), help: ArgumentHelp("Also time a sweep of SCENARIO (or --sample K of its runs): every run from a snapshot, then every run from boot; repeatable.", valueName: "SCENARIO"))
    var sweeps: [String] = []

    @Option(parsing: .unconditional, help: ArgumentHelp("With --sweep: only K runs, evenly spread (a sweep from boot is slow).", valueName: "K"), transform: wholeNumber(atLeast: 1, "a number of runs"))
    var sample: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Runs per scenario and mode; the median is reported.", valueName: "N"), transform: wholeNumber(atLeast: 1, "a number of runs"))
    var runs = 5

    @Option(name: .customLong("make-log"), help: ArgumentHelp("Time nothing: write to standard output LOG's lines up to --block, then the block and --copies more of it, each as the same kernel would print it later (new pids, the pages its free list hands out then): a log of any length the model agrees with.", valueName: "LOG"))
    var makeLog: String?

    @Option(help: ArgumentHelp("With --make-log: the lines to repeat, A-B (1-based, inclusive): a steady part that frees all it allocates.", valueName: "A-B"))
    var block: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("With --make-log: how many copies of the block follow it.", valueName: "N"), transform: wholeNumber(atLeast: 0, "a number of copies"))
    var copies = 1

    enum Mode: String, CaseIterable { case none = "no trace", devnull = "trace to /dev/null", file = "trace to a file" }

    func run() throws {
        if let makeLog { return try writeLongLog(makeLog) }
        var rows: [[String]] = [["scenario", "mode", "median", "events/s", "PTE writes/s", "pages allocated", "trace"]]
        var files = self.files
        if files.isEmpty && logs.isEmpty && sweeps.isEmpty && reads.isEmpty {
            // The default benchmark is the project's own reparent2, found from anywhere inside it.
            files = [(try findProject("bench", []).0.scenariosDir as NSString).appendingPathComponent("leaks/reparent2.yaml")]
        }
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
        if !reads.isEmpty { try readTimes() }
        if !sweeps.isEmpty { try sweepTimes() }
        let what = [files.isEmpty ? nil : "\(files.count) scenario\(files.count == 1 ? "" : "s")",
                    logs.isEmpty ? nil : "\(logs.count) log\(logs.count == 1 ? "" : "s")",
                    reads.isEmpty ? nil : "\(reads.count) log\(reads.count == 1 ? "" : "s") read",
                    sweeps.isEmpty ? nil : "\(sweeps.count) sweep\(sweeps.count == 1 ? "" : "s")"].compactMap { $0 }.joined(separator: " and ")
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
        let widths: [Int] = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max()! }
        // Spelled out: as one expression this body took 3 s of the release build to type-check.
        func cell(_ c: Int, _ v: String) -> String {
            let pad = String(repeating: " ", count: widths[c] - v.count)
            return c >= 2 ? pad + v : v + pad
        }
        for (i, r) in rows.enumerated() {
            let cells: [String] = r.enumerated().map { cell($0.offset, $0.element) }
            out(cells.joined(separator: "  "))
            if i == 0 { out(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
    }

    /// A long log on standard output (`--make-log`).
    func writeLongLog(_ path: String) throws {
        let parts = (block ?? "").split(separator: "-").compactMap { Int($0) }
        guard parts.count == 2, parts[0] >= 1, parts[0] <= parts[1] else {
            throw ValidationError("--make-log needs --block A-B: the lines to repeat, first and last (1-based)")
        }
        var log: LongLog
        do { log = try LongLog(path: path, lines: parts[0]...parts[1]) } catch {
            warn(error.description)
            throw ExitCode(2)
        }
        log.write(copies: copies) { out($0) }
    }

    /// Co-simulation: reading (and decompressing) a log and importing it, then replaying it.
    func replays() throws {
        var rows: [[String]] = [["log", "steps", "median", "events/s", "agree"]]
        func seconds(_ f: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try f()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        for path in logs {
            var times: [Double] = []
            var report: ReplayReport?
            for _ in 0..<runs {
                report = nil
                do {
                    try times.append(seconds { report = try Replay.stream(path: path, overrides: [], blind: false).report })
                } catch let error as LogError {
                    warn(error.description)
                    throw ExitCode(2)
                }
            }
            let n = Double(report!.agreed.reduce(0) { $0 + $1.1 })
            let median = times.sorted()[times.count / 2]
            rows.append([(path as NSString).lastPathComponent, "read, import, replay", String(format: "%.3f s", median),
                         String(format: "%.0f", n / median), report!.agrees ? "yes" : "no"])
        }
        table(rows)
    }

    /// Reading alone: decompressing and parsing a log, on the reader thread and this one,
    /// keeping nothing of it. A FIFO is read once, whatever `--runs` says.
    func readTimes() throws {
        var rows: [[String]] = [["log", "text", "median", "MB/s", "probes/s", "probes"]]
        for path in reads {
            let once = (try? FileStatus.of(path).get())?.kind == .fifo
            var times: [Double] = []
            var counted = (bytes: 0, lines: 0, probes: 0)
            for _ in 0..<(once ? 1 : runs) {
                let start = DispatchTime.now().uptimeNanoseconds
                do { counted = try KernelLog.count(path: path) } catch {
                    warn(error.description)
                    throw ExitCode(2)
                }
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            let median = times.sorted()[times.count / 2]
            rows.append([(path as NSString).lastPathComponent, String(format: "%.1f MB", Double(counted.bytes) / 1e6),
                         String(format: "%.3f s", median), String(format: "%.0f", Double(counted.bytes) / 1e6 / median),
                         String(format: "%.0f", Double(counted.probes) / median), String(counted.probes)])
        }
        table(rows)
    }

    /// Sweeps: the same calls from snapshots and from boot, on every core, and whether the
    /// two gave the same outcome for every call (they must).
    func sweepTimes() throws {
        var rows: [[String]] = [["sweep", "runs start", "median", "runs/s", "outcomes"]]
        for file in sweeps {
            let scenario = try compileOrExit(file)
            let (boot, total) = Sweep.allocations(scenario)
            let calls = Sweep.sample(boot + 1, total, sample ?? 0)
            var outcomes: [Bool: [Sweep.Outcome]] = [:]
            for snapshots in [true, false] {
                var times: [Double] = []
                for _ in 0..<runs {
                    let start = DispatchTime.now().uptimeNanoseconds
                    outcomes[snapshots] = Sweep.run(scenario, calls: calls, snapshots: snapshots)
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                }
                let median = times.sorted()[times.count / 2]
                rows.append([scenario.file, snapshots ? "from snapshots" : "from boot", String(format: "%.2f s", median),
                             String(format: "%.0f", Double(calls.count) / median),
                             snapshots ? "\(calls.count) runs" : (outcomes[true] == outcomes[false] ? "the same" : "DIFFER")])
            }
        }
        table(rows)
    }

    /// One run: wall time, result, trace bytes written.
    func once(_ scenario: CompiledScenario, _ mode: Mode) throws -> (Double, RunResult, Int) {
        var written = 0
        var file: FileWriter?
        var path: String?
        switch mode {
        case .none: break
        case .devnull: path = "/dev/null"
        case .file: path = NSTemporaryDirectory() + "xv6vm-bench-\(getpid()).trace"
        }
        if let path { file = try FileWriter(creating: path) }
        defer { try? file?.close(); if mode == .file, let path { _ = FileSystem.remove(path) } }
        var failed: WriteError?
        let writer = mode == .none ? nil : TraceWriter(format: .text, sites: .init(), writingBuffer: { bytes in
            written += bytes.count
            if failed == nil { failed = file?.write(bytes) }
        })
        let start = DispatchTime.now().uptimeNanoseconds
        let (result, _) = Runner.run(scenario, writer: writer)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if let failed { throw failed }
        return (seconds, result, written)
    }
}
