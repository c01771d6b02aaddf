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

/// Watched pages: a remembered walk (the trap path's, the kernel's) keeps the epoch it read
/// its words under, and while `watchEpoch` has not moved, no page it watched has been written
/// since, so its words are what it read, without reading them again. Every write of a
/// page's words comes through the memory (`write64`, `fillPage`, `copyPage`, `writePTEs`,
/// `setLinear`, and the raw page handed out by `pageWords` and `materializedWords`), and a
/// write to a watched page stops watching it and advances the epoch. The watch shares its
/// byte a page with the write log's, so a write looks at one byte for both.
extension PhysicalMemory {
    @usableFromInline enum Hook {
        /// A remembered walk read a word of the page since it was last written.
        @usableFromInline static let watched: UInt8 = 1
        /// A write log is attached (`writeLog`).
        @usableFromInline static let logged: UInt8 = 2
    }

    /// Unchanged as long as no watched page has been written.
    @inlinable public var watchEpoch: UInt64 { epoch }

    /// Watches the page holding `pa` (in RAM) until its next write.
    @inlinable @inline(__always) public func watch(_ pa: UInt64) {
        hooks[locate(PhysAddr(pa)).page] |= Hook.watched
    }

    /// What a write to `page`, whose hook byte is not zero, does besides writing.
    @usableFromInline @inline(never) func pageWritten(_ page: Int) {
        let h = hooks[page]
        if h & Hook.logged != 0 { writeLog?.note(page) }
        if h & Hook.watched != 0 {
            hooks[page] = h & ~Hook.watched
            epoch &+= 1
        }
    }
}
