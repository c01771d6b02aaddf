import Foundation
import XV6
import Support
import Scenario
import Run

/// What comparing one scenario with its golden found.
public enum GoldenOutcome: Equatable, Sendable {
    case ok
    case changed(TraceDifference)
    case missingGolden
    /// The golden's path holds something that cannot be read as one: a directory, a FIFO,
    /// a file without permission. The reason, in words.
    case unreadableGolden(String)
    case scenarioError(ScenarioError)

    public var word: String {
        switch self {
        case .ok: return "ok"
        case .changed: return "changed"
        case .missingGolden: return "missing golden"
        case .unreadableGolden: return "unreadable golden"
        case .scenarioError: return "scenario error"
        }
    }
}

/// One scenario's check.
public struct GoldenResult: Equatable, Sendable {
    public var scenario: String
    public var golden: String
    public var outcome: GoldenOutcome
    /// The fresh trace's bytes (empty on a scenario error).
    public var trace: [UInt8]
    /// Bytes of the golden as found (nil when missing).
    public var goldenBytes: [UInt8]?
    /// Where the run's output was left for review (`NAME.trace.new`), if it was.
    public var pending: String? = nil
    /// Whether `check --record` wrote the golden.
    public var recorded = false

    package init(scenario: String, golden: String, outcome: GoldenOutcome, trace: [UInt8], goldenBytes: [UInt8]?,
                 pending: String? = nil, recorded: Bool = false) {
        self.scenario = scenario; self.golden = golden; self.outcome = outcome; self.trace = trace
        self.goldenBytes = goldenBytes; self.pending = pending; self.recorded = recorded
    }
}

/// How a trace differs from its golden: a line diff, where it first departs, and a summary.
public struct TraceDifference: Equatable, Sendable {
    /// 1-based line of the golden where the first difference is.
    public var line: Int
    /// The first line removed from the golden and the first added by the run (nil if none).
    public var expected: String?
    public var actual: String?
    /// The scenario event whose lines hold the departure: its index and source position.
    public var event: Int?
    public var eventLocation: String?
    /// The unified diff (its first hunks) and its counts.
    public var diff: LineDiff
    /// Lines removed and added per kind (`-1 +1 kfree`, `+3 map`) or, for digests, the counts
    /// that differ (`kalloc 5 -> 8 (+3)`), each an item to fold into lines.
    public var items: [String]
    /// The address-blind view: how many lines of the golden differ only by the physical
    /// addresses that follow a structural change (nil: this is the exact view).
    public var addressOnly: Int? = nil
    /// In the exact view: the address-blind view's hunks and line counts, when it has fewer
    /// lines than the exact one (nil: addresses explain nothing, or this is the blind view).
    public var blindSummary: (hunks: Int, removed: Int, added: Int)? = nil

    public static func == (a: TraceDifference, b: TraceDifference) -> Bool {
        a.line == b.line && a.expected == b.expected && a.actual == b.actual && a.event == b.event
            && a.eventLocation == b.eventLocation && a.diff == b.diff && a.items == b.items && a.addressOnly == b.addressOnly
            && a.blindSummary?.hunks == b.blindSummary?.hunks && a.blindSummary?.removed == b.blindSummary?.removed
            && a.blindSummary?.added == b.blindSummary?.added
    }

    /// The items on one line: `-1 +1 kfree, +3 map`.
    public var summary: String { items.isEmpty ? "same lines, in a different order" : items.joined(separator: ", ") }
}

extension Golden {
    /// Checks one scenario against its golden.
    public static func check(_ scenarioPath: String, store: GoldenStore, blind: Bool = false) -> GoldenResult {
        let compiled: CompiledScenario
        do { compiled = try ScenarioCompiler.compile(path: scenarioPath) } catch {
            return GoldenResult(scenario: scenarioPath, golden: store.goldenPath(for: scenarioPath), outcome: .scenarioError(error), trace: [], goldenBytes: nil)
        }
        let (bytes, events) = keptWithEvents(compiled)
        let golden = store.goldenPath(for: scenarioPath, kind: compiled.golden)
        let old: [UInt8]
        switch load(golden) {
        case .missing: return GoldenResult(scenario: scenarioPath, golden: golden, outcome: .missingGolden, trace: bytes, goldenBytes: nil)
        case .unreadable(let reason):
            return GoldenResult(scenario: scenarioPath, golden: golden, outcome: .unreadableGolden(reason), trace: bytes, goldenBytes: nil)
        case .bytes(let b): old = b
        }
        if old == bytes { return GoldenResult(scenario: scenarioPath, golden: golden, outcome: .ok, trace: bytes, goldenBytes: old) }
        let diff = difference(expected: old, actual: bytes, scenario: compiled, events: compiled.golden == .trace ? events : nil, blind: blind)
        return GoldenResult(scenario: scenarioPath, golden: golden, outcome: .changed(diff), trace: bytes, goldenBytes: old)
    }

    /// Checks many scenarios in parallel on all cores; results come back in the order given.
    public static func checkAll(_ scenarios: [String], store: GoldenStore, blind: Bool = false,
                                progress: (@Sendable (_ done: Int, _ failing: Int) -> Void)? = nil) -> [GoldenResult] {
        let results = Slots<GoldenResult>(count: scenarios.count)
        let done = Counter(), failing = Counter()
        DispatchQueue.concurrentPerform(iterations: scenarios.count) { i in
            let r = check(scenarios[i], store: store, blind: blind)
            results[i] = r
            let f = r.outcome == .ok ? failing.value : failing.increment()
            progress?(done.increment(), f)
        }
        return results.values
    }

    /// Compares two traces (or digests): a minimal line diff, the event where the run first
    /// departs (found in the run's trace), and what differs overall.
    /// With `blind`, the hunks are those of the address-blind view (`AddressBlind`), and
    /// `addressOnly` counts the golden's lines that differ only by addresses; without it, the
    /// exact diff, with the blind view's counts in `blindSummary` when they are smaller.
    /// `events`: the `event` lines of `actual` as its writer counted them (nil: read from its text).
    public static func difference(expected: [UInt8], actual: [UInt8], scenario: CompiledScenario?, events: [(line: Int, event: Int)]? = nil,
                                  maxHunks: Int = 10, maxLines: Int = 200, blind: Bool = false) -> TraceDifference {
        let events = events ?? TraceLines.events(in: actual)
        let isDigest = expected.starts(with: "xv6vm-digest ".utf8) || actual.starts(with: "xv6vm-digest ".utf8)
        if isDigest || expected.isEmpty {
            return difference(exact: expected, actual: actual, scenario: scenario, events: events, maxHunks: maxHunks, maxLines: maxLines)
        }
        let named = AddressBlind.named(old: expected, new: actual)
        if blind {
            let exact = LineDiff.compute(old: expected, new: actual, maxHunks: 0, maxLines: 0, kind: TraceLines.kind)
            var d = difference(exact: named.old, actual: named.new, scenario: scenario, events: events, maxHunks: maxHunks, maxLines: maxLines)
            d.addressOnly = max(0, exact.removed - d.diff.removed)
            if d.diff.isEmpty, let first = exact.firstOld {
                // Nothing but addresses: the departure is where they first differ.
                d.line = first
                d.event = TraceLines.event(before: exact.firstNew ?? 1, in: events)
                d.eventLocation = d.event.flatMap { i in scenario.flatMap { i < $0.events.count ? $0.events[i].location?.description : nil } }
            }
            return d
        }
        var d = difference(exact: expected, actual: actual, scenario: scenario, events: events, maxHunks: maxHunks, maxLines: maxLines)
        let b = LineDiff.compute(old: named.old, new: named.new, maxHunks: 0, maxLines: 0, kind: TraceLines.kind)
        if b.removed + b.added < d.diff.removed + d.diff.added { d.blindSummary = (b.hunkCount, b.removed, b.added) }
        return d
    }

    static func difference(exact expected: [UInt8], actual: [UInt8], scenario: CompiledScenario?, events: [(line: Int, event: Int)],
                           maxHunks: Int, maxLines: Int) -> TraceDifference {
        let d = LineDiff.compute(old: expected, new: actual, maxHunks: maxHunks, maxLines: maxLines, kind: TraceLines.kind)
        let first = d.hunks.first?.lines
        let event = TraceLines.event(before: d.firstNew ?? 1, in: events)
        let loc = event.flatMap { idx in scenario.flatMap { idx < $0.events.count ? $0.events[idx].location?.description : nil } }
        let items: [String]
        if expected.starts(with: "xv6vm-digest ".utf8) || actual.starts(with: "xv6vm-digest ".utf8) {
            items = countChanges(expected: expected, actual: actual)
        } else {
            items = d.kinds.map { k in
                [k.removed > 0 ? "-\(k.removed)" : nil, k.added > 0 ? "+\(k.added)" : nil].compactMap { $0 }.joined(separator: " ") + " " + k.kind
            }
        }
        return TraceDifference(
            line: d.firstOld ?? 1,
            expected: first?.first { $0.hasPrefix("-") }.map { String($0.dropFirst()) },
            actual: first?.first { $0.hasPrefix("+") }.map { String($0.dropFirst()) },
            event: event, eventLocation: loc, diff: d, items: items)
    }

    /// The counts two digests disagree on: `kalloc 310877 -> 310880 (+3)`, then `lines` and
    /// the end line's when they differ too.
    static func countChanges(expected: [UInt8], actual: [UInt8]) -> [String] {
        func counts(_ b: [UInt8]) -> [String: Int] {
            var d: [String: Int] = [:]
            for l in String(decoding: b, as: UTF8.self).split(separator: "\n") {
                let f = l.split(separator: " ", omittingEmptySubsequences: true)
                if f.count == 3 && f[0] == "count", let n = Int(f[2]) { d[String(f[1])] = n }
                if f.count == 2 && f[0] == "lines", let n = Int(f[1]) { d["(lines)"] = n }
            }
            return d
        }
        let x = counts(expected), y = counts(actual)
        var items: [String] = []
        for k in Set(x.keys).union(y.keys).sorted() where x[k] != y[k] {
            let (m, n) = (x[k] ?? 0, y[k] ?? 0)
            let name = k == "(lines)" ? "lines" : k
            items.append("\(name) \(m) -> \(n) (\(n > m ? "+" : "")\(n - m))")
        }
        return items.isEmpty ? ["same counts, different lines (the SHA-256 differs)"] : items
    }

    /// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename,
    /// so a reader sees the old golden or the new one, never a part. Throws `WriteError`.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        try OutputFile.writeAtomically(bytes, to: path)
    }

    /// `beforeRename` runs between writing the temporary file and renaming it: tests make it fail.
    package static func writeAtomically(_ bytes: [UInt8], to path: String, beforeRename: () throws -> Void) throws {
        try OutputFile.writeAtomically(bytes, to: path, beforeRename: beforeRename)
    }
}
