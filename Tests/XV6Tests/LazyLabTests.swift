import XCTest
import XV6
import RISCV

/// lazy-lab against the real lazy kernel (Miigon's lazy branch, 9397371): every value is a
/// line of docs/kernel-logs/lazy-*.log.xz, cited by file and line.
final class LazyLabTests: XCTestCase {
    /// The lazy kernel with sh's child (pid 3) as lazy-boot has it before its exec: sbrk(65536)
    /// and its two stores above the old size.
    func lazyShellChild(sink: Recorder) throws -> Kernel {
        let k = try cowShell(variant: "lazy-lab", sink: sink)
        XCTAssertEqual(k.image.end, 0x8002_6000)
        XCTAssertEqual(try k.syscall(pid: 2, .fork), .returned(3))
        sink.events.removeAll()
        XCTAssertEqual(try k.syscall(pid: 3, .sbrk(65536)), .returned(0x4000))
        XCTAssertEqual(k.procs[k.slot(ofPid: 3)!].sz, 0x14000)
        XCTAssertEqual(logLines(sink.events), [])                           // no growproc, no page
        return k
    }

    /// lazy-boot 428-434: a store above the old size faults and the handler makes the page.
    func testAStoreToAPageNeverTouchedMakesIt() throws {
        let rec = Recorder()
        let k = try lazyShellChild(sink: rec)
        let fault = Fault(kind: .pageFault, access: .store, va: VirtAddr(0x4008))
        XCTAssertEqual(try k.userAccess(pid: 3, va: 0x4008, .store), .handled(fault, pa: 0x87f5_9008))
        try touch(k, 3, 0x13f48, .store)
        XCTAssertEqual(logLines(rec.events), [
            "pagefault pid=3 scause=0xf va=0x4008",
            "kalloc pa=0x87f59000",
            "map pt=0x87f75000 va=0x4000 size=0x1000 pa=0x87f59000 perm=0x1e",
            "pagefault pid=3 scause=0xf va=0x13f48",
            "kalloc pa=0x87f58000",
            "map pt=0x87f75000 va=0x13000 size=0x1000 pa=0x87f58000 perm=0x1e",
        ])
    }

    /// lazytests (lazy-lazytests-nopreempt.log.xz): sparse_memory's child takes 1 GiB and
    /// touches every 64th page (4096 faults); its exit unmaps 262147 pages and frees only the
    /// 4099 present (line 13360). sparse_memory_unmap's child (pid 5) touches every 4096th
    /// page and forks: uvmcopy copies only the present pages (18812-19018); the grandchild's
    /// sbrk(-1 GiB) unmaps at once (19021-19022) and its store below the old size is then
    /// above sz: unexpected, and it is killed (19087-19090).
    func testLazytestsSparseMemoryForkShrinkAndAFaultAboveSz() throws {
        let rec = Recorder()
        let k = try lazyShellChild(sink: rec)
        try touch(k, 3, 0x4008, .store)
        try touch(k, 3, 0x13f48, .store)
        try cowExec(k, 3, "lazytests", ["lazytests"], memsz: 0x1000)
        try touch(k, 3, 0x0, .fetch)
        try touch(k, 3, 0x2f3c, .store)
        XCTAssertEqual(try k.syscall(pid: 3, .fork), .returned(4))
        XCTAssertEqual(try k.syscall(pid: 4, .sbrk(1 << 30)), .returned(0x3000))
        for i in 0..<UInt64(4096) { try touch(k, 4, 0x4000 + i * 64 * 4096, .store) }
        XCTAssertEqual(try k.syscall(pid: 4, .exit(0)), .returned(0))
        XCTAssertEqual(try k.syscall(pid: 3, .copyout(va: 0x2f3c, len: 4)), .returned(0))
        rec.events.removeAll()
        XCTAssertEqual(try k.syscall(pid: 3, .wait), .returned(4))
        let reap = logLines(rec.events)
        let unmap = try XCTUnwrap(reap.firstIndex(of: "unmap pt=0x87f75000 va=0x0 npages=262147 free=1"))
        let freed = reap[(unmap + 1)...].prefix { $0.hasPrefix("kfree") }
        XCTAssertEqual(freed.count, 4099)
        XCTAssertEqual(Array(freed.prefix(2)), ["kfree pa=0x87f72000", "kfree pa=0x87f59000"])   // 13361-13362

        XCTAssertEqual(try k.syscall(pid: 3, .fork), .returned(5))
        XCTAssertEqual(try k.syscall(pid: 5, .sbrk(1 << 30)), .returned(0x3000))
        for i in 0..<UInt64(64) { try touch(k, 5, 0x4000 + i * 0x100_0000, .store) }
        rec.events.removeAll()
        XCTAssertEqual(try k.syscall(pid: 5, .fork), .returned(6))
        let fork = logLines(rec.events)
        XCTAssertEqual(Array(fork.prefix(2)), ["kalloc pa=0x871fe000", "kalloc pa=0x87207000"])   // 18813-18814
        XCTAssertEqual(fork.filter { $0.hasPrefix("map pt=0x87207000 va=0x") && !$0.contains("va=0x3fffff") }.count, 3 + 64)
        XCTAssertEqual(fork.last(where: { $0.hasPrefix("map") }),
                       "map pt=0x87207000 va=0x3f004000 size=0x1000 pa=0x876b4000 perm=0xdf")     // 19016
        XCTAssertEqual(fork.last, "kalloc pa=0x876bd000")                                          // 19017
        rec.events.removeAll()
        XCTAssertEqual(try k.syscall(pid: 6, .sbrk(-(1 << 30))), .returned(0x4000_3000))
        let shrink = logLines(rec.events)
        XCTAssertEqual(shrink.first, "unmap pt=0x87207000 va=0x3000 npages=262144 free=1")        // 19022
        XCTAssertEqual(shrink.dropFirst().count, 64)
        XCTAssertEqual(shrink.last, "kfree pa=0x876b4000")                                         // 19086
        XCTAssertEqual(k.procs[k.slot(ofPid: 6)!].sz, 0x3000)
        rec.events.removeAll()
        let fault = Fault(kind: .pageFault, access: .store, va: VirtAddr(0x4000))
        XCTAssertEqual(try k.userAccess(pid: 6, va: 0x4000, .store), .killed(fault))
        XCTAssertEqual(logLines(rec.events), ["pagefault pid=6 scause=0xf va=0x4000", "exit pid=6 status=-1"])
        let console = rec.events.compactMap { if case .console(let l) = $0 { l } else { nil } }
        XCTAssertEqual(console.first, "usertrap(): unexpected scause 0x000000000000000f pid=6")  // 19088
    }
}

extension LazyLabTests {
    /// lazycopy.c under the lazy kernel (lazy-lazycopy-nopreempt.log.xz): the heap grows by
    /// four pages never touched; write() from the first makes it in copyin (505-507), read()
    /// into the second makes it in copyout (525-527), and a read() from 0x5e00 across pages
    /// 0x5000 and 0x6000 makes only 0x5000 and fails (529-531). Checking each page, it
    /// makes both and succeeds.
    func testCopyinAndCopyoutMakeLazyPagesWhereTheCopyStarts() throws {
        for every in [false, true] {
            let rec = Recorder()
            let k = try lazyShellChild(sink: rec)
            try touch(k, 3, 0x4008, .store)
            try touch(k, 3, 0x13f48, .store)
            try cowExec(k, 3, "lazycopy", ["lazycopy"], memsz: 0x1000)
            XCTAssertEqual(try k.syscall(pid: 3, .sbrk(16384)), .returned(0x3000))
            rec.events.removeAll()
            var c = k.config
            c.settings.lazyCopyCheck = every ? .everyPage : .firstPage
            let m = k.snapshot(settings: c.settings, sink: rec)
            XCTAssertEqual(try m.syscall(pid: 3, .copyin(va: 0x3000, len: 1024)), .returned(0))
            XCTAssertEqual(try m.syscall(pid: 3, .copyout(va: 0x4100, len: 100)), .returned(0))
            XCTAssertEqual(try m.syscall(pid: 3, .copyout(va: 0x5e00, len: 1024)), .returned(every ? 0 : -1))
            XCTAssertEqual(logLines(rec.events), [
                "kalloc pa=0x87f57000",
                "map pt=0x87f56000 va=0x3000 size=0x1000 pa=0x87f57000 perm=0x1e",
                "kalloc pa=0x87f75000",
                "map pt=0x87f56000 va=0x4000 size=0x1000 pa=0x87f75000 perm=0x1e",
                "kalloc pa=0x87f74000",
                "map pt=0x87f56000 va=0x5000 size=0x1000 pa=0x87f74000 perm=0x1e",
            ] + (every ? ["kalloc pa=0x87f73000", "map pt=0x87f56000 va=0x6000 size=0x1000 pa=0x87f73000 perm=0x1e"] : []))
        }
    }
}
