import RISCV
import Support
import Scenario
import Run

/// The report as text: LeakSanitizer's shape (records grouped by what was lost and how,
/// the largest first, then a summary line), within 80 columns.
extension LogLeakReport {
    /// How many instances of a record, and of each finding, are shown.
    static let shown = 8

    public var text: String {
        var lines: [String] = []
        lines.append("==xv6vm== leaks in \(file), from the log alone (no model)")
        lines.append("==xv6vm== \(probes) probes to line \(lastLine); "
                     + "\(plural(processesCreated, "process", "processes")) created, \(processesFreed) freed")
        if let panic {
            lines += folded("==xv6vm== the kernel panicked at line \(panic.line) (panic: \(panic.message)): "
                            + "what it held then is judged as it stood", hang: 10)
        }
        for r in records { lines.append(""); lines += recordLines(r) }
        lines += findingLines
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
        if parts.isEmpty { return "SUMMARY: no leaks, no double frees, no frees of mapped pages" }
        return "SUMMARY: " + (n == 0 ? "no leaks; " : "") + parts.joined(separator: ", ")
    }

    func plural(_ n: Int, _ one: String, _ many: String) -> String { "\(n) \(n == 1 ? one : many)" }

    func recordLines(_ r: [LeakInstance]) -> [String] {
        let first = r[0]
        let total = r.reduce(0) { $0 + $1.pages }
        let noun: (String, String) = switch first.what {
        case .kernelTable: ("kernel table", "kernel tables")
        case .userTable: ("user table", "user tables")
        case .bare: (first.made.kind == .exec ? ("exec", "execs") : ("process", "processes"))
        case .unmapped: ("unmap", "unmaps")
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
        case .bare, .unmapped:
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
                let before = d.before == 0 ? "never allocated in this log"
                    : (title == "Double free" ? "freed at line \(d.before)" : "allocated at line \(d.before), not freed since")
                lines += folded("line \(d.line): \(title == "Double free" ? "kfree" : "kalloc") pa=\(hex16(d.pa)) "
                                + "(\(before)), in \(d.by.text)", indent: 2, hang: 4)
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
                lines += folded("\(plural(g.count, "page", "pages")) freed by \(m.by.text) (\(span)), "
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

    func table(_ owner: Int, _ kernel: Bool, _ root: UInt64) -> String {
        (owner == 0 ? "the kernel's" : "pid \(owner)'s") + (kernel ? " kernel table " : " user table ") + hex16(root)
    }
}
