import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport
import XV6

/// Runs resumed from snapshots: the same bytes and the same verdicts as runs straight through.
final class SnapshotTests: XCTestCase {
    /// Every scenario of the project, by its path under scenarios/.
    func scenarios() -> [String] {
        let all = (FileManager.default.enumerator(atPath: scenarioPath(""))?.allObjects as? [String]) ?? []
        return all.filter { $0.hasSuffix(".yaml") }.sorted()
    }

    /// The scenarios whose runs are long enough to get a test of their own, so that the
    /// parallel test runner can spread them over the cores.
    static let large = ["leaks/reparent2.yaml", "cow-lab/cowtest-file.yaml", "pgtbl-lab/exec-below-plic.yaml", "lazy-lab/sbrkmuch.yaml"]
    /// Scenarios another runs first, whole (FastPathsTests.prefixes): snapshots in them would
    /// only repeat the longer one's, at 60 MB of trace a run for cowtest's.
    static let repeated = FastPathsTests.prefixes

    /// A run snapshotted between two events and resumed writes the same trace, byte for byte,
    /// as a run straight through; the run it was taken from, finished first, is undisturbed.
    /// Snapshots are taken after the first event, a third of the way and before the last; a
    /// scenario whose trace passes 4 MB is snapshotted a third of the way only (the small ones
    /// already cover the other points, and each point of reparent2 costs seconds).
    func checkResuming(_ name: String) throws {
        let s = try ScenarioCompiler.compile(path: scenarioPath(name))
        for format in [TraceFormat.text, .jsonl] where format == .text || name.hasSuffix("boot.yaml") {
            let straight = TraceWriter(format: format, sites: SiteTree())
            Runner.run(s, writer: straight)
            let want = straight.bytes
            let n = s.events.count
            let points = want.count > 4_000_000 ? [n / 3] : Set([1, n / 3, n - 1]).sorted()
            for at in points {
                var run = RunInProgress(s, writer: TraceWriter(format: format, sites: SiteTree()))
                while run.next < at && run.step() {}
                var copy = run.snapshot()
                run.runToEnd()
                _ = run.finish()
                copy.runToEnd()
                _ = copy.finish()
                assertSameBytes(copy.traced, want, "\(name) resumed at event \(at)")
                assertSameBytes(run.traced, want, "\(name) snapshotted at event \(at)")
            }
        }
    }

    func testResumingFromASnapshotWritesTheSameTraceAsRunningStraightThrough() throws {
        XCTAssertEqual(scenarios().count, 31)
        XCTAssertEqual(Set(Self.large + Self.repeated).subtracting(scenarios()), [])
        for name in scenarios() where !Self.large.contains(name) && !Self.repeated.contains(name) { try checkResuming(name) }
    }

    func testResumingReparent2FromASnapshotWritesTheSameTrace() throws {
        try checkResuming(Self.large[0])
    }

    func testResumingCowtestFromASnapshotWritesTheSameTrace() throws {
        try checkResuming(Self.large[1])
    }

    func testResumingExecBelowPLICFromASnapshotWritesTheSameTrace() throws {
        try checkResuming(Self.large[2])
    }

    func testResumingSbrkmuchFromASnapshotWritesTheSameTrace() throws {
        XCTAssertEqual(Self.large.count, 4)
        try checkResuming(Self.large[3])
    }

    /// The pinned sweeps, every call (boot's and a few past the end too): the same outcome,
    /// call for call, from snapshots as from boot.
    func testSweepVerdictsAreTheSameFromSnapshotsAsFromBoot() throws {
        for name in ["pgtbl-lab/fork-exec-exit.yaml", "xv6-2020/fork-exec-exit.yaml", "xv6-2020/sbrk.yaml"] {
            let s = try ScenarioCompiler.compile(path: scenarioPath(name))
            let (_, total) = Sweep.allocations(s)
            let calls = Array(1...total + 2)
            let fromSnapshots = Sweep.run(s, calls: calls)
            XCTAssertEqual(fromSnapshots, Sweep.run(s, calls: calls, snapshots: false), name)
            XCTAssertEqual(fromSnapshots.suffix(2).map(\.verdict), [.notReached, .notReached], name)
        }
        // With the invariants checked after every event (sweep --check) too.
        var s = try ScenarioCompiler.compile(path: scenarioPath("pgtbl-lab/fork-exec-exit.yaml"))
        s.checkInvariants = true
        let calls = Array(Sweep.allocations(s).boot + 1...Sweep.allocations(s).total)
        let checked = Sweep.run(s, calls: calls)
        XCTAssertEqual(checked, Sweep.run(s, calls: calls, snapshots: false))
        XCTAssertEqual(checked.count, 294)
    }

    /// The leak hunt's scenario, sampled, with calls out of order: the same outcomes, and
    /// the run ends in each way the kernel can end.
    func testSweepOfTheRootOnlyLeakIsTheSameFromSnapshots() throws {
        let s = try ScenarioCompiler.compile(path: scenarioPath("leaks/reparent2-root-only.yaml"))
        let (boot, total) = Sweep.allocations(s)
        XCTAssertEqual(boot, 73)
        XCTAssertEqual(total, 43872)
        let calls = Sweep.sample(boot + 1, total, 120) + [40_000, 73, 20_001, 20_000, total + 1]
        let fromSnapshots = Sweep.run(s, calls: calls)
        XCTAssertEqual(fromSnapshots, Sweep.run(s, calls: calls, snapshots: false))
        var totals: [String: Int] = [:]
        for o in fromSnapshots { totals[o.verdict.word, default: 0] += 1 }
        XCTAssertEqual(totals, ["panic": 114, "leak": 10, "not reached": 1])
        // Call 73 is boot's last: the kernel panics before it has booted, and says where.
        XCTAssertEqual(fromSnapshots[121].call, 73)
        XCTAssertEqual(fromSnapshots[121].verdict, .panic("kvmmap"))
        XCTAssertTrue(fromSnapshots[121].site.hasPrefix("boot > "), fromSnapshots[121].site)
    }

    /// Shrink's candidates run from a snapshot of the last one adopted, where they part
    /// from it: each comes to the same result as a run from boot.
    func testCandidatesRunFromWhereTheyPartComeToTheSameResult() throws {
        let s = try ScenarioCompiler.compile(path: scenarioPath("leaks/reparent2-root-only.yaml"))
        let runs = PrefixRuns()
        func same(_ c: CompiledScenario, _ what: String) -> RunResult {
            let (a, ka) = runs.run(c)
            let (b, kb) = Runner.run(c, writer: nil)
            XCTAssertEqual(a.panic?.message, b.panic?.message, what)
            XCTAssertEqual(a.panicEvent, b.panicEvent, what)
            XCTAssertEqual(a.freeAfter, b.freeAfter, what)
            XCTAssertEqual(a.counters, b.counters, what)
            XCTAssertEqual(a.skipped, b.skipped, what)
            XCTAssertEqual(ka?.allocatedPages, kb?.allocatedPages, what)
            return a
        }
        let whole = same(s, "the scenario")
        XCTAssertEqual(whole.panic?.message, "kvmmap")
        XCTAssertEqual(whole.panicEvent, 1345)
        runs.adopt()
        var fewer = s
        fewer.events.removeSubrange(1200...)                // fewer rounds: a prefix of the adopted run
        XCTAssertNil(same(fewer, "the first 1200 events").panic)
        var without = s
        without.events.remove(at: 1100)                     // one event fewer, late
        XCTAssertEqual(same(without, "without event 1100").panicEvent, 1344)
        runs.adopt()
        var early = without
        early.events.remove(at: 30)                         // parts from the adopted one early
        _ = same(early, "without events 30 and 1100")
        XCTAssertLessThan(runs.eventsRun, runs.eventsFromBoot)
    }
}

