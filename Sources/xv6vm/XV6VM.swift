import ArgumentParser
import Foundation
import Simulation

@main
struct XV6VM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xv6vm",
        abstract: "A deterministic simulator of the xv6-riscv kernel's virtual memory.",
        discussion: """
            Scenarios (YAML) say what processes do; xv6vm runs them on an exact model of the \
            kernel and prints a trace of every allocation, mapping, unmapping and satp write.
            Exit codes: 0 success, 1 a kernel panic, finding or failed check, 2 a scenario error, 64 bad usage.
            """,
        subcommands: [Run.self, Compile.self, Check.self, Bless.self, Leaks.self, Plot.self, SweepCommand.self, ShrinkCommand.self, Import.self, ReplayCommand.self, Variants.self, Bench.self]
    )
}

/// The scenario file and `--set KEY=VALUE`, shared by every command that runs a scenario.
struct ScenarioOptions: ParsableArguments {
    @Argument(help: "The scenario file (YAML).")
    var file: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a kernel setting, or the image's end, etext, trampoline, phystop or harts (see `xv6vm variants`); repeatable.", valueName: "KEY=VALUE"))
    var overrides: [String] = []

    /// The scenario compiled, with the overrides applied; exits 2 on a scenario error.
    func load(jsonErrors: Bool = false) throws -> CompiledScenario {
        var scenario = try compileOrExit(file, json: jsonErrors)
        if let problem = scenario.apply(overrides: overrides) { throw ValidationError(problem) }
        return scenario
    }
}

/// Writes to standard error.
func warn(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// Writes raw bytes to standard output.
func out(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { FileHandle.standardOutput.write(Data($0)) }
}

func out(_ s: String) { out(Array((s + "\n").utf8)) }

/// Compiles a scenario or exits 2 with its problems on stderr: as text, or with `json`
/// as one JSON object per problem ({"file", "line", "column", "message"}).
func compileOrExit(_ path: String, json: Bool = false) throws -> CompiledScenario {
    do {
        return try ScenarioCompiler.compile(path: path)
    } catch {
        if json {
            for d in error.diagnostics {
                warn(JSONValue.o(["file": .s(d.location.file), "line": .i(Int64(d.location.line)),
                                  "column": .i(Int64(d.location.column)), "message": .s(d.message)]).encoded)
            }
        } else {
            warn(error.description)
            let n = error.diagnostics.count
            warn("\(n) error\(n == 1 ? "" : "s") in \(path)")
        }
        throw ExitCode(2)
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a scenario and print its trace.")

    @OptionGroup var options: ScenarioOptions

    @Option(help: "Trace format: text, jsonl, or none (run without producing a trace).")
    var format: TraceFormat = .text


    @Flag(help: "Check the invariants after every event and report each violation.")
    var check = false

    @Flag(help: "After the run, print the leak report on stderr (exit 1 if anything leaked).")
    var leaks = false

    func run() throws {
        var scenario = try options.load(jsonErrors: format == .jsonl)
        if check { scenario.checkInvariants = true }
        let writer = format == .none ? nil : TraceWriter(format: format, sites: .init(), output: { out($0) })
        let (result, kernel) = Runner.run(scenario, writer: writer)
        var leaked = false
        if leaks, let kernel {
            let report = LeakReport(scenario: scenario, kernel: kernel, result: result)
            warn(report.text)
            leaked = report.leaked > 0
        }
        if let p = result.panic, !result.panicExpected {
            let at = result.panicEvent.flatMap { scenario.events[$0].location }.map { " at \($0)" } ?? ""
            warn("xv6vm: the kernel panicked\(at): panic: \(p.message)")
        }
        for f in result.findings { warn("xv6vm: finding: \(f.kind.rawValue) \(f.detail)") }
        for (what, list) in [("expectation failed", result.failedExpectations), ("invariant", result.violations)] {
            for v in list {
                let at = scenario.events[v.event].location.map { "\($0): " } ?? ""
                warn("xv6vm: \(at)\(what): \(v.text)")
            }
        }
        if result.exitCode != 0 || leaked { throw ExitCode(1) }
    }
}

struct Leaks: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scenario and report the pages nobody owns: leaks, grouped by allocation site.",
        discussion: "Exit 1 when anything leaked. The report walks the kernel's live structures (page tables, trapframes, kernel stacks, zombies) and accounts every allocated page to one of them.")

    @OptionGroup var options: ScenarioOptions

    @Option(help: "Report after this event (see `xv6vm compile` for event numbers) instead of at the end.")
    var at: Int?


    func run() throws {
        let scenario = try options.load()
        if let at, at < 0 || at >= scenario.events.count {
            throw ValidationError("--at takes an event number from 0 to \(scenario.events.count - 1)")
        }
        let (result, kernel) = Runner.run(scenario, writer: nil, stopAfter: at)
        guard let kernel else { warn("xv6vm: the kernel did not boot"); throw ExitCode(1) }
        let report = LeakReport(scenario: scenario, kernel: kernel, result: result)
        out(report.text)
        if report.leaked > 0 { throw ExitCode(1) }
    }
}

struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a scenario's compiled event stream, with the source line of each event.")

    @Argument(help: "The scenario file (YAML).")
    var file: String

    @Option(help: "How to report errors: text, or json (one object per line on stderr).")
    var format: CheckFormat = .text

    func run() throws {
        let scenario = try compileOrExit(file, json: format == .json)
        out(Listing.compiled(scenario))
    }
}

extension TraceFormat: ExpressibleByArgument {}

struct Variants: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the kernel variants (presets) and the settings they are made of.")

    func run() throws {
        out(Listing.variants())
    }
}

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Plot free pages against event number, with allocated pages stacked by owner, as SVG.")

    @OptionGroup var options: ScenarioOptions

    @Option(name: .shortAndLong, help: "The SVG file to write.")
    var output: String


    func run() throws {
        let scenario = try options.load()
        let plot = MemoryPlot(scenario: scenario)
        try Golden.writeAtomically(Array(plot.svg.utf8), to: output)
        let total = scenario.events.count - 1
        out("wrote \(output): \(plot.samples.count) samples of events 0 to \(plot.panic?.event ?? total) of \(total)"
            + (plot.panic.map { " (the kernel panicked there: panic: \($0.message))" } ?? ""))
    }
}
