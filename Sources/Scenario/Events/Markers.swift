import Yams
import XV6
import RISCV
import Support

/// baseline, fail_kalloc and repeat: events that mark the run rather than make the kernel
/// do anything (a repeat is expanded before the table is consulted).
extension EventSpec {
    static let baseline = EventSpec(
        name: "baseline", keys: [], beforeUserinit: true, bare: true,
        compile: { c, _, _, _, loc in c.events.append(Event(kind: .baseline, location: loc, label: "baseline")) },
        write: { e, _ in if case .baseline = e.kind { "baseline" } else { nil } },
        schema: { ["description": "records the free pages now", "type": "null"] },
        execute: { _, run in
            run.baseline = run.kernel.freePages
            run.output?.addBaseline(freePages: run.kernel.freePages)
            return nil
        },
        changesKernel: false)

    static let failKalloc = EventSpec(
        name: "fail_kalloc", keys: [], beforeUserinit: true, bare: true,
        compile: { c, _, arg, _, loc in c.failKalloc(arg, loc) },
        write: { e, _ in if case .failKalloc(let n) = e.kind { "fail_kalloc: \(n)" } else { nil } },
        schema: { ["description": "the n-th kalloc from here (default the next) returns 0", "anyOf": [["type": "null"], S.number]] },
        execute: { kind, run in
            if case .failKalloc(let n) = kind { run.kernel.failNextKalloc = run.kernel.kallocCalls + n }
            return nil
        },
        changesKernel: false,
        numbers: [NumberField(key: "fail_kalloc", get: { k in
            if case .failKalloc(let n) = k { (n < 0, UInt64(n.magnitude)) } else { nil }
        }, set: { k, m in
            guard case .failKalloc(let n) = k else { return k }
            return .failKalloc(n < 0 ? -Int(m) : Int(m))
        })])

    /// `- repeat: N` with `events:` beside it. A mapping whose first key is `repeat` is expanded
    /// before this table is consulted (Compiler+Macros.swift), and the writer writes repeats of
    /// its own; a bare `repeat` has no events to repeat, and makes none.
    static let repeatEvents = EventSpec(name: "repeat", keys: ["repeat", "events"],
                                        compile: { _, _, _, _, _ in }, write: { _, _ in nil }, schema: nil)
}

extension ScenarioCompiler {
    /// `fail_kalloc: N` (bare: 1): the N-th kalloc from here returns 0.
    mutating func failKalloc(_ arg: Node?, _ loc: SourceLocation) {
        var n: UInt64 = 1
        if let arg, arg.scalar?.string != "" { n = integer(arg, 1...UInt64(Int32.max)) ?? 1 }
        events.append(Event(kind: .failKalloc(Int(n)), location: loc, label: n == 1 ? "fail_kalloc: the next kalloc fails" : "fail_kalloc: the \(n)th kalloc from here fails"))
    }
}

private typealias S = ScenarioSchema
