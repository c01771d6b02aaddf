import Foundation

/// What a finished command printed and how it exited.
struct CommandOutput { var status: Int32; var stdout: String; var stderr: String }

/// Runs `executable` in `dir` with `arguments` (and `environment` added to ours), and
/// waits for it, collecting both streams.
func runCommand(_ executable: URL, _ arguments: [String], in dir: String, environment: [String: String] = [:]) throws -> CommandOutput {
    let p = Process()
    p.executableURL = executable
    p.arguments = arguments
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    p.currentDirectoryURL = URL(fileURLWithPath: dir)
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return CommandOutput(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}
