import XV6
import RISCV

/// A process's page table as a figure: the lab's `vmprint` drawn as a tree, the root on
/// the left, one column per level, each leaf with the virtual pages it maps, where they go
/// and their permission bits. Runs of leaves that map consecutive pages with the same bits
/// (a kernel table's direct map) are drawn as one box.
public struct TableFigure: Sendable {
    /// One box: a table page, or a run of leaves.
    public struct Box: Equatable, Sendable {
        /// 2 for the root's entries' tables ... 0 for a leaf run; 3 for the root itself.
        public var level: Int
        public var title: String
        public var detail: String
        /// The row it is drawn on, and the box it hangs from (-1: none).
        public var row: Int
        public var parent: Int
    }

    public var caption: String
    public var boxes: [Box] = []
    /// Leaf runs not drawn, past the limit.
    public var omitted = 0
    /// Table pages below the root, those drawn as one row of several included.
    public var tablePages = 0

    /// The most leaf runs drawn; the rest are counted.
    public static let rowLimit = 120

    /// Reads the table rooted at `root` in `memory`.
    public init(caption: String, root: PhysAddr, memory: PhysicalMemory) {
        self.caption = caption
        boxes.append(Box(level: 3, title: "root", detail: hex16(root.rawValue), row: 0, parent: -1))
        var row = 0
        var leaves = 0
        func table(_ pa: UInt64, level: Int, base: UInt64, parent: Int) {
            var i = 0
            var seen = 0
            while i < Sv39.entriesPerTable {
                let pte = PTE(rawValue: memory.read64(PhysAddr(pa + UInt64(i) * 8)))
                let va = base | (UInt64(i) << (12 + 9 * UInt64(level)))
                guard pte.isValid else { i += 1; continue }
                if seen > 0 { row += 1 }
                seen += 1
                if !pte.isLeaf && level > 0 {
                    // Tables side by side that each map all 512 entries onward from where the
                    // last one ended, with the same bits (a kernel table's direct map): one row.
                    let same = Self.uniformSiblings(memory, table: pa, from: i, level: level)
                    if same > 1 {
                        let first = Self.uniform(memory, PTE(rawValue: memory.read64(PhysAddr(pa + UInt64(i) * 8))).pa.rawValue)!
                        boxes.append(Box(level: level, title: "[\(i)-\(i + same - 1)] \(same) tables",
                                         detail: "from \(hexShort(pte.pa.rawValue))", row: row, parent: parent))
                        let pages = UInt64(same) * 512 << (9 * UInt64(level - 1))
                        leaves += 1
                        tablePages += same
                        boxes.append(Box(level: 0, title: "[0-511]×\(same) va \(hexShort(va)): \(pages) pages",
                                         detail: "pa \(hexShort(first.pa)) \(first.flags.letters)", row: row, parent: boxes.count - 1))
                        i += same
                        continue
                    }
                    tablePages += 1
                    boxes.append(Box(level: level, title: "[\(i)] table", detail: hex16(pte.pa.rawValue), row: row, parent: parent))
                    table(pte.pa.rawValue, level: level - 1, base: va, parent: boxes.count - 1)
                    i += 1
                    continue
                }
                // A run of leaves mapping consecutive pages with the same bits.
                var j = i + 1
                while j < Sv39.entriesPerTable {
                    let next = PTE(rawValue: memory.read64(PhysAddr(pa + UInt64(j) * 8)))
                    guard next.isValid && next.isLeaf && next.flags == pte.flags
                          && next.pa.rawValue == pte.pa.rawValue + UInt64(j - i) << (12 + 9 * UInt64(level)) else { break }
                    j += 1
                }
                leaves += 1
                if leaves > Self.rowLimit { omitted += 1; i = j; continue }
                let size = UInt64(j - i) << (12 + 9 * UInt64(level))
                let range = j - i == 1 ? "[\(i)]" : "[\(i)-\(j - 1)]"
                let pages = size >> 12 == 1 ? "1 page" : "\(size >> 12) pages"
                boxes.append(Box(level: 0, title: "\(range) va \(hexShort(va)): \(pages)",
                                 detail: "pa \(hexShort(pte.pa.rawValue)) \(pte.flags.letters)", row: row, parent: parent))
                i = j
            }
        }
        table(root.rawValue, level: 2, base: 0, parent: 0)
    }

    /// Whether the table at `pa` is one run of leaves: all 512 entries valid leaves with the
    /// same bits, mapping consecutive pages; its first PTE's target and bits if so.
    static func uniform(_ memory: PhysicalMemory, _ pa: UInt64) -> (pa: UInt64, flags: PTE.Flags)? {
        let first = PTE(rawValue: memory.read64(PhysAddr(pa)))
        guard first.isValid && first.isLeaf else { return nil }
        for j in 1..<Sv39.entriesPerTable {
            let e = PTE(rawValue: memory.read64(PhysAddr(pa + UInt64(j) * 8)))
            guard e.isValid && e.isLeaf && e.flags == first.flags && e.pa.rawValue == first.pa.rawValue + UInt64(j) << 12 else { return nil }
        }
        return (first.pa.rawValue, first.flags)
    }

    /// How many entries from `i` of the level-`level` table at `pa` point at uniform tables
    /// (`uniform`) that continue one another: the same bits, each mapping on from where
    /// the one before it ended. Only level-1 entries (tables of leaves) are collapsed.
    static func uniformSiblings(_ memory: PhysicalMemory, table pa: UInt64, from i: Int, level: Int) -> Int {
        guard level == 1 else { return 0 }
        var n = 0
        var expected: (pa: UInt64, flags: PTE.Flags)?
        while i + n < Sv39.entriesPerTable {
            let e = PTE(rawValue: memory.read64(PhysAddr(pa + UInt64(i + n) * 8)))
            guard e.isValid && !e.isLeaf, let u = uniform(memory, e.pa.rawValue) else { break }
            if let x = expected, x.pa != u.pa || x.flags != u.flags { break }
            expected = (u.pa + 512 << 12, u.flags)
            n += 1
        }
        return n
    }

    /// The SVG document.
    public var svg: String {
        let rows = (boxes.map(\.row).max() ?? 0) + 1
        let rowH = 26.0, top = 60.0, colW = [3: 170.0, 2: 240.0, 1: 240.0, 0: 460.0]
        let colX = [3: 20.0, 2: 210.0, 1: 470.0, 0: 730.0]
        let w = 1210.0, h = top + Double(rows) * rowH + (omitted > 0 ? 40 : 20)
        func f(_ d: Double) -> String { String(Double(Int(d * 10)) / 10) }
        func y(_ row: Int) -> Double { top + Double(row) * rowH }
        var out = [#"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(w))" height="\#(Int(h))" viewBox="0 0 \#(Int(w)) \#(Int(h))" font-family="monospace" font-size="11">"#,
                   #"<rect width="100%" height="100%" fill="white"/>"#,
                   #"<text x="20" y="24" font-family="sans-serif" font-size="16" font-weight="bold">\#(escape(caption))</text>"#,
                   #"<text x="20" y="44" font-family="sans-serif" fill="rgb(85,85,85)">root, level-1 and level-0 table pages; leaves: virtual pages, where they go, and their bits (rwxugad)</text>"#]
        let fills = [3: "#d9d9d9", 2: "#c6dbef", 1: "#9ecae1", 0: "#fdd0a2"]
        for b in boxes {
            let x = colX[b.level]!, bw = colW[b.level]!
            if b.parent >= 0 {
                let p = boxes[b.parent]
                let px = colX[p.level]! + colW[p.level]!, py = y(p.row) + 11
                out.append(#"<polyline points="\#(f(px)),\#(f(py)) \#(f(x - 10)),\#(f(py)) \#(f(x - 10)),\#(f(y(b.row) + 11)) \#(f(x)),\#(f(y(b.row) + 11))" fill="none" stroke="rgb(120,120,120)"/>"#)
            }
            out.append(#"<rect x="\#(f(x))" y="\#(f(y(b.row)))" width="\#(f(bw))" height="22" rx="3" fill="\#(fills[b.level]!)" stroke="rgb(90,90,90)"/>"#)
            let text = b.level == 0 ? "\(b.title)  \(b.detail)" : "\(b.title) \(b.detail)"
            out.append(#"<text x="\#(f(x + 5))" y="\#(f(y(b.row) + 15))">\#(escape(text))</text>"#)
        }
        if omitted > 0 {
            out.append(#"<text x="\#(f(colX[0]!))" y="\#(f(y(rows) + 15))" font-family="sans-serif" fill="rgb(204,0,0)">... and \#(omitted) more runs of leaves, not drawn</text>"#)
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
