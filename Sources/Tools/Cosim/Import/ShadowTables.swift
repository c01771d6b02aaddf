import RISCV
import Support
import Scenario
import XV6
import CosimLog

/// Which intermediate page-table pages each table root has, as the log shows them: how
/// many kallocs `walk` makes for a mapping.
package struct ShadowTables {
    private struct Root {
        /// VPN[2] of each level-1 table (below 256: va < MAXVA), and for each, in 8 words
        /// from 8 times its index, a bit for the level-0 table of each VPN[1] under it.
        var level1: [UInt16] = []
        var level0: [UInt64] = []
    }
    /// The roots in the first GiB of RAM from KERNBASE, where xv6's pages are, by page
    /// number (a look-up at every map and kfree without a hash), and any other.
    private var near: [Root?] = []
    private var far: [UInt64: Root] = [:]
    private static let nearRAM = MemLayout.kernbase..<(MemLayout.kernbase + (1 << 30))

    /// The table pages walk allocates to map [va, va+size) in `root`, now recorded.
    mutating func walk(_ root: UInt64, _ va: UInt64, _ size: UInt64) -> Int {
        guard size > 0, va < Sv39.maxVA else { return 0 }
        let last = min(va &+ size &- 1, Sv39.maxVA - 1)
        guard last >= va else { return 0 }
        guard let i = Self.page(root) else { return Self.walk(&far[root, default: Root()], va, last) }
        if i >= near.count { near.append(contentsOf: repeatElement(nil, count: max(i + 1, 2 * near.count, 1024) - near.count)) }
        if near[i] == nil { near[i] = Root() }
        // In place: a copy taken out and stored back would copy the root's arrays.
        return Self.walk(&near[i]!, va, last)
    }

    private static func page(_ pa: UInt64) -> Int? {
        nearRAM.contains(pa) && pa & 0xfff == 0 ? Int((pa - nearRAM.lowerBound) >> 12) : nil
    }

    private static func walk(_ r: inout Root, _ va: UInt64, _ last: UInt64) -> Int {
        var owed = 0
        var g = va >> 30
        while g <= last >> 30 {
            var k = r.level1.firstIndex(of: UInt16(g)) ?? -1
            if k < 0 {
                k = r.level1.count
                r.level1.append(UInt16(g))
                r.level0.append(contentsOf: repeatElement(0, count: 8))
                owed += 1
            }
            let lo = g == va >> 30 ? (va >> 21) & 511 : 0
            let hi = g == last >> 30 ? (last >> 21) & 511 : 511
            var m = lo
            while m <= hi {
                let w = 8 * k + Int(m >> 6), bit = UInt64(1) << (m & 63)
                if r.level0[w] & bit == 0 {
                    r.level0[w] |= bit
                    owed += 1
                }
                m += 1
            }
            g += 1
        }
        return owed
    }

    /// A table page freed or allocated anew: forget what it had.
    mutating func forget(_ root: UInt64) {
        if let i = Self.page(root) {
            if i < near.count { near[i] = nil }
        } else if !far.isEmpty {
            far[root] = nil
        }
    }
}
