import Foundation
import XV6
import Support
import Scenario
import Run

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

    /// Runs the scenario from boot with kalloc call `call` failing.
    public static func outcome(_ scenario: CompiledScenario, call: Int) -> Outcome {
        var s = scenario
        s.config.settings.failKalloc = call
        var run = RunInProgress(s, writer: nil)
        run.runToEnd()
        return outcome(of: &run, call: call)
    }

    /// What a run with kalloc call `call` failing came to, once it has run to its end.
    static func outcome(of run: inout RunInProgress, call: Int) -> Outcome {
        let r = run.finish()
        guard let k = run.kernel ?? run.failedBoot, let f = k.injectedFailure else { return Outcome(call: call, site: "-", event: r.eventsRun - 1, verdict: .notReached) }
        let site = k.sites.name(f.site)
        let verdict: Verdict
        if let p = r.panic {
            verdict = .panic(p.message)
        } else if let v = r.violations.first {
            verdict = .invariant(v.text)
        } else {
            let report = LeakReport(scenario: run.scenario, kernel: k, result: r)
            if let top = report.records.first {
                verdict = .leak(pages: report.leaked, site: top.site.joined(separator: " > "))
            } else {
                verdict = .clean
            }
        }
        return Outcome(call: call, site: site, event: Int(f.event), verdict: verdict)
    }

    /// The scenario run with no failure injected, moved forward call by call: each failing
    /// run starts from a snapshot of it at the start of the event that makes the failing
    /// call, instead of from boot. Up to that call the two runs are the same run.
    package final class Reference {
        let scenario: CompiledScenario
        /// Between two events, with fewer kalloc calls made than the call asked for last.
        private var at: RunInProgress
        /// `at` one event further on, once known.
        private var ahead: RunInProgress?

        package init(_ scenario: CompiledScenario) {
            var s = scenario
            s.config.settings.failKalloc = 0
            self.scenario = s
            at = RunInProgress(s, writer: nil)
        }

        /// The run at the start of the event in which kalloc call `call` is made (or at the
        /// start of the last event, if the run ends before it).
        func start(for call: Int) -> RunInProgress {
            if call <= at.kallocCalls {                // calls out of order: start again
                at = RunInProgress(scenario, writer: nil)
                ahead = nil
            }
            while true {
                if ahead == nil {
                    guard at.running else { return at }
                    var a = at.snapshot()
                    _ = a.step()
                    ahead = a
                }
                guard let a = ahead, a.running, a.kallocCalls < call else { return at }
                at = a
                ahead = nil
            }
        }

        /// The outcome of the run with kalloc call `call` failing: the same as from boot.
        func outcome(call: Int) -> Outcome {
            var settings = scenario.config.settings
            settings.failKalloc = call
            var run = start(for: call).snapshot(settings: settings)
            run.runToEnd()
            return Sweep.outcome(of: &run, call: call)
        }
    }

    /// Runs `calls` in parallel on all cores; outcomes come back in the order given.
    /// Each core takes runs of consecutive calls in turn and starts each failing run from a
    /// snapshot of its own run without failures (`snapshots: false`: every run from boot).
    /// `progress` hears the runs done and, of those, the ones that did not end clean.
    /// `ordered` hears each outcome as soon as every earlier one (in the order given) is in:
    /// a stream that is the same on every run, and that an interrupt cuts only at its end.
    public static func run(_ scenario: CompiledScenario, calls: [Int], snapshots: Bool = true,
                           progress: (@Sendable (_ done: Int, _ findings: Int) -> Void)? = nil,
                           ordered: (@Sendable (Outcome) -> Void)? = nil) -> [Outcome] {
        let results = Slots<Outcome>(count: calls.count)
        let done = Counter(), findings = Counter(), claimed = Counter()
        let stream = InOrder(count: calls.count, results: results, deliver: ordered)
        let chunk = 16
        let chunks = (calls.count + chunk - 1) / chunk
        let workers = min(chunks, ProcessInfo.processInfo.activeProcessorCount)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            let reference = snapshots ? Reference(scenario) : nil
            while true {
                let c = claimed.increment() - 1
                guard c < chunks else { break }
                for i in c * chunk..<min(calls.count, (c + 1) * chunk) {
                    let o = reference?.outcome(call: calls[i]) ?? outcome(scenario, call: calls[i])
                    results[i] = o
                    stream.finished(i)
                    let f = o.verdict == .clean || o.verdict == .notReached ? findings.value : findings.increment()
                    progress?(done.increment(), f)
                }
            }
        }
        return results.values
    }

    /// Hands results on in index order as the prefix of finished ones grows.
    package final class InOrder: @unchecked Sendable {
        private let lock = NSLock()
        private var ready: [Bool]
        private var next = 0
        private let results: Slots<Outcome>
        private let deliver: (@Sendable (Outcome) -> Void)?
        package init(count: Int, results: Slots<Outcome>, deliver: (@Sendable (Outcome) -> Void)?) {
            ready = Array(repeating: false, count: count); self.results = results; self.deliver = deliver
        }
        func finished(_ i: Int) {
            guard let deliver else { return }
            lock.lock(); defer { lock.unlock() }
            ready[i] = true
            while next < ready.count && ready[next] {
                if let o = results[next] { deliver(o) }
                next += 1
            }
        }
    }

    /// One run as a JSON object (a line of `sweep --format json`).
    public static func json(_ o: Outcome) -> JSONValue {
        .o(["call": .i(Int64(o.call)), "event": .i(Int64(o.event)), "site": .s(o.site),
            "outcome": .s(o.verdict.word), "detail": .s(o.verdict.detail)])
    }

    /// The totals as a JSON object (the last line of `sweep --format json`).
    public static func summaryJSON(_ scenario: CompiledScenario, _ outcomes: [Outcome]) -> JSONValue {
        var totals: [String: JSONValue] = [:]
        for w in ["clean", "leak", "panic", "invariant", "not reached"] {
            totals[w.replacingOccurrences(of: " ", with: "_")] = .i(Int64(outcomes.filter { $0.verdict.word == w }.count))
        }
        return .o(["kind": .s("summary"), "scenario": .s(scenario.file), "variant": .s(scenario.config.variant),
                   "runs": .i(Int64(outcomes.count)), "totals": .o(totals)])
    }

    /// `k` calls spread evenly over [first, last].
    public static func sample(_ first: Int, _ last: Int, _ k: Int) -> [Int] {
        guard last >= first else { return [] }
        let n = last - first + 1
        if k >= n || k <= 0 { return Array(first...last) }
        if k == 1 { return [first] }
        return (0..<k).map { first + $0 * (n - 1) / (k - 1) }
    }

    /// The report, within 80 columns: the totals, then how each allocation site fared and
    /// what the kernel does there, then (with `path`, the scenario as the user named it) how
    /// to shrink the first run that did not end clean; with `verbose`, one line per run.
    /// `header` (the sweep's own) says how many calls the whole sweep has and the `--set`s
    /// the shrink commands repeat.
    public static func report(_ scenario: CompiledScenario, _ outcomes: [Outcome], path: String? = nil, verbose: Bool = false,
                              header: SweepHeader? = nil) -> String {
        let words = ["clean", "leak", "panic", "invariant"]
        var totals: [String: Int] = [:]
        for o in outcomes { totals[o.verdict.word, default: 0] += 1 }
        var lines = fold("sweep of \(scenario.file) (\(scenario.config.variant)): \(scope(outcomes.count, header)), each with one kalloc failing", hang: 2)
        lines += ["\(outcomes.count) runs: " + (words + ["not reached"]).map { "\(totals[$0] ?? 0) \($0)" }.joined(separator: ", "), ""]
        // By site: how each failure point fared, one call for example, and how to shrink it.
        var bySite: [String: [Outcome]] = [:]
        for o in outcomes where o.verdict != .notReached { bySite[o.site, default: []].append(o) }
        lines.append("clean  leak  panic  inv.  allocation site")
        lines.append("                          what the kernel does there")
        lines.append("                          one call for example")
        for site in bySite.keys.sorted() {
            let runs = bySite[site]!
            let verdicts = runs.map(\.verdict)
            let counts = words.map { w in verdicts.filter { $0.word == w }.count }
            let cells = zip(counts, [5, 5, 6, 5]).map { String($0).leftPadded($1) }.joined(separator: " ")
            lines.append(contentsOf: fold(cells + "  " + site, hang: 28, at: " > "))
            lines.append(contentsOf: fold(String(repeating: " ", count: 26) + whatHappens(verdicts), hang: 28, at: "; "))
            lines.append(contentsOf: example(runs, path: path, overrides: header?.overrides ?? []))
        }
        if verbose {
            lines.append("")
            lines.append("  call  event  outcome")
            lines.append("               allocation site")
            for o in outcomes {
                lines.append(contentsOf: fold(String(o.call).leftPadded(6) + "  " + String(o.event).leftPadded(5) + "  " + o.verdict.detail, hang: 15, at: " "))
                lines.append(contentsOf: fold(String(repeating: " ", count: 15) + o.site, hang: 17, at: " > "))
            }
        } else if !outcomes.isEmpty {
            lines.append("")
            lines.append("(one line per run: --verbose, or --format json)")
        }
        return lines.joined(separator: "\n")
    }


    /// What the runs cover: `200 of 310,877 calls, evenly spread`, `310,877 calls`, or with
    /// no header `3 runs`.
    static func scope(_ runs: Int, _ header: SweepHeader?) -> String {
        guard let h = header else { return "\(runs) runs" }
        let all = h.last >= h.first ? h.last - h.first + 1 : 0
        let from = h.boot ? "" : " after boot"
        let shard = h.shards > 1 ? " (shard \(h.shard)/\(h.shards))" : ""
        if runs < all { return "\(grouped(runs)) of \(grouped(all)) calls\(from)" + (h.sample != nil ? ", evenly spread" : "") + shard }
        return "all \(grouped(all)) calls\(from)" + shard
    }

    /// One site's example: the first run there that was not clean (else the first), and the
    /// shrink command that reduces it to a small scenario.
    static func example(_ runs: [Outcome], path: String?, overrides: [String]) -> [String] {
        guard let o = runs.first(where: { $0.verdict != .clean && $0.verdict != .notReached }) ?? runs.first else { return [] }
        let indent = String(repeating: " ", count: 26)
        let call = "e.g. call \(grouped(o.call)) (event \(o.event))"
        let until: String
        switch o.verdict {
        case .clean, .notReached: return [indent + call + ": clean"]
        case .leak: until = "leak"
        case .invariant: until = "invariant"
        case .panic: until = "panic"
        }
        guard let path else { return [indent + call] }
        let sets = (overrides.filter { !$0.hasPrefix("fail_kalloc=") } + ["fail_kalloc=\(o.call)"]).map { "--set \($0)" }
        let words = ["xv6vm shrink", path] + sets + ["--until \(until)", "-o small.yaml"]
        // Folded between options, never inside one; a shell reads on through the backslashes.
        var out = [indent + call + "; to shrink it:"], line = "    " + words[0]
        for w in words.dropFirst() {
            if line.count + 1 + w.count > 78 { out.append(line + " \\"); line = "        " + w } else { line += " " + w }
        }
        return out + [line]
    }

    /// What the kernel does when allocations at one site fail: "recovers", its panics, the
    /// invariants it breaks, and its leaks with their sizes as numbers (smallest to largest).
    package static func whatHappens(_ verdicts: [Verdict]) -> String {
        var panics: [String] = [], invariants: [String] = []
        var leaks: [String: [Int]] = [:]
        for v in verdicts {
            switch v {
            case .panic(let m): if !panics.contains(m) { panics.append(m) }
            case .invariant(let t): if !invariants.contains(t) { invariants.append(t) }
            case let .leak(pages, site): leaks[site, default: []].append(pages)
            case .clean, .notReached: break
            }
        }
        var parts = panics.sorted().map { "panic: \($0)" } + invariants.sorted().map { "invariant: \($0)" }
        for site in leaks.keys.sorted() {
            let sizes = Set(leaks[site]!).sorted()
            let n = leaks[site]!.count
            let size = sizes.count == 1 ? "\(sizes[0]) page\(sizes[0] == 1 ? "" : "s")" : "\(sizes.first!) to \(sizes.last!) pages"
            parts.append("leak: \(size)" + (n > 1 ? " (\(n) runs)" : "") + ", first at \(site)")
        }
        return parts.isEmpty ? "recovers" : parts.joined(separator: "; ")
    }

    /// `text` broken at spaces into lines of at most 80 columns, the later ones indented
    /// by `hang`; a `>` of a call chain stays with the function before it.
    package static func fold(_ text: String, hang: Int, at separator: String = " ") -> [String] {
        guard text.count > 80 else { return [text] }
        let indent = text.prefix { $0 == " " }
        var words: [String] = []
        for w in text.dropFirst(indent.count).split(separator: " ", omittingEmptySubsequences: false) {
            if w == ">", !words.isEmpty { words[words.count - 1] += " >" } else { words.append(String(w)) }
        }
        return Support.fold(units: words, indent: String(indent), continuation: String(repeating: " ", count: hang))
    }
}
