import Foundation
import XCTest

/// A sweep sharded across processes (or machines), merged back, and resumed after an
/// interruption, gives what one uninterrupted, unsharded sweep gives, byte for byte
/// (issue 17); parts that do not make one sweep are refused with the reason.
final class SweepShardTests: XCTestCase {
    static let scenario = CommandLineTests.root + "/scenarios/xv6-2020/fork-exec-exit.yaml"
    /// 40 of its allocations after boot: 4 panics (userinit's), the rest clean.
    static let sample = ["--sample", "40"]

    func scratch() throws -> String { try scratchDirectory(self) }

    func xv6vm(_ args: [String], in dir: String) throws -> CommandOutput {
        try runCommand(CommandLineTests.binary, args, in: dir)
    }

    func sweep(_ extra: [String], in dir: String) throws -> CommandOutput {
        try xv6vm(["sweep", Self.scenario] + Self.sample + extra, in: dir)
    }

    func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    /// Writes the three shards of the sample sweep into `dir` as part-I.json.
    func shards(in dir: String, _ extra: [String] = []) throws {
        for i in 1...3 {
            let r = try sweep(["--shard", "\(i)/3", "--format", "json", "-o", "part-\(i).json"] + extra, in: dir)
            XCTAssertTrue(r.status <= 1, r.stderr)
            XCTAssertTrue(r.stdout.hasPrefix("wrote part-\(i).json: \(i == 1 ? 14 : 13) runs (shard \(i)/3 of 40), "), r.stdout)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/part-\(i).json.partial"))
        }
    }

    func testMergedShardsPrintExactlyWhatTheUnshardedSweepPrints() throws {
        let dir = try scratch()
        try shards(in: dir)
        let parts = ["part-1.json", "part-2.json", "part-3.json"]
        for (format, verbose) in [("text", false), ("text", true), ("json", false)] {
            let extra = ["--format", format] + (verbose ? ["--verbose"] : [])
            let whole = try sweep(extra, in: dir)
            let merged = try xv6vm(["sweep", "--merge"] + parts.reversed() + extra, in: dir)
            XCTAssertEqual(whole.status, 1)
            XCTAssertEqual(merged.status, 1, merged.stderr)
            XCTAssertEqual(merged.stderr, "")
            XCTAssertEqual(merged.stdout, whole.stdout)
            let lines = whole.stdout.split(separator: "\n")
            if format == "json" {
                XCTAssertEqual(lines.count, 42)                 // the header, 40 runs, the totals
                XCTAssertTrue(lines[0].hasPrefix(#"{"boot":false,"calls":[[138,139,1],[141,147,2],"#), String(lines[0]))
                XCTAssertTrue(lines[0].contains(#""kind":"sweep","path":"\#(Self.scenario)","runs":40,"sample":40,"scenario":"fork-exec-exit.yaml","set":[],"#), String(lines[0]))
                XCTAssertTrue(lines[0].hasSuffix(#""shard":"1/1","sweep":{"first":138,"last":209,"runs":40},"variant":"xv6-2020","version":1}"#), String(lines[0]))
                XCTAssertEqual(lines[41], #"{"kind":"summary","runs":40,"scenario":"fork-exec-exit.yaml","totals":{"clean":36,"invariant":0,"leak":0,"not_reached":0,"panic":4},"variant":"xv6-2020"}"#)
            } else {
                XCTAssertEqual(lines[2], "40 runs: 36 clean, 0 leak, 4 panic, 0 invariant, 0 not reached")
                // --verbose: a line per run (call, event, outcome), the panics among them.
                XCTAssertEqual(lines.filter { $0.range(of: #"^ +\d+ +\d+  panic: "#, options: .regularExpression) != nil }.count, verbose ? 4 : 0)
                XCTAssertEqual(lines.count, verbose ? 139 : 58)          // not counting empty lines
            }
        }
        // -o writes the same bytes the merge prints.
        let o = try xv6vm(["sweep", "--merge"] + parts + ["--format", "json", "-o", "all.json"], in: dir)
        XCTAssertEqual(o.stdout, "wrote all.json: 40 runs, 4 not clean\n")
        XCTAssertEqual(try read(dir + "/all.json"), try sweep(["--format", "json"], in: dir).stdout)
    }

    func testMergeRefusesPartsOfAnotherScenarioOrOtherSettings() throws {
        let dir = try scratch()
        try shards(in: dir)
        let other = try xv6vm(["sweep", CommandLineTests.root + "/scenarios/xv6-2020/sbrk.yaml", "--sample", "40", "--shard", "2/3", "--format", "json", "-o", "sbrk-2.json"], in: dir)
        XCTAssertEqual(other.status, 1, other.stderr)
        let set = try sweep(["--shard", "2/3", "--format", "json", "-o", "lab-2.json", "--set", "variant=pgtbl-lab"], in: dir)
        XCTAssertEqual(set.status, 1, set.stderr)
        let r = try xv6vm(["sweep", "--merge", "part-1.json", "sbrk-2.json", "lab-2.json", "part-3.json"], in: dir)
        XCTAssertEqual(r.status, 65)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, """
            xv6vm sweep --merge: these parts do not make one sweep:
              - sbrk-2.json is not a part of the same sweep as part-1.json: it is of
                sbrk.yaml, part-1.json of fork-exec-exit.yaml
              - lab-2.json is not a part of the same sweep as part-1.json: settings differ:
                copyin mmu, not software, exec_plic_check true, not false, exec_vmprint all,
                not none and 3 more (it ran with --set variant=pgtbl-lab, part-1.json with
                no --set)

            """)
        // The same settings reached another way (--check) are refused too.
        let check = try sweep(["--shard", "2/3", "--format", "json", "-o", "check-2.json", "--check"], in: dir)
        XCTAssertEqual(check.status, 1)
        let c = try xv6vm(["sweep", "--merge", "part-1.json", "check-2.json", "part-3.json"], in: dir)
        XCTAssertEqual(c.status, 65)
        XCTAssertTrue(c.stderr.hasSuffix("- check-2.json is not a part of the same sweep as part-1.json: it ran with\n    --check, part-1.json without --check\n"), c.stderr)
    }

    func testMergeNamesMissingAndOverlappingShards() throws {
        let dir = try scratch()
        try shards(in: dir)
        let missing = try xv6vm(["sweep", "--merge", "part-1.json", "part-3.json"], in: dir)
        XCTAssertEqual(missing.status, 65)
        XCTAssertEqual(missing.stderr, """
            xv6vm sweep --merge: these parts do not make one sweep:
              - no part for shard 2/3: calls 139 to 145 in steps of 6, 150 to 156 in steps
                of 6, 161 to 167 in steps of 6, ... (13 calls) of the sweep's 40 are in no
                part

            """)
        try FileManager.default.copyItem(atPath: dir + "/part-1.json", toPath: dir + "/again.json")
        let twice = try xv6vm(["sweep", "--merge", "part-1.json", "part-2.json", "part-3.json", "again.json"], in: dir)
        XCTAssertEqual(twice.status, 65)
        XCTAssertTrue(twice.stderr.contains("- part-1.json (shard 1/3) and again.json (shard 1/3) both cover calls 138 to\n    148 in steps of 5, 154 to 159 in steps of 5,"), twice.stderr)
        XCTAssertTrue(twice.stderr.hasSuffix("(14 calls); give each shard once\n"), twice.stderr)
    }

    /// A part cut short, or with a line that is not a run, is named at its line and
    /// column (exit 2), never a trap.
    func testMalformedPartsAreErrorsAtALineAndColumn() throws {
        let dir = try scratch()
        try shards(in: dir)
        let text = try read(dir + "/part-2.json")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 16)                         // header, 13 runs, totals, ""
        // Cut in the middle of the sixth line, as a killed sweep leaves it.
        let cut = lines[0..<5].joined(separator: "\n") + "\n" + lines[5].prefix(30)
        try cut.write(toFile: dir + "/torn.json", atomically: true, encoding: .utf8)
        let torn = try xv6vm(["sweep", "--merge", "part-1.json", "torn.json", "part-3.json"], in: dir)
        XCTAssertEqual(torn.status, 2)
        XCTAssertEqual(torn.stderr, "torn.json:6:31: error: this line is cut off (no newline ends it): the sweep writing it was interrupted; finish it with the same `xv6vm sweep` command and --resume torn.json\n")
        try (lines[0..<5].joined(separator: "\n") + "\n").write(toFile: dir + "/short.json", atomically: true, encoding: .utf8)
        let short = try xv6vm(["sweep", "--merge", "short.json"], in: dir)
        XCTAssertEqual(short.status, 2)
        XCTAssertTrue(short.stderr.hasPrefix("short.json:6:1: error: the file ends after 4 of its 13 runs, with no totals line"), short.stderr)
        for (line, expected) in [("{\"call\":152,", "bad.json:3:13: error: the line ends inside an object"),
                                 (#"{"call":1.5}"#, "bad.json:3:9: error: expected a whole number"),
                                 (#"{"call":152,"detail":"clean","event":2,"outcome":"leak","site":"s"}"#,
                                  #"bad.json:3:22: error: "clean" is not the detail of a run whose outcome is "leak""#),
                                 (String(repeating: "[", count: 5000), "bad.json:3:1: error: expected a JSON object, {...}"),
                                 ("{\"a\":" + String(repeating: "[", count: 5000), "bad.json:3:70: error: nested more than 64 deep")] {
            var edited = lines
            edited[2] = Substring(line)
            try edited.joined(separator: "\n").write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
            let r = try xv6vm(["sweep", "--merge", "bad.json"], in: dir)
            XCTAssertEqual(r.status, 2)
            XCTAssertEqual(r.stderr, expected + "\n")
        }
        let none = try xv6vm(["sweep", "--merge", "nothing.json"], in: dir)
        XCTAssertEqual(none.status, 2)
        XCTAssertEqual(none.stderr, "nothing.json: error: cannot read it: No such file or directory\n")
    }

    /// An interrupted sweep's finished lines, with or without a last line cut off, and
    /// --resume: the output is the uninterrupted sweep's, and only the rest is run.
    func testResumingAnInterruptedSweepGivesTheUninterruptedOutput() throws {
        let dir = try scratch()
        let whole = try sweep(["--format", "json"], in: dir)
        let text = try sweep([], in: dir)
        let lines = whole.stdout.split(separator: "\n")
        // As `> out.json` leaves it: 10 runs, then half a line.
        try (lines[0...10].joined(separator: "\n") + "\n" + lines[11].prefix(20)).write(toFile: dir + "/out.json", atomically: true, encoding: .utf8)
        let json = try sweep(["--format", "json", "--resume", "out.json"], in: dir)
        XCTAssertEqual(json.status, 1)
        XCTAssertEqual(json.stdout, whole.stdout)
        XCTAssertEqual(json.stderr, "xv6vm sweep: resuming from out.json: 10 of 40 runs were done; its line 12, cut\n    off, is run again; running the other 30\n")
        XCTAssertEqual(try sweep(["--resume", "out.json"], in: dir).stdout, text.stdout)
        // As `-o part.json` leaves it: the finished runs in part.json.partial.
        try (lines[0...25].joined(separator: "\n") + "\n").write(toFile: dir + "/part.json.partial", atomically: true, encoding: .utf8)
        let o = try sweep(["--format", "json", "-o", "part.json", "--resume", "part.json"], in: dir)
        XCTAssertEqual(o.stdout, "wrote part.json: 40 runs, 4 not clean\n")
        XCTAssertTrue(o.stderr.hasPrefix("xv6vm sweep: resuming from part.json.partial: 25 of 40 runs were done;"), o.stderr)
        XCTAssertEqual(try read(dir + "/part.json"), whole.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/part.json.partial"))
        // Resuming a finished sweep runs nothing and writes it again; a missing file, everything.
        let again = try sweep(["--format", "json", "-o", "part.json", "--resume", "part.json"], in: dir)
        XCTAssertEqual(again.stderr, "xv6vm sweep: resuming from part.json: 40 of 40 runs were done; nothing is left\n    to run\n")
        XCTAssertEqual(try read(dir + "/part.json"), whole.stdout)
        let fresh = try sweep(["--format", "json", "--resume", "none.json"], in: dir)
        XCTAssertEqual(fresh.stdout, whole.stdout)
        XCTAssertEqual(fresh.stderr, "xv6vm sweep: nothing to resume (none.json does not exist, nor none.json.partial); running all 40 calls\n")
        // Another sweep's file is refused, and so is resuming into the file being read.
        let other = try xv6vm(["sweep", Self.scenario, "--sample", "41", "--resume", "out.json"], in: dir)
        XCTAssertEqual(other.status, 65)
        XCTAssertEqual(other.stderr, "xv6vm sweep: out.json is from another sweep, so nothing of it is resumed: it ran\n    with --sample 40, this run with --sample 41\n")
        let shard = try sweep(["--shard", "2/3", "--resume", "out.json"], in: dir)
        XCTAssertEqual(shard.status, 65)
        XCTAssertTrue(shard.stderr.hasSuffix("it is\n    shard 1/1, this run 2/3\n"), shard.stderr)
        let same = try runCommand(URL(fileURLWithPath: "/bin/sh"), ["-c", #""$X" sweep "$S" --sample 40 --resume out.json > out.json"#], in: dir,
                                  environment: ["X": CommandLineTests.binary.path, "S": Self.scenario])
        XCTAssertEqual(same.status, 64)
        XCTAssertTrue(same.stderr.hasPrefix("Error: standard output is out.json, which --resume reads: the shell emptied it"), same.stderr)
    }

    /// A sweep really killed part way (SIGKILL: nothing of it gets to tidy up) keeps its
    /// finished runs in FILE.partial, and --resume finishes it.
    func testAKilledSweepResumesFromWhatItKept() throws {
        let dir = try scratch()
        let scenario = CommandLineTests.root + "/scenarios/leaks/reparent2-root-only.yaml"
        let args = ["sweep", scenario, "--sample", "60", "--format", "json", "-o", "part.json"]
        let p = commandProcess(CommandLineTests.binary, args, in: dir)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        let wait = try p.startWaitable()
        var kept = 0
        for _ in 0..<600 where p.isRunning {
            kept = ((try? read(dir + "/part.json.partial")) ?? "").split(separator: "\n").count
            if kept >= 6 { break }
            usleep(50_000)
        }
        kill(p.processIdentifier, SIGKILL)
        wait()
        let interrupted = !FileManager.default.fileExists(atPath: dir + "/part.json")
        let r = try xv6vm(args + ["--resume", "part.json"], in: dir)
        XCTAssertEqual(r.status, 1, r.stderr)
        if interrupted {
            XCTAssertTrue(r.stderr.hasPrefix("xv6vm sweep: resuming from part.json.partial: "), r.stderr)
        }
        let whole = try xv6vm(Array(args.dropLast(2)), in: dir)
        XCTAssertEqual(whole.stdout.split(separator: "\n").count, 62)
        XCTAssertEqual(try read(dir + "/part.json"), whole.stdout)
    }

    /// GNU parallel, as docs/sweeps.md shows it, runs two shards with two jobs; their
    /// merge is the unsharded report. Skipped where `parallel` is not installed (it is
    /// not needed to build or test xv6vm: `apt-get install parallel`).
    func testShardsUnderGNUParallelMergeIntoTheUnshardedReport() throws {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        guard path.split(separator: ":").contains(where: { FileManager.default.isExecutableFile(atPath: "\($0)/parallel") }) else {
            throw XCTSkip("GNU parallel is not on PATH (apt-get install parallel)")
        }
        let dir = try scratch()
        let bin = CommandLineTests.binary.deletingLastPathComponent().path
        let r = try runCommand(URL(fileURLWithPath: "/bin/sh"), ["-c", """
            parallel --will-cite --halt now,fail=1 -j2 \
              'xv6vm sweep "$S" --sample 40 --shard {}/2 --format json -o part-{}.json; test $? -le 1' ::: 1 2
            """], in: dir, environment: ["PATH": bin + ":" + path, "S": Self.scenario])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.split(separator: "\n").sorted(), ["wrote part-1.json: 20 runs (shard 1/2 of 40), 2 not clean",
                                                                  "wrote part-2.json: 20 runs (shard 2/2 of 40), 2 not clean"])
        let merged = try xv6vm(["sweep", "--merge", "part-1.json", "part-2.json"], in: dir)
        let whole = try sweep([], in: dir)
        XCTAssertEqual(merged.status, 1)
        XCTAssertEqual(merged.stdout, whole.stdout)
        XCTAssertTrue(merged.stdout.hasPrefix("sweep of fork-exec-exit.yaml (xv6-2020): 40 of 72 calls after boot, evenly\n  spread, each with one kalloc failing\n40 runs: 36 clean,"), merged.stdout)
    }
}
