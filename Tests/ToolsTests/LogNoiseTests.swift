import Foundation
import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import CosimLog
import LogReplay
import HTMLReport

/// What a kernel's console does to its probe lines: a last line cut by the kill, blanks
/// after a probe, two CPUs printing at once; and logs read through the reader thread.
final class LogNoiseTests: XCTestCase {
    static let logs = ReplayTests.logs

    func bootText() throws -> String { try String(contentsOfFile: Self.logs + "stock-boot.log", encoding: .utf8) }

    /// The kernel was killed in the middle of a printf: the probe without its newline is
    /// left out, with a warning naming the line, and everything before it replays as before.
    func testACutLastLineIsLeftOutWithAWarningAndTheRestAgrees() throws {
        let log = try KernelLog.parse(Array((try bootText() + "@T kalloc pa=0x00000000873").utf8), file: "cut.log")
        XCTAssertEqual(log.warnings.map(\.description), ["""
            cut.log:526:27: warning: the log ends in the middle of this line (no newline after it): it was cut short, and the line is left out
                @T kalloc pa=0x00000000873
            """])
        XCTAssertEqual(log.probes.count, 509)
        XCTAssertEqual(log.lineCount, 526)
        let report = Replay.run(try LogImporter.run(log))
        XCTAssertTrue(report.text().hasSuffix("\nAGREE: 423 events, every one the same\n"), report.text())
        // Console text cut short is console text: no warning.
        XCTAssertEqual(try KernelLog.parse(Array((try bootText() + "$ ec").utf8), file: "c.log").warnings, [])
    }

    /// Spaces and tabs after a probe's last field (a console's padding) are allowed, and a
    /// probe whose fields come in another order reads the same.
    func testBlanksAfterAProbeAndFieldsInAnotherOrderReadTheSame() throws {
        let text = try bootText()
        let padded = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("@T ") ? $0 + " \t \t" : $0 }.joined(separator: "\n")
        let plain = try KernelLog.parse(Array(text.utf8), file: "a.log")
        let blanks = try KernelLog.parse(Array(padded.utf8), file: "b.log")
        XCTAssertEqual(blanks.probes.count, 509)
        XCTAssertEqual(blanks.probes, plain.probes)
        let crlf = try KernelLog.parse(Array("@T kfree pa=0x0000000087fff000\t \r\n".utf8), file: "x.log")
        XCTAssertEqual(crlf.probes.map(\.pa), [0x8_7fff_000])
        let a = try KernelLog.parse(Array("@T map pt=0x0000000087fff000 va=0x0000000000001000 size=0x0000000000001000 pa=0x0000000087f00000 perm=0x1e\n".utf8), file: "x.log")
        let b = try KernelLog.parse(Array("@T map perm=0x1e pa=0x0000000087f00000 size=0x0000000000001000 va=0x0000000000001000 pt=0x0000000087fff000\n".utf8), file: "x.log")
        XCTAssertEqual(a.probes, b.probes)
        XCTAssertEqual(a.probes.first?.rendered, "map pt=0x0000000087fff000 va=0x0000000000001000 size=0x0000000000001000 pa=0x0000000087f00000 perm=0x1e")
    }

    /// Two probe lines whose characters interleave are an error once, at the line and the
    /// column of the second `@`, whether the mix still holds an `@T ` or not.
    func testInterleavedProbeLinesAreAnErrorAtTheirLineAndColumn() throws {
        func error(_ text: String) -> String {
            do { _ = try KernelLog.parse(Array(text.utf8), file: "two.log"); return "no error" } catch { return error.description }
        }
        XCTAssertEqual(error("hello\n$ @T kal@T kfree pa=0x0000000087ffe000\nloc pa=0x0000000087fff000\n"), """
            two.log:2:9: error: two probe lines are mixed in this one: their characters interleave, as when more than one CPU prints at once; run the kernel with CPUS=1
                $ @T kal@T kfree pa=0x0000000087ffe000
            """)
        XCTAssertEqual(error("@T kalloc pa=0x0000000087fff000\n@@TT  kkaallloocc  ppaa==\n"), """
            two.log:2:2: error: two probe lines are mixed in this one: their characters interleave, as when more than one CPU prints at once; run the kernel with CPUS=1
                @@TT  kkaallloocc  ppaa==
            """)
        // One `@T` and no other `@`: console text as before (a prompt, a stray word).
        XCTAssertEqual(error("garbage@T\nuser@Thost\n@T kfree pa=0x0000000087fff000\n"), "no error")
    }

    /// The reader thread hands a log over in chunks: a `.xz` log read from a FIFO (refused
    /// before the reader decompressed as it read) gives the probes the file gives.
    func testAnXZLogFromAFIFOReadsAsTheFileDoes() throws {
        let dir = try temporaryDirectory(self)
        XCTAssertEqual(mkfifo(dir + "/log.fifo", 0o644), 0)
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        writer.arguments = ["-c", "cat \"$0\" > \"$1\"", Self.logs + "pgtbl-boot.log.xz", dir + "/log.fifo"]
        let wait = try writer.startWaitable()
        let piped = try KernelLog.read(path: dir + "/log.fifo")
        wait()
        let file = try KernelLog.read(path: Self.logs + "pgtbl-boot.log.xz")
        XCTAssertEqual(piped.probes.count, file.probes.count)
        XCTAssertEqual(piped.probes, file.probes)
        XCTAssertEqual(piped.lineCount, file.lineCount)
    }

    /// A text log over the size limit is refused at once, before the reader thread reads a
    /// byte of it (a sparse file: no disk is used).
    func testATextLogOverTheLimitIsRefusedBeforeItIsRead() throws {
        let path = try temporaryDirectory(self) + "/big.log"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("@T kalloc pa=0x0000000087fff000\n".utf8)))
        XCTAssertEqual(truncate(path, off_t(KernelLog.sizeLimit) + 1), 0)
        let start = Date()
        XCTAssertThrowsError(try KernelLog.read(path: path)) { e in
            XCTAssertEqual((e as! LogError).description, path + ": error: the log is larger than 1024 MiB")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }
    /// The scanner reads `%p`'s digits eight at a time: every byte in every place of eight
    /// digits gives the value a digit-by-digit reading gives, or nil where that one fails.
    func testEightHexDigitsAtOnceReadAsOneByOne() {
        func reference(_ bytes: [UInt8]) -> UInt64? {
            var x: UInt64 = 0
            for c in bytes {
                guard let d = Int(String(UnicodeScalar(c)), radix: 16), c < 0x80 else { return nil }
                x = x << 4 | UInt64(d)
            }
            return x
        }
        func word(_ bytes: [UInt8]) -> UInt64 { bytes.enumerated().reduce(0) { $0 | UInt64($1.element) << UInt64(8 * $1.offset) } }
        var checked = 0, valid = 0
        for base in ["0123abCD", "ffffffff", "80000000", "9aF0e1D2"] {
            for place in 0..<8 {
                for c in 0...255 {
                    var bytes = Array(base.utf8)
                    bytes[place] = UInt8(c)
                    XCTAssertEqual(ProbeScanner.hex8(word(bytes)), reference(bytes), "\(bytes)")
                    checked += 1
                    if reference(bytes) != nil { valid += 1 }
                }
            }
        }
        XCTAssertEqual(checked, 8_192)
        XCTAssertEqual(valid, 4 * 8 * 22)
        XCTAssertEqual(ProbeScanner.hex8(word(Array("87f4b000".utf8))), 0x87f4_b000)
    }
}
