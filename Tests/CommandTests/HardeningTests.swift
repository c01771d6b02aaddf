import Foundation
import XCTest

/// The command line on hostile inputs and file systems (issue 13): no trap, no silent loss;
/// a sentence naming the path and the reason, and a documented exit code.
final class HardeningTests: XCTestCase {
    static let boot = CommandLineTests.root + "/scenarios/xv6-2020/boot.yaml"

    struct Output { var status: Int32; var stdout: String; var stderr: String }

    /// A fresh temporary directory, removed when the test ends.
    func scratch() throws -> String {
        let dir = NSTemporaryDirectory() + "xv6vm-harden-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// Runs a shell command line in `dir`, with `$X` the built xv6vm, so that tests can close
    /// or redirect its standard streams as a user would.
    func sh(_ script: String, in dir: String) throws -> Output {
        let r = try runCommand(URL(fileURLWithPath: "/bin/sh"), ["-c", script], in: dir, environment: ["X": CommandLineTests.binary.path])
        return Output(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }

    func files(_ dir: String) -> [String] {
        ((FileManager.default.enumerator(atPath: dir)?.allObjects as? [String]) ?? []).sorted()
    }

    func testPlotToADirectoryIsAMessageNotATrap() throws {
        let dir = try scratch()
        try FileManager.default.createDirectory(atPath: dir + "/somedir", withIntermediateDirectories: true)
        let dot = try sh(#""$X" plot "\#(Self.boot)" -o ."#, in: dir)
        XCTAssertEqual(dot.status, 74)
        XCTAssertEqual(dot.stderr, "xv6vm: could not write .: it names a directory, not a file\n")
        let slash = try sh(#""$X" plot "\#(Self.boot)" -o somedir/"#, in: dir)
        XCTAssertEqual(slash.status, 74)
        XCTAssertEqual(slash.stderr, "xv6vm: could not write somedir/: it names a directory, not a file\n")
        let bare = try sh(#""$X" plot "\#(Self.boot)" -o somedir"#, in: dir)
        XCTAssertEqual(bare.status, 74)
        XCTAssertEqual(bare.stderr, "xv6vm: could not write somedir: it is a directory\n")
        let proc = try sh(#""$X" plot "\#(Self.boot)" -o /proc/nope/x.svg"#, in: dir)
        XCTAssertEqual(proc.status, 74)
        XCTAssertEqual(proc.stderr, "xv6vm: could not write /proc/nope/x.svg: its folder /proc/nope does not exist\n")
        // -o names a file in a folder that exists: a mistyped folder is refused, not made (issue 24).
        let missing = try sh(#""$X" plot "\#(Self.boot)" -o nofolder/x.svg"#, in: dir)
        XCTAssertEqual(missing.status, 74)
        XCTAssertEqual(missing.stderr, "xv6vm: could not write nofolder/x.svg: its folder nofolder does not exist\n")
        XCTAssertEqual(files(dir), ["somedir"])
    }

    func testAClosedStandardOutputIsReportedNotATrap() throws {
        let r = try sh(#""$X" run "\#(Self.boot)" >&-"#, in: try scratch())
        XCTAssertEqual(r.status, 74)
        XCTAssertEqual(r.stderr, "xv6vm: could not write to standard output: Bad file descriptor\n")
        // Nothing opened later takes descriptor 1: plot writes its SVG, then fails to say so.
        let dir = try scratch()
        let p = try sh(#""$X" plot "\#(Self.boot)" -o x.svg >&-"#, in: dir)
        XCTAssertEqual(p.status, 74)
        XCTAssertEqual(p.stderr, "xv6vm: could not write to standard output: Bad file descriptor\n")
        XCTAssertTrue(String(decoding: FileManager.default.contents(atPath: dir + "/x.svg") ?? Data(), as: UTF8.self).hasPrefix("<svg"))
    }

    func testAFullDeviceIsAnErrorWithTheReason() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { throw XCTSkip("no /dev/full here") }
        let dir = try scratch()
        let run = try sh(#""$X" run "\#(Self.boot)" > /dev/full"#, in: dir)
        XCTAssertEqual(run.status, 74)
        XCTAssertEqual(run.stderr, "xv6vm: could not write to standard output: No space left on device\n")
        let plot = try sh(#""$X" plot "\#(Self.boot)" -o /dev/full"#, in: dir)
        XCTAssertEqual(plot.status, 74)
        XCTAssertEqual(plot.stdout, "")
        XCTAssertEqual(plot.stderr, "xv6vm: could not write /dev/full: No space left on device\n")
        // Written in place: the device is never replaced by a file renamed over it.
        let type = try FileManager.default.attributesOfItem(atPath: "/dev/full")[.type] as? FileAttributeType
        XCTAssertEqual(type, .typeCharacterSpecial)
    }

    /// `golden` a file, a golden path a directory: bless says which goldens it wrote and which
    /// it could not, and why; exits 74; leaves no temporary file.
    func testBlessReportsWhatItCouldNotWrite() throws {
        let dir = try scratch()
        try FileManager.default.createDirectory(atPath: dir + "/scenarios/a", withIntermediateDirectories: true)
        for name in ["boot", "sbrk"] {
            try FileManager.default.copyItem(atPath: CommandLineTests.root + "/scenarios/xv6-2020/\(name).yaml", toPath: dir + "/scenarios/a/\(name).yaml")
        }
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/golden", contents: Data()))
        let file = try sh(#""$X" bless"#, in: dir)
        XCTAssertEqual(file.status, 74)
        XCTAssertEqual(file.stdout, """
            not written     golden/a/boot.trace: golden is not a directory
            not written     golden/a/sbrk.trace: golden is not a directory
            bless: 0 written, 0 unchanged, 0 scenario errors, 2 not written

            """)
        XCTAssertEqual(file.stderr, "xv6vm bless: could not write 2 goldens; 0 written\n")
        try FileManager.default.removeItem(atPath: dir + "/golden")
        try FileManager.default.createDirectory(atPath: dir + "/golden/a/boot.trace", withIntermediateDirectories: true)
        let isDir = try sh(#""$X" bless"#, in: dir)
        XCTAssertEqual(isDir.status, 74)
        XCTAssertEqual(isDir.stdout, """
            not written     golden/a/boot.trace: it is a directory
            wrote           golden/a/sbrk.trace (new, 465 lines)
            bless: 1 written, 0 unchanged, 0 scenario errors, 1 not written

            """)
        XCTAssertEqual(isDir.stderr, "xv6vm bless: could not write 1 golden; 1 written\n")
        XCTAssertEqual(files(dir + "/golden"), ["a", "a/boot.trace", "a/sbrk.trace"])
    }

    /// An output path that is an input is refused before anything is written, however it is
    /// named; the input is left as it was.
    func testAnOutputThatIsAnInputIsRefused() throws {
        let dir = try scratch()
        let text = try String(contentsOfFile: Self.boot, encoding: .utf8)
        try text.write(toFile: dir + "/in.yaml", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.yaml", withDestinationPath: "in.yaml")
        try FileManager.default.createDirectory(atPath: dir + "/inc", withIntermediateDirectories: true)
        try "events:\n  - userinit: init\n".write(toFile: dir + "/inc/common.inc", atomically: true, encoding: .utf8)
        try "events:\n  - include: inc/common.inc\n".write(toFile: dir + "/i.yaml", atomically: true, encoding: .utf8)
        let plot = try sh(#""$X" plot in.yaml -o in.yaml"#, in: dir)
        XCTAssertEqual(plot.status, 64)
        XCTAssertTrue(plot.stderr.hasPrefix("Error: -o in.yaml is the scenario being read, in.yaml; write the output to another file\nUsage: xv6vm plot <SCENARIO>"), plot.stderr)
        let linked = try sh(#""$X" plot link.yaml -o ./in.yaml"#, in: dir)
        XCTAssertTrue(linked.stderr.hasPrefix("Error: -o ./in.yaml is the scenario being read, link.yaml;"), linked.stderr)
        let shrink = try sh(#""$X" shrink in.yaml --until panic -o ../\#((dir as NSString).lastPathComponent)/in.yaml"#, in: dir)
        XCTAssertEqual(shrink.status, 64)
        XCTAssertTrue(shrink.stderr.hasPrefix("Error: -o ../"), shrink.stderr)
        XCTAssertTrue(shrink.stderr.contains("/in.yaml is the scenario being read, in.yaml; write the output to another file\nUsage: xv6vm shrink <SCENARIO>"), shrink.stderr)
        let inc = try sh(#""$X" plot i.yaml -o inc/common.inc"#, in: dir)
        XCTAssertEqual(inc.status, 64)
        XCTAssertTrue(inc.stderr.hasPrefix("Error: -o inc/common.inc is inc/common.inc, which the scenario includes;"), inc.stderr)
        XCTAssertEqual(try String(contentsOfFile: dir + "/in.yaml", encoding: .utf8), text)
        XCTAssertEqual(try String(contentsOfFile: dir + "/inc/common.inc", encoding: .utf8), "events:\n  - userinit: init\n")
    }

    /// bless writes goldens only under golden/: a scenario path that leaves scenarios/ is refused.
    func testBlessRefusesAScenarioOutsideScenarios() throws {
        let dir = try scratch()
        try FileManager.default.createDirectory(atPath: dir + "/scenarios", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.boot, toPath: dir + "/x.yaml")
        let r = try sh(#""$X" bless scenarios/../x.yaml"#, in: dir)
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.hasPrefix("Error: scenarios/../x.yaml is not under scenarios/; goldens mirror scenarios/, so bless takes only scenarios inside it\nUsage: xv6vm bless"), r.stderr)
        XCTAssertEqual(files(dir), ["scenarios", "x.yaml"])
        let check = try sh(#""$X" check scenarios/../x.yaml"#, in: dir)
        XCTAssertEqual(check.status, 1)
        XCTAssertTrue(check.stdout.contains("    no golden/x.trace; bless records goldens only for scenarios under scenarios/\n"), check.stdout)
    }

    /// Numbers out of range, negative ones included, are refused with the option's name and
    /// its range (a leading '-' used to be taken for an option: "Missing value for '--at <at>'").
    func testNumericOptionsNameTheirRange() throws {
        let dir = try scratch()
        func refused(_ args: String, _ first: String, usage: String) throws {
            let r = try sh(#""$X" "# + args, in: dir)
            XCTAssertEqual(r.status, 64, args)
            let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            XCTAssertEqual(lines.first, first, args)
            XCTAssertTrue(lines.contains { $0.hasPrefix("Usage: xv6vm \(usage) ") }, r.stderr)
            XCTAssertEqual(r.stdout, "", args)
        }
        let boot = "'\(Self.boot)'"
        try refused("leaks \(boot) --at -1", "Error: The value '-1' is invalid for '--at <N>': expected an event number, a whole number from 0 to 9223372036854775807", usage: "leaks")
        try refused("leaks \(boot) --at 4", "Error: --at takes an event number from 0 to 3 (the last event of \(Self.boot)); got 4", usage: "leaks")
        try refused("check --shard -1/2", "Error: The value '-1/2' is invalid for '--shard <I/N>': expected I/N, whole numbers with 1 <= I <= N (e.g. 2/4)", usage: "check")
        try refused("bless --shard 3/2", "Error: The value '3/2' is invalid for '--shard <I/N>': expected I/N, whole numbers with 1 <= I <= N (e.g. 2/4)", usage: "bless")
        try refused("sweep \(boot) --sample -5", "Error: The value '-5' is invalid for '--sample <K>': expected a number of allocations, a whole number from 1 to 9223372036854775807", usage: "sweep")
        try refused("sweep \(boot) --sample 0", "Error: The value '0' is invalid for '--sample <K>': expected a number of allocations, a whole number from 1 to 9223372036854775807", usage: "sweep")
        try refused("bench \(boot) --runs -1", "Error: The value '-1' is invalid for '--runs <N>': expected a number of runs, a whole number from 1 to 9223372036854775807", usage: "bench")
    }

    /// --set: control characters shown escaped, "did you mean" or the list of keys, and the
    /// subcommand's usage (not the top level's).
    func testSetValuesAreShownSafelyWithTheSubcommandsUsage() throws {
        let dir = try scratch()
        let ctl = try sh(#""$X" run "\#(Self.boot)" --set "$(printf 'phystop=1\001\033[2J')""#, in: dir)
        XCTAssertEqual(ctl.status, 64)
        XCTAssertTrue(ctl.stderr.hasPrefix("Error: phystop takes a number; got '1\\x01\\x1b[2J'\nUsage: xv6vm run <SCENARIO> "), ctl.stderr)
        let bogus = try sh(#""$X" leaks "\#(Self.boot)" --set bogus=1"#, in: dir)
        XCTAssertEqual(bogus.status, 64)
        XCTAssertTrue(bogus.stderr.hasPrefix("Error: unknown setting 'bogus'; the keys are variant, per_process_kernel_pagetable, "), bogus.stderr)
        XCTAssertTrue(bogus.stderr.contains(", phystop, harts (see `xv6vm variants`)\nUsage: xv6vm leaks <SCENARIO> "), bogus.stderr)
        let close = try sh(#""$X" plot "\#(Self.boot)" -o x.svg --set fre_kernel_stack=false"#, in: dir)
        XCTAssertTrue(close.stderr.hasPrefix("Error: unknown setting 'fre_kernel_stack' (did you mean 'free_kernel_stack'?)\nUsage: xv6vm plot <SCENARIO> "), close.stderr)
        XCTAssertEqual(files(dir), [])
    }

    /// 2,000 bad events: the first 50 errors are shown, then "and N more"; the count is exact.
    /// (300,000 took 12 s and printed 900,000 lines.)
    func testErrorOutputIsBounded() throws {
        let dir = try scratch()
        let bad = "events:\n  - userinit: init\n" + String(repeating: "  - frok: init\n", count: 2000)
        try bad.write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let text = try sh(#""$X" compile bad.yaml"#, in: dir)
        XCTAssertEqual(text.status, 2)
        let lines = text.stderr.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 50 * 3 + 2, text.stderr)
        XCTAssertTrue(lines[147].hasPrefix("bad.yaml:52:5: error: unknown event 'frok'"), lines[147])
        XCTAssertEqual(Array(lines.suffix(2)), ["and 1950 more errors (not shown)", "2000 errors in bad.yaml"])
        let json = try sh(#""$X" compile bad.yaml --format json"#, in: dir)
        XCTAssertEqual(json.status, 2)
        let objects = json.stderr.split(separator: "\n")
        XCTAssertEqual(objects.count, 51)
        XCTAssertEqual(objects.last, #"{"file":"bad.yaml","message":"and 1950 more errors (not shown)","more":1950}"#)
        // A define that fans out to 2^12 copies of one error, checked as a golden would be.
        var fan = "define:\n  d0:\n    events:\n      - frok: init\n"
        for i in 1...12 { fan += "  d\(i):\n    events:\n      - d\(i - 1): {}\n      - d\(i - 1): {}\n" }
        try FileManager.default.createDirectory(atPath: dir + "/scenarios", withIntermediateDirectories: true)
        try (fan + "events:\n  - userinit: init\n  - d12: {}\n").write(toFile: dir + "/scenarios/fan.yaml", atomically: true, encoding: .utf8)
        let check = try sh(#""$X" check"#, in: dir)
        XCTAssertEqual(check.status, 2)
        XCTAssertTrue(check.stdout.contains("\n    and 4046 more errors (not shown)\n1 scenario: "), check.stdout)
        XCTAssertLessThan(check.stdout.split(separator: "\n").count, 160)
        let checkJSON = try sh(#""$X" check --format json"#, in: dir)
        XCTAssertTrue(checkJSON.stdout.contains(#""errors_not_shown":4046"#), checkJSON.stdout)
    }

    /// The event limit holds however it is reached, and is checked before expanding: defines
    /// fanning out, a repeat of a define that repeats, includes forming a diamond; and a file
    /// too large to parse in seconds (or a device) is refused before it is read whole.
    func testExpansionIsBoundedBeforeItIsDone() throws {
        let dir = try scratch()
        func write(_ name: String, _ text: String) throws { try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
        var fan = "define:\n  d0:\n    events:\n      - vmprint: init\n"
        for i in 1...7 { fan += "  d\(i):\n    events:\n" + String(repeating: "      - d\(i - 1): {}\n", count: 10) }
        try write("fan.yaml", fan + "events:\n  - userinit: init\n  - d7: {}\n")
        try write("rep.yaml", "define:\n  big:\n    events:\n      - repeat: 1999000\n        events:\n          - vmprint: init\nevents:\n  - userinit: init\n  - repeat: 1000\n    events:\n      - big: {}\n")
        try write("c.inc", "events:\n  - vmprint: init\n")
        try write("b.inc", "events:\n" + String(repeating: "  - include: c.inc\n", count: 2000))
        try write("top.yaml", "events:\n  - userinit: init\n" + String(repeating: "  - include: b.inc\n", count: 2000))
        try write("big.yaml", "events:\n  - userinit: init\n" + String(repeating: "  - vmprint: init\n", count: 120_000))
        let expected = [
            "fan.yaml": "fan.yaml:91:5: error: `d7` expands to 10000000 events; the limit is 2000000 per scenario",
            "rep.yaml": "rep.yaml:9:13: error: repeat expands to 1999000000 events; the limit is 2000000 per scenario",
            "top.yaml": "top.yaml:1002:5: error: include b.inc expands to 2000 events (2000002 in all by here); the limit is 2000000 per scenario",
            "big.yaml": "big.yaml: error: the file is larger than 2 MiB, the most a scenario may have; write long scenarios with `repeat` and `define`",
        ]
        for (file, message) in expected.sorted(by: { $0.key < $1.key }) {
            let start = Date()
            let r = try sh(#""$X" compile "# + file, in: dir)
            XCTAssertLessThan(Date().timeIntervalSince(start), 3, file)
            XCTAssertEqual(r.status, 2, file)
            XCTAssertEqual(r.stderr.split(separator: "\n").first.map(String.init), message, r.stderr)
            XCTAssertTrue(r.stderr.hasSuffix("\n1 error in \(file)\n"), r.stderr)
        }
        let zero = try sh(#""$X" run /dev/zero"#, in: dir)
        XCTAssertEqual(zero.status, 2)
        XCTAssertTrue(zero.stderr.hasPrefix("/dev/zero: error: the file is larger than 2 MiB"), zero.stderr)
    }

    /// A golden path holding a directory, a FIFO, or under a `golden` that is a file: check
    /// names the path and the problem (it said "missing golden"), exits 1, and never opens
    /// the FIFO (which would wait for a writer forever).
    func testCheckNamesAGoldenItCannotRead() throws {
        let dir = try scratch()
        try FileManager.default.createDirectory(atPath: dir + "/scenarios/a", withIntermediateDirectories: true)
        for name in ["boot", "sbrk"] {
            try FileManager.default.copyItem(atPath: CommandLineTests.root + "/scenarios/xv6-2020/\(name).yaml", toPath: dir + "/scenarios/a/\(name).yaml")
        }
        try FileManager.default.createDirectory(atPath: dir + "/golden/a/boot.trace", withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(dir + "/golden/a/sbrk.trace", 0o644), 0)
        let start = Date()
        let r = try sh(#""$X" check"#, in: dir)
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, """
            unreadable golden a/boot.yaml
                cannot read golden/a/boot.trace: it is a directory, not a golden file; remove it and bless the scenario again
            unreadable golden a/sbrk.yaml
                cannot read golden/a/sbrk.trace: it is not a regular file (a device, a FIFO or a socket)
            2 scenarios: 0 ok, 0 changed, 0 missing golden, 0 scenario errors, 2 unreadable goldens
            2 pending: `xv6vm review` shows each and accepts or rejects it

            """)
        let json = try sh(#""$X" check scenarios/a/boot.yaml --format json"#, in: dir)
        XCTAssertEqual(json.status, 1)
        XCTAssertTrue(json.stdout.contains(#""outcome":"unreadable golden","pending":"golden/a/boot.trace.new","reason":"it is a directory, not a golden file; remove it and bless the scenario again""#), json.stdout)
        XCTAssertTrue(json.stdout.contains(#""unreadable_goldens":1"#), json.stdout)
        let shrink = try sh(#""$X" shrink scenarios/a/boot.yaml --until golden -o s.yaml"#, in: dir)
        XCTAssertEqual(shrink.status, 64)
        XCTAssertTrue(shrink.stderr.hasPrefix("Error: cannot shrink scenarios/a/boot.yaml --until golden: cannot read golden/a/boot.trace: it is a directory"), shrink.stderr)
        try FileManager.default.removeItem(atPath: dir + "/golden")
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/golden", contents: Data()))
        let file = try sh(#""$X" check scenarios/a/boot.yaml"#, in: dir)
        XCTAssertEqual(file.status, 74)                       // nor can the run's output be left beside it
        XCTAssertEqual(file.stderr, "xv6vm check: could not write golden/a/boot.trace.new: golden is not a directory\n")
        XCTAssertTrue(file.stdout.hasPrefix("unreadable golden a/boot.yaml\n    cannot read golden/a/boot.trace: golden is not a directory\n"), file.stdout)
    }

    /// Files no one should give xv6vm, each refused with a sentence and exit 2: symbolic
    /// links that loop or lead nowhere, a scenario that includes itself through a link, a
    /// FIFO no one writes to (scenario and log: refused after 5 s, not waited on forever),
    /// /dev/zero and a 200 MB line as a log, a log without probes. A FIFO with a writer, and
    /// NUL bytes between a log's lines, are read as usual.
    func testHostileFilesEndInASentenceAndExitTwo() throws {
        let dir = try scratch()
        let fm = FileManager.default
        try fm.createSymbolicLink(atPath: dir + "/loop1.yaml", withDestinationPath: "loop2.yaml")
        try fm.createSymbolicLink(atPath: dir + "/loop2.yaml", withDestinationPath: "loop1.yaml")
        try fm.createSymbolicLink(atPath: dir + "/gone.yaml", withDestinationPath: "nothing-here.yaml")
        try fm.createSymbolicLink(atPath: dir + "/here", withDestinationPath: ".")
        try "events:\n  - userinit\n  - include: here/self.yaml\n".write(toFile: dir + "/self.yaml", atomically: true, encoding: .utf8)
        try "events:\n  - userinit\n  - include: loop1.yaml\n  - include: gone.yaml\n  - include: here\n".write(toFile: dir + "/inc.yaml", atomically: true, encoding: .utf8)
        XCTAssertEqual(mkfifo(dir + "/fifo.yaml", 0o644), 0)
        XCTAssertEqual(mkfifo(dir + "/fifo.log", 0o644), 0)
        var log = try Data(contentsOf: URL(fileURLWithPath: CommandLineTests.root + "/docs/kernel-logs/stock-boot.log"))
        try log.write(to: URL(fileURLWithPath: dir + "/boot.log"))
        log = Data(log.split(separator: 0x0a, omittingEmptySubsequences: false).map { Data($0) }.joined(separator: Data([0x0a, 0x00])))
        try log.write(to: URL(fileURLWithPath: dir + "/nul.log"))
        XCTAssertTrue(fm.createFile(atPath: dir + "/long.log", contents: Data(repeating: UInt8(ascii: "x"), count: 200_000_000)))
        XCTAssertTrue(fm.createFile(atPath: dir + "/empty.log", contents: Data()))

        // Three FIFOs at once, while the rest goes on: two wait 5 s for a writer that never
        // comes, and plot's output 5 s for a reader (opening it to write blocked forever).
        // Plot's FIFO with a reader is another directory's.
        XCTAssertEqual(mkfifo(dir + "/out.fifo", 0o644), 0)
        let script = #""$X" compile fifo.yaml 2> s.err & "$X" replay fifo.log 2> l.err & "$X" plot "\#(Self.boot)" -o out.fifo 2> p.err & wait; cat s.err l.err p.err"#
        let fifos = Background { try runCommand(URL(fileURLWithPath: "/bin/sh"), ["-c", script], in: dir, environment: ["X": CommandLineTests.binary.path]) }
        let other = try scratch()
        XCTAssertEqual(mkfifo(other + "/out.fifo", 0o644), 0)
        func first(_ r: Output) -> String { r.stderr.split(separator: "\n").first.map(String.init) ?? "" }
        for (file, message) in [("loop1.yaml", "loop1.yaml: error: symbolic links loop there (Too many levels of symbolic links)"),
                                ("gone.yaml", "gone.yaml: error: it is a symbolic link to a file that does not exist"),
                                ("self.yaml", "self.yaml:3:14: error: include cycle: here/self.yaml includes itself, directly or through other files")] {
            let r = try sh(#""$X" compile "# + file, in: dir)
            XCTAssertEqual(r.status, 2, file)
            XCTAssertEqual(first(r), message)
        }
        let inc = try sh(#""$X" compile inc.yaml"#, in: dir)
        XCTAssertEqual(inc.status, 2)
        XCTAssertEqual(inc.stderr.split(separator: "\n").filter { $0.hasPrefix("inc.yaml:") }, [
            "inc.yaml:3:14: error: cannot include loop1.yaml: symbolic links loop there (Too many levels of symbolic links)",
            "inc.yaml:4:14: error: cannot include gone.yaml: it is a symbolic link to a file that does not exist",
            "inc.yaml:5:14: error: cannot include here: it is a directory, not a file",
        ])
        let late = try sh(#"(sleep 1; timeout 30 cat out.fifo > got.svg) & "$X" plot "\#(Self.boot)" -o out.fifo; wait; head -c 4 got.svg"#, in: other)
        XCTAssertEqual(late.status, 0, late.stderr)
        XCTAssertEqual(late.stdout, "wrote out.fifo: 4 samples of events 0 to 3 of 3\n<svg")
        let piped = try sh(#"cat boot.log | "$X" replay /dev/stdin && "$X" run /dev/stdin < "\#(Self.boot)" --format none"#, in: dir)
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertTrue(piped.stdout.hasSuffix("AGREE: 423 events, every one the same\n"), piped.stdout)
        let nul = try sh(#""$X" replay nul.log"#, in: dir)
        XCTAssertEqual(nul.status, 0, nul.stderr)
        for (file, message) in [("/dev/zero", "zero:1:1048577: error: this line is longer than 1 MiB; a kernel's console lines are short: is this a kernel's log?"),
                                ("long.log", "long.log:1:1048577: error: this line is longer than 1 MiB; a kernel's console lines are short: is this a kernel's log?"),
                                ("empty.log", "empty.log: error: no `@T` lines in 0 lines: this is not the log of a kernel with the probes (docs/check-your-kernel.md)"),
                                ("loop1.yaml", "loop1.yaml: error: symbolic links loop there (Too many levels of symbolic links)")] {
            let r = try sh(#""$X" replay "# + file, in: dir)
            XCTAssertEqual(r.status, 2, file)
            XCTAssertEqual(first(r), message)
        }
        XCTAssertEqual(try fifos.result().stdout, """
            fifo.yaml: error: nothing came from this FIFO for 5 s (a named pipe no program writes to?)
            1 error in fifo.yaml
            fifo.log: error: nothing came from this FIFO for 5 s (a named pipe no program writes to?)
            xv6vm: could not write out.fifo: no program reads from this FIFO (waited 5 s)

            """)
        XCTAssertLessThan(fifos.seconds, 9)
    }

    /// A --set value with a newline could forge a line of output; replay's and import's bad
    /// --set exited 2 (a log error) rather than 64 with the usage.
    func testSetValuesAreOneLineAndBadOnesAreUsageErrorsEverywhere() throws {
        let dir = try scratch()
        let log = CommandLineTests.root + "/docs/kernel-logs/stock-boot.log"
        let forged = try sh(#""$X" run "\#(Self.boot)" --set "$(printf 'phystop=1\nxv6vm: all good')""#, in: dir)
        XCTAssertEqual(forged.status, 64)
        XCTAssertTrue(forged.stderr.hasPrefix("Error: --set takes KEY=VALUE on one line; got 'phystop=1\\nxv6vm: all good'\nUsage: xv6vm run <SCENARIO>"), forged.stderr)
        let replay = try sh(#""$X" replay "\#(log)" --set bogus=1"#, in: dir)
        XCTAssertEqual(replay.status, 64)
        XCTAssertTrue(replay.stderr.hasPrefix("Error: unknown setting 'bogus'; the keys are "), replay.stderr)
        XCTAssertTrue(replay.stderr.contains("\nUsage: xv6vm replay <log>"), replay.stderr)
        let imp = try sh(#""$X" import "\#(log)" -o x.yaml --set "$(printf 'variant=pgtbl-lab\r')""#, in: dir)
        XCTAssertEqual(imp.status, 64)
        XCTAssertTrue(imp.stderr.hasPrefix("Error: --set takes KEY=VALUE on one line; got 'variant=pgtbl-lab\\r'\nUsage: xv6vm import <log>"), imp.stderr)
        XCTAssertEqual(files(dir), [])
    }

    /// scenarios/ with a directory link back up (a/up -> ..), two links to each other and a
    /// link to nothing: check and bless finish, name each bad one, and exit 2.
    func testLinksThatLoopInScenariosAreNamedAndCheckFinishes() throws {
        let dir = try scratch()
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/scenarios/a", withIntermediateDirectories: true)
        try fm.copyItem(atPath: Self.boot, toPath: dir + "/scenarios/a/boot.yaml")
        try fm.createSymbolicLink(atPath: dir + "/scenarios/a/up", withDestinationPath: "..")
        try fm.createSymbolicLink(atPath: dir + "/scenarios/loopA.yaml", withDestinationPath: "loopB.yaml")
        try fm.createSymbolicLink(atPath: dir + "/scenarios/loopB.yaml", withDestinationPath: "loopA.yaml")
        try fm.createSymbolicLink(atPath: dir + "/scenarios/gone.yaml", withDestinationPath: "nothing.yaml")
        let start = Date()
        let check = try sh(#""$X" check"#, in: dir)
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        XCTAssertEqual(check.status, 2)
        XCTAssertEqual(check.stdout, """
            missing golden  a/boot.yaml
                no golden/a/boot.trace; the run's output is in golden/a/boot.trace.new;
                accept it with: xv6vm review --accept scenarios/a/boot.yaml
            scenario error  gone.yaml
                scenarios/gone.yaml: error: it is a symbolic link to a file that does not exist
            scenario error  loopA.yaml
                scenarios/loopA.yaml: error: symbolic links loop there (Too many levels of symbolic links)
            scenario error  loopB.yaml
                scenarios/loopB.yaml: error: symbolic links loop there (Too many levels of symbolic links)
            4 scenarios: 0 ok, 0 changed, 1 missing golden, 3 scenario errors
            1 pending: `xv6vm review` shows each and accepts or rejects it

            """)
        let bless = try sh(#""$X" bless"#, in: dir)
        XCTAssertEqual(bless.status, 2)
        XCTAssertTrue(bless.stdout.hasSuffix("bless: 1 written, 0 unchanged, 3 scenario errors\n"), bless.stdout)
    }
}
