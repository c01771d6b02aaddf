import RISCV
import Support
import CosimLog

/// The report as text: LeakSanitizer's shape (records grouped by what was lost and how,
/// the largest first, then a summary line), within 80 columns.
extension LogLeakReport {
    /// How many instances of a record, and of each finding, are shown.
    static let shown = 8

    public var text: String {
        var lines: [String] = []
        let head = "==xv6vm== leaks in \(file), from the log alone (no model)"
        // A long log name puts the second half on a line of its own, within 80 columns.
        lines += head.count <= 80 ? [head] : ["==xv6vm== leaks in \(file),", "==xv6vm== from the log alone (no model)"]
        lines.append("==xv6vm== \(probes) probes to line \(lastLine); "
                     + "\(plural(processesCreated, "process", "processes")) created, \(processesFreed) freed")
        if let panic {
            lines += folded("==xv6vm== the kernel panicked at line \(panic.line) (panic: \(panic.message)): "
                            + "what it held then is judged as it stood", hang: 10)
        }
        for r in records { lines.append(""); lines += recordLines(r) }
        lines += findingLines
        lines += countLines
        lines.append("")
        lines += folded(summary, hang: 4)
        var held = ["\(heldByKernel) pages by the kernel"]
        for zombie in [false, true] {
            let whom = heldByPid.filter { $0.zombie == zombie }
            guard !whom.isEmpty else { continue }
            let pages = whom.reduce(0) { $0 + $1.pages }
            // Kept on one line each when folded: U+0001 stands for a space until then.
            let names = whom.prefix(4).map { "pid\u{1}\($0.pid):\u{1}\($0.pages)" }.joined(separator: ", ")
                + (whom.count > 4 ? " and \(whom.count - 4) more" : "")
            held.append("\(pages) by \(plural(whom.count, zombie ? "zombie" : "live process", zombie ? "zombies" : "live processes"))"
                        + "\(zombie ? " not yet reaped" : "") (\(names))")
        }
        if heldByPipes > 0 { held.append("\(heldByPipes) by pipes (kallocs no operation explains)") }
        lines += folded("Held at the end, not leaks: " + held.joined(separator: ", "), hang: 4)
            .map { $0.replacingOccurrences(of: "\u{1}", with: " ") }
        return lines.joined(separator: "\n") + "\n"
    }

    public var summary: String {
        var parts: [String] = []
        let n = leaked
        if n > 0 {
            let times = records.reduce(0) { $0 + $1.count }
            parts.append("\(plural(n, "page", "pages")) leaked in \(plural(records.count, "record", "records"))"
                         + (times > records.count ? " (\(times) times)" : ""))
        }
        let f = findings
        if !f.doubleFrees.isEmpty { parts.append(plural(f.doubleFrees.count, "double free", "double frees")) }
        if !f.allocatedTwice.isEmpty { parts.append(plural(f.allocatedTwice.count, "page allocated twice", "pages allocated twice")) }
        if !f.mappedFrees.isEmpty {
            parts.append(plural(f.mappedFrees.reduce(0) { $0 + $1.count }, "free of a mapped page", "frees of mapped pages"))
        }
        if !f.staleTables.isEmpty { parts.append(plural(f.staleTables.count, "table freed stale", "tables freed stale")) }
        for (kind, one, many) in CountFinding.headings {
            let n = f.counts.count { $0.kind == kind }
            if n > 0 { parts.append(plural(n, one, many)) }
        }
        if !f.countSurplus.isEmpty {
            parts.append(plural(f.countSurplus.reduce(0) { $0 + $1.pages.count }, "page counted above its mappings",
                                "pages counted above their mappings"))
        }
        if parts.isEmpty { return "SUMMARY: no leaks, no double frees, no frees of mapped pages" }
        return "SUMMARY: " + (n == 0 ? "no leaks; " : "") + parts.joined(separator: ", ")
    }

    func plural(_ n: Int, _ one: String, _ many: String) -> String { "\(n) \(n == 1 ? one : many)" }

    func recordLines(_ r: [LeakInstance]) -> [String] {
        let first = r[0]
        if first.what == .counted { return countedLines(r) }
        let total = r.reduce(0) { $0 + $1.pages }
        let noun: (String, String) = switch first.what {
        case .kernelTable: ("kernel table", "kernel tables")
        case .userTable: ("user table", "user tables")
        case .bare: (first.made.kind == .exec ? ("exec", "execs") : ("process", "processes"))
        case .unmapped: ("unmap", "unmaps")
        case .counted: ("group", "groups")
        }
        let each = Set(r.map(\.pages)).count == 1 && r.count > 1 ? ", \(first.pages) each" : ""
        var lines = ["Leak of \(plural(total, "page", "pages")) in \(plural(r.count, noun.0, noun.1))\(each), never freed:"]
        lines += folded(why(first), indent: 4, hang: 2)
        for i in r.prefix(Self.shown) { lines += folded(instanceText(i), indent: 2, hang: 4) }
        if r.count > Self.shown { lines.append("  and \(r.count - Self.shown) more") }
        return lines
    }

    /// What happened to every instance of a record, in a sentence.
    func why(_ i: LeakInstance) -> String {
        switch (i.what, i.cause.kind) {
        case (.bare, _):
            return i.made.kind == .exec
                ? "exec allocated pages it never mapped (sys_exec's argument strings) and never freed them"
                : "the process allocated pages it never mapped, and freeproc did not free them"
        case (.counted, _):
            return "unmapped without lowering their count; nothing maps them now"
        case (.unmapped, _):
            return "pages unmapped from their table and never freed"
        case (_, .freeproc):
            return i.rootFreedLine != 0 ? "freeproc freed the table's root and none of the pages below it"
                                        : "freeproc never freed the table"
        case (_, .execFailed): return "the exec failed and never freed the table it had built"
        case (_, .execReplaced): return "exec replaced the table and never freed it"
        case (_, .rootFreed): return "the table's root was freed and none of the pages below it"
        default: return "the table's owner is gone and the table was never freed"
        }
    }

    func instanceText(_ i: LeakInstance) -> String {
        let c = i.cause
        let event: String = switch c.kind {
        case .freeproc: "freeproc at line \(c.line)" + (c.other != 0 ? " (reaped by pid \(c.other))" : "")
        case .execFailed: "exec of \(c.path) failed at line \(c.line)"
        case .execReplaced: "exec of \(c.path) at line \(c.line)"
        case .execReturned: "exec of \(c.path) returned at line \(c.line)"
        case .rootFreed: "root freed at line \(c.line)"
        case .unmapped: "unmapped at line \(c.line)" + (i.made.kind == .kernel ? "" : " by \(i.made.text)")
        }
        var kinds: [String] = []
        if i.roots > 0 { kinds.append("the root") }
        if i.tablePages > 0 { kinds.append(plural(i.tablePages, "table page", "table pages")) }
        if i.dataPages > 0 { kinds.append(plural(i.dataPages, "data page", "data pages")) }
        if i.barePages > 0 { kinds.append(plural(i.barePages, "page never mapped", "pages never mapped")) }
        // Who allocated the pages, when not only the operation that made the table (or kept them).
        let by = i.allocatedBy.count == 1 && i.allocatedBy[0].0 == i.made.text ? ""
            : "; allocated by " + i.allocatedBy.map { "\($0.0): \($0.1)" }.joined(separator: "; ")
        switch i.what {
        case .kernelTable, .userTable:
            let freed = i.rootFreedLine != 0 && c.kind != .rootFreed ? ", root freed at line \(i.rootFreedLine)" : ""
            let vas = i.dataPages == 0 ? "" : i.vaLow == i.vaHigh ? ", data at va \(hex16(i.vaLow))"
                : ", data at va \(hex16(i.vaLow)) to \(hex16(i.vaHigh))"
            return "pid \(i.pid): table \(hex16(i.root)), \(plural(i.pages, "page", "pages")) (\(kinds.joined(separator: ", ")))\(vas)"
                + "; \(event)\(freed)\(by)"
        case .bare, .unmapped, .counted:
            return "pid \(i.pid): \(event), \(plural(i.pages, "page", "pages")) kept: "
                + "\(hex16(i.firstPa)) (kalloc at line \(i.firstLine))\(i.pages > 1 ? " and more" : "")\(by)"
        }
    }

    var findingLines: [String] {
        var lines: [String] = []
        let f = findings
        for (title, list) in [("Double free", f.doubleFrees), ("Allocated twice", f.allocatedTwice)] where !list.isEmpty {
            lines.append("")
            lines.append("\(title): \(list.count)")
            for d in list.prefix(Self.shown) {
                var before = d.before == 0 ? "never allocated in this log"
                    : (title == "Double free" ? "freed at line \(d.before)" : "allocated at line \(d.before), not freed since")
                if counted && title == "Double free" { before += "; its count goes below zero" }
                lines += folded("line \(d.line): \(title == "Double free" ? "kfree" : "kalloc") pa=\(hex16(d.pa)) "
                                + "(\(before)), in \(d.during.isEmpty ? d.by.text : d.during)", indent: 2, hang: 4)
            }
            if list.count > Self.shown { lines.append("  and \(list.count - Self.shown) more") }
        }
        if !f.mappedFrees.isEmpty {
            lines.append("")
            lines.append("Free of a mapped page: \(f.mappedFrees.reduce(0) { $0 + $1.count }) in "
                         + plural(f.mappedFrees.count, "operation", "operations"))
            for g in f.mappedFrees.prefix(Self.shown) {
                let m = g.first
                let span = g.count == 1 ? "line \(m.line)" : "lines \(m.line) to \(g.lastLine)"
                let vas = g.vaLow == g.vaHigh ? "va \(hex16(g.vaLow))" : "va \(hex16(g.vaLow)) to \(hex16(g.vaHigh))"
                lines += folded("\(plural(g.count, "page", "pages")) freed by \(m.during.isEmpty ? m.by.text : m.during) (\(span)), "
                                + "still mapped in \(table(m.owner, m.kernel, m.root)): \(vas)", indent: 2, hang: 4)
            }
            if f.mappedFrees.count > Self.shown { lines.append("  and \(f.mappedFrees.count - Self.shown) more") }
        }
        if !f.staleTables.isEmpty {
            lines.append("")
            lines.append("Table freed stale: \(f.staleTables.count)")
            for s in f.staleTables.prefix(Self.shown) {
                lines += folded("line \(s.line): \(table(s.owner, s.kernel, s.root)) freed with "
                                + "\(plural(s.entries, "entry", "entries")) to pages freed before (from va \(hex16(s.va)), "
                                + "freed at line \(s.freedAt))", indent: 2, hang: 4)
            }
            if f.staleTables.count > Self.shown { lines.append("  and \(f.staleTables.count - Self.shown) more") }
        }
        return lines
    }

    /// A record of pages left counted with no holder: per group, the pages, their count and
    /// the events that dropped a holder without a drop.
    func countedLines(_ r: [LeakInstance]) -> [String] {
        let total = r.reduce(0) { $0 + $1.pages }
        var lines = ["Leak of \(plural(total, "page", "pages")) whose count never reached zero, in "
                     + "\(plural(r.count, "group", "groups")):"]
        lines += folded(why(r[0]), indent: 4, hang: 2)
        for i in r.prefix(Self.shown) {
            lines += folded("\(countedPages(i.counted)); unmapped without a drop by "
                            + i.sites.map(\.text).joined(separator: "; by "), indent: 2, hang: 4)
        }
        if r.count > Self.shown { lines.append("  and \(r.count - Self.shown) more") }
        return lines
    }

    /// "3 pages at count 2 (0x…, 0x…, 0x…)", the first four named.
    func countedPages(_ pages: [(pa: UInt64, va: UInt64, count: Int)]) -> String {
        let counts = pages.map(\.count)
        let lo = counts.min() ?? 0, hi = counts.max() ?? 0
        let names = pages.prefix(4).map { hex16($0.pa) }.joined(separator: ", ")
            + (pages.count > 4 ? " and \(pages.count - 4) more" : "")
        return "\(plural(pages.count, "page", "pages")) at count \(lo == hi ? "\(lo)" : "\(lo) to \(hi)") (\(names))"
    }

    var countLines: [String] {
        var lines: [String] = []
        let f = findings
        for (kind, _, _) in CountFinding.headings {
            let list = f.counts.filter { $0.kind == kind }
            guard !list.isEmpty else { continue }
            lines.append("")
            lines.append("\(CountFinding.title(kind)): \(list.count)")
            for c in list.prefix(Self.shown) { lines += folded(c.text, indent: 2, hang: 4) }
            if list.count > Self.shown { lines.append("  and \(list.count - Self.shown) more") }
        }
        if !f.countSurplus.isEmpty {
            lines.append("")
            lines.append("Count above its mappings: \(plural(f.countSurplus.reduce(0) { $0 + $1.pages.count }, "page", "pages")) in "
                         + plural(f.countSurplus.count, "group", "groups") + " (their counts can never reach zero)")
            for g in f.countSurplus.prefix(Self.shown) {
                let owners = g.holders.map { "pid \($0)" }.joined(separator: ", ")
                lines += folded("\(countedPages(g.pages)), mapped by \(owners); unmapped without a drop by "
                                + g.sites.map(\.text).joined(separator: "; by "), indent: 2, hang: 4)
            }
            if f.countSurplus.count > Self.shown { lines.append("  and \(f.countSurplus.count - Self.shown) more") }
        }
        return lines
    }

    func table(_ owner: Int, _ kernel: Bool, _ root: UInt64) -> String {
        (owner == 0 ? "the kernel's" : "pid \(owner)'s") + (kernel ? " kernel table " : " user table ") + hex16(root)
    }
}

extension CountFinding {
    /// The kinds in the order the report lists them, with the summary's nouns.
    static let headings: [(Kind, String, String)] = [
        (.freedWithCount, "free with a count above zero", "frees with a count above zero"),
        (.belowZero, "count below zero", "counts below zero"),
        (.belowMappings, "page counted below its mappings", "pages counted below their mappings"),
        (.raisedWhileFree, "count raised on a free page", "counts raised on free pages"),
        (.outOfStep, "count out of step", "counts out of step"),
    ]

    static func title(_ kind: Kind) -> String {
        switch kind {
        case .freedWithCount: return "Freed with its count above zero"
        case .belowZero: return "Count below zero"
        case .belowMappings: return "Count below its mappings"
        case .raisedWhileFree: return "Count raised on a free page"
        case .outOfStep: return "Count out of step with the log's lines"
        }
    }

    /// One finding, as its line in the report.
    public var text: String {
        let line = isFree ? "kfree pa=\(hex16(pa))" : "\(kind == .raisedWhileFree || isRaise ? "refinc" : "refdec") pa=\(hex16(pa)) n=\(n)"
        let freed = before == 0 ? "a page never allocated in this log" : "a page freed at line \(before)"
        switch kind {
        case .freedWithCount:
            let mappedText = mapped.map { ", still mapped by pid \($0.owner) at va \(hex16($0.va))" } ?? ""
            return "line \(self.line): \(line) while its count was \(count + 1) (shared at line \(before))\(mappedText); in \(by)"
        case .belowZero:
            if isFree { return "line \(self.line): \(line) with its count at \(count + 1), to \(count); in \(by)" }
            if ofFreePage { return "line \(self.line): \(line) of \(freed); in \(by)" }
            return "line \(self.line): \(line)" + (count == Int(n) ? "" : " (the log's lines give \(count))") + "; in \(by)"
        case .belowMappings:
            let what = isFree ? "refdec pa=\(hex16(pa))"
                : "map of pa=\(hex16(pa)) at va \(hex16(mapped?.va ?? 0)) for pid \(mapped?.owner ?? 0)"
            return "line \(self.line): \(what): \(n) user tables map it, its count is \(count); in \(by)"
        case .raisedWhileFree:
            return "line \(self.line): \(line) of \(freed); in \(by)"
        case .outOfStep:
            let op = n > Int64(count) ? "a raise" : "a drop"
            return "line \(self.line): \(line) where the log's lines give \(count) (\(op) it did not print?); in \(by)"
        }
    }
}
