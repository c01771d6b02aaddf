import Foundation
import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import CosimLog
import LogReplay
import HTMLReport

/// Mutates a real kernel's log (docs/kernel-logs/stock-boot.log) a thousand times: reading,
/// importing and replaying it must end in a `LogError` at a line, or in a replay, never in a
/// trap or a hang. Deterministic: a fixed seed.
final class LogFuzzTests: XCTestCase {
    static let numbers = ["0x0000000000000000", "0xffffffffffffffff", "0xfffffffffffff001", "0x8000000000000000", "0x0000000087fff000",
                          "0x0000003ffffff000", "0x", "0x00000000000000000", "0xg000000000000000", "-1", "0", "1", "64", "2147483647",
                          "-2147483648", "2147483648", "999999999999999999", "9999999999999999999", "-", "", "1e3", "\u{0}", "🦜"]

    /// The lines of `bytes` (as `split(separator: 0x0a, omittingEmptySubsequences: false)`
    /// gives them), found with memchr: this code is not optimised, and the generic split
    /// took a third of the test's time.
    static func lines(_ bytes: [UInt8]) -> [[UInt8]] {
        bytes.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return [[]] }
            var out: [[UInt8]] = []
            var start = 0
            while true {
                let hit = start < p.count ? memchr(base + start, 0x0a, p.count - start) : nil
                let end = hit.map { $0.assumingMemoryBound(to: UInt8.self) - UnsafeMutablePointer(mutating: base) } ?? p.count
                out.append(Array(UnsafeBufferPointer(rebasing: p[start..<end])))
                if hit == nil { return out }
                start = end + 1
            }
        }
    }

    /// `lines` joined with newlines.
    static func joined(_ lines: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(lines.reduce(lines.count) { $0 + $1.count })
        for (n, l) in lines.enumerated() {
            if n > 0 { out.append(0x0a) }
            out.append(contentsOf: l)
        }
        return out
    }

    /// One mutation of `original`. The kinds that change bytes work on `original` itself
    /// (its lines joined again); only the others split it into lines.
    func mutate(_ original: [UInt8], _ g: inout SplitMix64) -> [UInt8] {
        let kind = g.below(10)
        switch kind {
        case 4:                                                                               // flip a byte
            var b = original
            if !b.isEmpty { let i = g.below(b.count); b[i] ^= UInt8(truncatingIfNeeded: 1 << g.below(8)) }
            return b
        case 5: return Array(original.prefix(g.below(original.count + 1)))                   // truncate
        case 8:                                                                               // odd bytes
            var b = original
            b.insert(contentsOf: g.pick([[0], [0x0d], [0xff, 0xfe], Array("@T ".utf8), Array("\npanic: x\n".utf8)]), at: g.below(b.count + 1))
            return b
        default: break
        }
        var ls = Self.lines(original)
        let probeLines = kind < 6 ? [] : ls.indices.filter { ls[$0].count >= 3 && ls[$0][0] == 0x40 && ls[$0][1] == 0x54 && ls[$0][2] == 0x20 }
        switch kind {
        case 0: if !ls.isEmpty { ls.remove(at: g.below(ls.count)) }                         // delete a line
        case 1: if !ls.isEmpty { let i = g.below(ls.count); ls.insert(ls[i], at: i) }       // duplicate one
        case 2: if ls.count > 1 { ls.swapAt(g.below(ls.count), g.below(ls.count)) }         // swap two
        case 3:                                                                               // move one far
            if ls.count > 1 { let l = ls.remove(at: g.below(ls.count)); ls.insert(l, at: g.below(ls.count + 1)) }
        case 6, 7:                                                                            // change a number
            guard let i = probeLines.isEmpty ? nil : g.pick(probeLines) else { break }
            var words = ls[i].split(separator: 0x20, omittingEmptySubsequences: false).map(Array.init)
            let w = g.below(words.count)
            if let eq = words[w].firstIndex(of: 0x3d) {
                words[w] = Array(words[w][...eq]) + Array(g.pick(Self.numbers).utf8)
            } else {
                words[w] = Array(g.pick(ProbeKind.allCases.map(\.rawValue) + ["", "@T", "panic:"]).utf8)
            }
            ls[i] = Array(words.joined(separator: [0x20]))
        default:                                                                              // a line of another kind
            guard !probeLines.isEmpty else { break }
            let i = g.pick(probeLines), j = g.pick(probeLines)
            ls.insert(ls[j], at: i)
        }
        return Self.joined(ls)
    }

    func testMutatedKernelLogsEndInALineNumberedErrorOrAReplay() throws {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: packageRoot + "/docs/kernel-logs/stock-boot.log")))
        var g = SplitMix64(state: 0x106_F022)
        var outcomes: [String: Int] = [:]
        var slowest = (seconds: 0.0, round: -1)
        let mutants = 1200
        for round in 0..<mutants {
            var bytes = original
            for _ in 0...g.below(3) { bytes = mutate(bytes, &g) }
            let start = DispatchTime.now().uptimeNanoseconds
            let outcome: String
            do {
                let log = try KernelLog.parse(bytes, file: "fuzz.log")
                do {
                    let imported = try LogImporter.run(log)
                    let report = Replay.run(imported)
                    outcome = report.agrees ? "agrees" : "departs"
                } catch {
                    outcome = "not imported"
                    XCTAssertEqual(error.file, "fuzz.log", "round \(round)")
                    XCTAssertGreaterThanOrEqual(error.line, 1, "round \(round): \(error)")
                    XCTAssertFalse(error.message.isEmpty)
                }
            } catch {
                outcome = "not read"
                XCTAssertEqual(error.file, "fuzz.log", "round \(round)")
                XCTAssertGreaterThanOrEqual(error.line, 1, "round \(round): \(error)")
                XCTAssertFalse(error.message.isEmpty)
            }
            outcomes[outcome, default: 0] += 1
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if seconds > slowest.seconds { slowest = (seconds, round) }
        }
        XCTAssertEqual(outcomes.values.reduce(0, +), mutants)
        XCTAssertLessThan(slowest.seconds, 1.0, "round \(slowest.round) took \(slowest.seconds) s")
        for (kind, least) in ["agrees": 5, "departs": 200, "not imported": 100, "not read": 400] {
            XCTAssertGreaterThanOrEqual(outcomes[kind] ?? 0, least, "\(kind): \(outcomes)")
        }
    }

    /// The first line of each kind of probe, with each of its fields set in turn to each
    /// extreme value: every one is read, imported and replayed, or refused at its line.
    /// (A growproc at sz=0xfffffffffffff001 with n=1 trapped on an overflow in import.)
    func testEveryFieldOfEveryKindAtItsExtremes() throws {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: packageRoot + "/docs/kernel-logs/stock-boot.log")))
        var lines = original.split(separator: 0x0a, omittingEmptySubsequences: false).map(Array.init)
        let extremes = ["0x0000000000000000", "0xffffffffffffffff", "0xfffffffffffff001", "0x8000000000000000", "0x0000004000000000",
                        "0", "1", "-1", "2147483647", "-2147483648", "999999999999999999", "-999999999999999999"]
        var seen: Set<String> = []
        var cases = 0, refused = 0
        for i in lines.indices where lines[i].starts(with: Array("@T ".utf8)) {
            let words = lines[i].split(separator: 0x20).map(Array.init)
            guard words.count > 1, seen.insert(String(decoding: words[1], as: UTF8.self)).inserted else { continue }
            let kept = lines[i]
            for w in 2..<words.count {
                guard let eq = words[w].firstIndex(of: 0x3d) else { continue }
                for value in extremes {
                    var changed = words
                    changed[w] = Array(words[w][...eq]) + Array(value.utf8)
                    lines[i] = Array(changed.joined(separator: [0x20]))
                    cases += 1
                    do {
                        let log = try KernelLog.parse(Array(lines.joined(separator: [0x0a])), file: "x.log")
                        _ = Replay.run(try LogImporter.run(log))
                    } catch {
                        refused += 1
                        XCTAssertGreaterThanOrEqual(error.line, 1, "\(String(decoding: lines[i], as: UTF8.self)): \(error)")
                    }
                }
            }
            lines[i] = kept
        }
        // Two fields at once: sz so near 2^64 that rounding it up wraps, and n > 0.
        for n in ["1", "65536", "2147483647"] {
            let at = lines.firstIndex { $0.starts(with: Array("@T growproc ".utf8)) }!
            lines[at] = Array("@T growproc pid=3 n=\(n) sz=0xfffffffffffff001".utf8)
            let imported = try LogImporter.run(try KernelLog.parse(Array(lines.joined(separator: [0x0a])), file: "x.log"))
            _ = Replay.run(imported)          // finishes: agreeing or not, it is no trap
            lines = original.split(separator: 0x0a, omittingEmptySubsequences: false).map(Array.init)
        }
        XCTAssertEqual(seen.count, 14)
        XCTAssertGreaterThan(cases, 300)
        XCTAssertGreaterThan(refused, 100)
        XCTAssertGreaterThan(cases - refused, 50)
    }
}
