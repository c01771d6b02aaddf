import Yams
import XV6
import RISCV
import Support

/// The events of a scenario, each checked against the process table as the kernel will
/// see it, and the processes they name resolved to pids.
extension ScenarioCompiler {
    /// The names of the events, from the table, in the order messages list them.
    static let eventNames = EventSyntax.all.map(\.name)

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
        guard let syntax = EventSyntax.named[name] else {
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

    /// `fail_kalloc: N` (bare: 1): the N-th kalloc from here returns 0.
    mutating func failKalloc(_ arg: Node?, _ loc: SourceLocation) {
        var n: UInt64 = 1
        if let arg, arg.scalar?.string != "" { n = integer(arg, 1...UInt64(Int32.max)) ?? 1 }
        events.append(Event(kind: .failKalloc(Int(n)), location: loc, label: n == 1 ? "fail_kalloc: the next kalloc fails" : "fail_kalloc: the \(n)th kalloc from here fails"))
    }

    mutating func userinit(_ s: EventSyntax, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
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

    mutating func fork(_ s: EventSyntax, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
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

    mutating func exec(_ s: EventSyntax, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        guard let m = arg?.mapping else {
            error(arg ?? at, "`exec` needs a mapping: `exec: {proc: init, path: /init, argv: [init], segments: [{vaddr: 0, memsz: 4096}]}`")
            return
        }
        var procNode: Node?
        var path: String?
        var argv: [String] = []
        var segments: [Segment]?
        var entry: UInt64 = 0
        var exists = true
        for (k, v) in m {
            switch key(k, allowed: s.keys) {
            case "proc": procNode = v
            case "path": path = string(v, what: "a path such as /init")
            case "argv":
                if let seq = v.sequence { argv = seq.compactMap { string($0, what: "an argument string") } } else { error(v, "expected a list of argument strings, e.g. [sh, -c]") }
            case "segments": segments = parseSegments(v)
            case "entry": entry = integer(v, 0...UInt64.max) ?? 0
            case "exists": exists = boolean(v) ?? true
            default: break
            }
        }
        guard let procNode else { error(arg ?? at, "`exec` needs `proc`: the name or pid of the process that calls exec"); return }
        guard let path else { error(arg ?? at, "`exec` needs `path`, e.g. /init"); return }
        if !exists && segments == nil { segments = [] }
        guard let segments else { error(arg ?? at, "`exec` needs `segments`: the program's loadable segments, e.g. [{vaddr: 0, memsz: 4096}]"); return }
        guard let pid = liveProcess(procNode, doing: "exec") else { return }
        let call = Syscall.exec(path: path, argv: argv, program: Program(segments: segments, entry: entry, exists: exists))
        events.append(Event(kind: .syscall(pid: pid, call), location: loc, label: "exec pid \(pid) \(quote(path)) [\(argv.map(quote).joined(separator: ", "))]"))
    }

    mutating func parseSegments(_ node: Node) -> [Segment]? {
        guard let seq = node.sequence else { error(node, "expected a list of segments, e.g. [{vaddr: 0, memsz: 4096}]"); return nil }
        var out: [Segment] = []
        for s in seq {
            guard let m = s.mapping else { error(s, "expected a segment: {vaddr: ..., memsz: ..., filesz: ...}"); continue }
            var vaddr: UInt64?, memsz: UInt64?, filesz: UInt64?
            for (k, v) in m {
                switch key(k, allowed: ["vaddr", "memsz", "filesz"]) {
                case "vaddr": vaddr = integer(v, 0...UInt64.max)
                case "memsz": memsz = integer(v, 0...UInt64.max)
                case "filesz": filesz = integer(v, 0...UInt64.max)
                default: break
                }
            }
            guard let vaddr, let memsz else { error(s, "a segment needs `vaddr` and `memsz`"); continue }
            out.append(Segment(vaddr: vaddr, memsz: memsz, filesz: filesz ?? memsz))
        }
        return out
    }

    mutating func sbrk(_ s: EventSyntax, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
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

    mutating func exit(_ s: EventSyntax, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
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

    mutating func wait(_ s: EventSyntax, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
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

    mutating func vmprint(_ s: EventSyntax, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
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

    mutating func run(_ s: EventSyntax, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
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

    /// copyin/copyinstr/copyout: a system call that makes the kernel copy across the user boundary.
    mutating func copy(_ s: EventSyntax, _ arg: Node?, _ at: Node, _ loc: SourceLocation, _ make: (UInt64, UInt64) -> Syscall) {
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

    /// load/store/fetch: a user-mode access through the MMU.
    mutating func access(_ s: EventSyntax, _ arg: Node?, _ at: Node, _ loc: SourceLocation, _ kind: AccessType) {
        let name = s.name
        guard let m = arg?.mapping else { error(arg ?? at, "`\(name)` needs a mapping: `\(name): {proc: sh, va: 0x1000}`"); return }
        var procNode: Node?, va: UInt64?
        var faults = false
        for (k, v) in m {
            switch key(k, allowed: s.keys) {
            case "proc": procNode = v
            case "va": va = integer(v, 0...UInt64.max)
            case "faults": faults = boolean(v) ?? false
            default: break
            }
        }
        guard let procNode, let va else { error(arg ?? at, "`\(name)` needs `proc` and `va`"); return }
        guard let pid = liveProcess(procNode, doing: name) else { return }
        // A fault kills the process: usertrap makes it exit(-1).
        if faults && pid != table.initPid { table.exit(pid, line: loc.line) }
        events.append(Event(kind: .access(pid: pid, va: va, kind, faults: faults), location: loc,
                            label: "\(name) pid \(pid) va \(hexShort(va))" + (faults ? " (faults)" : "")))
    }

    /// touch: {proc, va, access: load|store|exec, killed, pages}: the process's user code
    /// accesses va (and the same offset in each of `pages` pages) through the MMU;
    /// `killed: true` says a fault kills it.
    mutating func touch(_ s: EventSyntax, _ arg: Node?, _ at: Node, _ loc: SourceLocation) {
        guard let m = arg?.mapping else { error(arg ?? at, "`touch` needs a mapping: `touch: {proc: sh, va: 0x1000, access: store}`"); return }
        var procNode: Node?, va: UInt64?, access: AccessType?, accessNode: Node?
        var killed = false
        var pages: UInt64? = 1
        for (k, v) in m {
            switch key(k, allowed: s.keys) {
            case "proc": procNode = v
            case "va": va = integer(v, 0...UInt64.max)
            case "pages": pages = integer(v, 1...EventSyntax.touchPagesMax)
            case "access":
                accessNode = v
                guard let word = string(v, what: "load, store or exec") else { continue }
                access = EventSyntax.touchAccess(word)
                if access == nil { error(v, "unknown access '\(word)'; expected load, store or exec" + suggest(word, EventSyntax.touchWords)) }
            case "killed": killed = boolean(v) ?? false
            default: break
            }
        }
        guard let procNode, let va, accessNode != nil else { error(arg ?? at, "`touch` needs `proc`, `va` and `access`"); return }
        guard let access, let pages else { return }
        if va > UInt64.max - (pages - 1) * pageSize {
            error(arg ?? at, "`touch` of \(pages) pages from \(hexShort(va)) goes beyond the largest address"); return
        }
        guard let pid = liveProcess(procNode, doing: "touch") else { return }
        // The fault kills the process: usertrap makes it exit(-1).
        if killed && pid != table.initPid { table.exit(pid, line: loc.line) }
        let word = EventSyntax.touchWord(access)
        events.append(Event(kind: .touch(pid: pid, va: va, access, killed: killed, pages: Int(pages)), location: loc,
                            label: "touch pid \(pid) va \(hexShort(va)) \(word)" + (pages > 1 ? " \(pages) pages" : "")
                                + (killed ? " (killed)" : "")))
    }

    /// yield: the process gives up the CPU and gets it back with nothing run in between;
    /// sleep: it gives up the CPU and nothing else runs.
    mutating func yieldCPU(_ s: EventSyntax, _ arg: Node?, _ at: Node, _ loc: SourceLocation, _ make: (Int) -> EventKind) {
        guard let procNode = singleProcArgument(s, arg, at) else { return }
        guard let pid = liveProcess(procNode, doing: s.name) else { return }
        events.append(Event(kind: make(pid), location: loc, label: "\(s.name) pid \(pid)"))
    }

    /// pipe: {proc, id} takes a page for a new pipe; close: {proc, pipe} frees it (the last close).
    mutating func pipe(_ s: EventSyntax, _ arg: Node?, _ at: Node, _ loc: SourceLocation, opens: Bool) {
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

    /// The process of an event that takes only that: `NAME: init` or `NAME: {proc: init}`.
    mutating func singleProcArgument(_ s: EventSyntax, _ arg: Node?, _ at: Node) -> Node? {
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
