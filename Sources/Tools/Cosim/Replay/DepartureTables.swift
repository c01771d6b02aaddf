import XV6
import RISCV
import Support
import Scenario
import Run
import CosimLog

/// One valid PTE of a model's page table, where `vmprint` prints it, and why the kernel's
/// events contradict it (if they do).
public struct TablePTE: Sendable, Equatable {
    /// 0: a PTE of the root; 2: a leaf of a level-0 table (Sv39's three levels).
    public var depth: Int
    public var index: Int
    public var pte: UInt64
    /// The first virtual address it covers.
    public var va: UInt64
    /// The log line whose event contradicts it, and how (nil: none does).
    public var mark: TableMark?

    public var pa: UInt64 { PTE(rawValue: pte).pa.rawValue }
    public var isLeaf: Bool { PTE(rawValue: pte).isLeaf }
}

/// A contradiction: the log line of the kernel's event and what it says.
public struct TableMark: Sendable, Equatable {
    public var line: Int
    public var reason: String
    package init(line: Int, reason: String) { self.line = line; self.reason = reason }
}

/// One of the model's page tables at a departure: its root, its valid PTEs (all of them when
/// it is small, else the paths to the marked ones), and the PTEs the kernel's events make
/// that it lacks.
public struct TableDump: Sendable {
    /// "user table", "kernel table", "global kernel table", or "table of the model's map"
    /// (the table the model's departing probe works on, when it is another).
    public var name: String
    public var root: UInt64
    /// Valid PTEs in all, at every level.
    public var total: Int
    /// The PTEs shown, in vmprint's order.
    public var shown: [TablePTE]
    /// Whether `shown` is every valid PTE.
    public var whole: Bool
    /// Where the kernel's events say a PTE should be and the model's table has none.
    public var missing: [TableMark]
    /// The root page itself: freed or allocated by the kernel while the model holds it, or
    /// freed by the model's departing probe where the kernel never frees it.
    public var rootMark: TableMark?
    /// The model has freed the table's root: it is not read (its words are the allocator's junk).
    public var freed = false
    /// The table as the kernel's log says it is (`TableWalk.kernelSide`): whole when `whole`,
    /// else the PTEs at the places `shown` shows and the paths to those the kernel's events
    /// write or take out. Read for a report only (`TablesRead.marked`), which draws it.
    public var kernelSide: [KernelSidePTE] = []
}

/// The model's tables of the process a departing operation acts on, at the moment the
/// comparison departs, marked where the kernel's events of that operation contradict them
/// (see docs/check-your-kernel.md, "The model's tables where the two part").
public struct DepartureTables: Sendable {
    /// The process (0: none, the global kernel table is shown).
    public var pid: Int
    /// The departing log line: the kernel's maps, unmaps and kallocs count from it on (before
    /// it they agreed with the model's); its frees count throughout the operation.
    public var fromLine: Int
    public var tables: [TableDump]
    /// The model had run on past its departing probe when the log's came (it made more
    /// probes in that operation than the kernel): the tables are as they were then.
    public var late = false

    package init(pid: Int, fromLine: Int, tables: [TableDump], late: Bool = false) {
        self.pid = pid; self.fromLine = fromLine; self.tables = tables; self.late = late
    }

    /// A table with at most this many valid PTEs is shown whole; a larger one only along the
    /// paths to its marked PTEs.
    static let wholeUpTo = 40

    /// Captures the tables of process `pid` from the live `kernel` (the global kernel table
    /// when there is no such process), and the table the model's departing probe `model`
    /// works on when it is another; marks them with `probes`, the log's probes of the
    /// departing operation in log order, of which those from log line `from` on are the
    /// departing one and after.
    public static func capture(_ kernel: Kernel, pid: Int, probes: [Probe], from: Int, model: Probe? = nil,
                               late: Bool = false) -> DepartureTables {
        read(kernel, pid: pid, model: model, late: late).marked(probes, from: from)
    }

    /// The tables `capture` reads, not yet marked (the operation's events may not all be read).
    static func read(_ kernel: Kernel, pid: Int, model: Probe?, late: Bool) -> TablesRead {
        var roots: [(String, PhysAddr)] = []
        if pid > 0, let slot = kernel.slot(ofPid: pid) {
            let p = kernel.procs[slot]
            if p.pagetable != .zero { roots.append(("user table", p.pagetable)) }
            if p.kernelPagetable != .zero && p.kernelPagetable != kernel.kernelPagetable {
                roots.append(("kernel table", p.kernelPagetable))
            }
        }
        let shownPid = roots.isEmpty ? 0 : pid
        if roots.isEmpty && kernel.kernelPagetable != .zero { roots.append(("global kernel table", kernel.kernelPagetable)) }
        var walks = roots.map { ($0.0, TableWalk(kernel, $0.1)) }
        // The model's probe names a table while it works on it: one of these, one below them, or another.
        if let m = model, [.map, .unmap, .freewalk, .kvmFree].contains(m.kind), m.pt != 0,
           !walks.contains(where: { $0.1.root == m.pt || $0.1.holds(table: m.pt) }) {
            // In boot, before kvminit has stored it, the table being built is the global one.
            let building = kernel.kernelPagetable == .zero && kernel.processesCreated == 0
            walks.append((building ? "global kernel table" : "table of the model's \(m.kind.rawValue)", TableWalk(kernel, PhysAddr(m.pt))))
        }
        return TablesRead(pid: shownPid, model: model, late: late, walks: walks)
    }
}

/// A departure's tables as read from the model, before the kernel's events mark them.
package struct TablesRead {
    var pid: Int
    /// The model's departing probe, when it is of the memory stream.
    var model: Probe?
    var late: Bool
    var walks: [(String, TableWalk)]

    /// The tables marked with `probes`, the log's of the departing operation, of which those
    /// from log line `from` on are the departing one and after; with `kernelSide`, each
    /// with its kernel's side (`TableDump.kernelSide`).
    func marked(_ probes: [Probe], from: Int, kernelSide: Bool = false) -> DepartureTables {
        let tables = walks.map { name, walk in
            var w = walk
            w.mark(probes, from: from, model: model)
            var d = w.dump(name)
            if kernelSide { d.kernelSide = Self.shown(w.kernelSide(probes, from: from), whole: d.whole, alongside: d.shown) }
            return d
        }
        return DepartureTables(pid: pid, fromLine: from, tables: tables, late: late)
    }

    /// The kernel's side as shown: all of it beside a whole table, else its PTEs where the
    /// model's `shown` ones are and the paths to those the kernel's events mark.
    static func shown(_ side: [KernelSidePTE], whole: Bool, alongside shown: [TablePTE]) -> [KernelSidePTE] {
        guard !whole else { return side }
        struct Place: Hashable { var va: UInt64, depth: Int }
        let places = Set(shown.map { Place(va: $0.va, depth: $0.depth) })
        return onPaths(side.map(\.depth)) { side[$0].mark != nil || places.contains(Place(va: side[$0].va, depth: side[$0].depth)) }
            .map { side[$0] }
    }

    /// The indices of the rows, in vmprint's order at `depths`, that are `wanted` or on the
    /// path from the root to one that is.
    static func onPaths(_ depths: [Int], wanted: (Int) -> Bool) -> [Int] {
        var keep = Array(repeating: false, count: depths.count)
        var path: [Int] = []
        for (i, depth) in depths.enumerated() {
            path = Array(path.prefix(depth)) + [i]
            if wanted(i) { for j in path { keep[j] = true } }
        }
        return depths.indices.filter { keep[$0] }
    }
}

/// A table read from the model's memory, PTE by PTE in vmprint's order, with what the
/// kernel's events say of it.
package struct TableWalk {
    let root: UInt64
    var entries: [TablePTE] = []
    var missing: [TableMark] = []
    var rootMark: TableMark?
    /// The leaves by the va they map, and every PTE by the page it points at.
    private var leafAt: [UInt64: Int] = [:]
    private var pointingAt: [UInt64: [Int]] = [:]
    /// What the kernel's events of the operation take out of the table, before or after
    /// the departure: vas unmapped, and the whole table (freewalk, kvm_free_kernelpgtbl).
    private var unmapped: [Range<UInt64>] = []
    private var freed = false

    /// The root page is not allocated: the model has freed the table (its words are junk).
    var freedRoot = false

    package init(_ kernel: Kernel, _ root: PhysAddr) {
        self.root = root.rawValue
        freedRoot = kernel.allocationSite(of: root.rawValue) == nil
        if !freedRoot { read(kernel, root, depth: 0, va: 0) }
        for (i, e) in entries.enumerated() {
            if e.isLeaf { leafAt[e.va] = i }
            // A kernel table's direct map (va == pa) maps every page of RAM, free or not, by
            // design; a user table never reaches va 0x80000000.
            if !(e.isLeaf && e.va == e.pa) { pointingAt[e.pa, default: []].append(i) }
        }
    }

    /// `n` pages as people read the count ("1 page", "32,760 pages"; `unit` false: "32,760").
    func pages(_ n: UInt64, unit: Bool = true) -> String {
        let count = n > UInt64(Int.max) ? String(n) : grouped(Int(n))
        return unit ? (n == 1 ? "1 page" : "\(count) pages") : count
    }

    /// `pages` pages from `va`, clipped to the end of the address space.
    static func span(_ va: UInt64, pages: UInt64) -> Range<UInt64> {
        let (size, o1) = pages.multipliedReportingOverflow(by: pageSize)
        let (end, o2) = va.addingReportingOverflow(size)
        return va..<(o1 || o2 ? UInt64.max : end)
    }

    func isUnmapped(_ va: UInt64) -> Bool { unmapped.contains { $0.contains(va) } }

    /// The leaves mapping the `pages` pages from `va`, with the page each is found at: page by
    /// page when they are fewer than the table's PTEs, else from the table (a log's `npages`
    /// or `size` may be anything).
    func leaves(_ va: UInt64, pages: UInt64) -> [(va: UInt64, entry: Int)] {
        if pages <= UInt64(entries.count) {
            return (0..<pages).compactMap { k in let a = va &+ k << 12; return leaf(a).map { (a, $0) } }
        }
        let range = Self.span(va, pages: pages)
        return entries.indices.filter { entries[$0].isLeaf && range.contains(entries[$0].va) }.map { (entries[$0].va, $0) }
    }

    /// Whether `table` is a table page below the root.
    func holds(table: UInt64) -> Bool { (pointingAt[table] ?? []).contains { !entries[$0].isLeaf } }

    /// The valid PTEs of `table` and below, as vmprint visits them (three levels at most:
    /// below a level-0 table the MMU goes no further; a table page the model has freed is
    /// not read).
    private mutating func read(_ kernel: Kernel, _ table: PhysAddr, depth: Int, va: UInt64) {
        for i in 0..<Sv39.entriesPerTable {
            let pte = PTE(rawValue: kernel.memory.read64(PhysAddr(table.rawValue + UInt64(8 * i))))
            guard pte.isValid else { continue }
            let at = va | UInt64(i) << (30 - 9 * depth)
            entries.append(TablePTE(depth: depth, index: i, pte: pte.rawValue, va: at))
            if !pte.isLeaf && depth < 2 && kernel.allocationSite(of: pte.pa.rawValue) != nil {
                read(kernel, pte.pa, depth: depth + 1, va: at)
            }
        }
    }

    /// The leaf mapping `va`, a 4 KiB page or a superpage above it.
    func leaf(_ va: UInt64) -> Int? {
        for (depth, shift) in [(2, 12), (1, 21), (0, 30)] as [(Int, UInt64)] {
            if let i = leafAt[(va >> shift) << shift], entries[i].depth == depth { return i }
        }
        return nil
    }

    mutating func markOnce(_ i: Int, _ line: Int, _ reason: String) {
        if entries[i].mark == nil { entries[i].mark = TableMark(line: line, reason: reason) }
    }

    /// Marks the PTEs the operation's events contradict (the first contradiction of each
    /// wins): maps, unmaps and kallocs from log line `from` on; frees wherever they come, of
    /// pages whose va the operation never unmaps from this table, nor frees the table.
    /// Then, what the model's departing probe `model` does to this table that the kernel
    /// never does in the operation: free the table, or unmap a PTE.
    mutating func mark(_ probes: [Probe], from: Int, model: Probe?) {
        for p in probes {
            switch p.kind {
            case .unmap where p.pt == root:
                unmapped.append(Self.span(p.va, pages: UInt64(max(0, p.n))))
            case .freewalk where p.pt == root, .kvmFree where p.pt == root: freed = true
            default: break
            }
        }
        for p in probes where p.line >= from || p.kind == .kfree { mark(p) }
        if let m = model { mark(probes, from: from, modelProbe: m) }
    }

    /// What the model's departing probe `m` frees or unmaps in this table that the kernel's
    /// `probes` never free or unmap.
    private mutating func mark(_ probes: [Probe], from: Int, modelProbe m: Probe) {
        let page = m.kind == .kfree ? m.pa : m.pt
        let kernelFrees = probes.contains { ($0.kind == .kfree && $0.pa == page) || (($0.kind == .freewalk || $0.kind == .kvmFree) && $0.pt == page) }
        switch m.kind {
        case .freewalk, .kvmFree, .kfree:
            guard !kernelFrees else { return }
            let who = m.kind == .kfree ? "the model" : "the model's \(m.kind.rawValue)"
            let never = "; your kernel never frees it in this operation"
            if page == root && rootMark == nil {
                rootMark = TableMark(line: from, reason: "\(who) frees this table here" + never)
            }
            for i in pointingAt[page] ?? [] where m.kind == .kfree || !entries[i].isLeaf {
                markOnce(i, from, "\(who) frees this \(entries[i].isLeaf ? "" : "table ")page here" + never)
            }
        case .unmap where m.pt == root: break
        default: return
        }
        guard m.kind == .unmap else { return }
        for (va, i) in leaves(m.va, pages: UInt64(max(0, m.n))) where !isUnmapped(va) {
            markOnce(i, from, "the model unmaps va \(hex16(va)) here; your kernel never does in this operation")
        }
    }

    private mutating func mark(_ p: Probe) {
        switch p.kind {
        case .map where p.pt == root: markMap(p)
        case .unmap where p.pt == root: markUnmap(p)
        case .kfree, .kalloc:
            guard !freed else { return }
            let verb = p.kind == .kfree ? "frees" : "allocates"
            if p.pa == root && rootMark == nil {
                rootMark = TableMark(line: p.line, reason: "your kernel \(verb) this root page while the model still holds it")
            }
            for i in pointingAt[p.pa] ?? [] where !(entries[i].isLeaf && isUnmapped(entries[i].va)) {
                let e = entries[i]
                markOnce(i, p.line, !e.isLeaf ? "your kernel \(verb) this table page while this PTE points at it"
                    : p.kind == .kalloc ? "your kernel allocates this page while this PTE maps it (va \(hex16(e.va)))"
                    : "your kernel frees this page and never unmaps va \(hex16(e.va)) from this table: a stale mapping")
            }
        default: break
        }
    }

    private mutating func markMap(_ p: Probe) {
        let first = pageRoundDown(p.va)
        let count = p.size == 0 ? 0 : ((p.va &+ p.size &- 1) >> 12) &- (p.va >> 12) &+ 1
        let found = leaves(first, pages: count)
        let absent = count - UInt64(found.count)
        for (va, i) in found {
            let pa = pageRoundDown(p.pa) &+ (va &- first)
            let pte = PTE(rawValue: entries[i].pte)
            if pte.pa.rawValue &+ (va - entries[i].va) != pa {
                markOnce(i, p.line, "your kernel maps va \(hex16(va)) to pa \(hex16(pa))")
            } else if (p.perm | 1) & 0x3f != entries[i].pte & 0x3f {
                markOnce(i, p.line, "your kernel maps va \(hex16(va)) with perm 0x\(String(p.perm, radix: 16))")
            }
        }
        guard absent > 0 else { return }
        let of = absent == count ? (count == 1 ? "" : "any of ") : "\(pages(absent, unit: false)) of "
        missing.append(TableMark(line: p.line, reason: "your kernel maps \(pages(count)) at va \(hex16(p.va)) "
                                 + "to pa \(hex16(p.pa)); the model has no PTE for \(of)\(count == 1 ? "it" : "them")"))
    }

    private mutating func markUnmap(_ p: Probe) {
        let count = UInt64(max(0, p.n))
        let absent = count - UInt64(leaves(p.va, pages: count).count)
        guard absent > 0 else { return }
        let of = absent == count ? (count == 1 ? "" : "any of ") : "\(pages(absent, unit: false)) of "
        missing.append(TableMark(line: p.line, reason: "your kernel unmaps \(pages(count)) at va \(hex16(p.va)); "
                                 + "the model has no PTE for \(of)\(count == 1 ? "it" : "them")"))
    }

    /// The table as shown: whole when small, else the paths to the marked PTEs.
    func dump(_ name: String) -> TableDump {
        let whole = entries.count <= DepartureTables.wholeUpTo
        var shown = entries
        if !whole {
            shown = TablesRead.onPaths(entries.map(\.depth)) { entries[$0].mark != nil }.map { entries[$0] }
        }
        return TableDump(name: name, root: root, total: entries.count, shown: shown, whole: whole,
                         missing: missing, rootMark: rootMark, freed: freedRoot)
    }
}

extension Replay {
    /// The processes an operation acts on, the likeliest first: the child a wait reaps
    /// (`reaped`, from its wait line) or a fork makes, else the process doing it.
    static func actedOn(_ op: LogOperation, reaped: Int?) -> [Int] {
        switch op.kind {
        case .wait: return (reaped.map { [$0] } ?? []) + [op.pid]
        case .fork where !op.forkFailed: return (op.child.map { [$0] } ?? []) + [op.pid]
        case .boot: return []
        default: return [op.pid]
        }
    }
}
