import XCTest
import XV6
import RISCV

/// sorablue's design (issue 20, docs/kernel-logs/sorablue-*): TRAPFRAME in the process's
/// kernel table, the kernel stack in both tables, a read-only mirror made inside uvmalloc,
/// and kernel tables freed by proc_freepagetable with a freewalk that stops at leaves.
final class SorablueDesignTests: XCTestCase {
    static let settings = [("kernel_table_layout", "no-clint"), ("process_table_maps_trapframe", "true"),
                           ("kstack_in_global_table", "true"), ("mirror_user_mappings", "in-uvm-read"),
                           ("exec_kernel_table", "fresh-after-user-table"), ("free_kernel_pagetable", "proc-freepagetable"),
                           ("freewalk_stops_at_leaf", "true"), ("kstack_at_slot", "true"),
                           ("freeproc_kernel_table_first", "true"), ("kstack_free", "uvmunmap")]

    func sorablue(_ tweak: (inout KernelSettings) -> Void = { _ in }, sink: TraceSink? = nil) throws -> Kernel {
        var c = KernelConfig(variant: "pgtbl-lab")
        for (key, value) in Self.settings { XCTAssertNil(c.settings.set(key, value)) }
        tweak(&c.settings)
        return try Kernel(config: c, sink: sink)
    }

    func maps(_ rec: Recorder, above va0: UInt64 = 0) -> [String] {
        rec.events.compactMap {
            guard case let .mappages(_, root, va, _, pa, perm) = $0, va.rawValue < MemLayout.clint || va.rawValue >= va0 else { return nil }
            return "\(hexShort(root.rawValue)) \(hexShort(va.rawValue)) \(hexShort(pa.rawValue)) \(hexShort(perm.rawValue))"
        }
    }

    /// userinit as sorablue-boot.log prints it, lines 166-177: the trapframe and the kernel
    /// stack (global table first), then initcode's page, read-only in the kernel table.
    func testAllocprocMapsTheTrapframeAndTheStackInBothTables() throws {
        let rec = Recorder()
        let k = try sorablue(sink: rec)
        _ = try k.userinit()
        XCTAssertEqual(maps(rec, above: MemLayout.kstack(0)).filter { !$0.hasPrefix("0x87fff000 0x3ffffff000") }, [
            "0x87fb6000 0x3ffffff000 0x80007000 0xa", "0x87fb6000 0x3fffffe000 0x87fb7000 0x6",
            "0x87fb3000 0x3ffffff000 0x80007000 0xa", "0x87fb3000 0x3fffffe000 0x87fb7000 0x6",
            "0x87fff000 0x3fffffd000 0x87f6b000 0x6", "0x87fb3000 0x3fffffd000 0x87f6b000 0x6",
            "0x87fb6000 0x0 0x87f6a000 0x1e", "0x87fb3000 0x0 0x87f6a000 0x2",
        ])
    }

    /// freeproc: the stack unmapped from the global table (free=0), then from the process's
    /// (free=1), its trampoline and trapframe unmapped, freewalk; only then the user table.
    func testFreeprocFreesTheKernelSideFirst() throws {
        let rec = Recorder()
        let k = try sorablue(sink: rec)
        _ = try k.userinit()
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
        let kpt = k.procs[1].kernelPagetable, upt = k.procs[1].pagetable
        XCTAssertEqual(try k.syscall(pid: 2, .exit(0)), .returned(0))
        rec.events.removeAll()
        XCTAssertEqual(try k.syscall(pid: 1, .wait), .returned(2))
        let unmaps = rec.events.compactMap { e -> String? in
            guard case let .uvmunmap(_, root, va, n, free) = e else { return nil }
            let t = root == kpt ? "kpt" : root == upt ? "upt" : hexShort(root.rawValue)
            return "\(t) \(hexShort(va.rawValue)) \(n) \(free)"
        }
        XCTAssertEqual(unmaps, ["0x87fff000 0x3fffffb000 1 false", "kpt 0x3fffffb000 1 true", "kpt 0x3ffffff000 1 false",
                                "kpt 0x3fffffe000 1 false", "upt 0x3ffffff000 1 false", "upt 0x3fffffe000 1 false",
                                "upt 0x0 1 true"])
        let pte = try XCTUnwrap(try k.walk(k.kernelPagetable, 0x3f_ffff_b000, alloc: false))
        XCTAssertFalse(PTE(rawValue: k.memory.read64(PhysAddr(pte))).isValid)      // the global table's entry is gone
    }

    /// `--check`'s mirror invariant reads a read-only mirror as one: R kept, W and X dropped;
    /// a page left mapped after its shrink would still be named.
    func testTheReadOnlyMirrorSatisfiesTheInvariants() throws {
        let k = try sorablue()
        _ = try k.userinit()
        XCTAssertEqual(try k.syscall(pid: 1, .sbrk(0x2000)), .returned(0x1000))
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
        XCTAssertEqual(try k.checkInvariants(), [])
        let kpt = k.procs[0].kernelPagetable
        XCTAssertTrue(try k.mappages(kpt, 0x5000, 0x1000, PhysAddr(0x8700_0000), [.read]))
        XCTAssertEqual(try k.checkInvariants(), ["kernel:1 still maps va 0x0000000000005000 to 0x0000000087000000 beyond sz 0x3000 (1 page)"])
    }

    /// A table with a leaf left: the stock freewalk panics; sorablue's frees it and stops.
    func testFreewalkStopsAtTheFirstLeafOnlyWhereTheKernelDoes() throws {
        for stops in [false, true] {
            let rec = Recorder()
            let k = try sorablue({ $0.freewalkStopsAtLeaf = stops }, sink: rec)
            let pt = try XCTUnwrap(try k.uvmcreate())
            XCTAssertTrue(try k.mappages(pt, 0x1000, 0x1000, PhysAddr(0x8700_0000), [.read]))
            rec.events.removeAll()
            if stops {
                try k.freewalk(pt)
                XCTAssertEqual(rec.events.filter { if case .kfree = $0 { return true } else { return false } }.count, 3)
            } else {
                XCTAssertPanics("freewalk: leaf") { try k.freewalk(pt) }
            }
        }
    }
}
