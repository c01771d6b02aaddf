import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport

final class GoldenTests: XCTestCase {
    let store = GoldenStore(root: packageRoot)

    /// Every scenario matches its golden, checked on all cores as `check` does; checked one
    /// at a time, each gives the same result. (One test: the run on all cores is the one
    /// both halves need, and the slowest part of the suite.)
    func testEveryScenarioMatchesItsGoldenOnOneCoreOrMany() {
        let scenarios = store.scenarios([])
        XCTAssertGreaterThanOrEqual(scenarios.count, 5)
        let parallel = Golden.checkAll(scenarios, store: store)
        for r in parallel {
            XCTAssertEqual(r.outcome, .ok, "\(r.scenario): \(CheckReport.text([r], stale: [], store: store))")
        }
        XCTAssertEqual(store.staleGoldens(), [])
        let serial = scenarios.map { Golden.check($0, store: store) }
        XCTAssertEqual(parallel, serial)
    }

    func testAChangedTraceReportsItsFirstDepartureAndTheEventThatCausedIt() throws {
        let path = scenarioPath("xv6-2020/sbrk.yaml")
        let (compiled, bytes) = try Golden.trace(of: path).get()
        var lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // Pretend the golden had one more kfree in the event of `sbrk: {proc: p, n: -4098}` (line 14).
        let at = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("event 8 ") })
        let firstKfree = try XCTUnwrap(lines[at...].firstIndex { $0.hasPrefix("kfree") })
        lines.insert("kfree     0x0000000087f00000 pid 2 growproc > uvmdealloc > uvmunmap", at: firstKfree)
        let d = Golden.difference(expected: Array(lines.joined(separator: "\n").utf8), actual: bytes, scenario: compiled)
        XCTAssertEqual(d.line, firstKfree + 1)
        XCTAssertEqual(d.event, 8)
        XCTAssertEqual(d.eventLocation, path + ":14:5")
        XCTAssertEqual(d.expected, "kfree     0x0000000087f00000 pid 2 growproc > uvmdealloc > uvmunmap")
        XCTAssertNil(d.actual)
        XCTAssertEqual(d.summary, "-1 kfree")
        XCTAssertEqual(d.diff.hunkCount, 1)
        XCTAssertEqual(d.diff.hunks[0].header, "@@ -\(firstKfree - 2),7 +\(firstKfree - 2),6 @@")
        XCTAssertEqual(d.diff.hunks[0].lines.filter { !$0.hasPrefix(" ") }, ["-kfree     0x0000000087f00000 pid 2 growproc > uvmdealloc > uvmunmap"])
    }

    /// check's text for one changed event: where, what per kind, and exactly the hunk
    /// `diff -u` prints; every line but the trace's own within 80 columns.
    func testCheckShowsTheHunkAndFoldsItsSummary() throws {
        let path = scenarioPath("xv6-2020/sbrk.yaml")
        let (compiled, bytes) = try Golden.trace(of: path).get()
        let golden = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "kfree     0x0000000087f71000 pid 2 sys_sbrk", with: "kfree     0x0000000087f70000 pid 2 sys_sbrk")
        let d = Golden.difference(expected: Array(golden.utf8), actual: bytes, scenario: compiled)
        let r = GoldenResult(scenario: path, golden: "golden/xv6-2020/sbrk.trace", outcome: .changed(d), trace: bytes, goldenBytes: Array(golden.utf8),
                             pending: "golden/xv6-2020/sbrk.trace.new")
        let text = CheckReport.text([r], stale: [], store: store)
        XCTAssertEqual(text, """
            changed         xv6-2020/sbrk.yaml
                first departs at line 411 of the golden, in event 9
                (\(path):15:5)
                1 hunk (-1 +1): -1 +1 kfree
            --- golden/xv6-2020/sbrk.trace
            +++ golden/xv6-2020/sbrk.trace.new
            @@ -408,7 +408,7 @@
             sfence    hart 0
             syscall   pid 2 sbrk(-16383)
             unmap     user:2 0x0000000087f75000 va 0x0000000000000000 npages 4 free
            -kfree     0x0000000087f70000 pid 2 sys_sbrk > growproc > uvmdealloc > uvmunmap
            +kfree     0x0000000087f71000 pid 2 sys_sbrk > growproc > uvmdealloc > uvmunmap
             kfree     0x0000000087f66000 pid 2 sys_sbrk > growproc > uvmdealloc > uvmunmap
             kfree     0x0000000087f65000 pid 2 sys_sbrk > growproc > uvmdealloc > uvmunmap
             kfree     0x0000000087f64000 pid 2 sys_sbrk > growproc > uvmdealloc > uvmunmap
                review it with: xv6vm review golden/xv6-2020/sbrk.trace.new
            1 scenario: 0 ok, 1 changed, 0 missing golden, 0 scenario errors
            """)
        let coloured = CheckReport.text([r], stale: [], store: store, color: true).split(separator: "\n")
        XCTAssertEqual(coloured[10], "\u{1b}[31m-kfree     0x0000000087f70000 pid 2 sys_sbrk > growproc > uvmdealloc > uvmunmap\u{1b}[0m")
        XCTAssertEqual(coloured[11], "\u{1b}[32m+kfree     0x0000000087f71000 pid 2 sys_sbrk > growproc > uvmdealloc > uvmunmap\u{1b}[0m")
    }

    /// The per-kind counts fold between items, never inside one, within 80 columns.
    func testASummaryOfManyKindsFoldsBetweenItems() {
        var e = "", a = ""
        for n in 1...30 { let same = (0..<7).map { "s\(n).\($0)\n" }.joined(); e += same; a += same; for _ in 0..<n { a += "kind\(n) x\n" } }
        let d = Golden.difference(expected: Array(e.utf8), actual: Array(a.utf8), scenario: nil)
        let lines = CheckReport.changed(d, golden: "g", new: "n").prefix { !$0.hasPrefix("---") }
        XCTAssertEqual(Array(lines), [
            "    first departs at line 8 of the golden",
            "    30 hunks (-0 +465): +1 kind1, +2 kind2, +3 kind3, +4 kind4, +5 kind5,",
            "        +6 kind6, +7 kind7, +8 kind8, +9 kind9, +10 kind10, +11 kind11,",
            "        +12 kind12, +13 kind13, +14 kind14, +15 kind15, +16 kind16, +17 kind17,",
            "        +18 kind18, +19 kind19, +20 kind20, +21 kind21, +22 kind22, +23 kind23,",
            "        +24 kind24, +25 kind25, +26 kind26, +27 kind27, +28 kind28, +29 kind29,",
            "        +30 kind30",
        ])
        XCTAssertLessThanOrEqual(lines.map(\.count).max() ?? 0, 80)
        XCTAssertEqual(CheckReport.changed(d, golden: "g", new: "n").last, "    (20 more hunks not shown; diff the golden with its .new file for all)")
    }

    func testSummaryCountsEachKindOfLineRemovedOrAdded() {
        let e = "map       user:7 0x0000000087f00000 va 0x0000000000003000 size 0x1000 pa 0x0000000087f01000 rwxu---\nkfree     0x1\nkfree     0x2\nkfree     0x3\n"
        let a = "kfree     0x1\nkalloc    0x9\n"
        let d = Golden.difference(expected: Array(e.utf8), actual: Array(a.utf8), scenario: nil)
        XCTAssertEqual(d.items, ["-1 map", "-2 kfree", "+1 kalloc"])
        XCTAssertEqual(d.line, 1)
        XCTAssertEqual(d.diff.unified(), ["@@ -1,4 +1,2 @@", "-map       user:7 0x0000000087f00000 va 0x0000000000003000 size 0x1000 pa 0x0000000087f01000 rwxu---",
                                          " kfree     0x1", "-kfree     0x2", "-kfree     0x3", "+kalloc    0x9"])
    }

    /// A digest cannot show its lines, but says which counts moved.
    func testADigestSaysWhichCountsDiffer() {
        let e = "xv6vm-digest 1\nlines     10\nsha256    aa\ncount     kalloc 5\ncount     kfree 4\ncount     map 2\nend       x\n"
        let a = "xv6vm-digest 1\nlines     13\nsha256    bb\ncount     kalloc 8\ncount     kfree 4\ncount     map 2\nend       y\n"
        let d = Golden.difference(expected: Array(e.utf8), actual: Array(a.utf8), scenario: nil)
        XCTAssertEqual(d.items, ["lines 10 -> 13 (+3)", "kalloc 5 -> 8 (+3)"])
    }

    func testAMissingGoldenFailsAndCheckNeverWritesOne() throws {
        let dir = try temporaryDirectory(self)
        try FileManager.default.createDirectory(atPath: dir + "/scenarios", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: scenarioPath("xv6-2020/boot.yaml"), toPath: dir + "/scenarios/boot.yaml")
        let tmpStore = GoldenStore(root: dir)
        let r = Golden.check(dir + "/scenarios/boot.yaml", store: tmpStore)
        XCTAssertEqual(r.outcome, .missingGolden)
        XCTAssertEqual(r.golden, dir + "/golden/boot.trace")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/golden/boot.trace"))
        XCTAssertEqual(CheckReport.summary([r], stale: 0), "1 scenario: 0 ok, 0 changed, 1 missing golden, 0 scenario errors")
    }

    func testBlessIsAtomicAFailedWriteLeavesTheOldGoldenIntact() throws {
        let dir = try temporaryDirectory(self)
        let path = dir + "/golden/x.trace"
        try Golden.writeAtomically(Array("old\n".utf8), to: path)
        struct Interrupted: Error {}
        XCTAssertThrowsError(try Golden.writeAtomically(Array("new\n".utf8), to: path, beforeRename: { throw Interrupted() }))
        XCTAssertEqual(FileManager.default.contents(atPath: path), Data("old\n".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/golden"), ["x.trace"])   // no temporary left
        try Golden.writeAtomically(Array("new\n".utf8), to: path)
        XCTAssertEqual(FileManager.default.contents(atPath: path), Data("new\n".utf8))
    }

    func testShardsPartitionTheScenarios() {
        let items = Array(1...10)
        XCTAssertEqual(shardItems(items, index: 1, count: 3), [1, 4, 7, 10])
        XCTAssertEqual(shardItems(items, index: 3, count: 3), [3, 6, 9])
        XCTAssertEqual((1...3).flatMap { shardItems(items, index: $0, count: 3) }.sorted(), items)
    }

    func testGoldenPathsMirrorScenarios() {
        let s = GoldenStore()
        XCTAssertEqual(s.goldenPath(for: "scenarios/boot.yaml"), "golden/boot.trace")
        XCTAssertEqual(s.goldenPath(for: "scenarios/lab/boot.yaml"), "golden/lab/boot.trace")
    }
}
