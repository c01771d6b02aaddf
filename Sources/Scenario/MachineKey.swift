import XV6
import RISCV
import Support

/// The kernel image's addresses and the machine's harts: the keys a scenario's `kernel:`
/// takes beside `variant` and the settings. One table for every place that reads or writes
/// them: the compiler, `--set`, the schema, `xv6vm variants`, trace headers, and the
/// scenarios shrink and import write. In the order they are listed and suggested.
public enum MachineKey: String, CaseIterable, Sendable {
    case end, etext, trampoline, phystop, harts

    /// The values it takes.
    var range: ClosedRange<UInt64> { self == .harts ? 1...UInt64(Param.ncpu) : 0...UInt64.max }

    /// An address, written in hex; else (harts) a count, written in decimal.
    package var isAddress: Bool { self != .harts }

    /// What it is, for `xv6vm variants`.
    var meaning: String {
        switch self {
        case .end: "the kernel's end symbol: kinit frees the pages from here"
        case .etext: "the end of kernel text (mapped r-x)"
        case .trampoline: "the physical page of the trampoline"
        case .phystop: "the end of RAM (at most 4 GiB above 0x80000000)"
        case .harts: "harts (QEMU's -smp), 1 to \(Param.ncpu)"
        }
    }

    package func value(in c: KernelConfig) -> UInt64 {
        switch self {
        case .end: c.image.end
        case .etext: c.image.etext
        case .trampoline: c.image.trampoline
        case .phystop: c.image.phystop
        case .harts: UInt64(c.harts)
        }
    }

    /// Sets it in `c`; `v` is in `range`.
    func set(_ v: UInt64, in c: inout KernelConfig) {
        switch self {
        case .end: c.image.end = v
        case .etext: c.image.etext = v
        case .trampoline: c.image.trampoline = v
        case .phystop: c.image.phystop = v
        case .harts: c.harts = Int(v)
        }
    }

    /// Its value in `c` as scenarios and `--set` write it: `0x80030000`, `2`.
    package func written(_ c: KernelConfig) -> String {
        isAddress ? hexShort(value(in: c)) : String(value(in: c))
    }

    /// Its value in `c` as trace headers and `xv6vm variants` show it: 16 hex digits for an address.
    package func shown(_ c: KernelConfig) -> String {
        isAddress ? hex16(value(in: c)) : String(value(in: c))
    }

    /// The keys a scenario's `kernel:` takes before the settings: `variant`, then these.
    static let kernelKeys = ["variant"] + allCases.map(\.rawValue)
}
