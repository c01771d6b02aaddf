/// One RISC-V hardware thread: its satp register and its TLB.
public struct Hart: Sendable {
    public let id: Int
    /// The current satp value.
    public private(set) var satp: Satp = .bare
    public var tlb = TLB()
    /// True from a satp write until the next `sfence.vma`: translations made
    /// in between may use entries cached under the previous table.
    public private(set) var satpWrittenSinceFence = false
    /// Whether the last translation on this hart was served by the TLB (false: it walked the table).
    public package(set) var lastTranslationHitTLB = false

    public init(id: Int) { self.id = id }

    /// `csrw satp, value`: switches the root page table. Does not flush the TLB.
    @inline(__always) public mutating func writeSatp(_ value: Satp) {
        satp = value
        satpWrittenSinceFence = true
    }

    /// `sfence.vma zero, zero`: flushes every cached translation.
    @inline(__always) public mutating func sfenceVMA() {
        tlb.flush()
        satpWrittenSinceFence = false
    }
}

/// A machine's harts, each kept in place: the kernel reaches one on every translation, two
/// satp writes and two `sfence.vma`s a trap, and an array of harts checked that its buffer
/// was not shared before each of those writes (sixteen calls a COW fault). Nothing here is
/// shared or copied on write; `all` gives a copy of every hart.
public final class Harts {
    public let count: Int
    @usableFromInline let base: UnsafeMutablePointer<Hart>

    public init(_ harts: [Hart]) {
        count = harts.count
        base = .allocate(capacity: max(1, harts.count))
        base.initialize(from: harts, count: harts.count)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    /// Hart `i`, read or written where it lies.
    @inlinable public subscript(_ i: Int) -> Hart {
        unsafeAddress {
            precondition(i >= 0 && i < count, "no such hart")
            return UnsafePointer(base + i)
        }
        unsafeMutableAddress {
            precondition(i >= 0 && i < count, "no such hart")
            return base + i
        }
    }

    /// A copy of every hart, in order.
    public var all: [Hart] { Array(UnsafeBufferPointer(start: base, count: count)) }
}
