/// The supervisor address translation and protection register.
///
///     63  60 59            44 43                                0
///     +-----+----------------+-----------------------------------+
///     | MODE|      ASID      |                PPN                |
///     +-----+----------------+-----------------------------------+
public struct Satp: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// MODE value selecting Sv39. (xv6: `SATP_SV39`)
    public static let modeSv39: UInt64 = 8
    /// Translation off.
    public static let bare = Satp(rawValue: 0)

    /// Sv39 translation rooted at `root`, ASID 0. (xv6: `MAKE_SATP`)
    public init(root: PhysAddr) { rawValue = (Satp.modeSv39 << 60) | (root.rawValue >> 12) }

    public var mode: UInt64 { rawValue >> 60 }
    public var asid: UInt64 { (rawValue >> 44) & 0xffff }
    /// The physical address of the root page table.
    public var root: PhysAddr { PhysAddr((rawValue & ((1 << 44) - 1)) << 12) }
    public var translates: Bool { mode == Satp.modeSv39 }
}
