import Foundation
import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport

final class LineDiffTests: XCTestCase {
    /// `/usr/bin/diff -u OLD NEW`, without its `---`/`+++` lines; nil when diff is not installed.
    func gnuDiff(_ old: String, _ new: String) throws -> [String]? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/diff") else { return nil }
        let dir = try temporaryDirectory(self)
        try old.write(toFile: dir + "/old", atomically: true, encoding: .utf8)
        try new.write(toFile: dir + "/new", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/diff")
        p.arguments = ["-u", dir + "/old", dir + "/new"]
        let pipe = Pipe()
        p.standardOutput = pipe
        let wait = try p.startWaitable()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        wait()
        return Array(String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init).dropFirst(2).dropLast())
    }

    func diff(_ old: String, _ new: String, maxEdits: Int = 1024, budget: Int = 200_000_000) -> LineDiff {
        LineDiff.compute(old: Array(old.utf8), new: Array(new.utf8), maxHunks: 1000, maxLines: 100_000, maxEdits: maxEdits, budget: budget)
    }

    /// Applies the hunks to `old`: they must give `new` exactly.
    func apply(_ d: LineDiff, to old: String) -> String {
        var lines = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var out: [String] = [], at = 0
        for h in d.hunks {
            let start = h.oldCount == 0 ? h.oldStart - 1 : h.oldStart - 1
            while at < start { out.append(lines[at]); at += 1 }
            for l in h.lines {
                if l.hasPrefix(" ") { XCTAssertEqual(lines[at], String(l.dropFirst())); out.append(lines[at]); at += 1 }
                else if l.hasPrefix("-") { XCTAssertEqual(lines[at], String(l.dropFirst())); at += 1 }
                else if l.hasPrefix("+") { out.append(String(l.dropFirst())) }
            }
        }
        while at < lines.count { out.append(lines[at]); at += 1 }
        return out.map { $0 + "\n" }.joined()
    }

    /// The acceptance case: one event of a real trace changed (its kfree freeing another page)
    /// gives the hunk `diff -u` prints, and nothing else.
    func testOneChangedEventGivesExactlyTheLinesDiffMarks() throws {
        let trace = try traceText(scenarioPath("xv6-2020/sbrk.yaml"))
        var lines = trace.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines[410], "kfree     0x0000000087f71000 pid 2 sys_sbrk > growproc > uvmdealloc > uvmunmap")
        lines[410] = "kfree     0x0000000087f70000 pid 2 sys_sbrk > growproc > uvmdealloc > uvmunmap"
        let golden = lines.joined(separator: "\n")
        let d = LineDiff.compute(old: Array(golden.utf8), new: Array(trace.utf8))
        let expected = """
            @@ -408,7 +408,7 @@
             sfence    hart 0
             syscall   pid 2 sbrk(-16383)
             unmap     user:2 0x0000000087f75000 va 0x0000000000000000 npages 4 free
            -kfree     0x0000000087f70000 pid 2 sys_sbrk > growproc > uvmdealloc > uvmunmap
            +kfree     0x0000000087f71000 pid 2 sys_sbrk > growproc > uvmdealloc > uvmunmap
             kfree     0x0000000087f66000 pid 2 sys_sbrk > growproc > uvmdealloc > uvmunmap
             kfree     0x0000000087f65000 pid 2 sys_sbrk > growproc > uvmdealloc > uvmunmap
             kfree     0x0000000087f64000 pid 2 sys_sbrk > growproc > uvmdealloc > uvmunmap
            """
        XCTAssertEqual(d.unified().joined(separator: "\n"), expected)
        XCTAssertEqual(d.hunkCount, 1)
        XCTAssertEqual(d.removed, 1)
        XCTAssertEqual(d.added, 1)
        XCTAssertEqual(d.firstOld, 411)
        XCTAssertTrue(d.minimal)
        if let gnu = try gnuDiff(golden, trace) { XCTAssertEqual(d.unified(), gnu) }
    }

    /// A deleted line among equal neighbours, an inserted repeat, two changes far apart:
    /// each exactly as `diff -u` has it (GNU slides a change down past lines equal to it).
    func testSlidesAndSeparateHunksAsDiffDoes() throws {
        let base = (1...30).map { "line \($0 % 7 == 0 ? 0 : $0)" }
        let cases: [([String], [String])] = [
            (base, base.enumerated().filter { $0.offset != 2 }.map(\.element)),
            (base, Array(base[0...6]) + ["line 0"] + Array(base[7...])),
            (base, base.enumerated().map { $0.offset == 3 || $0.offset == 25 ? "changed" : $0.element }),
            (["a", "b", "a", "b", "a"], ["b", "a", "b", "a", "b"]),
            (["x", "x", "x"], ["x", "x", "x", "x", "x"]),
            ([], ["only"]),
            (["only"], []),
        ]
        for (o, n) in cases {
            let old = o.map { $0 + "\n" }.joined(), new = n.map { $0 + "\n" }.joined()
            let d = diff(old, new)
            XCTAssertEqual(apply(d, to: old), new)
            if let gnu = try gnuDiff(old, new) { XCTAssertEqual(d.unified(), gnu, "\(o) -> \(n)") }
        }
        let d = diff(base.map { $0 + "\n" }.joined(), base.enumerated().map { $0.offset == 3 || $0.offset == 25 ? "changed\n" : $0.element + "\n" }.joined())
        XCTAssertEqual(d.hunks.map(\.header), ["@@ -1,7 +1,7 @@", "@@ -23,7 +23,7 @@"])
    }

    /// Many random pairs of texts drawn from few distinct lines (so with many ties): the
    /// hunks always rebuild the new text and mark as few lines as `diff -u`. Where several
    /// minimal diffs exist, GNU's divide-and-conquer search may pick another than Myers'
    /// greedy one: 2 of these 60 pairs, both ties among repeated lines.
    func testRandomPairsRebuildTheNewTextAndMatchDiff() throws {
        var rng = SplitMix(seed: 14)
        var same = 0, total = 0
        for _ in 0..<60 {
            let n = Int(rng.next() % 40), m = Int(rng.next() % 40)
            let old = (0..<n).map { _ in "l\(rng.next() % 4)\n" }.joined()
            var newLines = old.split(separator: "\n").map(String.init)
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = newLines.isEmpty ? 0 : Int(rng.next() % UInt64(newLines.count))
                switch rng.next() % 3 {
                case 0: newLines.insert("l\(rng.next() % 4)", at: at)
                case 1: if !newLines.isEmpty { newLines.remove(at: at) }
                default: if !newLines.isEmpty { newLines[at] = "l\(rng.next() % 5)" }
                }
            }
            _ = m
            let new = newLines.map { $0 + "\n" }.joined()
            let d = diff(old, new)
            XCTAssertEqual(apply(d, to: old), new)
            if let gnu = try gnuDiff(old, new) {
                total += 1
                XCTAssertEqual(d.removed + d.added, gnu.filter { $0.hasPrefix("-") || $0.hasPrefix("+") }.count, "\(old) -> \(new)")
                if d.unified() == gnu { same += 1 }
            }
        }
        if total > 0 { XCTAssertEqual(same, total - 2) }
    }

    /// A cap of 2 edits per pass and a tiny budget still give hunks that rebuild the new text;
    /// when the budget runs out, the diff says it is not minimal.
    func testBoundedPassesStillGiveAValidDiff() {
        let old = (0..<200).map { "a\($0 % 13)\n" }.joined()
        let new = (0..<200).map { "a\(($0 * 7) % 11)\n" }.joined()
        let capped = diff(old, new, maxEdits: 2)
        XCTAssertEqual(apply(capped, to: old), new)
        let starved = diff(old, new, budget: 50)
        XCTAssertEqual(apply(starved, to: old), new)
        XCTAssertFalse(starved.minimal)
        XCTAssertTrue(diff(old, new).minimal)
    }

    func testNoNewlineAtEndIsADifferenceAndMarkedAsDiffMarksIt() throws {
        let d = diff("a\nb", "a\nb\n")
        XCTAssertEqual(d.unified(), ["@@ -1,2 +1,2 @@", " a", "-b", "\\ No newline at end of file", "+b"])
        if let gnu = try gnuDiff("a\nb", "a\nb\n") { XCTAssertEqual(d.unified(), gnu) }
        XCTAssertTrue(diff("same\n", "same\n").isEmpty)
    }

    func testCapsKeepTheFirstHunksAndCountTheRest() {
        let old = (0..<400).map { "x\($0)\n" }.joined()
        let new = (0..<400).map { $0 % 20 == 10 ? "y\($0)\n" : "x\($0)\n" }.joined()
        let d = LineDiff.compute(old: Array(old.utf8), new: Array(new.utf8), maxHunks: 3, maxLines: 200)
        XCTAssertEqual(d.hunkCount, 20)
        XCTAssertEqual(d.hunks.count, 3)
        XCTAssertEqual(d.removed, 20)
        XCTAssertEqual(d.kinds.prefix(3).map { "\($0.kind) -\($0.removed) +\($0.added)" }, ["x10 -1 +0", "y10 -0 +1", "x30 -1 +0"])
        let tight = LineDiff.compute(old: Array(old.utf8), new: Array(new.utf8), maxHunks: 10, maxLines: 10)
        XCTAssertEqual(tight.hunks.count, 2)
        XCTAssertEqual(tight.hunks.map(\.lines.count), [8, 2])
        XCTAssertEqual(tight.linesCut, 6)
    }
}

/// A small deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49eb_133b_111f
        return z ^ (z >> 31)
    }
}
