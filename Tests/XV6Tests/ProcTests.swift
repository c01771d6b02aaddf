import XCTest
import XV6
import RISCV

final class ProcTests: XCTestCase {
    func testForkFailsWithSixtyFourLiveProcessesAndUsesNoPid() throws {
        let k = try bootedWithInit()
        for expected in 2...64 { XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(Int64(expected))) }
        XCTAssertEqual(k.procs.filter { $0.state != .unused }.count, 64)
        let free = k.freePages
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(-1))
        XCTAssertEqual(k.freePages, free)
        // Reap one: the next fork gets the freed slot and the next pid, 65.
        XCTAssertEqual(try k.syscall(pid: 64, .exit(0)), .returned(0))
        XCTAssertEqual(try k.syscall(pid: 1, .wait), .returned(64))
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(65))
        XCTAssertEqual(k.slot(ofPid: 65), 63)
    }

    func testForkFailsCleanlyWhenMemoryRunsOutInUvmcopy() throws {
        let k = try bootedWithInit()
        // Leave exactly enough for allocproc (trapframe, root, two tables) and one page of uvmcopy.
        while k.freePages > 5 { _ = try k.kalloc() }
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(-1))
        XCTAssertEqual(k.freePages, 5)
        XCTAssertNil(k.slot(ofPid: 2))
        XCTAssertEqual(k.nextpid, 3)       // allocpid ran before the failure
    }

    func testSbrkByOddByteCountsUpAndDown() throws {
        let k = try bootedWithInit()
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
        let slot = try XCTUnwrap(k.slot(ofPid: 2))
        let base = k.freePages
        let steps: [(Int32, Int64, UInt64, Int)] = [
            (1, 0x3000, 0x3001, 1), (4095, 0x3001, 0x4000, 0), (4097, 0x4000, 0x5001, 2),
            (-4098, 0x5001, 0x3fff, -2), (-0x3fff, 0x3fff, 0, -4), (-1, 0, 0, 0), (0, 0, 0, 0),
        ]
        var used = 0
        for (n, ret, sz, pages) in steps {
            XCTAssertEqual(try k.syscall(pid: 2, .sbrk(n)), .returned(ret), "sbrk(\(n))")
            XCTAssertEqual(k.procs[slot].sz, sz, "sz after sbrk(\(n))")
            used += pages
            XCTAssertEqual(k.freePages, base - used, "free pages after sbrk(\(n))")
        }
    }

    func testSbrkTooLargeFailsAndKeepsTheSize() throws {
        let k = try bootedWithInit()
        XCTAssertEqual(try k.syscall(pid: 1, .sbrk(Int32.max)), .returned(-1))
        XCTAssertEqual(k.procs[0].sz, 0x3000)
    }

    func testInitCannotExitAndWaitReportsItsChildren() throws {
        let k = try bootedWithInit()
        XCTAssertEqual(try k.syscall(pid: 1, .wait), .returned(-1))
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
        XCTAssertEqual(try k.syscall(pid: 1, .wait), .wouldBlock)
        XCTAssertPanics("init exiting") { _ = try k.syscall(pid: 1, .exit(0)) }
    }

    func testExitHandsChildrenToInitAndWaitFreesTheZombie() throws {
        let k = try bootedWithInit()
        let base = k.freePages
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
        XCTAssertEqual(try k.syscall(pid: 2, .fork), .returned(3))
        XCTAssertEqual(try k.syscall(pid: 2, .exit(0)), .returned(0))
        XCTAssertEqual(k.procs[k.slot(ofPid: 3)!].parent, 0)
        XCTAssertEqual(k.procs[k.slot(ofPid: 2)!].state, .zombie)
        XCTAssertEqual(try k.syscall(pid: 1, .wait), .returned(2))
        XCTAssertEqual(try k.syscall(pid: 3, .exit(1)), .returned(0))
        XCTAssertEqual(try k.syscall(pid: 1, .wait), .returned(3))
        XCTAssertEqual(k.freePages, base)
        XCTAssertEqual(try k.syscall(pid: 3, .fork), .noSuchProcess)
    }

    func testExecFailuresFreeEverythingTheyTookAndKeepTheOldImage() throws {
        let k = try bootedWithInit()
        let base = k.freePages
        let old = k.procs[0].pagetable
        for segs in [[Segment(vaddr: 0, memsz: 0x1000, filesz: 0x1001)],
                     [Segment(vaddr: 0x1800, memsz: 0x1000, filesz: 0)],
                     [Segment(vaddr: UInt64.max - 0xfff, memsz: 0x2000, filesz: 0)]] {
            XCTAssertEqual(try k.syscall(pid: 1, .exec(path: "/x", argv: ["x"], program: Program(segments: segs))), .returned(-1))
            XCTAssertEqual(k.freePages, base)
            XCTAssertEqual(k.procs[0].pagetable, old)
        }
        let many = Array(repeating: "a", count: 32)
        XCTAssertEqual(try k.syscall(pid: 1, .exec(path: "/x", argv: many, program: onePage)), .returned(-1))
        XCTAssertEqual(k.freePages, base)
        XCTAssertEqual(try k.syscall(pid: 1, .exec(path: "/x", argv: Array(many.prefix(31)), program: onePage)), .returned(31))
    }

    func testExecNamesTheProcessAfterTheLastPathComponent() throws {
        let k = try bootedWithInit()
        XCTAssertEqual(k.procs[0].name, "init")
        _ = try k.syscall(pid: 1, .exec(path: "/bin/averyveryverylongname", argv: [], program: onePage))
        XCTAssertEqual(k.procs[0].name, "averyveryverylo")
    }

    func testSatpWritesOnASystemCallAndAContextSwitch() throws {
        let rec = Recorder()
        let k = try bootedWithInit(sink: rec)
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
        rec.events.removeAll()
        XCTAssertEqual(try k.syscall(pid: 2, .sbrk(0)), .returned(0x3000))
        let satps = rec.events.compactMap { e -> String? in
            switch e {
            case let .satp(h, v, t, _): return "satp \(h) \(hex16(v.rawValue)) \(t)"
            case let .trap(h, p, c): return "trap \(h) \(p) \(c.rawValue)"
            case let .scheduled(h, p): return "sched \(h) \(p)"
            default: return nil
            }
        }
        let child = k.procs[k.slot(ofPid: 2)!].pagetable.rawValue >> 12
        XCTAssertEqual(satps, [
            "trap 0 1 timer", "satp 0 0x8000000000087fff kernel",             // pid 1 is preempted
            "sched 0 2", "satp 0 \(hex16(8 << 60 | child)) user:2",             // forkret -> usertrapret
            "trap 0 2 ecall", "satp 0 0x8000000000087fff kernel",             // sbrk
            "satp 0 \(hex16(8 << 60 | child)) user:2",                           // return to user space
        ])
        XCTAssertEqual(k.harts[0].satp, Satp(root: k.procs[k.slot(ofPid: 2)!].pagetable))
    }

    func testTheMMUAgreesWithWalkaddrOnEveryMappedUserPage() throws {
        let k = try bootedWithInit()
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
        XCTAssertEqual(try k.syscall(pid: 2, .sbrk(0x12345)), .returned(0x3000))
        var checked = 0
        for p in k.procs where p.state != .unused {
            let satp = Satp(root: p.pagetable)
            var va: UInt64 = 0
            while va < p.sz {
                let soft = try k.walkaddr(p.pagetable, va)
                let hard = try? MMU.walk(satp, VirtAddr(va), in: k.memory).get()
                let pte = PTE(rawValue: k.memory.read64(PhysAddr(try XCTUnwrap(try k.walk(p.pagetable, va, alloc: false)))))
                XCTAssertEqual(hard?.pa, pte.pa)
                XCTAssertEqual(soft, pte.flags.contains(.user) ? try XCTUnwrap(hard).pa.rawValue : 0)
                checked += 1
                va += pageSize
            }
            XCTAssertEqual(try MMU.walk(satp, VirtAddr(MemLayout.trampoline), in: k.memory).get().pa.rawValue, 0x8000_7000)
            XCTAssertEqual(try MMU.walk(satp, VirtAddr(MemLayout.trapframe), in: k.memory).get().pa, p.trapframe)
        }
        XCTAssertEqual(checked, 3 + (0x15345 + 0xfff) / 0x1000)
    }

    func testASatpWriteWithoutSfenceLeavesStaleTranslations() throws {
        let k = try bootedWithInit()
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
        let parent = k.procs[0].pagetable, child = k.procs[k.slot(ofPid: 2)!].pagetable
        var hart = Hart(id: 0)
        hart.writeSatp(Satp(root: parent))
        hart.sfenceVMA()
        let p0 = try MMU.translate(VirtAddr(0x2008), .load, mode: .user, hart: &hart, memory: k.memory).get()
        XCTAssertEqual(p0.rawValue, try k.walkaddr(parent, 0x2000) + 8)
        // The loaded PTE now has the Accessed bit, as QEMU sets it.
        let pte = PTE(rawValue: k.memory.read64(PhysAddr(try XCTUnwrap(try k.walk(parent, 0x2000, alloc: false)))))
        XCTAssertEqual(pte.flags.rawValue, 0x5f)
        hart.writeSatp(Satp(root: child))
        XCTAssertTrue(hart.satpWrittenSinceFence)
        let stale = try MMU.translate(VirtAddr(0x2008), .load, mode: .user, hart: &hart, memory: k.memory).get()
        XCTAssertEqual(stale, p0)                                   // still the parent's page
        hart.sfenceVMA()
        let fresh = try MMU.translate(VirtAddr(0x2008), .load, mode: .user, hart: &hart, memory: k.memory).get()
        XCTAssertEqual(fresh.rawValue, try k.walkaddr(child, 0x2000) + 8)
        // The guard page has no PTE_U: a user load faults with scause 13.
        XCTAssertEqual(MMU.translate(VirtAddr(0x1000), .load, mode: .user, hart: &hart, memory: k.memory),
                       .failure(Fault(kind: .pageFault, access: .load, va: VirtAddr(0x1000))))
        // A store sets Dirty; the supervisor may not touch user pages without SUM.
        _ = MMU.translate(VirtAddr(0x2010), .store, mode: .user, hart: &hart, memory: k.memory)
        let c = PTE(rawValue: k.memory.read64(PhysAddr(try XCTUnwrap(try k.walk(child, 0x2000, alloc: false)))))
        XCTAssertEqual(c.flags.rawValue, 0xdf)
        XCTAssertEqual(MMU.translate(VirtAddr(0x2010), .load, mode: .supervisor, hart: &hart, memory: k.memory).map(\.rawValue),
                       .failure(Fault(kind: .pageFault, access: .load, va: VirtAddr(0x2010))))
    }

    func testKernelImageSettingsMoveTheFreeRange() throws {
        var image = KernelImage.lab2020
        image.end = 0x8003_0000
        image.phystop = 0x8400_0000
        let k = try Kernel(config: KernelConfig(image: image))
        XCTAssertEqual(k.kernelPagetable.rawValue, 0x83ff_f000)
        XCTAssertEqual(k.freePages, (0x8400_0000 - 0x8003_0000) / 4096 - 137 + 32)   // 32 fewer L0 tables for 64 MiB
        XCTAssertNotNil(KernelImage(end: 0x8000_0000, etext: 0x8000_8000, trampoline: 0x8000_7000, phystop: 0x8800_0000).problem)
        XCTAssertNil(KernelImage.lab2020.problem)
    }
}
