import Foundation
import XCTest

/// Pending goldens, review and record modes (issue 14), as a user runs them.
final class ReviewTests: XCTestCase {
    struct Output { var status: Int32; var stdout: String; var stderr: String }

    /// A project with scenarios/a/boot.yaml and scenarios/a/sbrk.yaml and no goldens.
    func project() throws -> String {
        let dir = NSTemporaryDirectory() + "xv6vm-review-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir + "/scenarios/a", withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["boot", "sbrk"] {
            try FileManager.default.copyItem(atPath: CommandLineTests.root + "/scenarios/xv6-2020/\(name).yaml", toPath: dir + "/scenarios/a/\(name).yaml")
        }
        return dir
    }

    /// Runs xv6vm in `dir` with CI and NO_COLOR unset unless `env` sets them.
    func xv6vm(_ args: [String], in dir: String, env: [String: String] = [:]) throws -> Output {
        let p = Process()
        p.executableURL = CommandLineTests.binary
        p.arguments = args
        p.environment = testEnvironment(env)
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        let wait = try p.startWaitable()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let er = err.fileHandleForReading.readDataToEndOfFile()
        wait()
        return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: er, as: UTF8.self))
    }

    func files(_ dir: String) -> [String] {
        ((FileManager.default.enumerator(atPath: dir)?.allObjects as? [String]) ?? []).sorted()
    }

    func read(_ path: String) -> String? { FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } }

    /// check leaves .new files; review --accept makes the next check pass; a passing check
    /// removes a stale .new.
    func testCheckLeavesNewFilesAndAcceptingThemMakesCheckPass() throws {
        let dir = try project()
        let first = try xv6vm(["check"], in: dir)
        XCTAssertEqual(first.status, 1)
        XCTAssertEqual(files(dir + "/golden"), ["a", "a/boot.trace.new", "a/sbrk.trace.new"])
        XCTAssertTrue(first.stdout.contains("""
            missing golden  a/boot.yaml
                no golden/a/boot.trace; the run's output is in golden/a/boot.trace.new;
                accept it with: xv6vm review --accept scenarios/a/boot.yaml
            """), first.stdout)
        XCTAssertTrue(first.stdout.hasSuffix("2 pending: `xv6vm review` shows each and accepts or rejects it\n"), first.stdout)
        let run = try xv6vm(["run", "scenarios/a/boot.yaml"], in: dir)
        XCTAssertEqual(read(dir + "/golden/a/boot.trace.new"), run.stdout)

        let list = try xv6vm(["review", "--list"], in: dir)
        XCTAssertEqual(list.stdout, """
            new             golden/a/boot.trace.new: 342 lines, no golden yet
            new             golden/a/sbrk.trace.new: 465 lines, no golden yet
            2 pending: 0 changed, 2 new, 0 stale

            """)
        let one = try xv6vm(["review", "--accept", "scenarios/a/boot.yaml"], in: dir)
        XCTAssertEqual(one.stdout, "accepted        golden/a/boot.trace (from golden/a/boot.trace.new)\nreview: 1 accepted, 0 left\n")
        XCTAssertEqual(read(dir + "/golden/a/boot.trace"), run.stdout)
        XCTAssertEqual(try xv6vm(["review", "--accept"], in: dir).status, 0)
        XCTAssertEqual(files(dir + "/golden"), ["a", "a/boot.trace", "a/sbrk.trace"])
        let pass = try xv6vm(["check"], in: dir)
        XCTAssertEqual(pass.status, 0, pass.stdout)
        XCTAssertTrue(pass.stdout.hasSuffix("2 scenarios: 2 ok, 0 changed, 0 missing golden, 0 scenario errors\n"), pass.stdout)

        try "left over\n".write(toFile: dir + "/golden/a/boot.trace.new", atomically: true, encoding: .utf8)
        XCTAssertEqual(try xv6vm(["check"], in: dir).status, 0)
        XCTAssertEqual(files(dir + "/golden"), ["a", "a/boot.trace", "a/sbrk.trace"])
        XCTAssertEqual(try xv6vm(["review", "--accept", "nothing.yaml"], in: dir).stderr, "xv6vm review: nothing is pending for nothing.yaml\n")
    }

    /// A changed golden: check shows the diff and leaves the run's trace; review --reject
    /// removes it and leaves the golden as it was.
    func testRejectLeavesTheGoldenAsItWas() throws {
        let dir = try project()
        XCTAssertEqual(try xv6vm(["bless"], in: dir).status, 0)
        let golden = dir + "/golden/a/sbrk.trace"
        let edited = try XCTUnwrap(read(golden)).replacingOccurrences(of: "kfree     0x0000000087f71000 pid 2 sys_sbrk", with: "kfree     0x0000000087f70000 pid 2 sys_sbrk")
        try edited.write(toFile: golden, atomically: true, encoding: .utf8)
        let r = try xv6vm(["check"], in: dir)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("""
            changed         a/sbrk.yaml
                first departs at line 411 of the golden, in event 9
                (scenarios/a/sbrk.yaml:15:5)
                1 hunk (-1 +1): -1 +1 kfree
            --- golden/a/sbrk.trace
            +++ golden/a/sbrk.trace.new
            @@ -408,7 +408,7 @@
            """), r.stdout)
        XCTAssertEqual(r.stdout.split(separator: "\n").filter { $0.hasPrefix("-") || $0.hasPrefix("+") }, [
            "--- golden/a/sbrk.trace", "+++ golden/a/sbrk.trace.new",
            "-kfree     0x0000000087f70000 pid 2 sys_sbrk > growproc > uvmdealloc > uvmunmap",
            "+kfree     0x0000000087f71000 pid 2 sys_sbrk > growproc > uvmdealloc > uvmunmap"])
        let list = try xv6vm(["review", "--list"], in: dir)
        XCTAssertEqual(list.stdout, "changed         golden/a/sbrk.trace.new: 1 hunk (-1 +1): -1 +1 kfree\n1 pending: 1 changed, 0 new, 0 stale\n")
        let reject = try xv6vm(["review", "--reject", "golden/a/sbrk.trace"], in: dir)
        XCTAssertEqual(reject.stdout, "rejected        golden/a/sbrk.trace.new\nreview: 1 rejected, 0 left\n")
        XCTAssertEqual(read(golden), edited)
        XCTAssertEqual(files(dir + "/golden"), ["a", "a/boot.trace", "a/sbrk.trace"])
    }

    /// With CI set, check writes nothing into golden/; --pending-dir sends the .new files
    /// elsewhere, and review --pending-dir accepts them from there.
    func testUnderCINothingIsWrittenIntoGolden() throws {
        let dir = try project()
        XCTAssertEqual(try xv6vm(["bless", "scenarios/a/boot.yaml"], in: dir).status, 0)
        let before = files(dir + "/golden")
        let ci = try xv6vm(["check"], in: dir, env: ["CI": "true"])
        XCTAssertEqual(ci.status, 1)
        XCTAssertEqual(files(dir + "/golden"), before)
        XCTAssertTrue(ci.stdout.contains("    no golden/a/sbrk.trace; record it with: xv6vm check --record missing\n    scenarios/a/sbrk.yaml\n"), ci.stdout)
        let artifacts = try xv6vm(["check", "--pending-dir", "out"], in: dir, env: ["CI": "true"])
        XCTAssertEqual(artifacts.status, 1)
        XCTAssertEqual(files(dir + "/golden"), before)
        XCTAssertEqual(files(dir + "/out"), ["a", "a/sbrk.trace.new"])
        let accept = try xv6vm(["review", "--pending-dir", "out", "--accept"], in: dir)
        XCTAssertEqual(accept.stdout, "accepted        golden/a/sbrk.trace (from out/a/sbrk.trace.new)\nreview: 1 accepted, 0 left\n")
        XCTAssertEqual(files(dir + "/out"), ["a"])
        XCTAssertEqual(try xv6vm(["check"], in: dir, env: ["CI": "true"]).status, 0)
    }

    /// A .new whose scenario is gone is stale: it cannot be accepted; --reject removes it.
    func testAStaleNewFileIsReportedAndRejectRemovesIt() throws {
        let dir = try project()
        XCTAssertEqual(try xv6vm(["bless"], in: dir).status, 0)
        try "old run\n".write(toFile: dir + "/golden/a/gone.trace.new", atomically: true, encoding: .utf8)
        XCTAssertEqual(try xv6vm(["review", "--list"], in: dir).stdout, "stale           golden/a/gone.trace.new: its scenario is gone\n1 pending: 0 changed, 0 new, 1 stale\n")
        let accept = try xv6vm(["review", "--accept", "golden/a/gone.trace.new"], in: dir)
        XCTAssertEqual(accept.status, 1)
        XCTAssertEqual(accept.stdout, "stale           golden/a/gone.trace.new: its scenario is gone; not accepted (`xv6vm review --reject` removes it)\nreview: 0 accepted, 1 left\n")
        let reject = try xv6vm(["review", "--reject"], in: dir)
        XCTAssertEqual(reject.stdout, "removed stale   golden/a/gone.trace.new\nreview: 1 rejected, 0 left\n")
        XCTAssertEqual(files(dir + "/golden"), ["a", "a/boot.trace", "a/sbrk.trace"])
    }

    /// --record missing writes only the missing goldens; --record failed the changed ones too.
    func testRecordModes() throws {
        let dir = try project()
        XCTAssertEqual(try xv6vm(["bless", "scenarios/a/boot.yaml"], in: dir).status, 0)
        try "changed\n".write(toFile: dir + "/golden/a/boot.trace", atomically: true, encoding: .utf8)
        let missing = try xv6vm(["check", "--record", "missing"], in: dir)
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(files(dir + "/golden"), ["a", "a/boot.trace", "a/boot.trace.new", "a/sbrk.trace"])
        XCTAssertEqual(read(dir + "/golden/a/boot.trace"), "changed\n")
        XCTAssertTrue(missing.stdout.contains("\nrecorded 1 golden\n"), missing.stdout)
        let failed = try xv6vm(["check", "--record", "failed"], in: dir)
        XCTAssertEqual(failed.status, 0, failed.stdout)
        XCTAssertTrue(failed.stdout.contains("    recorded golden/a/boot.trace\n"), failed.stdout)
        XCTAssertEqual(files(dir + "/golden"), ["a", "a/boot.trace", "a/sbrk.trace"])
        XCTAssertEqual(try xv6vm(["check"], in: dir).status, 0)
        XCTAssertEqual(try xv6vm(["check", "--record", "sometimes"], in: dir).status, 64)
    }

    /// A digest golden that differs names the counts that moved, and --save-trace keeps the
    /// whole trace, the same bytes `run` prints.
    func testADigestNamesItsCountsAndSaveTraceKeepsTheTrace() throws {
        let dir = try project()
        let yaml = try XCTUnwrap(read(dir + "/scenarios/a/sbrk.yaml"))
        try ("golden: digest\n" + yaml).write(toFile: dir + "/scenarios/a/sbrk.yaml", atomically: true, encoding: .utf8)
        XCTAssertEqual(try xv6vm(["bless"], in: dir).status, 0)
        try ("golden: digest\n" + yaml.replacingOccurrences(of: "n: -0x3fff}", with: "n: -0x2fff}")).write(toFile: dir + "/scenarios/a/sbrk.yaml", atomically: true, encoding: .utf8)
        let r = try xv6vm(["check", "--save-trace", "traces"], in: dir)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("""
                2 hunks (-4 +4): lines 465 -> 467 (+2), unmap 7 -> 8 (+1),
                    vmprint 20 -> 21 (+1)
                a digest keeps counts, not lines: `xv6vm check --save-trace DIR` writes the
                whole trace
            --- golden/a/sbrk.digest
            +++ golden/a/sbrk.digest.new
            """), r.stdout)
        XCTAssertTrue(r.stdout.contains("\nthe full trace of a/sbrk.yaml: traces/a/sbrk.trace\n"), r.stdout)
        XCTAssertEqual(read(dir + "/traces/a/sbrk.trace"), try xv6vm(["run", "scenarios/a/sbrk.yaml"], in: dir).stdout)
        XCTAssertEqual(files(dir + "/golden"), ["a", "a/boot.trace", "a/sbrk.digest", "a/sbrk.digest.new"])
    }
}
