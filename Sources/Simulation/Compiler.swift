import Foundation
import Yams
import XV6
import RISCV

/// Turns a YAML scenario into a `CompiledScenario`: checks every key and value,
/// follows the process table as the kernel will (slots, pids, parents, zombies),
/// and resolves process names to the pids the kernel will hand out.
/// Collects every problem in the file before giving up.
public struct ScenarioCompiler {
    /// Reads and compiles the scenario at `path`.
    public static func compile(path: String) throws(ScenarioError) -> CompiledScenario {
        let display = (path as NSString).lastPathComponent
        var isDir: ObjCBool = false
        if let missing = missingReason(path) {
            throw ScenarioError([Diagnostic(SourceLocation(file: path, line: 0, column: 0), missing)])
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
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

    struct ReadProblem: Error { var message: String }

    /// Why nothing can be found at `path`, or nil: "no such file", a symbolic link to nothing,
    /// symbolic links that loop.
    static func missingReason(_ path: String) -> String? {
        var st = stat()
        if stat(path, &st) == 0 { return nil }
        let e = errno
        if e == ELOOP { return "symbolic links loop there (\(reasonInWords(e)))" }
        if e == ENOENT { return lstat(path, &st) == 0 ? "it is a symbolic link to a file that does not exist" : "no such file" }
        return reasonInWords(e)
    }

    /// How long a FIFO (or socket) may keep a reader waiting for its next bytes: a named pipe
    /// no program writes to would otherwise block forever.
    public static let pipeWaitSeconds = 5

    /// Reads a file of at most `fileSizeLimit` bytes (a device such as /dev/zero included:
    /// it never reads more than one byte beyond the limit). Never blocks in `open`: a FIFO is
    /// opened without waiting for a writer, then read as its writer writes, but refused when
    /// nothing comes for `pipeWaitSeconds`.
    static func readBounded(_ path: String, limit: Int = fileSizeLimit) -> Result<[UInt8], ReadProblem> {
        func problem(_ e: Int32) -> Result<[UInt8], ReadProblem> { .failure(ReadProblem(message: "cannot read the file: \(reasonInWords(e))")) }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 { return problem(errno) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { return problem(errno) }
        let type = st.st_mode & S_IFMT
        if type == S_IFDIR { return .failure(ReadProblem(message: "it is a directory, not a file")) }
        let isPipe = type == S_IFIFO || type == S_IFSOCK
        // Anything else (a file, a terminal, /dev/zero) is read as usual, waiting when it waits.
        if !isPipe { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) }
        // A file's own size (plus the byte that shows it grew past the limit), not the limit:
        // zeroing 2 MiB for each small file read was most of compiling one.
        var bytes = [UInt8](repeating: 0, count: type == S_IFREG ? min(max(Int(st.st_size), 0), limit) + 1 : min(1 << 16, limit + 1))
        var got = 0
        while got <= limit {
            if got == bytes.count { bytes += repeatElement(0, count: min(bytes.count, limit + 1 - bytes.count)) }
            if isPipe {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&p, 1, Int32(pipeWaitSeconds * 1000))
                if ready < 0 { if errno == EINTR { continue }; return problem(errno) }
                if ready == 0 {
                    return .failure(ReadProblem(message: "nothing came from this \(type == S_IFIFO ? "FIFO" : "socket") for \(pipeWaitSeconds) s"
                                                + (got == 0 ? " (a named pipe no program writes to?)" : "")))
                }
            }
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
            if n < 0 { if errno == EINTR || errno == EAGAIN { continue }; return problem(errno) }
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

    struct FileID: Equatable { var device: UInt64; var inode: UInt64 }

    static func fileID(_ path: String) -> FileID? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    init(file: String, displayName: String, text: String) {
        self.file = file
        self.displayName = displayName
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        source = text
    }

    /// How deep YAML may nest (Yams builds nodes recursively; LibYAML has no limit).
    static let nestingLimit = 200
    /// How many YAML nodes a scenario may have once aliases are expanded.
    static let nodeLimit = 1_000_000

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

    /// Counts nodes with aliases expanded, stopping as soon as the budget runs out.
    static func fits(_ node: Node, _ budget: inout Int) -> Bool {
        budget -= 1
        if budget < 0 { return false }
        switch node {
        case .mapping(let m): for (k, v) in m { if !fits(k, &budget) || !fits(v, &budget) { return false } }
        case .sequence(let s): for v in s { if !fits(v, &budget) { return false } }
        default: break
        }
        return true
    }

    /// Finds nesting deeper than `nestingLimit` before the YAML parser recurses into it:
    /// flow brackets, and block levels (indentation and `- ` items on one line).
    func nestingProblem() -> Diagnostic? {
        var flow = 0
        var quote: UInt8 = 0
        var lineNo = 1, col = 1
        var atLineStart = true, indent = 0, dashes = 0
        var i = 0
        let bytes = Array(source.utf8)
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x0a {
                lineNo += 1; col = 1; atLineStart = true; indent = 0; dashes = 0; i += 1
                if quote == 0x27 || quote == 0x22 { continue }
                continue
            }
            if atLineStart {
                if b == 0x20 { indent += 1 } else if b == 0x2d && i + 1 < bytes.count && bytes[i + 1] == 0x20 { dashes += 1; indent += 2; i += 1; col += 1 } else { atLineStart = false }
                if indent / 2 + dashes > Self.nestingLimit * 2 {
                    return Diagnostic(SourceLocation(file: file, line: lineNo, column: col), "YAML nested more than \(Self.nestingLimit) levels deep (by indentation); flatten the scenario")
                }
            }
            if quote != 0 {
                if b == quote { quote = 0 }
            } else if b == 0x23 && (i == 0 || bytes[i - 1] == 0x20 || bytes[i - 1] == 0x0a) {
                while i + 1 < bytes.count && bytes[i + 1] != 0x0a { i += 1 }      // a comment
            } else if b == 0x22 || b == 0x27 {
                quote = b
            } else if b == 0x5b || b == 0x7b {
                flow += 1
                if flow + dashes > Self.nestingLimit {
                    return Diagnostic(SourceLocation(file: file, line: lineNo, column: col), "YAML nested more than \(Self.nestingLimit) levels deep; flatten the scenario",
                                      sourceLine: lineNo <= lines.count ? String(lines[lineNo - 1]) : nil)
                }
            } else if b == 0x5d || b == 0x7d {
                flow = max(0, flow - 1)
            }
            i += 1
            col += 1
        }
        return nil
    }

    // MARK: kernel settings

    static let imageKeys = ["variant", "end", "etext", "trampoline", "phystop", "harts"]

    mutating func parseKernel(_ node: Node) {
        guard let m = node.mapping else { error(node, "expected a mapping of kernel settings, e.g. `kernel: {variant: pgtbl-lab}`"); return }
        var image = config.image
        var overrides: [(Node, String, Node)] = []
        let settingKeys = KernelSettings.catalogue.map(\.key)
        for (k, v) in m {
            switch key(k, allowed: Self.imageKeys + settingKeys) {
            case "variant":
                if let s = string(v, what: "a kernel variant") {
                    let names = KernelSettings.presets.map(\.name)
                    if let preset = KernelSettings.preset(named: s) {
                        config.variant = s
                        config.settings = preset
                    } else {
                        error(v, "unknown kernel variant '\(s)'; expected one of: \(names.joined(separator: ", "))" + suggest(s, names))
                    }
                }
            case "end": if let n = integer(v, 0...UInt64.max) { image.end = n }
            case "etext": if let n = integer(v, 0...UInt64.max) { image.etext = n }
            case "trampoline": if let n = integer(v, 0...UInt64.max) { image.trampoline = n }
            case "phystop": if let n = integer(v, 0...UInt64.max) { image.phystop = n }
            case "harts": if let n = integer(v, 1...UInt64(Param.ncpu)) { config.harts = Int(n) }
            case let setting?: overrides.append((k, setting, v))
            case nil: break
            }
        }
        // Overrides apply on top of the preset, whatever order the keys came in.
        for (_, setting, v) in overrides {
            guard let value = v.scalar?.string else { error(v, "expected a value for \(setting)"); continue }
            if let problem = config.settings.set(setting, value) { error(v, problem) }
        }
        if let problem = image.problem { error(node, "this kernel image cannot boot: \(problem)") } else { config.image = image }
    }

    // MARK: events

    static let eventNames = ["userinit", "fork", "exec", "sbrk", "exit", "wait", "vmprint", "run",
                             "copyin", "copyinstr", "copyout", "load", "store", "fetch", "pipe", "close", "yield", "sleep",
                             "repeat", "baseline", "expect", "fail_kalloc"]

    /// The most events a scenario may expand to; `repeat` beyond it is refused before expanding.
    static let eventLimit = 2_000_000

    mutating func parseEvent(_ node: Node) {
        let name: String
        let arg: Node?
        if let m = node.mapping, m.first?.key.scalar?.string == "repeat" {
            repeatEvents(m, node)
            return
        }
        if let m = node.mapping, m.count == 1, let k = m.first?.key, let name = k.scalar?.string {
            if name == "include" { include(m.first!.value, k); return }
            if let seq = sequences[name] { call(seq, name, m.first!.value, k); return }
        }
        if let s = node.scalar {
            name = s.string; arg = nil
        } else if let m = node.mapping, m.count == 1, let k = m.first?.key.scalar {
            name = k.string; arg = m.first?.value
        } else {
            error(node, "expected an event: one of \(Self.eventNames.joined(separator: ", ")), e.g. `- fork: {parent: init, child: sh}`")
            return
        }
        let keyNode = node.mapping?.first?.key ?? node
        guard Self.eventNames.contains(name) else {
            error(keyNode, "unknown event '\(name)'; expected one of: \(Self.eventNames.joined(separator: ", "))"
                  + suggest(name, Self.eventNames))
            return
        }
        let loc = location(keyNode.mark)
        // Only events that need no process may come before userinit: a failure to inject
        // into userinit itself, and a baseline.
        if !["userinit", "fail_kalloc", "baseline"].contains(name) && table.initPid == nil {
            error(keyNode, "`\(name)` before `userinit`: the first process event must be `userinit`, which creates pid 1")
            return
        }
        switch name {
        case "userinit": userinit(arg, keyNode, loc)
        case "fork": fork(arg, keyNode, loc)
        case "exec": exec(arg, keyNode, loc)
        case "sbrk": sbrk(arg, keyNode, loc)
        case "exit": exit(arg, keyNode, loc)
        case "wait": wait(arg, keyNode, loc)
        case "vmprint": vmprint(arg, keyNode, loc)
        case "run": run(arg, keyNode, loc)
        case "yield", "sleep": yieldCPU(name, arg, keyNode, loc)
        case "pipe", "close": pipe(name, arg, keyNode, loc)
        case "copyin", "copyinstr", "copyout": copy(name, arg, keyNode, loc)
        case "load", "store", "fetch": access(name, arg, keyNode, loc)
        case "baseline": events.append(Event(kind: .baseline, location: loc, label: "baseline"))
        case "expect": expect(arg, keyNode, loc)
        case "fail_kalloc":
            var n: UInt64 = 1
            if let arg, arg.scalar?.string != "" { n = integer(arg, 1...UInt64(Int32.max)) ?? 1 }
            events.append(Event(kind: .failKalloc(Int(n)), location: loc, label: n == 1 ? "fail_kalloc: the next kalloc fails" : "fail_kalloc: the \(n)th kalloc from here fails"))
        default: break
        }
    }

    mutating func userinit(_ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        if table.initPid != nil { error(at, "`userinit` runs once, at boot; pid 1 already exists"); return }
        var name = "init"
        if let arg {
            if let m = arg.mapping {
                for (k, v) in m where key(k, allowed: ["name"]) == "name" { if let s = processName(v) { name = s } }
            } else if arg.scalar != nil, arg.scalar?.string != "" {
                if let s = processName(arg) { name = s }
            }
        }
        let pid = table.create(name: name, parent: nil, at: loc)
        events.append(Event(kind: .userinit(pid: pid), location: loc, label: "userinit -> pid \(pid) (\(name))"))
    }

    mutating func fork(_ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        var parentNode: Node?
        var childName: String?
        var fails = false
        if let m = arg?.mapping {
            for (k, v) in m {
                switch key(k, allowed: ["parent", "child", "fails"]) {
                case "parent": parentNode = v
                case "child": childName = processName(v)
                case "fails": fails = boolean(v) ?? false
                default: break
                }
            }
        } else if let arg, arg.scalar != nil {
            parentNode = arg
        }
        guard let parentNode else { error(arg ?? at, "`fork` needs a parent: `fork: {parent: init, child: sh}` or `fork: init`"); return }
        guard let parent = liveProcess(parentNode, doing: "fork") else { return }
        if fails {
            // Memory runs out after allocproc handed out a pid: fork frees the child and returns -1.
            if childName != nil { error(arg ?? at, "a fork that fails has no child to name") }
            let pid = table.failedFork()
            var e = Event(kind: .syscall(pid: parent, .fork), location: loc, label: "fork pid \(parent) -> -1 (pid \(pid) freed: out of memory)")
            e.forkFails = true
            events.append(e)
            return
        }
        if let childName, let holder = table.pid(named: childName), table.isAllocated(holder) {
            error(at, "the name '\(childName)' is taken by pid \(holder), which has not been reaped")
            return
        }
        guard let child = table.fork(parent: parent, name: childName, at: loc) else {
            // A full process table: fork returns -1, as the kernel's would.
            events.append(Event(kind: .syscall(pid: parent, .fork), location: loc,
                                label: "fork pid \(parent) -> -1 (process table full)"))
            return
        }
        var e = Event(kind: .syscall(pid: parent, .fork), location: loc,
                      label: "fork pid \(parent) -> pid \(child)" + (childName.map { " (\($0))" } ?? ""))
        e.child = child
        events.append(e)
    }

    mutating func exec(_ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        guard let m = arg?.mapping else {
            error(arg ?? at, "`exec` needs a mapping: `exec: {proc: init, path: /init, argv: [init], segments: [{vaddr: 0, memsz: 4096}]}`")
            return
        }
        var procNode: Node?
        var path: String?
        var argv: [String] = []
        var segments: [Segment]?
        var entry: UInt64 = 0
        var exists = true
        for (k, v) in m {
            switch key(k, allowed: ["proc", "path", "argv", "segments", "entry", "exists"]) {
            case "proc": procNode = v
            case "path": path = string(v, what: "a path such as /init")
            case "argv":
                if let seq = v.sequence { argv = seq.compactMap { string($0, what: "an argument string") } } else { error(v, "expected a list of argument strings, e.g. [sh, -c]") }
            case "segments": segments = parseSegments(v)
            case "entry": entry = integer(v, 0...UInt64.max) ?? 0
            case "exists": exists = boolean(v) ?? true
            default: break
            }
        }
        guard let procNode else { error(arg ?? at, "`exec` needs `proc`: the name or pid of the process that calls exec"); return }
        guard let path else { error(arg ?? at, "`exec` needs `path`, e.g. /init"); return }
        if !exists && segments == nil { segments = [] }
        guard let segments else { error(arg ?? at, "`exec` needs `segments`: the program's loadable segments, e.g. [{vaddr: 0, memsz: 4096}]"); return }
        guard let pid = liveProcess(procNode, doing: "exec") else { return }
        let call = Syscall.exec(path: path, argv: argv, program: Program(segments: segments, entry: entry, exists: exists))
        events.append(Event(kind: .syscall(pid: pid, call), location: loc, label: "exec pid \(pid) \(quote(path)) [\(argv.map(quote).joined(separator: ", "))]"))
    }

    mutating func parseSegments(_ node: Node) -> [Segment]? {
        guard let seq = node.sequence else { error(node, "expected a list of segments, e.g. [{vaddr: 0, memsz: 4096}]"); return nil }
        var out: [Segment] = []
        for s in seq {
            guard let m = s.mapping else { error(s, "expected a segment: {vaddr: ..., memsz: ..., filesz: ...}"); continue }
            var vaddr: UInt64?, memsz: UInt64?, filesz: UInt64?
            for (k, v) in m {
                switch key(k, allowed: ["vaddr", "memsz", "filesz"]) {
                case "vaddr": vaddr = integer(v, 0...UInt64.max)
                case "memsz": memsz = integer(v, 0...UInt64.max)
                case "filesz": filesz = integer(v, 0...UInt64.max)
                default: break
                }
            }
            guard let vaddr, let memsz else { error(s, "a segment needs `vaddr` and `memsz`"); continue }
            out.append(Segment(vaddr: vaddr, memsz: memsz, filesz: filesz ?? memsz))
        }
        return out
    }

    mutating func sbrk(_ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        guard let m = arg?.mapping else { error(arg ?? at, "`sbrk` needs a mapping: `sbrk: {proc: sh, n: 4097}` (n may be negative)"); return }
        var procNode: Node?
        var n: Int64?
        for (k, v) in m {
            switch key(k, allowed: ["proc", "n"]) {
            case "proc": procNode = v
            case "n": n = signedInteger(v, Int64(Int32.min)...Int64(Int32.max), what: "a byte count that fits sbrk's int argument")
            default: break
            }
        }
        guard let procNode, let n else {
            if errorCount == 0 || procNode == nil { error(arg ?? at, "`sbrk` needs `proc` and `n`") }
            return
        }
        guard let pid = liveProcess(procNode, doing: "sbrk") else { return }
        events.append(Event(kind: .syscall(pid: pid, .sbrk(Int32(n))), location: loc, label: "sbrk pid \(pid) \(n)"))
    }

    mutating func exit(_ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        var procNode: Node?
        var status: Int32 = 0
        if let m = arg?.mapping {
            for (k, v) in m {
                switch key(k, allowed: ["proc", "status"]) {
                case "proc": procNode = v
                case "status": status = Int32(signedInteger(v, Int64(Int32.min)...Int64(Int32.max), what: "an int exit status") ?? 0)
                default: break
                }
            }
        } else if let arg, arg.scalar != nil { procNode = arg }
        guard let procNode else { error(arg ?? at, "`exit` needs the process: `exit: sh` or `exit: {proc: sh, status: 0}`"); return }
        guard let pid = liveProcess(procNode, doing: "exit") else { return }
        table.exit(pid, line: loc.line)
        events.append(Event(kind: .syscall(pid: pid, .exit(status)), location: loc, label: "exit pid \(pid) status \(status)"))
    }

    mutating func wait(_ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        guard let procNode = singleProcArgument(arg, at, event: "wait") else { return }
        guard let pid = liveProcess(procNode, doing: "wait") else { return }
        switch table.wait(pid, line: loc.line) {
        case .reaped(let child):
            events.append(Event(kind: .syscall(pid: pid, .wait), location: loc, label: "wait pid \(pid) -> pid \(child)"))
        case .noChildren:
            error(procNode, "pid \(pid) has no children to wait for")
        case .wouldBlock:
            let kids = table.children(of: pid).map { "pid \($0)" }.joined(separator: ", ")
            error(procNode, "wait by pid \(pid) would block: none of its children (\(kids)) has exited yet")
        }
    }

    mutating func vmprint(_ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        var procNode: Node?
        var kernelTable = false
        if let m = arg?.mapping {
            for (k, v) in m {
                switch key(k, allowed: ["proc", "table"]) {
                case "proc": procNode = v
                case "table":
                    switch v.scalar?.string {
                    case "user": kernelTable = false
                    case "kernel": kernelTable = true
                    default: error(v, "expected `user` or `kernel`: which of the process's page tables to print")
                    }
                default: break
                }
            }
            if procNode == nil { error(arg ?? at, "`vmprint` needs `proc`") }
        } else if let arg, arg.scalar != nil {
            procNode = arg
        } else {
            error(arg ?? at, "`vmprint` needs the process: `vmprint: init` or `vmprint: {proc: init, table: kernel}`")
        }
        guard let procNode, let pid = process(procNode, doing: "vmprint", allowZombie: true) else { return }
        if kernelTable && !config.settings.perProcessKernelPagetable {
            error(arg ?? at, "`table: kernel` needs a kernel with per-process kernel page tables (e.g. variant pgtbl-lab)")
            return
        }
        events.append(Event(kind: .vmprint(pid: pid, kernelTable: kernelTable), location: loc,
                            label: "vmprint pid \(pid)" + (kernelTable ? " kernel table" : "")))
    }

    mutating func run(_ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        var procNode: Node?
        var hart = 0
        if let m = arg?.mapping {
            for (k, v) in m {
                switch key(k, allowed: ["proc", "hart"]) {
                case "proc": procNode = v
                case "hart": hart = Int(integer(v, 0...UInt64(Param.ncpu - 1)) ?? 0)
                default: break
                }
            }
        } else if let arg, arg.scalar != nil { procNode = arg }
        guard let procNode else { error(arg ?? at, "`run` needs the process: `run: sh` or `run: {proc: sh, hart: 1}`"); return }
        guard let pid = liveProcess(procNode, doing: "run") else { return }
        if hart >= config.harts {
            error(arg ?? at, "hart \(hart) does not exist: the machine has \(config.harts) (set `harts` under `kernel`)")
            return
        }
        events.append(Event(kind: .run(pid: pid, hart: hart), location: loc, label: "run pid \(pid) on hart \(hart)"))
    }

    /// copyin/copyinstr/copyout: a system call that makes the kernel copy across the user boundary.
    mutating func copy(_ name: String, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        let sizeKey = name == "copyinstr" ? "max" : "len"
        guard let m = arg?.mapping else { error(arg ?? at, "`\(name)` needs a mapping: `\(name): {proc: sh, va: 0x1000, \(sizeKey): 16}`"); return }
        var procNode: Node?, va: UInt64?, n: UInt64?
        for (k, v) in m {
            switch key(k, allowed: ["proc", "va", sizeKey]) {
            case "proc": procNode = v
            case "va": va = integer(v, 0...UInt64.max)
            case sizeKey: n = integer(v, 0...0x10_0000)
            default: break
            }
        }
        guard let procNode, let va, let n else { error(arg ?? at, "`\(name)` needs `proc`, `va` and `\(sizeKey)`"); return }
        guard let pid = liveProcess(procNode, doing: name) else { return }
        let call: Syscall = name == "copyin" ? .copyin(va: va, len: n) : name == "copyout" ? .copyout(va: va, len: n) : .copyinstr(va: va, max: n)
        events.append(Event(kind: .syscall(pid: pid, call), location: loc, label: "\(name) pid \(pid) va \(hexShort(va)) \(sizeKey) \(n)"))
    }

    /// load/store/fetch: a user-mode access through the MMU.
    mutating func access(_ name: String, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        guard let m = arg?.mapping else { error(arg ?? at, "`\(name)` needs a mapping: `\(name): {proc: sh, va: 0x1000}`"); return }
        var procNode: Node?, va: UInt64?
        var faults = false
        for (k, v) in m {
            switch key(k, allowed: ["proc", "va", "faults"]) {
            case "proc": procNode = v
            case "va": va = integer(v, 0...UInt64.max)
            case "faults": faults = boolean(v) ?? false
            default: break
            }
        }
        guard let procNode, let va else { error(arg ?? at, "`\(name)` needs `proc` and `va`"); return }
        guard let pid = liveProcess(procNode, doing: name) else { return }
        let kind = AccessType(rawValue: name)!
        // A fault kills the process: usertrap makes it exit(-1).
        if faults && pid != table.initPid { table.exit(pid, line: loc.line) }
        events.append(Event(kind: .access(pid: pid, va: va, kind, faults: faults), location: loc,
                            label: "\(name) pid \(pid) va \(hexShort(va))" + (faults ? " (faults)" : "")))
    }

    /// yield: the process gives up the CPU and gets it back with nothing run in between;
    /// sleep: it gives up the CPU and nothing else runs.
    mutating func yieldCPU(_ name: String, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        guard let procNode = singleProcArgument(arg, at, event: name) else { return }
        guard let pid = liveProcess(procNode, doing: name) else { return }
        events.append(Event(kind: name == "yield" ? .yield(pid: pid) : .sleep(pid: pid), location: loc, label: "\(name) pid \(pid)"))
    }

    /// pipe: {proc, id} takes a page for a new pipe; close: {proc, pipe} frees it (the last close).
    mutating func pipe(_ name: String, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        let idKey = name == "pipe" ? "id" : "pipe"
        guard let m = arg?.mapping else { error(arg ?? at, "`\(name)` needs a mapping: `\(name): {proc: sh, \(idKey): 1}`"); return }
        var procNode: Node?, idNode: Node?, id: UInt64?
        for (k, v) in m {
            switch key(k, allowed: ["proc", idKey]) {
            case "proc": procNode = v
            case idKey: idNode = v; id = integer(v, 0...UInt64(Int32.max))
            default: break
            }
        }
        guard let procNode, let idNode, let id else {
            if procNode == nil || idNode == nil { error(arg ?? at, "`\(name)` needs `proc` and `\(idKey)`") }
            return
        }
        guard let pid = liveProcess(procNode, doing: name) else { return }
        let n = Int(id)
        if name == "pipe" {
            if openPipes.contains(n) { error(idNode, "pipe \(n) is already open; close it first or take another id"); return }
            openPipes.insert(n)
            events.append(Event(kind: .syscall(pid: pid, .pipe(id: n)), location: loc, label: "pipe pid \(pid) -> pipe \(n)"))
        } else {
            guard openPipes.remove(n) != nil else { error(idNode, "pipe \(n) is not open (no `pipe` event opened it, or it was closed)"); return }
            events.append(Event(kind: .syscall(pid: pid, .close(pipe: n)), location: loc, label: "close pid \(pid) pipe \(n)"))
        }
    }

    mutating func singleProcArgument(_ arg: Node?, _ at: Node, event: String) -> Node? {
        if let m = arg?.mapping {
            var found: Node?
            for (k, v) in m where key(k, allowed: ["proc"]) == "proc" { found = v }
            if found == nil { error(arg ?? at, "`\(event)` needs `proc`") }
            return found
        }
        if let arg, arg.scalar != nil { return arg }
        error(arg ?? at, "`\(event)` needs the process: `\(event): init` or `\(event): {proc: init}`")
        return nil
    }

    // MARK: reuse: named sequences and included files

    /// A `define`d sequence: its parameters, its events, and the file they are written in.
    struct NamedSequence {
        var params: [String]
        var events: Node.Sequence
        var file: String
        var lines: [Substring]
    }

    /// `define: {NAME: {params: [a, b], events: [...]}}`: sequences a scenario calls like events.
    mutating func define(_ node: Node) {
        guard let m = node.mapping else { error(node, "expected named sequences: `define: {spawn: {params: [parent, child], events: [...]}}`"); return }
        for (k, v) in m {
            guard let name = k.scalar?.string, processName(k) != nil else { error(k, "expected a sequence name (letters, digits, - and _)"); continue }
            if Self.eventNames.contains(name) || name == "include" { error(k, "'\(name)' is an event; a sequence needs another name"); continue }
            if sequences[name] != nil { error(k, "the sequence '\(name)' is defined twice"); continue }
            guard let body = v.mapping else { error(v, "expected {params: [...], events: [...]}"); continue }
            var params: [String] = []
            var events: Node.Sequence?
            for (bk, bv) in body {
                switch key(bk, allowed: ["params", "events"]) {
                case "params":
                    if let seq = bv.sequence { params = seq.compactMap { p in processName(p) ?? { error(p, "expected a parameter name"); return nil }() } } else { error(bv, "expected a list of parameter names, e.g. [parent, child]") }
                case "events":
                    if let seq = bv.sequence { events = seq } else { error(bv, "expected a list of events") }
                default: break
                }
            }
            guard let events else { error(v, "the sequence '\(name)' needs `events`"); continue }
            sequences[name] = NamedSequence(params: params, events: events, file: file, lines: lines)
        }
    }

    /// `- NAME: {param: value, ...}`: the sequence's events with `$param` replaced by the values.
    mutating func call(_ seq: NamedSequence, _ name: String, _ arg: Node, _ at: Node) {
        // A sequence that calls itself, directly or through others, is refused at the first
        // call that closes the cycle: expanding it to the depth limit multiplied every call
        // by the calls beside it (three calls of itself made 3^16 expansions, a hang).
        if let first = callStack.firstIndex(of: name) {
            error(at, "`\(name)` calls itself (\((callStack[first...] + [name]).joined(separator: " > "))); a sequence cannot call itself, directly or through others")
            return
        }
        if callDepth >= 16 { error(at, "sequences call each other more than 16 deep"); return }
        var values: [String: Node] = [:]
        if let m = arg.mapping {
            for (k, v) in m {
                guard let p = key(k, allowed: seq.params) else { continue }
                if v.scalar == nil { error(v, "expected a value for `\(p)` (a name, a number or a string)"); continue }
                values[p] = v
            }
        } else if !(arg.scalar?.string ?? "").isEmpty || !seq.params.isEmpty {
            error(arg, "`\(name)` takes a mapping of its parameters: {\(seq.params.map { "\($0): ..." }.joined(separator: ", "))}")
            return
        }
        let missing = seq.params.filter { values[$0] == nil }
        if !missing.isEmpty { error(at, "`\(name)` needs \(missing.map { "`\($0)`" }.joined(separator: ", "))"); return }
        let saved = (file, lines)
        (file, lines) = (seq.file, seq.lines)
        callDepth += 1
        callStack.append(name)
        for item in seq.events { parseEvent(Self.substitute(item, values)) }
        callStack.removeLast()
        callDepth -= 1
        (file, lines) = saved
    }

    /// A copy of `node` with every scalar `$p` replaced by the value given for `p` (keeping
    /// the value's position, so errors point at the call), and `${p}` inside text spliced.
    static func substitute(_ node: Node, _ values: [String: Node]) -> Node {
        switch node {
        case .scalar(let sc):
            let text = sc.string
            if text.hasPrefix("$"), let v = values[String(text.dropFirst())] { return v }
            guard text.contains("${") else { return node }
            var out = text
            for (k, v) in values { out = out.replacingOccurrences(of: "${\(k)}", with: v.scalar?.string ?? "") }
            return .scalar(Node.Scalar(out, sc.tag, sc.style, sc.mark))
        case .mapping(let m):
            return .mapping(Node.Mapping(m.map { (substitute($0.key, values), substitute($0.value, values)) }, m.tag, m.style, m.mark))
        case .sequence(let seq):
            return .sequence(Node.Sequence(seq.map { substitute($0, values) }, seq.tag, seq.style, seq.mark))
        default:
            return node
        }
    }

    /// `- include: FILE`: the events (and `define`s) of another file, relative to this one.
    mutating func include(_ arg: Node, _ at: Node) {
        guard let rel = arg.scalar?.string, !rel.isEmpty else { error(arg, "expected a file to include, e.g. `include: common/shell.yaml`"); return }
        let path = Self.includePath(rel, from: file)
        // The same file under another name (a symbolic link, `..` through one) is a cycle too:
        // compared by device and inode, not only by path.
        let id = Self.fileID(path)
        if includeStack.contains(path) || path == (ScenarioCompiler.standard(file))
            || (id != nil && (includeIDs.contains(id!) || id == rootID)) {
            error(arg, "include cycle: \(rel) includes itself, directly or through other files")
            return
        }
        if includeStack.count >= 16 { error(arg, "includes nest more than 16 deep"); return }
        if let missing = Self.missingReason(path) { error(arg, "cannot include \(rel): \(missing)"); return }
        let bytes: [UInt8]
        switch readOnce(path) {
        case .success(let b): bytes = b
        case .failure(let problem): error(arg, "cannot include \(rel): \(problem.message)"); return
        }
        if !countBytes(path, bytes.count) {
            error(arg, "cannot include \(rel): the scenario and the files it includes are larger than \(Self.fileSizeLimit >> 20) MiB in all")
            return
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            report(Diagnostic(Self.firstInvalidUTF8(bytes, file: path), "the file is not valid UTF-8"))
            return
        }
        let saved = (file, lines, source)
        (file, lines, source) = (path, text.split(separator: "\n", omittingEmptySubsequences: false), text)
        includeStack.append(path)
        if let id { includeIDs.append(id) }
        defer { includeStack.removeLast(); if id != nil { includeIDs.removeLast() }; (file, lines, source) = saved }
        if let d = nestingProblem() { report(d); return }
        let root: Node?
        if let cached = composedIncludes[path], let r = cached {
            root = r
        } else {
            do { root = try Yams.compose(yaml: text) } catch let e as YamlError { report(yamlDiagnostic(e)); return } catch { return }
        }
        var budget = Self.nodeLimit
        guard let root, Self.fits(root, &budget), let top = root.mapping else {
            error(root, "expected a mapping with an `events` list in an included file")
            return
        }
        for (k, v) in top where k.scalar?.string == "define" { define(v) }
        for (k, v) in top {
            switch key(k, allowed: ["events", "define", "description"]) {
            case "events":
                if let seq = v.sequence { for item in seq { parseEvent(item) } } else { error(v, "expected a list of events") }
            default: break
            }
        }
    }

    /// `path` with `.` and `..` resolved lexically (relative paths stay relative).
    static func standard(_ path: String) -> String {
        var parts: [Substring] = []
        for c in path.split(separator: "/", omittingEmptySubsequences: true) {
            if c == "." { continue }
            if c == "..", let last = parts.last, last != ".." { parts.removeLast() } else { parts.append(c) }
        }
        return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }

    /// `path` relative to the directory whose components are `dir` (both standardised).
    static func relative(_ path: String, from dir: [String]) -> String {
        let p = path.split(separator: "/").map(String.init)
        var common = 0
        while common < dir.count && common < p.count - 1 && dir[common] == p[common] { common += 1 }
        return (Array(repeating: "..", count: dir.count - common) + p[common...]).joined(separator: "/")
    }

    // MARK: repeat

    /// `- repeat: N` with `events:` beside it: the events, N times. Names bound in a round
    /// belong to that round. Refused before expansion when it would exceed `eventLimit`.
    mutating func repeatEvents(_ m: Node.Mapping, _ node: Node) {
        var count: UInt64?
        var body: Node.Sequence?
        var countNode: Node = node
        for (k, v) in m {
            switch key(k, allowed: ["repeat", "events"]) {
            case "repeat": countNode = v; count = integer(v, 0...UInt64.max)
            case "events":
                if let seq = v.sequence { body = seq } else { error(v, "expected a list of events to repeat") }
            default: break
            }
        }
        guard let count, let body else {
            if body == nil && count != nil { error(node, "`repeat: N` needs `events:` beside it, at the same indentation: the events to repeat") }
            return
        }
        let size = expandedSize(body, in: file)
        let total = UInt64(size).multipliedReportingOverflow(by: count)
        if total.overflow || UInt64(events.count) + total.partialValue > UInt64(Self.eventLimit) {
            error(countNode, "repeat expands to \(total.overflow ? "more than 2^64" : String(total.partialValue)) events; the limit is \(Self.eventLimit) per scenario")
            return
        }
        let before = errorCount
        // A body that expands to no events (only `repeat: 0`, empty sequences or included
        // files with no events) makes nothing in any round: one round finds its problems.
        // Running all of them took 4 billion rounds of nothing for `repeat: 4294967296`.
        for round in 0..<(size == 0 ? min(count, 1) : count) {
            let names = table.names
            rounds.append((Int(clamping: round) + 1, Int(clamping: count)))
            let first = events.count
            for item in body { parseEvent(item) }
            let path = rounds.map { "\($0.0)/\($0.1)" }.joined(separator: " > ")
            for i in first..<events.count where events[i].rounds.isEmpty {
                events[i].label += " [round \(path)]"
                events[i].rounds = rounds.map { Round(round: $0.0, count: $0.1) }
            }
            rounds.removeLast()
            table.restoreNames(names)
            if errorCount > before { break }          // report a round's problems once
        }
    }

    // MARK: expectations

    static let expectKeys = ["free_pages", "leaks", "panic", "mapped", "unmapped", "satp"]

    mutating func expect(_ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        guard let m = arg?.mapping else {
            error(arg ?? at, "`expect` needs a mapping, e.g. `expect: {free_pages: baseline, leaks: 0}`")
            return
        }
        var list: [Expectation] = []
        for (k, v) in m {
            switch key(k, allowed: Self.expectKeys) {
            case "free_pages":
                if v.scalar?.string == "baseline" { list.append(.freePages(nil)) } else if let n = integer(v, 0...UInt64(Int32.max)) { list.append(.freePages(Int(n))) }
            case "leaks": if let n = integer(v, 0...UInt64(Int32.max)) { list.append(.leaks(Int(n))) }
            case "panic": if let s = string(v, what: "the panic message, e.g. kvmmap") { list.append(.panic(s)) }
            case "mapped", "unmapped":
                guard let mm = v.mapping else { error(v, "expected {proc: NAME, va: ADDRESS}"); continue }
                var procNode: Node?, va: UInt64?, pa: UInt64?, perm: String?
                for (k2, v2) in mm {
                    switch key(k2, allowed: k.scalar?.string == "mapped" ? ["proc", "va", "pa", "perm"] : ["proc", "va"]) {
                    case "proc": procNode = v2
                    case "va": va = integer(v2, 0...UInt64.max)
                    case "pa": pa = integer(v2, 0...UInt64.max)
                    case "perm":
                        perm = string(v2, what: "permission letters like rwxu---")
                        if let p = perm, p.count != 7 || !zip(p, "rwxugad").allSatisfy({ $0 == $1 || $0 == "-" }) {
                            error(v2, "expected seven letters `rwxugad`, with `-` for a clear bit, e.g. rwxu---")
                        }
                    default: break
                    }
                }
                guard let procNode, let va, let pid = process(procNode, doing: "be checked", allowZombie: true) else {
                    if va == nil { error(v, "expected `proc` and `va`") }
                    continue
                }
                list.append(k.scalar?.string == "mapped" ? .mapped(pid: pid, va: va, pa: pa, perm: perm) : .unmapped(pid: pid, va: va))
            case "satp":
                guard let mm = v.mapping else { error(v, "expected {hart: 0, table: kernel} or {hart: 0, table: user, proc: NAME}"); continue }
                var hart = 0, tableName = "kernel", procNode: Node?
                for (k2, v2) in mm {
                    switch key(k2, allowed: ["hart", "table", "proc"]) {
                    case "hart": hart = Int(integer(v2, 0...UInt64(Param.ncpu - 1)) ?? 0)
                    case "table": tableName = v2.scalar?.string ?? ""
                    case "proc": procNode = v2
                    default: break
                    }
                }
                switch (tableName, procNode) {
                case ("kernel", nil): list.append(.satp(hart: hart, pid: nil, user: false))
                case ("kernel", let n?), ("user", let n?):
                    if let pid = process(n, doing: "be checked", allowZombie: true) { list.append(.satp(hart: hart, pid: pid, user: tableName == "user")) }
                default: error(v, "expected `table: kernel` (the global table), or `table: user` or `table: kernel` with `proc`")
                }
            default: break
            }
        }
        events.append(Event(kind: .expect(list), location: loc, label: "expect " + list.map(Self.describe).joined(separator: ", ")))
    }

    static func describe(_ e: Expectation) -> String {
        switch e {
        case .freePages(let n): return "free_pages \(n.map(String.init) ?? "baseline")"
        case .leaks(let n): return "leaks \(n)"
        case .panic(let s): return "panic \(s)"
        case let .mapped(pid, va, pa, perm): return "mapped pid \(pid) va \(hexShort(va))" + (pa.map { " pa \(hexShort($0))" } ?? "") + (perm.map { " \($0)" } ?? "")
        case let .unmapped(pid, va): return "unmapped pid \(pid) va \(hexShort(va))"
        case let .satp(hart, pid, user): return "satp hart \(hart) " + (pid.map { user ? "user:\($0)" : "kernel:\($0)" } ?? "kernel")
        }
    }

    // MARK: processes

    mutating func liveProcess(_ node: Node, doing what: String) -> Int? {
        process(node, doing: what, allowZombie: false)
    }

    /// Resolves a process reference (a name or a pid) to a pid that exists at this point.
    mutating func process(_ node: Node, doing what: String, allowZombie: Bool) -> Int? {
        guard let s = node.scalar?.string, !s.isEmpty else { error(node, "expected a process name or pid"); return nil }
        let pid: Int
        if let n = Int(s) {
            pid = n
        } else if let p = table.pid(named: s) {
            pid = p
        } else {
            let known = table.names.keys.sorted()
            let hint = table.failedForks[s].map { " (the fork that would create it at line \($0.line) fails: the process table is full)" } ?? ""
            error(node, "no process named '\(s)'\(hint)" + suggest(s, known))
            return nil
        }
        switch table.state(of: pid) {
        case .none:
            error(node, "no process with pid \(pid) exists here")
            return nil
        case .reaped(let line)?:
            error(node, "pid \(pid) was reaped by wait at line \(line); it cannot \(what)")
            return nil
        case .zombie(let line)? where !allowZombie:
            error(node, "pid \(pid) exited at line \(line) and is a zombie; it cannot \(what)"
                  + (what == "wait" ? " (`wait` names the process that waits, its parent: e.g. `wait: init`)" : ""))
            return nil
        default:
            return pid
        }
    }

    func processName(_ node: Node) -> String? {
        guard let s = node.scalar?.string else { return nil }
        let ok = s.first.map { $0.isLetter || $0 == "_" } ?? false
            && s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
        return ok ? s : nil
    }

    // MARK: values

    mutating func key(_ node: Node, allowed: [String]) -> String? {
        guard let k = node.scalar?.string else { error(node, "expected a key"); return nil }
        if allowed.contains(k) { return k }
        error(node, "unknown key '\(k)'; expected one of: \(allowed.joined(separator: ", "))" + suggest(k, allowed))
        return nil
    }

    mutating func boolean(_ node: Node) -> Bool? {
        switch node.scalar?.string {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: error(node, "expected true or false"); return nil
        }
    }

    mutating func string(_ node: Node, what: String) -> String? {
        guard let s = node.scalar?.string else { error(node, "expected \(what)"); return nil }
        return s
    }

    mutating func integer(_ node: Node, _ range: ClosedRange<UInt64>) -> UInt64? {
        guard let s = node.scalar?.string, let v = parseInteger(s) else {
            if let s = node.scalar?.string, looksNumeric(s) {
                error(node, "\(s.count > 40 ? String(s.prefix(40)) + "…" : s) does not fit in 64 bits; expected \(range.lowerBound)...\(hexShort(range.upperBound))")
            } else {
                error(node, "expected a non-negative integer (decimal or 0x hex)")
            }
            return nil
        }
        guard !v.negative, range.contains(v.magnitude) else {
            error(node, "\(node.scalar?.string ?? "") is out of range; expected \(range.lowerBound)...\(hexShort(range.upperBound))")
            return nil
        }
        return v.magnitude
    }

    mutating func signedInteger(_ node: Node, _ range: ClosedRange<Int64>, what: String) -> Int64? {
        guard let s = node.scalar?.string, let v = parseInteger(s) else {
            if let s = node.scalar?.string, looksNumeric(s) {
                error(node, "\(s.count > 40 ? String(s.prefix(40)) + "…" : s) does not fit in 64 bits; expected \(what): \(range.lowerBound)...\(range.upperBound)")
            } else {
                error(node, "expected \(what) (decimal or 0x hex, may be negative)")
            }
            return nil
        }
        let limit = v.negative ? UInt64(-(range.lowerBound + 1)) + 1 : UInt64(range.upperBound)
        guard v.magnitude <= limit else {
            error(node, "\(node.scalar?.string ?? "") is out of range; expected \(what): \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return v.negative ? -Int64(v.magnitude - 1) - 1 : Int64(v.magnitude)
    }

    // MARK: diagnostics

    mutating func error(_ node: Node?, _ message: String) {
        errorCount += 1
        guard diagnostics.count < ScenarioError.shownLimit else { return }
        diagnostics.append(Diagnostic(location(node?.mark), message, sourceLine: line(node?.mark)))
    }

    /// "did you mean", for a problem that will be shown: once `ScenarioError.shownLimit` are
    /// kept, problems are only counted, and the search for a suggestion is skipped.
    func suggest(_ word: String, _ candidates: [String]) -> String {
        diagnostics.count >= ScenarioError.shownLimit ? "" : didYouMean(word, candidates)
    }

    /// Keeps a problem if fewer than `ScenarioError.shownLimit` are kept; counts it either way.
    mutating func report(_ d: Diagnostic) {
        errorCount += 1
        if diagnostics.count < ScenarioError.shownLimit { diagnostics.append(d) }
    }

    func location(_ mark: Mark?) -> SourceLocation {
        SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    func line(_ mark: Mark?) -> String? {
        guard let m = mark, m.line >= 1, m.line <= lines.count else { return nil }
        return String(lines[m.line - 1]).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
    }

    func yamlDiagnostic(_ e: YamlError) -> Diagnostic {
        switch e {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let ctx = context.map { " (\($0.text) at \($0.mark.line):\($0.mark.column))" } ?? ""
            return Diagnostic(location(mark), "YAML syntax: \(problem)\(ctx)", sourceLine: line(mark))
        case let .duplicatedKeysInMapping(duplicates, context):
            return Diagnostic(location(context.mark), "duplicate key '\(duplicates.joined(separator: "', '"))' in a mapping", sourceLine: line(context.mark))
        case let .reader(problem, offset, _, _):
            return Diagnostic(location(nil), "YAML reader: \(problem)" + (offset.map { " at byte \($0)" } ?? ""))
        default:
            return Diagnostic(location(nil), "YAML: \(e)")
        }
    }

    static func firstInvalidUTF8(_ bytes: [UInt8], file: String) -> SourceLocation {
        var line = 1, lineStart = 0, i = 0
        while i < bytes.count {
            let b = bytes[i]
            let len = b < 0x80 ? 1 : b >> 5 == 0b110 ? 2 : b >> 4 == 0b1110 ? 3 : b >> 3 == 0b11110 ? 4 : 0
            let valid = len > 0 && i + len <= bytes.count
                && String(validating: bytes[i..<i + len], as: UTF8.self) != nil
            if !valid { break }
            if b == 0x0a { line += 1; lineStart = i + 1 }
            i += len
        }
        return SourceLocation(file: file, line: line, column: i - lineStart + 1)
    }
}

func didYouMean(_ word: String, _ candidates: [String]) -> String {
    closest(to: word, in: candidates).map { " (did you mean '\($0)'?)" } ?? ""
}

func quote(_ s: String) -> String { "\"" + s + "\"" }

/// Whether `s` is written like an integer (digits, maybe hex), whatever its size.
func looksNumeric(_ s: String) -> Bool {
    var t = Substring(s)
    if t.first == "-" || t.first == "+" { t = t.dropFirst() }
    if t.lowercased().hasPrefix("0x") { t = t.dropFirst(2); return !t.isEmpty && t.allSatisfy { $0.isHexDigit || $0 == "_" } }
    return !t.isEmpty && t.allSatisfy { $0.isNumber || $0 == "_" }
}

/// An integer as scenarios write it: decimal, 0x hex, 0o octal or 0b binary, with
/// optional sign and `_` separators. Nil if malformed or beyond 64 bits.
func parseInteger(_ text: String) -> (negative: Bool, magnitude: UInt64)? {
    var s = Substring(text.trimmingCharacters(in: .whitespaces))
    var negative = false
    if s.first == "-" { negative = true; s = s.dropFirst() } else if s.first == "+" { s = s.dropFirst() }
    var radix = 10
    let lower = s.lowercased()
    if lower.hasPrefix("0x") { radix = 16; s = s.dropFirst(2) } else if lower.hasPrefix("0o") { radix = 8; s = s.dropFirst(2) } else if lower.hasPrefix("0b") { radix = 2; s = s.dropFirst(2) }
    let digits = s.filter { $0 != "_" }
    guard !digits.isEmpty, !s.hasPrefix("_"), let v = UInt64(digits, radix: radix) else { return nil }
    return (negative && v != 0, v)
}
