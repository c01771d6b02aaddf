import Yams
import XV6
import RISCV
import Support

/// userinit, fork, exit and wait: the events that make, end and reap processes.
extension EventSpec {
    static let userinit = EventSpec(
        name: "userinit", keys: ["name"], beforeUserinit: true, bare: true,
        compile: { c, s, arg, at, loc in c.userinit(s, arg, at, loc) },
        write: { e, name in
            switch e.kind {
            case .boot: "userinit"
            case .userinit(let pid): "userinit: \(name(pid))"
            default: nil
            }
        },
        schema: { ["description": "the first process (pid 1), named init unless named here",
                   "anyOf": [["type": "string"], ["type": "null"], S.object("userinit", ["name": ["type": "string"]])]] },
        execute: { kind, run throws(KernelPanic) in
            guard case .userinit(let pid) = kind else { return nil }
            let got = try run.kernel.userinit()
            return got == pid ? nil : "userinit created pid \(got), not \(pid)"
        },
        creates: { e in if case .userinit(let pid) = e.kind { pid } else { nil } },
        process: { if case .userinit(let pid) = $0 { pid } else { nil } },
        short: { e in if case .userinit(let pid) = e.kind { "userinit \(pid)" } else { "boot" } })

    static let fork = EventSpec(
        name: "fork", keys: ["parent", "child", "fails"],
        compile: { c, s, arg, at, loc in c.fork(s, arg, at, loc) },
        write: { e, name in
            guard case .syscall(let pid, .fork) = e.kind else { return nil }
            if e.forkFails { return "fork: {parent: \(name(pid)), fails: true}" }
            return "fork: {parent: \(name(pid))" + (e.child.map { ", child: \(name($0))" } ?? "") + "}"
        },
        schema: { ["description": "fork(): a child with a copy of the parent's memory",
                   "anyOf": [S.process, S.object("fork", ["parent": S.process, "child": ["type": "string"], "fails": S.boolean], required: ["parent"])]] },
        execute: syscall,
        // A fork that fails has no child to name (its pid is freed).
        creates: { e in if case .syscall(_, .fork) = e.kind, e.child != nil { e.child } else { nil } },
        process: caller,
        short: { e in
            guard case .syscall(let pid, _) = e.kind else { return "fork" }
            return e.child.map { "fork \(pid)→\($0)" } ?? "fork \(pid)"
        })

    static let exit = EventSpec(
        name: "exit", keys: ["proc", "status"],
        compile: { c, s, arg, at, loc in c.exit(s, arg, at, loc) },
        write: { e, name in
            guard case let .syscall(pid, .exit(status)) = e.kind else { return nil }
            return "exit: {proc: \(name(pid)), status: \(status)}"
        },
        schema: { S.oneProcessOr("exit(status): the process becomes a zombie", ["proc": S.process, "status": S.number]) },
        execute: syscall,
        numbers: [NumberField(key: "status", get: { k in
            if case .syscall(_, .exit(let n)) = k { (n < 0, UInt64(n.magnitude)) } else { nil }
        }, set: { k, m in
            guard case let .syscall(pid, .exit(n)) = k else { return k }
            return .syscall(pid: pid, .exit(Int32(truncatingIfNeeded: n < 0 ? -Int64(m) : Int64(m))))
        })],
        process: caller)

    static let wait = EventSpec(
        name: "wait", keys: ["proc"],
        compile: { c, s, arg, at, loc in c.wait(s, arg, at, loc) },
        write: { e, name in
            guard case .syscall(let pid, .wait) = e.kind else { return nil }
            return "wait: \(name(pid))"
        },
        schema: { S.oneProcessOr("wait(0) by the parent: reaps its first zombie child", ["proc": S.process]) },
        execute: syscall,
        process: caller)

    /// Runs a system call: fork, exec, sbrk, exit, wait, the copies and the pipes.
    static let syscall: Execute = { kind, run throws(KernelPanic) in
        guard case let .syscall(pid, call) = kind else { return nil }
        switch try run.kernel.syscall(pid: pid, call) {
        case .returned: return nil
        case .noSuchProcess: return "pid \(pid) does not exist (the fork that was to create it failed)"
        case .notRunnable: return "pid \(pid) is a zombie and cannot run"
        case .wouldBlock: return "wait by pid \(pid) would block: no child has exited"
        }
    }
}

extension ScenarioCompiler {
    mutating func userinit(_ s: EventSpec, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        if table.initPid != nil { error(at, "`userinit` runs once, at boot; pid 1 already exists"); return }
        var name = "init"
        if let arg {
            if let m = arg.mapping {
                for (k, v) in m where key(k, allowed: s.keys) == "name" { if let n = processName(v) { name = n } }
            } else if arg.scalar != nil, arg.scalar?.string != "" {
                if let n = processName(arg) { name = n }
            }
        }
        let pid = table.create(name: name, parent: nil, at: loc)
        events.append(Event(kind: .userinit(pid: pid), location: loc, label: "userinit -> pid \(pid) (\(name))"))
    }

    mutating func fork(_ s: EventSpec, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        var parentNode: Node?
        var childName: String?
        var fails = false
        if let m = arg?.mapping {
            for (k, v) in m {
                switch key(k, allowed: s.keys) {
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

    mutating func exit(_ s: EventSpec, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        var procNode: Node?
        var status: Int32 = 0
        if let m = arg?.mapping {
            for (k, v) in m {
                switch key(k, allowed: s.keys) {
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

    mutating func wait(_ s: EventSpec, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        guard let procNode = singleProcArgument(s, arg, at) else { return }
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
}

private typealias S = ScenarioSchema
