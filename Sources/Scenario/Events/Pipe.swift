import Yams
import XV6
import RISCV
import Support

/// pipe: {proc, id} takes a page for a new pipe; close: {proc, pipe} frees it (the last close).
extension EventSpec {
    static let pipe = EventSpec(
        name: "pipe", keys: ["proc", "id"],
        compile: { c, s, arg, at, loc in c.pipe(s, arg, at, loc, opens: true) },
        write: { e, name in
            guard case let .syscall(pid, .pipe(id)) = e.kind else { return nil }
            return "pipe: {proc: \(name(pid)), id: \(id)}"
        },
        schema: { S.object("pipe(): a page for a new pipe, named by id", ["proc": S.process, "id": S.number], required: ["proc", "id"]) },
        execute: syscall,
        process: caller)

    static let close = EventSpec(
        name: "close", keys: ["proc", "pipe"],
        compile: { c, s, arg, at, loc in c.pipe(s, arg, at, loc, opens: false) },
        write: { e, name in
            guard case let .syscall(pid, .close(id)) = e.kind else { return nil }
            return "close: {proc: \(name(pid)), pipe: \(id)}"
        },
        schema: { S.object("the last close of a pipe: its page is freed", ["proc": S.process, "pipe": S.number], required: ["proc", "pipe"]) },
        execute: syscall,
        process: caller)
}

extension ScenarioCompiler {
    mutating func pipe(_ s: EventSpec, _ arg: Node?, _ at: Node, _ loc: SourceLocation, opens: Bool) {
        let name = s.name, idKey = s.keys[1]
        guard let m = arg?.mapping else { error(arg ?? at, "`\(name)` needs a mapping: `\(name): {proc: sh, \(idKey): 1}`"); return }
        var procNode: Node?, idNode: Node?, id: UInt64?
        for (k, v) in m {
            switch key(k, allowed: s.keys) {
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
        if opens {
            if openPipes.contains(n) { error(idNode, "pipe \(n) is already open; close it first or take another id"); return }
            openPipes.insert(n)
            events.append(Event(kind: .syscall(pid: pid, .pipe(id: n)), location: loc, label: "pipe pid \(pid) -> pipe \(n)"))
        } else {
            guard openPipes.remove(n) != nil else { error(idNode, "pipe \(n) is not open (no `pipe` event opened it, or it was closed)"); return }
            events.append(Event(kind: .syscall(pid: pid, .close(pipe: n)), location: loc, label: "close pid \(pid) pipe \(n)"))
        }
    }
}

private typealias S = ScenarioSchema
