/// The pages of a `PhysicalMemory` written since the log was last taken, each once, in the
/// order first written: what a tool must read again after a step, instead of all of RAM.
public final class WriteLog {
    private var marked: [Bool]
    private var pages: [Int32] = []

    /// A log for a memory of `pageCount` pages.
    public init(pageCount: Int) { marked = Array(repeating: false, count: pageCount) }

    @inline(__always) func note(_ page: Int) {
        if marked[page] { return }
        marked[page] = true
        pages.append(Int32(truncatingIfNeeded: page))
    }

    /// The page numbers (from the memory's base) written since the last call, and forgets them.
    public func take() -> [Int] {
        let out = pages.map { Int($0) }
        for p in pages { marked[Int(p)] = false }
        pages.removeAll(keepingCapacity: true)
        return out
    }
}

extension PhysicalMemory {
    /// Copies the 512 words of the page at `pa` (page aligned, in RAM) into `page`: a
    /// page with a slot in one copy, any other page in its parts.
    public func readPage(_ pa: PhysAddr, into page: inout [UInt64]) {
        precondition(page.count >= Int(pageSize / 8), "readPage: the array holds less than a page")
        page.withUnsafeMutableBufferPointer { readPage(pa, into: $0.baseAddress!) }
    }

    private func readPage(_ pa: PhysAddr, into words: UnsafeMutablePointer<UInt64>) {
        precondition(contains(pa, length: pageSize) && pa.pageOffset == 0, "readPage: not a page of RAM")
        let page = Int(truncatingIfNeeded: (pa.rawValue &- base.rawValue) >> pageShift)
        let n = Int(pageSize / 8)
        if slot[page] >= 0 { words.update(from: store.words(slot[page]), count: n); return }
        // As `slotlessWord` reads it, but a part at a time: its fill, its run over that, then
        // its first word (word by word, this loop was a tenth of a report's time).
        words.update(repeating: UInt64(fill[page]) &* 0x0101_0101_0101_0101, count: n)
        let lo = Int(linLo[page]), hi = min(Int(linHi[page]), n), step = linStep[page]
        var v = linFirst[page]
        if lo < hi { for w in lo..<hi { words[w] = v; v &+= step } }
        if hasWord0[page] { words[0] = word0[page] }
    }

    /// The first word at or after `i` of the page's 512 `words` whose bits under `mask` are
    /// just bit 0. Eight words at a time where none is valid: most of a table is empty, and
    /// the walk of the owners after each event of a report spent most of its time here.
    @inline(__always) static func firstValid(_ p: UnsafeMutablePointer<UInt64>, from i: Int, mask: UInt64) -> (Int, UInt64)? {
        var j = i
        while j < 512 {
            if j & 7 == 0 && (p[j] | p[j + 1] | p[j + 2] | p[j + 3] | p[j + 4] | p[j + 5] | p[j + 6] | p[j + 7]) & 1 == 0 {
                j += 8
                continue
            }
            if p[j] & mask == 1 { return (j, p[j]) }
            j += 1
        }
        return nil
    }
}
