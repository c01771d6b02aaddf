import XV6
import RISCV

/// A record as the model's thread hands it to the renderer's (`TraceRenderThread`): the
/// frequent kernel events (kalloc, kfree, map, unmap, kvmfree, freewalk, satp, sfence, trap,
/// sched: all but a few lines of a trace) as plain numbers, any other record by its place in
/// the batch's list of others. Plain numbers are copied with a few stores; a `TraceRecord`
/// is copied, and destroyed, through its value witnesses, which cost the model's thread more
/// than rendering the line did (about 100 instructions a record, callgrind).
struct PackedRecord {
    enum Kind: UInt8 { case other, kalloc, kfree, map, unmap, kvmfree, freewalk, satp, sfence, trap, sched }

    var kind: Kind
    /// A table's case (`TableRef`), a satp's writer, a trap's cause, whether unmap frees.
    var tag: UInt8 = 0
    /// A site, or a hart.
    var small: Int32 = 0
    /// A pid (a table's, for map, unmap and satp), or a hart; for `other`, the record's place.
    var pid = 0
    var a: UInt64 = 0, b: UInt64 = 0, c: UInt64 = 0, d: UInt64 = 0, e: UInt64 = 0

    init(other index: Int) {
        kind = .other
        pid = index
    }

    /// `event` as numbers, or nil for an event that is kept as a record.
    @inline(__always) init?(_ event: TraceEvent) {
        switch event {
        case let .kalloc(pa, site, p):
            kind = .kalloc; a = pa.rawValue; small = site; pid = p
        case let .kfree(pa, site, p):
            kind = .kfree; a = pa.rawValue; small = site; pid = p
        case let .mappages(table, root, va, size, pa, perm):
            kind = .map; (tag, pid) = Self.pack(table)
            a = root.rawValue; b = va.rawValue; c = size; d = pa.rawValue; e = perm.rawValue
        case let .uvmunmap(table, root, va, npages, free):
            kind = .unmap; (tag, pid) = Self.pack(table)
            a = root.rawValue; b = va.rawValue; c = npages; d = free ? 1 : 0
        case let .kvmFreeKernelPagetable(pt):
            kind = .kvmfree; a = pt.rawValue
        case let .freewalk(pt):
            kind = .freewalk; a = pt.rawValue
        case let .satp(hart, value, table, by):
            guard let h = Int32(exactly: hart) else { return nil }
            kind = .satp; (tag, pid) = Self.pack(table); small = h; a = value.rawValue
            d = by == .kvminithart ? 0 : by == .scheduler ? 1 : by == .exec ? 2 : 3
        case let .sfence(hart):
            kind = .sfence; pid = hart
        case let .trap(hart, p, cause):
            guard let h = Int32(exactly: hart) else { return nil }
            kind = .trap; small = h; pid = p
            d = cause == .ecall ? 0 : cause == .timer ? 1 : 2
        case let .scheduled(hart, p):
            guard let h = Int32(exactly: hart) else { return nil }
            kind = .sched; small = h; pid = p
        default:
            return nil
        }
    }

    /// The event again (not for `other`).
    @inline(__always) var event: TraceEvent {
        switch kind {
        case .kalloc: return .kalloc(pa: PhysAddr(a), site: small, pid: pid)
        case .kfree: return .kfree(pa: PhysAddr(a), site: small, pid: pid)
        case .map:
            return .mappages(table: table, root: PhysAddr(a), va: VirtAddr(b), size: c, pa: PhysAddr(d), perm: PTE.Flags(rawValue: e))
        case .unmap: return .uvmunmap(table: table, root: PhysAddr(a), va: VirtAddr(b), npages: c, free: d != 0)
        case .kvmfree: return .kvmFreeKernelPagetable(pt: PhysAddr(a))
        case .freewalk: return .freewalk(pt: PhysAddr(a))
        case .satp: return .satp(hart: Int(small), value: Satp(rawValue: a), table: table, by: Self.writers[Int(d)])
        case .sfence: return .sfence(hart: pid)
        case .trap: return .trap(hart: Int(small), pid: pid, cause: Self.causes[Int(d)])
        case .sched: return .scheduled(hart: Int(small), pid: pid)
        case .other: preconditionFailure("a record kept as a record")
        }
    }

    private static let writers: [SatpWriter] = [.kvminithart, .scheduler, .exec, .trampoline]
    private static let causes: [TrapCause] = [.ecall, .timer, .fault]

    @inline(__always) private static func pack(_ t: TableRef) -> (UInt8, Int) {
        switch t {
        case .kernel: return (0, 0)
        case .user(let p): return (1, p)
        case .procKernel(let p): return (2, p)
        case .unknown: return (3, 0)
        }
    }

    @inline(__always) private var table: TableRef {
        switch tag {
        case 0: return .kernel
        case 1: return .user(pid: pid)
        case 2: return .procKernel(pid: pid)
        default: return .unknown
        }
    }
}
