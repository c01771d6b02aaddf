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
    func testEveryScenarioTracesTheSameWithTheFastPathsOff() throws {
        let scenarios = GoldenStore(root: packageRoot).scenarios([])
        XCTAssertGreaterThanOrEqual(scenarios.count, 20)
        for path in scenarios {
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
