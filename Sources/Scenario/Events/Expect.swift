import Yams
import XV6
import RISCV
import Support

/// expect: what a scenario states about itself, checked when the run reaches it.
extension EventSpec {
    static let expect = EventSpec(
        name: "expect", keys: ["free_pages", "leaks", "panic", "mapped", "unmapped", "satp"],
        compile: { c, s, arg, at, loc in c.expect(s, arg, at, loc) },
        write: { e, name in
            guard case .expect(let list) = e.kind else { return nil }
            return "expect: {" + list.map { written($0, name) }.joined(separator: ", ") + "}"
        },
        schema: { S.object("what must hold when the run reaches this point", [
            "free_pages": ["anyOf": [S.number, ["const": "baseline"]]],
            "leaks": S.number,
            "panic": ["type": "string"],
            "mapped": S.object("va mapped in the process's user table", ["proc": S.process, "va": S.number, "pa": S.number, "perm": ["type": "string"]], required: ["proc", "va"]),
            "unmapped": S.object("va not mapped in the process's user table", ["proc": S.process, "va": S.number], required: ["proc", "va"]),
            "satp": S.object("what a hart's satp points at", ["hart": S.number, "table": ["enum": ["kernel", "user"]], "proc": S.process]),
        ]) },
        execute: { kind, run in
            guard case .expect(let list) = kind else { return nil }
            for failure in failures(list, on: run.kernel, baseline: run.baseline) {
                run.failedExpectations.append(failure)
                run.output?.addFailedExpectation(failure)
            }
            return nil
        },
        changesKernel: false)

    static func written(_ x: Expectation, _ name: (Int) -> String) -> String {
        let q = ScenarioWriter.q
        switch x {
        case .freePages(let n): return "free_pages: \(n.map(String.init) ?? "baseline")"
        case .leaks(let n): return "leaks: \(n)"
        case .panic(let m): return "panic: \(q(m))"
        case let .mapped(pid, va, pa, perm):
            return "mapped: {proc: \(name(pid)), va: \(hexShort(va))" + (pa.map { ", pa: \(hexShort($0))" } ?? "") + (perm.map { ", perm: \($0)" } ?? "") + "}"
        case let .unmapped(pid, va): return "unmapped: {proc: \(name(pid)), va: \(hexShort(va))}"
        case let .satp(hart, pid, user):
            return "satp: {hart: \(hart), table: \(user ? "user" : "kernel")" + (pid.map { ", proc: \(name($0))" } ?? "") + "}"
        }
    }

    /// The expectations of `list` that do not hold now, as sentences.
    package static func failures(_ list: [Expectation], on k: Kernel, baseline: Int?) -> [String] {
        var out: [String] = []
        for e in list {
            switch e {
            case .freePages(let n):
                guard let want = n ?? baseline else { out.append("free_pages: baseline, but no `baseline` event came before"); continue }
                if k.freePages != want { out.append("expected \(want) free pages\(n == nil ? " (the baseline)" : ""), found \(k.freePages)") }
            case .leaks(let n):
                let leaked = k.ownership().leaked
                if leaked != n { out.append("expected \(n) leaked pages, found \(leaked) (see `xv6vm leaks`)") }
            case .panic(let m):
                out.append("expected panic: \(m), but the kernel did not panic")
            case let .mapped(pid, va, pa, perm):
                guard let pte = userPTE(k, pid, va), pte.isValid, pte.isLeaf else { out.append("expected pid \(pid)'s va \(hex16(va)) to be mapped, but it is not"); continue }
                if let pa, pte.pa.rawValue != pageRoundDown(pa) { out.append("expected pid \(pid)'s va \(hex16(va)) to map pa \(hex16(pa)), found \(hex16(pte.pa.rawValue))") }
                if let perm, pte.flags.letters != perm { out.append("expected pid \(pid)'s va \(hex16(va)) to have \(perm), found \(pte.flags.letters)") }
            case let .unmapped(pid, va):
                if let pte = userPTE(k, pid, va), pte.isValid { out.append("expected pid \(pid)'s va \(hex16(va)) to be unmapped, but it maps \(hex16(pte.pa.rawValue))") }
            case let .satp(hart, pid, user):
                guard hart < k.harts.count else { out.append("hart \(hart) does not exist"); continue }
                let root = k.harts[hart].satp.root
                let want: PhysAddr? = pid.map { p in k.slot(ofPid: p).map { user ? k.procs[$0].pagetable : k.procs[$0].kernelPagetable } ?? .zero } ?? k.kernelPagetable
                if root != want { out.append("expected hart \(hart)'s satp to point at \(ScenarioCompiler.satpTable(pid: pid, user: user)), found \(hex16(root.rawValue))") }
            }
        }
        return out
    }

    static func userPTE(_ k: Kernel, _ pid: Int, _ va: UInt64) -> PTE? {
        guard let slot = k.slot(ofPid: pid), va < Sv39.maxVA,
              let at = try? k.walk(k.procs[slot].pagetable, va, alloc: false) else { return nil }
        return PTE(rawValue: k.memory.read64(PhysAddr(at)))
    }
}

/// Reading `expect:`.
extension ScenarioCompiler {
    mutating func expect(_ s: EventSpec, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
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

private typealias S = ScenarioSchema
