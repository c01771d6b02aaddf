import RISCV
import Support
import Scenario

/// Which intermediate page-table pages each table root has, as the log shows them: how
/// many kallocs `walk` makes for a mapping.
package struct ShadowTables {
    private struct Root {
        /// VPN[2] of each level-1 table; VPN[2] << 9 | VPN[1] of each level-0 table.
        var level1: Set<UInt64> = []
        var level0: Set<UInt64> = []
    }
    private var roots: [UInt64: Root] = [:]
    /// The addresses `roots` holds, for `forget` at every kfree: most pages freed are no
    /// table's root, and a bit says so without a hash.
    private var known = PageSet()

    /// The table pages walk allocates to map [va, va+size) in `root`, now recorded.
    mutating func walk(_ root: UInt64, _ va: UInt64, _ size: UInt64) -> Int {
        guard size > 0, va < Sv39.maxVA else { return 0 }
        let last = min(va &+ size &- 1, Sv39.maxVA - 1)
        guard last >= va else { return 0 }
        known[root] = true
        // In place: a copy taken out and stored back made each new entry copy the sets.
        return Self.walk(&roots[root, default: Root()], va, last)
    }

    private static func walk(_ r: inout Root, _ va: UInt64, _ last: UInt64) -> Int {
        var owed = 0
        var g = va >> 30
        while g <= last >> 30 {
            if r.level1.insert(g).inserted { owed += 1 }
            let lo = g == va >> 30 ? (va >> 21) & 511 : 0
            let hi = g == last >> 30 ? (last >> 21) & 511 : 511
            var m = lo
            while m <= hi {
                if r.level0.insert(g << 9 | m).inserted { owed += 1 }
                m += 1
            }
            g += 1
        }
        return owed
    }

    /// A table page freed or allocated anew: forget what it had.
    mutating func forget(_ root: UInt64) {
        guard known[root] else { return }
        known[root] = false
        roots[root] = nil
    }
}
