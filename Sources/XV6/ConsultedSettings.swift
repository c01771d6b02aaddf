/// The kernel's settings, read through a record of which ones were read: a setting the run
/// never came to (`free_kernel_pagetable` when no process is freed) changed nothing, and the
/// command line says so rather than let a student conclude the bug is not there.
@dynamicMemberLookup
public final class ConsultedSettings {
    public let values: KernelSettings
    /// Bit `o` set: the field at byte offset `o` of `KernelSettings` was read.
    private(set) var read: UInt64

    init(_ values: KernelSettings, read: UInt64 = 0) {
        self.values = values
        self.read = read
    }

    /// Inlined always: at a call site with a literal key path (`settings.lazyAllocation`) the
    /// offset and the read fold to a bit set and a load. Not inlined, each read went through
    /// the runtime's key-path projection and generic metadata: a seventh of a long replay.
    @inline(__always)
    public subscript<T>(dynamicMember path: KeyPath<KernelSettings, T>) -> T {
        if let o = MemoryLayout<KernelSettings>.offset(of: path), o < 64 { read |= 1 << UInt64(o) }
        return values[keyPath: path]
    }

    /// Whether the kernel has read this setting since boot.
    public func consulted(_ s: KernelSettings.Setting) -> Bool {
        s.offset >= 0 && s.offset < 64 && read & (1 << UInt64(s.offset)) != 0
    }
}

extension Kernel {
    /// The settings that differ from `preset` and that this run never read: they cannot
    /// have changed anything it did. In catalogue order.
    public func unconsulted(comparedTo preset: KernelSettings) -> [KernelSettings.Setting] {
        KernelSettings.catalogue.filter { s in
            s.value(in: settings.values) != s.value(in: preset) && !settings.consulted(s)
        }
    }
}
