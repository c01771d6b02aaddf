import Foundation
import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport

/// The pieces of a sweep's part files: the scenario digest, calls as ranges, the JSON
/// reader, the verdict read back from its detail, and a part read back whole.
final class SweepPartTests: XCTestCase {
    func testTheDigestIsOfTheScenarioNotOfWhereItIs() throws {
        let dir = try temporaryDirectory(self)
        let original = scenarioPath("xv6-2020/fork-exec-exit.yaml")
        try FileManager.default.copyItem(atPath: original, toPath: dir + "/fork-exec-exit.yaml")
        let a = try ScenarioCompiler.compile(path: original)
        let b = try ScenarioCompiler.compile(path: dir + "/fork-exec-exit.yaml")
        XCTAssertEqual(a.digest.count, 64)
        XCTAssertTrue(a.digest.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        XCTAssertEqual(a.digest, b.digest)
        XCTAssertEqual(a.digest, try ScenarioCompiler.compile(path: original).digest)
        // Pinned: moving the types to other modules must not change it, or parts written
        // before would no longer merge or resume. A new kernel setting does change it (the
        // canonical form lists every setting; b48369c0... before cow_fault_copy,
        // cow_refinc_before_map and cow_count_drop): parts of an older xv6vm are then refused,
        // never misread.
        XCTAssertEqual(a.digest, "43ec0c026507f0df558fc3574128a3c8f514b9374e7f4080d905f1137609e8c2")
        var set = a
        XCTAssertNil(set.apply(overrides: ["trampoline_sfence=false"]))     // one that acts under xv6-2020
        var checked = a
        checked.checkInvariants = true
        var renamed = a
        renamed.file = "other.yaml"
        let digests = Set([a, set, checked, renamed].map(\.digest))
        XCTAssertEqual(digests.count, 4)
        // A comment moves no event: the same digest. An event moved a line down: another.
        let text = try String(contentsOfFile: original, encoding: .utf8)
        try ("# a comment at the end\n" + text).write(toFile: dir + "/moved.yaml", atomically: true, encoding: .utf8)
        var moved = try ScenarioCompiler.compile(path: dir + "/moved.yaml")
        moved.file = a.file
        XCTAssertNotEqual(moved.digest, a.digest)
        try (text + "# a comment at the end\n").write(toFile: dir + "/fork-exec-exit.yaml", atomically: true, encoding: .utf8)
        XCTAssertEqual(try ScenarioCompiler.compile(path: dir + "/fork-exec-exit.yaml").digest, a.digest)
    }

    func testCallsAreWrittenAsRangesAndReadBack() throws {
        XCTAssertEqual(SweepHeader.ranges([]), [])
        XCTAssertEqual(SweepHeader.ranges([7]), [[7, 7, 1]])
        XCTAssertEqual(SweepHeader.ranges([1, 3, 5, 6, 7, 10]), [[1, 5, 2], [6, 7, 1], [10, 10, 1]])
        XCTAssertEqual(SweepHeader.ranges(Array(stride(from: 2, through: 43799, by: 4))), [[2, 43798, 4]])
        XCTAssertEqual(SweepMerge.describe([5]), "call 5")
        XCTAssertEqual(SweepMerge.describe([1, 3, 5, 6, 7, 10, 20, 21]), "calls 1 to 5 in steps of 2, 6 to 7, 10 to 20 in steps of 10, ... (8 calls)")
    }

    func testTheReaderTakesWhatTheWriterWritesAndNamesTheColumnOfAProblem() throws {
        let value = JSONValue.o(["s": .s("a \"q\" \\ \n\t\u{1} é 🙂"), "n": .i(-42), "b": .b(true), "z": .null,
                                 "a": .a([.i(1), .a([]), .o([:])])])
        let (fields, columns) = try JSONReader.object(ArraySlice(Array(value.encoded.utf8)))
        XCTAssertEqual(JSONValue.o(fields), value)
        XCTAssertEqual(columns["a"], 6)
        XCTAssertEqual(try JSONReader.object(ArraySlice(Array(#"{"x":"\ud83d\ude42\u00e9\/"}"#.utf8))).value["x"], .s("🙂é/"))
        for (text, column, message) in [(#"{"a":1,}"#, 8, "expected a key in double quotes"),
                                        (#"{"a":1.5}"#, 6, "expected a whole number"),
                                        (#"{"a":99999999999999999999}"#, 6, "expected a whole number that fits in 64 bits"),
                                        (#"{"a":1,"a":2}"#, 8, #"the key "a" comes twice"#),
                                        (#"{"a":"\x"}"#, 7, #"an unknown escape \x"#),
                                        (#"{"a":"\ud800"}"#, 7, "a lone surrogate in \\u escapes"),
                                        (#"{"a":tru}"#, 6, "expected a value (a string, a number, an object, an array, true, false or null)"),
                                        (#"{"a":1} x"#, 9, "more text after the object's closing }"),
                                        (#"[1]"#, 1, "expected a JSON object, {...}"),
                                        (#"{"a":"#, 6, "the line ends where a value should be")] {
            XCTAssertThrowsError(try JSONReader.object(ArraySlice(Array(text.utf8))), text) { e in
                XCTAssertEqual(e as? JSONReader.Failure, JSONReader.Failure(column: column, message: message), text)
            }
        }
        XCTAssertThrowsError(try JSONReader.object(ArraySlice([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]))) { e in
            XCTAssertEqual((e as? JSONReader.Failure)?.message, "a string that is not UTF-8")
        }
    }

    func testAVerdictIsReadBackFromItsDetailOnly() {
        let verdicts: [Sweep.Verdict] = [.clean, .notReached, .panic("kvmmap"), .invariant("pid 2: sz 4096 > PLIC"),
                                         .leak(pages: 1, site: "fork > allocproc"), .leak(pages: 12, site: "exec > uvmalloc")]
        for v in verdicts {
            XCTAssertEqual(Sweep.Verdict(word: v.word, detail: v.detail), v)
        }
        XCTAssertNil(Sweep.Verdict(word: "leak", detail: "leak: 3 page, first at x"))
        XCTAssertNil(Sweep.Verdict(word: "leak", detail: "leak: lots"))
        XCTAssertNil(Sweep.Verdict(word: "panic", detail: "clean"))
        XCTAssertNil(Sweep.Verdict(word: "crash", detail: "crash"))
    }

    /// A sweep of three shards, written as the command writes them, read back and merged.
    func testPartsReadBackAndMergeIntoTheWholeSweep() throws {
        let s = try ScenarioCompiler.compile(path: scenarioPath("xv6-2020/sbrk.yaml"))
        let whole = SweepHeader(s, path: "sbrk.yaml", overrides: [], boot: false, sample: nil)
        let outcomes = Sweep.run(s, calls: whole.calls)
        XCTAssertEqual(outcomes.count, 28)
        var parts: [(file: String, part: SweepPart)] = []
        for i in [3, 1, 2] {
            let h = SweepHeader(s, path: "sbrk.yaml", overrides: [], boot: false, sample: nil, shard: i, of: 3)
            let lines = Sweep.jsonLines(h, outcomes.filter { h.calls.contains($0.call) })
            let part = try SweepPart.read(Array((lines.joined(separator: "\n") + "\n").utf8), file: "p\(i).json")
            XCTAssertEqual(part.header, h)
            XCTAssertTrue(part.finished)
            parts.append(("p\(i).json", part))
        }
        let merged = try SweepMerge.merge(parts)
        XCTAssertEqual(merged.outcomes, outcomes)
        XCTAssertEqual(Sweep.jsonLines(merged.header, merged.outcomes), Sweep.jsonLines(whole, outcomes))
        XCTAssertThrowsError(try SweepMerge.merge(Array(parts.dropLast()))) { e in
            XCTAssertEqual((e as? SweepMerge.Refusal)?.problems, ["no part for shard 2/3: calls 139 to 163 in steps of 3 (9 calls) of the sweep's 28 are in no part"])
        }
    }
}
