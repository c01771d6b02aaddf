import XCTest
import XV6
import RISCV

/// The cow-lab kernel (or `variant`) as the real cow kernel's logs (docs/kernel-logs/cow-*.log.xz) have it
/// when the shell waits for its first command: init exec'd, its child sh exec'd, and the
/// accesses their user code made (text fetched, data and stack written), whose A and D bits
/// the later forks' `map` lines show.
func cowShell(_ tweak: (inout KernelSettings) -> Void = { _ in }, variant: String = "cow-lab", sink: TraceSink? = nil) throws -> Kernel {
    var c = KernelConfig(variant: variant)
    tweak(&c.settings)
    let k = try Kernel(config: c, sink: sink)
    XCTAssertEqual(try k.userinit(), 1)
    try cowExec(k, 1, "/init", ["init"], memsz: 0x1000)
    try touch(k, 1, 0x0, .fetch)
    try touch(k, 1, 0x2fd0, .store)
    XCTAssertEqual(try k.syscall(pid: 1, .fork), .returned(2))
    try cowExec(k, 2, "sh", ["sh"], memsz: 0x2000)
    try touch(k, 2, 0x0, .fetch)
    try touch(k, 2, 0x14a8, .store)
    try touch(k, 2, 0x3fa8, .store)
    return k
}

/// sh's child, pid 3, up to its exec, as in every log: two COW faults, then sbrk(65536).
func cowShellChild(_ k: Kernel) throws {
    XCTAssertEqual(try k.syscall(pid: 2, .fork), .returned(3))
    try touch(k, 3, 0x3fa8, .store)
    try touch(k, 3, 0x14a8, .store)
    XCTAssertEqual(try k.syscall(pid: 3, .sbrk(65536)), .returned(0x4000))
}

func cowExec(_ k: Kernel, _ pid: Int, _ path: String, _ argv: [String], memsz: UInt64) throws {
    let program = Program(segments: [Segment(vaddr: 0, memsz: memsz, filesz: 0)])
    XCTAssertEqual(try k.syscall(pid: pid, .exec(path: path, argv: argv, program: program)), .returned(Int64(argv.count)))
}

/// A user access that must not kill the process.
func touch(_ k: Kernel, _ pid: Int, _ va: UInt64, _ access: AccessType, file: StaticString = #filePath, line: UInt = #line) throws {
    switch try k.userAccess(pid: pid, va: va, access) {
    case .ok, .handled: break
    case let other: XCTFail("\(access) of \(hexShort(va)) by pid \(pid): \(other)", file: file, line: line)
    }
}

/// The memory lines of `events`, written as the real kernel's probes print them (addresses
/// in short hex), so a test reads like the log lines it cites.
func logLines(_ events: [TraceEvent]) -> [String] {
    events.compactMap { e in
        switch e {
        case let .pagefault(pid, scause, va): "pagefault pid=\(pid) scause=\(hexShort(scause)) va=\(hexShort(va.rawValue))"
        case let .kalloc(pa, _, _): "kalloc pa=\(hexShort(pa.rawValue))"
        case .kallocFailed: "kalloc pa=0x0"
        case let .kfree(pa, _, _): "kfree pa=\(hexShort(pa.rawValue))"
        case let .refinc(pa, n, _): "refinc pa=\(hexShort(pa.rawValue)) n=\(n)"
        case let .refdec(pa, n, _): "refdec pa=\(hexShort(pa.rawValue)) n=\(n)"
        case let .uvmunmap(_, root, va, npages, free):
            "unmap pt=\(hexShort(root.rawValue)) va=\(hexShort(va.rawValue)) npages=\(npages) free=\(free ? 1 : 0)"
        case let .mappages(_, root, va, size, pa, perm):
            "map pt=\(hexShort(root.rawValue)) va=\(hexShort(va.rawValue)) size=\(hexShort(size)) pa=\(hexShort(pa.rawValue)) perm=\(hexShort(perm.rawValue))"
        case let .zombie(pid, status): "exit pid=\(pid) status=\(status)"
        case let .freewalk(pt): "freewalk pt=\(hexShort(pt.rawValue))"
        default: nil
        }
    }
}
