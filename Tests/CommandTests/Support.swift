import Foundation
import XCTest

/// What a finished command printed and how it exited.
struct CommandOutput { var status: Int32; var stdout: String; var stderr: String }

/// The environment a command under test sees: ours without the variables that change
/// xv6vm's behaviour (`CI` keeps `check` from writing into golden/, `NO_COLOR`), so a test
/// gives the same result on a laptop and under CI; `extra` is added last.
func testEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
    var e = ProcessInfo.processInfo.environment
    e["CI"] = nil
    e["NO_COLOR"] = nil
    return e.merging(extra) { $1 }
}

/// A process that will run `executable` in `dir` with `arguments`, in
/// `testEnvironment(environment)`; not started, its standard streams the caller's to set.
func commandProcess(_ executable: URL, _ arguments: [String], in dir: String, environment: [String: String] = [:]) -> Process {
    let p = Process()
    p.executableURL = executable
    p.arguments = arguments
    p.environment = testEnvironment(environment)
    p.currentDirectoryURL = URL(fileURLWithPath: dir)
    return p
}

/// Runs `executable` in `dir` with `arguments` (in `testEnvironment(environment)`), and
/// waits for it, collecting both streams.
func runCommand(_ executable: URL, _ arguments: [String], in dir: String, environment: [String: String] = [:]) throws -> CommandOutput {
    let p = commandProcess(executable, arguments, in: dir, environment: environment)
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let wait = try p.startWaitable()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    wait()
    return CommandOutput(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

/// A fresh temporary directory, removed when `test` ends.
func scratchDirectory(_ test: XCTestCase) throws -> String {
    let dir = NSTemporaryDirectory() + "xv6vm-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
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

/// Work run on another thread while a test goes on (a command that only waits, say);
/// `result()` waits for it, `seconds` is how long it took. A thread of its own, not a
/// dispatch queue's: a command started from a dispatch worker inherits its blocked signals,
/// SIGCHLD among them, and a shell's `wait` then never returns.
final class Background<T>: @unchecked Sendable {
    private var value: Result<T, Error>?
    private let done = DispatchSemaphore(value: 0)
    private(set) var seconds = 0.0

    init(_ body: @escaping @Sendable () throws -> T) {
        Thread { [self] in
            let start = Date()
            value = Result { try body() }
            seconds = Date().timeIntervalSince(start)
            done.signal()
        }.start()
    }

    func result() throws -> T {
        done.wait()
        done.signal()
        return try value!.get()
    }
}
