/// A hart's translation cache. It holds whatever the page-table walk found
/// when the entry was filled, and keeps it, even if the page table in memory
/// changes or satp is written, until `sfence.vma` flushes it. xv6 runs with
/// ASID 0 everywhere, so entries are not tagged by address space: that is
/// exactly why a satp write without `sfence.vma` can translate through the
/// previous table.
public struct TLB: Sendable {
    /// One cached translation of a 4096-byte page.
    public struct Entry: Sendable, Equatable {
        /// The leaf PTE as it was read at fill time.
        public var pte: PTE
        /// Where that PTE lives in physical memory.
        public var pteAddress: PhysAddr
        /// The level of the leaf (0 for a 4 KiB page, 1 or 2 for a superpage).
        public var level: Int
    }

    private var entries: [UInt64: Entry] = [:]

    public init() {}

    /// The cached translation of the page containing `va`, if any.
    public func lookup(_ va: VirtAddr) -> Entry? { entries[va.rawValue >> pageShift] }

    /// Caches the translation of the page containing `va`.
    public mutating func fill(_ va: VirtAddr, _ entry: Entry) { entries[va.rawValue >> pageShift] = entry }

    /// Forgets every translation. (`sfence.vma zero, zero`) Clearing in place costs the
    /// table's capacity, not its count: after one loop over 20,000 pages, every later flush
    /// (two per trap) paid for 20,000 buckets. A large table is dropped instead.
    public mutating func flush() {
        if entries.isEmpty { return }
        if entries.count > 64 { entries = [:] } else { entries.removeAll(keepingCapacity: true) }
    }

    public var count: Int { entries.count }
}
