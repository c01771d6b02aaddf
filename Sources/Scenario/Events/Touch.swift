import Yams
import XV6
import RISCV
import Support

/// touch: {proc, va, access: load|store|exec, killed, pages, stride}: the process's user
/// code accesses va (and `pages - 1` more addresses, `stride` bytes apart: by default the
/// same offset in each of the next pages) through the MMU, and on a fault through usertrap,
/// whose handler (cow-lab, lazy-lab) may fix the page; `killed: true` says a fault kills it
/// (the addresses after it are then not touched).
extension EventSpec {
    static let touch = EventSpec(
        name: "touch", keys: ["proc", "va", "access", "killed", "pages", "stride"],
        compile: { c, s, arg, at, loc in c.touch(s, arg, at, loc) },
        write: { e, name in
            guard case let .touch(pid, va, access, killed, pages, stride) = e.kind else { return nil }
            return "touch: {proc: \(name(pid)), va: \(hexShort(va)), access: \(touchWord(access))"
                + (killed ? ", killed: true" : "") + (pages > 1 ? ", pages: \(pages)" : "")
                + (stride != pageSize ? ", stride: \(hexShort(stride))}" : "}")
        },
        schema: { S.object("the process's user code loads, stores or executes at va, through the MMU; a fault goes to usertrap "
                           + "(under cow-lab a store to a shared page is copied); killed: a fault kills the process; "
                           + "pages: the same access in each of that many pages from va; "
                           + "stride: the bytes between one access and the next (default 0x1000)",
                           ["proc": S.process, "va": S.number, "access": ["enum": touchWords], "killed": S.boolean, "pages": S.number,
                            "stride": S.number],
                           required: ["proc", "va", "access"]) },
        execute: { kind, run throws(KernelPanic) in
            guard case let .touch(pid, va, access, killed, pages, stride) = kind else { return nil }
            guard let (result, a) = try run.kernel.userAccesses(pid: pid, va: va, access, count: pages, stride: stride) else {
                return killed ? "expected a touch by pid \(pid) to kill it, but none did" : nil
            }
            switch result {
            case .ok, .handled: return nil   // not returned: the accesses stop at another result
            case .killed:
                if killed { return nil }
                return "the \(touchWord(access)) of \(hex16(a)) by pid \(pid) faulted and killed it (write `killed: true` if that is expected)"
            case .noSuchProcess: return "pid \(pid) does not exist"
            case .notRunnable: return "pid \(pid) is a zombie and cannot run"
            }
        },
        process: { if case .touch(let pid, _, _, _, _, _) = $0 { pid } else { nil } },
        short: { e in if case let .touch(pid, _, a, _, _, _) = e.kind { "\(touchWord(a)) \(pid)" } else { "touch" } })

    /// The most pages one `touch` may cover (4 GiB of user memory).
    static let touchPagesMax: UInt64 = 0x10_0000

    /// The largest `stride` (the whole Sv39 user space, 256 GiB).
    static let touchStrideMax: UInt64 = 1 << 38

    /// How `touch` names the kinds of access: an instruction fetch is `exec`, as PTE_X says.
    static let touchWords = ["load", "store", "exec"]

    package static func touchWord(_ a: AccessType) -> String { a == .fetch ? "exec" : a.rawValue }

    static func touchAccess(_ word: String) -> AccessType? {
        switch word {
        case "load": .load
        case "store": .store
        case "exec": .fetch
        default: nil
        }
    }
}

extension ScenarioCompiler {
    mutating func touch(_ s: EventSpec, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        guard let m = arg?.mapping else { error(arg ?? at, "`touch` needs a mapping: `touch: {proc: sh, va: 0x1000, access: store}`"); return }
        var procNode: Node?, va: UInt64?, access: AccessType?, accessNode: Node?
        var killed = false
        var pages: UInt64? = 1
        var stride: UInt64? = pageSize
        for (k, v) in m {
            switch key(k, allowed: s.keys) {
            case "proc": procNode = v
            case "va": va = integer(v, 0...UInt64.max)
            case "pages": pages = integer(v, 1...EventSpec.touchPagesMax)
            case "stride": stride = integer(v, 1...EventSpec.touchStrideMax)
            case "access":
                accessNode = v
                guard let word = string(v, what: "load, store or exec") else { continue }
                access = EventSpec.touchAccess(word)
                if access == nil { error(v, "unknown access '\(word)'; expected load, store or exec" + suggest(word, EventSpec.touchWords)) }
            case "killed": killed = boolean(v) ?? false
            default: break
            }
        }
        guard let procNode, let va, accessNode != nil else { error(arg ?? at, "`touch` needs `proc`, `va` and `access`"); return }
        guard let access, let pages, let stride else { return }
        if va > UInt64.max - (pages - 1) * stride {
            error(arg ?? at, "`touch` of \(pages) pages from \(hexShort(va))"
                  + (stride != pageSize ? " \(hexShort(stride)) apart" : "") + " goes beyond the largest address"); return
        }
        guard let pid = liveProcess(procNode, doing: "touch") else { return }
        // The fault kills the process: usertrap makes it exit(-1).
        if killed && pid != table.initPid { table.exit(pid, line: loc.line) }
        let word = EventSpec.touchWord(access)
        events.append(Event(kind: .touch(pid: pid, va: va, access, killed: killed, pages: Int(pages), stride: stride),
                            location: loc,
                            label: "touch pid \(pid) va \(hexShort(va)) \(word)" + (pages > 1 ? " \(pages) pages" : "")
                                + (stride != pageSize ? " \(hexShort(stride)) apart" : "") + (killed ? " (killed)" : "")))
    }
}

private typealias S = ScenarioSchema
