import ArgumentParser
import Foundation
import Support
import Scenario
import Run
import Goldens
import Explore
import Cosim
import Report

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one HTML page to look at a run: events, page tables, findings.",
        usage: """
            xv6vm report <SCENARIO> -o <FILE.html> [--set <KEY=VALUE> ...]
            """,
        discussion: """
            The scenario is run on the model, and one self-contained page is written (its \
            script and styles inside; it needs no network): a summary with the findings, \
            every event with its file:line, process and counts, and after the selected \
            event the page tables of every live process as vmprint trees you can fold, \
            each PTE's bits decoded and what the event added, changed or removed \
            highlighted with the old values. ←/→ move between events, j/k between \
            findings; report.html#event=N opens at event N. A kernel's log (a replay's \
            report) is not read yet: give a scenario (a log is refused, exit 64). \
            Exit 0: written; 2: a scenario that cannot be read; 64: bad usage; 74: the \
            file cannot be written (docs/limits-and-exit-codes.md).
            """)

    @OptionGroup var options: ScenarioOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("The HTML file to write.", valueName: "FILE.html"))
    var output: String

    func run() throws {
        if Leaks.isKernelLog(options.file) {
            throw ValidationError("\(options.file) is a kernel's log; report reads scenarios only for now (a replay's report is a later step)")
        }
        let scenario = try options.load()
        try options.refuseOverwritingInput(output, of: scenario)
        let report = RunReport(scenario: scenario)
        let page = Array(report.html.utf8)
        try OutputFile.writeAtomically(page, to: output, createDirectories: false)
        let changed = report.events.reduce(0) { $0 + $1.changedEntries }
        out("wrote \(output): \(report.events.count) events, \(changed) PTE changes, "
            + "\(report.findings.count) finding\(report.findings.count == 1 ? "" : "s"), \(page.count) bytes")
    }
}
