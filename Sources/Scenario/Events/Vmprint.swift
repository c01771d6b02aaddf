import Yams
import XV6
import RISCV
import Support

/// vmprint: the lab's print of a process's user page table (or its own kernel table), on the console.
extension EventSpec {
    static let vmprint = EventSpec(
        name: "vmprint", keys: ["proc", "table"],
        compile: { c, s, arg, at, loc in c.vmprint(s, arg, at, loc) },
        write: { e, name in
            guard case let .vmprint(pid, kernelTable) = e.kind else { return nil }
            return "vmprint: {proc: \(name(pid)), table: \(kernelTable ? "kernel" : "user")}"
        },
        schema: { S.oneProcessOr("the lab's vmprint of the process's user (or kernel) table",
                                 ["proc": S.process, "table": ["enum": ["user", "kernel"]]]) },
        execute: { kind, run throws(KernelPanic) in
            guard case let .vmprint(pid, kernelTable) = kind else { return nil }
            let k = run.kernel
            guard let slot = k.slot(ofPid: pid) else { return "pid \(pid) does not exist" }
            let root = kernelTable ? k.procs[slot].kernelPagetable : k.procs[slot].pagetable
            for line in try k.vmprint(root) { run.output?.addConsole(line) }
            return nil
        },
        process: { if case .vmprint(let pid, _) = $0 { pid } else { nil } })
}

extension ScenarioCompiler {
    mutating func vmprint(_ s: EventSpec, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        var procNode: Node?
        var kernelTable = false
        if let m = arg?.mapping {
            for (k, v) in m {
                switch key(k, allowed: s.keys) {
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
}

private typealias S = ScenarioSchema
