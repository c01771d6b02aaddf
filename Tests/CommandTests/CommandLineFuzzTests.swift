import Foundation
import XCTest

/// Hundreds of mutated command lines for the built xv6vm: each must exit with a documented
/// code (docs/limits-and-exit-codes.md) within seconds, and never die of a signal (a Swift
/// trap is SIGILL or SIGTRAP, 132 or 133; an abort 134; a segfault 139). Deterministic: a
/// fixed seed.
final class CommandLineFuzzTests: XCTestCase {
    /// SplitMix64: the same mutants on every run.
    struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    }

    /// Command lines that work, in a scratch directory (cheap ones: no full-scale scenario).
    static let bases: [[String]] = [
        ["run", "boot.yaml"], ["run", "boot.yaml", "--format", "jsonl", "--check", "--leaks"],
        ["run", "boot.yaml", "--set", "phystop=0x88000000"], ["compile", "boot.yaml", "--format", "json"],
        ["check"], ["check", "scenarios/a/boot.yaml", "--format", "json"], ["check", "--shard", "1/2"],
        ["bless", "scenarios/a/sbrk.yaml"], ["bless", "--prune"], ["variants"], ["leaks", "boot.yaml", "--at", "2"],
        ["plot", "boot.yaml", "-o", "out.svg"], ["sweep", "boot.yaml", "--sample", "3"],
        ["shrink", "boot.yaml", "--until", "panic", "-o", "small.yaml"], ["import", "stock-boot.log", "-o", "imp.yaml"],
        ["replay", "stock-boot.log", "--format", "json"], ["bench", "boot.yaml", "--runs", "1"], [],
        ["sweep", "--merge", "part.json", "--format", "json"], ["sweep", "boot.yaml", "--sample", "3", "-o", "out.json", "--resume", "part.json"],
        // ... and some that exit 1 or 74.
        ["run", "boot.yaml", "--set", "phystop=0x80060000"], ["check", "boot.yaml"], ["plot", "boot.yaml", "-o", "/dev/full"],
        ["plot", "boot.yaml", "-o", "sub"],
    ]

    static let junk: [String] = [
        "run", "compile", "check", "bless", "leaks", "plot", "sweep", "shrink", "import", "replay", "variants", "bench", "help", "RUN", "ru",
        "--at", "--set", "--format", "--shard", "-o", "--output", "--runs", "--sample", "--until", "--check", "--leaks", "--all", "--prune",
        "--replay", "--merge", "--resume", "part.json", "--help", "-h", "--version", "--", "-", "", " ", "-1", "0", "1", "3", "2/2", "0/0", "-1/2", "1/0", "3/2",
        "99999999999999999999", "9223372036854775808", "0x10", "1e3", "text", "json", "jsonl", "none", "panic", "panic:kalloc", "leak",
        "leak:", "golden", "golden:phystop=1", "expect", "invariant", "phystop=0x80060000", "harts=9", "harts=0", "variant=pgtbl-lab",
        "variant=", "bogus=1", "=", "phystop=1\n2", "free_kernel_stack=", "phystop=\u{1}\u{1b}[2J", "x\u{7f}", "🦜", "/dev/null",
        "/dev/zero", "/dev/full", "/dev/stdin", "/proc/nope/x.svg", ".", "..", "scenarios", "scenarios/../boot.yaml", "nope.yaml",
        "boot.yaml", "stock-boot.log", "out.svg", "sub/", String(repeating: "a", count: 5000), "--set=phystop=0x81000000",
        "-ox.svg", "--format=json", "--at=-5", "--shard=-1/2",
    ]

    func mutate(_ base: [String], _ g: inout SplitMix64) -> [String] {
        var a = base
        for _ in 0...g.below(2) {
            switch g.below(6) {
            case 0: if !a.isEmpty { a.remove(at: g.below(a.count)) }
            case 1: if !a.isEmpty { let i = g.below(a.count); a.insert(a[i], at: i) }
            case 2: if a.count > 1 { a.swapAt(g.below(a.count), g.below(a.count)) }
            case 3: if !a.isEmpty { a[g.below(a.count)] = g.pick(Self.junk) }
            default: a.insert(g.pick(Self.junk), at: g.below(a.count + 1))
            }
        }
        return a
    }

    struct Outcome { var args: [String]; var status: Int32; var signalled: Bool; var seconds: Double; var stderr: String; var hung: Bool }

    /// Runs the binary in `dir` with stdin from /dev/null and stdout thrown away; kills it
    /// after `limit` seconds.
    static func run(_ args: [String], in dir: String, limit: Double, stderrFile: String) -> Outcome {
        let p = commandProcess(CommandLineTests.binary, args, in: dir)
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        XCTAssertTrue(FileManager.default.createFile(atPath: stderrFile, contents: nil))
        let err = FileHandle(forWritingAtPath: stderrFile)!
        p.standardError = err
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        let start = Date()
        do { try p.run() } catch {
            return Outcome(args: args, status: -1, signalled: false, seconds: 0, stderr: "could not start: \(error)", hung: false)
        }
        var hung = false
        if done.wait(timeout: .now() + limit) == .timedOut {
            hung = true
            p.terminate()
            done.wait()
        }
        try? err.close()
        let text = String(decoding: FileManager.default.contents(atPath: stderrFile) ?? Data(), as: UTF8.self)
        return Outcome(args: args, status: p.terminationStatus, signalled: p.terminationReason == .uncaughtSignal,
                       seconds: Date().timeIntervalSince(start), stderr: String(text.prefix(400)), hung: hung)
    }

    func testMutatedCommandLinesExitWithADocumentedCode() throws {
        let dir = NSTemporaryDirectory() + "xv6vm-clifuzz-" + UUID().uuidString
        let work = dir + "/work", errs = dir + "/stderr"
        try FileManager.default.createDirectory(atPath: work + "/scenarios/a", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: errs, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let root = CommandLineTests.root
        for name in ["boot", "sbrk"] {
            try FileManager.default.copyItem(atPath: root + "/scenarios/xv6-2020/\(name).yaml", toPath: work + "/scenarios/a/\(name).yaml")
        }
        try FileManager.default.copyItem(atPath: root + "/scenarios/xv6-2020/boot.yaml", toPath: work + "/boot.yaml")
        try FileManager.default.copyItem(atPath: root + "/docs/kernel-logs/stock-boot.log", toPath: work + "/stock-boot.log")
        try FileManager.default.createDirectory(atPath: work + "/sub", withIntermediateDirectories: true)
        let part = Self.run(["sweep", "boot.yaml", "--sample", "3", "--format", "json", "-o", "part.json"], in: work, limit: 10, stderrFile: errs + "/part")
        XCTAssertEqual(part.status, 1, part.stderr)

        var g = SplitMix64(state: 0xC0_FFEE)
        // Each base as it is, then mutants of them: 300 command lines.
        let vectors = Self.bases + (Self.bases.count..<300).map { i in mutate(Self.bases[i % Self.bases.count], &g) }
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var items: [Outcome?]
            init(_ n: Int) { items = Array(repeating: nil, count: n) }
            func set(_ i: Int, _ o: Outcome) { lock.lock(); items[i] = o; lock.unlock() }
        }
        let results = Results(vectors.count)
        DispatchQueue.concurrentPerform(iterations: vectors.count) { i in
            results.set(i, Self.run(vectors[i], in: work, limit: 10, stderrFile: errs + "/\(i)"))
        }
        var codes: [Int32: Int] = [:]
        for case let o? in results.items {
            let what = "xv6vm \(o.args.map { $0.debugDescription }.joined(separator: " ")): exit \(o.status) in \(o.seconds) s\n\(o.stderr)"
            XCTAssertFalse(o.hung, "did not finish in 10 s: " + what)
            XCTAssertFalse(o.signalled, "killed by a signal: " + what)
            XCTAssertTrue([0, 1, 2, 64, 65, 66, 74].contains(o.status), "undocumented exit status: " + what)
            XCTAssertLessThan(o.seconds, 5, what)
            codes[o.status, default: 0] += 1
        }
        XCTAssertEqual(codes.values.reduce(0, +), vectors.count)
        // The mutants reach every documented outcome, so the test keeps testing them.
        for (code, least) in [0: 20, 1: 3, 2: 5, 64: 100, 74: 2] as [Int32: Int] {
            XCTAssertGreaterThanOrEqual(codes[code] ?? 0, least, "exit \(code): \(codes)")
        }
    }
}
