import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import Cosim
import Report

/// The model's speed tricks (linear pages, runs of PTEs written at once, one walk per 2 MiB,
/// visits that skip what cannot be valid) change no trace: every scenario under scenarios/
/// runs with them on and off, and what its golden keeps (the text trace, or for the large
/// ones the digest: the line count and SHA-256 of the trace) is byte for byte the same.
final class FastPathsTests: XCTestCase {
    /// Scenarios whose events another runs first, whole (cowtest-file runs cowtest's simple
    /// and three, lazytests-oom the two lazytests before it): tests that run every scenario
    /// leave them out, since the longer one covers them.
    static let prefixes = ["cow-lab/cowtest-simple.yaml", "cow-lab/cowtest-three.yaml",
                           "lazy-lab/lazytests-alloc.yaml", "lazy-lab/lazytests-unmap.yaml"]

    func testEveryScenarioTracesTheSameWithTheFastPathsOff() throws {
        let scenarios = GoldenStore(root: packageRoot).scenarios([])
        XCTAssertGreaterThanOrEqual(scenarios.count, 20)
        for path in scenarios where !Self.prefixes.contains(where: { path.hasSuffix("/" + $0) }) {
            var s = try ScenarioCompiler.compile(path: path)
            XCTAssertTrue(s.config.fastPaths, path)
            let fast = Golden.kept(s)
            s.config.fastPaths = false
            let plain = Golden.kept(s)
            XCTAssertFalse(fast.isEmpty, path)
            XCTAssertTrue(fast == plain, "\(path): the trace differs with the fast paths off")
        }
    }
}
