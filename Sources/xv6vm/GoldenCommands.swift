import ArgumentParser
import Foundation
import Simulation

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
    @Argument(help: "Scenario files or directories (default: every scenario under scenarios/).")
    var paths: [String] = []

    @Option(parsing: .unconditional, help: ArgumentHelp("Run only the I-th of N deterministic slices of the scenarios.", valueName: "I/N"), transform: Shard.parse)
    var shard: Shard?

    func selected(_ store: GoldenStore) -> [String] {
        let all = store.scenarios(paths)
        guard let shard else { return all }
        return Golden.shard(all, index: shard.index, count: shard.count)
    }
}

enum CheckFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run scenarios and compare their traces with the goldens in golden/.",
        discussion: "Exit 0 when every trace matches, 1 when one differs or its golden is missing, 2 on a scenario error. Never writes a golden: use `xv6vm bless`.")

    @OptionGroup var options: GoldenOptions

    @Option(help: "Output format: text or json.")
    var format: CheckFormat = .text

    func run() throws {
        let store = GoldenStore()
        let scenarios = options.selected(store)
        if scenarios.isEmpty { warn("xv6vm check: no scenarios found under \(options.paths.isEmpty ? store.scenariosDir : options.paths.joined(separator: ", "))"); throw ExitCode(2) }
        let progress = Progress(total: scenarios.count, label: "check", quiet: format == .json)
        let results = Golden.checkAll(scenarios, store: store, progress: { progress.update($0, ", \($1) failing") })
        let stale = options.paths.isEmpty && options.shard == nil ? store.staleGoldens() : []
        switch format {
        case .text: out(CheckReport.text(results, stale: stale, store: store))
        case .json: out(CheckReport.json(results, stale: stale, store: store))
        }
        if results.contains(where: { if case .scenarioError = $0.outcome { return true }; return false }) { throw ExitCode(2) }
        if results.contains(where: { $0.outcome != .ok }) { throw ExitCode(1) }
    }
}

struct Bless: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write golden traces: those missing and those whose trace changed (each atomically).",
        discussion: "A scenario that fails to compile never gets a golden, and its old golden is kept.")

    @OptionGroup var options: GoldenOptions

    @Flag(help: "Rewrite every selected golden, even unchanged ones.")
    var all = false

    @Flag(help: "Delete goldens whose scenario no longer exists.")
    var prune = false

    func run() throws {
        let store = GoldenStore()
        let selected = options.selected(store)
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
                out(pad("error") + "\(shown): not blessed")
                warn(e.description)
            case .ok where !all:
                unchanged += 1
            case .ok, .changed, .missingGolden, .unreadableGolden:
                do {
                    try Golden.writeAtomically(r.trace, to: r.golden)
                } catch {
                    let reason = (error as? WriteError)?.reason ?? "\(error)"
                    failures.append(r.golden)
                    out(pad("not written") + "\(r.golden): \(reason)" + (r.goldenBytes == nil ? "" : " (the old golden is kept)"))
                    continue
                }
                written += 1
                let why = switch r.outcome {
                case .missingGolden: "new"
                case .ok: "rewritten"
                case .unreadableGolden: "replacing one that could not be read"
                default: "changed"
                }
                let lines = r.trace.reduce(0) { $0 + ($1 == 0x0a ? 1 : 0) }
                out(pad("wrote") + "\(r.golden) (\(why), \(lines) lines)")
            }
        }
        var pruned = 0
        if prune {
            for g in store.staleGoldens() {
                if unlink(g) != 0 {
                    failures.append(g)
                    out(pad("not removed") + "\(g): \(reasonInWords(errno))")
                    continue
                }
                out(pad("removed") + "\(g) (its scenario is gone)")
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

func pad(_ s: String, _ width: Int = 16) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }
