import RISCV

/// The page-table pages of every live table as a report last recorded them, and what each
/// event changed in them: each page is compared with its record only when the memory says
/// it was written, and only while a live table reaches it. A page no table reaches keeps its
/// last record (the page then shows a removed table as it was), and one reached again is
/// compared with that record, so the changes replayed in order rebuild every table exactly.
final class ReportTables {
    /// One run of changed entries of a table page: entries `index..<index+count` went from
    /// `old`, `old + oldStep` ... to `new`, `new + newStep` ...
    struct Change: Equatable {
        var page: UInt64
        var index: Int
        var count: Int
        var old: UInt64, oldStep: UInt64
        var new: UInt64, newStep: UInt64
    }

    private let memory: PhysicalMemory
    private var words: [UInt64: [UInt64]] = [:]
    /// How many roots and pointer PTEs reach each followed page, and at which level.
    private var follows: [UInt64: (count: Int, level: Int)] = [:]
    private var roots: [UInt64: Int] = [:]
    /// The changes of the event being recorded.
    private(set) var changes: [Change] = []

    init(memory: PhysicalMemory) { self.memory = memory }

    /// Records what changed since the last call: the roots now live, and the pages written.
    func record(roots now: [PhysAddr], written: [Int]) -> [Change] {
        changes = []
        var want: [UInt64: Int] = [:]
        for r in now where memory.contains(r, length: pageSize) { want[r.rawValue, default: 0] += 1 }
        for (r, n) in roots.sorted(by: { $0.key < $1.key }) where want[r] != n {
            for _ in 0..<n { unfollow(r, level: 2) }
        }
        for (r, n) in want.sorted(by: { $0.key < $1.key }) where roots[r] != n {
            for _ in 0..<n { follow(r, level: 2) }
        }
        roots = want
        let pages = written.map { memory.base.rawValue + UInt64($0) * pageSize }.sorted()
        for level in [2, 1, 0] {
            for page in pages where follows[page]?.level == level { compare(page, level: level) }
        }
        return changes
    }

    /// One more way to reach `page`; the first compares it and follows its pointers.
    private func follow(_ page: UInt64, level: Int) {
        if let f = follows[page] { follows[page] = (f.count + 1, f.level); return }
        follows[page] = (1, level)
        compare(page, level: level, followingAll: true)
    }

    /// One way less to reach `page`; the last lets go of the pages below it.
    private func unfollow(_ page: UInt64, level: Int) {
        guard let f = follows[page] else { return }
        if f.count > 1 { follows[page] = (f.count - 1, f.level); return }
        follows[page] = nil
        guard level > 0, let w = words[page] else { return }
        for pte in w where Self.isPointer(pte) { unfollow(Self.child(pte), level: level - 1) }
    }

    /// Compares `page` with its record, records the runs that changed, and follows pointers
    /// that appeared (all of them with `followingAll`) and lets go of those that went.
    private func compare(_ page: UInt64, level: Int, followingAll: Bool = false) {
        var record = words[page] ?? Array(repeating: 0, count: 512)
        var changed: [(Int, UInt64, UInt64)] = []
        let now = (0..<512).map { memory.read64(PhysAddr(page + UInt64($0) * 8)) }
        for i in 0..<512 where record[i] != now[i] { changed.append((i, record[i], now[i])) }
        if !changed.isEmpty || words[page] == nil {
            for (i, _, new) in changed { record[i] = new }
            words[page] = record
        }
        appendRuns(page, changed)
        guard level > 0 else { return }
        if followingAll {
            for pte in now where Self.isPointer(pte) { followChild(pte, level - 1) }
            return
        }
        for (_, old, new) in changed where old != new {
            if Self.isPointer(old) { unfollow(Self.child(old), level: level - 1) }
            if Self.isPointer(new) { followChild(new, level - 1) }
        }
    }

    private func followChild(_ pte: UInt64, _ level: Int) {
        let c = Self.child(pte)
        if memory.contains(PhysAddr(c), length: pageSize) { follow(c, level: level) }
    }

    /// Groups changed entries into runs of 3 or more whose old and new values each step evenly.
    private func appendRuns(_ page: UInt64, _ changed: [(Int, UInt64, UInt64)]) {
        var k = 0
        while k < changed.count {
            let (i, o, n) = changed[k]
            var c = Change(page: page, index: i, count: 1, old: o, oldStep: 0, new: n, newStep: 0)
            if k + 2 < changed.count, changed[k + 2].0 == i + 2 {
                let os = changed[k + 1].1 &- o, ns = changed[k + 1].2 &- n
                var j = k + 1
                while j < changed.count, changed[j].0 == i + (j - k),
                      changed[j].1 == o &+ UInt64(j - k) &* os, changed[j].2 == n &+ UInt64(j - k) &* ns { j += 1 }
                if j - k >= 3 { c.count = j - k; c.oldStep = os; c.newStep = ns }
            }
            changes.append(c)
            k += c.count
        }
    }

    /// A valid PTE with R, W and X clear: it points at a lower table.
    static func isPointer(_ pte: UInt64) -> Bool { pte & 0xf == 1 }
    static func child(_ pte: UInt64) -> UInt64 { (pte >> 10) << 12 }
}
