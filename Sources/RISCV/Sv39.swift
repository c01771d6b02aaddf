/// Sv39: three levels of 512-entry page tables translate a 39-bit virtual address.
///
///     38        30 29        21 20        12 11           0
///     +-----------+-----------+-----------+--------------+
///     |  VPN[2]   |  VPN[1]   |  VPN[0]   | page offset  |
///     +-----------+-----------+-----------+--------------+
public enum Sv39 {
    /// Entries in one page-table page.
    public static let entriesPerTable = 512
    /// Bytes in one PTE.
    public static let pteSize: UInt64 = 8
    /// Levels of page table (2 is the root).
    public static let levels = 3
    /// One beyond the highest virtual address xv6 uses: one bit less than Sv39
    /// allows, so that no address needs sign extension. (xv6: `MAXVA`)
    public static let maxVA: UInt64 = 1 << (9 + 9 + 9 + 12 - 1)

    /// The 9-bit index of `va` in a page table of the given level. (xv6: `PX(level, va)`)
    @inlinable @inline(__always) public static func px(_ level: Int, _ va: UInt64) -> Int {
        Int(truncatingIfNeeded: (va >> (pageShift + 9 * UInt64(level))) & 0x1ff)
    }

    /// Whether `va` is a canonical Sv39 address: bits 63..39 all equal bit 38.
    @inlinable @inline(__always) public static func isCanonical(_ va: UInt64) -> Bool {
        let top = va >> 38
        return top == 0 || top == (UInt64.max >> 38)
    }

    /// The index in its table page of the PTE at `address`.
    @inlinable @inline(__always) public static func index(ofPTEAt address: UInt64) -> Int {
        Int(truncatingIfNeeded: (address & (pageSize - 1)) / pteSize)
    }
}
