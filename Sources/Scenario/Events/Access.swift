import Yams
import XV6
import RISCV
import Support

/// load, store, fetch: one user-mode access through the MMU, which may be expected to fault.
extension EventSpec {
    static let load = access(.load), store = access(.store), fetch = access(.fetch)

    static func access(_ type: AccessType) -> EventSpec {
        EventSpec(
            name: type.rawValue, keys: ["proc", "va", "faults"],
            compile: { c, s, arg, at, loc in c.access(s, arg, at, loc, type) },
            write: { e, name in
                guard case let .access(pid, va, t, faults) = e.kind, t == type else { return nil }
                return "\(type.rawValue): {proc: \(name(pid)), va: \(hexShort(va)), faults: \(faults)}"
            },
            schema: { S.object("a user-mode access through the MMU", ["proc": S.process, "va": S.number, "faults": S.boolean], required: ["proc", "va"]) },
            execute: { kind, run throws(KernelPanic) in
                guard case let .access(pid, va, access, faults) = kind else { return nil }
                switch try run.kernel.userAccess(pid: pid, va: va, access) {
                case .ok, .handled: return faults ? "expected \(access.rawValue) of \(hex16(va)) by pid \(pid) to fault, but it succeeded" : nil
                case .killed: return faults ? nil : "\(access.rawValue) of \(hex16(va)) by pid \(pid) faulted and killed it (write `faults: true` if that is expected)"
                case .noSuchProcess: return "pid \(pid) does not exist"
                case .notRunnable: return "pid \(pid) is a zombie and cannot run"
                }
            },
            process: { if case .access(let pid, _, _, _) = $0 { pid } else { nil } })
    }
}

extension ScenarioCompiler {
    /// load/store/fetch: a user-mode access through the MMU.
    mutating func access(_ s: EventSpec, _ arg: Node?, _ at: Node, _ loc: SourceLocation, _ kind: AccessType) {
        let name = s.name
        guard let m = arg?.mapping else { error(arg ?? at, "`\(name)` needs a mapping: `\(name): {proc: sh, va: 0x1000}`"); return }
        var procNode: Node?, va: UInt64?
        var faults = false
        for (k, v) in m {
            switch key(k, allowed: s.keys) {
            case "proc": procNode = v
            case "va": va = integer(v, 0...UInt64.max)
            case "faults": faults = boolean(v) ?? false
            default: break
            }
        }
        guard let procNode, let va else { error(arg ?? at, "`\(name)` needs `proc` and `va`"); return }
        guard let pid = liveProcess(procNode, doing: name) else { return }
        // A fault kills the process: usertrap makes it exit(-1).
        if faults && pid != table.initPid { table.exit(pid, line: loc.line) }
        events.append(Event(kind: .access(pid: pid, va: va, kind, faults: faults), location: loc,
                            label: "\(name) pid \(pid) va \(hexShort(va))" + (faults ? " (faults)" : "")))
    }
}

private typealias S = ScenarioSchema
