import XCTest
import XV6
import RISCV

/// Each setting changes exactly the behaviour it names.
final class SettingsTests: XCTestCase {
    func kernel(_ variant: String = "pgtbl-lab", _ tweak: (inout KernelSettings) -> Void = { _ in }, sink: TraceSink? = nil) throws -> Kernel {
        var c = KernelConfig(variant: variant)
        tweak(&c.settings)
        let k = try Kernel(config: c, sink: sink)
        _ = try k.userinit()
        XCTAssertEqual(try k.syscall(pid: 1, .exec(path: "/init", argv: ["init"], program: onePage)), .returned(1))
        return k
    }

    /// Pages still allocated after one fork, exit and wait.
    func leakedByOneChild(_ k: Kernel) throws -> Int {
        let base = k.freePages
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
        XCTAssertEqual(try k.syscall(pid: 2, .exit(0)), .returned(0))
        XCTAssertEqual(try k.syscall(pid: 1, .wait), .returned(2))
        return base - k.freePages
    }

    func testFreeKernelPagetableChoosesWhatFreeprocGivesBack() throws {
        XCTAssertEqual(try leakedByOneChild(try kernel()), 0)
        XCTAssertEqual(try leakedByOneChild(try kernel { $0.freeKernelPagetable = .rootOnly }), 72)
        XCTAssertEqual(try leakedByOneChild(try kernel { $0.freeKernelPagetable = .none }), 73)
        XCTAssertEqual(try leakedByOneChild(try kernel { $0.freeKernelStack = false }), 1)
        XCTAssertEqual(try leakedByOneChild(try kernel { $0.freeKernelStack = false; $0.freeKernelPagetable = .none }), 74)
    }

    func testPerProcessKernelPagetableOffIsTheStockKernel() throws {
        let k = try kernel { $0.perProcessKernelPagetable = false }
        XCTAssertEqual(k.procs[0].kernelPagetable, .zero)
        XCTAssertEqual(k.procs[0].kstack, MemLayout.kstack(0))
        XCTAssertEqual(try k.kvmpa(MemLayout.kstack(63)).rawValue, 0x87f7_7000)     // procinit mapped all 64 stacks
    }

    func satpTargets(_ tweak: (inout KernelSettings) -> Void) throws -> [String] {
        let rec = Recorder()
        let k = try kernel(tweak: tweak, sink: rec)
        XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
        rec.events.removeAll()
        _ = try k.syscall(pid: 2, .sbrk(0))
        return rec.events.compactMap {
            switch $0 {
            case let .satp(_, _, t, _): return "satp \(t)"
            case .sfence: return "sfence"
            default: return nil
            }
        }
    }

    func kernel(tweak: (inout KernelSettings) -> Void, sink: TraceSink) throws -> Kernel { try kernel("pgtbl-lab", tweak, sink: sink) }

    func testSchedulerSettingsDecideTheSatpWritesOfAContextSwitch() throws {
        let full = ["satp kernel:1", "sfence", "satp kernel", "sfence",        // pid 1 preempted; scheduler reloads the global table
                    "satp kernel:2", "sfence", "satp user:2", "sfence",       // scheduler -> pid 2 -> user space
                    "satp kernel:2", "sfence", "satp user:2", "sfence"]       // the sbrk system call
        XCTAssertEqual(try satpTargets { _ in }, full)
        var noBack = full; noBack.removeSubrange(2...3)
        XCTAssertEqual(try satpTargets { $0.schedulerSwitchBack = false }, noBack)
        var noFence = full; noFence.remove(at: 5)
        XCTAssertEqual(try satpTargets { $0.schedulerSfence = false }, noFence)
        XCTAssertEqual(try satpTargets { $0.trampolineSfence = false },
                       ["satp kernel:1", "satp kernel", "sfence", "satp kernel:2", "sfence", "satp user:2", "satp kernel:2", "satp user:2"])
    }

    func testGrowprocPlicCheckRefusesGrowthToPlic() throws {
        var image = KernelImage.lab2020
        image.phystop = 0x9000_0000
        var c = KernelConfig(variant: "pgtbl-lab", image: image)
        c.settings.growprocPlicCheck = true
        let k = try Kernel(config: c)
        _ = try k.userinit()
        let free = k.freePages
        XCTAssertEqual(try k.syscall(pid: 1, .sbrk(Int32(MemLayout.plic - 0x1000))), .returned(-1))
        XCTAssertEqual(k.freePages, free)
        XCTAssertEqual(try k.syscall(pid: 1, .sbrk(Int32(MemLayout.plic - 0x2000))), .returned(0x1000))
        c.settings.growprocPlicCheck = false
        let k2 = try Kernel(config: c)
        _ = try k2.userinit()
        // Without the check, growing past PLIC mirrors a user page onto PLIC's mapping.
        XCTAssertPanics("remap") { _ = try k2.syscall(pid: 1, .sbrk(Int32(MemLayout.plic))) }
    }

    func testKernelTableCheckedDecidesWhetherAFailedMappingPanicsKvmmap() throws {
        // Six free pages: the trapframe, the user table (3), the kernel table's root and one
        // table page; the UART mapping's second table page cannot be had.
        func starved(_ checked: Bool) throws -> Kernel {
            var c = KernelConfig(variant: "pgtbl-lab")
            c.settings.kernelTableChecked = checked
            let k = try Kernel(config: c)
            while k.freePages > 6 { _ = try k.kalloc() }
            return k
        }
        let k = try starved(true)
        XCTAssertPanics("kvmmap") { _ = try k.userinit() }
        // Unchecked, every failed mapping is ignored and allocproc goes on to the kernel stack's kalloc.
        let k2 = try starved(false)
        XCTAssertPanics("kalloc") { _ = try k2.userinit() }
    }

    func testCopyinSettingChoosesTheSoftwareWalkOrTheMMU() throws {
        let soft = try kernel { $0.copyin = .software }
        XCTAssertEqual(try soft.syscall(pid: 1, .copyin(va: 0x1000, len: 8)), .returned(-1))   // guard page: no PTE_U
        let mmu = try kernel { $0.copyin = .mmu }
        XCTAssertEqual(try mmu.syscall(pid: 1, .copyin(va: 0x1000, len: 8)), .returned(0))
    }

    func testExecVmprintAndKinitPrintSettingsDecideWhatTheConsoleShows() throws {
        func console(_ tweak: (inout KernelSettings) -> Void) throws -> [String] {
            let rec = Recorder()
            let k = try kernel(tweak: tweak, sink: rec)
            _ = try k.syscall(pid: 1, .fork)
            _ = try k.syscall(pid: 2, .exec(path: "/x", argv: [], program: onePage))
            return rec.events.compactMap { if case .console(let l) = $0 { return l } else { return nil } }
        }
        XCTAssertEqual(try console { _ in }.count, 1 + 10 + 10)           // PHYSTOP line, pid 1's and pid 2's execs
        XCTAssertEqual(try console { $0.execVmprint = .pid1 }.count, 1 + 10)
        XCTAssertEqual(try console { $0.execVmprint = .none; $0.kinitPrintsPhystop = false }, [])
        XCTAssertEqual(try console { $0.execVmprint = .none }, ["PHYSTOP is 0x0000000088000000"])
    }

    /// Each setting knows what it needs: the presets have none that cannot act, and the
    /// per-process table settings name the variants that have such tables.
    func testEverySettingKnowsTheVariantsWhereItCanAct() {
        for p in KernelSettings.presets {
            XCTAssertEqual(p.settings.inert(comparedTo: .xv6_2020).map(\.key), [], p.name)
        }
        func needs(_ key: String) -> [String]? { KernelSettings.catalogue.first { $0.key == key }?.needs?.variants }
        XCTAssertEqual(needs("free_kernel_pagetable"), ["pgtbl-lab", "seed-003"])
        XCTAssertEqual(needs("free_kernel_stack"), ["pgtbl-lab"])
        XCTAssertNil(needs("trampoline_sfence"))
        XCTAssertNil(needs("fail_kalloc"))
        var s = KernelSettings.xv6_2020
        XCTAssertNil(s.set("free_kernel_pagetable", "root-only"))
        XCTAssertNil(s.set("copyin", "mmu"))
        XCTAssertEqual(s.inert(comparedTo: .xv6_2020).map(\.key), ["free_kernel_pagetable", "copyin"])
        XCTAssertNil(s.set("per_process_kernel_pagetable", "true"))
        XCTAssertEqual(s.inert(comparedTo: .xv6_2020).map(\.key), [])
    }

    /// The kernel notes which settings it read: free_kernel_pagetable only once a process is freed.
    func testTheKernelNotesWhichSettingsItConsulted() throws {
        let k = try kernel("pgtbl-lab") { $0.freeKernelPagetable = .rootOnly }
        let key = KernelSettings.catalogue.first { $0.key == "free_kernel_pagetable" }!
        XCTAssertFalse(k.settings.consulted(key))
        XCTAssertEqual(k.unconsulted(comparedTo: .pgtblLab).map(\.key), ["free_kernel_pagetable"])
        _ = try leakedByOneChild(k)
        XCTAssertTrue(k.settings.consulted(key))
        XCTAssertEqual(k.unconsulted(comparedTo: .pgtblLab).map(\.key), [])
        // A snapshot keeps what was read before it.
        XCTAssertTrue(k.snapshot().settings.consulted(key))
    }

    func testSettingsParseFromTheirKeysAndRefuseUnknownValues() {
        var s = KernelSettings.pgtblLab
        XCTAssertNil(s.set("free_kernel_pagetable", "root-only"))
        XCTAssertEqual(s.freeKernelPagetable, .rootOnly)
        XCTAssertEqual(s.set("free_kernel_pagetable", "half"),
                       "setting 'free_kernel_pagetable' takes one of: recursive, root-only, none, unmap-then-freewalk, unmap-all-then-freewalk, proc-freepagetable; got 'half'")
        XCTAssertEqual(s.set("nonsense", "1"), "unknown setting 'nonsense'")
        XCTAssertEqual(KernelSettings.catalogue.count, s.listed.count)
        XCTAssertEqual(Set(KernelSettings.catalogue.map(\.key)).count, KernelSettings.catalogue.count)
    }
}

final class InvariantTests: XCTestCase {
    func testACorrectKernelHoldsEveryInvariant() throws {
        let k = try Kernel(config: KernelConfig(variant: "pgtbl-lab"))
        _ = try k.userinit()
        _ = try k.syscall(pid: 1, .exec(path: "/init", argv: ["init"], program: onePage))
        _ = try k.syscall(pid: 1, .fork)
        _ = try k.syscall(pid: 2, .sbrk(0x1801))
        XCTAssertEqual(try k.checkInvariants(), [])
    }

    func testAMissingMirrorIsReported() throws {
        var c = KernelConfig(variant: "pgtbl-lab")
        c.settings.mirrorUserMappings = .none
        let k = try Kernel(config: c)
        _ = try k.userinit()
        c.settings.mirrorUserMappings = .kvmcopymappings
        // The check compares with what the setting promised: none promises nothing.
        XCTAssertEqual(try k.checkInvariants(), [])
        let k2 = try Kernel(config: KernelConfig(variant: "pgtbl-lab"))
        _ = try k2.userinit()
        let pte = try XCTUnwrap(try k2.walk(k2.procs[0].kernelPagetable, 0, alloc: false))
        k2.memory.write64(PhysAddr(pte), 0)
        XCTAssertEqual(try k2.checkInvariants(), [
            "kernel:1 does not mirror user:1 at va 0x0000000000000000: user pte 0x0000000021fda41f, kernel pte 0x0000000000000000",
        ])
    }

    func testAMirrorLeftBeyondSzIsReported() throws {
        let k = try Kernel(config: KernelConfig(variant: "pgtbl-lab"))
        _ = try k.userinit()
        _ = try k.uvmunmap(k.procs[0].pagetable, 0, 1, doFree: false)   // as if the user table shrank alone
        k.procs[0].sz = 0
        XCTAssertEqual(try k.checkInvariants(), [
            "kernel:1 still maps va 0x0000000000000000 to 0x0000000087f69000 beyond sz 0x0 (1 page)",
        ])
    }

    func testTheFreeListAndAllocatedPagesPartitionRAM() throws {
        let k = try Kernel(config: KernelConfig())
        let a = try XCTUnwrap(try k.kalloc())
        try k.kfree(a)
        try k.kfree(a)
        // The second kfree links the page to itself: the list loops, and every other free page is lost to it.
        XCTAssertEqual(try k.checkInvariants(), ["page 0x0000000087f76000 is on the free list twice (the list loops)",
                                                 "32590 freed pages are not on the free list (first 0x0000000080028000)"])
        let k2 = try Kernel(config: KernelConfig())
        k2.freelist = k2.memory.read64(PhysAddr(k2.freelist))          // lose the head page
        XCTAssertEqual(try k2.checkInvariants(), ["1 freed page is not on the free list (first 0x0000000087f76000)"])
    }
}
