import Foundation
import Support
import Scenario
import Run

/// A project is a folder holding `scenarios/` (and `golden/` beside it, once blessed).
/// Every command that looks for goldens finds its project the way git finds a repository:
/// from each path it is given (or the working directory), up to the first folder that
/// holds `scenarios/`.
public enum Project {
    /// Why no one project could be found.
    public enum NotFound: Error, Equatable, Sendable, CustomStringConvertible {
        /// No folder from `start` (the working directory when `path` is nil) up holds scenarios/.
        case none(path: String?, start: String)
        /// The paths belong to different projects: each path with its project's folder.
        case several([(path: String, root: String)])

        public static func == (a: NotFound, b: NotFound) -> Bool { a.description == b.description }

        public var description: String {
            switch self {
            case .none(nil, let start):
                return "no project here: neither \(start) nor any folder above it holds scenarios/ "
                    + "(a project is a folder with scenarios/ and golden/ in it; run from inside one, or name its scenarios)"
            case .none(let path?, let start):
                return "\(path) is in no project: neither \(start) nor any folder above it holds scenarios/ "
                    + "(goldens live in PROJECT/golden/, mirroring PROJECT/scenarios/)"
            case .several(let pairs):
                let listed = pairs.map { "\($0.path) (in \($0.root))" }.joined(separator: ", ")
                return "these paths are in different projects: \(listed); give the paths of one project at a time"
            }
        }
    }

    /// The project of `paths` (of `cwd` when there are none), as a store whose folders are
    /// named relative to `cwd` (`.`, `proj`, `../..`, or absolute when neither), and the paths
    /// to search: a path that is a project's folder itself stands for its `scenarios/`.
    public static func find(for paths: [String], cwd: String = FileSystem.currentDirectory)
        -> Result<(store: GoldenStore, paths: [String]), NotFound> {
        let here = ScenarioCompiler.standard(cwd)
        func absolute(_ p: String) -> String { ScenarioCompiler.standard(p.hasPrefix("/") ? p : here + "/" + p) }
        if paths.isEmpty {
            guard let root = root(above: here) else { return .failure(.none(path: nil, start: here)) }
            return .success((GoldenStore(root: relative(root, from: here)), []))
        }
        var found: [(path: String, root: String)] = []
        for p in paths {
            let start = absolute(p)
            guard let root = root(above: start) else {
                return .failure(.none(path: p, start: isDirectory(start) ? start : (start as NSString).deletingLastPathComponent))
            }
            found.append((p, root))
        }
        let roots = found.map(\.root)
        if Set(roots).count > 1 {
            var firstOfEach: [(path: String, root: String)] = []
            for f in found where !firstOfEach.contains(where: { $0.root == f.root }) { firstOfEach.append(f) }
            return .failure(.several(firstOfEach.map { ($0.path, relative($0.root, from: here)) }))
        }
        let store = GoldenStore(root: relative(roots[0], from: here))
        let searched = paths.map { absolute($0) == roots[0] ? store.scenariosDir : $0 }
        return .success((store, searched))
    }

    /// The first folder from `start` (a folder, or a file whose folder is taken) up that holds
    /// a `scenarios/` folder; nil when none does.
    public static func root(above start: String) -> String? {
        var dir = isDirectory(start) ? start : (start as NSString).deletingLastPathComponent
        while true {
            if isDirectory(dir == "/" ? "/scenarios" : dir + "/scenarios") { return dir }
            if dir == "/" || dir.isEmpty { return nil }
            dir = (dir as NSString).deletingLastPathComponent
        }
    }

    static func isDirectory(_ p: String) -> Bool { FileSystem.isDirectory(p) }

    /// `dir` as a path from `base` (both absolute and standard): `.`, a path down, `..`s up,
    /// or `dir` itself when it is on another branch of the tree.
    static func relative(_ dir: String, from base: String) -> String {
        if dir == base { return "." }
        let b = base == "/" ? "/" : base + "/"
        if dir.hasPrefix(b) { return String(dir.dropFirst(b.count)) }
        let d = dir == "/" ? "/" : dir + "/"
        guard b.hasPrefix(d) else { return dir }
        let up = b.dropFirst(d.count).split(separator: "/").count
        return Array(repeating: "..", count: up).joined(separator: "/")
    }
}
