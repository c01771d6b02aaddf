import Foundation
import XCTest

/// `xv6vm review` on a terminal (issue 24, item 4): one key without Enter, `?` for help,
/// unknown keys said so, a pager for long diffs, the same words as --accept and --reject.
/// Standard input is a pseudo-terminal; each key is sent once the question is on screen.
final class ReviewTerminalTests: XCTestCase {
    /// A project with scenarios/a/boot.yaml and scenarios/a/sbrk.yaml, checked once: two
    /// pending new goldens.
    func pendingProject() throws -> String {
        let dir = try scratchDirectory(self)
        try FileManager.default.createDirectory(atPath: dir + "/scenarios/a", withIntermediateDirectories: true)
        for name in ["boot", "sbrk"] {
            try FileManager.default.copyItem(atPath: CommandLineTests.root + "/scenarios/xv6-2020/\(name).yaml", toPath: dir + "/scenarios/a/\(name).yaml")
        }
        XCTAssertEqual(try runCommand(CommandLineTests.binary, ["check"], in: dir).status, 1)
        return dir
    }

    /// What the terminal session printed, and how it exited.
    struct Session { var stdout: String; var status: Int32 }

    /// Runs `review` with a pseudo-terminal on standard input; before sending each key it
    /// waits until the question has been asked once more than before.
    func review(in dir: String, keys: [String], environment: [String: String]) throws -> Session {
        // posix_openpt and friends are not in Swift's Glibc: the same by hand. Linux's ioctl
        // numbers: TIOCSPTLCK unlocks the pair, TIOCGPTN gives N of /dev/pts/N.
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        XCTAssertGreaterThanOrEqual(master, 0)
        var unlock: Int32 = 0, number: UInt32 = 0
        XCTAssertEqual(ioctl(master, UInt(0x4004_5431), &unlock), 0)
        XCTAssertEqual(ioctl(master, UInt(0x8004_5430), &number), 0)
        let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        XCTAssertGreaterThanOrEqual(slave, 0)
        defer { close(master) }
        let p = commandProcess(CommandLineTests.binary, ["review"], in: dir, environment: environment)
        p.standardInput = FileHandle(fileDescriptor: slave, closeOnDealloc: true)
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        final class Collected: @unchecked Sendable {
            let lock = NSLock()
            var data = Data()
            func add(_ d: Data) { lock.lock(); data += d; lock.unlock() }
            var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
        }
        let collected = Collected()
        out.fileHandleForReading.readabilityHandler = { h in collected.add(h.availableData) }
        let wait = try p.startWaitable()
        func shown() -> String { collected.text }
        for (n, key) in keys.enumerated() {
            let deadline = Date().addingTimeInterval(20)
            while shown().components(separatedBy: "? for help] ").count - 1 <= n && Date() < deadline { usleep(20_000) }
            XCTAssertEqual(write(master, key, key.utf8.count), key.utf8.count)
        }
        wait()
        usleep(100_000)
        out.fileHandleForReading.readabilityHandler = nil
        return Session(stdout: shown() + String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                       status: p.terminationStatus)
    }

    /// x is unknown and said so; ? shows the keys; a accepts at once, with no Enter; s skips.
    /// The accepted line is the one `review --accept` prints.
    func testOneKeyEachAndUnknownKeysSaySo() throws {
        let dir = try pendingProject()
        let s = try review(in: dir, keys: ["x", "?", "a", "s"], environment: ["LINES": "2000", "NO_COLOR": "1"])
        XCTAssertEqual(s.status, 0, s.stdout)
        let question = "accept, reject or skip? [a/r/s/q, ? for help] "
        XCTAssertTrue(s.stdout.contains("\n" + question + "\nunknown key 'x': press a, r, s or q (? for help)\n" + question + "?\n"
            + "  a  accept: the .new file replaces the golden\n"
            + "  r  reject: the .new file is removed; the golden stays as it was\n"
            + "  s  skip: leave it pending, for later\n"
            + "  q  quit: leave this one and the rest pending\n"
            + "  ?  this help\n" + question + "a\n"
            + "accepted        golden/a/boot.trace (from golden/a/boot.trace.new)\n"), s.stdout)
        XCTAssertTrue(s.stdout.contains("\n[2/2] a/sbrk.yaml\n"), s.stdout)
        XCTAssertTrue(s.stdout.hasSuffix(question + "s\nskipped         golden/a/sbrk.trace.new\n"
            + "review: 1 accepted, 0 rejected, 1 skipped, 1 left\n"), s.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/golden/a/boot.trace"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/golden/a/sbrk.trace.new"))
        // Scripted, the same words.
        let scripted = try runCommand(CommandLineTests.binary, ["review", "--accept"], in: dir)
        XCTAssertEqual(scripted.stdout, "accepted        golden/a/sbrk.trace (from golden/a/sbrk.trace.new)\nreview: 1 accepted, 0 left\n")
    }

    /// A diff longer than the screen goes through PAGER; the header comes back on screen
    /// before the question. q leaves the rest pending.
    func testALongDiffGoesThroughThePagerAndTheHeaderStaysOnScreen() throws {
        let dir = try pendingProject()
        let s = try review(in: dir, keys: ["q"], environment: ["LINES": "24", "PAGER": "cat > paged.txt", "NO_COLOR": "1"])
        XCTAssertEqual(s.status, 0, s.stdout)
        let paged = try String(contentsOfFile: dir + "/paged.txt", encoding: .utf8)
        XCTAssertTrue(paged.hasPrefix("[1/2] a/boot.yaml\n    new golden golden/a/boot.trace, 342 lines:\n--- /dev/null\n"), paged)
        XCTAssertTrue(paged.contains("\n+xv6vm-trace 2\n"), paged)
        XCTAssertEqual(s.stdout, "[1/2] a/boot.yaml: new golden golden/a/boot.trace, 342 lines:\n"
            + "accept, reject or skip? [a/r/s/q, ? for help] q\nreview: 0 accepted, 0 rejected, 0 skipped, 2 left\n")
    }
}
