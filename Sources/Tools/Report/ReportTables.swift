import RISCV
import Support
import Scenario
import Run

/// The page-table pages of every live table as a report last recorded them, and what each
/// event changed in them: each page is compared with its record only when the memory says
/// it was written, and only while a live table reaches it. A page no table reaches keeps its
/// last record (the page then shows a removed table as it was), and one reached again is
/// compared with that record, so the changes replayed in order rebuild every table exactly.
package final class ReportTables {
    /// One run of changed entries of a table page: entries `index..<index+count` went from
    /// `old`, `old + oldStep` ... to `new`, `new + newStep` ...
    package struct Change: Equatable {
        package var page: UInt64
        package var index: Int
        package var count: Int
        package var old: UInt64, oldStep: UInt64
        package var new: UInt64, newStep: UInt64
        package init(page: UInt64, index: Int, count: Int, old: UInt64, oldStep: UInt64, new: UInt64, newStep: UInt64) {
            self.page = page; self.index = index; self.count = count
            self.old = old; self.oldStep = oldStep; self.new = new; self.newStep = newStep
        }
    }

    private let memory: PhysicalMemory
    /// Where each recorded page's 512 words begin in `slab`.
    private var recordAt: [UInt64: Int] = [:]
    private var slab: [UInt64] = []
    /// The page being compared, as the memory holds it now.
    private var now = [UInt64](repeating: 0, count: 512)
    /// How many roots and pointer PTEs reach each followed page, and at which level.
    private var follows: [UInt64: (count: Int, level: Int)] = [:]
    private var roots: [UInt64: Int] = [:]
    /// The changes of the event being recorded.
    package var changes: [Change] = []

    package init(memory: PhysicalMemory) { self.memory = memory }

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
        guard level > 0, let at = recordAt[page] else { return }
        for i in at..<at + 512 where Self.isPointer(slab[i]) { unfollow(Self.child(slab[i]), level: level - 1) }
    }

    /// Compares `page` with its record, records the runs that changed, and follows pointers
    /// that appeared (all of them with `followingAll`) and lets go of those that went.
    private func compare(_ page: UInt64, level: Int, followingAll: Bool = false) {
        let at: Int
        if let a = recordAt[page] { at = a } else {
            at = slab.count
            slab.append(contentsOf: repeatElement(0, count: 512))
            recordAt[page] = at
        }
        memory.readPage(PhysAddr(page), into: &now)
        var gone: [UInt64] = [], came: [UInt64] = []
        var i = 0
        while i < 512 {
            if slab[at + i] == now[i] { i += 1; continue }
            let run = runLength(at, from: i)
            changes.append(Change(page: page, index: i, count: run.count, old: slab[at + i], oldStep: run.oldStep,
                                  new: now[i], newStep: run.newStep))
            for j in i..<i + run.count {
                if level > 0 && !followingAll {
                    if Self.isPointer(slab[at + j]) { gone.append(slab[at + j]) }
                    if Self.isPointer(now[j]) { came.append(now[j]) }
                }
                slab[at + j] = now[j]
            }
            i += run.count
        }
        guard level > 0 else { return }
        if followingAll {
            for j in 0..<512 where Self.isPointer(now[j]) { came.append(now[j]) }
        }
        for pte in gone { unfollow(Self.child(pte), level: level - 1) }
        for pte in came {
            let c = Self.child(pte)
            if memory.contains(PhysAddr(c), length: pageSize) { follow(c, level: level - 1) }
        }
    }

    /// How many entries from `i` changed with the old and new values each stepping evenly:
    /// 1, or a run of 3 or more.
    private func runLength(_ at: Int, from i: Int) -> (count: Int, oldStep: UInt64, newStep: UInt64) {
        guard i + 2 < 512, slab[at + i + 1] != now[i + 1], slab[at + i + 2] != now[i + 2] else { return (1, 0, 0) }
        let os = slab[at + i + 1] &- slab[at + i], ns = now[i + 1] &- now[i]
        var j = i + 1
        while j < 512, slab[at + j] != now[j], slab[at + j] == slab[at + i] &+ UInt64(j - i) &* os,
              now[j] == now[i] &+ UInt64(j - i) &* ns { j += 1 }
        return j - i >= 3 ? (j - i, os, ns) : (1, 0, 0)
    }

    /// A valid PTE with R, W and X clear: it points at a lower table.
    static func isPointer(_ pte: UInt64) -> Bool { pte & 0xf == 1 }
    static func child(_ pte: UInt64) -> UInt64 { (pte >> 10) << 12 }
}
