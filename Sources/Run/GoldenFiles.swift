import Foundation
import XV6
import Support
import Scenario

/// Golden traces: `golden/` mirrors `scenarios/`, one `.trace` file per scenario.
/// `check` compares fresh traces with them; `bless` writes them, atomically.
/// The command line and the tests call the same functions.
public struct GoldenStore: Sendable {
    public var scenariosDir: String
    public var goldenDir: String

    public init(root: String = ".") {
        let base = root == "." ? "" : root
        scenariosDir = (base as NSString).appendingPathComponent("scenarios")
        goldenDir = (base as NSString).appendingPathComponent("golden")
    }

    /// The golden file for a scenario: scenarios/x/y.yaml -> golden/x/y.trace (or .digest).
    public func goldenPath(for scenario: String, kind: GoldenKind = .trace) -> String {
        let rel = relative(scenario)
        return (goldenDir as NSString).appendingPathComponent((rel as NSString).deletingPathExtension + "." + kind.rawValue)
    }

    /// The scenario's path relative to `scenarios/` (its file name, if outside it).
    /// `..` is resolved first, so `scenarios/../x.yaml` is outside, never `../x.yaml`.
    public func relative(_ scenario: String) -> String {
        inside(scenario) ?? (scenario as NSString).lastPathComponent
    }

    /// Whether the scenario is under `scenarios/`, so that its golden is under `golden/`.
    public func contains(_ scenario: String) -> Bool { inside(scenario) != nil }

    /// The path below `scenarios/`, comparing absolute paths with `.` and `..` resolved,
    /// then (for paths through symbolic links) the real paths; nil when it is not below it.
    func inside(_ scenario: String) -> String? {
        let cwd = FileSystem.currentDirectory
        func absolute(_ p: String) -> String { ScenarioCompiler.standard(p.hasPrefix("/") ? p : cwd + "/" + p) }
        func below(_ p: String, _ dir: String) -> String? {
            let base = dir == "/" ? "/" : dir + "/"
            return p.hasPrefix(base) && p.count > base.count ? String(p.dropFirst(base.count)) : nil
        }
        if let r = below(absolute(scenario), absolute(scenariosDir)) { return r }
        guard let dir = realpath(scenariosDir, nil) else { return nil }
        defer { free(dir) }
        let parent = (absolute(scenario) as NSString).deletingLastPathComponent
        guard let real = realpath(parent, nil) else { return nil }
        defer { free(real) }
        return below(String(cString: real) + "/" + (scenario as NSString).lastPathComponent, String(cString: dir))
    }

    /// Every `.yaml` file under `paths` (directories searched recursively), sorted; default `scenarios/`.
    public func scenarios(_ paths: [String]) -> [String] {
        // No scenarios/ here (run from elsewhere than the repository's root): nothing found,
        // rather than a "scenario" named after the missing directory.
        if paths.isEmpty && !FileSystem.exists(scenariosDir) { return [] }
        let roots = paths.isEmpty ? [scenariosDir] : paths
        var found: [String] = []
        for r in roots {
            if FileSystem.isDirectory(r) {
                let items = FileSystem.tree(r)
                found += items.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.map { (r as NSString).appendingPathComponent($0) }
            } else {
                found.append(r)
            }
        }
        return Array(Set(found)).sorted()
    }

    /// Golden files whose scenario no longer exists, sorted.
    public func staleGoldens() -> [String] {
        let items = FileSystem.tree(goldenDir)
        return items.filter { $0.hasSuffix(".trace") || $0.hasSuffix(".digest") }.sorted().compactMap { rel in
            let stem = (rel as NSString).deletingPathExtension
            let yaml = (scenariosDir as NSString).appendingPathComponent(stem + ".yaml")
            let yml = (scenariosDir as NSString).appendingPathComponent(stem + ".yml")
            return FileSystem.exists(yaml) || FileSystem.exists(yml) ? nil : (goldenDir as NSString).appendingPathComponent(rel)
        }
    }
}

public enum Golden {
    /// Runs a scenario and returns what its golden keeps (the text trace, or its digest), or its compile errors.
    public static func trace(of scenarioPath: String) -> Result<(CompiledScenario, [UInt8]), ScenarioError> {
        do {
            let s = try ScenarioCompiler.compile(path: scenarioPath)
            return .success((s, kept(s)))
        } catch {
            return .failure(error)
        }
    }

    /// What the golden of a compiled scenario keeps: its text trace, or the trace's digest.
    public static func kept(_ s: CompiledScenario) -> [UInt8] { keptWithEvents(s).bytes }

    /// What the golden keeps, and for a text trace the line of each `event` line with its
    /// number, as the writer counted them (empty for a digest).
    package static func keptWithEvents(_ s: CompiledScenario) -> (bytes: [UInt8], events: [(line: Int, event: Int)]) {
        let sites = SiteTree()
        if s.golden == .digest {
            let d = DigestBuilder(sites: sites)
            let w = TraceWriter(format: .text, sites: sites, output: { d.consume($0) })
            w.tap = { r, _ in d.take(r) }
            Runner.run(s, writer: w)
            return (d.finish(), [])
        }
        let w = TraceWriter(format: .text, sites: sites)
        Runner.run(s, writer: w)
        return (w.bytes, w.eventLines)
    }

    /// What is at a golden's path.
    public enum Found: Equatable, Sendable {
        case missing
        case unreadable(String)
        case bytes([UInt8])
    }

    /// Loads a golden: missing when nothing is there; unreadable, with the reason in words,
    /// when a directory, a device or a FIFO (never opened: it could block) is there, when a
    /// directory on the way is a file, or when the file cannot be read.
    public static func load(_ path: String) -> Found {
        var st = stat()
        if stat(path, &st) != 0 {
            let e = errno
            if e == ENOENT { return .missing }
            if e == ENOTDIR {
                // Name the file that stands where a directory should (`golden` is a file).
                var dir = (path as NSString).deletingLastPathComponent
                while !dir.isEmpty && dir != "/" {
                    var d = stat()
                    if stat(dir, &d) == 0 && d.st_mode & S_IFMT != S_IFDIR { return .unreadable("\(dir) is not a directory") }
                    dir = (dir as NSString).deletingLastPathComponent
                }
            }
            return .unreadable(reasonInWords(e))
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: return .unreadable("it is a directory, not a golden file; remove it and bless the scenario again")
        default: return .unreadable("it is not a regular file (a device, a FIFO or a socket)")
        }
        // A regular file: read whole, into one array of its size.
        guard let bytes = InputFile.read(path) else { return .unreadable(reasonInWords(errno)) }
        return .bytes(bytes)
    }

}

/// Builds a trace's digest (its header, the number of lines, its SHA-256, a count of each
/// kind of line, and its closing line) as the trace is written: the SHA-256 from the bytes,
/// chunk by chunk, so a long trace is never held whole; the rest from the records.
package final class DigestBuilder {
    private let sites: SiteTree
    private var sha = SHA256()
    private var header: [String] = []
    private var inHeader = true
    private var lines = 0
    private var counts: [TraceKind: Int] = [:]
    /// The kinds read from a line's text (the header's, the console's, a panic's).
    private var textCounts: [String: Int] = [:]
    private var last: TraceRecord?

    init(sites: SiteTree) { self.sites = sites }

    func consume(_ bytes: [UInt8]) { sha.update(bytes) }

    func take(_ r: TraceRecord) {
        switch r {
        case .event: inHeader = false
        case .header, .scenario, .setting:
            if inHeader { header.append(String(decoding: TraceText.rendered(r, sites: sites).dropLast(), as: UTF8.self)) }
        default: break
        }
        switch r {
        case .header, .kernel(.console), .kernel(.panic):
            TraceLines.kinds(of: r) { textCounts[$0, default: 0] += 1; lines += 1 }
        case .kernel(.execCommitted), .kernel(.execFailed): return
        default: counts[r.kind, default: 0] += 1; lines += 1
        }
        last = r
    }

    func finish() -> [UInt8] {
        var all = textCounts
        for (k, n) in counts { all[k.rawValue, default: 0] += n }
        var out = ["xv6vm-digest 1"] + header
        out.append("lines     \(lines)")
        out.append("sha256    \(sha.finishHex())")
        for k in all.keys.sorted() { out.append("count     \(k) \(all[k]!)") }
        if let last {
            let text = TraceText.rendered(last, sites: sites).dropLast()
            out.append(String(decoding: text.split(separator: 0x0a, omittingEmptySubsequences: false).last ?? [], as: UTF8.self))
        }
        return Array((out.joined(separator: "\n") + "\n").utf8)
    }
}
