import ArgumentParser
import Foundation
import Simulation

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
