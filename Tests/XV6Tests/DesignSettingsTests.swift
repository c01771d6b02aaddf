import XCTest
import XV6
import RISCV

/// The lab's design space as settings (issue 20): each changes exactly what its kernel does,
/// with the addresses a real kernel of that design prints (docs/kernel-logs).
final class DesignSettingsTests: XCTestCase {
    func mapVAs(_ rec: Recorder, table: TableRef) -> [UInt64] {
        rec.events.compactMap { if case let .mappages(t, _, va, _, _, _) = $0, t == table { return va.rawValue } else { return nil } }
    }

    /// The seed maps CLINT last, the stock kvminit third; sorablue's kernel never maps it,
    /// and its boot log shows 72 pages taken before allocproc, the last 0x87fb8000.
    func testTheGlobalTableIsBuiltInTheLayoutTheKernelChose() throws {
        let devices: [UInt64] = [0x1000_0000, 0x1000_1000, 0x0c00_0000, 0x8000_0000, 0x8000_8000, 0x3f_ffff_f000]
        for (layout, expected, pages) in [("clint-last", devices + [0x0200_0000], 73),
                                          ("stock", Array(devices[..<2]) + [0x0200_0000] + Array(devices[2...]), 73),
                                          ("no-clint", devices, 72)] {
            let rec = Recorder()
            let k = try lab({ XCTAssertNil($0.set("kernel_table_layout", layout)) }, sink: rec)
            XCTAssertEqual(mapVAs(rec, table: .kernel), expected, layout)
            XCTAssertEqual(k.counters.kallocs, pages, layout)
            XCTAssertEqual(k.kernelPagetable.rawValue, 0x87ff_f000)
        }
        let k = try lab { XCTAssertNil($0.set("kernel_table_layout", "no-clint")) }
        XCTAssertEqual(k.freelist, 0x87fb_7000)                  // sorablue's log, line 85: allocproc's trapframe
    }

    /// KSTACK(slot): the second slot's stack sits two pages below the first's.
    func testTheKernelStackSitsAtItsSlotsAddress() throws {
        let k = try lab { $0.kstackAtSlot = true }
        _ = try k.userinit()
        XCTAssertEqual(k.procs[0].kstack, 0x3f_ffff_d000)
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
        XCTAssertEqual(k.procs[1].kstack, 0x3f_ffff_b000)
        XCTAssertNotNil(try k.walk(k.procs[1].kernelPagetable, 0x3f_ffff_b000, alloc: false))
        XCTAssertEqual(try k.kvmpa(k.procs[1].kernelPagetable, 0x3f_ffff_b000).rawValue & 0xfff, 0)
    }

    /// freeproc by uvmunmap prints one more unmap (the stack's, free=1) and frees the same page.
    func testFreeingTheKernelStackByUvmunmapUnmapsItFirst() throws {
        for way in ["kfree", "uvmunmap"] {
            let rec = Recorder()
            let k = try lab({ XCTAssertNil($0.set("kstack_free", way)) }, sink: rec)
            _ = try k.userinit()
            XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
            let kpt = k.procs[1].kernelPagetable
            let stack = try k.kvmpa(kpt, MemLayout.kstack(0))
            XCTAssertEqual(try k.syscall(pid: 2, .exit(0)), .returned(0))
            rec.events.removeAll()
            XCTAssertEqual(try k.syscall(pid: 1, .wait), .returned(2))
            let unmaps = rec.events.compactMap { e -> String? in
                if case let .uvmunmap(_, root, va, n, free) = e, root == kpt { return "\(hex16(va.rawValue)) \(n) \(free)" }
                return nil
            }
            XCTAssertEqual(unmaps, way == "kfree" ? [] : ["0x0000003fffffd000 1 true"], way)
            let frees = rec.events.compactMap { if case let .kfree(pa, _, _) = $0 { return pa } else { return nil } }
            XCTAssertTrue(frees.contains(stack), way)
        }
    }

    /// sys_sbrk's own PLIC check refuses before growproc runs: no growproc at all.
    func testSbrksPlicCheckRefusesBeforeGrowproc() throws {
        let rec = Recorder()
        let k = try lab({ $0.sbrkPlicCheck = true }, sink: rec)
        _ = try k.userinit()
        let kallocs = k.counters.kallocs
        XCTAssertEqual(try k.syscall(pid: 1, .sbrk(Int32(MemLayout.plic))), .returned(-1))
        XCTAssertEqual(k.counters.kallocs, kallocs)
        XCTAssertEqual(try k.syscall(pid: 1, .sbrk(0x1000)), .returned(0x1000))
        XCTAssertEqual(k.procs[0].sz, 0x2000)
    }

    /// A kernel whose exec forgets the old image's mirror keeps entries above the new size
    /// that point at pages the old image freed.
    func testExecThatKeepsTheOldMirrorLeavesStaleMappings() throws {
        for unmaps in [true, false] {
            let k = try lab { $0.execUnmapsOldMirror = unmaps; $0.mirrorUserMappings = .walkCopy }
            _ = try k.userinit()
            XCTAssertEqual(try k.syscall(pid: 1, .sbrk(0x4000)), .returned(0x1000))
            let kpt = k.procs[0].kernelPagetable
            let old = try XCTUnwrap(try k.walk(kpt, 0x4000, alloc: false))
            let freed = PTE(rawValue: k.memory.read64(PhysAddr(old))).pa
            XCTAssertEqual(try k.syscall(pid: 1, .exec(path: "/init", argv: ["init"], program: onePage)), .returned(1))
            XCTAssertEqual(k.procs[0].sz, 0x3000)
            let left = PTE(rawValue: k.memory.read64(PhysAddr(try XCTUnwrap(try k.walk(kpt, 0x4000, alloc: false)))))
            XCTAssertEqual(left.isValid, !unmaps)
            if !unmaps { XCTAssertEqual(left.pa, freed) }
        }
    }
}
