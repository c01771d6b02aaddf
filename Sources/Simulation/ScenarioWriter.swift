import XV6
import RISCV

/// Writes compiled events back as a scenario: the compiler's inverse (a scenario written
/// from compiled events compiles to the same events). Shrink writes each candidate with
/// it, and import the scenario it makes of a log.
enum ScenarioWriter {
    /// A scenario's events as written: event lines, and repeats of them.
    indirect enum Item: Equatable {
        /// One event, as a line of YAML (`fork: {parent: p1, child: p2}`).
        case line(String)
        /// `repeat: count` of a body.
        case loop(Int, [Item])
    }

    /// A scenario with these events, the original's kernel and checks.
    static func yaml(_ items: [Item], _ s: CompiledScenario, header: [String], golden: GoldenKind = .trace,
                     description: String? = nil) -> String {
        var out = header.map { "# " + $0 }
        out.append("description: " + (description ?? "shrunk from \(s.file)"))
        var kernel = ["variant: \(s.config.variant)"]
        let preset = KernelSettings.preset(named: s.config.variant) ?? .xv6_2020
        for (mine, theirs) in zip(s.config.settings.listed, preset.listed) where mine.value != theirs.value {
            kernel.append("\(mine.key): \(mine.value)")
        }
        // The image and machine where they differ from the standard (lab2020's image, one hart).
        for key in MachineKey.allCases where key.value(in: s.config) != key.value(in: KernelConfig()) {
            kernel.append("\(key.rawValue): \(key.written(s.config))")
        }
        out.append("kernel: {\(kernel.joined(separator: ", "))}")
        if s.checkInvariants { out.append("check: true") }
        if golden == .digest { out.append("golden: digest") }
        out.append("events:")
        func write(_ items: [Item], _ pad: String) {
            for item in items {
                switch item {
                case .line(let l): out.append(pad + "- " + l)
                case let .loop(count, body):
                    out.append(pad + "- repeat: \(count)")
                    out.append(pad + "  events:")
                    write(body, pad + "    ")
                }
            }
        }
        write(items, "  ")
        return out.joined(separator: "\n") + "\n"
    }

    static func q(_ s: String) -> String { JSONValue.quote(s) }

    static func line(_ e: Event, _ name: (Int) -> String) -> String {
        switch e.kind {
        case .boot: return "userinit"
        case .userinit(let pid): return "userinit: \(name(pid))"
        case .baseline: return "baseline"
        case .failKalloc(let n): return "fail_kalloc: \(n)"
        case let .vmprint(pid, kernelTable): return "vmprint: {proc: \(name(pid)), table: \(kernelTable ? "kernel" : "user")}"
        case let .run(pid, hart): return "run: {proc: \(name(pid)), hart: \(hart)}"
        case let .yield(pid): return "yield: \(name(pid))"
        case let .sleep(pid): return "sleep: \(name(pid))"
        case let .access(pid, va, access, faults): return "\(access.rawValue): {proc: \(name(pid)), va: \(hexShort(va)), faults: \(faults)}"
        case .expect(let list): return "expect: {" + list.map { expectation($0, name) }.joined(separator: ", ") + "}"
        case let .syscall(pid, call):
            let p = name(pid)
            switch call {
            case .fork:
                if e.forkFails { return "fork: {parent: \(p), fails: true}" }
                return "fork: {parent: \(p)" + (e.child.map { ", child: \(name($0))" } ?? "") + "}"
            case let .exec(path, argv, program):
                if !program.exists { return "exec: {proc: \(p), path: \(q(path)), argv: [\(argv.map(q).joined(separator: ", "))], exists: false}" }
                let segs = program.segments.map { "{vaddr: \(hexShort($0.vaddr)), memsz: \(hexShort($0.memsz)), filesz: \(hexShort($0.filesz))}" }
                return "exec: {proc: \(p), path: \(q(path)), argv: [\(argv.map(q).joined(separator: ", "))], segments: [\(segs.joined(separator: ", "))], entry: \(hexShort(program.entry))}"
            case .sbrk(let n): return "sbrk: {proc: \(p), n: \(n)}"
            case .exit(let status): return "exit: {proc: \(p), status: \(status)}"
            case .wait: return "wait: \(p)"
            case let .copyin(va, len): return "copyin: {proc: \(p), va: \(hexShort(va)), len: \(len)}"
            case let .copyinstr(va, max): return "copyinstr: {proc: \(p), va: \(hexShort(va)), max: \(max)}"
            case let .copyout(va, len): return "copyout: {proc: \(p), va: \(hexShort(va)), len: \(len)}"
            case let .pipe(id): return "pipe: {proc: \(p), id: \(id)}"
            case let .close(id): return "close: {proc: \(p), pipe: \(id)}"
            }
        }
    }

    static func expectation(_ x: Expectation, _ name: (Int) -> String) -> String {
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
}
