import XCTest
import XV6
import RISCV

final class LabTests: XCTestCase {
    /// What Miigon's pgtbl kernel prints at exec("/init") on a real boot, worked out from its
    /// allocation order: kvminit's 73 pages (CLINT's table last), userinit's trapframe, user
    /// table (3), kernel table (72), kernel stack, initcode page and tables (3), the mirror's
    /// L0 table, then sys_exec's argv page and exec's new table.
    static let labPrintout = """
        page table 0x0000000087f64000
        ..0: pte 0x0000000021fd8001 pa 0x0000000087f60000
        .. ..0: pte 0x0000000021fd7c01 pa 0x0000000087f5f000
        .. .. ..0: pte 0x0000000021fd841f pa 0x0000000087f61000
        .. .. ..1: pte 0x0000000021fd780f pa 0x0000000087f5e000
        .. .. ..2: pte 0x0000000021fd741f pa 0x0000000087f5d000
        ..255: pte 0x0000000021fd8c01 pa 0x0000000087f63000
        .. ..511: pte 0x0000000021fd8801 pa 0x0000000087f62000
        .. .. ..510: pte 0x0000000021fed807 pa 0x0000000087fb6000
        .. .. ..511: pte 0x0000000020001c0b pa 0x0000000080007000
        """.split(separator: "\n").map(String.init)

    func testPgtblLabBootPrintsItsOwnPageTableAtExec() throws {
        let rec = Recorder()
        let k = try lab(sink: rec)
        XCTAssertEqual(k.counters.kallocs, 73)                  // procinit allocates no stacks
        XCTAssertEqual(k.freelist, 0x87fb_6000)
        _ = try k.userinit()
        XCTAssertEqual(k.procs[0].kernelPagetable.rawValue, 0x87fb_2000)
        XCTAssertEqual(try k.kvmpa(k.procs[0].kernelPagetable, MemLayout.kstack(0)).rawValue, 0x87f6_a000)
        rec.events.removeAll()
        XCTAssertEqual(try k.syscall(pid: 1, .exec(path: "/init", argv: ["init"], program: onePage)), .returned(1))
        let console = rec.events.compactMap { if case .console(let l) = $0 { return l } else { return nil } }
        XCTAssertEqual(console, Self.labPrintout)
        // The kernel table mirrors [0, sz) without PTE_U, on the same physical pages.
        for va: UInt64 in [0, 0x1000, 0x2000] {
            let u = PTE(rawValue: k.memory.read64(PhysAddr(try XCTUnwrap(try k.walk(k.procs[0].pagetable, va, alloc: false)))))
            let kp = PTE(rawValue: k.memory.read64(PhysAddr(try XCTUnwrap(try k.walk(k.procs[0].kernelPagetable, va, alloc: false)))))
            XCTAssertEqual(kp.pa, u.pa)
            XCTAssertEqual(kp.flags, u.flags.subtracting(.user))
        }
        // The scheduler switched to pid 1's kernel table before it returned to user space.
        let satps = rec.events.compactMap { if case let .satp(_, v, t, _) = $0 { return "\(hex16(v.rawValue)) \(t)" } else { return nil } }
        XCTAssertEqual(satps.first, "0x8000000000087fb2 kernel:1")
    }

    /// A process's kernel table keeps its direct map as linear pages: 63 of its 64 level-0
    /// tables (the first also holds the kernel text), and PLIC's two. Every word reads as the
    /// PTE mappages writes, and a walk of the direct map finds each page where it is.
    func testTheDirectMapIsKeptAsLinearPagesThatReadAsTheirPTEs() throws {
        let k = try lab()
        _ = try k.userinit()
        let root = k.procs[0].kernelPagetable
        var linear = 0, checked = 0
        func visit(_ table: UInt64, _ level: Int) {
            let run = k.memory.linearRun(PhysAddr(table))
            if run != nil { linear += 1 }
            for i in 0..<512 {
                let pte = PTE(rawValue: k.memory.read64(PhysAddr(table + UInt64(i) * 8)))
                guard pte.isValid else { continue }
                if level > 0 && !pte.isLeaf { visit(pte.pa.rawValue, level - 1) }
                if let run, pte.isLeaf { XCTAssertEqual(pte.rawValue & 0x3ff, run.first & 0x3ff); checked += 1 }
            }
        }
        visit(root.rawValue, 2)
        XCTAssertEqual(linear, 63 + 2)
        XCTAssertEqual(checked, 65 * 512)                       // the text's table is written PTE by PTE
        for va in stride(from: UInt64(0x8000_8000), to: 0x8800_0000, by: 0x1000 * 97) {
            XCTAssertEqual(try k.kvmpa(root, va).rawValue, va)
        }
        XCTAssertEqual(try k.kvmpa(root, 0x0c00_0000 + 0x3f_f000).rawValue, 0x0c3f_f000)
    }

    /// With the fast paths off, no page is linear, and every table of a process's kernel
    /// table holds the same words.
    func testTheFastPathsOffWriteTheSameTables() throws {
        var c = KernelConfig(variant: "pgtbl-lab")
        c.fastPaths = false
        let plain = try Kernel(config: c)
        let fast = try lab()
        _ = try plain.userinit()
        _ = try fast.userinit()
        XCTAssertFalse(plain.memory.fastPaths)
        var tables = 0
        func visit(_ table: UInt64, _ level: Int) {
            tables += 1
            XCTAssertNil(plain.memory.linearRun(PhysAddr(table)))
            for i in 0..<512 {
                let at = PhysAddr(table + UInt64(i) * 8)
                let pte = PTE(rawValue: plain.memory.read64(at))
                XCTAssertEqual(pte.rawValue, fast.memory.read64(at))
                if pte.isValid && !pte.isLeaf && level > 0 { visit(pte.pa.rawValue, level - 1) }
            }
        }
        visit(plain.procs[0].kernelPagetable.rawValue, 2)
        XCTAssertGreaterThan(tables, 65)
        XCTAssertEqual(plain.counters, fast.counters)
    }

    func testFreeprocGivesEverythingBackUnderPgtblLab() throws {
        let k = try lab()
        _ = try k.userinit()
        _ = try k.syscall(pid: 1, .exec(path: "/init", argv: ["init"], program: onePage))
        let base = k.freePages
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
        // trapframe, user table (root + 2 + 2), 3 user pages, kernel table (72 + 1 for the mirror), kernel stack
        XCTAssertEqual(base - k.freePages, 1 + 5 + 3 + 73 + 1)
        XCTAssertEqual(try k.syscall(pid: 2, .exit(0)), .returned(0))
        XCTAssertEqual(try k.syscall(pid: 1, .wait), .returned(2))
        XCTAssertEqual(k.freePages, base)
    }

    func testRootOnlyFreeLeaksExactlyTheNonRootTablePages() throws {
        let k = try lab { $0.freeKernelPagetable = .rootOnly }
        _ = try k.userinit()
        _ = try k.syscall(pid: 1, .exec(path: "/init", argv: ["init"], program: onePage))
        let base = k.freePages
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
        let kpt = k.procs[1].kernelPagetable.rawValue
        XCTAssertEqual(try k.syscall(pid: 2, .exit(0)), .returned(0))
        XCTAssertEqual(try k.syscall(pid: 1, .wait), .returned(2))
        XCTAssertEqual(base - k.freePages, 72)                   // 73 table pages, all but the root
        XCTAssertNil(k.allocationSite(of: kpt))
    }

    func testNotFreeingTheKernelStackLeaksOnePagePerProcess() throws {
        let k = try lab { $0.freeKernelStack = false }
        _ = try k.userinit()
        let base = k.freePages
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
        let stack = try k.kvmpa(k.procs[1].kernelPagetable, MemLayout.kstack(0))
        XCTAssertEqual(try k.syscall(pid: 2, .exit(0)), .returned(0))
        XCTAssertEqual(try k.syscall(pid: 1, .wait), .returned(2))
        XCTAssertEqual(base - k.freePages, 1)
        XCTAssertEqual(k.sites.name(try XCTUnwrap(k.allocationSite(of: stack.rawValue))), "fork > allocproc")
    }

    func testSeed003PanicsRemapInItsFirstAllocproc() throws {
        var c = KernelConfig(variant: "seed-003")
        c.settings = .seed003
        let k = try Kernel(config: c)
        // mappages(kpt, KSTACK(0), pa, PGSIZE, ...) maps pa bytes from KSTACK(0) and runs into TRAMPOLINE.
        XCTAssertPanics("remap") { _ = try k.userinit() }
    }

    func testSeed003WithTheStackMappedRightPanicsFreewalkLeafInFreeproc() throws {
        var c = KernelConfig(variant: "seed-003")
        c.settings.kstackMapping = .mappages
        let k = try Kernel(config: c)
        _ = try k.userinit()
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
        XCTAssertEqual(try k.syscall(pid: 2, .exit(0)), .returned(0))
        XCTAssertPanics("freewalk: leaf") { _ = try k.syscall(pid: 1, .wait) }
    }

    func testCopyinThroughTheMMUReadsTheGuardPageTheSoftwarePathRefuses() throws {
        let k = try lab()
        _ = try k.userinit()
        _ = try k.syscall(pid: 1, .exec(path: "/init", argv: ["init"], program: onePage))
        XCTAssertEqual(try k.syscall(pid: 1, .copyin(va: 0x1000, len: 16)), .returned(0))
        XCTAssertEqual(try k.syscall(pid: 1, .copyin(va: 0x2ff0, len: 16)), .returned(-1))   // srcva+len >= sz
        let stock = try bootedWithInit()
        XCTAssertEqual(try stock.syscall(pid: 1, .copyin(va: 0x1000, len: 16)), .returned(-1))
        XCTAssertEqual(try stock.syscall(pid: 1, .copyin(va: 0x2ff0, len: 16)), .returned(0))
    }

    func testWithoutMirroredMappingsCopyinTakesAKernelTrap() throws {
        let k = try lab { $0.mirrorUserMappings = .none }
        _ = try k.userinit()
        _ = try k.syscall(pid: 1, .exec(path: "/init", argv: ["init"], program: onePage))
        do {
            _ = try k.syscall(pid: 1, .copyin(va: 0x10, len: 4))
            XCTFail("expected a kernel trap")
        } catch {
            XCTAssertEqual(error.message, "kerneltrap")
            XCTAssertEqual(error.preamble, ["scause 0x000000000000000d", "sepc=(not modelled) stval=0x0000000000000010"])
        }
    }

    func testAccessedAndDirtyBitsAreCopiedByFork() throws {
        let k = try lab()
        _ = try k.userinit()
        _ = try k.syscall(pid: 1, .exec(path: "/init", argv: ["init"], program: onePage))
        XCTAssertEqual(try k.userAccess(pid: 1, va: 0x0, .fetch), .ok(pa: 0x87f6_1000))
        XCTAssertEqual(try k.userAccess(pid: 1, va: 0x2ff8, .store), .ok(pa: 0x87f5_dff8))
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
        let child = k.procs[1].pagetable
        let flags = try [0, 0x1000, 0x2000].map { va in
            PTE(rawValue: k.memory.read64(PhysAddr(try XCTUnwrap(try k.walk(child, va, alloc: false))))).flags.rawValue
        }
        XCTAssertEqual(flags, [0x5f, 0x0f, 0xdf])
    }

    func testAUserFaultKillsTheProcess() throws {
        let k = try lab()
        _ = try k.userinit()
        _ = try k.syscall(pid: 1, .exec(path: "/init", argv: ["init"], program: onePage))
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
        XCTAssertEqual(try k.userAccess(pid: 2, va: 0x1008, .load), .killed(Fault(kind: .pageFault, access: .load, va: VirtAddr(0x1008))))
        XCTAssertEqual(k.procs[1].state, .zombie)
        XCTAssertEqual(k.procs[1].xstate, -1)
    }

    func testCLINTInTheProcessTableCollidesWithUserMemoryAbove32MiB() throws {
        let k = try lab { $0.clintInProcessTable = true }
        _ = try k.userinit()
        XCTAssertPanics("remap") { _ = try k.syscall(pid: 1, .sbrk(0x200_0000)) }
    }

    func testExecPlicCheckGoesToBadBeforeSzIsSetAndFreewalkPanics() throws {
        var image = KernelImage.lab2020
        image.phystop = 0x9000_0000                              // 256 MiB, enough to reach PLIC
        var c = KernelConfig(variant: "pgtbl-lab", image: image)
        c.settings = .pgtblLab
        let k = try Kernel(config: c)
        _ = try k.userinit()
        // The lab checks sz1 >= PLIC before `sz = sz1`: bad frees the new table with sz 0,
        // so uvmfree unmaps nothing and freewalk finds the segment's pages still mapped.
        let big = Program(segments: [Segment(vaddr: 0, memsz: MemLayout.plic, filesz: 0)])
        XCTAssertPanics("freewalk: leaf") { _ = try k.syscall(pid: 1, .exec(path: "/big", argv: [], program: big)) }
        // Without the check, the same image loads; its kernel-table mirror then runs into PLIC's mapping.
        c.settings.execPlicCheck = false
        let k2 = try Kernel(config: c)
        _ = try k2.userinit()
        XCTAssertPanics("remap") { _ = try k2.syscall(pid: 1, .exec(path: "/big", argv: [], program: big)) }
    }
}
