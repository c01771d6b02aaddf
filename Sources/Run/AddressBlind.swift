import Foundation
import XV6
import Support
import Scenario

/// An address-blind view of two traces, as snapshot tools redact what changes from run to
/// run: every physical page is named by first use (`page#1`, `page#2`, ...), the same name
/// on both sides for the same role. Shifting one sbrk by a page moves every later physical
/// address; in this view only the lines that really changed differ. Virtual addresses
/// (`va ...`), sizes and the header are kept as they are. Goldens keep exact addresses: this
/// is only a way of comparing them.
public enum AddressBlind {
    /// How a physical address is written in a trace line.
    package enum Form: Equatable {
        /// A physical address, `offset` bytes into its page.
        case plain(offset: UInt64)
        /// A PTE: the page it points at, and its low 10 bits (V R W X U G A D, RSW).
        case pte(flags: UInt64)
        /// A satp value in Sv39 mode: the root page.
        case satp
    }

    /// A line cut around its physical addresses: `parts.count == slots.count + 1`.
    package struct Line {
        var parts: [Substring]
        var slots: [(page: UInt64, form: Form)]

        /// The line with each address replaced by what `name` gives its page.
        func rendered(_ name: (UInt64) -> String) -> String {
            var s = String(parts[0])
            for (i, slot) in slots.enumerated() {
                let n = name(slot.page)
                switch slot.form {
                case .plain(let off): s += off == 0 ? n : n + "+0x" + String(off, radix: 16)
                case .pte(let flags): s += n + "|0x" + String(flags, radix: 16)
                case .satp: s += "sv39:" + n
                }
                s += parts[i + 1]
            }
            return s
        }
    }

    /// Cuts a trace line around the physical addresses in RAM, [0x80000000, `phystop`): each
    /// a word of its own, `0x` and 16 hex digits, named by the word before it (`va` is virtual,
    /// `pte` a PTE) or by its value (Sv39's mode 8: a satp). Header lines are kept whole.
    static func cut(_ line: Substring, phystop: UInt64) -> Line {
        if line.hasPrefix("setting ") || line.hasPrefix("kinit ") || line.hasPrefix("xv6vm-") || line.hasPrefix("scenario ") {
            return Line(parts: [line], slots: [])
        }
        let ram = MemLayout.kernbase..<phystop
        var parts: [Substring] = [], slots: [(page: UInt64, form: Form)] = []
        var start = line.startIndex
        var previous: Substring = ""
        for word in line.split(separator: " ") {
            defer { previous = word }
            guard word.count == 18, word.hasPrefix("0x"), let v = UInt64(word.dropFirst(2), radix: 16) else { continue }
            let slot: (page: UInt64, form: Form)?
            if previous == "va" {
                slot = nil
            } else if previous == "pte" {
                let pa = (v >> 10) << 12
                slot = ram.contains(pa) ? (pa, .pte(flags: v & 0x3ff)) : nil
            } else if v >> 60 == 8 {
                let pa = (v & ((1 << 44) - 1)) << 12
                slot = ram.contains(pa) ? (pa, .satp) : nil
            } else {
                slot = ram.contains(v) ? (v & ~0xfff, .plain(offset: v & 0xfff)) : nil
            }
            guard let slot else { continue }
            parts.append(line[start..<word.startIndex])
            slots.append(slot)
            start = word.endIndex
        }
        parts.append(line[start...])
        return Line(parts: parts, slots: slots)
    }

    /// The trace's end of RAM, from its header (`setting   phystop 0x...`); xv6's by default.
    static func phystop(_ text: String) -> UInt64 {
        for l in text.split(separator: "\n", maxSplits: 64).prefix(64) where l.hasPrefix("setting   phystop ") {
            if let v = UInt64(l.dropFirst("setting   phystop 0x".count), radix: 16) { return v }
        }
        return MemLayout.phystop
    }

    /// Both traces with their pages named. The traces are first aligned with every address
    /// masked; along that alignment, the pages of two matching lines are bound to one name
    /// when first seen. A page already bound to another keeps its own name, so a line that
    /// frees another page than before still differs. Pages only one side has get names of
    /// their own, numbered in the same walk.
    public static func named(old: [UInt8], new: [UInt8]) -> (old: [UInt8], new: [UInt8]) {
        let a = String(decoding: old, as: UTF8.self), b = String(decoding: new, as: UTF8.self)
        // The end of RAM read once per trace, not once per line: that split the whole trace
        // again for each of its lines.
        let endA = phystop(a), endB = phystop(b)
        let la = a.split(separator: "\n", omittingEmptySubsequences: false).map { cut($0, phystop: endA) }
        let lb = b.split(separator: "\n", omittingEmptySubsequences: false).map { cut($0, phystop: endB) }
        func masked(_ ls: [Line]) -> [UInt8] { Array(ls.map { $0.rendered { _ in "page#" } }.joined(separator: "\n").utf8) }
        let align = LineDiff.compute(old: masked(la), new: masked(lb), context: 0, maxHunks: .max, maxLines: 1 << 40)
        var namesA: [UInt64: Int] = [:], namesB: [UInt64: Int] = [:]
        var next = 1
        func fresh() -> Int { next += 1; return next - 1 }
        func onlyA(_ l: Line) { for s in l.slots where namesA[s.page] == nil { namesA[s.page] = fresh() } }
        func onlyB(_ l: Line) { for s in l.slots where namesB[s.page] == nil { namesB[s.page] = fresh() } }
        func pair(_ x: Line, _ y: Line) {
            for (s, t) in zip(x.slots, y.slots) {
                switch (namesA[s.page], namesB[t.page]) {
                case (nil, nil): let n = fresh(); namesA[s.page] = n; namesB[t.page] = n
                case (nil, _): namesA[s.page] = fresh()
                case (_, nil): namesB[t.page] = fresh()
                default: break
                }
            }
        }
        var i = 0, j = 0
        for h in align.hunks + [LineDiff.Hunk(oldStart: la.count + 1, oldCount: 0, newStart: lb.count + 1, newCount: 0, lines: [])] {
            while i < h.oldStart - 1 && j < h.newStart - 1 { pair(la[i], lb[j]); i += 1; j += 1 }
            while i < h.oldStart - 1 + h.oldCount && i < la.count { onlyA(la[i]); i += 1 }
            while j < h.newStart - 1 + h.newCount && j < lb.count { onlyB(lb[j]); j += 1 }
        }
        func render(_ ls: [Line], _ names: [UInt64: Int]) -> [UInt8] {
            Array(ls.map { $0.rendered { "page#\(names[$0] ?? 0)" } }.joined(separator: "\n").utf8)
        }
        return (render(la, namesA), render(lb, namesB))
    }
}
