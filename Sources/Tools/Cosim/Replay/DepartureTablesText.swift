import RISCV
import Support
import Scenario
import Run
import CosimLog

/// A departure's tables as a student reads them: each as `vmprint` prints it (the lab's
/// `..`-indented lines), whole when small, else only the paths to the marked PTEs; a `!` in
/// the margin marks a PTE the kernel's events contradict, with the log line and why below it.
extension DepartureTables {
    package var lines: [String] {
        let one = tables.count == 1
        let whose = pid > 0 ? "the model's \(one ? "table" : "tables") of pid \(pid)"
            : one && tables[0].name == "global kernel table" ? "the model's global kernel table" : "the model's \(one ? "table" : "tables")"
        var out = folded("\(whose) as the two part, as vmprint prints \(tables.count == 1 ? "it" : "them"); ! marks what the kernel's events"
                         + " in this operation contradict:", indent: 2, hang: 2)
        if late {
            out.append(contentsOf: folded("(the model had run on past its departing event when the log's line was read: "
                                          + "they are as they were then)", indent: 2, hang: 1))
        }
        for t in tables { out.append(contentsOf: t.lines) }
        return out
    }

    /// The tables as data: each with its root, its PTE count, and the PTEs the text shows.
    var json: JSONValue {
        .o(["pid": .i(Int64(pid)), "from_line": .i(Int64(fromLine)), "late": .b(late), "tables": .a(tables.map(\.json))])
    }
}

extension TableDump {
    /// vmprint's line for a PTE. (The lab's format: `..` per level, the index, the PTE, its pa.)
    package static func vmprintLine(_ e: TablePTE) -> String {
        ".." + String(repeating: " ..", count: e.depth) + "\(e.index): pte \(hex16(e.pte)) pa \(hex16(e.pa))"
    }

    /// At most this many of the kernel's maps and unmaps the table has no PTE for are listed.
    static let missingShown = 4

    package var lines: [String] {
        if freed { return missingLines(folded("\(name) \(hex16(root)): the model has freed it", indent: 2, hang: 2)) }
        let count = "\(grouped(total)) PTE\(total == 1 ? "" : "s")"
        let contradicted = shown.filter { $0.mark != nil }.count + (rootMark == nil ? 0 : 1)
        let marks = contradicted == 0 ? "none contradicted" : "\(contradicted) contradicted"
        if !whole && contradicted == 0 {
            return missingLines(folded("\(name) \(hex16(root)) (\(count), \(marks))" + (missing.isEmpty ? "" : ":"), indent: 2, hang: 2))
        }
        let only = contradicted == 1 ? "only its path shown" : "only their paths shown"
        var out = folded("\(name) (\(count), \(marks)" + (whole ? "):" : "; \(only)):"), indent: 2, hang: 2)
        out.append((rootMark == nil ? "    " : "  ! ") + "page table \(hex16(root))")
        if let m = rootMark { out.append(contentsOf: folded("log line \(m.line): \(m.reason)", indent: 8, hang: 2)) }
        for e in shown {
            out.append((e.mark == nil ? "    " : "  ! ") + Self.vmprintLine(e))
            if let m = e.mark { out.append(contentsOf: folded("log line \(m.line): \(m.reason)", indent: 8, hang: 2)) }
        }
        if !whole { out.append("    ... \(grouped(total - shown.count)) more PTEs not shown") }
        return missingLines(out)
    }

    /// The kernel's maps and unmaps where the model's table has no PTE, the first few of them.
    private func missingLines(_ head: [String]) -> [String] {
        var out = head + missing.prefix(Self.missingShown).flatMap { folded("! log line \($0.line): \($0.reason)", indent: 2, hang: 4) }
        if missing.count > Self.missingShown {
            let more = missing.count - Self.missingShown
            out.append("  ... and \(more) more of the kernel's maps and unmaps the model has no PTE for")
        }
        return out
    }

    var json: JSONValue {
        func mark(_ m: TableMark) -> JSONValue { .o(["line": .i(Int64(m.line)), "reason": .s(m.reason)]) }
        let ptes: [JSONValue] = shown.map { e in
            var o: [String: JSONValue] = ["depth": .i(Int64(e.depth)), "index": .i(Int64(e.index)), "pte": .s(hex16(e.pte)),
                                          "pa": .s(hex16(e.pa)), "va": .s(hex16(e.va)), "leaf": .b(e.isLeaf),
                                          "text": .s(Self.vmprintLine(e))]
            if let m = e.mark { o["mark"] = mark(m) }
            return .o(o)
        }
        var o: [String: JSONValue] = ["name": .s(name), "root": .s(hex16(root)), "ptes": .i(Int64(total)), "whole": .b(whole),
                                      "shown": .a(ptes), "missing": .a(missing.map(mark)),
                                      "freed": .b(freed)]
        if let m = rootMark { o["root_mark"] = mark(m) }
        return .o(o)
    }
}
