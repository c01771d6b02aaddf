import Foundation
import XCTest

/// `xv6vm import` and `xv6vm replay`, as a user runs them on a kernel's log.
final class CosimCommandTests: XCTestCase {
    let root = CommandLineTests.root
    var logs: String { root + "/docs/kernel-logs/" }

    func run(_ args: [String], in dir: String? = nil) throws -> CommandOutput {
        try runCommand(CommandLineTests.binary, args, in: dir ?? root)
    }

    func scratchDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "xv6vm-cosim-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func testReplayOfTheBootLogAgreesAndExitsZero() throws {
        let r = try run(["replay", logs + "stock-boot.log"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("replay of stock-boot.log on the xv6-2020 model (14 operations): they agree\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("\n  kalloc           208\n  kfree             52\n  map              117\n"), r.stdout)
        XCTAssertTrue(r.stdout.hasSuffix("\nAGREE: 423 events, every one the same\n"), r.stdout)
        XCTAssertTrue(r.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 }, r.stdout)
        let json = try run(["replay", logs + "stock-boot.log", "--format", "json"])
        XCTAssertTrue(json.stdout.hasPrefix(#"{"agree":true,"compared":{"allocproc":3,"exec":3,"exit":1,"fork":2,"freeproc":1,"freewalk":20,"growproc":1,"kalloc":208,"#), json.stdout)
    }

    func testImportWritesAScenarioThatCompilesAndRefusesToOverwriteTheLog() throws {
        let dir = try scratchDirectory()
        let r = try run(["import", logs + "stock-boot.log", "-o", dir + "/boot.yaml"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "wrote \(dir)/boot.yaml: 14 events from 509 probe lines (xv6-2020)\n")
        let compiled = try run(["compile", dir + "/boot.yaml"])
        XCTAssertEqual(compiled.status, 0, compiled.stderr)
        XCTAssertTrue(compiled.stdout.contains("fork pid 1 -> pid 2"), compiled.stdout)
        try FileManager.default.copyItem(atPath: logs + "stock-boot.log", toPath: dir + "/k.log")
        let same = try run(["import", "k.log", "-o", "./k.log"], in: dir)
        XCTAssertEqual(same.status, 64)
        XCTAssertTrue(same.stderr.contains("--output is the log itself; give another file"), same.stderr)
    }

    func testADepartureExitsOneAndABadLogExitsTwoWithItsLine() throws {
        let dir = try scratchDirectory()
        var lines = try String(contentsOfFile: logs + "stock-boot.log", encoding: .utf8).components(separatedBy: "\n")
        lines.remove(at: 280)                              // sys_exec's kfree of /init's argv page
        try lines.joined(separator: "\n").write(toFile: dir + "/leak.log", atomically: true, encoding: .utf8)
        let r = try run(["replay", "leak.log", "--leaks"], in: dir)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("\n       1  sys_exec  (the model freed 1)\n"), r.stdout)
        XCTAssertTrue(r.stdout.hasSuffix("\nDEPARTS at leak.log:322: in exec of /init by pid 1, the kernel frees 6 pages;\n    the model frees 7: 1 page the kernel never frees\n"), r.stdout)
        try "@T kalloc pa=0x0000000087fff000\n@T swtch tO=3\n".write(toFile: dir + "/bad.log", atomically: true, encoding: .utf8)
        let bad = try run(["replay", "bad.log"], in: dir)
        XCTAssertEqual(bad.status, 2)
        XCTAssertEqual(bad.stderr, "bad.log:2:1: error: `swtch` needs `from=`; the line may be cut short\n    @T swtch tO=3\n")
        let missing = try run(["replay", "nope.log"], in: dir)
        XCTAssertEqual(missing.status, 2)
        XCTAssertEqual(missing.stderr, "nope.log: error: no such file\n")
    }

    /// A cut last line (the kernel killed mid-printf) is a warning on stderr, and the rest
    /// replays; an error at line 2 of a FIFO whose writer never stops ends the replay at once
    /// (exit 2): the log is read as it streams, and reading stops there.
    func testACutLastLineWarnsAndAnErrorEarlyInAnEndlessStreamAnswersAtOnce() throws {
        let dir = try scratchDirectory()
        let boot = try String(contentsOfFile: logs + "stock-boot.log", encoding: .utf8)
        try (boot + "@T kalloc pa=0x00000000873").write(toFile: dir + "/cut.log", atomically: true, encoding: .utf8)
        let cut = try run(["replay", "cut.log"], in: dir)
        XCTAssertEqual(cut.status, 0, cut.stderr)
        XCTAssertEqual(cut.stderr, "cut.log:526:27: warning: the log ends in the middle of this line (no newline after it): it was cut short, and the line is left out\n    @T kalloc pa=0x00000000873\n")
        XCTAssertTrue(cut.stdout.hasSuffix("\nAGREE: 423 events, every one the same\n"), cut.stdout)

        XCTAssertEqual(mkfifo(dir + "/endless.log", 0o644), 0)
        let script = #"(printf '@T kalloc pa=0x0000000087fff000\n$ @T kal@T kfree pa=0x0000000087ffe000\n'; exec yes '@T kfree pa=0x0000000087fff000') > endless.log & timeout 20 "$X" replay endless.log"#
        let start = Date()
        let endless = try runCommand(URL(fileURLWithPath: "/bin/sh"), ["-c", script], in: dir, environment: ["X": CommandLineTests.binary.path])
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        XCTAssertEqual(endless.status, 2, endless.stderr)
        XCTAssertEqual(endless.stderr, """
            endless.log:2:9: error: two probe lines are mixed in this one: their characters interleave, as when more than one CPU prints at once; run the kernel with CPUS=1
                $ @T kal@T kfree pa=0x0000000087ffe000

            """)
    }

    /// bench --read times the reading half of a replay alone: it counts the log's probes.
    func testBenchReadCountsALogsProbesWithoutReplayingIt() throws {
        let r = try run(["bench", "--read", logs + "stock-boot.log", "--runs", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = r.stdout.split(separator: "\n")
        XCTAssertEqual(rows.first.map(String.init), "log             text     median  MB/s  probes/s  probes")
        XCTAssertTrue(rows.count == 4 && rows[2].hasPrefix("stock-boot.log  0.0 MB  ") && rows[2].hasSuffix("     509"), r.stdout)
        XCTAssertTrue(rows[3].hasPrefix("1 log read, 1 run each; peak resident memory"), r.stdout)
    }

    /// `leaks LOG`: a kernel's log read alone. 1 for a leak, 0 for a clean log (known by its
    /// name, its @T lines or --log), 2 for one that cannot be read; --set is for scenarios.
    func testLeaksOfALogExitsOneForALeakZeroWhenCleanAndTwoWhenUnreadable() throws {
        let leak = try run(["leaks", logs + "stock-leak-boot.log.xz"])
        XCTAssertEqual(leak.status, 1, leak.stderr)
        XCTAssertTrue(leak.stdout.hasPrefix("==xv6vm== leaks in stock-leak-boot.log.xz, from the log alone (no model)\n"), leak.stdout)
        XCTAssertTrue(leak.stdout.hasSuffix("\nSUMMARY: 6 pages leaked in 1 record (4 times)\n"
                                            + "Held at the end, not leaks: 137 pages by the kernel, 19 by 2 live processes\n"
                                            + "    (pid 1: 9, pid 2: 10)\n"), leak.stdout)
        XCTAssertTrue(leak.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 }, leak.stdout)
        let dir = try scratchDirectory()
        try FileManager.default.copyItem(atPath: logs + "stock-boot.log", toPath: dir + "/boot.txt")
        for args in [["leaks", logs + "stock-boot.log"], ["leaks", "boot.txt"], ["leaks", "--log", "boot.txt"]] {
            let clean = try run(args, in: dir)
            XCTAssertEqual(clean.status, 0, clean.stderr)
            XCTAssertTrue(clean.stdout.contains("\nSUMMARY: no leaks, no double frees, no frees of mapped pages\n"), clean.stdout)
        }
        try "@T kalloc pa=0x12\n".write(toFile: dir + "/bad.log", atomically: true, encoding: .utf8)
        let bad = try run(["leaks", "bad.log"], in: dir)
        XCTAssertEqual(bad.status, 2)
        XCTAssertEqual(bad.stderr, "bad.log:1:1: error: `pa=` takes an address as %p prints it, 0x and 16 hex digits; found '0x12'\n    @T kalloc pa=0x12\n")
        let set = try run(["leaks", "boot.txt", "--set", "variant=pgtbl-lab"], in: dir)
        XCTAssertEqual(set.status, 64)
        XCTAssertTrue(set.stderr.hasPrefix("Error: --set and --at are for scenarios; a kernel's log is read as it is, without the model\n"), set.stderr)
    }

    /// `leaks LOG` of COW kernels: the real log is clean (0); the one derived with an unmap
    /// that keeps shared pages leaks them at their count (1).
    func testLeaksOfACowLogExitsOneForACountThatNeverReachesZero() throws {
        let clean = try run(["leaks", logs + "cow-copyout2-nopreempt.log.xz"])
        XCTAssertEqual(clean.status, 0, clean.stderr)
        XCTAssertTrue(clean.stdout.contains("\nSUMMARY: no leaks, no double frees, no frees of mapped pages\n"), clean.stdout)
        let leak = try run(["leaks", logs + "cowleak-copyout2-nopreempt.log.xz"])
        XCTAssertEqual(leak.status, 1, leak.stderr)
        XCTAssertTrue(leak.stdout.contains("\n  3 pages at count 2 (0x0000000087f40000, 0x0000000087f41000,\n"), leak.stdout)
        XCTAssertTrue(leak.stdout.contains("\nSUMMARY: 3 pages leaked in 1 record, 5 pages counted above their mappings\n"), leak.stdout)
    }

    /// check from a directory in no project says so, where it looked, and exits 66 (ProjectTests has the rest).
    func testCheckOutsideAnyProjectSaysWhereItLooked() throws {
        let dir = try scratchDirectory()
        let r = try run(["check"], in: dir)
        XCTAssertEqual(r.status, 66)
        let message = r.stderr.replacingOccurrences(of: "\n    ", with: " ")
        XCTAssertTrue(message.hasPrefix("xv6vm check: no project here: neither "), r.stderr)
        XCTAssertTrue(message.hasSuffix(" nor any folder above it holds scenarios/ (a project is a folder with scenarios/ and golden/ in it; run from inside one, or name its scenarios)\n"), r.stderr)
    }
}
