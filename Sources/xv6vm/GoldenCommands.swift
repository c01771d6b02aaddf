import ArgumentParser
import Foundation
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport

/// `I/N`: the I-th of N slices of the scenario list.
struct Shard {
    var index: Int
    var count: Int

    /// Parses `--shard`'s value; the error gives the valid range (ArgumentParser names the option).
    @Sendable static func parse(_ argument: String) throws -> Shard {
        let parts = argument.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 1, i <= n else {
            throw ValidationError("expected I/N, whole numbers with 1 <= I <= N (e.g. 2/4)")
        }
        return Shard(index: i, count: n)
    }
}

/// Parses a whole number option of at least `min`; the error gives the valid range.
/// With `parsing: .unconditional`, a value like `-1` reaches it instead of being taken for an option.
func wholeNumber(atLeast min: Int, _ what: String) -> @Sendable (String) throws -> Int {
    { s in
        guard let n = Int(s), n >= min else { throw ValidationError("expected \(what), a whole number from \(min) to \(Int.max)") }
        return n
    }
}

struct GoldenOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("Scenario files or directories (default: every scenario under scenarios/).", valueName: "PATH"))
    var paths: [String] = []

    @Option(parsing: .unconditional, help: ArgumentHelp("Run only the I-th of N deterministic slices of the scenarios.", valueName: "I/N"), transform: Shard.parse)
    var shard: Shard?

    /// The project the paths (or the working directory) are in, and its scenarios they select.
    func selected(_ command: String) throws -> (GoldenStore, [String]) {
        let (store, searched) = try findProject(command, paths)
        let all = store.scenarios(searched)
        guard let shard else { return (store, all) }
        return (store, shardItems(all, index: shard.index, count: shard.count))
    }
}

/// The project of `paths` (or of the working directory), found as git finds a repository;
/// exits `noProject` when there is none, and refuses paths of several projects.
func findProject(_ command: String, _ paths: [String]) throws -> (GoldenStore, [String]) {
    switch Project.find(for: paths) {
    case .success(let found): return found
    case .failure(let e):
        if case .several = e { throw ValidationError(e.description) }
        warn(folded("xv6vm \(command): \(e)").joined(separator: "\n"))
        throw ExitCode(ExitCodes.noProject)
    }
}

/// When `check` writes goldens itself, as swift-snapshot-testing names it.
enum RecordMode: String, ExpressibleByArgument, CaseIterable {
    /// Write nothing into golden/ but pending `.new` files (the default).
    case never
    /// Write the goldens that are missing.
    case missing
    /// Write the goldens that are missing or differ (what `bless` does).
    case failed
    /// Write every selected golden, unchanged ones too (what `bless --all` does).
    case all
}

/// Whether colour may be used on standard output: a terminal, and NO_COLOR unset or empty.
func colourOnStdout() -> Bool {
    isatty(STDOUT_FILENO) == 1 && (ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
}

/// Whether the environment says this is CI (`CI` set and not empty).
func runningUnderCI() -> Bool { !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty }

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run scenarios and compare their traces with the goldens in golden/.",
        usage: """
            xv6vm check [<PATH> ...] [--shard <I/N>] [--format <text|json>]
                        [--record <missing|failed|all|never>] [--pending-dir <DIR>]
                        [--save-trace <DIR>] [--prune] [--blind-addresses]
            """,
        discussion: """
            A trace that differs is shown as a unified diff. Its output is left beside the golden as \
            NAME.trace.new (or .digest.new) for `xv6vm review`; a passing check removes a stale one. \
            With CI set, nothing is written into golden/ (use --pending-dir). \
            --blind-addresses compares with every physical page named by first use, so a \
            change that moves later pages shows only what changed in structure; goldens keep \
            exact addresses, and a trace that differs only by them still fails. \
            Exit 0 when every trace matches (or was recorded), 1 when one differs or its golden is missing, \
            2 on a scenario error, 66 when no folder from the PATHs (or here) up holds scenarios/, \
            74 when a file could not be written.
            """)

    @OptionGroup var options: GoldenOptions

    @OptionGroup var formatting: FormatOption

    @Option(help: ArgumentHelp("Write goldens: never (default), missing, failed (missing or changed), all (every one, rewritten).", valueName: "mode"))
    var record: RecordMode = .never

    @Option(help: ArgumentHelp("Leave the .new files under DIR (mirroring golden/) instead of beside the goldens.", valueName: "DIR"))
    var pendingDir: String?

    @Option(help: ArgumentHelp("Write the full trace of every scenario that fails to DIR/NAME.trace (digest goldens included).", valueName: "DIR"))
    var saveTrace: String?

    @Flag(help: "Delete goldens whose scenario no longer exists.")
    var prune = false

    @Flag(help: "Show diffs address-blind: pages named by first use (page#1, ...), structural hunks only.")
    var blindAddresses = false

    func run() throws {
        let (store, scenarios) = try options.selected("check")
        if scenarios.isEmpty {
            warn("xv6vm check: no scenarios found under \(options.paths.isEmpty ? store.scenariosDir : options.paths.joined(separator: ", "))")
            throw ExitCode(2)
        }
        let progress = Progress(total: scenarios.count, label: "check", quiet: formatting.json)
        var results = Golden.checkAll(scenarios, store: store, blind: blindAddresses, progress: { progress.update($0, ", \($1) failing") })
        let ci = runningUnderCI()
        var cannotWrite: [WriteError] = []
        var saved: [(Int, String)] = []
        for i in results.indices {
            let r = results[i]
            if case .scenarioError = r.outcome { continue }
            guard store.contains(r.scenario) else { continue }
            let failed = r.outcome != .ok
            let write: Bool
            switch record {
            case .never: write = false
            case .missing: write = r.outcome == .missingGolden
            case .failed: write = failed
            case .all: write = true
            }
            if write {
                do { try Golden.writeAtomically(r.trace, to: r.golden); results[i].recorded = true }
                catch let e as WriteError { cannotWrite.append(e) }
            }
            // The .new file: left for review when the golden still differs, removed when it no longer does.
            let besideGolden = pendingDir == nil
            if besideGolden && ci { /* nothing is written into golden/ under CI */ }
            else {
                let pending = store.pendingPath(forGolden: r.golden, dir: pendingDir)
                if failed && !results[i].recorded {
                    do { try Golden.writeAtomically(r.trace, to: pending); results[i].pending = pending }
                    catch let e as WriteError { cannotWrite.append(e) }
                } else if let e = FileSystem.remove(pending, missingIsFine: true) {
                    cannotWrite.append(WriteError(path: pending, reason: "it could not be removed: " + reasonInWords(e)))
                }
            }
            if failed && !results[i].recorded, let dir = saveTrace {
                let path = (dir as NSString).appendingPathComponent((store.relative(r.scenario) as NSString).deletingPathExtension + ".trace")
                do { try saveFullTrace(of: r.scenario, to: path); saved.append((i, path)) }
                catch let e as WriteError { cannotWrite.append(e) }
            }
        }
        var pruned: [String] = []
        if prune {
            for g in store.staleGoldens() {
                if let e = FileSystem.remove(g) { cannotWrite.append(WriteError(path: g, reason: "it could not be removed: " + reasonInWords(e))) }
                else { pruned.append(g) }
            }
        }
        let stale = options.paths.isEmpty && options.shard == nil ? store.staleGoldens() : []
        switch formatting.format {
        case .text:
            var text = CheckReport.text(results, stale: stale, store: store, color: colourOnStdout())
            var extra: [String] = []
            for (i, path) in saved { extra.append("the full trace of \(store.relative(results[i].scenario)): \(path)") }
            for g in pruned { extra.append("removed \(g) (its scenario is gone)") }
            let recorded = results.filter(\.recorded).count
            let pending = results.filter { $0.pending != nil }.count
            if record != .never { extra.append("recorded \(recorded) golden\(recorded == 1 ? "" : "s")") }
            if pending > 0 { extra.append("\(pending) pending: `xv6vm review` shows each and accepts or rejects it") }
            if !extra.isEmpty { text += "\n" + extra.flatMap { fold($0, indent: "", continuation: "    ") }.joined(separator: "\n") }
            out(text)
        case .json: out(CheckReport.json(results, stale: stale, store: store))
        }
        for e in cannotWrite { warn("xv6vm check: \(e)") }
        if !cannotWrite.isEmpty { throw ExitCode(ExitCodes.cannotWrite) }
        if results.contains(where: { if case .scenarioError = $0.outcome { return true }; return false }) { throw ExitCode(2) }
        if results.contains(where: { $0.outcome != .ok && !$0.recorded }) { throw ExitCode(1) }
    }

    /// Runs the scenario again and writes its whole text trace (a digest golden's too).
    func saveFullTrace(of scenario: String, to path: String) throws {
        guard let compiled = try? ScenarioCompiler.compile(path: scenario) else { return }
        let w = TraceWriter(format: .text, sites: .init())
        Runner.run(compiled, writer: w)
        try OutputFile.writeAtomically(w.bytes, to: path)
    }
}

struct Bless: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write golden traces: those missing and those whose trace changed (each atomically).",
        discussion: """
            A scenario that fails to compile never gets a golden, and its old golden is kept. \
            The project is the first folder holding scenarios/ from the PATHs (or here) up; \
            exit 66 when there is none.
            """)

    @OptionGroup var options: GoldenOptions

    @Flag(help: "Rewrite every selected golden, even unchanged ones.")
    var all = false

    @Flag(help: "Delete goldens whose scenario no longer exists.")
    var prune = false

    func run() throws {
        let (store, selected) = try options.selected("bless")
        // A golden's path mirrors its scenario's under scenarios/; from anywhere else it
        // would land outside golden/ (scenarios/../x.yaml -> golden/../x.trace) or collide.
        if let outside = selected.first(where: { !store.contains($0) }) {
            throw ValidationError("\(outside) is not under \(store.scenariosDir)/; goldens mirror \(store.scenariosDir)/, so bless takes only scenarios inside it")
        }
        let progress = Progress(total: selected.count, label: "bless")
        let results = Golden.checkAll(selected, store: store, progress: { d, _ in progress.update(d) })
        var written = 0, unchanged = 0, errors = 0
        var failures: [String] = []
        for r in results {
            let shown = store.relative(r.scenario)
            switch r.outcome {
            case .scenarioError(let e):
                errors += 1
                out("error".rightPadded(16, gap: 1) + "\(shown): not blessed")
                warn(e.description)
            case .ok where !all:
                unchanged += 1
            case .ok, .changed, .missingGolden, .unreadableGolden:
                do {
                    try Golden.writeAtomically(r.trace, to: r.golden)
                } catch {
                    let reason = (error as? WriteError)?.reason ?? "\(error)"
                    failures.append(r.golden)
                    out("not written".rightPadded(16, gap: 1) + "\(r.golden): \(reason)" + (r.goldenBytes == nil ? "" : " (the old golden is kept)"))
                    continue
                }
                written += 1
                _ = FileSystem.remove(r.golden + ".new")   // a pending output it replaces
                let why = switch r.outcome {
                case .missingGolden: "new"
                case .ok: "rewritten"
                case .unreadableGolden: "replacing one that could not be read"
                default: "changed"
                }
                let lines = r.trace.reduce(0) { $0 + ($1 == 0x0a ? 1 : 0) }
                out("wrote".rightPadded(16, gap: 1) + "\(r.golden) (\(why), \(lines) lines)")
            }
        }
        var pruned = 0
        if prune {
            for g in store.staleGoldens() {
                if let e = FileSystem.remove(g) {
                    failures.append(g)
                    out("not removed".rightPadded(16, gap: 1) + "\(g): \(reasonInWords(e))")
                    continue
                }
                out("removed".rightPadded(16, gap: 1) + "\(g) (its scenario is gone)")
                pruned += 1
            }
        }
        out("bless: \(written) written, \(unchanged) unchanged, \(errors) scenario error\(errors == 1 ? "" : "s")"
            + (prune ? ", \(pruned) pruned" : "") + (failures.isEmpty ? "" : ", \(failures.count) not written"))
        if !failures.isEmpty {
            warn("xv6vm bless: could not write \(failures.count) golden\(failures.count == 1 ? "" : "s"); \(written) written")
            throw ExitCode(ExitCodes.cannotWrite)
        }
        if errors > 0 { throw ExitCode(ExitCodes.scenarioError) }
    }
}
