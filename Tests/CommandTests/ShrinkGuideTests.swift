import Foundation
import XCTest

/// From a sweep to a small scenario, guided (issue 24, item 5): shrink says what it will
/// cost before it starts and keeps saying where it is when stderr is a pipe or a log.
final class ShrinkGuideTests: XCTestCase {
    /// Into a pipe: the cost up front (one run timed, the event the failing call is at),
    /// then a progress line per interval (XV6VM_PROGRESS_EVERY=0: every test run), then done.
    func testShrinkSaysWhatALateCallCostsAndShowsProgressIntoAPipe() throws {
        let dir = try scratchDirectory(self)
        let r = try runCommand(CommandLineTests.binary, ["shrink", CommandLineTests.root + "/scenarios/pgtbl-lab/fork-exec-exit.yaml",
                                                         "--set", "fail_kalloc=260", "--until", "panic", "-o", "small.yaml"],
                               in: dir, environment: ["XV6VM_PROGRESS_EVERY": "0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = r.stderr.replacingOccurrences(of: "\n    ", with: " ")
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertTrue(r.stderr.split(separator: "\n").allSatisfy { $0.count <= 80 }, r.stderr)
        let cost = try XCTUnwrap(lines.first)
        XCTAssertTrue(cost.hasPrefix("shrink: one run of \(CommandLineTests.root)/scenarios/pgtbl-lab/fork-exec-exit.yaml takes "), cost)
        XCTAssertTrue(cost.contains(" ms here; fail_kalloc=260 fails at event 5 of 11, and every test run replays the events "
                                    + "before it, so a late call costs more. A reduction takes hundreds to a few thousand test runs, "
                                    + "most of them shorter than this one (about "), cost)
        XCTAssertTrue(cost.hasSuffix(" per 100 runs as long); progress every 0 s."), cost)
        let progress = lines.dropFirst().dropLast()
        XCTAssertFalse(progress.isEmpty)
        for (i, l) in progress.enumerated() {
            XCTAssertTrue(l.hasPrefix("shrink: \(i + 1) test run\(i == 0 ? "" : "s") in "), l)
            XCTAssertTrue(l.contains(", smallest so far "), l)
        }
        let runs = progress.count
        XCTAssertTrue(lines.last!.hasPrefix("shrink: done: \(runs) test runs in "), lines.last!)
        XCTAssertTrue(r.stdout.hasPrefix("wrote small.yaml: "), r.stdout)
        XCTAssertTrue(r.stdout.contains("(\(runs) test runs); it still shows panic:"), r.stdout)
        // With the default interval, a short reduction prints only the cost and the end.
        let quiet = try runCommand(CommandLineTests.binary, ["shrink", CommandLineTests.root + "/scenarios/pgtbl-lab/fork-exec-exit.yaml",
                                                             "--set", "fail_kalloc=260", "--until", "panic", "-o", "small2.yaml"], in: dir)
        XCTAssertEqual(quiet.stderr.components(separatedBy: "\nshrink: ").count, 2, quiet.stderr)
        XCTAssertTrue(quiet.stderr.contains("progress every 5 s."), quiet.stderr)
    }

    /// The events table of the scenario language names `fail_kalloc: N`, which shrink writes.
    func testTheScenarioLanguageDocumentsTheFailKallocEvent() throws {
        let doc = try String(contentsOfFile: CommandLineTests.root + "/docs/scenario-language.md", encoding: .utf8)
        XCTAssertTrue(doc.contains("\n| `fail_kalloc: N` (bare `- fail_kalloc`: 1) | failure injection: the N-th `kalloc` from this point returns 0"), doc)
        let dir = try scratchDirectory(self)
        let r = try runCommand(CommandLineTests.binary, ["shrink", CommandLineTests.root + "/scenarios/pgtbl-lab/fork-exec-exit.yaml",
                                                         "--set", "fail_kalloc=260", "--until", "panic", "-o", "small.yaml"], in: dir)
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(try String(contentsOfFile: dir + "/small.yaml", encoding: .utf8).contains("\n  - fail_kalloc: "))
    }
}
