import XV6
import RISCV
import Support
import Scenario

/// The leak report, in the shape LeakSanitizer and Valgrind made familiar: records
/// grouped by allocation site, the roots of what was lost ("definitely lost") before
/// what is lost only because a lost table pointed at it ("indirectly lost").
public struct LeakReport: Sendable {
    public struct Record: Sendable, Equatable {
        public var direct: Bool
        /// The allocating chain, outermost first.
        public var site: [String]
        public var pages: Int
        public var pids: [Int]
        /// The event of the earliest allocation.
        public var firstEvent: Int
    }

    public var scenario: CompiledScenario
    public var records: [Record]
    public var owners: [(OwnerKind, Int)]
    public var leaked: Int
    public var definitely: Int
    public var indirectly: Int
    /// The last event that ran, and why the run stopped there.
    public var atEvent: Int
    public var panic: KernelPanic?
    public var freePages: Int
    public var baseline: Int?
    public var processesCreated: Int
    public var freeAfter: [Int]
    /// Why the run may not show what a changed setting does: it never read it (nil: it read every one).
    public var unconsulted: String?

    /// Builds the report from a kernel after a run.
    public init(scenario: CompiledScenario, kernel k: Kernel, result r: RunResult) {
        self.scenario = scenario
        let o = k.ownership()
        owners = OwnerKind.allCases.compactMap { kind in o.pages[kind].map { (kind, $0) } }
        leaked = o.leaked
        definitely = o.definitelyLost.count
        indirectly = o.indirectlyLost.count
        atEvent = r.eventsRun - 1
        panic = r.panic
        freePages = k.freePages
        baseline = r.baseline
        processesCreated = r.processesCreated
        freeAfter = r.freeAfter
        unconsulted = Consultation.note(scenario, k)
        // Grouped by the site's number: the site tree gives each chain of functions one.
        var groups: [Int: Record] = [:]
        var order: [Int] = []
        for (direct, pages) in [(true, o.definitelyLost), (false, o.indirectlyLost)] {
            for pa in pages {
                guard let a = k.allocation(of: pa) else { continue }
                let key = Int(a.site) << 1 | (direct ? 0 : 1)
                if groups[key] == nil {
                    groups[key] = Record(direct: direct, site: k.sites.functions(a.site).map(\.name), pages: 0, pids: [], firstEvent: a.event)
                    order.append(key)
                }
                groups[key]!.pages += 1
                if !groups[key]!.pids.contains(a.pid) { groups[key]!.pids.append(a.pid) }
                groups[key]!.firstEvent = min(groups[key]!.firstEvent, a.event)
            }
        }
        records = order.map { groups[$0]! }.sorted {
            ($0.direct ? 0 : 1, -$0.pages, $0.site.joined(separator: ">")) < ($1.direct ? 0 : 1, -$1.pages, $1.site.joined(separator: ">"))
        }
        for i in records.indices { records[i].pids.sort() }
    }

    /// The report as text.
    public var text: String {
        var lines: [String] = []
        let total = scenario.events.count - 1
        let stop = panic.map { " (the kernel panicked: panic: \($0.message))" } ?? (atEvent < total ? " (stopped there, as asked)" : "")
        // Folded before the parenthesis that says why the report stops there, never inside it.
        lines += fold(units: ["==xv6vm== leak report for \(scenario.file), after event \(atEvent) of \(total)"]
                                    + (stop.isEmpty ? [] : [String(stop.dropFirst())]),
                                  indent: "", continuation: "==xv6vm==   ")
        lines.append("==xv6vm== \(processesCreated) processes created; \(freePages) pages free")
        lines.append("")
        lines.append("Allocated pages by owner:")
        let rows = owners.map { ($0.0.name, $0.1) } + [("leaked (no live owner)", leaked)]
        let w = rows.map(\.0.count).max() ?? 0
        for (name, n) in rows { lines.append("    " + name.rightPadded(w) + "  " + String(n).leftPadded(7)) }
        if let slope = slope { lines += ["", slope] }
        for r in records {
            lines.append("")
            lines.append("\(r.direct ? "Direct" : "Indirect") leak of \(r.pages) page\(r.pages == 1 ? "" : "s") in \(r.pages) allocation\(r.pages == 1 ? "" : "s") (\(r.direct ? "definitely lost" : "indirectly lost")) from:")
            for (i, f) in (["kalloc"] + r.site.reversed()).enumerated() { lines.append("    #\(i) \(f)") }
            let pids = r.pids.prefix(8).map(String.init).joined(separator: ", ") + (r.pids.count > 8 ? " and \(r.pids.count - 8) more" : "")
            lines += fold("by pid\(r.pids.count == 1 ? "" : "s") \(pids); first at \(where_(r.firstEvent))",
                                      indent: "  ", continuation: "    ")
        }
        lines.append("")
        var summary = leaked == 0 ? "SUMMARY: no leaks: every allocated page has a live owner"
            : "SUMMARY: \(leaked) page\(leaked == 1 ? "" : "s") leaked in \(records.count) record\(records.count == 1 ? "" : "s"): \(definitely) definitely lost, \(indirectly) indirectly lost"
        if let unconsulted {
            // The summary a student reads last must not hide that the setting never acted.
            summary += "; but " + unconsulted
            lines += fold(summary, indent: "", continuation: "         ")
        } else if let colon = summary.range(of: ": ", options: .backwards), leaked > 0 {
            // Folded at the colon before the counts, never inside them.
            lines += fold(units: [String(summary[..<colon.lowerBound]) + ":", String(summary[colon.upperBound...])],
                                      indent: "", continuation: "         ")
        } else {
            lines.append(summary)
        }
        if let b = baseline, freePages != b {
            if atEvent < scenario.events.count - 1 && panic == nil {
                // Stopped early (--at): processes may still hold what they allocated; the
                // comparison with the baseline (usertests' countfree) is for the end of the run.
                lines.append("free pages \(freePages) (\(b) at the baseline): the run is not over at event \(atEvent)")
                lines.append("of \(scenario.events.count - 1), and live processes may still hold the difference")
            } else if leaked == 0 {
                lines.append("FAILED -- lost some free pages \(freePages) (out of \(b))")
                lines.append("(\(b - freePages) pages are held by live owners, above; none leaked)")
            } else {
                lines.append("FAILED -- lost some free pages \(freePages) (out of \(b))")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Where an event came from: `file:line (round r/N)`.
    func where_(_ event: Int) -> String {
        guard event < scenario.events.count, let loc = scenario.events[event].location else { return "boot" }
        let label = scenario.events[event].label
        let round = label.range(of: " [round ").map { String(label[$0.lowerBound...].dropFirst(1)) } ?? ""
        return "\(scenario.file):\(loc.line):\(loc.column)" + (round.isEmpty ? "" : " " + round) + " (event \(event))"
    }

    /// Free pages lost per round of the outermost repeat, from the first round to the last that ran.
    var slope: String? {
        var ends: [(round: Int, free: Int)] = []
        for (i, e) in scenario.events.enumerated() where i < freeAfter.count {
            guard let r = e.label.range(of: " [round ") else { continue }
            let n = Int(e.label[r.upperBound...].prefix { $0.isNumber }) ?? 0
            if let last = ends.last, last.round == n { ends[ends.count - 1].free = freeAfter[i] } else { ends.append((n, freeAfter[i])) }
        }
        guard ends.count >= 2 else { return nil }
        let complete = panic == nil ? ends : Array(ends.dropLast())
        guard complete.count >= 2, let first = complete.first, let last = complete.last else { return nil }
        let per = Double(first.free - last.free) / Double(last.round - first.round)
        let deltas = zip(complete, complete.dropFirst()).map { $0.free - $1.free }
        let steady = Set(deltas).count == 1 ? " every round" : " on average"
        return "Free pages lost per round: \(formatted(per))\(steady) (rounds \(first.round) to \(last.round): \(first.free) -> \(last.free))"
    }

    func formatted(_ x: Double) -> String {
        x == x.rounded() ? String(Int(x)) : String(Double(Int(x * 10)) / 10)
    }

}
