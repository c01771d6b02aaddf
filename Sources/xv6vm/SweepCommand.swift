import ArgumentParser
import Foundation
import Simulation

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
