import RISCV
import Support
import CosimLog

/// A PTE of a table as the kernel's log says it is at a departure (`TableWalk.kernelSide`):
/// the model's, where the two agreed, with the kernel's own maps and unmaps of the departing
/// operation applied.
public struct KernelSidePTE: Sendable, Equatable {
    /// As in `TablePTE`: 0 a PTE of the root, 2 a leaf of a level-0 table.
    public var depth: Int
    public var index: Int
    public var va: UInt64
    /// The PTE's value; nil for a table page the kernel's walk must have allocated, whose
    /// address no probe says.
    public var pte: UInt64?
    /// The kernel's event that wrote it, took it out or left it stale, and how.
    public var mark: TableMark?
    /// The kernel's log takes it out (an unmap): it is shown struck through.
    public var gone = false

    package init(depth: Int, index: Int, va: UInt64, pte: UInt64?, mark: TableMark? = nil, gone: Bool = false) {
        self.depth = depth; self.index = index; self.va = va; self.pte = pte; self.mark = mark; self.gone = gone
    }
}

extension TableWalk {
    /// At most this many pages of one map or unmap are applied to the kernel's side (a
    /// log's size or npages may be anything); the rest are said in the mark.
    static let kernelSidePages: UInt64 = 1024

    /// The table as the kernel's log says it is when the two part: the model's PTEs (they
    /// agreed on every event before log line `from`), with the kernel's maps and unmaps of
    /// this table from `from` on applied in log order, and its frees of mapped pages marked.
    /// In vmprint's order.
    func kernelSide(_ probes: [Probe], from: Int) -> [KernelSidePTE] {
        var side = KernelSide(entries.map { KernelSidePTE(depth: $0.depth, index: $0.index, va: $0.va, pte: $0.pte) })
        for p in probes where p.line >= from {
            switch p.kind {
            case .map where p.pt == root:
                let first = pageRoundDown(p.va)
                let count = p.size == 0 ? 0 : ((p.va &+ p.size &- 1) >> 12) &- (p.va >> 12) &+ 1
                let flags = (p.perm | 1) & 0x3ff
                let mark = TableMark(line: p.line, reason: "your kernel maps \(pages(count)) from va \(hex16(first)) here" + cut(count))
                for k in 0..<min(count, Self.kernelSidePages) {
                    let pte = ((pageRoundDown(p.pa) &+ k << 12) >> 12) << 10 | flags
                    side.map(first &+ k << 12, pte: pte, mark)
                }
            case .unmap where p.pt == root:
                let count = UInt64(max(0, p.n))
                let mark = TableMark(line: p.line, reason: "your kernel unmaps \(pages(count)) from va \(hex16(p.va)) here" + cut(count))
                for k in 0..<min(count, Self.kernelSidePages) { side.unmap(p.va &+ k << 12, mark) }
            default: break
            }
        }
        side.markStale(probes.filter { $0.kind == .kfree })
        return side.rows
    }

    /// What a mark says of a map or unmap of more pages than the kernel's side applies.
    private func cut(_ count: UInt64) -> String {
        count > Self.kernelSidePages ? " (the first \(pages(Self.kernelSidePages, unit: false)) shown)" : ""
    }
}

/// The kernel's side of a table as it is built: its PTEs by (va, depth), kept in vmprint's
/// order (a table's PTE comes before those of the tables below it, which cover the same va).
package struct KernelSide {
    package private(set) var rows: [KernelSidePTE]

    package init(_ rows: [KernelSidePTE]) { self.rows = rows }

    /// Where the PTE at (`va`, `depth`) is, or where it would go.
    private func slot(_ va: UInt64, _ depth: Int) -> (at: Int, found: Bool) {
        var lo = 0, hi = rows.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if (rows[mid].va, rows[mid].depth) < (va, depth) { lo = mid + 1 } else { hi = mid }
        }
        return (lo, lo < rows.count && rows[lo].va == va && rows[lo].depth == depth)
    }

    /// The kernel writes leaf `pte` for `va`: over the model's leaf, or as a new one, with
    /// the table pages above it the kernel's walk must have made when the model has none.
    package mutating func map(_ va: UInt64, pte: UInt64, _ mark: TableMark) {
        for depth in 0..<2 {
            let start = (va >> UInt64(30 - 9 * depth)) << UInt64(30 - 9 * depth)
            let s = slot(start, depth)
            if s.found && !rows[s.at].gone { continue }
            let row = KernelSidePTE(depth: depth, index: Sv39.px(2 - depth, va), va: start, pte: nil,
                                    mark: TableMark(line: mark.line, reason: "a table page your kernel's walk allocates; no probe says where"))
            if s.found { rows[s.at] = row } else { rows.insert(row, at: s.at) }
        }
        let s = slot(va, 2)
        let row = KernelSidePTE(depth: 2, index: Sv39.px(0, va), va: va, pte: pte, mark: mark)
        if s.found { rows[s.at] = row } else { rows.insert(row, at: s.at) }
    }

    /// The kernel takes the leaf for `va` out.
    package mutating func unmap(_ va: UInt64, _ mark: TableMark) {
        let s = slot(va, 2)
        guard s.found, !rows[s.at].gone, rows[s.at].pte != nil else { return }
        rows[s.at].gone = true
        rows[s.at].mark = mark
    }

    /// The kernel's `frees`: every leaf it leaves mapping a freed page (not the direct map's,
    /// va == pa, which maps every page by design) is stale.
    package mutating func markStale(_ frees: [Probe]) {
        guard !frees.isEmpty else { return }
        var mapping: [UInt64: [Int]] = [:]
        for i in rows.indices where rows[i].depth == 2 && !rows[i].gone && rows[i].mark == nil {
            guard let v = rows[i].pte else { continue }
            let pa = PTE(rawValue: v).pa.rawValue
            if rows[i].va != pa { mapping[pa, default: []].append(i) }
        }
        for p in frees {
            for i in mapping[p.pa] ?? [] where rows[i].mark == nil {
                rows[i].mark = TableMark(line: p.line, reason: "your kernel frees this page here and never unmaps it: a stale mapping")
            }
        }
    }
}
