import Yams
import XV6
import RISCV
import Support

/// run, yield and sleep: the scheduler switches a hart to a process, or a process gives the CPU up.
extension EventSpec {
    static let run = EventSpec(
        name: "run", keys: ["proc", "hart"],
        compile: { c, s, arg, at, loc in c.run(s, arg, at, loc) },
        write: { e, name in
            guard case let .run(pid, hart) = e.kind else { return nil }
            return "run: {proc: \(name(pid)), hart: \(hart)}"
        },
        schema: { S.oneProcessOr("the scheduler switches a hart to the process", ["proc": S.process, "hart": S.number]) },
        execute: { kind, run throws(KernelPanic) in
            guard case let .run(pid, hart) = kind else { return nil }
            switch try run.kernel.run(pid: pid, hart: hart) {
            case .returned: return nil
            default: return "pid \(pid) cannot run: it has exited"
            }
        },
        process: { if case .run(let pid, _) = $0 { pid } else { nil } })

    static let yield = EventSpec(
        name: "yield", keys: ["proc"],
        compile: { c, s, arg, at, loc in c.yieldCPU(s, arg, at, loc) { .yield(pid: $0) } },
        write: { e, name in if case .yield(let pid) = e.kind { "yield: \(name(pid))" } else { nil } },
        schema: { S.oneProcessOr("the process gives up the CPU and is scheduled again", ["proc": S.process]) },
        execute: { kind, run throws(KernelPanic) in
            guard case let .yield(pid) = kind else { return nil }
            switch try run.kernel.yield(pid: pid) {
            case .returned: return nil
            default: return "pid \(pid) cannot yield: it has exited"
            }
        },
        process: { if case .yield(let pid) = $0 { pid } else { nil } })

    static let sleep = EventSpec(
        name: "sleep", keys: ["proc"],
        compile: { c, s, arg, at, loc in c.yieldCPU(s, arg, at, loc) { .sleep(pid: $0) } },
        write: { e, name in if case .sleep(let pid) = e.kind { "sleep: \(name(pid))" } else { nil } },
        schema: { S.oneProcessOr("the process gives up the CPU and nothing else runs", ["proc": S.process]) },
        execute: { kind, run throws(KernelPanic) in
            guard case let .sleep(pid) = kind else { return nil }
            switch try run.kernel.sleep(pid: pid) {
            case .returned: return nil
            default: return "pid \(pid) cannot sleep: it has exited"
            }
        },
        process: { if case .sleep(let pid) = $0 { pid } else { nil } })
}

extension ScenarioCompiler {
    mutating func run(_ s: EventSpec, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        var procNode: Node?
        var hart = 0
        if let m = arg?.mapping {
            for (k, v) in m {
                switch key(k, allowed: s.keys) {
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

    /// yield: the process gives up the CPU and gets it back with nothing run in between;
    /// sleep: it gives up the CPU and nothing else runs.
    mutating func yieldCPU(_ s: EventSpec, _ arg: Node?, _ at: Node, _ loc: SourceLocation, _ make: (Int) -> EventKind) {
        guard let procNode = singleProcArgument(s, arg, at) else { return }
        guard let pid = liveProcess(procNode, doing: s.name) else { return }
        events.append(Event(kind: make(pid), location: loc, label: "\(s.name) pid \(pid)"))
    }
}

private typealias S = ScenarioSchema
