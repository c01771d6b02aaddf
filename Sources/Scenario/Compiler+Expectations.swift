import Yams
import XV6
import RISCV
import Support

/// `expect:`: what a scenario states about itself, checked when the run reaches it.
extension ScenarioCompiler {
    mutating func expect(_ s: EventSyntax, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        guard let m = arg?.mapping else {
            error(arg ?? at, "`expect` needs a mapping, e.g. `expect: {free_pages: baseline, leaks: 0}`")
            return
        }
        var list: [Expectation] = []
        for (k, v) in m {
            switch key(k, allowed: s.keys) {
            case "free_pages":
                if v.scalar?.string == "baseline" { list.append(.freePages(nil)) } else if let n = integer(v, 0...UInt64(Int32.max)) { list.append(.freePages(Int(n))) }
            case "leaks": if let n = integer(v, 0...UInt64(Int32.max)) { list.append(.leaks(Int(n))) }
            case "panic": if let text = string(v, what: "the panic message, e.g. kvmmap") { list.append(.panic(text)) }
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

    /// The table an `expect: {satp: ...}` names, as written: `kernel`, `kernel:PID`, `user:PID`.
    package static func satpTable(pid: Int?, user: Bool) -> String {
        pid.map { user ? "user:\($0)" : "kernel:\($0)" } ?? "kernel"
    }

    static func describe(_ e: Expectation) -> String {
        switch e {
        case .freePages(let n): return "free_pages \(n.map(String.init) ?? "baseline")"
        case .leaks(let n): return "leaks \(n)"
        case .panic(let s): return "panic \(s)"
        case let .mapped(pid, va, pa, perm): return "mapped pid \(pid) va \(hexShort(va))" + (pa.map { " pa \(hexShort($0))" } ?? "") + (perm.map { " \($0)" } ?? "")
        case let .unmapped(pid, va): return "unmapped pid \(pid) va \(hexShort(va))"
        case let .satp(hart, pid, user): return "satp hart \(hart) " + satpTable(pid: pid, user: user)
        }
    }
}
