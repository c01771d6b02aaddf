import XCTest
@testable import Simulation

final class GoldenTests: XCTestCase {
    let store = GoldenStore(root: packageRoot)

    func testEveryScenarioMatchesItsGolden() {
        let scenarios = store.scenarios([])
        XCTAssertGreaterThanOrEqual(scenarios.count, 5)
        for r in Golden.checkAll(scenarios, store: store) {
            XCTAssertEqual(r.outcome, .ok, "\(r.scenario): \(CheckReport.text([r], stale: [], store: store))")
        }
        XCTAssertEqual(store.staleGoldens(), [])
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
        XCTAssertEqual(d.actual, lines[firstKfree + 1])
        XCTAssertEqual(d.summary, "kfree: 1 fewer")
        XCTAssertEqual(d.before.count, 3)
    }

    func testSummaryNamesMappingsThatDisappeared() {
        let e = "map       user:7 0x0000000087f00000 va 0x0000000000003000 size 0x1000 pa 0x0000000087f01000 rwxu---\nkfree     0x1\nkfree     0x2\nkfree     0x3\n"
        let a = "kfree     0x1\n"
        let d = Golden.difference(expected: Array(e.utf8), actual: Array(a.utf8), scenario: nil)
        XCTAssertEqual(d.summary, "kfree: 2 fewer; map: 1 fewer; map user:7 0x0000000087f00000 va 0x0000000000003000 size 0x1000 pa 0x0000000087f01000 rwxu--- missing")
        XCTAssertEqual(d.line, 1)
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

    func testResultsAreTheSameOnOneCoreOrMany() {
        let scenarios = store.scenarios([])
        let parallel = Golden.checkAll(scenarios, store: store)
        let serial = scenarios.map { Golden.check($0, store: store) }
        XCTAssertEqual(parallel, serial)
    }

    func testShardsPartitionTheScenarios() {
        let items = Array(1...10)
        XCTAssertEqual(Golden.shard(items, index: 1, count: 3), [1, 4, 7, 10])
        XCTAssertEqual(Golden.shard(items, index: 3, count: 3), [3, 6, 9])
        XCTAssertEqual((1...3).flatMap { Golden.shard(items, index: $0, count: 3) }.sorted(), items)
    }

    func testGoldenPathsMirrorScenarios() {
        let s = GoldenStore()
        XCTAssertEqual(s.goldenPath(for: "scenarios/boot.yaml"), "golden/boot.trace")
        XCTAssertEqual(s.goldenPath(for: "scenarios/lab/boot.yaml"), "golden/lab/boot.trace")
    }
}
