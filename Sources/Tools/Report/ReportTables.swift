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
    /// The index in `records` of each recorded page's 512 words (by page number from the
    /// memory's base; -1: not recorded). Arrays, not dictionaries: hashing page addresses
    /// took a fifth of the report of full-scale reparent2.
    private var recordAt: [Int32]
    private var records: [[UInt64]] = []
    /// A page's words as the memory holds them, kept between comparisons.
    private var spare: [UInt64] = []
    /// How many roots and pointer PTEs reach each followed page (0: not followed), and at
    /// which level, by page number.
    private var followCount: [Int32]
    private var followLevel: [Int8]
    /// The `record` call that last compared each page (by page number): a page compared
    /// when it was first followed is not compared again in that call (nothing writes
    /// memory between), which took a third of the comparisons of a fork's new tables.
    private var comparedIn: [Int32]
    private var calls: Int32 = 0
    private var roots: [UInt64: Int] = [:]
    /// The changes of the event being recorded.
    package var changes: [Change] = []

    package init(memory: PhysicalMemory) {
        self.memory = memory
        recordAt = Array(repeating: -1, count: memory.pageCount)
        followCount = Array(repeating: 0, count: memory.pageCount)
        followLevel = Array(repeating: 0, count: memory.pageCount)
        comparedIn = Array(repeating: 0, count: memory.pageCount)
    }

    /// The page number of `page` in the memory, nil outside it.
    @inline(__always) private func number(_ page: UInt64) -> Int? {
        let d = page &- memory.base.rawValue
        return page >= memory.base.rawValue && d >> 12 < UInt64(memory.pageCount) ? Int(d >> 12) : nil
    }

    /// Records what changed since the last call: the roots now live, and the pages written.
    func record(roots now: [PhysAddr], written: [Int]) -> [Change] {
        changes = []
        calls &+= 1
        var want: [UInt64: Int] = [:]
        for r in now where memory.contains(r, length: pageSize) { want[r.rawValue, default: 0] += 1 }
        for (r, n) in roots.sorted(by: { $0.key < $1.key }) where want[r] != n {
            for _ in 0..<n { unfollow(r, level: 2) }
        }
        for (r, n) in want.sorted(by: { $0.key < $1.key }) where roots[r] != n {
            for _ in 0..<n { follow(r, level: 2) }
        }
        roots = want
        let pages = written.filter { followCount[$0] > 0 }.sorted()
        for level in [2, 1, 0] {
            for n in pages where followCount[n] > 0 && Int(followLevel[n]) == level && comparedIn[n] != calls {
                compare(memory.base.rawValue + UInt64(n) * pageSize, number: n, level: level)
            }
        }
        return changes
    }

    /// One more way to reach `page`; the first compares it and follows its pointers.
    private func follow(_ page: UInt64, level: Int) {
        guard let n = number(page) else { return }
        followCount[n] += 1
        if followCount[n] > 1 { return }
        followLevel[n] = Int8(level)
        compare(page, number: n, level: level, followingAll: true)
    }

    /// One way less to reach `page`; the last lets go of the pages below it.
    private func unfollow(_ page: UInt64, level: Int) {
        guard let n = number(page), followCount[n] > 0 else { return }
        followCount[n] -= 1
        guard followCount[n] == 0, level > 0, recordAt[n] >= 0 else { return }
        for pte in records[Int(recordAt[n])] where Self.isPointer(pte) { unfollow(Self.child(pte), level: level - 1) }
    }

    /// Compares `page` (page number `n`) with its record, records the runs that changed, and
    /// follows pointers that appeared (all of them with `followingAll`) and lets go of those
    /// that went. The record and the page are taken out of `self` while they are compared,
    /// so that the loop works on two local arrays. With the arrays by page number and
    /// `comparedIn`, the report of full-scale reparent2 takes 0.63 of the CPU time it took
    /// (farm-bench, 5 pairs).
    private func compare(_ page: UInt64, number n: Int, level: Int, followingAll: Bool = false) {
        let r: Int
        if recordAt[n] >= 0 { r = Int(recordAt[n]) } else {
            r = records.count
            records.append(Array(repeating: 0, count: 512))
            recordAt[n] = Int32(r)
        }
        comparedIn[n] = calls
        let old = records[r]
        var now = spare
        records[r] = []; spare = []
        if now.count != 512 { now = Array(repeating: 0, count: 512) }
        memory.readPage(PhysAddr(page), into: &now)
        var gone: [UInt64] = [], came: [UInt64] = []
        Self.diff(old, now, page: page, pointers: level > 0 && !followingAll, changes: &changes, gone: &gone, came: &came)
        if level > 0 && followingAll {
            for pte in now where Self.isPointer(pte) { came.append(pte) }
        }
        records[r] = now; spare = old   // `diff` found every entry that differs: the page is its record now
        guard level > 0 else { return }
        for pte in gone { unfollow(Self.child(pte), level: level - 1) }
        for pte in came {
            let c = Self.child(pte)
            if memory.contains(PhysAddr(c), length: pageSize) { follow(c, level: level - 1) }
        }
    }

    /// Finds where `old` differs from `now`, appending the runs that changed to `changes` and,
    /// with `pointers`, the pointer PTEs that went to `gone` and those that came to `came`.
    /// On buffers, not arrays: the checked loops over arrays were 10 % of the report of
    /// full-scale reparent2.
    private static func diff(_ old: [UInt64], _ now: [UInt64], page: UInt64, pointers: Bool,
                             changes: inout [Change], gone: inout [UInt64], came: inout [UInt64]) {
        precondition(old.count == 512 && now.count == 512)
        old.withUnsafeBufferPointer { o in
            now.withUnsafeBufferPointer { w in
                var i = 0
                while i < 512 {
                    if o[i] == w[i] { i += 1; continue }
                    let run = runLength(o, w, from: i)
                    changes.append(Change(page: page, index: i, count: run.count, old: o[i], oldStep: run.oldStep,
                                          new: w[i], newStep: run.newStep))
                    if pointers {
                        for j in i..<i + run.count {
                            if isPointer(o[j]) { gone.append(o[j]) }
                            if isPointer(w[j]) { came.append(w[j]) }
                        }
                    }
                    i += run.count
                }
            }
        }
    }

    /// How many entries from `i` changed with the old and new values each stepping evenly:
    /// 1, or a run of 3 or more.
    private static func runLength(_ old: UnsafeBufferPointer<UInt64>, _ now: UnsafeBufferPointer<UInt64>,
                                  from i: Int) -> (count: Int, oldStep: UInt64, newStep: UInt64) {
        guard i + 2 < 512, old[i + 1] != now[i + 1], old[i + 2] != now[i + 2] else { return (1, 0, 0) }
        let os = old[i + 1] &- old[i], ns = now[i + 1] &- now[i]
        var j = i + 1, o = old[i + 1], n = now[i + 1]
        while j < 512, old[j] == o, now[j] == n, o != n { j += 1; o &+= os; n &+= ns }
        return j - i >= 3 ? (j - i, os, ns) : (1, 0, 0)
    }

    /// A valid PTE with R, W and X clear: it points at a lower table.
    static func isPointer(_ pte: UInt64) -> Bool { pte & 0xf == 1 }
    static func child(_ pte: UInt64) -> UInt64 { (pte >> 10) << 12 }
}
