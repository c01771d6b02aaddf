import XV6
import RISCV

/// One record of a trace, typed: what `TraceWriter` renders as text (`TraceText`) or as JSON
/// Lines (`TraceJSON`), and what the tools read instead of reading the text back. A record is
/// one line, but for a panic (its preamble, then `panic: MSG`) and for an `execCommitted` or
/// `execFailed` mark, which replay reads and traces do not show.
public enum TraceRecord: Equatable, Sendable {
    /// `xv6vm-trace 2`: the format and its version, always first.
    case header(version: Int)
    /// The scenario's file name.
    case scenario(file: String)
    /// A kernel or machine setting in force.
    case setting(name: String, value: String)
    /// Opens the lines caused by scenario event `index` (`origin` nil: no source position).
    case event(index: Int, origin: EventOrigin?, label: String)
    /// What the kernel or the machine did.
    case kernel(TraceEvent)
    /// The free pages counted at a `baseline` event.
    case baseline(freePages: Int)
    /// An expectation that did not hold, in words.
    case expectFailed(String)
    /// Why an event could not run.
    case skip(String)
    /// With `check`: an invariant that does not hold after the event.
    case invariant(String)
    /// The run's summary, the last line.
    case end(TraceSummary)

    /// What the record is: the `kind` of its JSON object.
    public var kind: TraceKind {
        switch self {
        case .header: return .header
        case .scenario: return .scenario
        case .setting: return .setting
        case .event: return .event
        case .kernel(let e): return TraceKind(e)
        case .baseline: return .baseline
        case .expectFailed: return .expect
        case .skip: return .skip
        case .invariant: return .invariant
        case .end: return .end
        }
    }
}

/// Where a scenario event was written: its file (an included file's, or the scenario's) and position.
public struct EventOrigin: Equatable, Sendable {
    public var file: String
    public var line: Int
    public var column: Int
}

/// The numbers the last line of a trace sums up.
public struct TraceSummary: Equatable, Sendable {
    public var events: Int
    public var freePages: Int
    public var kallocs: Int
    public var kfrees: Int
    public var findings: Int
    /// With `check`: how many invariant violations (nil: invariants were not checked).
    public var invariantViolations: Int?
    /// The kernel's panic message, if it panicked.
    public var panic: String?
}

/// The kinds of record, named as their JSON objects' `kind` (and, but for `header`, `console`
/// and `panic`, as the first word of their text line).
public enum TraceKind: String, CaseIterable, Sendable {
    case header, scenario, setting, event
    case kinit, kalloc, kfree, map, unmap, freewalk, kvmfree, satp, sfence, trap, sched
    case allocproc, freeproc, syscall, `return`, zombie, reparent, load, store, fetch
    case pagefault, refinc, refdec, kload, console, finding, panic
    case baseline, expect, skip, invariant, end
    /// `execCommitted`, `execFailed`: marks for replay, never written.
    case mark

    init(_ e: TraceEvent) {
        switch e {
        case .kinit: self = .kinit
        case .kalloc, .kallocFailed: self = .kalloc
        case .kfree: self = .kfree
        case .mappages: self = .map
        case .freewalk: self = .freewalk
        case .kvmFreeKernelPagetable: self = .kvmfree
        case .execCommitted, .execFailed: self = .mark
        case .uvmunmap: self = .unmap
        case .satp: self = .satp
        case .sfence: self = .sfence
        case .trap: self = .trap
        case .scheduled: self = .sched
        case .allocproc: self = .allocproc
        case .freeproc: self = .freeproc
        case .syscall: self = .syscall
        case .sysret: self = .return
        case .zombie: self = .zombie
        case .reparent: self = .reparent
        case .pagefault: self = .pagefault
        case .refinc: self = .refinc
        case .refdec: self = .refdec
        case .access(_, _, let a, _): self = a == .load ? .load : a == .store ? .store : .fetch
        case .kload: self = .kload
        case .console: self = .console
        case .finding: self = .finding
        case .panic: self = .panic
        }
    }
}

/// A trace's text read back: the one reader of trace text, for what is only text (a golden
/// on disk, a pending trace). A run's own records are read as records.
public enum TraceLines {
    /// What kind of line this is: its first word (`xv6vm-trace` for the header), `vmprint`
    /// for a page-table printout, `blank` for an empty line. The kinds a digest counts and a
    /// diff's summary names.
    public static func kind<C: Collection>(_ line: C) -> String where C.Element == UInt8 {
        if line.starts(with: "..".utf8) || line.starts(with: "page table".utf8) { return "vmprint" }
        let word = line.prefix { $0 != UInt8(ascii: " ") }
        return word.isEmpty ? "blank" : String(decoding: word, as: UTF8.self)
    }

    /// The kinds of the text lines a record renders as (none for a mark; a panic's preamble
    /// and message are lines of their own): what `kind` reads from its text.
    public static func kinds(of r: TraceRecord, _ body: (String) -> Void) {
        switch r {
        case .header: body("xv6vm-trace")
        case .kernel(.console(let text)): body(kind(text.utf8))
        case .kernel(.panic(let p)):
            for l in p.preamble { body(kind(l.utf8)) }
            body("panic:")
        case let r where r.kind == .mark: return
        default: body(r.kind.rawValue)
        }
    }

    /// The `event N` lines of a trace: each one's 1-based line number and N, in order.
    public static func events(in trace: [UInt8]) -> [(line: Int, event: Int)] {
        var out: [(line: Int, event: Int)] = []
        var line = 1, start = 0
        let prefix = Array("event ".utf8)
        for (i, b) in trace.enumerated() where b == UInt8(ascii: "\n") || i == trace.count - 1 {
            let l = trace[start...min(i, trace.count - 1)]
            if l.starts(with: prefix) {
                let digits = l.dropFirst(prefix.count).prefix { $0 >= 48 && $0 <= 57 }
                if let n = Int(String(decoding: digits, as: UTF8.self)) { out.append((line, n)) }
            }
            line += 1
            start = i + 1
        }
        return out
    }

    /// The number of the last event opened at or before 1-based line `line`, given the
    /// trace's event lines (`events(in:)`, or the writer's own).
    public static func event(before line: Int, in events: [(line: Int, event: Int)]) -> Int? {
        var lo = 0, hi = events.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if events[mid].line <= line { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? nil : events[lo - 1].event
    }

    /// The `setting NAME VALUE` lines of a trace's header, in order.
    public static func settings(in trace: [UInt8]) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        for line in trace.split(separator: UInt8(ascii: "\n")) {
            if line.starts(with: "event ".utf8) { break }
            guard line.starts(with: "setting ".utf8) else { continue }
            let f = line.split(separator: UInt8(ascii: " "))
            if f.count == 3 { out.append((String(decoding: f[1], as: UTF8.self), String(decoding: f[2], as: UTF8.self))) }
        }
        return out
    }
}
