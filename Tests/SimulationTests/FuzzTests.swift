import XCTest
@testable import Simulation

/// Mutates the repository's scenarios thousands of times: the compiler must never crash or
/// trap, and every error it reports must carry a position. Deterministic: a fixed seed.
final class FuzzTests: XCTestCase {
    /// xorshift64*: a small deterministic generator, so every run mutates the same way.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return state &* 2685821657736338717
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
    }

    static let junkKeys = ["proc", "n", "va", "repeat", "events", "kernel", "variant", "expect", "fork", "wait", "exit", "&a", "*a", "<<", "? ", "!!binary"]
    static let junkValues = ["-1", "0x", "99999999999999999999999", "1e9", "~", "null", "[", "{", "]]", "\"", "'", "|", ">", "&x", "*x", "0b2", "-0x8000000000000000", "\u{0}", "🦜"]

    func mutate(_ original: [UInt8], _ g: inout Generator) -> [UInt8] {
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
        let originals = store.scenarios([]).map { path in
            Array(String(decoding: FileManager.default.contents(atPath: path)!, as: UTF8.self)
                .replacingOccurrences(of: "repeat: 800", with: "repeat: 8").utf8)
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
}
