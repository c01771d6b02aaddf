import Foundation
import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport

/// The package's root directory, found from this file's path (tests may run from anywhere).
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

func scenarioPath(_ name: String) -> String { packageRoot + "/scenarios/" + name }

/// The text trace of a scenario file.
func traceText(_ path: String) throws -> String {
    let s = try ScenarioCompiler.compile(path: path)
    let w = TraceWriter(format: .text, sites: .init())
    Runner.run(s, writer: w)
    return String(decoding: w.bytes, as: UTF8.self)
}

/// Compiles scenario text, which must fail; returns the rendered diagnostics.
func compileErrors(_ yaml: String, file: String = "t.yaml") -> [Diagnostic] {
    do {
        _ = try ScenarioCompiler.compile(bytes: Array(yaml.utf8), file: file)
        XCTFail("expected a scenario error")
        return []
    } catch {
        return error.diagnostics
    }
}

/// A temporary directory, removed at the end of the test.
func temporaryDirectory(_ test: XCTestCase) throws -> String {
    let dir = NSTemporaryDirectory() + "xv6vm-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// A deterministic source of numbers for fuzz tests: no clock, no system randomness, so
/// every run makes the same mutants and a failure can be reproduced from its round.
protocol RandomSource {
    mutating func next() -> UInt64
}

extension RandomSource {
    /// A number in 0..<n (0 when n <= 1).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    /// True once in `n` times.
    mutating func oneIn(_ n: Int) -> Bool { below(n) == 0 }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a fixed seed, the same sequence everywhere.
struct SplitMix64: RandomSource {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The lines of a `.xz` log in docs/kernel-logs, console text included.
func kernelLogLines(_ name: String) throws -> [String] {
    let data = try Data(contentsOf: URL(fileURLWithPath: ReplayTests.logs + name))
    var bytes: [UInt8] = []
    _ = try XZDecoder().decode([UInt8](data)[...], last: true) { bytes.append(contentsOf: $0); return true }
    return String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init).dropLast()
}

/// Asserts two traces are the same bytes, compared with memcmp: XCTAssertEqual compares
/// arrays element by element through generic code in these unoptimised tests (seconds for
/// a trace of tens of MB), and would print both whole. A failure says where they part.
func assertSameBytes(_ got: [UInt8]?, _ want: [UInt8], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
    guard let got else { return XCTFail("\(message): no bytes", file: file, line: line) }
    let same = got.count == want.count && got.withUnsafeBytes { g in want.withUnsafeBytes { w in
        g.count == 0 || memcmp(g.baseAddress!, w.baseAddress!, g.count) == 0
    } }
    guard !same else { return }
    let at = zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(got.count, want.count)
    XCTFail("\(message): \(got.count) bytes against \(want.count), first different at byte \(at)", file: file, line: line)
}

extension Process {
    /// Starts the process; the function returned waits for it to exit. `waitUntilExit` polls
    /// a run loop in steps of 50 ms on Linux (about 30 ms lost on each command here, seconds
    /// over the suite's commands); this wait is woken by the termination handler.
    func startWaitable() throws -> () -> Void {
        let done = DispatchSemaphore(value: 0)
        let handler = terminationHandler
        terminationHandler = { p in handler?(p); done.signal() }
        try run()
        return { done.wait() }
    }
}
