import XCTest
import XV6
import RISCV

final class VMTests: XCTestCase {
    func testKvminitMapsKernbaseThroughTheFirstTablesItAllocated() throws {
        let k = try Kernel(config: KernelConfig())
        // root 0x87fff000; index 2 (va 0x80000000) -> L1 0x87ff9000 -> L0 0x87ff8000, entry 0.
        let pte = try XCTUnwrap(try k.walk(k.kernelPagetable, 0x8000_0000, alloc: false))
        XCTAssertEqual(pte, 0x87ff_8000)
        XCTAssertEqual(k.memory.read64(PhysAddr(pte)), (0x80000 << 10) | 0xb)   // r-x, valid
        XCTAssertEqual(k.memory.read64(PhysAddr(0x87ff_f000 + 2 * 8)), (0x87ff9 << 10) | 1)
        // UART: index 0 -> L1 0x87ffe000 -> L0 0x87ffd000, entry 0x10000000>>12 & 0x1ff = 0.
        XCTAssertEqual(try k.walk(k.kernelPagetable, MemLayout.uart0, alloc: false), 0x87ff_d000)
        XCTAssertEqual(try k.kvmpa(0x8000_1234).rawValue, 0x8000_1234)
        XCTAssertEqual(try k.kvmpa(MemLayout.kstack(0) + 8).rawValue, 0x87fb_6008)   // the first kernel stack
        XCTAssertPanics("kvmpa") { _ = try k.kvmpa(0x4000_0000) }
    }

    func testWalkaddrRefusesKernelOnlyPagesAndAddressesBeyondMaxva() throws {
        let k = try bootedWithInit()
        let pt = k.procs[0].pagetable
        XCTAssertEqual(try k.walkaddr(pt, 0), 0x87f6_b000)
        XCTAssertEqual(try k.walkaddr(pt, 0x1000), 0)          // the guard page has no PTE_U
        XCTAssertEqual(try k.walkaddr(pt, 0x2000), 0x87f6_7000)
        XCTAssertEqual(try k.walkaddr(pt, MemLayout.trampoline), 0)
        XCTAssertEqual(try k.walkaddr(pt, Sv39.maxVA), 0)
        XCTAssertPanics("walk") { _ = try k.walk(pt, Sv39.maxVA, alloc: false) }
    }

    func testMappagesOverAnExistingMappingPanicsRemap() throws {
        let k = try bootedWithInit()
        XCTAssertPanics("remap") { _ = try k.mappages(k.procs[0].pagetable, 0x2fff, 2, PhysAddr(0x87f0_0000), [.read, .user]) }
    }

    func testUvmunmapPanicsOnMissingMappings() throws {
        let k = try bootedWithInit()
        let pt = k.procs[0].pagetable
        XCTAssertPanics("uvmunmap: not aligned") { try k.uvmunmap(pt, 0x10, 1, doFree: false) }
        XCTAssertPanics("uvmunmap: not mapped") { try k.uvmunmap(pt, 0x3000, 1, doFree: false) }
        XCTAssertPanics("uvmunmap: walk") { try k.uvmunmap(pt, 0x4000_0000, 1, doFree: false) }
    }

    func testFreewalkPanicsOnALeafStillMapped() throws {
        let k = try bootedWithInit()
        XCTAssertPanics("freewalk: leaf") { try k.freewalk(k.procs[0].pagetable) }
    }

    func testUvmallocAndUvmdeallocMapWholePagesForOddSizes() throws {
        let k = try bootedWithInit()
        let pt = k.procs[0].pagetable
        let free = k.freePages
        XCTAssertEqual(try k.uvmalloc(pt, 0x3000, 0x3001), 0x3001)
        XCTAssertEqual(k.freePages, free - 1)
        XCTAssertEqual(try k.uvmalloc(pt, 0x3001, 0x4000), 0x4000)
        XCTAssertEqual(k.freePages, free - 1)
        XCTAssertEqual(try k.uvmdealloc(pt, 0x4000, 0x3001), 0x3001)
        XCTAssertEqual(k.freePages, free - 1)
        XCTAssertEqual(try k.uvmdealloc(pt, 0x3001, 0x3000), 0x3000)
        XCTAssertEqual(k.freePages, free)
        XCTAssertEqual(try k.walkaddr(pt, 0x3000), 0)
    }

    func testUvmcopyCopiesFlagsAndPagesAndUvmclearDropsUser() throws {
        let k = try bootedWithInit()
        let parent = k.procs[0].pagetable
        let child = try XCTUnwrap(try k.uvmcreate())
        XCTAssertTrue(try k.uvmcopy(parent, child, 0x3000))
        for va: UInt64 in [0, 0x1000, 0x2000] {
            let p = PTE(rawValue: k.memory.read64(PhysAddr(try XCTUnwrap(try k.walk(parent, va, alloc: false)))))
            let c = PTE(rawValue: k.memory.read64(PhysAddr(try XCTUnwrap(try k.walk(child, va, alloc: false)))))
            XCTAssertEqual(p.flags, c.flags)
            XCTAssertNotEqual(p.pa, c.pa)
        }
        try k.uvmclear(child, 0x2000)
        XCTAssertEqual(try k.walkaddr(child, 0x2000), 0)
        try k.uvmfree(child, 0x3000)
    }

    func testCopyoutAndCopyinWalkInSoftwareAndStopAtTheGuardPage() throws {
        let k = try bootedWithInit()
        let pt = k.procs[0].pagetable
        let bytes: [UInt8] = Array("hello, page table".utf8)
        // 0xffa..0xfff lies in the text page; the rest would go to the guard page, which has no PTE_U.
        XCTAssertFalse(try k.copyout(pt, 0xffa, bytes))
        XCTAssertEqual(try k.copyin(pt, 0xff0, 16), Array(repeating: 0, count: 10) + Array(bytes.prefix(6)))
        XCTAssertNil(try k.copyin(pt, 0xffa, UInt64(bytes.count)))
        XCTAssertTrue(try k.copyout(pt, 0x2ff0, Array(bytes.prefix(15)) + [0]))
        XCTAssertEqual(try k.copyinstr(pt, 0x2ff0, 64), Array(bytes.prefix(15)))
        XCTAssertNil(try k.copyinstr(pt, 0x2ff0, 5))          // no NUL within max
        XCTAssertNil(try k.copyinstr(pt, 0x3000, 5))          // beyond sz: unmapped
    }

    func testVmprintOfTheGlobalKernelTableStartsWithItsRoot() throws {
        let k = try Kernel(config: KernelConfig())
        let lines = try k.vmprint(k.kernelPagetable)
        XCTAssertEqual(lines[0], "page table 0x0000000087fff000")
        XCTAssertEqual(lines[1], "..0: pte 0x0000000021fff801 pa 0x0000000087ffe000")
        // 1 root line + L2 entries (0, 2, 255) + L1 entries (UART/VIRTIO, CLINT, 2 PLIC, 64 RAM, 1 TRAMPOLINE)
        // + every leaf: 2 + 16 + 1024 + 32768 + 1 (trampoline) + 64 (kernel stacks).
        XCTAssertEqual(lines.count, 1 + 3 + (1 + 1 + 2) + 64 + 1 + 2 + 16 + 1024 + 32768 + 1 + 64)
    }
}
