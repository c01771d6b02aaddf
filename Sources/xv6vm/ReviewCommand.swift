import ArgumentParser
import Foundation
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport

struct Review: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Review the goldens check left pending (NAME.trace.new): accept, reject or skip each.",
        usage: """
            xv6vm review [<PATH> ...] [--list | --accept | --reject]
                         [--pending-dir <DIR>] [--blind-addresses]
            """,
        discussion: """
            On a terminal, shows each pending golden with its diff (through PAGER, default \
            `less -R`, when longer than the screen) and takes one key, no Enter: a (accept: the \
            .new file replaces the golden, atomically), r (reject: the .new file is removed), \
            s (skip), q (quit), ? (help). For scripts, with the same words: --list, --accept [PATH...], --reject [PATH...]; a PATH is a \
            scenario, a golden, a .new file or a directory of them (default: every pending one). \
            A .new file whose scenario is gone is stale: it cannot be accepted, and --reject removes it. \
            Exit 0 when done, 1 when a PATH names nothing pending or a stale file was to be accepted, \
            66 when no folder from the PATHs (or here) up holds scenarios/, \
            74 when a file could not be moved or removed.
            """)

    @Argument(help: ArgumentHelp("Scenarios, goldens, .new files or directories to act on (default: every pending golden).", valueName: "PATH"))
    var paths: [String] = []

    @Flag(help: "List the pending goldens and how each differs.")
    var list = false

    @Flag(help: "Accept: each .new file replaces its golden.")
    var accept = false

    @Flag(help: "Reject: each .new file is removed; the golden stays as it was.")
    var reject = false

    @Option(help: ArgumentHelp("Read the .new files from DIR (as check --pending-dir left them).", valueName: "DIR"))
    var pendingDir: String?

    @Flag(help: "Show diffs address-blind: pages named by first use (page#1, ...), structural hunks only.")
    var blindAddresses = false

    func validate() throws {
        if [list, accept, reject].filter({ $0 }).count > 1 { throw ValidationError("give one of --list, --accept and --reject") }
    }

    func run() throws {
        let (store, _) = try findProject("review", paths)
        let all = store.pendingGoldens(dir: pendingDir)
        var selected = all
        var unmatched: [String] = []
        if !paths.isEmpty {
            selected = all.filter { p in paths.contains { p.isNamed(by: $0) } }
            unmatched = paths.filter { name in !all.contains { $0.isNamed(by: name) } }
        }
        for u in unmatched { warn("xv6vm review: nothing is pending for \(u)") }
        let interactive = !list && !accept && !reject
        if interactive && isatty(STDIN_FILENO) != 1 {
            out(listing(selected, store: store))
            out("(standard input is not a terminal: use review --accept or --reject PATH)")
        } else if list {
            out(listing(selected, store: store))
        } else if accept || reject {
            var problems = 0, failed = false
            var done = 0
            for p in selected {
                if accept && p.scenario == nil {
                    out("stale".rightPadded(16, gap: 1) + "\(p.path): its scenario is gone; not accepted (`xv6vm review --reject` removes it)")
                    if !paths.isEmpty { problems += 1 }
                    continue
                }
                do {
                    if accept { try p.accept() } else { try p.reject() }
                    done += 1
                    out(accept ? Review.acceptedLine(p) : Review.rejectedLine(p))
                } catch let e as WriteError {
                    warn("xv6vm review: \(e)")
                    failed = true
                }
            }
            out("review: \(done) \(accept ? "accepted" : "rejected"), \(selected.count - done) left")
            if failed { throw ExitCode(ExitCodes.cannotWrite) }
            if problems > 0 { throw ExitCode(1) }
        } else {
            try interact(selected, store: store)
        }
        if !unmatched.isEmpty { throw ExitCode(1) }
    }

    /// One line (folded) per pending golden, then the counts.
    func listing(_ pending: [PendingGolden], store: GoldenStore) -> String {
        var lines: [String] = []
        var changed = 0, new = 0, stale = 0
        for p in pending {
            if p.scenario == nil {
                stale += 1
                lines += fold("stale".rightPadded(16, gap: 1) + "\(p.path): its scenario is gone", indent: "", continuation: "    ")
            } else if let d = p.difference(maxHunks: 0, maxLines: 0, blind: blindAddresses) {
                changed += 1
                let n = d.diff.hunkCount
                var units = ["changed".rightPadded(16, gap: 1) + p.path + ":", "\(n) hunk\(n == 1 ? "" : "s") (-\(d.diff.removed) +\(d.diff.added)):"]
                    + d.items.enumerated().map { $0.element + ($0.offset < d.items.count - 1 ? "," : "") }
                if let a = d.addressOnly {
                    units[1] = "address-blind " + units[1]
                    if n == 0 { units = [units[0], "address-blind: no difference but the addresses"] }
                    if a > 0 { units[units.count - 1] += ";"; units += ["and \(a) lines that differ only by the addresses"] }
                } else if let b = d.blindSummary {
                    units[units.count - 1] += ";"
                    units += ["address-blind \(b.hunks) hunk\(b.hunks == 1 ? "" : "s") (-\(b.removed) +\(b.added))"]
                }
                lines += fold(units: units, indent: "", continuation: "    ")
            } else {
                new += 1
                lines += fold("new".rightPadded(16, gap: 1) + "\(p.path): \(lineCount(p.path)) lines, no golden yet", indent: "", continuation: "    ")
            }
        }
        lines.append("\(pending.count) pending: \(changed) changed, \(new) new, \(stale) stale")
        return lines.joined(separator: "\n")
    }

    func lineCount(_ path: String) -> Int {
        (InputFile.read(path) ?? []).reduce(0) { $0 + ($1 == 0x0a ? 1 : 0) }
    }
}
