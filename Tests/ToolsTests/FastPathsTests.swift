import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport

/// The model's speed tricks (linear pages, runs of PTEs written at once, one walk per 2 MiB,
/// visits that skip what cannot be valid) change no trace: every scenario under scenarios/
/// runs with them off, and what its golden keeps (the text trace, or for the large ones the
/// digest: the line count and SHA-256 of the trace) is byte for byte the same.
///
/// The golden is the trace with the fast paths on (GoldenTests and `xv6vm check` run every
/// scenario that way and compare): it stands in for a second run. Only when the run with
/// them off differs from the golden is the scenario run again with them on, to tell a fast
/// path that changes a trace (this test fails) from a golden out of date (GoldenTests fails).
/// One test per folder of scenarios, so that `swift test --parallel` spreads them.
final class FastPathsTests: XCTestCase {
    /// Scenarios whose events another runs first, whole (cowtest-file runs cowtest's simple
    /// and three, lazytests-oom the two lazytests before it): tests that run every scenario
    /// leave them out, since the longer one covers them.
    static let prefixes = ["cow-lab/cowtest-simple.yaml", "cow-lab/cowtest-three.yaml",
                           "lazy-lab/lazytests-alloc.yaml", "lazy-lab/lazytests-unmap.yaml"]

    static let folders = ["cow-lab", "lazy-lab", "leaks", "pgtbl-lab", "seed-003", "xv6-2020"]

    let store = GoldenStore(root: packageRoot)

    /// Every scenario is in one of the folders the tests below cover.
    func testEveryScenarioIsInAFolderTestedBelow() {
        let scenarios = store.scenarios([])
        XCTAssertGreaterThanOrEqual(scenarios.count, 20)
        for path in scenarios {
            XCTAssertTrue(Self.folders.contains { store.relative(path).hasPrefix($0 + "/") }, path)
        }
    }

    func assertSameTracesWithTheFastPathsOff(_ folder: String, atLeast: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let scenarios = store.scenarios([]).filter { store.relative($0).hasPrefix(folder + "/") }
        XCTAssertGreaterThanOrEqual(scenarios.count, atLeast, folder, file: file, line: line)
        for path in scenarios where !Self.prefixes.contains(where: { path.hasSuffix("/" + $0) }) {
            var s = try ScenarioCompiler.compile(path: path)
            XCTAssertTrue(s.config.fastPaths, path, file: file, line: line)
            s.config.fastPaths = false
            let plain = Golden.kept(s)
            XCTAssertFalse(plain.isEmpty, path, file: file, line: line)
            guard case .bytes(let golden) = Golden.load(store.goldenPath(for: path, kind: s.golden)), golden == plain else {
                s.config.fastPaths = true
                XCTAssertTrue(Golden.kept(s) == plain, "\(path): the trace differs with the fast paths off", file: file, line: line)
                continue
            }
        }
    }

    func testCowLabTracesTheSameWithTheFastPathsOff() throws { try assertSameTracesWithTheFastPathsOff("cow-lab", atLeast: 5) }
    func testLazyLabTracesTheSameWithTheFastPathsOff() throws { try assertSameTracesWithTheFastPathsOff("lazy-lab", atLeast: 5) }
    func testLeaksTraceTheSameWithTheFastPathsOff() throws { try assertSameTracesWithTheFastPathsOff("leaks", atLeast: 4) }
    func testPgtblLabTracesTheSameWithTheFastPathsOff() throws { try assertSameTracesWithTheFastPathsOff("pgtbl-lab", atLeast: 8) }
    func testSeed003TracesTheSameWithTheFastPathsOff() throws { try assertSameTracesWithTheFastPathsOff("seed-003", atLeast: 2) }
    func testXv62020TracesTheSameWithTheFastPathsOff() throws { try assertSameTracesWithTheFastPathsOff("xv6-2020", atLeast: 7) }
}
