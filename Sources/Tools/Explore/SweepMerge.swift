import Foundation
import Support
import Scenario
import Run

/// Parts of one sharded sweep made whole again: the runs of all of them, in call order,
/// as the unsharded sweep would have them, or why the parts do not make one sweep.
public enum SweepMerge {
    /// Why parts cannot be merged: each line a sentence naming the files.
    public struct Refusal: Error, Sendable {
        public var problems: [String]
    }

    /// The whole sweep's header (the first part's path) and its runs in call order.
    public static func merge(_ parts: [(file: String, part: SweepPart)]) throws(Refusal) -> (header: SweepHeader, outcomes: [Sweep.Outcome]) {
        guard let (firstFile, first) = parts.first else { throw Refusal(problems: ["no parts to merge"]) }
        var problems: [String] = []
        for (file, p) in parts.dropFirst() {
            let d = first.header.differences(from: p.header, ours: firstFile)
            if !d.isEmpty {
                problems.append("\(file) is not a part of the same sweep as \(firstFile): " + d.joined(separator: "; "))
            }
        }
        if !problems.isEmpty { throw Refusal(problems: problems) }

        // Which part covers each call; a call in two parts is an overlap.
        let whole = first.header.whole
        var owner: [Int: Int] = [:]
        var overlaps: [[Int]: [Int]] = [:]          // [part, part] -> calls
        for (k, (_, p)) in parts.enumerated() {
            for c in p.header.calls {
                if let o = owner[c] { overlaps[[o, k], default: []].append(c) } else { owner[c] = k }
            }
        }
        func name(_ k: Int) -> String { "\(parts[k].file) (shard \(parts[k].part.header.shard)/\(parts[k].part.header.shards))" }
        for pair in overlaps.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            problems.append("\(name(pair[0])) and \(name(pair[1])) both cover \(describe(overlaps[pair]!)); give each shard once")
        }
        let missing = whole.calls.filter { owner[$0] == nil }
        if !missing.isEmpty {
            let counts = Set(parts.map { $0.part.header.shards })
            var which = ""
            if counts.count == 1, let n = counts.first {
                let given = Set(parts.map { $0.part.header.shard })
                let absent = (1...n).filter { !given.contains($0) }
                if !absent.isEmpty { which = "no part for shard " + absent.map { "\($0)/\(n)" }.joined(separator: ", ") + ": " }
            }
            problems.append(which + "\(describe(missing)) of the sweep's \(whole.calls.count) are in no part")
        }
        if !problems.isEmpty { throw Refusal(problems: problems) }
        var header = whole
        header.path = first.header.path
        let outcomes = parts.flatMap { $0.part.outcomes }.sorted { $0.call < $1.call }
        return (header, outcomes)
    }

    /// Calls in words, shortly: "calls 3 to 299 in steps of 2 (149 calls)", the first
    /// few runs of them and how many more.
    public static func describe(_ calls: [Int]) -> String {
        let ranges = SweepHeader.ranges(calls)
        let shown = ranges.prefix(3).map { r in
            r[0] == r[1] ? "\(r[0])" : "\(r[0]) to \(r[1])" + (r[2] == 1 ? "" : " in steps of \(r[2])")
        }
        let more = ranges.count > 3 ? ", ..." : ""
        let noun = calls.count == 1 ? "call" : "calls"
        return "\(noun) " + shown.joined(separator: ", ") + more + (calls.count > 1 ? " (\(calls.count) calls)" : "")
    }
}

extension Sweep {
    /// A sweep as `--format json` prints it: the header, a line per run, the totals.
    public static func jsonLines(_ header: SweepHeader, _ outcomes: [Outcome]) -> [String] {
        [header.json.encoded] + outcomes.map { json($0).encoded } + [summaryJSON(header.reportScenario, outcomes).encoded]
    }
}
