import XV6
import RISCV
import Support
import Scenario
import Run

/// Reduces a scenario to a small one that still shows the same thing. The scenario is
/// taken back to its shape: events, and `repeat`s of them (re-rolled from the compiled
/// rounds), each event with the names its processes go by. Shrink edits those events:
/// it removes them, hands a process's part to another, and makes smaller the numbers each
/// kind's spec lets it vary. The compiler judges each candidate (it is written out and
/// compiled again, so every candidate is a valid scenario); the small scenario is written
/// once, at the end. The passes:
///
/// 1. cut everything after the event where the original shows it (a panic ends the run);
/// 2. delta debugging (ddmin) over the events and repeats of each list, outermost first;
///    for each repeat, its count is binary-searched down and its body reduced in turn
///    (a body that does less per round may need more rounds: up to 8 times as many);
/// 3. hand a process's part to an earlier process (init first), so it may go, and again 2;
/// 4. make numbers (sizes, counts, statuses) as small as they can be;
/// 5. name processes p1, p2 ... in the order they are created (c1, c2 ... in a repeat).
public enum Shrink {
    public struct Result: Sendable {
        public var yaml: String
        /// Events the original runs (boot aside).
        public var before: Int
        /// Event lines the small scenario has (a repeat counts as one, plus its body).
        public var after: Int
        /// Events the small scenario runs (repeats expanded).
        public var afterExpanded: Int
        public var tests: Int
    }

    /// A scenario as written: event lines and repeats of them.
    package typealias Item = ScenarioWriter.Item

    /// Shrinks `s` (compiled from `file`) while `predicate` holds.
    /// `overrides` are the `--set` KEY=VALUEs the scenario was loaded with, for the header.
    public static func run(_ scenario: CompiledScenario, file: String, predicate: Predicate, overrides: [String] = [],
                           progress: ((_ tests: Int, _ smallest: Int) -> Void)? = nil) -> Result? {
        let before = scenario.events.count - 1                // boot is implicit
        let (s, failureSite) = anchorInjectedFailure(scenario)
        let original = pieces(s.events)
        var tests = 0
        var witnessed: Int?
        var smallest = before
        // Candidates share their first events with the last one that held: each runs from a
        // snapshot of that one's run where they part.
        let runs = PrefixRuns()
        func test(_ pieces: [Piece]) -> Bool {
            tests += 1
            let text = ScenarioWriter.yaml(Self.text(pieces), s, header: [])
            if let c = try? ScenarioCompiler.compile(bytes: Array(text.utf8), file: file) {
                witnessed = predicate.witness(c, failureSite: failureSite, runs: runs)
                if witnessed != nil { runs.adopt() }
                // Counted as run (repeats expanded), as the original's count is.
                if witnessed != nil { smallest = min(smallest, c.events.count - 1) }
            } else {
                witnessed = nil
            }
            progress?(tests, smallest)
            return witnessed != nil
        }
        guard test(original), let shownAt = witnessed else { return nil }
        var current = original
        // 1. Nothing after the event that shows it matters (events count from boot, 0).
        let cut = truncate(current, keeping: shownAt)
        if cut != current && test(cut) { current = cut }
        // 2.
        current = reduce(current, test)
        // 3. Let an earlier process (init first) do what a process does after it is
        // created, so that the process itself may go.
        var changed = true
        while changed {
            changed = false
            let steps = flatten(current)
            outer: for (i, step) in steps.enumerated() {
                guard let x = step.created else { continue }
                for y in steps[..<i].compactMap(\.created) {
                    var candidate = steps
                    for j in candidate.indices where j > i { candidate[j] = candidate[j].renamed(x, to: y) }
                    let items = refill(current, candidate)
                    if candidate != steps && test(items) {
                        current = reduce(items, test)
                        changed = true
                        break outer
                    }
                }
            }
        }
        // 4, 5.
        let shape = current
        current = refill(shape, shrinkNumbers(flatten(shape)) { test(refill(shape, $0)) })
        current = refill(current, renumber(current))
        let after = written(current)
        let header = [
            "Shrunk by `xv6vm shrink \(shellQuoted(s.file))" + overrides.map { " --set \(shellQuoted($0))" }.joined() + " --until \(shellQuoted(predicate.description))`",
            "from \(before) events to \(after) (\(before - after) removed, in \(tests) test runs)"
                + (expanded(current) != after ? "; it runs \(expanded(current)) events." : "."),
            "Without any one of these events" + (loops(current) > 0 ? " (or with fewer rounds)" : "") + ", the run no longer shows it.",
        ] + (failureSite.map { ["The kalloc made to fail is at \($0), as in the original."] } ?? [])
          + (predicate.departure.map { d in
                [d.expected == d.actual ? "The first lines that differ (only in their numbers, masked here):" : "The first lines that differ (numbers masked):",
                 "  golden:   \(d.expected)", "  this run: \(d.actual)"] } ?? [])
        // A digest golden stays one when the small scenario still runs long.
        let golden: GoldenKind = s.golden == .digest && expanded(current) > 1000 ? .digest : .trace
        return Result(yaml: ScenarioWriter.yaml(text(current), s, header: header, golden: golden), before: before, after: after,
                      afterExpanded: expanded(current), tests: tests)
    }

    /// Where the original makes a kalloc fail (the `fail_kalloc` setting or event), every
    /// candidate must fail the same allocation site, or the reduction could drift to another
    /// error path. A `fail_kalloc: N` setting counts kallocs from boot, which removing any
    /// earlier event would shift: it becomes a `fail_kalloc` event just before the event
    /// whose kalloc fails, counting from there. Returns the scenario and the failing site.
    static func anchorInjectedFailure(_ scenario: CompiledScenario) -> (CompiledScenario, String?) {
        var s = scenario
        let n = s.config.settings.failKalloc
        var before = 0, at: Int?
        let (_, k) = Runner.run(s, writer: nil, afterEvent: { i, k in
            guard n > 0, at == nil else { return }
            if k.kallocCalls >= n { at = i } else { before = k.kallocCalls }
        })
        guard let k, let failure = k.injectedFailure else { return (s, nil) }
        if n > 0, let at, at > 0 {
            s.config.settings.failKalloc = 0
            var e = Event(kind: .failKalloc(n - before), location: nil, label: "fail_kalloc \(n - before)")
            e.rounds = s.events[at].rounds
            s.events.insert(e, at: at)
        }
        return (s, k.sites.name(failure.site))
    }

    // MARK: the passes over the shape

    /// Step 2 on a list; `holds` tests a candidate for this list inside the whole scenario.
    static func reduce<L>(_ start: [ScenarioWriter.Tree<L>], _ holds: ([ScenarioWriter.Tree<L>]) -> Bool) -> [ScenarioWriter.Tree<L>] {
        var list = start
        while true {
            let before = list
            // Doing less may take more rounds to show it: a candidate may double its repeats.
            list = ddmin(list, accept: { c in
                if holds(c) { return c }
                let d = doubled(c)
                return d != c && holds(d) ? d : nil
            })
            list = reduceLoops(list, holds)
            if list == before { return list }
        }
    }

    /// The list with each of its repeats' counts doubled.
    static func doubled<L>(_ items: [ScenarioWriter.Tree<L>]) -> [ScenarioWriter.Tree<L>] {
        items.map { if case let .loop(n, b) = $0 { .loop(2 * n, b) } else { $0 } }
    }

    /// Each repeat of the list: its body, then its count; a repeat of one round is inlined.
    static func reduceLoops<L>(_ start: [ScenarioWriter.Tree<L>], _ holds: ([ScenarioWriter.Tree<L>]) -> Bool) -> [ScenarioWriter.Tree<L>] {
        var list = start
        var i = 0
        while i < list.count {
            guard case .loop(var count, var body) = list[i] else { i += 1; continue }
            func with(_ c: Int, _ b: [ScenarioWriter.Tree<L>]) -> [ScenarioWriter.Tree<L>] {
                var l = list
                l[i] = .loop(c, b)
                return l
            }
            // The body first, at this count or else at up to 8 times it (within the event limit).
            let size = max(1, expanded(body)), others = expanded(list) - count * expanded(body)
            let most = max(count, min(count * 8, (ScenarioCompiler.eventLimit - others) / size))
            body = reduce(body) { b in
                if holds(with(count, b)) { return true }
                if most > count && holds(with(most, b)) { count = most; return true }
                return false
            }
            // Then the count, by binary search: the fewest rounds that still show it.
            var lo = 0, hi = count
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2
                if holds(with(mid, body)) { hi = mid } else { lo = mid }
            }
            list = with(hi, body)
            // One round is no repeat.
            if hi == 1 {
                let inlined = Array(list[..<i]) + body + Array(list[(i + 1)...])
                if holds(inlined) { list = inlined; continue }
            }
            i += 1
        }
        return list
    }

    /// The first events of `items`, as many as run up to and including event `last`
    /// (counted from boot, 0); a repeat keeps whole rounds.
    package static func truncate<L>(_ items: [ScenarioWriter.Tree<L>], keeping last: Int) -> [ScenarioWriter.Tree<L>] {
        var n = last
        func cut(_ items: [ScenarioWriter.Tree<L>]) -> [ScenarioWriter.Tree<L>] {
            var out: [ScenarioWriter.Tree<L>] = []
            for item in items where n > 0 {
                switch item {
                case .line: out.append(item); n -= 1
                case let .loop(count, body):
                    let size = expanded(body)
                    guard size > 0 else { continue }
                    if count * size <= n { out.append(item); n -= count * size } else {
                        out.append(.loop((n + size - 1) / size, body)); n = 0
                    }
                }
            }
            return out
        }
        return cut(items)
    }

    /// Events the items run, repeats expanded.
    package static func expanded<L>(_ items: [ScenarioWriter.Tree<L>]) -> Int {
        items.reduce(0) { n, item in
            switch item {
            case .line: return n + 1
            case let .loop(count, body): return n + count * expanded(body)
            }
        }
    }

    /// Event lines the items take in YAML: each event, and each repeat as one more.
    static func written<L>(_ items: [ScenarioWriter.Tree<L>]) -> Int { flatten(items).count + loops(items) }

    package static func loops<L>(_ items: [ScenarioWriter.Tree<L>]) -> Int {
        items.reduce(0) { n, item in if case .loop(_, let b) = item { return n + 1 + loops(b) } else { return n } }
    }

    /// The events, repeats' bodies in place (once each).
    package static func flatten<L>(_ items: [ScenarioWriter.Tree<L>]) -> [L] {
        items.flatMap { item -> [L] in
            switch item {
            case .line(let l): return [l]
            case .loop(_, let body): return flatten(body)
            }
        }
    }

    /// `items` with its events replaced, in order, by `lines` (as many as `flatten` gives).
    static func refill<L>(_ items: [ScenarioWriter.Tree<L>], _ lines: [L]) -> [ScenarioWriter.Tree<L>] {
        var k = 0
        func fill(_ items: [ScenarioWriter.Tree<L>]) -> [ScenarioWriter.Tree<L>] {
            items.map { item in
                switch item {
                case .line: k += 1; return .line(lines[k - 1])
                case let .loop(count, body): return .loop(count, fill(body))
                }
            }
        }
        return fill(items)
    }

    /// ddmin: try removing each of n chunks; on success keep the rest, else split finer.
    static func ddmin<T>(_ start: [T], _ test: ([T]) -> Bool) -> [T] {
        ddmin(start, accept: { test($0) ? $0 : nil })
    }

    /// ddmin where a test may accept a candidate in another form (`accept` gives what to keep).
    static func ddmin<T>(_ start: [T], accept: ([T]) -> [T]?) -> [T] {
        var current = start
        var n = 2
        while current.count >= 2 {
            let size = (current.count + n - 1) / n
            var reduced = false
            var from = 0
            while from < current.count {
                let candidate = Array(current[..<from] + current[min(current.count, from + size)...])
                if !candidate.isEmpty, let kept = accept(candidate) {
                    current = kept
                    n = max(n - 1, 2)
                    reduced = true
                    break
                }
                from += size
            }
            if !reduced {
                if n >= current.count { break }
                n = min(current.count, n * 2)
            }
        }
        return current
    }
}
