import RISCV

/// Which table each live page-table root is (`TableRef`), by root: what a trace's `map`,
/// `unmap` and `satp` lines name. A few dozen roots at once (two a process), looked up at
/// every traced mapping and satp write: an open-addressing table keyed by the root's page
/// number, found with a mask and a compare. A `Dictionary` hashed each root through SipHash:
/// 84 M of replay's 1.52 G instructions on cowtest's log, 40 M of a traced reparent2's
/// model thread (callgrind).
package struct TableNames {
    /// Each slot's root plus one (0: empty), and its name.
    private var keys: [UInt64]
    private var names: [TableRef]
    private var count = 0

    package init() {
        keys = Array(repeating: 0, count: 64)
        names = Array(repeating: .unknown, count: 64)
    }

    private var mask: Int { keys.count - 1 }

    /// The first slot to look in for `key`.
    @inline(__always) private func home(_ key: UInt64) -> Int {
        // Roots are pages: their page numbers, mixed, spread over the slots.
        Int(truncatingIfNeeded: ((key >> 12) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// The slot holding `key`, or the empty slot where it would go.
    @inline(__always) private func slot(_ key: UInt64) -> Int {
        var i = home(key)
        while keys[i] != 0 && keys[i] != key { i = (i + 1) & mask }
        return i
    }

    package subscript(root: PhysAddr) -> TableRef? {
        get {
            // A root of all ones has no key: no kernel allocates it, and it names nothing.
            let key = root.rawValue &+ 1
            guard key != 0 else { return nil }
            let i = slot(key)
            return keys[i] == 0 ? nil : names[i]
        }
        set {
            let key = root.rawValue &+ 1
            guard key != 0 else { return }
            let i = slot(key)
            if let name = newValue {
                if keys[i] == 0 {
                    keys[i] = key
                    count += 1
                }
                names[i] = name
                if count * 2 > keys.count { grow() }
            } else if keys[i] != 0 {
                remove(at: i)
            }
        }
    }

    /// Empties slot `i`, moving back each entry after it that would no longer be found.
    private mutating func remove(at i: Int) {
        var hole = i
        var j = (i + 1) & mask
        while keys[j] != 0 {
            let h = home(keys[j])
            // Whether `j`'s home lies cyclically in (hole, j]: then it stays.
            let stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j)
            if !stays {
                keys[hole] = keys[j]
                names[hole] = names[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        keys[hole] = 0
        names[hole] = .unknown
        count -= 1
    }

    private mutating func grow() {
        let old = zip(keys, names).filter { $0.0 != 0 }
        keys = Array(repeating: 0, count: keys.count * 2)
        names = Array(repeating: .unknown, count: keys.count)
        for (key, name) in old {
            let i = slot(key)
            keys[i] = key
            names[i] = name
        }
    }
}
