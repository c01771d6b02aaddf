import Yams
import XV6
import RISCV
import Support

/// One kind of event in the scenario language: its name, the keys its mapping takes, how
/// the compiler reads it, how the writer writes it back, and its JSON Schema. `all` is the
/// one table of them: the compiler, the writer (so shrink and import), and `xv6vm schema`
/// take every name and key from it. A new kind of event is a row here (and, if it needs a
/// new `EventKind`, that case in Event.swift and the Runner's dispatch); the round-trip test
/// fails until its generator writes the new kind too.
package struct EventSyntax: Sendable {
    /// Reads the event: `arg` is the value under its name (nil for a bare word), `at` the
    /// node of its name, where problems with a missing value are shown, `loc` where it stands.
    typealias Compile = @Sendable (_ c: inout ScenarioCompiler, _ syntax: EventSyntax, _ arg: Node?, _ at: Node, _ loc: SourceLocation) -> Void
    /// Writes `event` as one line of YAML, naming processes with `name`; nil when the event
    /// is not of this kind.
    typealias Write = @Sendable (_ event: Event, _ name: (Int) -> String) -> String?

    /// `- fork: ...`
    let name: String
    /// The keys of its mapping, in the order messages list them.
    let keys: [String]
    /// It needs no process, so it may come before `userinit`.
    var beforeUserinit = false
    /// It may be written as a bare word, with no value (`- baseline`).
    var bare = false
    let compile: Compile
    let write: Write
    /// Its value's JSON Schema; nil for `repeat`, which the schema describes with the events it repeats.
    let schema: (@Sendable () -> ScenarioSchema.Object)?

    /// The kinds of event, in the order messages list them.
    static let all: [EventSyntax] = [
        EventSyntax(name: "userinit", keys: ["name"], beforeUserinit: true, bare: true,
                    compile: { c, s, arg, at, loc in c.userinit(s, arg, at, loc) },
                    write: { e, name in
                        switch e.kind {
                        case .boot: "userinit"
                        case .userinit(let pid): "userinit: \(name(pid))"
                        default: nil
                        }
                    },
                    schema: { ["description": "the first process (pid 1), named init unless named here",
                               "anyOf": [["type": "string"], ["type": "null"], S.object("userinit", ["name": ["type": "string"]])]] }),
        EventSyntax(name: "fork", keys: ["parent", "child", "fails"],
                    compile: { c, s, arg, at, loc in c.fork(s, arg, at, loc) },
                    write: { e, name in
                        guard case .syscall(let pid, .fork) = e.kind else { return nil }
                        if e.forkFails { return "fork: {parent: \(name(pid)), fails: true}" }
                        return "fork: {parent: \(name(pid))" + (e.child.map { ", child: \(name($0))" } ?? "") + "}"
                    },
                    schema: { ["description": "fork(): a child with a copy of the parent's memory",
                               "anyOf": [S.process, S.object("fork", ["parent": S.process, "child": ["type": "string"], "fails": S.boolean], required: ["parent"])]] }),
        EventSyntax(name: "exec", keys: ["proc", "path", "argv", "segments", "entry", "exists"],
                    compile: { c, s, arg, at, loc in c.exec(s, arg, at, loc) },
                    write: { e, name in
                        guard case let .syscall(pid, .exec(path, argv, program)) = e.kind else { return nil }
                        let q = ScenarioWriter.q, head = "exec: {proc: \(name(pid)), path: \(q(path)), argv: [\(argv.map(q).joined(separator: ", "))]"
                        if !program.exists { return head + ", exists: false}" }
                        let segs = program.segments.map { "{vaddr: \(hexShort($0.vaddr)), memsz: \(hexShort($0.memsz)), filesz: \(hexShort($0.filesz))}" }
                        return head + ", segments: [\(segs.joined(separator: ", "))], entry: \(hexShort(program.entry))}"
                    },
                    schema: {
                        let segment = S.object("an ELF LOAD program header", ["vaddr": S.number, "memsz": S.number, "filesz": S.number], required: ["vaddr", "memsz"])
                        return S.object("sys_exec then exec: argument pages, a new table with the segments and a stack, the old image freed",
                                        ["proc": S.process, "path": ["type": "string"], "argv": ["type": "array", "items": ["type": "string"]],
                                         "segments": ["type": "array", "items": segment], "entry": S.number, "exists": S.boolean],
                                        required: ["proc", "path"])
                    }),
        EventSyntax(name: "sbrk", keys: ["proc", "n"],
                    compile: { c, s, arg, at, loc in c.sbrk(s, arg, at, loc) },
                    write: { e, name in
                        guard case let .syscall(pid, .sbrk(n)) = e.kind else { return nil }
                        return "sbrk: {proc: \(name(pid)), n: \(n)}"
                    },
                    schema: { S.object("sbrk(n), n negative to shrink", ["proc": S.process, "n": S.number], required: ["proc", "n"]) }),
        EventSyntax(name: "exit", keys: ["proc", "status"],
                    compile: { c, s, arg, at, loc in c.exit(s, arg, at, loc) },
                    write: { e, name in
                        guard case let .syscall(pid, .exit(status)) = e.kind else { return nil }
                        return "exit: {proc: \(name(pid)), status: \(status)}"
                    },
                    schema: { S.oneProcessOr("exit(status): the process becomes a zombie", ["proc": S.process, "status": S.number]) }),
        EventSyntax(name: "wait", keys: ["proc"],
                    compile: { c, s, arg, at, loc in c.wait(s, arg, at, loc) },
                    write: { e, name in
                        guard case .syscall(let pid, .wait) = e.kind else { return nil }
                        return "wait: \(name(pid))"
                    },
                    schema: { S.oneProcessOr("wait(0) by the parent: reaps its first zombie child", ["proc": S.process]) }),
        EventSyntax(name: "vmprint", keys: ["proc", "table"],
                    compile: { c, s, arg, at, loc in c.vmprint(s, arg, at, loc) },
                    write: { e, name in
                        guard case let .vmprint(pid, kernelTable) = e.kind else { return nil }
                        return "vmprint: {proc: \(name(pid)), table: \(kernelTable ? "kernel" : "user")}"
                    },
                    schema: { S.oneProcessOr("the lab's vmprint of the process's user (or kernel) table",
                                             ["proc": S.process, "table": ["enum": ["user", "kernel"]]]) }),
        EventSyntax(name: "run", keys: ["proc", "hart"],
                    compile: { c, s, arg, at, loc in c.run(s, arg, at, loc) },
                    write: { e, name in
                        guard case let .run(pid, hart) = e.kind else { return nil }
                        return "run: {proc: \(name(pid)), hart: \(hart)}"
                    },
                    schema: { S.oneProcessOr("the scheduler switches a hart to the process", ["proc": S.process, "hart": S.number]) }),
        copy("copyin", size: "len", "a call that makes the kernel copy len bytes in from va", make: { .copyin(va: $0, len: $1) }) {
            if case let .copyin(va, len) = $0 { (va, len) } else { nil }
        },
        copy("copyinstr", size: "max", "a call that makes the kernel copy a string of at most max bytes in from va", make: { .copyinstr(va: $0, max: $1) }) {
            if case let .copyinstr(va, max) = $0 { (va, max) } else { nil }
        },
        copy("copyout", size: "len", "a call that makes the kernel copy len bytes out to va", make: { .copyout(va: $0, len: $1) }) {
            if case let .copyout(va, len) = $0 { (va, len) } else { nil }
        },
        access(.load), access(.store), access(.fetch),
        EventSyntax(name: "touch", keys: ["proc", "va", "access", "killed", "pages"],
                    compile: { c, s, arg, at, loc in c.touch(s, arg, at, loc) },
                    write: { e, name in
                        guard case let .touch(pid, va, access, killed, pages) = e.kind else { return nil }
                        return "touch: {proc: \(name(pid)), va: \(hexShort(va)), access: \(touchWord(access))"
                            + (killed ? ", killed: true" : "") + (pages > 1 ? ", pages: \(pages)}" : "}")
                    },
                    schema: { S.object("the process's user code loads, stores or executes at va, through the MMU; a fault goes to usertrap "
                                       + "(under cow-lab a store to a shared page is copied); killed: a fault kills the process; "
                                       + "pages: the same access in each of that many pages from va",
                                       ["proc": S.process, "va": S.number, "access": ["enum": touchWords], "killed": S.boolean, "pages": S.number],
                                       required: ["proc", "va", "access"]) }),
        EventSyntax(name: "pipe", keys: ["proc", "id"],
                    compile: { c, s, arg, at, loc in c.pipe(s, arg, at, loc, opens: true) },
                    write: { e, name in
                        guard case let .syscall(pid, .pipe(id)) = e.kind else { return nil }
                        return "pipe: {proc: \(name(pid)), id: \(id)}"
                    },
                    schema: { S.object("pipe(): a page for a new pipe, named by id", ["proc": S.process, "id": S.number], required: ["proc", "id"]) }),
        EventSyntax(name: "close", keys: ["proc", "pipe"],
                    compile: { c, s, arg, at, loc in c.pipe(s, arg, at, loc, opens: false) },
                    write: { e, name in
                        guard case let .syscall(pid, .close(id)) = e.kind else { return nil }
                        return "close: {proc: \(name(pid)), pipe: \(id)}"
                    },
                    schema: { S.object("the last close of a pipe: its page is freed", ["proc": S.process, "pipe": S.number], required: ["proc", "pipe"]) }),
        EventSyntax(name: "yield", keys: ["proc"],
                    compile: { c, s, arg, at, loc in c.yieldCPU(s, arg, at, loc) { .yield(pid: $0) } },
                    write: { e, name in if case .yield(let pid) = e.kind { "yield: \(name(pid))" } else { nil } },
                    schema: { S.oneProcessOr("the process gives up the CPU and is scheduled again", ["proc": S.process]) }),
        EventSyntax(name: "sleep", keys: ["proc"],
                    compile: { c, s, arg, at, loc in c.yieldCPU(s, arg, at, loc) { .sleep(pid: $0) } },
                    write: { e, name in if case .sleep(let pid) = e.kind { "sleep: \(name(pid))" } else { nil } },
                    schema: { S.oneProcessOr("the process gives up the CPU and nothing else runs", ["proc": S.process]) }),
        repeatEvents,
        EventSyntax(name: "baseline", keys: [], beforeUserinit: true, bare: true,
                    compile: { c, _, _, _, loc in c.events.append(Event(kind: .baseline, location: loc, label: "baseline")) },
                    write: { e, _ in if case .baseline = e.kind { "baseline" } else { nil } },
                    schema: { ["description": "records the free pages now", "type": "null"] }),
        EventSyntax(name: "expect", keys: ["free_pages", "leaks", "panic", "mapped", "unmapped", "satp"],
                    compile: { c, s, arg, at, loc in c.expect(s, arg, at, loc) },
                    write: { e, name in
                        guard case .expect(let list) = e.kind else { return nil }
                        return "expect: {" + list.map { ScenarioWriter.expectation($0, name) }.joined(separator: ", ") + "}"
                    },
                    schema: { S.object("what must hold when the run reaches this point", [
                        "free_pages": ["anyOf": [S.number, ["const": "baseline"]]],
                        "leaks": S.number,
                        "panic": ["type": "string"],
                        "mapped": S.object("va mapped in the process's user table", ["proc": S.process, "va": S.number, "pa": S.number, "perm": ["type": "string"]], required: ["proc", "va"]),
                        "unmapped": S.object("va not mapped in the process's user table", ["proc": S.process, "va": S.number], required: ["proc", "va"]),
                        "satp": S.object("what a hart's satp points at", ["hart": S.number, "table": ["enum": ["kernel", "user"]], "proc": S.process]),
                    ]) }),
        EventSyntax(name: "fail_kalloc", keys: [], beforeUserinit: true, bare: true,
                    compile: { c, _, arg, _, loc in c.failKalloc(arg, loc) },
                    write: { e, _ in if case .failKalloc(let n) = e.kind { "fail_kalloc: \(n)" } else { nil } },
                    schema: { ["description": "the n-th kalloc from here (default the next) returns 0", "anyOf": [["type": "null"], S.number]] }),
    ]

    /// `- repeat: N` with `events:` beside it. A mapping whose first key is `repeat` is expanded
    /// before this table is consulted (Compiler+Macros.swift), and the writer writes repeats of
    /// its own; a bare `repeat` has no events to repeat, and makes none.
    static let repeatEvents = EventSyntax(name: "repeat", keys: ["repeat", "events"],
                                          compile: { _, _, _, _, _ in }, write: { _, _ in nil }, schema: nil)

    /// The table by name.
    static let named: [String: EventSyntax] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// copyin, copyinstr, copyout: a system call that copies `size` bytes across the user boundary.
    static func copy(_ name: String, size: String, _ description: String, make: @escaping @Sendable (_ va: UInt64, _ n: UInt64) -> Syscall,
                     _ match: @escaping @Sendable (Syscall) -> (va: UInt64, n: UInt64)?) -> EventSyntax {
        EventSyntax(name: name, keys: ["proc", "va", size],
                    compile: { c, s, arg, at, loc in c.copy(s, arg, at, loc, make) },
                    write: { e, pname in
                        guard case let .syscall(pid, call) = e.kind, let (va, n) = match(call) else { return nil }
                        return "\(name): {proc: \(pname(pid)), va: \(hexShort(va)), \(size): \(n)}"
                    },
                    schema: { S.object(description, ["proc": S.process, "va": S.number, size: S.number], required: ["proc", "va", size]) })
    }

    /// The most pages one `touch` may cover (4 GiB of user memory).
    static let touchPagesMax: UInt64 = 0x10_0000

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

    /// load, store, fetch: a user-mode access through the MMU.
    static func access(_ type: AccessType) -> EventSyntax {
        EventSyntax(name: type.rawValue, keys: ["proc", "va", "faults"],
                    compile: { c, s, arg, at, loc in c.access(s, arg, at, loc, type) },
                    write: { e, name in
                        guard case let .access(pid, va, t, faults) = e.kind, t == type else { return nil }
                        return "\(type.rawValue): {proc: \(name(pid)), va: \(hexShort(va)), faults: \(faults)}"
                    },
                    schema: { S.object("a user-mode access through the MMU", ["proc": S.process, "va": S.number, "faults": S.boolean], required: ["proc", "va"]) })
    }
}

private typealias S = ScenarioSchema
