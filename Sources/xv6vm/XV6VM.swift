import ArgumentParser
import Foundation
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport

@main
struct XV6VM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xv6vm",
        abstract: "A deterministic simulator of the xv6-riscv kernel's virtual memory.",
        discussion: """
            Scenarios (YAML) say what processes do; xv6vm runs them on an exact model of the \
            kernel and prints a trace of every allocation, mapping, unmapping and satp write. \
            import and replay read a real kernel's @T log and compare it with the model.
            Exit codes: 0 success, 1 a kernel panic, finding, failed check or departure, 2 a scenario, \
            log or sweep part that cannot be read, 64 bad usage, 65 sweep parts that do not fit \
            together, 66 no project (no folder from here up holds scenarios/), 74 could not \
            write output (docs/limits-and-exit-codes.md).
            """,
        version: "xv6vm 0.3 (trace format \(traceFormatVersion))",
        subcommands: [RunCommand.self, Compile.self, Check.self, Review.self, Bless.self, Leaks.self, Plot.self, SweepCommand.self, ShrinkCommand.self, Import.self, ReplayCommand.self, Variants.self, Schema.self, Bench.self, ReportCommand.self]
    )

    /// ArgumentParser's `main`, except that a closed standard stream cannot be reused by a
    /// file we open, an output that cannot be written exits `cannotWrite` with the reason,
    /// and a usage error found while running shows the subcommand's usage, not the top level's.
    static func main() {
        StandardStreams.reserveClosed()
        var command: ParsableCommand
        do { command = try parseAsRoot(nil) } catch { finish(error) }
        do {
            try command.run()
        } catch let e as WriteError {
            warn("xv6vm: \(e)")
            Foundation.exit(ExitCodes.cannotWrite)
        } catch let e as ValidationError {
            let sub = type(of: command)
            let name = sub == XV6VM.self ? "xv6vm" : "xv6vm \(sub._commandName)"
            warn("Error: \(e.message)\nUsage: \(usageString(for: sub))\n  See '\(name) --help' for more information.")
            Foundation.exit(ExitCode.validationFailure.rawValue)
        } catch {
            finish(error)
        }
    }

    /// ArgumentParser's `exit(withError:)`, but help goes through the checked standard output,
    /// and an error message through `warn`, which escapes control characters in the values it quotes.
    static func finish(_ error: Error) -> Never {
        let code = exitCode(for: error).rawValue
        let text = fullMessage(for: error)
        if !text.isEmpty {
            if code == 0 { out(text) } else { warn(text) }
        }
        Foundation.exit(code)
    }
}

/// The exit codes besides ArgumentParser's (0 success, 64 bad usage).
enum ExitCodes {
    /// A kernel panic, a finding, a broken invariant or expectation, a trace that differs from its golden.
    static let failed: Int32 = 1
    /// A scenario that cannot be compiled.
    static let scenarioError: Int32 = 2
    /// Sweep parts (or a file to resume) that do not fit together: another scenario or other
    /// settings, calls missing or covered twice: sysexits' EX_DATAERR.
    static let partsDoNotFit: Int32 = 65
    /// No project: no folder from the paths given (or the working directory) up holds
    /// scenarios/: sysexits' EX_NOINPUT.
    static let noProject: Int32 = 66
    /// An output (standard output, a golden, an SVG, a shrunk scenario) could not be written:
    /// sysexits' EX_IOERR.
    static let cannotWrite: Int32 = 74
}

/// Standard output and standard error, written with write(2), every write checked.
enum StandardStreams {
    /// Opens /dev/null read-only on any of descriptors 0 to 2 that is closed (`>&-`), so that
    /// no file we open later gets it (the trace would land in a golden), and writes to a closed
    /// standard output still fail, with EBADF, and are reported.
    static func reserveClosed() {
        for fd in Int32(0)...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            let got = open("/dev/null", O_RDONLY)
            if got >= 0 && got != fd { close(got) }
        }
    }

    /// Writes to standard output; a failed write ends the program with `cannotWrite` and the reason.
    static func out(_ bytes: [UInt8]) {
        let err = OutputFile.writeAll(STDOUT_FILENO, bytes)
        if err != 0 {
            warn("xv6vm: could not write to standard output: \(reasonInWords(err))")
            exit(ExitCodes.cannotWrite)
        }
    }

    /// A trace writer's buffer to standard output, as `out` writes bytes.
    static func out(_ bytes: TraceBytes) {
        let err = OutputFile.writeAll(STDOUT_FILENO, bytes)
        if err != 0 {
            warn("xv6vm: could not write to standard output: \(reasonInWords(err))")
            exit(ExitCodes.cannotWrite)
        }
    }

    /// Writes to standard error; if that fails there is nowhere left to say so.
    static func err(_ s: String) {
        _ = OutputFile.writeAll(STDERR_FILENO, Array(s.utf8))
    }
}

/// The scenario file and `--set KEY=VALUE`, shared by every command that runs a scenario.
struct ScenarioOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The scenario file (YAML).", valueName: "SCENARIO"))
    var file: String

    @OptionGroup var kernel: KernelOverrides

    var overrides: [String] { kernel.overrides }

    /// The scenario compiled, with the overrides applied; exits 2 on a scenario error.
    func load(jsonErrors: Bool = false) throws -> CompiledScenario {
        try Self.load(file, overrides: overrides, jsonErrors: jsonErrors)
    }

    /// The scenario `file` compiled, with `overrides` applied; exits 2 on a scenario error.
    static func load(_ file: String, overrides: [String], jsonErrors: Bool = false) throws -> CompiledScenario {
        var scenario = try compileOrExit(file, json: jsonErrors)
        if let problem = scenario.apply(overrides: overrides) { throw ValidationError(problem) }
        return scenario
    }

    func refuseOverwritingInput(_ output: String, of scenario: CompiledScenario) throws {
        try Self.refuseOverwritingInput(output, file: file, of: scenario)
    }

    /// Refuses to write `output` when it is the scenario or a file it includes, however it is
    /// named (`..`, symbolic or hard links: the same device and inode).
    static func refuseOverwritingInput(_ output: String, file: String, of scenario: CompiledScenario) throws {
        var inputs: Set<String> = [file]
        for e in scenario.events { if let f = e.location?.file { inputs.insert(f) } }
        if FileStatus.sameFile(output, file) {
            throw ValidationError("-o \(output) is the scenario being read, \(file); write the output to another file")
        }
        for f in inputs.sorted() where FileStatus.sameFile(output, f) {
            throw ValidationError("-o \(output) is \(f), which the scenario includes; write the output to another file")
        }
    }
}

/// Writes a message to standard error, with any control character but newline and tab
/// shown escaped (`\x01`), so that a file name or `--set` value cannot hide text or drive the terminal.
func warn(_ s: String) {
    StandardStreams.err(escapingControlCharacters(s) + "\n")
}

/// `s` with every control character except newline and tab written as `\xNN` (or `\u{NN}`).
func escapingControlCharacters(_ s: String) -> String {
    guard s.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" && $0 != "\t" }) else { return s }
    var out = ""
    for u in s.unicodeScalars {
        if u.properties.generalCategory == .control && u != "\n" && u != "\t" {
            let hex = String(u.value, radix: 16)
            out += u.value < 0x80 ? "\\x" + (hex.count < 2 ? "0" : "") + hex : "\\u{\(hex)}"
        } else {
            out.unicodeScalars.append(u)
        }
    }
    return out
}

/// Writes raw bytes to standard output; exits `cannotWrite` if it cannot.
func out(_ bytes: [UInt8]) {
    StandardStreams.out(bytes)
}

func out(_ s: String) { out(Array((s + "\n").utf8)) }

/// Compiles a scenario or exits 2 with its problems on stderr: as text, or with `json`
/// as one JSON object per problem ({"file", "line", "column", "message"}). Beyond the first
/// `ScenarioError.shownLimit`, problems are counted: "and N more errors (not shown)", or in
/// JSON a last object {"file", "message", "more": N}.
func compileOrExit(_ path: String, json: Bool = false) throws -> CompiledScenario {
    do {
        return try ScenarioCompiler.compile(path: path)
    } catch {
        if json {
            for d in error.diagnostics {
                warn(JSONValue.o(["file": .s(d.location.file), "line": .i(Int64(d.location.line)),
                                  "column": .i(Int64(d.location.column)), "message": .s(d.message)]).encoded)
            }
            if let more = error.omittedLine {
                warn(JSONValue.o(["file": .s(path), "message": .s(more), "more": .i(Int64(error.omitted))]).encoded)
            }
        } else {
            warn(error.description)
            let n = error.count
            warn("\(n) error\(n == 1 ? "" : "s") in \(path)")
        }
        throw ExitCode(2)
    }
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a scenario and print its trace.",
        usage: """
            xv6vm run <SCENARIO> [--set <KEY=VALUE> ...] [--format <text|jsonl|none>]
                                 [--check] [--leaks]
            """)

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
        let writer = format == .none ? nil : TraceWriter(format: format, sites: .init(), writingBuffer: { StandardStreams.out($0) })
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
        // Leaks' summary says it already; the trace (and its golden) stays as it was.
        if !leaks, let kernel, let note = Consultation.note(scenario, kernel) { warn("xv6vm: note: " + note) }
        for (what, list) in [("expectation failed", result.failedExpectations), ("invariant", result.violations)] {
            for v in list {
                let at = scenario.events[v.event].location.map { "\($0): " } ?? ""
                warn("xv6vm: \(at)\(what): \(v.text)")
            }
        }
        if result.exitCode != 0 || leaked { throw ExitCode(1) }
    }
}

struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a scenario's compiled event stream, with the source line of each event.")

    @Argument(help: ArgumentHelp("The scenario file (YAML).", valueName: "SCENARIO"))
    var file: String

    /// How errors are reported: with json, one object per line on stderr.
    @OptionGroup var formatting: FormatOption

    func run() throws {
        let scenario = try compileOrExit(file, json: formatting.json)
        out(Listing.compiled(scenario))
    }
}

extension TraceFormat: ExpressibleByArgument {}

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a JSON Schema of the scenario language, for editors (docs/scenario-language.md: Editors).")

    func run() throws {
        out(Array(ScenarioSchema.text.utf8))
    }
}

struct Variants: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the kernel variants (presets) and the settings they are made of.")

    func run() throws {
        out(Listing.variants())
    }
}

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Plot pages allocated by owner against event number, or (--table PROC) a page table as a tree, as SVG.",
        usage: """
            xv6vm plot <SCENARIO> [--set <KEY=VALUE> ...] --output <FILE.svg>
                                  [--table <PROC> [--at <N>] [--kernel-table]]
            """)

    @OptionGroup var options: ScenarioOptions

    @Option(name: .shortAndLong, help: "The SVG file to write.")
    var output: String

    @Option(help: ArgumentHelp("Draw this process's page table as a tree instead (vmprint as a figure): its name, as the scenario calls it, or its pid.", valueName: "PROC"))
    var table: String?

    @Option(help: ArgumentHelp("With --table: after this event (default: the last).", valueName: "N"))
    var at: Int?

    @Flag(help: "With --table: the process's own kernel page table (pgtbl-lab) rather than its user table.")
    var kernelTable = false

    func run() throws {
        let scenario = try options.load()
        try options.refuseOverwritingInput(output, of: scenario)
        if let table { try drawTable(scenario, pid: try pid(table, in: scenario)); return }
        if at != nil || kernelTable { throw ValidationError("--at and --kernel-table go with --table PROC") }
        let plot = MemoryPlot(scenario: scenario)
        try OutputFile.writeAtomically(Array(plot.svg.utf8), to: output, createDirectories: false)
        let total = scenario.events.count - 1
        out("wrote \(output): \(plot.samples.count) samples of events 0 to \(plot.panic?.event ?? total) of \(total)"
            + (plot.panic.map { " (the kernel panicked there: panic: \($0.message))" } ?? ""))
    }

    /// The pid `--table` names: a number, or a process's name as the scenario binds it by
    /// event `at` (the latest binding: a name in a `repeat` is the last round's).
    func pid(_ name: String, in scenario: CompiledScenario) throws -> Int {
        if let n = Int(name) { return n }
        let last = min(at ?? scenario.events.count - 1, scenario.events.count - 1)
        if let pid = scenario.pid(named: name, by: last) { return pid }
        let names = scenario.processNames(by: last)
        throw ValidationError("no process is called \(name) by event \(last)"
            + (names.isEmpty ? "" : "; the scenario's processes: \(names.joined(separator: ", "))") + suggestion(name, names))
    }

    /// The page table of `pid` after event `at`, as a tree.
    func drawTable(_ scenario: CompiledScenario, pid: Int) throws {
        let last = scenario.events.count - 1
        let event = at ?? last
        guard (0...last).contains(event) else { throw ValidationError("--at takes an event number from 0 to \(last); got \(event)") }
        let (result, kernel) = Runner.run(scenario, writer: nil, stopAfter: event)
        guard let k = kernel, let slot = k.slot(ofPid: pid) else {
            throw ValidationError("pid \(pid) does not exist after event \(min(event, result.eventsRun - 1)) (see `xv6vm compile \(options.file)` for the pids)")
        }
        if kernelTable && !scenario.config.settings.perProcessKernelPagetable {
            throw ValidationError("--kernel-table needs a kernel with per-process kernel page tables (e.g. --set variant=pgtbl-lab)")
        }
        let root = kernelTable ? k.procs[slot].kernelPagetable : k.procs[slot].pagetable
        let shown = min(event, result.eventsRun - 1)
        let caption = "\(scenario.file): pid \(pid)'s \(kernelTable ? "kernel" : "user") page table after event \(shown)"
            + (result.panic.map { " (the kernel panicked: \($0.message))" } ?? "")
        let figure = TableFigure(caption: caption, root: root, memory: k.memory)
        try OutputFile.writeAtomically(Array(figure.svg.utf8), to: output, createDirectories: false)
        let leaves = figure.boxes.filter { $0.level == 0 }.count
        out("wrote \(output): pid \(pid)'s \(kernelTable ? "kernel" : "user") table after event \(shown): "
            + "\(figure.tablePages) table pages below the root, \(leaves + figure.omitted) runs of leaves"
            + (figure.omitted > 0 ? " (\(figure.omitted) not drawn)" : ""))
    }
}
