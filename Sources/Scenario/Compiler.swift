import Foundation
import Yams
import XV6
import RISCV
import Support

/// Turns a YAML scenario into a `CompiledScenario`: checks every key and value,
/// follows the process table as the kernel will (slots, pids, parents, zombies),
/// and resolves process names to the pids the kernel will hand out.
/// Collects every problem in the file before giving up.
public struct ScenarioCompiler {
    /// Reads and compiles the scenario at `path`.
    public static func compile(path: String) throws(ScenarioError) -> CompiledScenario {
        let display = (path as NSString).lastPathComponent
        if let missing = FileStatus.missingReason(path) {
            throw ScenarioError([Diagnostic(SourceLocation(file: path, line: 0, column: 0), missing)])
        }
        if case .success(let st) = FileStatus.of(path), st.kind == .directory {
            throw ScenarioError([Diagnostic(SourceLocation(file: path, line: 0, column: 0), "is a directory; expected a YAML scenario file")])
        }
        let bytes: [UInt8]
        switch readBounded(path) {
        case .success(let b): bytes = b
        case .failure(let problem): throw ScenarioError([Diagnostic(SourceLocation(file: path, line: 0, column: 0), problem.message)])
        }
        return try compile(bytes: bytes, file: path, displayName: display, rootID: fileID(path))
    }

    /// The most bytes a scenario file and the files it includes may have in all: YAML parsing
    /// takes one to two seconds per megabyte, so a larger file is refused before it is read whole.
    public static let fileSizeLimit = 2 << 20

    package struct ReadProblem: Error { var message: String }

    /// How long a FIFO (or socket) may keep a reader waiting for its next bytes: a named pipe
    /// no program writes to would otherwise block forever.
    public static let pipeWaitSeconds = InputFile.pipeWaitSeconds

    /// Reads a file of at most `fileSizeLimit` bytes (a device such as /dev/zero included:
    /// it never reads more than one byte beyond the limit). Never blocks in `open`: a FIFO is
    /// opened without waiting for a writer, then read as its writer writes, but refused when
    /// nothing comes for `pipeWaitSeconds`.
    static func readBounded(_ path: String, limit: Int = fileSizeLimit) -> Result<[UInt8], ReadProblem> {
        func problem(_ e: SystemError) -> Result<[UInt8], ReadProblem> { .failure(ReadProblem(message: "cannot read the file: \(e.reason)")) }
        let file: InputFile
        do { file = try InputFile(path) } catch { return problem(error) }
        if file.status.kind == .directory { return .failure(ReadProblem(message: "it is a directory, not a file")) }
        // A file's own size (plus the byte that shows it grew past the limit), not the limit:
        // zeroing 2 MiB for each small file read was most of compiling one.
        var bytes = [UInt8](repeating: 0, count: file.status.kind == .regular ? min(file.status.size, limit) + 1 : min(1 << 16, limit + 1))
        var got = 0
        while got <= limit {
            if got == bytes.count { bytes += repeatElement(0, count: min(bytes.count, limit + 1 - bytes.count)) }
            let n: Int
            do { n = try file.read(into: &bytes, at: got) } catch {
                switch error {
                case .system(let e): return problem(e)
                case .silent(let message): return .failure(ReadProblem(message: message))
                }
            }
            if n == 0 { break }
            got += n
        }
        if got > limit {
            return .failure(ReadProblem(message: "the file is larger than \(limit >> 20) MiB, the most a scenario may have; write long scenarios with `repeat` and `define`"))
        }
        bytes.removeSubrange(got...)
        return .success(bytes)
    }

    /// Compiles scenario text. `file` names it in errors; `displayName` in traces.
    public static func compile(bytes: [UInt8], file: String, displayName: String? = nil) throws(ScenarioError) -> CompiledScenario {
        try compile(bytes: bytes, file: file, displayName: displayName, rootID: nil)
    }

    static func compile(bytes: [UInt8], file: String, displayName: String?, rootID: FileID?) throws(ScenarioError) -> CompiledScenario {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ScenarioError([Diagnostic(firstInvalidUTF8(bytes, file: file), "the file is not valid UTF-8")])
        }
        var c = ScenarioCompiler(file: file, displayName: displayName ?? (file as NSString).lastPathComponent, text: text)
        c.bytesRead[Self.standard(file)] = bytes.count
        c.rootID = rootID
        return try c.run()
    }

    // MARK: state

    var file: String
    let displayName: String
    var lines: [Substring]
    /// The text of the file being compiled (the scenario, or a file it includes).
    var source: String
    /// The first `ScenarioError.shownLimit` problems found; `errorCount` counts them all.
    var diagnostics: [Diagnostic] = []
    var errorCount = 0
    var config = KernelConfig()
    var events: [Event] = [Event(kind: .boot, location: nil, label: "boot")]
    var table = ProcessTableModel()
    /// Pipes opened by `pipe` and not yet closed, by id.
    var openPipes: Set<Int> = []
    var checkInvariants = false
    /// Named sequences of events (`define`), by name.
    var sequences: [String: NamedSequence] = [:]
    /// Files being included, outermost first (for cycles), and sequences being expanded.
    var includeStack: [String] = []
    /// The device and inode of each file being included, and of the scenario (nil: its
    /// bytes were given, not read from a file).
    var includeIDs: [FileID] = []
    var rootID: FileID?
    var callDepth = 0
    /// The sequences being expanded, outermost first (for recursion).
    var callStack: [String] = []
    /// The rounds of the repeats being expanded, outermost first: (round, count).
    var rounds: [(Int, Int)] = []
    var goldenKind = GoldenKind.trace
    /// Included files' YAML, composed once however often they are included or sized (nil: it cannot be).
    var composedIncludes: [String: Node?] = [:]
    /// What each defined sequence and included file expands to, in events (see `itemSize`).
    var sizeMemo: [String: Int] = [:]
    /// Sequences that included files define, seen while sizing before they are included.
    var definedAhead: [String: NamedSequence] = [:]
    /// The size of each file read (the scenario's and included ones'): in all at most `fileSizeLimit`.
    var bytesRead: [String: Int] = [:]
    /// Included files as read (or why they could not be), by path.
    var filesRead: [String: Result<[UInt8], ReadProblem>] = [:]

    package struct FileID: Equatable { var device: UInt64; var inode: UInt64 }

    static func fileID(_ path: String) -> FileID? {
        guard case .success(let st) = FileStatus.of(path) else { return nil }
        return FileID(device: st.device, inode: st.inode)
    }

    init(file: String, displayName: String, text: String) {
        self.file = file
        self.displayName = displayName
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        source = text
    }

    mutating func run() throws(ScenarioError) -> CompiledScenario {
        if let d = nestingProblem() { throw ScenarioError([d]) }
        let root: Node?
        do {
            root = try Yams.compose(yaml: source)
        } catch let e as YamlError {
            throw ScenarioError([yamlDiagnostic(e)])
        } catch {
            throw ScenarioError([Diagnostic(location(nil), "cannot parse YAML: \(error)")])
        }
        var budget = Self.nodeLimit
        if let root, !Self.fits(root, &budget) {
            throw ScenarioError([Diagnostic(location(root.mark), "the scenario expands to more than \(Self.nodeLimit) YAML nodes (aliases that refer to aliases multiply); write it with `repeat` instead",
                                            sourceLine: line(root.mark))])
        }
        guard let root, let top = root.mapping else {
            throw ScenarioError([Diagnostic(location(root?.mark), "expected a mapping with an `events` list at the top of the scenario",
                                            sourceLine: line(root?.mark))])
        }
        var eventsNode: Node?
        // Named sequences first, wherever `define` stands.
        for (k, v) in top where k.scalar?.string == "define" { define(v) }
        for (k, v) in top {
            switch key(k, allowed: ["kernel", "events", "description", "check", "golden", "define"]) {
            case "define": break
            case "golden":
                switch v.scalar?.string {
                case "trace": goldenKind = .trace
                case "digest": goldenKind = .digest
                default: error(v, "expected `trace` (keep the whole trace) or `digest` (counts and a SHA-256)")
                }
            case "kernel": parseKernel(v)
            case "events": eventsNode = v
            case "description": _ = string(v, what: "a description")
            case "check": checkInvariants = boolean(v) ?? false
            default: break
            }
        }
        if let eventsNode {
            if let seq = eventsNode.sequence {
                if !refuseOverLimit(seq) { for item in seq { parseEvent(item) } }
                if seq.isEmpty { error(eventsNode, "the `events` list is empty; a scenario starts with `userinit`") }
            } else {
                error(eventsNode, "expected a list of events under `events`")
            }
        } else {
            error(root, "missing `events`: the list of what processes do, starting with `userinit`")
        }
        if errorCount > 0 { throw ScenarioError(diagnostics, omitted: errorCount - diagnostics.count) }
        // Events from included files name their file relative to the scenario's directory,
        // as traces do, so traces do not depend on where the scenario was run from.
        let dir = Self.standard((file as NSString).deletingLastPathComponent).split(separator: "/").map(String.init)
        for i in events.indices {
            guard let loc = events[i].location, loc.file != file else { continue }
            events[i].source = Self.relative(Self.standard(loc.file), from: dir)
        }
        return CompiledScenario(file: displayName, config: config, events: events, checkInvariants: checkInvariants, golden: goldenKind)
    }
}
