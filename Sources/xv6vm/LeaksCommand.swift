import ArgumentParser
import Foundation
import Support
import Scenario
import Run
import Goldens
import Explore
import CosimLog
import CosimLeaks
import HTMLReport

struct Leaks: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report the pages nobody owns: leaks, grouped by allocation site.",
        usage: """
            xv6vm leaks <SCENARIO> [--set <KEY=VALUE> ...] [--at <N>]
            xv6vm leaks <LOG>          (a kernel's @T log: .log, .xz, or @T lines)
            """,
        discussion: """
            A scenario is run on the model, and every allocated page is accounted to the live \
            structure that holds it. A kernel's log is read alone, without the model: each page \
            is followed from its kalloc through the map that placed it to its kfree, and a page \
            still held when its owner is gone (freeproc, a failed exec, an unmap) is a leak; \
            double frees and frees of mapped pages are reported too. A COW kernel's refinc/refdec \
            lines give each page its count: a page left counted that nothing maps is a leak, and \
            counts above or below the mappings or below zero are misuse (docs/check-your-kernel.md). \
            Exit 0: no leaks; 1: leaks or misuse; 2: a scenario or log that cannot be read.
            """)

    @OptionGroup var options: ScenarioOptions

    @Option(parsing: .unconditional, help: ArgumentHelp("Report after event N (see `xv6vm compile` for event numbers) instead of at the end.", valueName: "N"),
            transform: wholeNumber(atLeast: 0, "an event number"))
    var at: Int?

    @Flag(help: "Read the file as a kernel's @T log whatever its name.")
    var log = false

    func run() throws {
        if log || Self.isKernelLog(options.file) { return try runLog() }
        let scenario = try options.load()
        if let at, at < 0 || at >= scenario.events.count {
            throw ValidationError("--at takes an event number from 0 to \(scenario.events.count - 1) (the last event of \(options.file)); got \(at)")
        }
        let (result, kernel) = Runner.run(scenario, writer: nil, stopAfter: at)
        guard let kernel else { warn("xv6vm: the kernel did not boot"); throw ExitCode(1) }
        let report = LeakReport(scenario: scenario, kernel: kernel, result: result)
        out(report.text)
        if report.leaked > 0 { throw ExitCode(1) }
    }

    /// The log's leaks and misuse, read from its probes alone.
    func runLog() throws {
        if !options.overrides.isEmpty || at != nil {
            throw ValidationError("--set and --at are for scenarios; a kernel's log is read as it is, without the model")
        }
        let kernelLog: KernelLog
        do { kernelLog = try KernelLog.read(path: options.file) } catch {
            warn(error.description)
            throw ExitCode(2)
        }
        let report = LogLeakTracker.run(kernelLog)
        out(Array(report.text.utf8))
        if !report.clean { throw ExitCode(1) }
    }

    /// A kernel's log rather than a scenario: named `.log` or `.xz`, or a regular file whose
    /// first 64 KiB hold an `@T ` line (a scenario's YAML has none); `.yaml` is a scenario.
    static func isKernelLog(_ path: String) -> Bool {
        let lower = path.lowercased()
        if lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") { return false }
        if lower.hasSuffix(".log") || lower.hasSuffix(".xz") { return true }
        guard let file = try? InputFile(path), file.status.kind == .regular else { return false }
        let head = file.head(1 << 16)
        if head.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { return true }
        var i = 0
        while i + 3 <= head.count {
            if head[i] == 0x40 && head[i + 1] == 0x54 && head[i + 2] == 0x20 && (i == 0 || head[i - 1] == 0x0A || head[i - 1] == 0x20) { return true }
            i += 1
        }
        return false
    }
}
