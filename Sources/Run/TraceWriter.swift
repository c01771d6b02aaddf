import XV6
import RISCV
import Support
import Scenario

/// How a trace is written.
public enum TraceFormat: String, CaseIterable, Sendable {
    /// One event per line, as documented in docs/trace-format.md.
    case text
    /// The same stream as JSON Lines.
    case jsonl
    /// No trace at all (for timing).
    case none
}

/// The trace format's version, written in the first line.
public let traceFormatVersion = 2

/// Formats the kernel's trace events and the simulation's event headers as text or
/// JSON Lines, into a byte buffer that is handed to `output` whenever it grows
/// large (and at `finish`), or kept whole when `output` is nil.
public final class TraceWriter: TraceSink {
    public let format: TraceFormat
    package let sites: SiteTree
    private var buffer: [UInt8] = []
    private let output: (([UInt8]) -> Void)?
    private var event = 0
    /// The scenario's name as traces show it (set by `header`).
    private var scenarioName = "-"
    public private(set) var lineCount = 0
    /// Where each event's lines begin in `bytes`, event 0 first (the Runner begins every event,
    /// in order): the offset of its `event` line, in a text trace kept whole (no `output`).
    /// Tools find events by these, not by reading the text back.
    public private(set) var eventOffsets: [Int] = []
    /// Sees every kernel event with the index of the scenario event that caused it, whatever
    /// the format (replay compares these records with a kernel's log).
    public var tap: ((TraceEvent, Int) -> Void)?

    public init(format: TraceFormat, sites: SiteTree, output: (([UInt8]) -> Void)? = nil) {
        self.format = format
        self.sites = sites
        self.output = output
        buffer.reserveCapacity(1 << 16)
    }

    /// A writer that goes on from where this one is, with `sites` (a copy of this writer's,
    /// taken at the same moment), keeping everything written so far and what follows in its
    /// own buffer: a snapshot of a run that is being traced.
    public func snapshot(sites: SiteTree) -> TraceWriter {
        let w = TraceWriter(format: format, sites: sites)
        w.buffer = buffer
        w.event = event
        w.scenarioName = scenarioName
        w.lineCount = lineCount
        w.eventOffsets = eventOffsets
        w.siteBytes = siteBytes
        return w
    }

    /// Everything written so far (when there is no `output`).
    public var bytes: [UInt8] { buffer }

    /// Hands what is buffered to `output`.
    public func finish() {
        if let output, !buffer.isEmpty { output(buffer); buffer.removeAll(keepingCapacity: true) }
    }

    // MARK: header and event boundaries

    /// The first lines: format version, scenario, and the settings in force.
    public func header(_ s: CompiledScenario) {
        let settings: [(String, String)] = [
            ("variant", s.config.variant),
        ] + ([.harts] + MachineKey.allCases.filter(\.isAddress)).map { ($0.rawValue, $0.shown(s.config)) }
          + s.config.settings.listed.map { ($0.key, $0.value) } + [("check", s.checkInvariants ? "true" : "false")]
        scenarioName = s.file
        switch format {
        case .none: return
        case .text:
            line("xv6vm-trace \(traceFormatVersion)")
            line("scenario  \(s.file)")
            for (k, v) in settings { line("setting   \(k) \(v)") }
        case .jsonl:
            json(["kind": .s("header"), "format": .s("xv6vm-trace"), "version": .i(Int64(traceFormatVersion))])
            json(["kind": .s("scenario"), "file": .s(s.file)])
            for (k, v) in settings { json(["kind": .s("setting"), "name": .s(k), "value": .s(v)]) }
        }
    }

    /// Opens the lines caused by event `index`.
    public func begin(event index: Int, _ e: Event) {
        event = index
        switch format {
        case .none: return
        case .text:
            if output == nil { eventOffsets.append(buffer.count) }
            line("event \(index) \(e.location.map { "\(e.source ?? scenarioName):\($0.line):\($0.column)" } ?? "-") \(e.label)")
        case .jsonl:
            var o: [String: JSONValue] = ["kind": .s("event"), "event": .i(Int64(index)), "label": .s(e.label)]
            if let l = e.location { o["file"] = .s(e.source ?? scenarioName); o["line"] = .i(Int64(l.line)); o["column"] = .i(Int64(l.column)) }
            json(o)
        }
    }

    /// A line the simulation adds (a skipped event, the closing summary).
    public func note(_ kind: String, _ text: String, fields: [String: JSONValue] = [:]) {
        switch format {
        case .none: return
        case .text: line(pad(kind) + text)
        case .jsonl:
            var o = fields
            o["kind"] = .s(kind); o["event"] = .i(Int64(event)); o["text"] = .s(text)
            json(o)
        }
    }

    // MARK: kernel events

    public func record(_ e: TraceEvent) {
        if let tap { tap(e, event) }
        switch e {
        case .execCommitted, .execFailed: return          // marks for replay; traces show the syscall's return
        default: break
        }
        switch format {
        case .none: return
        case .text: if !fastText(e) { line(text(e)) }
        case .jsonl: json(object(e))
        }
    }

    // MARK: the frequent lines, formatted straight into the buffer

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
    private var siteBytes: [Int32: [UInt8]] = [:]

    /// Writes the lines that make up almost all of a long trace without building strings;
    /// false for the others. The bytes are exactly those `text` would produce.
    private func fastText(_ e: TraceEvent) -> Bool {
        switch e {
        case let .kalloc(pa, site, p):
            put("kalloc    "); hex(pa.rawValue); put(" pid "); pidBytes(p); space(); siteName(site)
        case let .kfree(pa, site, p):
            put("kfree     "); hex(pa.rawValue); put(" pid "); pidBytes(p); space(); siteName(site)
        case let .satp(hart, value, table, _):
            put("satp      hart "); decimal(hart); space(); hex(value.rawValue); space(); put(table.description)
        case let .sfence(hart):
            put("sfence    hart "); decimal(hart)
        case let .mappages(table, root, va, size, pa, perm):
            put("map       "); put(table.description); space(); hex(root.rawValue); put(" va "); hex(va.rawValue)
            put(" size 0x"); shortHex(size); put(" pa "); hex(pa.rawValue); space(); put(Self.permission(perm))
        default:
            return false
        }
        endLine()
        return true
    }

    @inline(__always) private func put(_ s: String) { buffer.append(contentsOf: s.utf8) }
    @inline(__always) private func space() { buffer.append(0x20) }

    /// `0x` and 16 lowercase hex digits, written in place (a sixth of a traced run's time
    /// went to appending them one by one).
    private func hex(_ v: UInt64) {
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0x30, count: 18))
        buffer[start + 1] = 0x78
        var x = v
        for i in stride(from: start + 17, to: start + 1, by: -1) {
            let d = UInt8(truncatingIfNeeded: x & 0xf)
            buffer[i] = d < 10 ? 0x30 &+ d : 0x57 &+ d
            x >>= 4
        }
    }

    private func shortHex(_ v: UInt64) {
        var shift: UInt64 = 60
        while shift > 0 && (v >> shift) & 0xf == 0 { shift -= 4 }
        while true {
            buffer.append(Self.hexDigits[Int((v >> shift) & 0xf)])
            if shift == 0 { break }
            shift -= 4
        }
    }

    private func decimal(_ n: Int) { buffer.append(contentsOf: String(n).utf8) }

    private func pidBytes(_ p: Int) { if p == 0 { buffer.append(0x2d) } else { decimal(p) } }

    private func siteName(_ site: Int32) {
        if let b = siteBytes[site] { buffer.append(contentsOf: b); return }
        let b = Array(sites.name(site).utf8)
        siteBytes[site] = b
        buffer.append(contentsOf: b)
    }

    private func endLine() {
        buffer.append(0x0a)
        lineCount += 1
        if let output, buffer.count >= 1 << 20 { output(buffer); buffer.removeAll(keepingCapacity: true) }
    }

    func pid(_ p: Int) -> String { p == 0 ? "-" : String(p) }

    func text(_ e: TraceEvent) -> String {
        switch e {
        case let .kinit(start, end, pages):
            return pad("kinit") + "free \(pages) pages [\(start), \(end))"
        case let .kalloc(pa, site, p):
            return pad("kalloc") + "\(pa) pid \(pid(p)) \(sites.name(site))"
        case let .kallocFailed(site, p):
            return pad("kalloc") + "out-of-memory pid \(pid(p)) \(sites.name(site))"
        case let .kfree(pa, site, p):
            return pad("kfree") + "\(pa) pid \(pid(p)) \(sites.name(site))"
        case let .mappages(table, root, va, size, pa, perm):
            return pad("map") + "\(table) \(root) va \(va) size \(hexShort(size)) pa \(pa) \(Self.permission(perm))"
        case let .uvmunmap(table, root, va, npages, free):
            return pad("unmap") + "\(table) \(root) va \(va) npages \(npages) \(free ? "free" : "keep")"
        case let .satp(hart, value, table, _):
            return pad("satp") + "hart \(hart) \(hex16(value.rawValue)) \(table)"
        case .execCommitted, .execFailed:
            return ""                                   // never written (see record)
        case let .freewalk(pt):
            return pad("freewalk") + pt.description
        case let .kvmFreeKernelPagetable(pt):
            return pad("kvmfree") + pt.description
        case let .sfence(hart):
            return pad("sfence") + "hart \(hart)"
        case let .trap(hart, p, cause):
            return pad("trap") + "hart \(hart) pid \(p) \(cause.rawValue)"
        case let .scheduled(hart, p):
            return pad("sched") + "hart \(hart) pid \(p)"
        case let .allocproc(p, slot):
            return pad("allocproc") + "pid \(p) slot \(slot)"
        case let .freeproc(p, slot):
            return pad("freeproc") + "pid \(p) slot \(slot)"
        case let .syscall(p, name, args):
            return pad("syscall") + "pid \(p) \(name)(\(args))"
        case let .sysret(p, name, value):
            return pad("return") + "pid \(p) \(name) = \(value)"
        case let .zombie(p, status):
            return pad("zombie") + "pid \(p) status \(status)"
        case let .reparent(p, to):
            return pad("reparent") + "pid \(p) to pid \(to)"
        case let .pagefault(p, scause, va):
            return pad("pagefault") + "pid \(p) scause 0x\(String(scause, radix: 16)) va \(va)"
        case let .refinc(pa, count, p):
            return pad("refinc") + "\(pa) count \(count) pid \(pid(p))"
        case let .refdec(pa, count, p):
            return pad("refdec") + "\(pa) count \(count) pid \(pid(p))"
        case let .access(p, va, access, pa):
            return pad(access.rawValue) + "pid \(p) va \(va) " + (pa.map { "pa \($0)" } ?? "page fault")
        case let .kload(hart, va, pa, hit):
            return pad("kload") + "hart \(hart) va \(va) pa \(pa) \(hit ? "tlb" : "walk")"
        case let .console(text):
            return text
        case let .finding(f):
            return pad("finding") + "\(f.kind.rawValue) \(hex16(f.pa)) \(f.detail)"
        case let .panic(p):
            return (p.preamble + ["panic: \(p.message)"]).joined(separator: "\n")
        }
    }

    func object(_ e: TraceEvent) -> [String: JSONValue] {
        var o: [String: JSONValue] = ["event": .i(Int64(event))]
        func h(_ v: UInt64) -> JSONValue { .s(hex16(v)) }
        func h(_ a: PhysAddr) -> JSONValue { h(a.rawValue) }
        func h(_ a: VirtAddr) -> JSONValue { h(a.rawValue) }
        switch e {
        case let .kinit(start, end, pages):
            o["kind"] = .s("kinit"); o["start"] = h(start); o["end"] = h(end); o["pages"] = .i(Int64(pages))
        case let .kalloc(pa, site, p):
            o["kind"] = .s("kalloc"); o["pa"] = h(pa); o["pid"] = .i(Int64(p)); o["site"] = .s(sites.name(site))
        case let .kallocFailed(site, p):
            o["kind"] = .s("kalloc"); o["pa"] = .null; o["pid"] = .i(Int64(p)); o["site"] = .s(sites.name(site))
        case let .kfree(pa, site, p):
            o["kind"] = .s("kfree"); o["pa"] = h(pa); o["pid"] = .i(Int64(p)); o["site"] = .s(sites.name(site))
        case let .mappages(table, root, va, size, pa, perm):
            o["kind"] = .s("map"); o["table"] = .s(table.description); o["root"] = h(root); o["va"] = h(va)
            o["size"] = h(size); o["pa"] = h(pa); o["perm"] = .s(perm.letters)
            if perm.contains(.cow) { o["cow"] = .b(true) }
        case let .uvmunmap(table, root, va, npages, free):
            o["kind"] = .s("unmap"); o["table"] = .s(table.description); o["root"] = h(root); o["va"] = h(va)
            o["npages"] = .i(Int64(bitPattern: npages)); o["free"] = .b(free)
        case let .satp(hart, value, table, by):
            o["kind"] = .s("satp"); o["hart"] = .i(Int64(hart)); o["value"] = h(value.rawValue); o["table"] = .s(table.description)
            o["by"] = .s(by.rawValue)
        case .execCommitted, .execFailed:
            break                                       // never written (see record)
        case let .freewalk(pt):
            o["kind"] = .s("freewalk"); o["pt"] = h(pt)
        case let .kvmFreeKernelPagetable(pt):
            o["kind"] = .s("kvmfree"); o["pt"] = h(pt)
        case let .sfence(hart):
            o["kind"] = .s("sfence"); o["hart"] = .i(Int64(hart))
        case let .trap(hart, p, cause):
            o["kind"] = .s("trap"); o["hart"] = .i(Int64(hart)); o["pid"] = .i(Int64(p)); o["cause"] = .s(cause.rawValue)
        case let .scheduled(hart, p):
            o["kind"] = .s("sched"); o["hart"] = .i(Int64(hart)); o["pid"] = .i(Int64(p))
        case let .allocproc(p, slot):
            o["kind"] = .s("allocproc"); o["pid"] = .i(Int64(p)); o["slot"] = .i(Int64(slot))
        case let .freeproc(p, slot):
            o["kind"] = .s("freeproc"); o["pid"] = .i(Int64(p)); o["slot"] = .i(Int64(slot))
        case let .syscall(p, name, args):
            o["kind"] = .s("syscall"); o["pid"] = .i(Int64(p)); o["name"] = .s(name); o["args"] = .s(args)
        case let .sysret(p, name, value):
            o["kind"] = .s("return"); o["pid"] = .i(Int64(p)); o["name"] = .s(name); o["value"] = .i(value)
        case let .zombie(p, status):
            o["kind"] = .s("zombie"); o["pid"] = .i(Int64(p)); o["status"] = .i(Int64(status))
        case let .reparent(p, to):
            o["kind"] = .s("reparent"); o["pid"] = .i(Int64(p)); o["to"] = .i(Int64(to))
        case let .pagefault(p, scause, va):
            o["kind"] = .s("pagefault"); o["pid"] = .i(Int64(p)); o["scause"] = .i(Int64(scause)); o["va"] = h(va)
        case let .refinc(pa, count, p):
            o["kind"] = .s("refinc"); o["pa"] = h(pa); o["count"] = .i(Int64(count)); o["pid"] = .i(Int64(p))
        case let .refdec(pa, count, p):
            o["kind"] = .s("refdec"); o["pa"] = h(pa); o["count"] = .i(Int64(count)); o["pid"] = .i(Int64(p))
        case let .access(p, va, access, pa):
            o["kind"] = .s(access.rawValue); o["pid"] = .i(Int64(p)); o["va"] = h(va); o["pa"] = pa.map(h) ?? .null
        case let .kload(hart, va, pa, hit):
            o["kind"] = .s("kload"); o["hart"] = .i(Int64(hart)); o["va"] = h(va); o["pa"] = h(pa); o["tlb"] = .b(hit)
        case let .console(text):
            o["kind"] = .s("console"); o["text"] = .s(text)
        case let .finding(f):
            o["kind"] = .s("finding"); o["finding"] = .s(f.kind.rawValue); o["pa"] = h(f.pa); o["detail"] = .s(f.detail)
        case let .panic(p):
            o["kind"] = .s("panic"); o["message"] = .s(p.message); o["preamble"] = .a(p.preamble.map { .s($0) })
        }
        return o
    }

    /// A PTE's permission as traces show it: the seven letters `rwxugad`, then ` cow`
    /// when the COW bit (cow-lab's PTE_COW, bit 8) is set.
    static func permission(_ perm: PTE.Flags) -> String {
        perm.contains(.cow) ? perm.letters + " cow" : perm.letters
    }

    // MARK: output

    private func pad(_ kind: String) -> String {
        kind.rightPadded(10, gap: 1)
    }

    private func line(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        buffer.append(0x0a)
        lineCount += 1
        if let output, buffer.count >= 1 << 20 { output(buffer); buffer.removeAll(keepingCapacity: true) }
    }

    private func json(_ o: [String: JSONValue]) { line(JSONValue.o(o).encoded) }
}

