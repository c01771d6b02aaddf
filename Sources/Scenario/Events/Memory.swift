import Yams
import XV6
import RISCV
import Support

/// sbrk, and copyin, copyinstr and copyout: system calls that grow or shrink a process, or
/// make the kernel copy across the user boundary.
extension EventSpec {
    static let sbrk = EventSpec(
        name: "sbrk", keys: ["proc", "n"],
        compile: { c, s, arg, at, loc in c.sbrk(s, arg, at, loc) },
        write: { e, name in
            guard case let .syscall(pid, .sbrk(n)) = e.kind else { return nil }
            return "sbrk: {proc: \(name(pid)), n: \(n)}"
        },
        schema: { S.object("sbrk(n), n negative to shrink", ["proc": S.process, "n": S.number], required: ["proc", "n"]) },
        execute: syscall,
        numbers: [NumberField(key: "n", get: { k in
            if case .syscall(_, .sbrk(let n)) = k { (n < 0, UInt64(n.magnitude)) } else { nil }
        }, set: { k, m in
            guard case let .syscall(pid, .sbrk(n)) = k else { return k }
            return .syscall(pid: pid, .sbrk(Int32(truncatingIfNeeded: n < 0 ? -Int64(m) : Int64(m))))
        })],
        process: caller,
        short: { e in if case let .syscall(pid, .sbrk(n)) = e.kind { "sbrk \(pid) \(n)" } else { "sbrk" } })

    static let copyin = copy("copyin", size: "len", "a call that makes the kernel copy len bytes in from va", make: { .copyin(va: $0, len: $1) }) {
        if case let .copyin(va, len) = $0 { (va, len) } else { nil }
    }
    static let copyinstr = copy("copyinstr", size: "max", "a call that makes the kernel copy a string of at most max bytes in from va", make: { .copyinstr(va: $0, max: $1) }) {
        if case let .copyinstr(va, max) = $0 { (va, max) } else { nil }
    }
    /// Shrink tries copyout's `len` twice over: when it edited the written line, its field `n`
    /// matched the `n: ` that ends `len: ` (copyin's matched `copyin: ` and found no number),
    /// and shrunk scenarios stay as they were.
    static let copyout = copy("copyout", size: "len", "a call that makes the kernel copy len bytes out to va", twice: true, make: { .copyout(va: $0, len: $1) }) {
        if case let .copyout(va, len) = $0 { (va, len) } else { nil }
    }

    /// copyin, copyinstr, copyout: a system call that copies `size` bytes across the user boundary.
    static func copy(_ name: String, size: String, _ description: String, twice: Bool = false,
                     make: @escaping @Sendable (_ va: UInt64, _ n: UInt64) -> Syscall,
                     _ match: @escaping @Sendable (Syscall) -> (va: UInt64, n: UInt64)?) -> EventSpec {
        let field = NumberField(key: size, get: { k in
            guard case let .syscall(_, call) = k, let (_, n) = match(call) else { return nil }
            return (false, n)
        }, set: { k, m in
            guard case let .syscall(pid, call) = k, let (va, _) = match(call) else { return k }
            return .syscall(pid: pid, make(va, m))
        })
        return EventSpec(
            name: name, keys: ["proc", "va", size],
            compile: { c, s, arg, at, loc in c.copy(s, arg, at, loc, make) },
            write: { e, pname in
                guard case let .syscall(pid, call) = e.kind, let (va, n) = match(call) else { return nil }
                return "\(name): {proc: \(pname(pid)), va: \(hexShort(va)), \(size): \(n)}"
            },
            schema: { S.object(description, ["proc": S.process, "va": S.number, size: S.number], required: ["proc", "va", size]) },
            execute: syscall,
            numbers: twice ? [field, field] : [field],
            process: caller)
    }
}

extension ScenarioCompiler {
    mutating func sbrk(_ s: EventSpec, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        guard let m = arg?.mapping else { error(arg ?? at, "`sbrk` needs a mapping: `sbrk: {proc: sh, n: 4097}` (n may be negative)"); return }
        var procNode: Node?
        var n: Int64?
        for (k, v) in m {
            switch key(k, allowed: s.keys) {
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

    /// copyin/copyinstr/copyout: a system call that makes the kernel copy across the user boundary.
    mutating func copy(_ s: EventSpec, _ arg: Node?, _ at: Node, _ loc: SourceLocation, _ make: (UInt64, UInt64) -> Syscall) {
        let name = s.name, sizeKey = s.keys[2]
        guard let m = arg?.mapping else { error(arg ?? at, "`\(name)` needs a mapping: `\(name): {proc: sh, va: 0x1000, \(sizeKey): 16}`"); return }
        var procNode: Node?, va: UInt64?, n: UInt64?
        for (k, v) in m {
            switch key(k, allowed: s.keys) {
            case "proc": procNode = v
            case "va": va = integer(v, 0...UInt64.max)
            case sizeKey: n = integer(v, 0...0x10_0000)
            default: break
            }
        }
        guard let procNode, let va, let n else { error(arg ?? at, "`\(name)` needs `proc`, `va` and `\(sizeKey)`"); return }
        guard let pid = liveProcess(procNode, doing: name) else { return }
        events.append(Event(kind: .syscall(pid: pid, make(va, n)), location: loc, label: "\(name) pid \(pid) va \(hexShort(va)) \(sizeKey) \(n)"))
    }
}

private typealias S = ScenarioSchema
