import XCTest
import XV6
import RISCV

/// copyout into pages shared copy-on-write, and a COW fault that finds no memory, against
/// the logs of our test programs (docs/kernel-logs/programs/) under the real kernels.
final class CowCopyoutTests: XCTestCase {
    /// copyout2.c up to the child's read: pid 3 exec'd with three pages of `area` written,
    /// forked (pid 4), and its own first store after the fork (a COW fault) done.
    func copyout2(_ tweak: (inout KernelSettings) -> Void = { _ in }, sink: Recorder) throws -> Kernel {
        let k = try cowShell(tweak, sink: sink)
        try cowShellChild(k)
        try cowExec(k, 3, "copyout2", ["copyout2"], memsz: 0x5000)
        try touch(k, 3, 0x0, .fetch)
        for va: UInt64 in [0x1000, 0x2000, 0x3000, 0x6fac] { try touch(k, 3, va, .store) }
        XCTAssertEqual(try k.syscall(pid: 3, .fork), .returned(4))
        try touch(k, 3, 0x6fac, .store)
        sink.events.removeAll()
        return k
    }

    /// The bytes of the parent's frame 0x87f43000 (its `area` page at 0x2000, shared with the
    /// child at the fork, cow-copyout2 line 647) that the child's first read() reaches.
    func parentFrame(_ k: Kernel) -> [UInt8] { k.memory.read(PhysAddr(0x87f4_3000), count: 0x200) }

    /// cow-copyout2-nopreempt 665-673: c119f03's copyout checks each page it writes, so the
    /// first 1024-byte piece, from 0x1e00, copies page 0x1000 and then page 0x2000.
    func testCopyoutCopiesEverySharedPageItWrites() throws {
        let rec = Recorder()
        let k = try copyout2(sink: rec)
        XCTAssertEqual(try k.syscall(pid: 4, .copyout(va: 0x1e00, len: 1024)), .returned(0))
        XCTAssertEqual(logLines(rec.events), [
            "kalloc pa=0x87f4d000",
            "refdec pa=0x87f44000 n=1",
            "unmap pt=0x87f75000 va=0x1000 npages=1 free=0",
            "map pt=0x87f75000 va=0x1e00 size=0x1 pa=0x87f4d000 perm=0xdf",
            "kalloc pa=0x87f4e000",
            "refdec pa=0x87f43000 n=1",
            "unmap pt=0x87f75000 va=0x2000 npages=1 free=0",
            "map pt=0x87f75000 va=0x2000 size=0x1 pa=0x87f4e000 perm=0xdf",
        ])
        XCTAssertEqual(parentFrame(k), [UInt8](repeating: 0, count: 0x200))     // the parent's bytes are its own
        // 677-681: the fifth piece, from 0x2e00, copies page 0x3000 (page 0x2000 is private now).
        rec.events.removeAll()
        XCTAssertEqual(try k.syscall(pid: 4, .copyout(va: 0x2e00, len: 1024)), .returned(0))
        XCTAssertEqual(logLines(rec.events), [
            "kalloc pa=0x87f4f000",
            "refdec pa=0x87f42000 n=1",
            "unmap pt=0x87f75000 va=0x3000 npages=1 free=0",
            "map pt=0x87f75000 va=0x3000 size=0x1 pa=0x87f4f000 perm=0xdf",
        ])
    }

    /// cowbuggy-copyout2-nopreempt 665-670: 3e4542e's copyout checks only its first page. The
    /// piece from 0x1e00 copies page 0x1000 alone and writes 0x2000-0x21ff into frame
    /// 0x87f43000, which pid 3 still maps (count 2); the next piece, from 0x2200, copies it.
    func testCopyoutCheckingOnlyItsFirstPageWritesIntoTheParentsFrame() throws {
        let rec = Recorder()
        let k = try copyout2({ $0.cowCopyoutCheck = .firstPage }, sink: rec)
        XCTAssertEqual(try k.syscall(pid: 4, .copyout(va: 0x1e00, len: 1024)), .returned(0))
        XCTAssertEqual(logLines(rec.events), [
            "kalloc pa=0x87f4d000",
            "refdec pa=0x87f44000 n=1",
            "unmap pt=0x87f75000 va=0x1000 npages=1 free=0",
            "map pt=0x87f75000 va=0x1e00 size=0x1 pa=0x87f4d000 perm=0xdf",
        ])
        XCTAssertEqual(k.refcount[(0x87f4_3000 - 0x8000_0000) / 4096], 2)
        // Bytes 512-1023 of the copy (the model copies out i & 0xff at offset i) are now the parent's.
        XCTAssertEqual(parentFrame(k), (0..<0x200).map { UInt8(truncatingIfNeeded: 512 + $0) })
        rec.events.removeAll()
        XCTAssertEqual(try k.syscall(pid: 4, .copyout(va: 0x2200, len: 1024)), .returned(0))
        XCTAssertEqual(logLines(rec.events), [                                  // lines 671-674
            "kalloc pa=0x87f4e000",
            "refdec pa=0x87f43000 n=1",
            "unmap pt=0x87f75000 va=0x2000 npages=1 free=0",
            "map pt=0x87f75000 va=0x2200 size=0x1 pa=0x87f4e000 perm=0xdf",
        ])
    }

    /// cow-cowoom-nopreempt 142875-142881 (cowoom.c): the parent holds 20000 written pages and
    /// forks; the child's stores copy them until kalloc hands out the lowest page, 0x80046000,
    /// and then fails. The fault that finds no memory kills the child (exit -1): no refdec,
    /// no unmap, no map, and no "unexpected scause" either.
    func testACowFaultThatFindsNoMemoryKillsTheProcess() throws {
        let k = try cowShell()
        try cowShellChild(k)
        try cowExec(k, 3, "cowoom", ["cowoom"], memsz: 0x1000)
        try touch(k, 3, 0x0, .fetch)
        try touch(k, 3, 0x2fac, .store)
        XCTAssertEqual(try k.syscall(pid: 3, .sbrk(81_920_000)), .returned(0x3000))
        for page in 0..<UInt64(20000) { try touch(k, 3, 0x3000 + page * 0x1000, .store) }
        XCTAssertEqual(try k.syscall(pid: 3, .fork), .returned(4))
        try touch(k, 3, 0x2fac, .store)
        var va: UInt64 = 0x3000
        while va < 0x30a2000 { try touch(k, 4, va, .store); va += 0x1000 }
        let rec = Recorder()
        k.sink = rec
        try touch(k, 4, 0x30a2000, .store)                                      // 142875-142879
        XCTAssertEqual(logLines(rec.events), [
            "pagefault pid=4 scause=0xf va=0x30a2000",
            "kalloc pa=0x80046000",
            "refdec pa=0x84ea3000 n=1",
            "unmap pt=0x83112000 va=0x30a2000 npages=1 free=0",
            "map pt=0x83112000 va=0x30a2000 size=0x1 pa=0x80046000 perm=0xdf",
        ])
        rec.events.removeAll()
        let fault = Fault(kind: .pageFault, access: .store, va: VirtAddr(0x30a3000))
        XCTAssertEqual(try k.userAccess(pid: 4, va: 0x30a3000, .store), .killed(fault))
        XCTAssertEqual(logLines(rec.events), [                                  // 142879-142881
            "pagefault pid=4 scause=0xf va=0x30a3000",
            "kalloc pa=0x0",
            "exit pid=4 status=-1",
        ])
        XCTAssertFalse(rec.events.contains { if case .console = $0 { true } else { false } })
        // The parent's page at that address is untouched: still shared with the zombie child.
        let pte = PTE(rawValue: k.memory.read64(PhysAddr(try XCTUnwrap(try k.walk(PhysAddr(0x87f4_a000), 0x30a3000, alloc: false)))))
        XCTAssertEqual(pte.flags.rawValue, 0x1db)
    }
}
