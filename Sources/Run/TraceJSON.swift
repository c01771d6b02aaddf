import XV6
import RISCV
import Support

/// The JSON Lines renderer: each record as one object with sorted keys (docs/trace-format.md).
/// Kernel records and notes carry `event`, the number of the event that caused them.
package enum TraceJSON {
    /// Writes `r`, caused by event `event`; returns the number of lines written.
    static func write(_ r: TraceRecord, event: Int, sites: SiteTree, into out: TraceBytes) -> Int {
        guard let o = object(r, event: event, sites: sites) else { return 0 }
        out.put(text: JSONValue.o(o).encoded)
        out.newline()
        return 1
    }

    static func object(_ r: TraceRecord, event: Int, sites: SiteTree) -> [String: JSONValue]? {
        switch r {
        case let .header(version): return ["kind": .s("header"), "format": .s("xv6vm-trace"), "version": .i(Int64(version))]
        case let .scenario(file): return ["kind": .s("scenario"), "file": .s(file)]
        case let .setting(name, value): return ["kind": .s("setting"), "name": .s(name), "value": .s(value)]
        case let .event(index, origin, label):
            var o: [String: JSONValue] = ["kind": .s("event"), "event": .i(Int64(index)), "label": .s(label)]
            if let l = origin { o["file"] = .s(l.file); o["line"] = .i(Int64(l.line)); o["column"] = .i(Int64(l.column)) }
            return o
        case .kernel(let e):
            return kernel(e, event: event, sites: sites)
        case let .end(s):
            return note(r, event: event, ["free_pages": .i(Int64(s.freePages)), "kallocs": .i(Int64(s.kallocs)),
                                          "kfrees": .i(Int64(s.kfrees)), "findings": .i(Int64(s.findings))])
        case .baseline, .expectFailed, .skip, .invariant:
            return note(r, event: event, [:])
        }
    }

    /// A note's object: its kind, event, and its text line after the kind's word.
    private static func note(_ r: TraceRecord, event: Int, _ fields: [String: JSONValue]) -> [String: JSONValue] {
        let b = TraceBytes(capacity: 256)
        var t = TraceText(out: b, sites: SiteTree())
        _ = t.write(r)
        var o = fields
        o["kind"] = .s(r.kind.rawValue); o["event"] = .i(Int64(event))
        o["text"] = .s(b.string(from: 10, droppingLast: 1))
        return o
    }

    // One case per kind of line, as the table of docs/trace-format.md lists them.
    private static func kernel(_ e: TraceEvent, event: Int, sites: SiteTree) -> [String: JSONValue]? {
        var o: [String: JSONValue] = ["event": .i(Int64(event)), "kind": .s(TraceKind(e).rawValue)]
        func h(_ v: UInt64) -> JSONValue { .s(hex16(v)) }
        func h(_ a: PhysAddr) -> JSONValue { h(a.rawValue) }
        func h(_ a: VirtAddr) -> JSONValue { h(a.rawValue) }
        func i<I: BinaryInteger>(_ n: I) -> JSONValue { .i(Int64(n)) }
        switch e {
        case let .kinit(start, end, pages): o["start"] = h(start); o["end"] = h(end); o["pages"] = i(pages)
        case let .kalloc(pa, site, p), let .kfree(pa, site, p): o["pa"] = h(pa); o["pid"] = i(p); o["site"] = .s(sites.name(site))
        case let .kallocFailed(site, p): o["pa"] = .null; o["pid"] = i(p); o["site"] = .s(sites.name(site))
        case let .mappages(table, root, va, size, pa, perm):
            o["table"] = .s(table.description); o["root"] = h(root); o["va"] = h(va)
            o["size"] = h(size); o["pa"] = h(pa); o["perm"] = .s(perm.letters)
            if perm.contains(.cow) { o["cow"] = .b(true) }
        case let .uvmunmap(table, root, va, npages, free):
            o["table"] = .s(table.description); o["root"] = h(root); o["va"] = h(va)
            o["npages"] = .i(Int64(bitPattern: npages)); o["free"] = .b(free)
        case let .satp(hart, value, table, by):
            o["hart"] = i(hart); o["value"] = h(value.rawValue); o["table"] = .s(table.description); o["by"] = .s(by.rawValue)
        case .execCommitted, .execFailed: return nil
        case let .freewalk(pt), let .kvmFreeKernelPagetable(pt): o["pt"] = h(pt)
        case let .sfence(hart): o["hart"] = i(hart)
        case let .trap(hart, p, cause): o["hart"] = i(hart); o["pid"] = i(p); o["cause"] = .s(cause.rawValue)
        case let .scheduled(hart, p): o["hart"] = i(hart); o["pid"] = i(p)
        case let .allocproc(p, slot), let .freeproc(p, slot): o["pid"] = i(p); o["slot"] = i(slot)
        case let .syscall(p, call):
            o["pid"] = i(p); o["name"] = .s(call.name)
            let b = TraceBytes(capacity: 256)
            TraceText(out: b, sites: sites).arguments(call)
            o["args"] = .s(b.string())
        case let .sysret(p, name, value): o["pid"] = i(p); o["name"] = .s(name); o["value"] = .i(value)
        case let .zombie(p, status): o["pid"] = i(p); o["status"] = i(status)
        case let .reparent(p, to): o["pid"] = i(p); o["to"] = i(to)
        case let .pagefault(p, scause, va): o["pid"] = i(p); o["scause"] = .i(Int64(scause)); o["va"] = h(va)
        case let .refinc(pa, count, p), let .refdec(pa, count, p): o["pa"] = h(pa); o["count"] = i(count); o["pid"] = i(p)
        case let .access(p, va, _, pa): o["pid"] = i(p); o["va"] = h(va); o["pa"] = pa.map(h) ?? .null
        case let .kload(hart, va, pa, hit): o["hart"] = i(hart); o["va"] = h(va); o["pa"] = h(pa); o["tlb"] = .b(hit)
        case let .console(text): o["text"] = .s(text)
        case let .finding(f): o["finding"] = .s(f.kind.rawValue); o["pa"] = h(f.pa); o["detail"] = .s(f.detail)
        case let .panic(p):
            o["message"] = .s(p.message); o["preamble"] = .a(p.preamble.map { .s($0) })
        }
        return o
    }
}
