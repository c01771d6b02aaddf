import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport
import XV6

final class TraceTests: XCTestCase {
    static let handout = [
        "page table 0x0000000087f6e000",
        "..0: pte 0x0000000021fda801 pa 0x0000000087f6a000",
        ".. ..0: pte 0x0000000021fda401 pa 0x0000000087f69000",
        ".. .. ..0: pte 0x0000000021fdac1f pa 0x0000000087f6b000",
        ".. .. ..1: pte 0x0000000021fda00f pa 0x0000000087f68000",
        ".. .. ..2: pte 0x0000000021fd9c1f pa 0x0000000087f67000",
        "..255: pte 0x0000000021fdb401 pa 0x0000000087f6d000",
        ".. ..511: pte 0x0000000021fdb001 pa 0x0000000087f6c000",
        ".. .. ..510: pte 0x0000000021fdd807 pa 0x0000000087f76000",
        ".. .. ..511: pte 0x0000000020001c0b pa 0x0000000080007000",
    ]

    func testBootScenarioPrintsTheHandoutsPteprintoutVerbatim() throws {
        let lines = try traceText(scenarioPath("xv6-2020/boot.yaml")).split(separator: "\n").map(String.init)
        // exec's own vmprint, then sys_exec frees the argument page and exec returns argc.
        let start = try XCTUnwrap(lines.firstIndex(of: "page table 0x0000000087f6e000"))
        XCTAssertEqual(Array(lines[start..<start + 10]), Self.handout)
        XCTAssertEqual(Array(lines[start + 10...start + 11]), ["kfree     0x0000000087f6f000 pid 1 sys_exec", "return    pid 1 exec = 1"])
        // The vmprint event, after pid 1 went back to user space: A set on TRAPFRAME and TRAMPOLINE.
        let event3 = try XCTUnwrap(lines.firstIndex(of: "event 3 boot.yaml:16:5 vmprint pid 1"))
        var after = Self.handout
        after[8] = ".. .. ..510: pte 0x0000000021fdd847 pa 0x0000000087f76000"
        after[9] = ".. .. ..511: pte 0x0000000020001c4b pa 0x0000000080007000"
        XCTAssertEqual(Array(lines[event3 + 1..<event3 + 11]), after)
        XCTAssertEqual(lines[0], "xv6vm-trace 2")
        XCTAssertEqual(lines[2], "setting   variant xv6-2020")
        XCTAssertEqual(lines.last, "end       events 4 free-pages 32582 kalloc 153 kfree 7 findings 0")
    }

    func testTheSameScenarioGivesTheSameBytesTwiceInBothFormats() throws {
        for name in ["boot.yaml", "fork-exec-exit.yaml", "sbrk.yaml"] {
            let s = try ScenarioCompiler.compile(path: scenarioPath("xv6-2020/" + name))
            for format in [TraceFormat.text, .jsonl] {
                let a = TraceWriter(format: format, sites: .init()), b = TraceWriter(format: format, sites: .init())
                Runner.run(s, writer: a)
                Runner.run(s, writer: b)
                XCTAssertEqual(a.bytes, b.bytes, "\(name) \(format)")
                XCTAssertGreaterThan(a.bytes.count, 10_000)
            }
        }
    }

    func testEveryTraceLineBelongsToAnEventAndJSONLinesCarryTheSameStream() throws {
        let s = try ScenarioCompiler.compile(path: scenarioPath("xv6-2020/fork-exec-exit.yaml"))
        let text = TraceWriter(format: .text, sites: .init()), json = TraceWriter(format: .jsonl, sites: .init())
        Runner.run(s, writer: text)
        Runner.run(s, writer: json)
        XCTAssertEqual(text.lineCount, json.lineCount)
        let lines = String(decoding: json.bytes, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.first, #"{"format":"xv6vm-trace","kind":"header","version":2}"#)
        XCTAssertEqual(lines[1], #"{"file":"fork-exec-exit.yaml","kind":"scenario"}"#)
        XCTAssertTrue(lines.contains(#"{"event":5,"kind":"return","name":"fork","pid":2,"value":3}"#))
        XCTAssertTrue(lines.contains(#"{"column":5,"event":6,"file":"fork-exec-exit.yaml","kind":"event","label":"sbrk pid 3 65536","line":11}"#))
        for l in lines.dropFirst(2 + 6 + KernelSettings.catalogue.count + 1) { XCTAssertTrue(l.contains(#""event":"#), String(l)) }
    }

    func testAKernelPanicEndsTheRunWithXv6sMessage() throws {
        // With 56 free pages, kvminit's tables take 10 and procinit runs out after 46 of its 64 kernel
        // stacks: kalloc returns 0 and procinit panics, as the real kernel would.
        let yaml = """
            kernel: {end: 0x80027020, phystop: 0x80060000}
            events:
              - userinit
            """
        let s = try ScenarioCompiler.compile(bytes: Array(yaml.utf8), file: "tiny.yaml")
        let w = TraceWriter(format: .text, sites: .init())
        let (r, _) = Runner.run(s, writer: w)
        XCTAssertEqual(r.panic?.message, "kalloc")
        XCTAssertEqual(r.panicEvent, 0)
        XCTAssertEqual(r.exitCode, 1)
        let text = String(decoding: w.bytes, as: UTF8.self)
        XCTAssertTrue(text.contains("\nkalloc    out-of-memory pid - boot > procinit\npanic: kalloc\n"), text)
    }

    /// The kinds a digest counts from records are those read back from the text, line for
    /// line, and the writer's event lines are where the text has its `event` lines.
    func testRecordsAgreeWithTheirTextLineForLine() throws {
        for name in ["xv6-2020/boot.yaml", "pgtbl-lab/stale-tlb.yaml", "cow-lab/copyout2.yaml", "xv6-2020/exec-fails.yaml", "seed-003/boot.yaml"] {
            var s = try ScenarioCompiler.compile(path: scenarioPath(name))
            s.checkInvariants = true
            let w = TraceWriter(format: .text, sites: .init())
            var fromRecords: [String] = []
            w.tap = { r, _ in TraceLines.kinds(of: r) { fromRecords.append($0) } }
            Runner.run(s, writer: w)
            let lines = w.bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast()
            XCTAssertEqual(fromRecords, lines.map { TraceLines.kind($0) }, name)
            XCTAssertEqual(w.lineCount, lines.count, name)
            XCTAssertEqual(w.eventLines.map(\.line), TraceLines.events(in: w.bytes).map(\.line), name)
            XCTAssertEqual(w.eventLines.map(\.event), Array(0..<w.eventLines.count), name)
        }
    }

    /// A record's typed fields: sbrk's argument is a number, not text to read back.
    func testASyscallRecordCarriesItsCall() throws {
        let s = try ScenarioCompiler.compile(path: scenarioPath("xv6-2020/sbrk.yaml"))
        let w = TraceWriter(format: .none, sites: .init())
        var sbrks: [Int32] = []
        w.tap = { r, _ in if case .kernel(.syscall(_, .sbrk(let n))) = r { sbrks.append(n) } }
        Runner.run(s, writer: w)
        XCTAssertFalse(sbrks.isEmpty)
        let text = try traceText(scenarioPath("xv6-2020/sbrk.yaml"))
        XCTAssertEqual(sbrks.map { "sbrk(\($0))" }, text.split(separator: "\n").filter { $0.hasPrefix("syscall ") && $0.contains("sbrk(") }
            .map { String($0[$0.range(of: "sbrk(")!.lowerBound...]) })
    }

    /// A trace handed on as it grows is rendered on a thread of its own: the same bytes as
    /// one rendered on the run's thread, handed on in pieces of about a megabyte, with the
    /// same line count and event lines; panics, console lines, the labs' lines.
    func testATraceRenderedOnItsOwnThreadIsTheOneRenderedOnTheRunsThread() throws {
        let names = ["xv6-2020/boot.yaml", "seed-003/boot.yaml", "cow-lab/copyout2.yaml", "lazy-lab/lazytests-unmap.yaml",
                     "xv6-2020/exec-fails.yaml", "leaks/reparent2.yaml"]
        for name in names {
            let s = try ScenarioCompiler.compile(path: scenarioPath(name))
            let inline = TraceWriter(format: .text, sites: .init())
            Runner.run(s, writer: inline)
            var pieces: [Int] = []
            let whole = TraceBytes()
            let threaded = TraceWriter(format: .text, sites: .init(), writingBuffer: { whole.put($0.array); pieces.append($0.count) })
            Runner.run(s, writer: threaded)
            assertSameBytes(whole.array, inline.bytes, name)
            XCTAssertEqual(threaded.lineCount, inline.lineCount, name)
            XCTAssertEqual(threaded.eventLines.map(\.line), inline.eventLines.map(\.line), name)
            XCTAssertTrue(pieces.dropLast().allSatisfy { $0 >= 1 << 20 && $0 < (1 << 20) + 256 }, name)
            XCTAssertGreaterThan(pieces.last ?? 0, 0, name)
            if name == "leaks/reparent2.yaml" {
                XCTAssertEqual(inline.bytes.count, 94_715_748)
                XCTAssertEqual(inline.lineCount, 1_160_122)
                XCTAssertEqual(pieces.count, 91)
            }
        }
    }

    /// A snapshot of a run traced on a thread of its own goes on from everything rendered so
    /// far; a writer dropped unfinished hands on nothing more and leaves no thread waiting.
    func testASnapshotOfAThreadedTraceAndAnUnfinishedOne() throws {
        let s = try ScenarioCompiler.compile(path: scenarioPath("xv6-2020/fork-exec-exit.yaml"))
        let straight = TraceWriter(format: .text, sites: .init())
        Runner.run(s, writer: straight)
        var handed = 0
        var run = RunInProgress(s, writer: TraceWriter(format: .text, sites: .init(), writingBuffer: { handed += $0.count }))
        for _ in 0..<4 { XCTAssertTrue(run.step()) }
        var copy = run.snapshot()
        while copy.step() {}
        _ = copy.finish()
        XCTAssertEqual(copy.traced, straight.bytes)
        XCTAssertEqual(handed, 0)
        run = RunInProgress(s, writer: nil)
        XCTAssertEqual(handed, 0, "the writer was dropped unfinished: nothing more is handed on")
    }

    /// `%p` is written eight digits at a time: every digit value in every place, and a few
    /// whole numbers, read as `String(radix: 16)` writes them.
    func testSixteenHexDigitsWrittenAtOnceAreTheDigitByDigitOnes() {
        func written(_ v: UInt64) -> String {
            let b = TraceBytes()
            b.hex16(v)
            return b.string()
        }
        func expected(_ v: UInt64) -> String {
            let h = String(v, radix: 16)
            return "0x" + String(repeating: "0", count: 16 - h.count) + h
        }
        var checked = 0
        for place in 0..<16 {
            for digit in UInt64(0)...15 {
                let v = 0x0123_4567_89ab_cdef & ~(UInt64(0xf) << UInt64(4 * place)) | digit << UInt64(4 * place)
                XCTAssertEqual(written(v), expected(v))
                checked += 1
            }
        }
        XCTAssertEqual(checked, 256)
        XCTAssertEqual(written(0), "0x0000000000000000")
        XCTAssertEqual(written(.max), "0xffffffffffffffff")
        XCTAssertEqual(written(0x87f5_f000), "0x0000000087f5f000")
    }
}

