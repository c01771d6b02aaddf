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
    public mutating func writeSatp(_ value: Satp) {
        satp = value
        satpWrittenSinceFence = true
    }

    /// `sfence.vma zero, zero`: flushes every cached translation.
    public mutating func sfenceVMA() {
        tlb.flush()
        satpWrittenSinceFence = false
    }
}
