import Foundation

/// RAM from `base` to `end`, addressed by physical address.
///
/// A page whose bytes are all the same costs no host memory beyond its
/// per-page record: xv6 fills every page it frees with 1s and every page it
/// allocates with 5s before zeroing it, so most pages are uniform most of the
/// time. A uniform page may also hold one exceptional first word, which is
/// where xv6 keeps its free-list link. A page gets 4096 bytes of host memory
/// (a "slot") only when something writes non-uniform content into it, and
/// gives the slot back when it becomes uniform again.
///
/// A page may also be *linear*: words `lo..<hi` hold `first`, `first + step`,
/// `first + 2*step` ... and the rest are uniform. That is a page-table page
/// that maps a run of consecutive physical pages with one permission, as every
/// per-process kernel table's direct map does 64 times over: it is recorded
/// in four numbers instead of 512 writes. Reads compute each word; the first
/// write to the page gives it a slot holding exactly those words.
///
/// `snapshot()` copies the memory in the time it takes to copy the per-page
/// records (34 bytes a page): the copy and the original share every slot, and
/// whichever of them writes a shared slot first gets a copy of it (copy on
/// write). A memory and its snapshots share a `SlotStore`, so they must be used
/// from one thread at a time.
public final class PhysicalMemory {
    public let base: PhysAddr
    public let end: PhysAddr
    public let pageCount: Int
    /// Whether the speed tricks are on (the default): linear pages, runs of PTEs written
    /// straight into a table's page, and visits of valid PTEs that skip what cannot be
    /// valid. Off, every PTE is written and visited one word at a time, through `read64`
    /// and `write64`. The contents are the same either way; a test runs every scenario both
    /// ways and compares the traces.
    public let fastPaths: Bool

    @usableFromInline let fill: UnsafeMutablePointer<UInt8>
    @usableFromInline let slot: UnsafeMutablePointer<Int32>
    @usableFromInline let word0: UnsafeMutablePointer<UInt64>
    @usableFromInline let hasWord0: UnsafeMutablePointer<Bool>
    @usableFromInline let linFirst: UnsafeMutablePointer<UInt64>
    @usableFromInline let linStep: UnsafeMutablePointer<UInt64>
    /// Words `linLo..<linHi` are linear; equal when the page is not.
    @usableFromInline let linLo: UnsafeMutablePointer<UInt16>
    @usableFromInline let linHi: UnsafeMutablePointer<UInt16>
    /// The slots' storage, shared with this memory's snapshots.
    @usableFromInline let store: SlotStore
    /// When set, notes each page written (a report finds what an event changed); not copied by `snapshot`.
    public var writeLog: WriteLog? {
        didSet { for page in 0..<pageCount { hooks[page] = writeLog == nil ? hooks[page] & ~Hook.logged : hooks[page] | Hook.logged } }
    }
    /// The trap path's walks, remembered (see `RememberedWalks`); a snapshot starts without.
    let rememberedWalks = RememberedWalks()
    /// What a write to each page must do besides writing (`Hook`): one byte looked at on every write.
    @usableFromInline let hooks: UnsafeMutablePointer<UInt8>
    /// Advanced by every write to a watched page (see `watchEpoch`).
    @usableFromInline var epoch: UInt64 = 1

    private static let wordsPerPage = Int(pageSize / 8)

    /// RAM of `[base, end)`, all zero, as QEMU presents it at reset.
    public init(base: PhysAddr, end: PhysAddr, fastPaths: Bool = true) {
        precondition(base.pageOffset == 0 && end.pageOffset == 0 && end > base)
        self.base = base
        self.end = end
        self.fastPaths = fastPaths
        pageCount = Int((end.rawValue - base.rawValue) / pageSize)
        fill = .allocate(capacity: pageCount); fill.initialize(repeating: 0, count: pageCount)
        slot = .allocate(capacity: pageCount); slot.initialize(repeating: -1, count: pageCount)
        word0 = .allocate(capacity: pageCount); word0.initialize(repeating: 0, count: pageCount)
        hasWord0 = .allocate(capacity: pageCount); hasWord0.initialize(repeating: false, count: pageCount)
        linFirst = .allocate(capacity: pageCount); linFirst.initialize(repeating: 0, count: pageCount)
        linStep = .allocate(capacity: pageCount); linStep.initialize(repeating: 0, count: pageCount)
        linLo = .allocate(capacity: pageCount); linLo.initialize(repeating: 0, count: pageCount)
        linHi = .allocate(capacity: pageCount); linHi.initialize(repeating: 0, count: pageCount)
        hooks = .allocate(capacity: pageCount); hooks.initialize(repeating: 0, count: pageCount)
        store = SlotStore()
    }

    /// A memory with the same contents as `other`, sharing its slots.
    private init(copying other: PhysicalMemory) {
        base = other.base
        end = other.end
        pageCount = other.pageCount
        fastPaths = other.fastPaths
        func copy<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<T> {
            let q = UnsafeMutablePointer<T>.allocate(capacity: other.pageCount)
            q.initialize(from: p, count: other.pageCount)
            return q
        }
        fill = copy(other.fill); slot = copy(other.slot); word0 = copy(other.word0); hasWord0 = copy(other.hasWord0)
        linFirst = copy(other.linFirst); linStep = copy(other.linStep); linLo = copy(other.linLo); linHi = copy(other.linHi)
        hooks = .allocate(capacity: pageCount); hooks.initialize(repeating: 0, count: pageCount)
        store = other.store
        forEachSlot { store.retain($0) }
    }

    /// A copy of this memory as it is now; later writes to either do not show in the other.
    /// It costs the per-page records, not the pages: slots are shared until written.
    public func snapshot() -> PhysicalMemory { PhysicalMemory(copying: self) }

    deinit {
        forEachSlot { store.release($0) }
        fill.deallocate(); slot.deallocate(); word0.deallocate(); hasWord0.deallocate()
        linFirst.deallocate(); linStep.deallocate(); linLo.deallocate(); linHi.deallocate(); hooks.deallocate()
    }

    /// Calls `body` with the slot of every page that has one. Most pages have none (-1), so
    /// eight pages at a time are passed over when none of them has one.
    @inline(__always) private func forEachSlot(_ body: (Int32) -> Void) {
        var page = 0
        while page < pageCount {
            let end = min(page &+ 8, pageCount)
            var all: Int32 = -1
            for p in page..<end { all &= slot[p] }      // negative only if every slot is
            if all >= 0 { for p in page..<end where slot[p] >= 0 { body(slot[p]) } }
            page = end
        }
    }

    /// Pages that hold a slot of their own or a shared one.
    package var pagesWithSlots: Int { (0..<pageCount).reduce(0) { $0 + (slot[$1] >= 0 ? 1 : 0) } }

    /// Whether `[pa, pa+length)` lies inside RAM.
    @inlinable @inline(__always) public func contains(_ pa: PhysAddr, length: UInt64 = 1) -> Bool {
        pa.rawValue >= base.rawValue && pa.rawValue < end.rawValue && length <= end.rawValue - pa.rawValue
    }

    // MARK: words

    /// The 64-bit little-endian word at `pa`, which must be 8-byte aligned and in RAM.
    @inlinable @inline(__always) public func read64(_ pa: PhysAddr) -> UInt64 {
        let (page, word) = locate(pa)
        let s = slot[page]
        if s >= 0 { return store.words(s)[word] }
        return slotlessWord(page, word)
    }

    /// Word `word` of a page with no slot: its first word, its run, or its fill.
    @inlinable @inline(__always) func slotlessWord(_ page: Int, _ word: Int) -> UInt64 {
        if word == 0 && hasWord0[page] { return word0[page] }
        let w = UInt16(truncatingIfNeeded: word)
        if w >= linLo[page] && w < linHi[page] { return linFirst[page] &+ UInt64(w &- linLo[page]) &* linStep[page] }
        return UInt64(fill[page]) &* 0x0101_0101_0101_0101
    }

    /// Stores a 64-bit little-endian word at `pa`, which must be 8-byte aligned and in RAM.
    @inlinable @inline(__always) public func write64(_ pa: PhysAddr, _ value: UInt64) {
        let (page, word) = locate(pa)
        if hooks[page] != 0 { pageWritten(page) }
        let s = slot[page]
        if s >= 0 { store.words(store.isShared(s) ? unshare(page) : s)[word] = value; return }
        if linHi[page] != linLo[page] {
            materialize(page)[word] = value
            return
        }
        if word == 0 { word0[page] = value; hasWord0[page] = true; return }
        if value == UInt64(fill[page]) &* 0x0101_0101_0101_0101 { return }
        materialize(page)[word] = value
    }

    /// Sets every byte of the page at `pa` (page aligned) to `byte`. (C: `memset(pa, byte, PGSIZE)`)
    public func fillPage(_ pa: PhysAddr, byte: UInt8) {
        let (page, word) = locate(pa)
        precondition(word == 0 && pa.pageOffset == 0, "fillPage: not page aligned")
        if hooks[page] != 0 { pageWritten(page) }
        if slot[page] >= 0 { store.release(slot[page]); slot[page] = -1 }
        fill[page] = byte
        hasWord0[page] = false
        linLo[page] = 0; linHi[page] = 0
    }

    /// Copies the whole page at `src` onto the page at `dst`. (C: `memmove(dst, src, PGSIZE)`)
    public func copyPage(from src: PhysAddr, to dst: PhysAddr) {
        let (sp, _) = locate(src), (dp, _) = locate(dst)
        if sp == dp { return }
        if hooks[dp] != 0 { pageWritten(dp) }
        if slot[sp] < 0 {
            fillPage(dst, byte: fill[sp])
            if hasWord0[sp] { word0[dp] = word0[sp]; hasWord0[dp] = true }
            linFirst[dp] = linFirst[sp]; linStep[dp] = linStep[sp]; linLo[dp] = linLo[sp]; linHi[dp] = linHi[sp]
            return
        }
        // Every word is about to be written: a slot of its own, neither filled nor copied first.
        if slot[dp] < 0 || store.isShared(slot[dp]) {
            if slot[dp] >= 0 { store.release(slot[dp]) }
            slot[dp] = store.take()
            hasWord0[dp] = false
            linLo[dp] = 0; linHi[dp] = 0
        }
        store.words(slot[dp]).update(from: store.words(slot[sp]), count: Self.wordsPerPage)
    }

    /// Whether every byte of the page at `pa` equals `byte`.
    public func pageIsUniform(_ pa: PhysAddr, byte: UInt8) -> Bool {
        let (page, _) = locate(pa)
        let pattern = UInt64(byte) &* 0x0101_0101_0101_0101
        if slot[page] < 0 { return fill[page] == byte && (!hasWord0[page] || word0[page] == pattern) && linLo[page] == linHi[page] }
        let p = store.words(slot[page])
        for i in 0..<Self.wordsPerPage where p[i] != pattern { return false }
        return true
    }

    // MARK: page-table pages

    /// Writes the PTEs `first`, `first + step`, `first + 2*step` ... into entries
    /// `index..<index+count` of the page-table page at `table` (page aligned, in RAM), in
    /// order, and stops before the first entry that is already valid (bit 0 set): a remap.
    /// Returns how many it wrote. With the fast paths on, a run of 32 or more into a page
    /// that holds no valid entry is kept as a linear page.
    public func writePTEs(_ table: PhysAddr, at index: Int, count: Int, first: UInt64, step: UInt64) -> Int {
        let (page, word) = locate(table)
        precondition(word == 0 && table.pageOffset == 0 && index >= 0 && count >= 0 && index + count <= Self.wordsPerPage,
                     "writePTEs: not a run of one page-table page")
        if hooks[page] != 0 { pageWritten(page) }
        if count >= 32 && setLinear(table, from: index, count: count, first: first, step: step) { return count }
        var v = first
        if !fastPaths {
            for i in index..<index + count {
                let at = table + UInt64(i * 8)
                if read64(at) & 1 != 0 { return i - index }
                write64(at, v)
                v &+= step
            }
            return count
        }
        let p = writable(page)
        for i in index..<index + count {
            if p[i] & 1 != 0 { return i - index }
            p[i] = v
            v &+= step
        }
        return count
    }

    /// Calls `body` with the index and value of each word of the page-table page at `table`
    /// (page aligned, in RAM) that has bit 0 set, a valid PTE, in index order; with
    /// `pointersOnly`, only those that also have R, W and X clear (pointers to a lower
    /// table). Each entry is read when the visit reaches it, as a C loop over
    /// `pagetable[i]` reads it, so `body` may write any memory, this page included. With the
    /// fast paths on, it skips the words of a uniform or linear page that cannot be valid
    /// without reading them one by one.
    @inline(__always) public func forEachValidPTE<E: Error>(_ table: PhysAddr, pointersOnly: Bool = false,
                                                            _ body: (Int, UInt64) throws(E) -> Void) throws(E) {
        let mask: UInt64 = pointersOnly ? 0xf : 1
        let page = locate(table).page
        var i = 0
        while let (j, w) = nextValidPTE(page, from: i, mask: mask) {
            try body(j, w)
            i = j + 1
        }
    }

    /// The first word at or after `i` of `page` whose bits under `mask` are just bit 0, as
    /// the page is now.
    @inline(__always) private func nextValidPTE(_ page: Int, from i: Int, mask: UInt64) -> (Int, UInt64)? {
        if i >= Self.wordsPerPage { return nil }
        if slot[page] >= 0 {
            return Self.firstValid(store.words(slot[page]), from: i, mask: mask)
        }
        if !fastPaths || (UInt64(fill[page]) &* 0x0101_0101_0101_0101) & mask == 1 {
            for j in i..<Self.wordsPerPage {
                let w = slotlessWord(page, j)
                if w & mask == 1 { return (j, w) }
            }
            return nil
        }
        // Only the first word and the run can be valid.
        if i == 0 && hasWord0[page] && word0[page] & mask == 1 { return (0, word0[page]) }
        let lo = Int(linLo[page]), hi = Int(linHi[page]), step = linStep[page]
        var j = max(i, lo)
        if j >= hi || (step & 0xf == 0 && linFirst[page] & mask != 1) { return nil }   // the run's low bits never change
        var v = linFirst[page] &+ UInt64(j - lo) &* step
        while j < hi {
            if v & mask == 1 { return (j, v) }
            v &+= step
            j += 1
        }
        return nil
    }

    // MARK: the raw page, for RISCV and its tests only

    /// The 512 words of the page at `pa` (page aligned, in RAM) as writable storage,
    /// giving the page a slot first if it has none. The pointer is valid until the next
    /// call that may allocate a slot (`write64`, `writeByte`, `copyPage`, `pageWords`).
    @inline(__always) package func pageWords(_ pa: PhysAddr) -> UnsafeMutablePointer<UInt64> {
        if hooks[locate(pa).page] != 0 { pageWritten(locate(pa).page) }
        return writable(locate(pa).page)
    }

    /// The page's words if it has a slot (a linear page is given one); nil if it is uniform.
    package func materializedWords(_ pa: PhysAddr) -> UnsafeMutablePointer<UInt64>? {
        let (page, _) = locate(pa)
        if hooks[page] != 0 { pageWritten(page) }   // the caller may write through the pointer
        if slot[page] < 0 && linLo[page] != linHi[page] { return materialize(page) }
        return slot[page] >= 0 ? writable(page) : nil
    }

    /// Makes words `from..<from+count` of the uniform page at `pa` hold `first`, `first +
    /// step` ... (a run of PTEs), without writing them. Only with the fast paths on, and
    /// only for a page with no slot, no exceptional first word and no run yet, whose fill
    /// has bit 0 (a PTE's V) clear, so that every word the run replaces was an invalid PTE;
    /// false (and nothing done) otherwise.
    package func setLinear(_ pa: PhysAddr, from: Int, count: Int, first: UInt64, step: UInt64) -> Bool {
        let (page, _) = locate(pa)
        guard fastPaths, slot[page] < 0, !hasWord0[page], linLo[page] == linHi[page], fill[page] & 1 == 0,
              count >= 2, step != 0, from >= 0, from + count <= Self.wordsPerPage else { return false }
        if hooks[page] != 0 { pageWritten(page) }
        linFirst[page] = first; linStep[page] = step
        linLo[page] = UInt16(from); linHi[page] = UInt16(from + count)
        return true
    }

    /// A linear page's run, and the word all its other entries hold; nil for any other page.
    package func linearRun(_ pa: PhysAddr) -> (first: UInt64, step: UInt64, rest: UInt64)? {
        let (page, _) = locate(pa)
        guard slot[page] < 0, linLo[page] != linHi[page] else { return nil }
        return (linFirst[page], linStep[page], UInt64(fill[page]) &* 0x0101_0101_0101_0101)
    }

    // MARK: private

    @inlinable @inline(__always) func locate(_ pa: PhysAddr) -> (page: Int, word: Int) {
        precondition(contains(pa), "physical address outside RAM")
        let off = pa.rawValue &- base.rawValue
        // Literals, not pageShift and pageSize: this is inlined into other modules, where a global is a call.
        return (Int(truncatingIfNeeded: off >> 12), Int(truncatingIfNeeded: (off & 0xfff) >> 3))
    }

    /// The words of `page`, writable: its own slot, after copying a shared one or giving
    /// a slotless page one.
    @inline(__always) private func writable(_ page: Int) -> UnsafeMutablePointer<UInt64> {
        let s = slot[page]
        if s < 0 { return materialize(page) }
        return store.words(store.isShared(s) ? unshare(page) : s)
    }

    /// Gives `page` a slot of its own holding a copy of the shared one it had; returns it.
    @usableFromInline func unshare(_ page: Int) -> Int32 {
        let old = slot[page]
        let s = store.take()
        store.words(s).update(from: store.words(old), count: Self.wordsPerPage)
        store.release(old)
        slot[page] = s
        return s
    }

    /// Gives `page` a slot holding its current (uniform or linear) content; returns its words.
    @usableFromInline func materialize(_ page: Int) -> UnsafeMutablePointer<UInt64> {
        let s = store.take()
        let p = store.words(s)
        p.update(repeating: UInt64(fill[page]) &* 0x0101_0101_0101_0101, count: Self.wordsPerPage)
        if hasWord0[page] { p[0] = word0[page]; hasWord0[page] = false }
        if linLo[page] != linHi[page] {
            var v = linFirst[page]
            for w in Int(linLo[page])..<Int(linHi[page]) { p[w] = v; v &+= linStep[page] }
            linLo[page] = 0; linHi[page] = 0
        }
        slot[page] = s
        return p
    }
}

/// The 4096-byte slots of a memory and its snapshots, with how many of them hold each
/// slot. Slots come in blocks that never move, so a page's words stay where they are
/// until the page gives its slot up.
@usableFromInline package final class SlotStore {
    @usableFromInline static let slotsPerBlock = 256
    private static let wordsPerBlock = slotsPerBlock * Int(pageSize / 8)
    private static let maxBlocks = 1 << 14           // 4 Mi slots, 16 GiB: far beyond any family's need
    @usableFromInline let blocks: UnsafeMutablePointer<UnsafeMutablePointer<UInt64>>
    private var blockCount = 0
    /// Holders of each slot; 0 for a free one.
    @usableFromInline var holders: UnsafeMutablePointer<Int32>
    private var capacity = 0
    private var free: [Int32] = []

    init() {
        blocks = .allocate(capacity: Self.maxBlocks)
        holders = .allocate(capacity: 0)
    }

    deinit {
        for b in 0..<blockCount { PageStoragePool.shared.give(blocks[b], words: Self.wordsPerBlock) }
        blocks.deallocate()
        holders.deallocate()
    }

    @inlinable @inline(__always) func words(_ s: Int32) -> UnsafeMutablePointer<UInt64> {
        // A slot number is never negative: shifts and masks (256 slots a block, 512 words a page).
        let i = Int(truncatingIfNeeded: UInt32(bitPattern: s))
        return blocks[i &>> 8] + (i & 0xff) &* 512
    }

    @inlinable @inline(__always) func isShared(_ s: Int32) -> Bool { holders[Int(s)] > 1 }

    /// A free slot with one holder; its words are whatever was there.
    func take() -> Int32 {
        if free.isEmpty { grow() }
        let s = free.removeLast()
        holders[Int(s)] = 1
        return s
    }

    @inline(__always) func retain(_ s: Int32) { holders[Int(s)] += 1 }

    @inline(__always) func release(_ s: Int32) {
        holders[Int(s)] -= 1
        if holders[Int(s)] == 0 { free.append(s) }
    }

    /// Adds a block of free slots, lowest numbers taken first.
    private func grow() {
        precondition(blockCount < Self.maxBlocks, "physical memory snapshots hold more than 16 GiB")
        blocks[blockCount] = PageStoragePool.shared.take(words: Self.wordsPerBlock)
        let first = blockCount * Self.slotsPerBlock
        blockCount += 1
        let grown = UnsafeMutablePointer<Int32>.allocate(capacity: capacity + Self.slotsPerBlock)
        grown.moveInitialize(from: holders, count: capacity)
        (grown + capacity).initialize(repeating: 0, count: Self.slotsPerBlock)
        holders.deallocate()
        holders = grown
        capacity += Self.slotsPerBlock
        free.append(contentsOf: (first..<capacity).reversed().map { Int32($0) })
    }
}

/// Storage for machines' pages, handed on from a machine that is done to the next one.
/// Fresh host memory costs a page fault for every page first touched; runs that fill RAM
/// (the out-of-memory scenarios that shrink and sweep run hundreds of times) spent half
/// their time in those faults. The storage is never read before a page is materialized
/// (which writes all of it), so what a previous machine left there cannot show.
package final class PageStoragePool: @unchecked Sendable {
    static let shared = PageStoragePool()
    private let lock = NSLock()
    private var idle: [Int: [UnsafeMutablePointer<UInt64>]] = [:]
    /// Blocks kept per size: enough for one machine per core of this host that filled RAM
    /// (128 MiB of slots each).
    private let keep = 128 * max(2, ProcessInfo.processInfo.activeProcessorCount)

    func take(words: Int) -> UnsafeMutablePointer<UInt64> {
        lock.lock(); defer { lock.unlock() }
        return idle[words]?.popLast() ?? .allocate(capacity: words)
    }

    func give(_ p: UnsafeMutablePointer<UInt64>, words: Int) {
        lock.lock(); defer { lock.unlock() }
        if idle[words, default: []].count < keep { idle[words, default: []].append(p) } else { p.deallocate() }
    }
}
