import XV6
import RISCV
import Support
import Scenario
import Run
import CosimLog

extension ReplayReport {
    /// The report as a student reads it: a summary line, and where the two part.
    public func text(leaks: Bool = false) -> String {
        var out: [String] = []
        let total = agreed.reduce(0) { $0 + $1.1 }
        let view = blind ? ", address-blind (physical pages matched by first use)" : ""
        if let d = departure {
            out.append(contentsOf: folded("replay of \(file) on the \(variant) model (\(operations) operations)\(view): they part", indent: 0, hang: 2))
            if let at = blindPartsAt {
                // The exact comparison parts first: how much of it is only where pages went.
                out.append(contentsOf: folded("address-blind (pages matched by first use), "
                    + (at == 0 ? "the memory and satp streams agree: they part only by where pages went (--blind-addresses)"
                               : "they agree up to log line \(at) (--blind-addresses)"), indent: 0, hang: 2))
            }
            if !readWhole {
                out.append(contentsOf: folded("the log was read to line \(readToLine), far enough past the departure: the rest cannot change it", indent: 0, hang: 2))
            }
            out.append("")
            out.append(contentsOf: d.lines)
            for later in departures.dropFirst() {
                out.append("")
                out.append(contentsOf: later.lines)
            }
        } else {
            out.append(contentsOf: folded("replay of \(file) on the \(variant) model (\(operations) operations)\(view): they agree", indent: 0, hang: 2))
        }
        switch (kernelPanic, panic) {
        case let (k?, m?) where k.message == m: out.append("both panic: \(m) (the kernel at log line \(k.line))")
        case let (k?, _): out.append("the kernel panics at log line \(k.line): \(k.message)")
        case let (nil, m?): out.append("the model panics: \(m)")
        default: break
        }
        out.append("")
        out.append("events compared" + (departure == nil ? "" : departures.count > 1 ? " (and agreeing, outside the departures' operations)"
                                                                    : " (and agreeing, up to the departure)") + ":")
        out.append(contentsOf: table(agreed.map { ($0.0.rawValue, $0.1) }, total: total))
        if !pipes.isEmpty {
            out.append("")
            out.append(contentsOf: folded(pipesSentence, indent: 0))
        }
        if leaks { out.append(""); out.append(contentsOf: heldLines) }
        let summary = summaryLine(total: total)
        if let d = departure, variantGuessed, d.operation?.kind == .boot || d.operation?.kind == .userinit {
            let others = KernelSettings.presets.map(\.name).filter { $0 != variant }
            out.append("")
            out.append(contentsOf: folded("hint: the kernel differs from the model from its first steps, and the variant (\(variant)) was guessed from the log's shape: is it another? Try " + others.map { "--set variant=\($0)" }.joined(separator: " or ") + ".", indent: 0))
        }
        out.append("")
        out.append(contentsOf: folded(summary, indent: 0))
        return out.joined(separator: "\n") + "\n"
    }

    // The two sentences below are built in parts: as single expressions they took 1.3 s of the
    // release build to type-check.

    /// The pages taken for pipes: how many, at which lines, and whether each was freed.
    var pipesSentence: String {
        let n = pipes.count
        let s: String = n == 1 ? "" : "s"
        let were: String = n == 1 ? "was" : "were"
        let lines: String = pipes.prefix(5).map { String($0.line) }.joined(separator: ", ")
        var sentence: String = "\(n) kalloc\(s) no other operation explains \(were) taken for pipes (log line\(s) " + lines
        sentence += (n > 5 ? " ..." : "") + "); "
        let open = pipes.filter { $0.freedAt == nil }
        if open.isEmpty {
            sentence += "every one was freed"
        } else {
            let os: String = open.count == 1 ? "" : "s"
            let openLines: String = open.prefix(5).map { String($0.line) }.joined(separator: ", ")
            sentence += "\(open.count) never freed: an open pipe, or a page your kernel keeps (line\(os) " + openLines + ")"
        }
        return sentence + "."
    }

    /// The last line: where the two part (and the later departures' lines), or that they agree.
    func summaryLine(total: Int) -> String {
        var more = ""
        if departures.count > 1 {
            let lines: String = departures.dropFirst().map { $0.log.map { String($0.line) } ?? "end" }.joined(separator: ", ")
            more = " (and \(departures.count - 1) more, at line\(departures.count > 2 ? "s" : "") " + lines + ")"
        }
        if let d = departure {
            let line: String = d.log.map { String($0.line) } ?? "end"
            return "DEPARTS at \(file):\(line)\(more): \(d.verdict)"
        }
        return kernelPanic != nil ? "AGREE: \(total) events, every one the same, and the same panic" : "AGREE: \(total) events, every one the same"
    }

    /// Rows of `name  count`, aligned, with a total.
    func table(_ rows: [(String, Int)], total: Int) -> [String] {
        let width = max(rows.map(\.0.count).max() ?? 0, 5)
        return rows.map { "  " + $0.0.rightPadded(width + 2) + String($0.1).leftPadded(9) }
            + ["  " + "total".rightPadded(width + 2) + String(total).leftPadded(9)]
    }

    /// The leak view: what the kernel still held, by the model's allocation site.
    var heldLines: [String] {
        let n = held.reduce(0) { $0 + $1.pages }
        var out = ["pages the kernel holds at log line \(heldAtLine), by the model's allocation site:"]
        if held.isEmpty { out.append("  (none)") }
        for h in held {
            let freed = h.modelFreed > 0 ? "  (the model freed \(h.modelFreed))" : ""
            out.append("  " + String(h.pages).leftPadded(6) + "  " + h.site + freed)
        }
        out.append("  " + String(n).leftPadded(6) + "  in all")
        return out
    }
}

extension Departure {
    /// Where the two part, with context from each side.
    package var lines: [String] {
        var out: [String] = []
        if stream == "panic" { return ["every event agrees, but " + verdict] }
        out.append(contentsOf: folded((ordinal == 1 ? "first departure" : "departure \(ordinal), after the operation of the one before")
                                      + ", in the \(stream) events (number \(position + 1) of that stream):", indent: 0, hang: 2))
        if let l = log {
            out.append("  the kernel, log line \(l.line):")
            out.append(contentsOf: folded(l.rendered, indent: 6))
        } else {
            out.append("  the kernel: the log has no more \(stream) events")
        }
        if let m = model {
            out.append(contentsOf: folded("the model, scenario event \(m.event)" + (modelSite.isEmpty ? ":" : " (site \(modelSite)):"),
                                          indent: 2, hang: 6))
            out.append(contentsOf: folded(m.probe.rendered, indent: 6))
        } else {
            out.append("  the model: it makes no more \(stream) events")
        }
        if let op = operation {
            out.append("  under way: \(op.summary), from log line \(op.line)")
        }
        if !logCounts.isEmpty || !modelCounts.isEmpty {
            out.append(contentsOf: folded("in that operation, the kernel: " + counts(logCounts), indent: 2, hang: 30))
            out.append(contentsOf: folded(String(repeating: " ", count: 20) + "the model: " + counts(modelCounts), indent: 2, hang: 30))
            if !modelSites.isEmpty {
                out.append("  the model's \((model?.probe.kind ?? log?.kind)?.rawValue ?? "") in that operation, by site:")
                for (site, n) in modelSites.prefix(4) { out.append(contentsOf: folded(String(n).leftPadded(6) + "  " + site, indent: 2)) }
            }
        }
        out.append(contentsOf: folded(verdict, indent: 2))
        out.append("")
        out.append("  the kernel's log around it:")
        for p in logContext {
            out.append(contentsOf: folded(String(p.line).leftPadded(8) + (p == log ? " > " : "   ") + p.rendered, indent: 2, hang: 13))
        }
        out.append("  the model around it (scenario event, record):")
        for m in modelContext {
            let mark = model.map { $0.probe == m.probe && $0.event == m.event } == true ? " > " : "   "
            out.append(contentsOf: folded(String(m.event).leftPadded(8) + mark + m.probe.rendered, indent: 2, hang: 13))
        }
        if let tables { out.append(""); out.append(contentsOf: tables.lines) }
        return out
    }

    /// `text` broken at spaces into lines of at most 80 columns, the first indented by
    /// `indent`, the others by `indent + hang`.

    func counts(_ c: [(ProbeKind, Int)]) -> String {
        c.isEmpty ? "nothing" : c.map { "\($0.1) \($0.0.rawValue)" }.joined(separator: ", ")
    }
}

extension ReplayReport {
    /// The report as one JSON object.
    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "file": .s(file), "variant": .s(variant), "operations": .i(Int64(operations)),
            "agree": .b(agrees),
            "read_whole": .b(readWhole), "read_to_line": .i(Int64(readToLine)),
            "compared": .o(Dictionary(uniqueKeysWithValues: agreed.map { ($0.0.rawValue, JSONValue.i(Int64($0.1))) })),
            "held": .a(held.map { .o(["site": .s($0.site), "pages": .i(Int64($0.pages)), "model_freed": .i(Int64($0.modelFreed))]) }),
            "held_at_line": .i(Int64(heldAtLine)),
            "pipes": .a(pipes.map { .o(["line": .i(Int64($0.line)), "freed_at": $0.freedAt.map { .i(Int64($0)) } ?? .null]) }),
        ]
        if let panic { o["panic"] = .s(panic) }
        if let k = kernelPanic { o["kernel_panic"] = .o(["line": .i(Int64(k.line)), "message": .s(k.message)]) }
        if let d = departure { o["departure"] = d.json }
        if departures.count > 1 { o["departures"] = .a(departures.map(\.json)) }
        return .o(o)
    }
}

extension Departure {
    /// The departure as one JSON object.
    var json: JSONValue {
        let d = self
        func probe(_ p: Probe) -> JSONValue { .o(["line": .i(Int64(p.line)), "text": .s(p.rendered)]) }
        func model(_ m: ModelProbe) -> JSONValue { .o(["event": .i(Int64(m.event)), "text": .s(m.probe.rendered)]) }
        var j: [String: JSONValue] = [
            "stream": .s(d.stream), "position": .i(Int64(d.position)), "verdict": .s(d.verdict),
            "kernel_context": .a(d.logContext.map(probe)), "model_context": .a(d.modelContext.map(model)),
            "kernel_counts": .o(Dictionary(uniqueKeysWithValues: d.logCounts.map { ($0.0.rawValue, JSONValue.i(Int64($0.1))) })),
            "model_counts": .o(Dictionary(uniqueKeysWithValues: d.modelCounts.map { ($0.0.rawValue, JSONValue.i(Int64($0.1))) })),
            "model_sites": .a(d.modelSites.map { .o(["site": .s($0.0), "count": .i(Int64($0.1))]) }),
        ]
        j["kernel"] = d.log.map(probe) ?? .null
        j["model"] = d.model.map(model) ?? .null
        if !d.modelSite.isEmpty { j["model_site"] = .s(d.modelSite) }
        if let t = d.tables { j["tables"] = t.json }
        if let op = d.operation { j["operation"] = .o(["summary": .s(op.summary), "line": .i(Int64(op.line))]) }
        return .o(j)
    }
}
