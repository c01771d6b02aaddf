import Foundation
import Support
import Scenario
import Run

/// What `xv6vm check` prints.
public enum CheckReport {
    /// One line per scenario; under a changed one, where it first departs, what differs per
    /// line kind, and its unified diff (the first hunks); stale goldens; a summary line.
    /// Everything but the trace's own lines is folded to 80 columns. `color` marks removed lines
    /// red, added green and hunk headers cyan (for a terminal).
    public static func text(_ results: [GoldenResult], stale: [String], store: GoldenStore, color: Bool = false) -> String {
        var lines: [String] = []
        for r in results {
            let name = store.relative(r.scenario)
            lines.append(r.outcome.word.rightPadded(16, gap: 1) + name)
            switch r.outcome {
            case .ok: break
            case .missingGolden:
                var say = "no \(r.golden);"
                if r.recorded {
                    say += " recorded it"
                } else if let p = r.pending {
                    say += " the run's output is in \(p); accept it with: xv6vm review --accept \(r.scenario)"
                } else if store.contains(r.scenario) {
                    say += " record it with: xv6vm check --record missing \(r.scenario)"
                } else {
                    say += " bless records goldens only for scenarios under \(store.scenariosDir)/"
                }
                lines += fold(say, indent: "    ")
            case .unreadableGolden(let reason):
                lines.append("    cannot read \(r.golden): \(reason)")
            case .scenarioError(let e):
                lines += e.diagnostics.flatMap { $0.rendered.split(separator: "\n").map { "    " + $0 } }
                if let more = e.omittedLine { lines.append("    " + more) }
            case .changed(let d):
                lines += changed(d, golden: r.golden, new: r.pending ?? "this run", color: color)
                if r.recorded { lines += fold("recorded \(r.golden)", indent: "    ") }
                else if let p = r.pending { lines += fold("review it with: xv6vm review \(p)", indent: "    ") }
            }
        }
        for s in stale { lines += fold("stale golden    " + s + " (its scenario is gone; `xv6vm bless --prune` removes it)", indent: "", continuation: "    ") }
        lines.append(summary(results, stale: stale.count))
        return lines.joined(separator: "\n")
    }

    /// The lines under a changed scenario: where it departs, the counts, the diff, what was left out.
    public static func changed(_ d: TraceDifference, golden: String, new: String, color: Bool = false) -> [String] {
        var lines: [String] = []
        let at = d.event.map { ", in event \($0)" + (d.eventLocation.map { " (\($0))" } ?? "") } ?? ""
        lines += fold("first departs at line \(d.line) of the golden\(at)", indent: "    ")
        let what = d.diff.removed + d.diff.added == 0 ? "" : " (-\(d.diff.removed) +\(d.diff.added))"
        let hunks = "\(d.diff.hunkCount) hunk\(d.diff.hunkCount == 1 ? "" : "s")\(what): "
        let items = d.items.isEmpty ? [d.summary] : d.items.enumerated().map { $0.element + ($0.offset < d.items.count - 1 ? "," : "") }
        let view = d.addressOnly == nil ? "" : "address-blind: "
        if d.addressOnly != nil && d.diff.hunkCount == 0 {
            lines += fold("address-blind: no difference but the addresses", indent: "    ")
        } else {
            lines += fold(units: [view + hunks.trimmingCharacters(in: .whitespaces)] + items, indent: "    ", continuation: "        ")
        }
        if let b = d.blindSummary {
            // The exact diff is all a golden keeps; say how much of it is only addresses moving.
            let only = d.diff.removed - b.removed
            lines += fold("address-blind, \(b.hunks) hunk\(b.hunks == 1 ? "" : "s") (-\(b.removed) +\(b.added)): the other \(only) line\(only == 1 ? "" : "s") "
                          + "of the golden differ only by addresses (--blind-addresses shows that view)", indent: "    ", continuation: "        ")
        }
        if golden.hasSuffix(".digest") {
            lines += fold("a digest keeps counts, not lines: `xv6vm check --save-trace DIR` writes the whole trace", indent: "    ")
        }
        if !d.diff.minimal {
            lines += fold("too many differences to compare them all line by line: the diff is correct but not minimal past its first differences", indent: "    ")
        }
        func paint(_ l: String) -> String {
            guard color else { return l }
            if l.hasPrefix("@@") { return "\u{1b}[36m" + l + "\u{1b}[0m" }
            if l.hasPrefix("---") || l.hasPrefix("+++") { return "\u{1b}[1m" + l + "\u{1b}[0m" }
            if l.hasPrefix("-") { return "\u{1b}[31m" + l + "\u{1b}[0m" }
            if l.hasPrefix("+") { return "\u{1b}[32m" + l + "\u{1b}[0m" }
            return l
        }
        lines += d.diff.unified(old: golden, new: new).map(paint)
        if d.diff.linesCut > 0 {
            lines += fold("(\(d.diff.linesCut) more lines of this hunk not shown)", indent: "    ")
        }
        let left = d.diff.hunkCount - d.diff.hunks.count
        if left > 0 {
            lines += fold("(\(left) more hunk\(left == 1 ? "" : "s") not shown; diff the golden with its .new file for all)", indent: "    ")
        }
        if let n = d.addressOnly, n > 0 {
            lines += fold("and \(n) line\(n == 1 ? "" : "s") of the golden that differ only by the addresses that follow "
                          + "(pages named by first use: page#1, page#2, ...; the golden keeps exact addresses)", indent: "    ")
        }
        return lines
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
                o["removed"] = .i(Int64(d.diff.removed))
                o["added"] = .i(Int64(d.diff.added))
                o["hunks"] = .i(Int64(d.diff.hunkCount))
                o["diff"] = .a(d.diff.unified().map { .s($0) })
            case .scenarioError(let e):
                o["errors"] = .a(e.diagnostics.map { d in
                    .o(["file": .s(d.location.file), "line": .i(Int64(d.location.line)), "column": .i(Int64(d.location.column)), "message": .s(d.message)])
                })
                o["errors_not_shown"] = .i(Int64(e.omitted))
            case .unreadableGolden(let reason):
                o["reason"] = .s(reason)
            default: break
            }
            if let p = r.pending { o["pending"] = .s(p) }
            if r.recorded { o["recorded"] = .b(true) }
            return .o(o)
        }
        func n(_ w: String) -> JSONValue { .i(Int64(results.filter { $0.outcome.word == w }.count)) }
        let summary: JSONValue = .o(["scenarios": .i(Int64(results.count)), "ok": n("ok"), "changed": n("changed"),
                                     "missing_golden": n("missing golden"),
                                     "unreadable_goldens": n("unreadable golden"), "scenario_errors": n("scenario error"), "stale": .i(Int64(stale.count))])
        return JSONValue.o(["results": .a(items), "stale": .a(stale.map { .s($0) }), "summary": summary]).encoded
    }

}
