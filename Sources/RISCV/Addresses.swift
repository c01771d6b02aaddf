/// Physical and virtual addresses as distinct types, so that a physical
/// address can never be passed where the MMU expects a virtual one.

/// The size of a page in bytes. (xv6: `PGSIZE`)
public let pageSize: UInt64 = 4096
/// Bits of offset within a page. (xv6: `PGSHIFT`)
public let pageShift: UInt64 = 12

/// Rounds `a` up to a page boundary, wrapping as C's unsigned arithmetic does. (xv6: `PGROUNDUP`)
@inline(__always) public func pageRoundUp(_ a: UInt64) -> UInt64 { (a &+ pageSize &- 1) & ~(pageSize - 1) }
/// Rounds `a` down to a page boundary. (xv6: `PGROUNDDOWN`)
@inline(__always) public func pageRoundDown(_ a: UInt64) -> UInt64 { a & ~(pageSize - 1) }

/// A physical address. (xv6: a `uint64` holding `pa`)
public struct PhysAddr: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    @inline(__always) public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inline(__always) public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static let zero = PhysAddr(0)
    public static func < (a: PhysAddr, b: PhysAddr) -> Bool { a.rawValue < b.rawValue }
    @inline(__always) public static func + (a: PhysAddr, n: UInt64) -> PhysAddr { PhysAddr(a.rawValue &+ n) }
    @inline(__always) public var pageOffset: UInt64 { rawValue & (pageSize - 1) }
    /// `0x` and sixteen hex digits, as xv6's `printf("%p")` prints it.
    public var description: String { hex16(rawValue) }
}

/// A virtual address. (xv6: a `uint64` holding `va`)
public struct VirtAddr: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    @inline(__always) public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inline(__always) public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (a: VirtAddr, b: VirtAddr) -> Bool { a.rawValue < b.rawValue }
    @inline(__always) public static func + (a: VirtAddr, n: UInt64) -> VirtAddr { VirtAddr(a.rawValue &+ n) }
    @inline(__always) public var pageOffset: UInt64 { rawValue & (pageSize - 1) }
    public var description: String { hex16(rawValue) }
}

/// Formats a value as xv6's `%p` does: `0x` followed by exactly sixteen lower-case hex digits.
public func hex16(_ v: UInt64) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var out = [UInt8](repeating: 0, count: 18)
    out[0] = UInt8(ascii: "0"); out[1] = UInt8(ascii: "x")
    var x = v
    for i in stride(from: 17, through: 2, by: -1) {
        out[i] = digits[Int(x & 0xf)]
        x >>= 4
    }
    return String(decoding: out, as: UTF8.self)
}

/// Formats a value as `0x` and the shortest lower-case hex digits (`0x0` for zero).
public func hexShort(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
