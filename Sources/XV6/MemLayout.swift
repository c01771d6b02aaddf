import RISCV

/// The physical and virtual memory layout of xv6 on QEMU's `virt` machine.
///
///     physical                              kernel virtual (direct map below PHYSTOP)
///     0x0000_1000  boot ROM                 MAXVA ─ PGSIZE   TRAMPOLINE (kernel text page)
///     0x0200_0000  CLINT                    TRAMPOLINE ─ 2·PGSIZE   KSTACK(0), guard page below
///     0x0c00_0000  PLIC                     TRAMPOLINE ─ 4·PGSIZE   KSTACK(1) ...
///     0x1000_0000  UART0
///     0x1000_1000  VIRTIO0                  user virtual
///     0x8000_0000  KERNBASE: kernel text    MAXVA ─ PGSIZE   TRAMPOLINE (same page, not PTE_U)
///     etext        kernel data              TRAMPOLINE ─ PGSIZE   TRAPFRAME
///     end          free pages (kalloc)      ...
///     PHYSTOP      end of RAM               0: text, data, guard page, stack, heap
public enum MemLayout {
    /// QEMU's UART registers. (xv6: `UART0`)
    public static let uart0: UInt64 = 0x1000_0000
    /// The virtio MMIO disk interface. (xv6: `VIRTIO0`)
    public static let virtio0: UInt64 = 0x1000_1000
    /// The core-local interruptor, which holds the timer. (xv6: `CLINT`)
    public static let clint: UInt64 = 0x0200_0000
    /// Bytes of CLINT the kernel maps.
    public static let clintSize: UInt64 = 0x1_0000
    /// The platform-level interrupt controller. (xv6: `PLIC`)
    public static let plic: UInt64 = 0x0c00_0000
    /// Bytes of PLIC the kernel maps.
    public static let plicSize: UInt64 = 0x40_0000
    /// Where RAM and the kernel image start. (xv6: `KERNBASE`)
    public static let kernbase: UInt64 = 0x8000_0000
    /// The end of RAM the kernel uses: KERNBASE + 128 MiB. (xv6: `PHYSTOP`)
    public static let phystop: UInt64 = kernbase + 128 * 1024 * 1024
    /// The trampoline page, at the highest virtual address. (xv6: `TRAMPOLINE`)
    public static let trampoline: UInt64 = Sv39.maxVA - pageSize
    /// The trapframe page, just below the trampoline in user space. (xv6: `TRAPFRAME`)
    public static let trapframe: UInt64 = trampoline - pageSize

    /// The kernel stack of process slot `p`, each with an unmapped guard page below. (xv6: `KSTACK(p)`)
    public static func kstack(_ p: Int) -> UInt64 { trampoline - UInt64(p + 1) * 2 * pageSize }
}

/// Constants from xv6's `param.h`.
public enum Param {
    /// Maximum number of processes. (xv6: `NPROC`)
    public static let nproc = 64
    /// Maximum number of CPUs. (xv6: `NCPU`)
    public static let ncpu = 8
    /// Maximum exec arguments. (xv6: `MAXARG`)
    public static let maxarg = 32
}

/// The addresses that differ from one build of the kernel to another: where the
/// linker put the end of the text, the trampoline page and the end of the image.
public struct KernelImage: Equatable, Sendable {
    /// First address after the kernel image; kalloc's pages start at PGROUNDUP(end). (xv6: `end`)
    public var end: UInt64
    /// End of the kernel text. (xv6: `etext`)
    public var etext: UInt64
    /// Physical address of the trampoline code page. (xv6: `trampoline`)
    public var trampoline: UInt64
    /// End of the RAM the kernel uses. (xv6: `PHYSTOP`)
    public var phystop: UInt64

    /// A 2020 page-table-lab kernel built with Debian 12's riscv64 gcc 12.2.
    public static let lab2020 = KernelImage(end: 0x8002_7020, etext: 0x8000_8000, trampoline: 0x8000_7000,
                                            phystop: MemLayout.phystop)

    /// A 2020 copy-on-write-lab kernel (Miigon's cow branch), whose count array in .bss
    /// (0x20000 bytes) moves `end`.
    public static let cow2020 = KernelImage(end: 0x8004_6000, etext: 0x8000_8000, trampoline: 0x8000_7000,
                                            phystop: MemLayout.phystop)

    /// A 2020 lazy-lab kernel (Miigon's lazy branch).
    public static let lazy2020 = KernelImage(end: 0x8002_6000, etext: 0x8000_8000, trampoline: 0x8000_7000,
                                             phystop: MemLayout.phystop)

    public init(end: UInt64, etext: UInt64, trampoline: UInt64, phystop: UInt64) {
        self.end = end; self.etext = etext; self.trampoline = trampoline; self.phystop = phystop
    }

    /// Why this image cannot boot, or nil. The simulator refuses what the linker never produces.
    public var problem: String? {
        let k = MemLayout.kernbase
        if phystop <= k || phystop % pageSize != 0 || phystop > k + (1 << 32) {
            return "phystop must be a page-aligned address above 0x80000000 and at most 4 GiB beyond it"
        }
        if etext <= k || etext > end { return "etext must lie after 0x80000000 and not after end" }
        if end >= phystop || pageRoundUp(end) >= phystop { return "end must leave at least one free page below phystop" }
        if trampoline < k || trampoline >= etext || trampoline % pageSize != 0 {
            return "trampoline must be a page-aligned address inside the kernel text [0x80000000, etext)"
        }
        return nil
    }
}
