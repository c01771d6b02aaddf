import Foundation
import XCTest

/// End-to-end tests of the built `xv6vm` command, as a user runs it.
final class CommandLineTests: XCTestCase {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The directory holding the built products (xv6vm beside the test bundle).
    static var binary: URL {
        var dir = Bundle.main.bundleURL
        if dir.pathExtension == "xctest" { dir.deleteLastPathComponent() }
        let candidates = [dir.appendingPathComponent("xv6vm"),
                          Bundle(for: CommandLineTests.self).bundleURL.deletingLastPathComponent().appendingPathComponent("xv6vm")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[1]
    }

    struct Output { var status: Int32; var stdout: String; var stderr: String }

    /// A temporary directory holding one file, removed when the test ends.
    func scratch(_ name: String, _ contents: String) throws -> String {
        let dir = NSTemporaryDirectory() + "xv6vm-cli-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        try contents.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        return dir
    }

    func xv6vm(_ args: [String], in dir: String = root) throws -> Output {
        let r = try runCommand(Self.binary, args, in: dir)
        return Output(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }

    /// bench --sweep times a sweep from snapshots and from boot, and checks their outcomes agree.
    func testBenchTimesASweepBothWaysAndComparesTheOutcomes() throws {
        let r = try xv6vm(["bench", "--sweep", "scenarios/pgtbl-lab/fork-exec-exit.yaml", "--sample", "40", "--runs", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 5, r.stdout)
        XCTAssertEqual(lines[0], "sweep                runs start      median  runs/s  outcomes")
        XCTAssertTrue(lines[2].hasPrefix("fork-exec-exit.yaml  from snapshots "), r.stdout)
        XCTAssertTrue(lines[2].hasSuffix(" 40 runs"), r.stdout)
        XCTAssertTrue(lines[3].hasPrefix("fork-exec-exit.yaml  from boot "), r.stdout)
        XCTAssertTrue(lines[3].hasSuffix("  the same"), r.stdout)
        XCTAssertTrue(lines[4].hasPrefix("1 sweep, 1 run each; peak resident memory of this process "), r.stdout)
    }

    func testRunPrintsTheTraceAndExitsZero() throws {
        let r = try xv6vm(["run", "scenarios/xv6-2020/boot.yaml"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.hasPrefix("xv6vm-trace 2\nscenario  boot.yaml\n"))
        XCTAssertTrue(r.stdout.contains("\npage table 0x0000000087f6e000\n..0: pte 0x0000000021fda801 pa 0x0000000087f6a000\n"))
        XCTAssertEqual(r.stdout, String(decoding: FileManager.default.contents(atPath: Self.root + "/golden/xv6-2020/boot.trace")!, as: UTF8.self))
        XCTAssertEqual(try xv6vm(["run", "scenarios/xv6-2020/boot.yaml", "--format", "none"]).stdout, "")
        XCTAssertEqual(try xv6vm(["run", "scenarios/xv6-2020/boot.yaml", "--format", "jsonl"]).stdout.split(separator: "\n").count, 342)
    }

    func testAScenarioErrorExitsTwoWithPositionsOnStderr() throws {
        let dir = try scratch("bad.yaml", "events:\n  - userinit\n  - frok: init\n")
        let r = try xv6vm(["run", "bad.yaml"], in: dir)
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.hasPrefix("bad.yaml:3:5: error: unknown event 'frok'"), r.stderr)
        XCTAssertTrue(r.stderr.hasSuffix("1 error in bad.yaml\n"), r.stderr)
    }

    func testErrorsAsJSONCarryFileLineColumnAndMessage() throws {
        let dir = try scratch("w.yaml", "events:\n  - userinit\n  - wait: init\n")
        let r = try xv6vm(["compile", "w.yaml", "--format", "json"], in: dir)
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stderr, #"{"column":11,"file":"w.yaml","line":3,"message":"pid 1 has no children to wait for"}"# + "\n")
        XCTAssertEqual(try xv6vm(["run", "w.yaml", "--format", "jsonl"], in: dir).stderr, r.stderr)
    }

    func testAKernelPanicExitsOneAndNamesIt() throws {
        let dir = try scratch("tiny.yaml", "kernel: {phystop: 0x80060000}\nevents:\n  - userinit\n")
        let r = try xv6vm(["run", "tiny.yaml"], in: dir)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("\npanic: kalloc\n"))
        XCTAssertEqual(r.stderr, "xv6vm: the kernel panicked: panic: kalloc\n")
    }

    func testBadUsageExits64() throws {
        XCTAssertEqual(try xv6vm(["run"]).status, 64)
        XCTAssertEqual(try xv6vm(["run", "scenarios/xv6-2020/boot.yaml", "--format", "xml"]).status, 64)
        XCTAssertEqual(try xv6vm(["check", "--shard", "3/2"]).status, 64)
    }

    /// check passes on the repository's folders of small scenarios, and says so. (Every
    /// scenario is checked by GoldenTests, through the library function `check` calls, and by
    /// the README's first command: here, the 9 s of the large ones would only be paid again.)
    func testCheckPassesOnTheRepositoryAndCompileListsEvents() throws {
        let r = try xv6vm(["check", "scenarios/xv6-2020", "scenarios/seed-003"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.hasSuffix("\n9 scenarios: 9 ok, 0 changed, 0 missing golden, 0 scenario errors\n"), r.stdout)
        let c = try xv6vm(["compile", "scenarios/xv6-2020/boot.yaml"])
        XCTAssertEqual(c.status, 0)
        XCTAssertEqual(c.stdout, """
            boot.yaml: kernel xv6-2020, 1 hart, end 0x0000000080027020
            #  source          event
            0  -               boot
            1  boot.yaml:14:5  userinit -> pid 1 (init)
            2  boot.yaml:15:5  exec pid 1 "/init" ["init"]
            3  boot.yaml:16:5  vmprint pid 1
            4 events (boot and 3 from the scenario)

            """)
    }

    /// A scenario whose kernel was edited departs from its golden; shrink keeps that
    /// departure, with the golden's side run under the kernel its header records.
    func testShrinkUntilGoldenWritesTheSmallScenarioAndSaysWhereItDeparts() throws {
        let dir = try scratch("README", "")
        try FileManager.default.createDirectory(atPath: dir + "/scenarios", withIntermediateDirectories: true)
        let events = "events:\n  - userinit: init\n  - fork: {parent: init, child: a}\n  - fork: {parent: init, child: b}\n  - exit: a\n  - exit: b\n  - wait: init\n  - wait: init\n"
        try ("kernel: {variant: pgtbl-lab}\n" + events).write(toFile: dir + "/scenarios/t.yaml", atomically: true, encoding: .utf8)
        XCTAssertEqual(try xv6vm(["bless"], in: dir).status, 0)
        let same = try xv6vm(["shrink", "scenarios/t.yaml", "--until", "golden", "-o", "small.yaml"], in: dir)
        XCTAssertEqual(same.status, 64)
        XCTAssertTrue(same.stderr.hasPrefix("Error: cannot shrink scenarios/t.yaml --until golden: its trace matches golden/t.trace; there is no difference to keep\n"), same.stderr)
        try ("kernel: {variant: pgtbl-lab, free_kernel_stack: false}\n" + events).write(toFile: dir + "/scenarios/t.yaml", atomically: true, encoding: .utf8)
        let r = try xv6vm(["shrink", "scenarios/t.yaml", "--until", "golden", "-o", "small.yaml"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 4, r.stdout)
        XCTAssertTrue(lines[0].hasPrefix("wrote small.yaml: 4 events, 3 removed of 7 ("), r.stdout)
        XCTAssertTrue(lines[0].hasSuffix("); it still shows golden:free_kernel_stack=true"), r.stdout)
        XCTAssertEqual(lines[1], "the first lines that differ (numbers masked):")
        XCTAssertEqual(lines[2], "  golden:   kfree # pid # wait > freeproc")
        XCTAssertEqual(lines[3], "  this run: kvmfree #")  // the kernel stack stays: the recursive free comes next
        let small = String(decoding: FileManager.default.contents(atPath: dir + "/small.yaml")!, as: UTF8.self)
        XCTAssertTrue(small.hasSuffix("kernel: {variant: pgtbl-lab, free_kernel_stack: false}\nevents:\n  - userinit: p1\n  - fork: {parent: p1, child: p2}\n  - exit: {proc: p2, status: 0}\n  - wait: p1\n"), small)
    }

    /// The sweep report's line for shrinking a finding works as printed, and the small
    /// scenario's header says how it was made.
    func testShrinkingASweepFindingAsTheReportSays() throws {
        let dir = try scratch("README", "")
        let sweep = try xv6vm(["sweep", "scenarios/pgtbl-lab/fork-exec-exit.yaml", "--sample", "3"])
        XCTAssertEqual(sweep.status, 1)
        let lines = sweep.stdout.split(separator: "\n")
        XCTAssertEqual(lines[0], "sweep of fork-exec-exit.yaml (pgtbl-lab): 3 of 294 calls after boot, evenly")
        XCTAssertEqual(lines[1], "  spread, each with one kalloc failing")
        // Each site's row: one call for example, and the shrink command for it.
        let site = try XCTUnwrap(lines.firstIndex { $0.hasSuffix("  userinit > allocproc") })
        XCTAssertEqual(Array(lines[site...(site + 4)]), ["    0     0      1     0  userinit > allocproc",
                                                          "                          panic: kerneltrap",
                                                          "                          e.g. call 74 (event 1); to shrink it:",
                                                          "    xv6vm shrink scenarios/pgtbl-lab/fork-exec-exit.yaml --set fail_kalloc=74 \\",
                                                          "        --until panic -o small.yaml"])
        XCTAssertTrue(lines.contains("                          e.g. call 367 (event 7): clean"), sweep.stdout)
        let r = try xv6vm(["shrink", Self.root + "/scenarios/pgtbl-lab/fork-exec-exit.yaml", "--set", "fail_kalloc=74", "--until", "panic", "-o", "small.yaml"], in: dir)
        XCTAssertEqual(r.stdout, "wrote small.yaml: 2 events, 9 removed of 11 (5 test runs); it still shows panic:kerneltrap\n")
        let small = String(decoding: FileManager.default.contents(atPath: dir + "/small.yaml")!, as: UTF8.self)
        XCTAssertTrue(small.hasPrefix("# Shrunk by `xv6vm shrink fork-exec-exit.yaml --set fail_kalloc=74 --until panic:kerneltrap`\n"), small)
        XCTAssertTrue(small.hasSuffix("events:\n  - fail_kalloc: 1\n  - userinit: p1\n"), small)
    }

    /// --set reaches the kernel image and the machine too, as `kernel:` does; `variants` lists them.
    func testSetOverridesTheImageAndTheMachine() throws {
        let v = try xv6vm(["variants"])
        XCTAssertTrue(v.stdout.contains("\n  phystop (0x0000000088000000): the end of RAM (at most 4 GiB above 0x80000000)\n"), v.stdout)
        XCTAssertTrue(v.stdout.hasSuffix("\n6 variants, 45 settings, 5 image and machine keys\n"), v.stdout)
        let r = try xv6vm(["run", "scenarios/xv6-2020/boot.yaml", "--set", "harts=2", "--set", "phystop=0x86400000"])
        XCTAssertEqual(r.status, 0)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertTrue(lines.contains("setting   harts 2"))
        XCTAssertTrue(lines.contains("setting   phystop 0x0000000086400000"))
        XCTAssertTrue(lines.contains("kinit     free 25560 pages [0x0000000080028000, 0x0000000086400000)"))
        let harts = try xv6vm(["run", "scenarios/xv6-2020/boot.yaml", "--set", "harts=9"])
        XCTAssertEqual(harts.status, 64)
        XCTAssertTrue(harts.stderr.hasPrefix("Error: harts must be from 1 to 8; got 9\n"), harts.stderr)
        let small = try xv6vm(["run", "scenarios/xv6-2020/boot.yaml", "--set", "phystop=0x80001000"])
        XCTAssertTrue(small.stderr.hasPrefix("Error: this kernel image cannot boot: end must leave at least one free page below phystop\n"), small.stderr)
        XCTAssertTrue(try xv6vm(["run", "scenarios/xv6-2020/boot.yaml", "--set", "phystp=1"]).stderr.hasPrefix("Error: unknown setting 'phystp' (did you mean 'phystop'?)"))
    }

    /// --table takes a process's name, as the scenario calls it (the latest binding by --at),
    /// or a pid; a name the scenario never gave is refused with the names it did give.
    func testPlotTableTakesAProcessName() throws {
        let dir = try scratch("README", "")
        let s = Self.root + "/scenarios/pgtbl-lab/fork-exec-exit.yaml"
        let byName = try xv6vm(["plot", s, "--table", "echo", "--at", "8", "-o", dir + "/echo.svg"])
        XCTAssertEqual(byName.status, 0, byName.stderr)
        XCTAssertEqual(byName.stdout, "wrote \(dir)/echo.svg: pid 3's user table after event 8: 4 table pages below the root, 5 runs of leaves\n")
        let byPid = try xv6vm(["plot", s, "--table", "3", "--at", "8", "-o", dir + "/three.svg"])
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/echo.svg"), FileManager.default.contents(atPath: dir + "/three.svg"))
        XCTAssertEqual(byPid.status, 0)
        let kid = try xv6vm(["plot", s, "--table", "ech", "-o", dir + "/x.svg"])
        XCTAssertEqual(kid.status, 64)
        XCTAssertTrue(kid.stderr.hasPrefix("Error: no process is called ech by event 11; the scenario's processes: init, sh, echo (did you mean 'echo'?)\n"), kid.stderr)
        // In a repeat, a name is the last round's by then: c of round 8 is pid 33.
        let round = try xv6vm(["plot", Self.root + "/scenarios/leaks/reparent2.yaml", "--table", "c", "--at", "97", "-o", dir + "/c.svg"])
        XCTAssertEqual(round.status, 0, round.stderr)
        XCTAssertTrue(round.stdout.hasPrefix("wrote \(dir)/c.svg: pid 33's user table after event 97:"), round.stdout)
    }

    func testPlotSaysWhatItDrewAndWhereTheRunStopped() throws {
        let dir = try scratch("README", "")
        let r = try xv6vm(["plot", Self.root + "/scenarios/leaks/reparent2-root-only.yaml", "-o", dir + "/leak.svg"])
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, "wrote \(dir)/leak.svg: 338 samples of events 0 to 1345 of 9610 (the kernel panicked there: panic: kvmmap)\n")
        let svg = String(decoding: FileManager.default.contents(atPath: dir + "/leak.svg")!, as: UTF8.self)
        XCTAssertTrue(svg.hasPrefix("<svg"), String(svg.prefix(80)))
    }
}
