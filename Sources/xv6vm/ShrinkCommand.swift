import ArgumentParser
import Foundation
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport

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
        // Only the golden predicate looks for a golden, so only it needs the project.
        let store = until == "golden" ? try findProject("shrink", [options.file]).0 : GoldenStore()
        do {
            predicate = try Shrink.Predicate(until, original: scenario, file: options.file, store: store)
        } catch {
            throw ValidationError("cannot shrink \(options.file) --until \(until): \(error.description)")
        }
        let terminal = isatty(STDERR_FILENO) == 1
        warn(cost(of: scenario).joined(separator: "\n"))
        let start = DispatchTime.now().uptimeNanoseconds
        var lastLine = start
        let every = Self.progressEvery
        let progress: (Int, Int) -> Void = { tests, smallest in
            let now = DispatchTime.now().uptimeNanoseconds
            let line = "shrink: \(grouped(tests)) test run\(tests == 1 ? "" : "s") in \(Self.duration(now - start)), smallest so far \(grouped(smallest)) events as run"
            if terminal { StandardStreams.err("\r" + line + "   ") }
            // Into a pipe or a log: a line every 5 s, so a long reduction is never silent.
            else if Double(now - lastLine) >= every * 1e9 { lastLine = now; warn(line) }
        }
        let shrunk = Shrink.run(scenario, file: options.file, predicate: predicate, overrides: options.overrides, progress: progress)
        if terminal { StandardStreams.err("\n") }
        guard let result = shrunk else {
            warn("xv6vm shrink: \(options.file) does not show \(predicate) once written back out; nothing to shrink")
            throw ExitCode(1)
        }
        try OutputFile.writeAtomically(Array(result.yaml.utf8), to: output, createDirectories: false)
        if !terminal { warn("shrink: done: \(grouped(result.tests)) test runs in \(Self.duration(DispatchTime.now().uptimeNanoseconds - start))") }
        let runs = result.afterExpanded != result.after ? " (\(result.afterExpanded) when run)" : ""
        out("wrote \(output): \(result.after) events\(runs), \(result.before - result.after) removed of \(result.before) (\(result.tests) test runs); it still shows \(predicate)")
        if let d = predicate.departure {
            out("the first lines that differ (\(d.expected == d.actual ? "only in their numbers, masked here" : "numbers masked")):\n  golden:   \(d.expected)\n  this run: \(d.actual)")
        }
    }

    /// What shrinking will cost, said before it starts: one run of the original, timed here,
    /// and for a failed kalloc, the event it fails at: each test run replays what comes
    /// before it, so a late call makes every test run long.
    func cost(of scenario: CompiledScenario) -> [String] {
        let start = DispatchTime.now().uptimeNanoseconds
        let call = scenario.config.settings.failKalloc
        let at = call > 0 ? Sweep.outcome(scenario, call: call).event : nil
        if call == 0 { _ = Runner.run(scenario, writer: nil) }
        let once = DispatchTime.now().uptimeNanoseconds - start
        var say = "shrink: one run of \(options.file) takes \(Self.duration(once)) here"
        if let at {
            say += "; fail_kalloc=\(grouped(call)) fails at event \(grouped(at)) of \(grouped(scenario.events.count - 1))"
                + ", and every test run replays the events before it, so a late call costs more"
        }
        say += ". A reduction takes hundreds to a few thousand test runs, most of them shorter than this one"
        say += " (about \(Self.duration(once * 100)) per 100 runs as long); progress every \(Int(Self.progressEvery)) s."
        return folded(say)
    }

    /// Seconds between progress lines into a pipe or a file: 5, or `XV6VM_PROGRESS_EVERY`
    /// (tests make it 0: a line per test run).
    static var progressEvery: Double {
        ProcessInfo.processInfo.environment["XV6VM_PROGRESS_EVERY"].flatMap(Double.init).map { max(0, $0) } ?? 5
    }

    /// `850 ms`, `12 s`, `2 min 15 s`.
    static func duration(_ ns: UInt64) -> String {
        let ms = Int((Double(ns) / 1e6).rounded())
        if ms < 1000 { return "\(ms) ms" }
        let s = Int((Double(ns) / 1e9).rounded())
        return s < 60 ? "\(s) s" : "\(s / 60) min \(s % 60) s"
    }
}
