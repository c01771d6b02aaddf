import ArgumentParser
import Foundation
import Simulation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time scenarios: median wall time, events/s, PTE writes/s, pages allocated, peak memory.",
        discussion: "Build with -c release for meaningful figures: swift run -c release xv6vm bench")

    @Argument(help: "Scenario files (default: the full-scale reparent2 under pgtbl-lab).")
    var files: [String] = ["scenarios/leaks/reparent2.yaml"]

    @Option(help: "Runs per scenario and mode; the median is reported.")
    var runs = 5

    enum Mode: String, CaseIterable { case none = "no trace", devnull = "trace to /dev/null", file = "trace to a file" }

    func run() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        var rows: [[String]] = [["scenario", "mode", "median", "events/s", "PTE writes/s", "pages allocated", "trace"]]
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
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max()! }
        for (i, r) in rows.enumerated() {
            out(r.enumerated().map { c, v in c >= 2 ? String(repeating: " ", count: widths[c] - v.count) + v : v + String(repeating: " ", count: widths[c] - v.count) }.joined(separator: "  "))
            if i == 0 { out(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        out("\(files.count) scenario\(files.count == 1 ? "" : "s"), \(runs) runs per mode; peak resident memory \(usage.ru_maxrss / 1024) MiB")
    }

    /// One run: wall time, result, trace bytes written.
    func once(_ scenario: CompiledScenario, _ mode: Mode) throws -> (Double, RunResult, Int) {
        var written = 0
        var handle: FileHandle?
        var path: String?
        switch mode {
        case .none: break
        case .devnull: handle = FileHandle(forWritingAtPath: "/dev/null")
        case .file:
            path = NSTemporaryDirectory() + "xv6vm-bench-\(getpid()).trace"
            FileManager.default.createFile(atPath: path!, contents: nil)
            handle = FileHandle(forWritingAtPath: path!)
        }
        defer { try? handle?.close(); if let path { try? FileManager.default.removeItem(atPath: path) } }
        let writer = mode == .none ? nil : TraceWriter(format: .text, sites: .init(), output: { bytes in
            written += bytes.count
            bytes.withUnsafeBytes { handle?.write(Data($0)) }
        })
        let start = DispatchTime.now().uptimeNanoseconds
        let (result, _) = Runner.run(scenario, writer: writer)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return (seconds, result, written)
    }
}
