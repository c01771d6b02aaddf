import Yams
import XV6
import RISCV
import Support

/// exec: sys_exec then exec, with the program's loadable segments.
extension EventSpec {
    static let exec = EventSpec(
        name: "exec", keys: ["proc", "path", "argv", "segments", "entry", "exists"],
        compile: { c, s, arg, at, loc in c.exec(s, arg, at, loc) },
        write: { e, name in
            guard case let .syscall(pid, .exec(path, argv, program)) = e.kind else { return nil }
            let q = ScenarioWriter.q, head = "exec: {proc: \(name(pid)), path: \(q(path)), argv: [\(argv.map(q).joined(separator: ", "))]"
            if !program.exists { return head + ", exists: false}" }
            let segs = program.segments.map { "{vaddr: \(hexShort($0.vaddr)), memsz: \(hexShort($0.memsz)), filesz: \(hexShort($0.filesz))}" }
            return head + ", segments: [\(segs.joined(separator: ", "))], entry: \(hexShort(program.entry))}"
        },
        schema: {
            let segment = S.object("an ELF LOAD program header", ["vaddr": S.number, "memsz": S.number, "filesz": S.number], required: ["vaddr", "memsz"])
            return S.object("sys_exec then exec: argument pages, a new table with the segments and a stack, the old image freed",
                            ["proc": S.process, "path": ["type": "string"], "argv": ["type": "array", "items": ["type": "string"]],
                             "segments": ["type": "array", "items": segment], "entry": S.number, "exists": S.boolean],
                            required: ["proc", "path"])
        },
        execute: syscall,
        // The first segment's sizes, then the entry point.
        numbers: [program("memsz", { $0.exists ? $0.segments.first?.memsz : nil }, { p, m in p.segments[0].memsz = m }),
                  program("filesz", { $0.exists ? $0.segments.first?.filesz : nil }, { p, m in p.segments[0].filesz = m }),
                  program("entry", { $0.exists ? $0.entry : nil }, { p, m in p.entry = m })],
        process: caller)

    /// A number of an exec's program that shrink may make smaller.
    static func program(_ key: String, _ get: @escaping @Sendable (Program) -> UInt64?,
                        _ set: @escaping @Sendable (inout Program, UInt64) -> Void) -> NumberField {
        NumberField(key: key, get: { k in
            guard case let .syscall(_, .exec(_, _, program)) = k, let v = get(program) else { return nil }
            return (false, v)
        }, set: { k, m in
            guard case .syscall(let pid, .exec(let path, let argv, var program)) = k else { return k }
            set(&program, m)
            return .syscall(pid: pid, .exec(path: path, argv: argv, program: program))
        })
    }
}

extension ScenarioCompiler {
    mutating func exec(_ s: EventSpec, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
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
            switch key(k, allowed: s.keys) {
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
}

private typealias S = ScenarioSchema
