/// A page-table entry, as the hardware reads it.
///
///     63      54 53                      10 9   8 7 6 5 4 3 2 1 0
///     +---------+--------------------------+-----+-+-+-+-+-+-+-+-+
///     | reserved|           PPN            | RSW |D|A|G|U|X|W|R|V|
///     +---------+--------------------------+-----+-+-+-+-+-+-+-+-+
public struct PTE: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt64
    @inline(__always) public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The permission and status bits of a PTE.
    public struct Flags: OptionSet, Hashable, Sendable {
        public let rawValue: UInt64
        @inline(__always) public init(rawValue: UInt64) { self.rawValue = rawValue }
        /// xv6: `PTE_V`
        public static let valid = Flags(rawValue: 1 << 0)
        /// xv6: `PTE_R`
        public static let read = Flags(rawValue: 1 << 1)
        /// xv6: `PTE_W`
        public static let write = Flags(rawValue: 1 << 2)
        /// xv6: `PTE_X`
        public static let execute = Flags(rawValue: 1 << 3)
        /// xv6: `PTE_U`
        public static let user = Flags(rawValue: 1 << 4)
        /// Global mapping.
        public static let global = Flags(rawValue: 1 << 5)
        /// Accessed: set by the hardware on any access through this PTE.
        public static let accessed = Flags(rawValue: 1 << 6)
        /// Dirty: set by the hardware on a store through this PTE.
        public static let dirty = Flags(rawValue: 1 << 7)

        /// `rwxugad`, with `-` for each bit that is clear: fixed width, so trace columns line up.
        public var letters: String {
            let names: [(Flags, Character)] = [(.read, "r"), (.write, "w"), (.execute, "x"), (.user, "u"),
                                                (.global, "g"), (.accessed, "a"), (.dirty, "d")]
            return String(names.map { contains($0.0) ? $0.1 : "-" })
        }
    }

    /// A PTE pointing at `pa` with `flags`. (xv6: `PA2PTE(pa) | perm`)
    @inline(__always) public init(pa: PhysAddr, flags: Flags) {
        rawValue = ((pa.rawValue >> 12) << 10) | flags.rawValue
    }

    /// The physical address this PTE points at. (xv6: `PTE2PA`)
    @inline(__always) public var pa: PhysAddr { PhysAddr((rawValue >> 10) << 12) }
    /// The low ten bits. (xv6: `PTE_FLAGS`)
    @inline(__always) public var flags: Flags { Flags(rawValue: rawValue & 0x3ff) }
    @inline(__always) public var isValid: Bool { rawValue & Flags.valid.rawValue != 0 }
    /// A valid PTE with any of R, W, X set maps a page; with none it points to the next table.
    @inline(__always) public var isLeaf: Bool { rawValue & 0b1110 != 0 }
}
