import XV6
import Support
import Scenario
import Run

/// The report as one HTML page that needs nothing else: its data as JSON, its styles and
/// script inside (ReportPage+Script.swift, ReportPage+Style.swift). The script rebuilds a
/// table at the selected event from each event's changes.
extension RunReport {
    /// The whole page.
    public var html: String { String(decoding: htmlBytes, as: UTF8.self) }

    /// The whole page as UTF-8, written into one buffer: the page of full-scale reparent2 is
    /// 20 MB, and a `String` made of its parts copied it three times over.
    public var htmlBytes: [UInt8] {
        let title = "xv6vm report: " + file + (isLog ? " (replayed on the model)" : "")
        let b = TraceBytes(capacity: 64 * 1024 + events.reduce(0) { $0 + 100 + 40 * $1.changes.count })
        b.put(text: """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(Self.escape(title))</title>
            <style>\(Self.style)</style></head>
            <body>
            <header><h1>\(Self.escape(title))</h1></header>
            <section id="summary"></section>
            <main>
            <section id="timeline"><h2>Events</h2>
            <div class="controls"><label>process <select id="pid-filter"><option value="">all</option></select></label>
            <label>kind <select id="kind-filter"><option value="">all</option></select></label>
            <span class="keys">← → event · j k finding</span></div>
            <div id="event-list"></div></section>
            <section id="detail"><h2 id="detail-title">Event</h2><div id="event-info"></div>
            <div id="memory"></div><div id="tables"></div></section>
            </main>
            <section id="findings"></section>
            <script type="application/json" id="data">
            """ as String)
        json(into: b)
        b.put(text: "</script>\n<script>" + Self.script + "</script>\n</body></html>\n")
        return b.array
    }

    /// The data the script reads.
    var json: String {
        let b = TraceBytes(capacity: 1 << 16)
        json(into: b)
        return b.string()
    }

    /// The data the script reads, written into `b`.
    func json(into b: TraceBytes) {
        var s = "{"
        s += "\"source\":\(Self.quote(file)),\"isLog\":\(isLog),\"variant\":\(Self.quote(variant)),"
        s += "\"settings\":[" + differingSettings.map { "[\(Self.quote($0.key)),\(Self.quote($0.value))]" }.joined(separator: ",") + "],"
        s += "\"cow\":\(copyOnWrite),\"totalPages\":\(totalPages),"
        s += "\"kallocs\":\(kallocs),\"kfrees\":\(kfrees),\"freeAtEnd\":\(freeAtEnd),"
        s += "\"eventCount\":\(eventCount),"
        s += "\"series\":[" + OwnerCounts.series.map { "[\(Self.quote($0.name)),\(Self.quote($0.colour))]" }.joined(separator: ",") + "],"
        b.put(text: s + "\"events\":[")
        Self.eventsJSON(events, into: b)
        s = "],"
        s += "\"procs\":[" + processes.map { p in
            "[\(p.event),[" + p.list.map { "[\($0.pid),\(Self.quote($0.name)),\"\(Self.hex($0.user))\",\"\(Self.hex($0.kernel))\"]" }.joined(separator: ",") + "]]"
        }.joined(separator: ",") + "],"
        s += "\"findings\":[" + findings.map { "[\($0.event),\(Self.quote($0.kind)),\(Self.quote($0.text))]" }.joined(separator: ",") + "],"
        s += "\"leaks\":[" + leaks.map { l in
            "[\(Self.quote(l.site)),[" + l.pages.map { "[\"\(Self.hex($0.pa))\",\($0.event)]" }.joined(separator: ",") + "]]"
        }.joined(separator: ",") + "],"
        s += "\"replay\":" + (replay.map(Self.replayJSON) ?? "null")
        b.put(text: s + "}")
    }

    /// Every event's JSON (`eventJSON`), one a line, written as bytes as the trace writer
    /// writes: the changes are most of the page (442,201 records for full-scale reparent2),
    /// and need no `String` per number.
    static func eventsJSON(_ events: [EventRow], into b: TraceBytes) {
        for (i, e) in events.enumerated() {
            if i > 0 { b.put(",\n") }
            eventJSON(e, into: b)
        }
    }

    /// `[label, location, pid, kallocs, kfrees, free, changes, kind, owners, processes]`; a change
    /// is `[page, index, old, new]` or, for a run, `[page, index, count, old, oldStep, new,
    /// newStep]` (see `value`); owners are `OwnerCounts.kinds`, processes its `processes` (both
    /// null where the owners were not counted).
    static func eventJSON(_ e: EventRow, into b: TraceBytes) {
        b.byte(UInt8(ascii: "[")); b.put(text: quote(e.label)); b.byte(UInt8(ascii: ",")); b.put(text: quote(e.location)); b.byte(UInt8(ascii: ","))
        if let p = e.pid { b.decimal(p) } else { b.put("null") }
        b.byte(UInt8(ascii: ",")); b.decimal(e.kallocs); b.byte(UInt8(ascii: ",")); b.decimal(e.kfrees)
        b.byte(UInt8(ascii: ",")); b.decimal(e.free); b.put(",[")
        for (i, c) in e.changes.enumerated() {
            if i > 0 { b.byte(UInt8(ascii: ",")) }
            b.byte(UInt8(ascii: "[")); b.decimal(c.page >> 12); b.byte(UInt8(ascii: ",")); b.decimal(c.index); b.byte(UInt8(ascii: ","))
            if c.count == 1 {
                value(c.old, into: b); b.byte(UInt8(ascii: ",")); value(c.new, into: b)
            } else {
                b.decimal(c.count); b.byte(UInt8(ascii: ",")); value(c.old, into: b); b.byte(UInt8(ascii: ","))
                step(c.oldStep, into: b); b.byte(UInt8(ascii: ",")); value(c.new, into: b); b.byte(UInt8(ascii: ","))
                step(c.newStep, into: b)
            }
            b.byte(UInt8(ascii: "]"))
        }
        b.put("],"); b.put(text: quote(e.kind)); b.byte(UInt8(ascii: ","))
        guard let o = e.owners else { b.put("null,null]"); return }
        numbers(o.kinds, into: b); b.byte(UInt8(ascii: ","))
        b.byte(UInt8(ascii: "["))
        for (i, p) in o.processes.enumerated() {
            if i > 0 { b.byte(UInt8(ascii: ",")) }
            numbers(p, into: b)
        }
        b.put("]]")
    }

    /// `[1,2,3]`.
    static func numbers(_ list: [Int], into b: TraceBytes) {
        b.byte(UInt8(ascii: "["))
        for (i, v) in list.enumerated() {
            if i > 0 { b.byte(UInt8(ascii: ",")) }
            b.decimal(v)
        }
        b.byte(UInt8(ascii: "]"))
    }

    /// `value` and `step`, written into `b`.
    static func value(_ v: UInt64, into b: TraceBytes) { if v < 1 << 53 { b.decimal(v) } else { b.put(text: value(v)) } }
    static func step(_ v: UInt64, into b: TraceBytes) {
        if Int64(bitPattern: v).magnitude < 1 << 53 { b.decimal(Int64(bitPattern: v)) } else { b.put(text: step(v)) }
    }

    /// The replay's outcome and departure, for the summary and the findings.
    static func replayJSON(_ r: ReplayView) -> String {
        var s = "{\"verdict\":\(quote(r.verdict)),\"agrees\":\(r.agrees),\"readToLine\":\(r.readToLine),\"readWhole\":\(r.readWhole),"
        s += "\"compared\":[" + r.compared.map { "[\(quote($0.kind)),\($0.count)]" }.joined(separator: ",") + "],"
        s += "\"departure\":"
        guard let d = r.departure else { return s + "null}" }
        func mark(_ m: DepartureView.Mark?) -> String { m.map { "[\($0.line),\(quote($0.reason))]" } ?? "null" }
        s += "{\"event\":\(d.event.map(String.init) ?? "null"),\"stream\":\(quote(d.stream)),\"verdict\":\(quote(d.verdict)),"
        s += "\"operation\":\(d.operation.map(quote) ?? "null"),"
        s += "\"kernel\":[" + d.kernel.map { "[\($0.line),\(quote($0.text)),\($0.here)]" }.joined(separator: ",") + "],"
        s += "\"model\":[" + d.model.map { "[\($0.event),\(quote($0.text)),\($0.here)]" }.joined(separator: ",") + "],"
        s += "\"kernelCounts\":\(quote(d.kernelCounts)),\"modelCounts\":\(quote(d.modelCounts)),"
        func table(_ t: DepartureView.Table) -> String {
            var o = "{\"name\":\(quote(t.name)),\"root\":\"\(hex(t.root))\",\"total\":\(t.total),"
            o += "\"whole\":\(t.whole),\"freed\":\(t.freed),\"rootMark\":\(mark(t.rootMark)),"
            let missing: [String] = t.missing.map { mark($0) }
            o += "\"missing\":[" + missing.joined(separator: ",") + "],"
            let rows: [String] = t.rows.map { (r: DepartureView.Row) -> String in
                "[\(r.depth),\(r.index),\"\(hex(r.pte))\",\"\(hex(r.va))\",\(mark(r.mark))]"
            }
            let kernelRows: [String] = t.kernelRows.map { (r: DepartureView.KernelRow) -> String in
                "[\(r.depth),\(r.index),\(r.pte.map { "\"\(hex($0))\"" } ?? "null"),\"\(hex(r.va))\",\(mark(r.mark)),\(r.gone)]"
            }
            o += "\"kernelRows\":[" + kernelRows.joined(separator: ",") + "],"
            return o + "\"rows\":[" + rows.joined(separator: ",") + "]}"
        }
        s += "\"tablesTitle\":\(quote(d.tablesTitle)),\"tables\":[" + d.tables.map(table).joined(separator: ",") + "]}"
        return s + "}"
    }

    static func hex(_ v: UInt64) -> String { String(v, radix: 16) }

    /// A PTE as the script reads it: a number when JavaScript holds it exactly (below 2^53),
    /// else its hex digits as a string.
    static func value(_ v: UInt64) -> String { v < 1 << 53 ? String(v) : "\"\(hex(v))\"" }
    /// A run's step, signed (two's complement), the same way.
    static func step(_ v: UInt64) -> String {
        let s = Int64(bitPattern: v)
        return s.magnitude < 1 << 53 ? String(s) : "\"\(hex(v))\""
    }

    /// A JSON string that cannot end the script element it sits in (`<` is escaped).
    static func quote(_ s: String) -> String {
        let q = JSONValue.quote(s)
        // Foundation's replacing, called for every label, was 6 % of a profile of the report
        // of full-scale reparent2; a label seldom holds a `<`.
        return q.utf8.contains(UInt8(ascii: "<")) ? q.replacingOccurrences(of: "<", with: "\\u003c") : q
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
