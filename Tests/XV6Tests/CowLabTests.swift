import XCTest
import XV6
import RISCV

/// cow-lab against the real cow kernel (Miigon's cow branch, c119f03) and its parent
/// (3e4542e): every value below is a line of docs/kernel-logs/, cited by file and line
/// (`xz -dc F | sed -n Np`).
final class CowLabTests: XCTestCase {
    func testTheCountArrayMovesEndSoKinitFreesFromItsPage() throws {
        let rec = Recorder()
        let k = try Kernel(config: KernelConfig(variant: "cow-lab"), sink: rec)
        XCTAssertEqual(k.image.end, 0x8004_6000)
        guard case let .kinit(start, _, pages) = rec.events.first else { return XCTFail("\(rec.events.first as Any)") }
        XCTAssertEqual(start.rawValue, 0x8004_6000)
        XCTAssertEqual(pages, (0x8800_0000 - 0x8004_6000) / 4096)   // 32698
        // A free page's count is -1 (freerange's kfree lowered it from 0); the image's stay 0.
        XCTAssertEqual(k.refcount[(0x8004_6000 - 0x8000_0000) / 4096], -1)
        XCTAssertEqual(k.refcount[(0x8004_5000 - 0x8000_0000) / 4096], 0)
        XCTAssertEqual(k.refcount[(0x87ff_f000 - 0x8000_0000) / 4096], 1)   // kvminit's root
    }

    /// cow-boot 408-425: fork of sh maps each page read-only and COW into the child, with the
    /// A and D bits the shell's code set, then raises its count.
    func testForkSharesEachPageReadOnlyWithTheCowBit() throws {
        let rec = Recorder()
        let k = try cowShell(sink: rec)
        rec.events.removeAll()
        XCTAssertEqual(try k.syscall(pid: 2, .fork), .returned(3))
        XCTAssertEqual(logLines(rec.events).filter { $0.hasPrefix("map pt=0x87f75000 va=0x") && !$0.contains("va=0x3f") || $0.hasPrefix("refinc") }, [
            "map pt=0x87f75000 va=0x0 size=0x1000 pa=0x87f63000 perm=0x15b",
            "refinc pa=0x87f63000 n=2",
            "map pt=0x87f75000 va=0x1000 size=0x1000 pa=0x87f60000 perm=0x1db",
            "refinc pa=0x87f60000 n=2",
            "map pt=0x87f75000 va=0x2000 size=0x1000 pa=0x87f5f000 perm=0x10b",
            "refinc pa=0x87f5f000 n=2",
            "map pt=0x87f75000 va=0x3000 size=0x1000 pa=0x87f5e000 perm=0x1db",
            "refinc pa=0x87f5e000 n=2",
        ])
        // The parent's own PTE lost W and got COW too (sh's table is 0x87f66000).
        let pte = PTE(rawValue: k.memory.read64(PhysAddr(try XCTUnwrap(try k.walk(PhysAddr(0x87f6_6000), 0x3000, alloc: false)))))
        XCTAssertEqual(pte.flags.rawValue, 0x1db)
    }

    /// cow-boot 428-432: the child's store to a page of count 2 copies it.
    func testAStoreToAPageOfCountTwoCopiesIt() throws {
        let rec = Recorder()
        let k = try cowShell(sink: rec)
        XCTAssertEqual(try k.syscall(pid: 2, .fork), .returned(3))
        // Parent and child map the same frame until the store (replay names the sharer by it).
        XCTAssertEqual(k.userFrame(pid: 2, va: 0x3000), PhysAddr(0x87f5_e000))
        XCTAssertEqual(k.userFrame(pid: 3, va: 0x3000), PhysAddr(0x87f5_e000))
        rec.events.removeAll()
        let fault = Fault(kind: .pageFault, access: .store, va: VirtAddr(0x3fa8))
        XCTAssertEqual(try k.userAccess(pid: 3, va: 0x3fa8, .store), .handled(fault, pa: 0x87f5_dfa8))
        XCTAssertEqual(logLines(rec.events), [
            "pagefault pid=3 scause=0xf va=0x3fa8",
            "kalloc pa=0x87f5d000",
            "refdec pa=0x87f5e000 n=1",
            "unmap pt=0x87f75000 va=0x3000 npages=1 free=0",
            "map pt=0x87f75000 va=0x3fa8 size=0x1 pa=0x87f5d000 perm=0xdf",
        ])
        XCTAssertEqual(k.refcount[(0x87f5_d000 - 0x8000_0000) / 4096], 1)
        XCTAssertEqual(k.userFrame(pid: 3, va: 0x3fa8), PhysAddr(0x87f5_d000))
        XCTAssertEqual(k.userFrame(pid: 2, va: 0x3000), PhysAddr(0x87f5_e000))
        XCTAssertNil(k.userFrame(pid: 3, va: 0x40_0000), "nothing mapped there")
        XCTAssertNil(k.userFrame(pid: 3, va: MemLayout.trapframe), "not a user page")
        XCTAssertNil(k.userFrame(pid: 9, va: 0x3000), "no such process")
    }

    /// cow-boot 570-572: once echo is reaped, sh's store finds its page's count at 1 and keeps
    /// it: no kalloc, no refdec, the page mapped writable again.
    func testAStoreToAPageOfCountOneKeepsIt() throws {
        let rec = Recorder()
        let k = try cowShell(sink: rec)
        try cowShellChild(k)
        try cowExec(k, 3, "echo", ["echo", "hi"], memsz: 0x1000)
        XCTAssertEqual(try k.syscall(pid: 3, .exit(0)), .returned(0))
        XCTAssertEqual(try k.syscall(pid: 2, .wait), .returned(3))
        XCTAssertEqual(k.refcount[(0x87f5_e000 - 0x8000_0000) / 4096], 1)
        rec.events.removeAll()
        let fault = Fault(kind: .pageFault, access: .store, va: VirtAddr(0x3fa8))
        XCTAssertEqual(try k.userAccess(pid: 2, va: 0x3fa8, .store), .handled(fault, pa: 0x87f5_efa8))
        XCTAssertEqual(logLines(rec.events), [
            "pagefault pid=2 scause=0xf va=0x3fa8",
            "unmap pt=0x87f66000 va=0x3000 npages=1 free=0",
            "map pt=0x87f66000 va=0x3fa8 size=0x1 pa=0x87f5e000 perm=0xdf",
        ])
    }

    /// cow-boot 499-503: exec's copyout of "echo" to the new table runs the COW check on the
    /// current process's old table, where 0x2ff0 is the shared guard page: copied there.
    func testExecsCopyoutCopiesAPageOfTheOldImage() throws {
        let rec = Recorder()
        let k = try cowShell(sink: rec)
        try cowShellChild(k)
        rec.events.removeAll()
        try cowExec(k, 3, "echo", ["echo", "hi"], memsz: 0x1000)
        let lines = logLines(rec.events)
        let at = try XCTUnwrap(lines.firstIndex(of: "kalloc pa=0x87f41000"))
        XCTAssertEqual(Array(lines[at..<at + 4]), [
            "kalloc pa=0x87f41000",
            "refdec pa=0x87f5f000 n=1",
            "unmap pt=0x87f75000 va=0x2000 npages=1 free=0",
            "map pt=0x87f75000 va=0x2ff0 size=0x1 pa=0x87f41000 perm=0xf",
        ])
        XCTAssertEqual(lines[at - 1], "map pt=0x87f49000 va=0x2000 size=0x1000 pa=0x87f42000 perm=0x1e")
        // Checking the table copyout was given (the new one) finds no COW page: nothing copied.
        let given = Recorder()
        let g = try cowShell({ $0.cowCheckTable = .given }, sink: given)
        try cowShellChild(g)
        given.events.removeAll()
        try cowExec(g, 3, "echo", ["echo", "hi"], memsz: 0x1000)
        // The guard page's only drop is then the old image's free, and no page was copied.
        XCTAssertFalse(logLines(given.events).contains("kalloc pa=0x87f41000"))
        XCTAssertEqual(logLines(given.events).filter { $0.hasPrefix("refdec pa=0x87f5f000") }.count, 1)
        XCTAssertFalse(logLines(given.events).contains { $0.hasPrefix("map pt=0x87f75000 va=0x2ff0") })
    }
}

extension CowLabTests {
    /// c119f03 leaves a page without W as it is (shared, not COW); 3e4542e makes it COW too,
    /// so a store to it would be copied and made writable. No user page of these kernels
    /// lacks W, so the page is made read-only here by hand (sh's text page, at 0x0).
    func testUvmcopyMarksOnlyWritablePagesUnlessEveryPageIsChosen() throws {
        for (marks, perm) in [(KernelSettings.CowMarks.writable, "0x5b"), (.everyPage, "0x15b")] {
            let rec = Recorder()
            let k = try cowShell({ $0.cowMarks = marks }, sink: rec)
            let at = try XCTUnwrap(try k.walk(PhysAddr(0x87f6_6000), 0x0, alloc: false))
            k.memory.write64(PhysAddr(at), k.memory.read64(PhysAddr(at)) & ~PTE.Flags.write.rawValue)
            rec.events.removeAll()
            XCTAssertEqual(try k.syscall(pid: 2, .fork), .returned(3))
            XCTAssertEqual(logLines(rec.events).first { $0.hasPrefix("map pt=0x87f75000 va=0x0 ") },
                           "map pt=0x87f75000 va=0x0 size=0x1000 pa=0x87f63000 perm=\(perm)", "\(marks)")
            XCTAssertTrue(logLines(rec.events).contains("refinc pa=0x87f63000 n=2"))
        }
    }
}
