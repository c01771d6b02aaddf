import Foundation
import XCTest
@testable import Simulation

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
