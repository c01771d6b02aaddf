import Foundation
import Support
import Scenario
import Run

/// A pending golden: a run's output left beside its golden (`NAME.trace.new`), or in a
/// `--pending-dir`, waiting for `xv6vm review` to accept or reject it.
public struct PendingGolden: Equatable, Sendable {
    /// The `.new` file.
    public var path: String
    /// The golden it would replace.
    public var golden: String
    /// The scenario it comes from; nil when that scenario no longer exists (a stale `.new`).
    public var scenario: String?
}

extension GoldenStore {
    /// Where a golden's pending output goes: beside it, or mirrored under `dir`.
    public func pendingPath(forGolden golden: String, dir: String?) -> String {
        guard let dir else { return golden + ".new" }
        let base = goldenDir + "/"
        let rel = golden.hasPrefix(base) ? String(golden.dropFirst(base.count)) : (golden as NSString).lastPathComponent
        return (dir as NSString).appendingPathComponent(rel) + ".new"
    }

    /// Every pending golden under golden/ (or `dir`), sorted by path.
    public func pendingGoldens(dir: String? = nil) -> [PendingGolden] {
        let root = dir ?? goldenDir
        let items = FileSystem.tree(root)
        return items.filter { $0.hasSuffix(".trace.new") || $0.hasSuffix(".digest.new") }.sorted().map { rel in
            let goldenRel = String(rel.dropLast(".new".count))
            let stem = (goldenRel as NSString).deletingPathExtension
            let scenario = [".yaml", ".yml"].map { (scenariosDir as NSString).appendingPathComponent(stem + $0) }.first { FileSystem.exists($0) }
            return PendingGolden(path: (root as NSString).appendingPathComponent(rel),
                                 golden: (goldenDir as NSString).appendingPathComponent(goldenRel), scenario: scenario)
        }
    }
}

extension PendingGolden {
    /// Whether `name` (a file or directory, as the user typed it) names this pending golden:
    /// its `.new` file, its golden, its scenario, or a directory holding one of them.
    public func isNamed(by name: String) -> Bool {
        let cwd = FileSystem.currentDirectory
        func absolute(_ p: String) -> String { ScenarioCompiler.standard(p.hasPrefix("/") ? p : cwd + "/" + p) }
        let n = absolute(name)
        return [path, golden, scenario].compactMap { $0 }.map(absolute).contains { $0 == n || $0.hasPrefix(n == "/" ? "/" : n + "/") }
    }

    /// Accepts it: the `.new` file becomes the golden. Beside the golden this is one rename,
    /// atomic; from another directory the bytes are written atomically, then the `.new` removed.
    /// Throws `WriteError` naming the file that could not be written or moved.
    public func accept() throws {
        if (path as NSString).deletingLastPathComponent == (golden as NSString).deletingLastPathComponent {
            if let e = FileSystem.rename(path, to: golden) { throw WriteError(path: golden, reason: reasonInWords(e)) }
            return
        }
        guard let bytes = InputFile.read(path) else { throw WriteError(path: path, reason: "it cannot be read") }
        try OutputFile.writeAtomically(bytes, to: golden)
        if let e = FileSystem.remove(path) { throw WriteError(path: path, reason: reasonInWords(e)) }
    }

    /// Rejects it: the `.new` file is removed and the golden stays as it was.
    public func reject() throws {
        if let e = FileSystem.remove(path) { throw WriteError(path: path, reason: reasonInWords(e)) }
    }

    /// How the pending output differs from the golden it would replace (nil when there is no golden yet).
    public func difference(maxHunks: Int = 10, maxLines: Int = 200, blind: Bool = false) -> TraceDifference? {
        guard let old = InputFile.read(golden) else { return nil }
        let new = InputFile.read(path) ?? []
        let compiled = scenario.flatMap { try? ScenarioCompiler.compile(path: $0) }
        return Golden.difference(expected: old, actual: new, scenario: compiled, maxHunks: maxHunks, maxLines: maxLines, blind: blind)
    }
}
