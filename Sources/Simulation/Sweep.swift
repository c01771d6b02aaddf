import Foundation
import XV6

/// Failure injection over a whole run: the scenario once per allocation, with that
/// kalloc returning 0, and what the kernel made of it.
public enum Sweep {
    public enum Verdict: Equatable, Sendable {
        /// The kernel recovered: nothing leaked, no invariant broken, no panic.
        case clean
        /// Pages leaked; the leak report's top allocation site.
        case leak(pages: Int, site: String)
        case panic(String)
        case invariant(String)
        /// The run ended before this allocation.
        case notReached

        public var word: String {
            switch self {
            case .clean: return "clean"
            case .leak: return "leak"
            case .panic: return "panic"
            case .invariant: return "invariant"
            case .notReached: return "not reached"
            }
        }

        public var detail: String {
            switch self {
            case .clean, .notReached: return word
            case let .leak(pages, site): return "leak: \(pages) page\(pages == 1 ? "" : "s"), first at \(site)"
            case .panic(let m): return "panic: \(m)"
            case .invariant(let t): return "invariant: \(t)"
            }
        }
    }

    public struct Outcome: Equatable, Sendable {
        /// Which kalloc failed (from 1, boot included).
        public var call: Int
        /// The kernel functions that called it.
        public var site: String
        public var event: Int
        public var verdict: Verdict
    }

    /// kalloc calls made at boot and over the whole run, with no failure injected.
    public static func allocations(_ scenario: CompiledScenario) -> (boot: Int, total: Int) {
        var boot = 0
        let (_, k) = Runner.run(scenario, writer: nil, afterEvent: { i, k in if i == 0 { boot = k.kallocCalls } })
        return (boot, k?.kallocCalls ?? 0)
    }

    /// Runs the scenario with kalloc call `call` failing.
    public static func outcome(_ scenario: CompiledScenario, call: Int) -> Outcome {
        var s = scenario
        s.config.settings.failKalloc = call
        let (r, k) = Runner.run(s, writer: nil)
        guard let k, let f = k.injectedFailure else { return Outcome(call: call, site: "-", event: r.eventsRun - 1, verdict: .notReached) }
        let site = k.sites.name(f.site)
        let verdict: Verdict
        if let p = r.panic {
            verdict = .panic(p.message)
        } else if let v = r.violations.first {
            verdict = .invariant(v.text)
        } else {
            let report = LeakReport(scenario: s, kernel: k, result: r)
            if let top = report.records.first {
                verdict = .leak(pages: report.leaked, site: top.site.joined(separator: " > "))
            } else {
                verdict = .clean
            }
        }
        return Outcome(call: call, site: site, event: Int(f.event), verdict: verdict)
    }

    /// Runs `calls` in parallel on all cores; outcomes come back in the order given.
    /// `progress` hears the runs done and, of those, the ones that did not end clean.
    public static func run(_ scenario: CompiledScenario, calls: [Int],
                           progress: (@Sendable (_ done: Int, _ findings: Int) -> Void)? = nil) -> [Outcome] {
        let results = Slots<Outcome>(count: calls.count)
        let done = Counter(), findings = Counter()
        DispatchQueue.concurrentPerform(iterations: calls.count) { i in
            let o = outcome(scenario, call: calls[i])
            results[i] = o
            let f = o.verdict == .clean || o.verdict == .notReached ? findings.value : findings.increment()
            progress?(done.increment(), f)
        }
        return results.values
    }

    /// `k` calls spread evenly over [first, last].
    public static func sample(_ first: Int, _ last: Int, _ k: Int) -> [Int] {
        guard last >= first else { return [] }
        let n = last - first + 1
        if k >= n || k <= 0 { return Array(first...last) }
        if k == 1 { return [first] }
        return (0..<k).map { first + $0 * (n - 1) / (k - 1) }
    }

    /// The report: one line per failed allocation, then a table by site and outcome.
    /// The report; with `path` (the scenario as the user named it), a line saying how to
    /// shrink the first run that did not end clean.
    public static func report(_ scenario: CompiledScenario, _ outcomes: [Outcome], path: String? = nil) -> String {
        var lines = ["sweep of \(scenario.file) (\(scenario.config.variant)): \(outcomes.count) runs, each with one kalloc failing", ""]
        let w = max(4, outcomes.map { String($0.call).count }.max() ?? 4)
        let sw = max(4, outcomes.map(\.site.count).max() ?? 4)
        func padR(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func padL(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
        lines.append(padL("call", w) + "  " + padL("event", 6) + "  " + padR("site", sw) + "  outcome")
        for o in outcomes {
            lines.append(padL(String(o.call), w) + "  " + padL(String(o.event), 6) + "  " + padR(o.site, sw) + "  " + o.verdict.detail)
        }
        // By site: how each failure point fared.
        var order: [String] = []
        var table: [String: [String: Int]] = [:]
        var details: [String: [String]] = [:]
        for o in outcomes where o.verdict != .notReached {
            if table[o.site] == nil { order.append(o.site); table[o.site] = [:] }
            table[o.site]![o.verdict.word, default: 0] += 1
            if o.verdict != .clean && !(details[o.site] ?? []).contains(o.verdict.detail) { details[o.site, default: []].append(o.verdict.detail) }
        }
        let words = ["clean", "leak", "panic", "invariant"]
        lines.append("")
        lines.append(padR("site", sw) + "  " + words.map { padL($0, 9) }.joined(separator: " ") + "  what the kernel does")
        for site in order.sorted() {
            lines.append(padR(site, sw) + "  " + words.map { padL(String(table[site]![$0] ?? 0), 9) }.joined(separator: " ")
                         + "  " + ((details[site] ?? []).sorted().joined(separator: "; ").nonEmpty ?? "recovers"))
        }
        var totals: [String: Int] = [:]
        for o in outcomes { totals[o.verdict.word, default: 0] += 1 }
        lines.append("")
        if let path, let first = outcomes.first(where: { $0.verdict != .clean && $0.verdict != .notReached }) {
            let until: String
            switch first.verdict {
            case .leak: until = "leak"
            case .invariant: until = "invariant"
            default: until = "panic"
            }
            lines.append("To reduce a run to a small scenario, e.g. call \(first.call): xv6vm shrink \(path) --set fail_kalloc=\(first.call) --until \(until) -o small.yaml")
            lines.append("")
        }
        lines.append("\(outcomes.count) runs: " + (words + ["not reached"]).map { "\(totals[$0] ?? 0) \($0)" }.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}

/// A thread-safe counter for progress.
final class Counter: @unchecked Sendable {
    private var n = 0
    private let lock = NSLock()
    func increment() -> Int { lock.lock(); defer { lock.unlock() }; n += 1; return n }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
