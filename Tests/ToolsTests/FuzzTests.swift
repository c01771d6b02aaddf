import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport

/// Mutates the repository's scenarios thousands of times: the compiler must never crash or
/// trap, and every error it reports must carry a position. Deterministic: a fixed seed.
final class FuzzTests: XCTestCase {
    /// xorshift64*: a small deterministic generator, so every run mutates the same way.
    struct Generator: RandomSource {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return state &* 2685821657736338717
        }
    }

    static let junkKeys = ["proc", "n", "va", "repeat", "events", "kernel", "variant", "expect", "fork", "wait", "exit", "&a", "*a", "<<", "? ", "!!binary"]
    static let junkValues = ["-1", "0x", "99999999999999999999999", "1e9", "~", "null", "[", "{", "]]", "\"", "'", "|", ">", "&x", "*x", "0b2", "-0x8000000000000000", "\u{0}", "🦜"]

    func mutate<G: RandomSource>(_ original: [UInt8], _ g: inout G) -> [UInt8] {
        var b = original
        let lines = { (b: [UInt8]) in b.split(separator: 0x0a, omittingEmptySubsequences: false).map(Array.init) }
        switch g.below(11) {
        case 0 where !b.isEmpty:                                    // flip a byte
            let i = g.below(b.count); b[i] ^= UInt8(truncatingIfNeeded: 1 << g.below(8))
        case 1: b = Array(b.prefix(g.below(b.count + 1)))           // truncate
        case 2:                                                      // delete a line
            var ls = lines(b); if !ls.isEmpty { ls.remove(at: g.below(ls.count)) }
            b = Array(ls.joined(separator: [0x0a]))
        case 3:                                                      // duplicate a line
            var ls = lines(b); if !ls.isEmpty { let i = g.below(ls.count); ls.insert(ls[i], at: i) }
            b = Array(ls.joined(separator: [0x0a]))
        case 4:                                                      // insert a random key and value
            var ls = lines(b)
            let k = Self.junkKeys[g.below(Self.junkKeys.count)], v = Self.junkValues[g.below(Self.junkValues.count)]
            ls.insert(Array((String(repeating: " ", count: 2 * g.below(4)) + "\(k): \(v)").utf8), at: g.below(ls.count + 1))
            b = Array(ls.joined(separator: [0x0a]))
        case 5:                                                      // replace a number with something else
            if let i = b.firstIndex(where: { $0 >= 0x30 && $0 <= 0x39 }) {
                b.replaceSubrange(i...i, with: Array(Self.junkValues[g.below(Self.junkValues.count)].utf8))
            }
        case 6: b = Array(repeating: UInt8(ascii: "["), count: 100 + g.below(5000)) + b      // deep nesting
        case 7: b.insert(contentsOf: [0xff, 0xfe, 0xc3], at: g.below(b.count + 1))           // not UTF-8
        case 8: b = []                                                                        // empty file
        case 9: b += Array("\n  - repeat: \(g.next())\n    events: [userinit]\n".utf8)         // absurd repeat
        default:                                                     // swap two lines
            var ls = lines(b)
            if ls.count > 1 { ls.swapAt(g.below(ls.count), g.below(ls.count)) }
            b = Array(ls.joined(separator: [0x0a]))
        }
        return b
    }

    func testTenThousandMutatedScenariosNeverCrashAndEveryErrorHasAPosition() throws {
        let store = GoldenStore(root: packageRoot)
        // Long repeats are cut to 8 rounds, so that 10,000 compilations take seconds, not minutes.
        let longRepeat = try Regex(#"repeat: [0-9]{2,}"#)
        let originals = store.scenarios([]).map { path in
            Array(String(decoding: FileManager.default.contents(atPath: path)!, as: UTF8.self)
                .replacing(longRepeat, with: "repeat: 8").utf8)
        }
        XCTAssertGreaterThanOrEqual(originals.count, 10)
        var g = Generator(state: 0x9E37_79B9_7F4A_7C15)
        var compiled = 0, refused = 0
        for round in 0..<10_000 {
            var bytes = originals[round % originals.count]
            for _ in 0...g.below(3) { bytes = mutate(bytes, &g) }
            do {
                let s = try ScenarioCompiler.compile(bytes: bytes, file: "fuzz.yaml")
                compiled += 1
                XCTAssertLessThanOrEqual(s.events.count, ScenarioCompiler.eventLimit + 1)
            } catch {
                refused += 1
                XCTAssertFalse(error.diagnostics.isEmpty)
                for d in error.diagnostics {
                    XCTAssertEqual(d.location.file, "fuzz.yaml")
                    XCTAssertGreaterThanOrEqual(d.location.line, 1, d.message)
                    XCTAssertGreaterThanOrEqual(d.location.column, 1, d.message)
                    XCTAssertFalse(d.message.isEmpty)
                }
            }
        }
        XCTAssertEqual(compiled + refused, 10_000)
        XCTAssertGreaterThan(refused, 1000)
        XCTAssertGreaterThan(compiled, 100)
    }

    func testInputsBuiltToExhaustAreRefusedWithAPosition() {
        func first(_ yaml: String) -> Diagnostic? { compileErrors(yaml, file: "x.yaml").first }
        var laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...12 { laughs += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
        XCTAssertEqual(first(laughs + "events: [userinit]\n")?.message,
                       "the scenario expands to more than 1000000 YAML nodes (aliases that refer to aliases multiply); write it with `repeat` instead")
        let deep = "events:\n  - fork: " + String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000) + "\n"
        XCTAssertEqual(first(deep).map { "\($0.location.line):\($0.location.column) \($0.message)" },
                       "2:210 YAML nested more than 200 levels deep; flatten the scenario")
        XCTAssertEqual(first("events:\n  - userinit\n  - repeat: 1000000000\n    events: [{fork: init}, {wait: init}]\n").map { "\($0.location.line):\($0.location.column) \($0.message)" },
                       "3:13 repeat expands to 2000000000 events; the limit is 2000000 per scenario")
        XCTAssertEqual(first("events:\n  - userinit\n  - sbrk: {proc: init, n: 123456789012345678901234567890}\n")?.message,
                       "123456789012345678901234567890 does not fit in 64 bits; expected a byte count that fits sbrk's int argument: -2147483648...2147483647")
        let longLine = "events:\n  - userinit\n  - exec: {proc: init, pth: \"" + String(repeating: "x", count: 3_000_000) + "\"}\n"
        let d = compileErrors(longLine, file: "x.yaml")
        XCTAssertEqual(d.first?.location.line, 3)
        XCTAssertLessThan(d.first?.rendered.count ?? .max, 1000)       // the source line is shown cut short
    }

    /// Found by the fuzzer below: a sequence calling itself three times was expanded to the
    /// 16-deep limit (3^16 expansions), and a repeat of 2^32 rounds of nothing ran them all.
    func testRecursiveSequencesAndRepeatsOfNothingFinishAtOnce() {
        let start = Date()
        let recursive = compileErrors("define:\n  a:\n    events:\n      - b: {}\n      - b: {}\n      - b: {}\n  b:\n    events:\n      - a: {}\n      - a: {}\n      - a: {}\nevents:\n  - userinit\n  - a: {}\n")
        XCTAssertEqual(recursive.count, 9)
        XCTAssertEqual(recursive.first.map { "\($0.location.line):\($0.location.column) \($0.message)" },
                       "9:9 `a` calls itself (a > b > a); a sequence cannot call itself, directly or through others")
        let nothing = "events:\n  - userinit\n  - repeat: 4294967296\n    events:\n      - repeat: 0\n        events: [{frok: init}]\n"
        XCTAssertNoThrow(try ScenarioCompiler.compile(bytes: Array(nothing.utf8), file: "n.yaml"))
        let bad = "events:\n  - userinit\n  - repeat: 18446744073709551615\n    events:\n      - repeat: 4294967296\n        events: []\n"
        XCTAssertNoThrow(try ScenarioCompiler.compile(bytes: Array(bad.utf8), file: "b.yaml"))   // 2^64 - 1 rounds: Int(count) trapped
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
    }

    // MARK: defines, includes and repeats

    /// Writes scenarios built from the language's means of reuse: `define`d sequences with
    /// parameters that call one another (and themselves), files in a directory that include
    /// one another (cycles, a directory, a missing file, `..`, an absolute path), repeats
    /// nested in both, and their products. Counts are small or absurd, never in between, so
    /// what compiles expands to little and what is too big must be refused before expanding.
    struct ReuseGenerator {
        var g: SplitMix64
        let dir: String
        /// Every `events` item, as lines indented by `indent`.
        mutating func items(_ n: Int, indent: String, depth: Int, inDefine: Bool, from file: String) -> [String] {
            (0..<n).flatMap { _ in item(indent: indent, depth: depth, inDefine: inDefine, from: file) }
        }

        mutating func count() -> String {
            if g.oneIn(4) {
                return g.pick(["2000001", "4294967296", "9223372036854775807", "18446744073709551615", "18446744073709551616",
                               "99999999999999999999999", "-1", "0x1e8481", "2_000_001", "abc", "\"\"", "~", "[3]", "{a: 1}", "2.5", "0b11"])
            }
            return String(g.below(4))
        }

        mutating func includeTarget(from file: String) -> String {
            if file.hasPrefix("sub/") {
                return g.pick(["../a.inc", "../b.inc", "c.inc", "../main.yaml", "nope.inc", "..", "./c.inc", "../sub/c.inc", dir + "/b.inc", "\"\""])
            }
            return g.pick(["a.inc", "b.inc", "sub/c.inc", "main.yaml", "nope.inc", "sub", "./a.inc", "sub/../b.inc", dir + "/a.inc", "[a.inc]"])
        }

        mutating func item(indent: String, depth: Int, inDefine: Bool, from file: String) -> [String] {
            let proc = inDefine && g.oneIn(2) ? "$p" : "init"
            switch g.below(depth >= 4 ? 6 : 10) {
            case 0: return [indent + "- vmprint: \(proc)"]
            case 1: return [indent + "- sbrk: {proc: \(proc), n: \(g.pick(["4096", "-4096", "0", "0x7fffffff", "4294967296"]))}"]
            case 2: return [indent + "- fork: {parent: \(proc), child: c}", indent + "- exit: c", indent + "- wait: \(proc)"]
            case 3: return [indent + g.pick(["- baseline", "- expect: {free_pages: baseline}", "- wait: init", "- frok: init", "- userinit", "- exit: c", "- fork: {parent: init, child: $q}"])]
            case 4, 5: return [indent + "- include: \(includeTarget(from: file))"]
            case 6, 7:
                let d = g.below(5)                      // d4 is never defined
                let arg = g.pick(["{p: init}", "{p: init}", "{p: init}", "{}", "{p: init, q: 1}", "[init]", "init", "{p: [x]}"])
                return [indent + "- d\(d): \(arg)"]
            default:
                var lines = [indent + "- repeat: \(count())"]
                if g.oneIn(12) { return lines }
                if g.oneIn(12) { return lines + [indent + "  events: init"] }
                lines.append(indent + "  events:")
                return lines + items(1 + g.below(3), indent: indent + "    ", depth: depth + 1, inDefine: inDefine, from: file)
            }
        }

        /// `define:` with up to four sequences d0...d3 (any may call any, itself included).
        mutating func defines(prefix: String, from file: String) -> [String] {
            guard !g.oneIn(3) else { return [] }
            var lines = ["define:"]
            for k in 0..<(1 + g.below(4)) {
                lines.append("  \(prefix)\(k):")
                if !g.oneIn(10) { lines.append("    params: [p]") }
                lines.append("    events:")
                lines += items(1 + g.below(4), indent: "      ", depth: 1, inDefine: true, from: file)
            }
            return lines
        }

        mutating func scenario() -> [String] {
            var lines = g.oneIn(5) ? ["kernel: {variant: \(g.pick(["pgtbl-lab", "xv6-2020", "nope"]))}"] : []
            lines += defines(prefix: "d", from: "main.yaml")
            lines += ["events:", "  - userinit: init"]
            return lines + items(1 + g.below(5), indent: "  ", depth: 0, inDefine: false, from: "main.yaml")
        }

        mutating func included(_ file: String) -> [String] {
            // Included files define d0... too, sometimes: "defined twice", or sequences the
            // scenario calls before it includes them.
            var lines = defines(prefix: g.oneIn(3) ? "d" : "e", from: file)
            if g.oneIn(15) { lines.append("kernel: {variant: pgtbl-lab}") }
            lines.append("events:")
            return lines + items(1 + g.below(3), indent: "  ", depth: 1, inDefine: false, from: file)
        }
    }

    /// Thousands of scenarios mutated in their defines, includes and repeats (and then, one in
    /// three, in their bytes): each compiles, or is refused with every error at a file, line
    /// and column of a file it read, in well under a second.
    func testMutatedDefinesIncludesAndRepeatsCompileOrAreRefusedWithAPosition() throws {
        let dir = try temporaryDirectory(self)
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        let files = ["main.yaml", "a.inc", "b.inc", "sub/c.inc"]
        var gen = ReuseGenerator(g: SplitMix64(state: 0x5EED_0F_13), dir: dir)
        var outcomes: [String: Int] = [:]
        var slowest = (seconds: 0.0, round: -1)
        let mutants = 1500
        for round in 0..<mutants {
            var texts = [Array((gen.scenario().joined(separator: "\n") + "\n").utf8)]
            for f in files.dropFirst() { texts.append(Array((gen.included(f).joined(separator: "\n") + "\n").utf8)) }
            if gen.g.oneIn(3) {
                let k = gen.g.below(texts.count)
                texts[k] = mutate(texts[k], &gen.g)
            }
            for (f, t) in zip(files, texts) {
                // Plain writes: FileManager's are atomic, and their renames made the test ten times slower.
                let fd = open(dir + "/" + f, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                XCTAssertEqual(t.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }, t.count)
                close(fd)
            }
            let start = DispatchTime.now().uptimeNanoseconds
            let outcome: String
            do {
                let s = try ScenarioCompiler.compile(path: dir + "/main.yaml")
                XCTAssertLessThanOrEqual(s.events.count, ScenarioCompiler.eventLimit + 1, "round \(round)")
                outcome = "compiled"
            } catch {
                let ds = error.diagnostics
                XCTAssertFalse(ds.isEmpty, "round \(round)")
                XCTAssertLessThanOrEqual(ds.count, ScenarioError.shownLimit, "round \(round)")
                for d in ds {
                    XCTAssertTrue(d.location.file.hasPrefix(dir + "/"), "round \(round): \(d.location.file): \(d.message)")
                    XCTAssertGreaterThanOrEqual(d.location.line, 1, "round \(round): \(d.message)")
                    XCTAssertGreaterThanOrEqual(d.location.column, 1, "round \(round): \(d.message)")
                    XCTAssertFalse(d.message.isEmpty, "round \(round)")
                }
                let m = ds.map(\.message)
                outcome = m.contains { $0.contains("the limit is 2000000") } ? "over the event limit"
                    : m.contains { $0.hasPrefix("include cycle") } ? "include cycle"
                    : m.contains { $0.contains("calls itself") || $0.contains("more than 16 deep") } ? "recursion"
                    : m.contains { $0.hasPrefix("cannot include") } ? "cannot include"
                    : m.contains { $0.hasPrefix("YAML") || $0.contains("UTF-8") } ? "YAML"
                    : "other error"
            }
            outcomes[outcome, default: 0] += 1
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if seconds > slowest.seconds { slowest = (seconds, round) }
        }
        XCTAssertEqual(outcomes.values.reduce(0, +), mutants)
        XCTAssertLessThan(slowest.seconds, 1.0, "round \(slowest.round) took \(slowest.seconds) s")
        // Every kind of outcome is reached, so the generator keeps testing what it was made for.
        for (kind, least) in ["compiled": 100, "over the event limit": 80, "include cycle": 90, "recursion": 10,
                              "cannot include": 90, "YAML": 25, "other error": 350] {
            XCTAssertGreaterThanOrEqual(outcomes[kind] ?? 0, least, "\(kind): \(outcomes)")
        }
    }
}
