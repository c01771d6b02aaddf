import XCTest
import XV6
import RISCV

/// whileskies' design (issue 20, docs/kernel-logs/whileskies-*): the mirror made inside
/// uvminit/uvmalloc/uvmcopy/uvmdealloc, and an exec that builds a fresh kernel table first.
final class FreshExecTableTests: XCTestCase {
    func whileskies(_ tweak: (inout KernelSettings) -> Void = { _ in }, sink: TraceSink? = nil) throws -> Kernel {
        var c = KernelConfig(variant: "pgtbl-lab")
        for (key, value) in [("kernel_table_layout", "stock"), ("kstack_at_slot", "true"),
                             ("mirror_user_mappings", "in-uvm"), ("exec_kernel_table", "fresh-first")] {
            XCTAssertNil(c.settings.set(key, value))
        }
        tweak(&c.settings)
        return try Kernel(config: c, sink: sink)
    }

    /// Each map of user memory (below CLINT) as the log prints it: table root, va, pa, perm.
    func maps(_ rec: Recorder) -> [String] {
        rec.events.compactMap {
            guard case let .mappages(_, root, va, _, pa, perm) = $0, va.rawValue < MemLayout.clint else { return nil }
            return "\(hexShort(root.rawValue)) \(hexShort(va.rawValue)) \(hexShort(pa.rawValue)) \(hexShort(perm.rawValue))"
        }
    }

    /// uvminit maps initcode's page into the user table (0x1e), then into the kernel table
    /// without U (0xe): whileskies-boot.log lines 183 and 186.
    func testUvminitMapsThePageIntoBothTables() throws {
        let rec = Recorder()
        let k = try whileskies(sink: rec)
        _ = try k.userinit()
        XCTAssertEqual(k.procs[0].pagetable.rawValue, 0x87fb_5000)
        XCTAssertEqual(k.procs[0].kernelPagetable.rawValue, 0x87fb_2000)
        XCTAssertEqual(maps(rec), ["0x87fb5000 0x0 0x87f69000 0x1e", "0x87fb2000 0x0 0x87f69000 0xe"])
    }

    /// sbrk grows both tables page by page and shrinks the kernel table after the user's,
    /// without freeing the page twice.
    func testSbrkMirrorsEachPageAndShrinksBoth() throws {
        let rec = Recorder()
        let k = try whileskies(sink: rec)
        _ = try k.userinit()
        rec.events.removeAll()
        XCTAssertEqual(try k.syscall(pid: 1, .sbrk(0x2000)), .returned(0x1000))
        XCTAssertEqual(maps(rec), ["0x87fb5000 0x1000 0x87f65000 0x1e", "0x87fb2000 0x1000 0x87f65000 0xe",
                                   "0x87fb5000 0x2000 0x87f64000 0x1e", "0x87fb2000 0x2000 0x87f64000 0xe"])
        rec.events.removeAll()
        XCTAssertEqual(try k.syscall(pid: 1, .sbrk(-0x2000)), .returned(0x3000))
        let unmaps = rec.events.compactMap { e -> String? in
            if case let .uvmunmap(_, root, va, n, free) = e { return "\(hexShort(root.rawValue)) \(hexShort(va.rawValue)) \(n) \(free)" }
            return nil
        }
        XCTAssertEqual(unmaps, ["0x87fb5000 0x1000 2 true", "0x87fb2000 0x1000 2 false"])
        let pte = try XCTUnwrap(try k.walk(k.procs[0].kernelPagetable, 0x1000, alloc: false))
        XCTAssertFalse(PTE(rawValue: k.memory.read64(PhysAddr(pte))).isValid)
    }

    /// exec builds the fresh table before it looks the program up, maps the kernel stack into
    /// it, mirrors the image through uvmalloc, and at its commit frees the old table
    /// recursively (one kvm_free_kernelpgtbl per table page) and loads the new one.
    func testExecReplacesTheKernelTableWithAFreshOne() throws {
        let rec = Recorder()
        let k = try whileskies(sink: rec)
        _ = try k.userinit()
        let old = k.procs[0].kernelPagetable
        let stack = try k.kvmpa(old, 0x3f_ffff_d000)
        XCTAssertEqual(try k.syscall(pid: 1, .exec(path: "/init", argv: ["init"], program: onePage)), .returned(1))
        let fresh = k.procs[0].kernelPagetable
        XCTAssertEqual(fresh.rawValue, 0x87f6_4000)                   // whileskies-boot.log line 196
        XCTAssertEqual(try k.kvmpa(fresh, 0x3f_ffff_d000), stack)
        let freed = rec.events.compactMap { if case let .kvmFreeKernelPagetable(pt) = $0 { return pt } else { return nil } }
        XCTAssertEqual(freed.first, old)
        XCTAssertEqual(freed.count, 73)                               // the root, 71 tables below it, initcode's L0
        XCTAssertTrue(rec.events.contains { if case let .satp(_, v, _, by) = $0 { return by == .exec && v.root == fresh } else { return false } })
        let kernelMaps = maps(rec).filter { $0.hasPrefix("0x87f64000 ") }
        XCTAssertEqual(kernelMaps.count, 3)                           // the program's page and the two stack pages
        XCTAssertEqual(try k.checkInvariants(), [])                   // the fresh table mirrors the new image
    }

    /// A program that does not exist: the fresh table (72 pages) is freed, or, in whileskies'
    /// kernel, leaked (whileskies-execfail log lines 1041-1119).
    func testAMissingProgramLeaksTheFreshTableOnlyUnderTheBug() throws {
        for frees in [true, false] {
            let k = try whileskies { $0.execMissingFreesKernelTable = frees }
            _ = try k.userinit()
            let before = k.freePages
            let missing = Program(segments: [], exists: false)
            XCTAssertEqual(try k.syscall(pid: 1, .exec(path: "nosuchcmd", argv: ["nosuchcmd"], program: missing)), .returned(-1))
            XCTAssertEqual(before - k.freePages, frees ? 0 : 72, "frees \(frees)")
        }
    }
}
