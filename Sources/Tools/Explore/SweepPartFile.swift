import Foundation
import Support
import Scenario
import Run

/// A file of `sweep --format json` read back: its header, its runs in call order, and
/// whether its totals line was reached. Every problem is a `file:line:column` error.
public struct SweepPart: Sendable {
    public var header: SweepHeader
    public var outcomes: [Sweep.Outcome]
    /// The totals line was read: the sweep that wrote the file finished.
    public var finished: Bool
    /// With `lenient`, the number of a last line cut off (no newline at its end), ignored.
    public var tornLine: Int?
    /// The bytes of the complete lines read.
    public var keptBytes: Int

    /// Reads `bytes`, the contents of `file`. `lenient` (for `--resume`) accepts a sweep
    /// that did not finish: no totals line, and a last line cut off by the interruption.
    public static func read(_ bytes: [UInt8], file: String, lenient: Bool = false) throws(LogError) -> SweepPart {
        var lines: [ArraySlice<UInt8>] = bytes.split(separator: 0x0a, omittingEmptySubsequences: false)
        var torn: Int?
        if let last = lines.last, last.isEmpty { lines.removeLast() } else if !lines.isEmpty {
            // The last line has no newline: whatever wrote it was stopped in the middle.
            torn = lines.count
            if !lenient {
                throw LogError(file: file, line: lines.count, column: lines[lines.count - 1].count + 1,
                               message: "this line is cut off (no newline ends it): the sweep writing it was interrupted; finish it with the same `xv6vm sweep` command and --resume \(file)")
            }
            lines.removeLast()
        }
        guard let first = lines.first else {
            throw LogError(file: file, line: 1, message: "this file is empty: it should start with a sweep's header line (`xv6vm sweep ... --format json`)")
        }
        let header = try readHeader(first, file: file)
        var part = SweepPart(header: header, outcomes: [], finished: false, tornLine: torn, keptBytes: first.count + 1)
        for (n, line) in lines.enumerated().dropFirst() {
            let number = n + 1
            if part.finished {
                throw LogError(file: file, line: number, message: "a line after the totals line, which ends a sweep")
            }
            let (v, columns) = try object(line, file: file, line: number)
            func fail(_ key: String, _ message: String) -> LogError {
                LogError(file: file, line: number, column: columns[key] ?? 1, message: message)
            }
            if case .s("summary")? = v["kind"] {
                let expected = Sweep.summaryJSON(header.reportScenario, part.outcomes)
                if .o(v) != expected {
                    throw LogError(file: file, line: number, message: "these totals are not those of the \(part.outcomes.count) runs above them: \(expected.encoded)")
                }
                if part.outcomes.count != header.calls.count {
                    throw LogError(file: file, line: number, message: "the totals come after \(part.outcomes.count) runs, but the header lists \(header.calls.count) calls")
                }
                part.finished = true
            } else {
                let o = try outcome(v, fail)
                guard part.outcomes.count < header.calls.count else {
                    throw fail("call", "call \(o.call): a run beyond the \(header.calls.count) calls the header lists")
                }
                let expected = header.calls[part.outcomes.count]
                guard o.call == expected else {
                    throw fail("call", "call \(o.call), where the header's calls have \(expected) next (runs are in call order)")
                }
                part.outcomes.append(o)
            }
            part.keptBytes += line.count + 1
        }
        if !lenient && !part.finished {
            throw LogError(file: file, line: lines.count + 1, message: "the file ends after \(part.outcomes.count) of its \(header.calls.count) runs, with no totals line: the sweep writing it did not finish; finish it with the same `xv6vm sweep` command and --resume \(file)")
        }
        return part
    }

    static func object(_ line: ArraySlice<UInt8>, file: String, line number: Int) throws(LogError) -> ([String: JSONValue], [String: Int]) {
        do {
            return try JSONReader.object(line)
        } catch {
            throw LogError(file: file, line: number, column: error.column, message: error.message)
        }
    }

    /// One run's line: its call, event, site, outcome and detail (the detail must be the
    /// one the outcome gives, so that the run is written back byte for byte).
    static func outcome(_ v: [String: JSONValue], _ fail: (String, String) -> LogError) throws(LogError) -> Sweep.Outcome {
        func int(_ k: String) throws(LogError) -> Int {
            guard case .i(let n)? = v[k], n >= 0, n <= Int64(Int32.max) else { throw fail(k, "`\(k)` should be a whole number (a run's line has call, event, site, outcome and detail)") }
            return Int(n)
        }
        func string(_ k: String) throws(LogError) -> String {
            guard case .s(let s)? = v[k] else { throw fail(k, "`\(k)` should be a string (a run's line has call, event, site, outcome and detail)") }
            return s
        }
        let (call, event, site, word, detail) = (try int("call"), try int("event"), try string("site"), try string("outcome"), try string("detail"))
        if let extra = v.keys.sorted().first(where: { !["call", "event", "site", "outcome", "detail"].contains($0) }) {
            throw fail(extra, "`\(extra)` is not part of a run's line (call, event, site, outcome, detail)")
        }
        guard let verdict = Sweep.Verdict(word: word, detail: detail) else {
            throw fail("detail", "\(JSONValue.quote(detail)) is not the detail of a run whose outcome is \(JSONValue.quote(word))")
        }
        return Sweep.Outcome(call: call, site: site, event: event, verdict: verdict)
    }

    static func readHeader(_ line: ArraySlice<UInt8>, file: String) throws(LogError) -> SweepHeader {
        let (v, columns) = try object(line, file: file, line: 1)
        func fail(_ k: String, _ message: String) -> LogError { LogError(file: file, line: 1, column: columns[k] ?? 1, message: message) }
        guard case .s("sweep")? = v["kind"] else {
            throw fail("kind", "this is not a sweep's JSON: its first line should be the header {\"kind\":\"sweep\",...} that `xv6vm sweep --format json` writes")
        }
        guard case .i(let version)? = v["version"], version == SweepHeader.version else {
            throw fail("version", "written in another version of the sweep format (this xv6vm reads version \(SweepHeader.version))")
        }
        func string(_ k: String) throws(LogError) -> String {
            guard case .s(let s)? = v[k] else { throw fail(k, "the header's `\(k)` should be a string") }
            return s
        }
        func int(_ k: String, in o: [String: JSONValue]? = nil, at: String? = nil) throws(LogError) -> Int {
            guard case .i(let n)? = (o ?? v)[k], n >= 0, n <= Int64(SweepHeader.maxRuns) * 2 else {
                throw fail(at ?? k, "the header's `\(k)` should be a whole number from 0 to \(SweepHeader.maxRuns * 2)")
            }
            return Int(n)
        }
        func bool(_ k: String) throws(LogError) -> Bool {
            guard case .b(let b)? = v[k] else { throw fail(k, "the header's `\(k)` should be true or false") }
            return b
        }
        guard case .o(let settingsObject)? = v["settings"] else { throw fail("settings", "the header's `settings` should be an object") }
        var settings: [String: String] = [:]
        for (k, s) in settingsObject {
            guard case .s(let value) = s else { throw fail("settings", "the setting `\(k)` should be a string") }
            settings[k] = value
        }
        guard case .a(let setList)? = v["set"] else { throw fail("set", "the header's `set` should be a list of KEY=VALUE strings") }
        var overrides: [String] = []
        for s in setList {
            guard case .s(let o) = s else { throw fail("set", "the header's `set` should be a list of KEY=VALUE strings") }
            overrides.append(o)
        }
        var sample: Int?
        if v["sample"] != .null { sample = try int("sample") }
        guard case .o(let sweep)? = v["sweep"] else { throw fail("sweep", "the header's `sweep` should be {\"first\":F,\"last\":L,\"runs\":N}") }
        let (first, last, runs) = (try int("first", in: sweep, at: "sweep"), try int("last", in: sweep, at: "sweep"), try int("runs", in: sweep, at: "sweep"))
        guard first >= 1, last < first || last - first < SweepHeader.maxRuns else {
            throw fail("sweep", "a sweep of calls \(first) to \(last): at most \(SweepHeader.maxRuns) runs, from call 1")
        }
        let shardText = try string("shard")
        let shardParts = shardText.split(separator: "/", omittingEmptySubsequences: false).map { Int($0) }
        guard shardParts.count == 2, let shard = shardParts[0], let shards = shardParts[1], shards >= 1, (1...shards).contains(shard) else {
            throw fail("shard", "the header's `shard` should be \"I/N\", whole numbers with 1 <= I <= N")
        }
        var h = SweepHeader(scenario: try string("scenario"), path: try string("path"), digest: try string("digest"),
                            variant: try string("variant"), settings: settings, overrides: overrides,
                            check: try bool("check"), boot: try bool("boot"), sample: sample,
                            first: first, last: last, shard: shard, shards: shards, calls: [])
        let all = h.allCalls
        guard runs == all.count else { throw fail("sweep", "the sweep's `runs` is \(runs), but its calls and sample make \(all.count)") }
        let declared = try int("runs")
        h.calls = try calls(v["calls"], count: declared, within: all) { m throws(LogError) in throw fail("calls", m) }
        return h
    }

    /// The header's `calls`: runs of [first, last, step] making `count` calls, ascending,
    /// each a call of the sweep (`within`).
    static func calls(_ value: JSONValue?, count: Int, within all: [Int], _ fail: (String) throws(LogError) -> Never) throws(LogError) -> [Int] {
        guard case .a(let runs)? = value else { try fail("the header's `calls` should be a list of [first, last, step]") }
        var calls: [Int] = []
        for r in runs {
            guard case .a(let xs) = r, xs.count == 3, case .i(let a) = xs[0], case .i(let b) = xs[1], case .i(let s) = xs[2],
                  a >= 1, b >= a, s >= 1, b <= Int64(Int32.max) else {
                try fail("each of the header's `calls` should be [first, last, step], whole numbers with first <= last and step >= 1")
            }
            guard (b - a) / s + 1 + Int64(calls.count) <= Int64(count) else {
                try fail("the header's `calls` make more than the \(count) runs it gives")
            }
            calls.append(contentsOf: stride(from: Int(a), through: Int(b), by: Int(s)))
        }
        guard calls.count == count else { try fail("the header's `calls` make \(calls.count) calls, not the \(count) runs it gives") }
        guard zip(calls, calls.dropFirst()).allSatisfy({ $0 < $1 }) else { try fail("the header's `calls` should ascend") }
        var j = 0
        for c in calls {
            while j < all.count && all[j] < c { j += 1 }
            if j == all.count || all[j] != c { try fail("the header's `calls` include \(c), which is not a call of its sweep") }
        }
        return calls
    }
}

extension Sweep.Verdict {
    /// The verdict a run's line gives as its outcome and detail; nil when the detail is
    /// not what that verdict's `detail` would be.
    package init?(word: String, detail: String) {
        let v: Sweep.Verdict
        switch word {
        case "clean": v = .clean
        case "not reached": v = .notReached
        case "panic" where detail.hasPrefix("panic: "): v = .panic(String(detail.dropFirst(7)))
        case "invariant" where detail.hasPrefix("invariant: "): v = .invariant(String(detail.dropFirst(11)))
        case "leak" where detail.hasPrefix("leak: "):
            let rest = detail.dropFirst(6)
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard let pages = Int(digits), let at = rest.range(of: ", first at ") else { return nil }
            v = .leak(pages: pages, site: String(rest[at.upperBound...]))
        default: return nil
        }
        guard v.detail == detail else { return nil }
        self = v
    }
}
