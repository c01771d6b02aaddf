import XCTest
import XV6
import RISCV

/// A one-page program at address 0, like the 2020 /init.
let onePage = Program(segments: [Segment(vaddr: 0, memsz: 0x1000, filesz: 0x1000)])

/// A booted kernel whose pid 1 has exec'd /init (sz 0x3000).
func bootedWithInit(sink: TraceSink? = nil) throws -> Kernel {
    let k = try Kernel(config: KernelConfig(), sink: sink)
    _ = try k.userinit()
    XCTAssertEqual(try k.syscall(pid: 1, .exec(path: "/init", argv: ["init"], program: onePage)), .returned(1))
    return k
}

/// Runs `body`, which must panic the kernel with `message`.
func XCTAssertPanics(_ message: String, file: StaticString = #filePath, line: UInt = #line,
                     _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected panic: \(message), but the kernel did not panic", file: file, line: line)
    } catch let p as KernelPanic {
        XCTAssertEqual(p.message, message, file: file, line: line)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}

/// Collects trace events.
final class Recorder: TraceSink {
    var events: [TraceEvent] = []
    override func record(_ event: TraceEvent) { events.append(event) }
}

/// A pgtbl-lab kernel, booted, with `tweak` applied to its settings first.
func lab(_ tweak: (inout KernelSettings) -> Void = { _ in }, sink: TraceSink? = nil) throws -> Kernel {
    var c = KernelConfig(variant: "pgtbl-lab")
    tweak(&c.settings)
    return try Kernel(config: c, sink: sink)
}
