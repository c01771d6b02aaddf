import Yams
import XV6
import RISCV
import Support

/// The events of a scenario, each checked against the process table as the kernel will
/// see it, and the processes they name resolved to pids. Each kind's reading is in its
/// spec's file (Events/); here is what they share.
extension ScenarioCompiler {
    /// The names of the events, from the table, in the order messages list them.
    package static let eventNames = EventSpec.all.map(\.name)

    /// The most events a scenario may expand to; `repeat` beyond it is refused before expanding.
    package static let eventLimit = 2_000_000

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
        guard let syntax = EventSpec.named[name] else {
            error(keyNode, "unknown event '\(name)'; expected one of: \(Self.eventNames.joined(separator: ", "))"
                  + suggest(name, Self.eventNames))
            return
        }
        let loc = location(keyNode.mark)
        // Only events that need no process may come before userinit: a failure to inject
        // into userinit itself, and a baseline.
        if !syntax.beforeUserinit && table.initPid == nil {
            error(keyNode, "`\(name)` before `userinit`: the first process event must be `userinit`, which creates pid 1")
            return
        }
        syntax.compile(&self, syntax, arg, keyNode, loc)
    }

    /// The process of an event that takes only that: `NAME: init` or `NAME: {proc: init}`.
    mutating func singleProcArgument(_ s: EventSpec, _ arg: Node?, _ at: Node) -> Node? {
        let event = s.name
        if let m = arg?.mapping {
            var found: Node?
            for (k, v) in m where key(k, allowed: s.keys) == "proc" { found = v }
            if found == nil { error(arg ?? at, "`\(event)` needs `proc`") }
            return found
        }
        if let arg, arg.scalar != nil { return arg }
        error(arg ?? at, "`\(event)` needs the process: `\(event): init` or `\(event): {proc: init}`")
        return nil
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
}
