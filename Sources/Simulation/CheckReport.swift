import Foundation

/// What `xv6vm check` prints.
public enum CheckReport {
    /// One line per scenario (with the first departure under a changed one), stale goldens, and a summary line.
    public static func text(_ results: [GoldenResult], stale: [String], store: GoldenStore) -> String {
        var lines: [String] = []
        for r in results {
            let name = store.relative(r.scenario)
            lines.append(column(r.outcome.word) + name)
            switch r.outcome {
            case .ok: break
            case .missingGolden:
                lines.append(store.contains(r.scenario)
                    ? "    no \(r.golden); record it with: xv6vm bless \(r.scenario)"
                    : "    no \(r.golden); bless records goldens only for scenarios under \(store.scenariosDir)/")
            case .unreadableGolden(let reason):
                lines.append("    cannot read \(r.golden): \(reason)")
            case .scenarioError(let e):
                lines += e.diagnostics.flatMap { $0.rendered.split(separator: "\n").map { "    " + $0 } }
                if let more = e.omittedLine { lines.append("    " + more) }
            case .changed(let d):
                let at = d.event.map { " (event \($0)" + (d.eventLocation.map { ", \($0)" } ?? "") + ")" } ?? ""
                lines.append("    first departure from \(r.golden) at line \(d.line)\(at):")
                lines += d.before.map { "        \($0)" }
                lines.append("      - " + (d.expected ?? "(end of golden)"))
                lines += d.expectedAfter.map { "      - \($0)" }
                lines.append("      + " + (d.actual ?? "(end of trace)"))
                lines += d.actualAfter.map { "      + \($0)" }
                lines.append("    overall: \(d.summary)")
            }
        }
        for s in stale { lines.append(column("stale golden") + s + " (its scenario is gone; `xv6vm bless --prune` removes it)") }
        lines.append(summary(results, stale: stale.count))
        return lines.joined(separator: "\n")
    }

    /// `5 scenarios: 3 ok, 1 changed, 1 missing golden, 0 scenario errors`
    public static func summary(_ results: [GoldenResult], stale: Int) -> String {
        func n(_ w: String) -> Int { results.filter { $0.outcome.word == w }.count }
        var s = "\(results.count) scenario\(results.count == 1 ? "" : "s"): \(n("ok")) ok, \(n("changed")) changed, \(n("missing golden")) missing golden, \(n("scenario error")) scenario error\(n("scenario error") == 1 ? "" : "s")"
        let unreadable = n("unreadable golden")
        if unreadable > 0 { s += ", \(unreadable) unreadable golden\(unreadable == 1 ? "" : "s")" }
        if stale > 0 { s += ", \(stale) stale golden\(stale == 1 ? "" : "s")" }
        return s
    }

    /// The same as JSON: `{"results": [...], "stale": [...], "summary": {...}}`.
    public static func json(_ results: [GoldenResult], stale: [String], store: GoldenStore) -> String {
        let items: [JSONValue] = results.map { r in
            var o: [String: JSONValue] = ["scenario": .s(r.scenario), "golden": .s(r.golden), "outcome": .s(r.outcome.word)]
            switch r.outcome {
            case .changed(let d):
                o["line"] = .i(Int64(d.line))
                o["expected"] = d.expected.map { .s($0) } ?? .null
                o["actual"] = d.actual.map { .s($0) } ?? .null
                o["event"] = d.event.map { .i(Int64($0)) } ?? .null
                o["event_location"] = d.eventLocation.map { .s($0) } ?? .null
                o["summary"] = .s(d.summary)
            case .scenarioError(let e):
                o["errors"] = .a(e.diagnostics.map { d in
                    .o(["file": .s(d.location.file), "line": .i(Int64(d.location.line)), "column": .i(Int64(d.location.column)), "message": .s(d.message)])
                })
                o["errors_not_shown"] = .i(Int64(e.omitted))
            case .unreadableGolden(let reason):
                o["reason"] = .s(reason)
            default: break
            }
            return .o(o)
        }
        func n(_ w: String) -> JSONValue { .i(Int64(results.filter { $0.outcome.word == w }.count)) }
        let summary: JSONValue = .o(["scenarios": .i(Int64(results.count)), "ok": n("ok"), "changed": n("changed"),
                                     "missing_golden": n("missing golden"),
                                     "unreadable_goldens": n("unreadable golden"), "scenario_errors": n("scenario error"), "stale": .i(Int64(stale.count))])
        return JSONValue.o(["results": .a(items), "stale": .a(stale.map { .s($0) }), "summary": summary]).encoded
    }

    static func column(_ s: String) -> String { s.count >= 16 ? s + " " : s + String(repeating: " ", count: 16 - s.count) }
}
