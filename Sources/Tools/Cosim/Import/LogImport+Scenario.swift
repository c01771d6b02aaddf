import XV6
import RISCV
import Support
import Scenario
import Run
import CosimLog

/// An imported log as a scenario: its events, and the YAML that import writes.
extension ImportedLog {
    /// The scenario's events, boot first, each located at the log line that shows it.
    public var events: [Event] {
        [Event(kind: .boot, location: nil, label: "boot")] + operations.compactMap { $0.event(file: log.file) }
    }

    /// Lines with every run of a block of up to 8 lines that repeats exactly written as a
    /// `repeat` (the block that covers the most lines wins; a single line must repeat 3 times).
    package static func folded(_ lines: [String]) -> [ScenarioWriter.Item] {
        var items: [ScenarioWriter.Item] = []
        var i = 0
        while i < lines.count {
            var best = (k: 1, r: 1)
            for k in 1...8 where i + 2 * k <= lines.count {
                var r = 1
                while i + (r + 1) * k <= lines.count && lines[(i + r * k)..<(i + (r + 1) * k)] == lines[i..<(i + k)] { r += 1 }
                if r >= (k == 1 ? 3 : 2) && k * r > best.k * best.r { best = (k, r) }
            }
            if best.r > 1 {
                items.append(.loop(best.r, lines[i..<(i + best.k)].map { .line($0) }))
                i += best.k * best.r
            } else {
                items.append(.line(lines[i]))
                i += 1
            }
        }
        return items
    }

    /// The scenario, ready to run.
    public var scenario: CompiledScenario { scenario(events) }

    func scenario(_ events: [Event]) -> CompiledScenario {
        CompiledScenario(file: log.file, config: config, events: events)
    }

    /// The scenario as YAML: one line per event, with `repeat` where lines repeat exactly.
    public func yaml(command: String) -> String {
        let events = self.events                 // made once: a long log has tens of thousands
        let items = Self.folded(events.dropFirst().map { ScenarioWriter.line($0, String.init) })
        let kinds = Dictionary(grouping: log.probes, by: \.kind).mapValues(\.count)
        let counts = ProbeKind.allCases.compactMap { k in kinds[k].map { "\($0) \(k.rawValue)" } }
        let header = [
            "imported from \(log.file) by `\(command)`",
            "\(log.probes.count) probe lines: " + counts.joined(separator: ", "),
            "variant \(config.variant)" + (variantGuessed ? " (guessed from the log's shape)" : " (given with --set)"),
        ] + (unexplained.isEmpty ? [] : ["\(unexplained.count) memory events no operation explains (first at line \(log.probes[unexplained[0]].line)); replay will show them"])
        return ScenarioWriter.yaml(items, scenario(events), header: header, description: "replays the process events of \(log.file)")
    }
}

extension LogOperation {
    /// The scenario event that makes this operation, located at the log line that shows it
    /// (nil for the boot, which every scenario begins with). Without `labelled`, its label is
    /// empty: replay, watched by no one, runs the event and shows its label nowhere.
    public func event(file: String, labelled: Bool = true) -> Event? {
        let op = self
        let loc = SourceLocation(file: file, line: op.line, column: 1)
        func make(_ kind: EventKind, _ label: @autoclosure () -> String) -> Event {
            Event(kind: kind, location: loc, label: labelled ? label() : "")
        }
        switch op.kind {
        case .boot: return nil
        case .userinit: return make(.userinit(pid: 1), "userinit -> pid 1")
        case .fork:
            var e = make(.syscall(pid: op.pid, .fork),
                         op.forkFailed ? "fork pid \(op.pid) -> -1" : "fork pid \(op.pid) -> pid \(op.child ?? -1)")
            if op.forkFailed && op.child != nil { e.forkFails = true } else { e.child = op.child }
            return e
        case .exec:
            let name = op.path.split(separator: "/").last.map(String.init) ?? op.path
            let argv = op.argc == 0 ? [] : [name] + (1..<max(op.argc, 1)).map { "arg\($0)" }
            let program = Program(segments: execSegments, entry: 0, exists: op.startedTable)
            return make(.syscall(pid: op.pid, .exec(path: op.path, argv: argv, program: program)),
                        "exec pid \(op.pid) \(quote(op.path))" + (op.failed ? " (fails)" : ""))
        case .growproc: return make(.syscall(pid: op.pid, .sbrk(Int32(truncatingIfNeeded: op.n))), "sbrk pid \(op.pid) \(op.n)")
        case .exit: return make(.syscall(pid: op.pid, .exit(Int32(truncatingIfNeeded: op.status))), "exit pid \(op.pid) status \(op.status)")
        case .wait: return make(.syscall(pid: op.pid, .wait), "wait pid \(op.pid)")
        case .pipe: return make(.syscall(pid: op.pid, .pipe(id: op.pipe)), "pipe pid \(op.pid) -> pipe \(op.pipe)")
        case .close: return make(.syscall(pid: op.pid, .close(pipe: op.pipe)), "close pid \(op.pid) pipe \(op.pipe)")
        case .run: return make(.run(pid: op.pid, hart: 0), "run pid \(op.pid) on hart 0")
        case .yield: return make(.yield(pid: op.pid), "yield pid \(op.pid)")
        case .sleep: return make(.sleep(pid: op.pid), "sleep pid \(op.pid)")
        case .fault:
            let access: AccessType = op.n == 15 ? .store : op.n == 12 ? .fetch : .load
            return make(.touch(pid: op.pid, va: op.va, access, killed: false, pages: 1), "touch pid \(op.pid) va \(hexShort(op.va))")
        case .copyout:
            return make(.syscall(pid: op.pid, .copyout(va: op.va, len: UInt64(max(op.n, 0)))), "copyout pid \(op.pid) va \(hexShort(op.va)) len \(op.n)")
        case .copyin:
            let n = UInt64(max(op.n, 0))
            return make(.syscall(pid: op.pid, op.path == "copyinstr" ? .copyinstr(va: op.va, max: n) : .copyin(va: op.va, len: n)),
                        "\(op.path) pid \(op.pid) va \(hexShort(op.va)) len \(op.n)")
        case .load, .store:
            return make(.access(pid: op.pid, va: op.va, op.kind == .load ? .load : .store, faults: false),
                        "\(op.kind.rawValue) pid \(op.pid) va \(hexShort(op.va))")
        }
    }

    /// An exec's program: one segment from 0 maps the same pages in the same order as the
    /// program's own (each uvmalloc starts where the last one ended).
    var execSegments: [Segment] {
        var segments: [Segment] = []
        let data = UInt64(max(userPages - (failed ? 0 : 2), 0)) * pageSize
        if failed && outOfMemory, let d = dealloc {
            // Memory ran out in the middle of a uvmalloc, which unmapped its d.pages pages
            // from d.va: a segment that ends one page further fails the same way.
            if d.va > 0 { segments.append(Segment(vaddr: 0, memsz: d.va, filesz: 0)) }
            segments.append(Segment(vaddr: d.va, memsz: UInt64(d.pages + 1) * pageSize, filesz: 0))
        } else if data > 0 {
            // Out of memory at the start of a uvmalloc (a segment's or the stack's): the
            // next one fails at its first page, as the kernel's did.
            segments.append(Segment(vaddr: 0, memsz: data, filesz: 0))
        }
        if failed && !outOfMemory {
            // A segment exec refuses (filesz > memsz): it fails after mapping what the kernel mapped.
            segments.append(Segment(vaddr: data, memsz: 0, filesz: 1))
        }
        return segments
    }
}
