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

/// Reads a kernel log and imports it, or exits 2 with the log's problem on stderr.
func importOrExit(_ path: String, overrides: [String]) throws -> ImportedLog {
    let log: KernelLog
    do { log = try KernelLog.read(path: path) } catch {
        warn(error.description)
        throw ExitCode(2)
    }
    for w in log.warnings { warn(w.description) }
    do {
        return try LogImporter.run(log, overrides: overrides)
    } catch {
        // A bad --set is bad usage (64, with the usage), as for every other command; it exited 2.
        if error.file == LogImporter.overridesFile { throw ValidationError(error.message) }
        warn(error.description)
        throw ExitCode(2)
    }
}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn a real kernel's @T event log into a scenario that makes the same process events.",
        discussion: """
            The log is what an instrumented xv6 kernel printed under QEMU (docs/check-your-kernel.md); \
            .xz logs are read directly. The variant is guessed from the log's shape; --set overrides it.
            """)

    @Argument(help: "The kernel's log (text, or .xz).")
    var log: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the scenario (YAML).", valueName: "SCENARIO.yaml"))
    var output: String

    @OptionGroup var kernel: KernelOverrides

    func run() throws {
        let overrides = kernel.overrides
        if FileStatus.sameFile(output, log) { throw ValidationError("--output is the log itself; give another file") }
        let imported = try importOrExit(log, overrides: overrides)
        let command = (["xv6vm import", (log as NSString).lastPathComponent] + overrides.map { "--set \($0)" }).joined(separator: " ")
        let yaml = imported.yaml(command: command)
        do { try OutputFile.writeAtomically(Array(yaml.utf8), to: output, createDirectories: false) } catch {
            warn("xv6vm: \(error)")
            throw ExitCode(ExitCodes.cannotWrite)
        }
        let events = imported.operations.count - 1
        if yaml.utf8.count > ScenarioCompiler.fileSizeLimit {
            warn("note: \(output) has \(yaml.utf8.count >> 10) KiB, more than the \(ScenarioCompiler.fileSizeLimit >> 20) MiB that run, check and the other commands read; `xv6vm replay` runs the log without it")
        }
        warn("wrote \(output): \(events) events from \(imported.log.probes.count) probe lines (\(imported.config.variant))"
             + (imported.unexplained.isEmpty ? "" : "; \(imported.unexplained.count) memory events no operation explains"))
    }
}

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a real kernel's @T log on the model and show where the two part.",
        usage: """
            xv6vm replay <log> [--set <KEY=VALUE> ...] [--suggest]
                               [--blind-addresses] [--keep-going <N>] [--leaks]
                               [--format <format>]
            """,
        discussion: """
            Imports the log, runs the model, and compares every kalloc, kfree, map, unmap, freewalk, \
            kvm_free_kernelpgtbl, allocproc and freeproc in order, every satp the kernel printed, and the \
            process events (fork, exec, sbrk, exit, wait). Exit 0: they agree; 1: they part; 2: the log \
            cannot be read or followed.
            """)

    @Argument(help: "The kernel's log (text, or .xz).")
    var log: String

    @OptionGroup var kernel: KernelOverrides

    @OptionGroup var formatting: FormatOption

    var overrides: [String] { kernel.overrides }
    var format: OutputFormat { formatting.format }

    @Flag(help: "Also show the pages the kernel still holds, by the model's allocation site.")
    var leaks = false

    @Flag(help: ArgumentHelp("Find the design settings under which the log agrees furthest, print them as --set options, then replay under them."))
    var suggest = false

    @Flag(help: "Match physical pages by first use, not by address: part only where the kernel does something else.")
    var blindAddresses = false

    @Option(name: .customLong("keep-going"), parsing: .unconditional, help: ArgumentHelp("Show the first N departures, each in full: after each, both sides go on from the next operation, pages matched by first use.", valueName: "N"), transform: wholeNumber(atLeast: 1, "a number of departures"))
    var keepGoing = 1

    func run() throws {
        if suggest { return try runSuggest() }
        let streamed: StreamedReplay
        do { streamed = try Replay.stream(path: log, overrides: overrides, blind: blindAddresses, keepGoing: keepGoing) } catch {
            // A bad --set is bad usage (64, with the usage), as for every other command.
            if error.file == LogImporter.overridesFile { throw ValidationError(error.message) }
            warn(error.description)
            throw ExitCode(2)
        }
        for w in streamed.warnings { warn(w.description) }
        let report = streamed.report
        switch format {
        case .text: out(Array(report.text(leaks: leaks).utf8))
        case .json: out(report.json.encoded)
        }
        if !report.agrees { throw ExitCode(1) }
    }
}

extension ReplayCommand {
    func runSuggest() throws {
        let kernelLog: KernelLog
        do { kernelLog = try KernelLog.read(path: log) } catch {
            warn(error.description)
            throw ExitCode(2)
        }
        let suggestion: Suggestion
        do { suggestion = try Suggest.run(kernelLog, overrides: overrides) } catch {
            if error.file == LogImporter.overridesFile { throw ValidationError(error.message) }
            warn(error.description)
            throw ExitCode(2)
        }
        switch (format, suggestion.outcome) {
        case (.json, _): out(suggestion.json.encoded)
        case (.text, .replayed(let report)): out(Array((suggestion.text + report.text(leaks: leaks)).utf8))
        case (.text, .refused(let error)):
            out(Array(suggestion.text.utf8))
            warn(error.description)
            throw ExitCode(2)
        }
        if !suggestion.agrees { throw ExitCode(1) }
    }
}

