import XV6
import RISCV
import Support
import Scenario
import Run

/// Reduces a scenario to a small one that still shows the same thing. The scenario is
/// taken back to its shape: event lines, and `repeat`s of them (re-rolled from the
/// compiled rounds). Each candidate is written out as YAML and compiled again, so every
/// candidate is a valid scenario. The passes:
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

    /// A scenario as the shrinker edits it: event lines and repeats of them.
    typealias Item = ScenarioWriter.Item

    /// Shrinks `s` (compiled from `file`) while `predicate` holds.
    /// `overrides` are the `--set` KEY=VALUEs the scenario was loaded with, for the header.
    public static func run(_ scenario: CompiledScenario, file: String, predicate: Predicate, overrides: [String] = [],
                           progress: ((_ tests: Int, _ smallest: Int) -> Void)? = nil) -> Result? {
        let before = scenario.events.count - 1                // boot is implicit
        let (s, failureSite) = anchorInjectedFailure(scenario)
        let original = program(s.events)
        var tests = 0
        var witnessed: Int?
        var smallest = before
        // Candidates share their first events with the last one that held: each runs from a
        // snapshot of that one's run where they part.
        let runs = PrefixRuns()
        func test(_ items: [Item]) -> Bool {
            tests += 1
            let text = ScenarioWriter.yaml(items, s, header: [])
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
            let lines = flatten(current)
            outer: for (i, l) in lines.enumerated() {
                guard let x = created(by: l) else { continue }
                for y in lines[..<i].compactMap(created) {
                    var candidate = lines
                    for j in candidate.indices where j > i { candidate[j] = replace(x, with: y, in: candidate[j]) }
                    let items = refill(current, candidate)
                    if candidate != lines && test(items) {
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
        return Result(yaml: ScenarioWriter.yaml(current, s, header: header, golden: golden), before: before, after: after,
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
    static func reduce(_ start: [Item], _ holds: ([Item]) -> Bool) -> [Item] {
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
    static func doubled(_ items: [Item]) -> [Item] {
        items.map { if case let .loop(n, b) = $0 { .loop(2 * n, b) } else { $0 } }
    }

    /// Each repeat of the list: its body, then its count; a repeat of one round is inlined.
    static func reduceLoops(_ start: [Item], _ holds: ([Item]) -> Bool) -> [Item] {
        var list = start
        var i = 0
        while i < list.count {
            guard case .loop(var count, var body) = list[i] else { i += 1; continue }
            func with(_ c: Int, _ b: [Item]) -> [Item] {
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
    static func truncate(_ items: [Item], keeping last: Int) -> [Item] {
        var n = last
        func cut(_ items: [Item]) -> [Item] {
            var out: [Item] = []
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
    static func expanded(_ items: [Item]) -> Int {
        items.reduce(0) { n, item in
            switch item {
            case .line: return n + 1
            case let .loop(count, body): return n + count * expanded(body)
            }
        }
    }

    /// Event lines the items take in YAML: each event, and each repeat as one more.
    static func written(_ items: [Item]) -> Int { flatten(items).count + loops(items) }

    static func loops(_ items: [Item]) -> Int {
        items.reduce(0) { n, item in if case .loop(_, let b) = item { return n + 1 + loops(b) } else { return n } }
    }

    /// The event lines, repeats' bodies in place (once each).
    static func flatten(_ items: [Item]) -> [String] {
        items.flatMap { item -> [String] in
            switch item {
            case .line(let l): return [l]
            case .loop(_, let body): return flatten(body)
            }
        }
    }

    /// `items` with its lines replaced, in order, by `lines` (as many as `flatten` gives).
    static func refill(_ items: [Item], _ lines: [String]) -> [Item] {
        var k = 0
        func fill(_ items: [Item]) -> [Item] {
            items.map { item in
                switch item {
                case .line: k += 1; return .line(lines[k - 1])
                case let .loop(count, body): return .loop(count, fill(body))
                }
            }
        }
        return fill(items)
    }

    // MARK: re-rolling repeats

    /// The compiled events (boot aside) as lines and repeats. Processes created outside
    /// any repeat are named by pid (p5); those a round creates, c1, c2 ..., the same in
    /// every round. A repeat whose rounds do not all read the same is left unrolled.
    static func program(_ events: [Event]) -> [Item] {
        let namer = Namer()
        var names: [Int: String] = [:]
        return items(shape(events, 1..<events.count, depth: 0), events, &names, namer, inRepeat: false)
    }

    /// Events grouped by the repeats that made them: an event, or a repeat and its rounds.
    indirect enum Shape { case event(Int), loop(Int, [[Shape]]) }

    static func shape(_ evs: [Event], _ range: Range<Int>, depth: Int) -> [Shape] {
        var out: [Shape] = []
        var i = range.lowerBound
        func inRound(_ j: Int, _ round: Int, _ count: Int) -> Bool {
            j < range.upperBound && evs[j].rounds.count > depth && evs[j].rounds[depth] == Round(round: round, count: count)
        }
        while i < range.upperBound {
            guard evs[i].rounds.count > depth, evs[i].rounds[depth].round == 1 else { out.append(.event(i)); i += 1; continue }
            let count = evs[i].rounds[depth].count
            var rounds: [[Shape]] = []
            while rounds.count < count && inRound(i, rounds.count + 1, count) {
                var j = i
                while inRound(j, rounds.count + 1, count) { j += 1 }
                rounds.append(shape(evs, i..<j, depth: depth + 1))
                i = j
            }
            out.append(.loop(count, rounds))
        }
        return out
    }

    /// Hands out the names of processes created in repeats.
    final class Namer {
        var next = 0
        /// When set, the names to give, in order (a later round reuses the first round's).
        var queue: [String]?
        var given: [String] = []
        func fresh() -> String {
            let n: String
            if var q = queue, !q.isEmpty { n = q.removeFirst(); queue = q } else { next += 1; n = "c\(next)" }
            given.append(n)
            return n
        }
    }

    static func items(_ shapes: [Shape], _ evs: [Event], _ names: inout [Int: String], _ namer: Namer, inRepeat: Bool) -> [Item] {
        var out: [Item] = []
        for s in shapes {
            switch s {
            case .event(let i):
                let e = evs[i]
                var pid: Int?
                if case .userinit(let p) = e.kind { pid = p }
                if case .syscall(_, .fork) = e.kind { pid = e.child }
                if let pid { names[pid] = inRepeat ? namer.fresh() : "p\(pid)" }
                // A process no name in scope reaches (one a repeat created) is named by its pid.
                out.append(.line(ScenarioWriter.line(e) { names[$0] ?? String($0) }))
            case let .loop(count, rounds):
                let outer = names, mark = namer.given.count
                var first = outer
                let body = items(rounds[0], evs, &first, namer, inRepeat: true)
                let firstNames = Array(namer.given[mark...])
                let queueAfter = namer.queue
                var same = rounds.count == count
                for round in rounds.dropFirst() where same {
                    namer.queue = firstNames
                    let m = namer.given.count
                    var n = outer
                    same = items(round, evs, &n, namer, inRepeat: true) == body
                    namer.given.removeSubrange(m...)
                }
                namer.queue = queueAfter
                if same { out.append(.loop(count, body)) } else {
                    for round in rounds { out += items(round, evs, &names, namer, inRepeat: inRepeat) }
                }
            }
        }
        return out
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

    /// Fields whose numbers the last pass makes as small as it can.
    static let numericFields = ["n", "memsz", "filesz", "len", "max", "status", "entry", "fail_kalloc"]

    /// For each number in those fields, the smallest magnitude (by binary search between 0
    /// and the number) for which the run still shows the predicate.
    static func shrinkNumbers(_ start: [String], _ test: ([String]) -> Bool) -> [String] {
        var current = start
        for i in current.indices {
            for field in numericFields {
                guard let r = current[i].range(of: "\(field): ") else { continue }
                let digits = current[i][r.upperBound...].prefix { $0.isHexDigit || $0 == "x" || $0 == "-" }
                guard let v = parseInteger(String(digits)), v.magnitude > 0 else { continue }
                let hex = digits.hasPrefix("0x") || digits.hasPrefix("-0x")
                func with(_ m: UInt64) -> [String] {
                    var c = current
                    let text = (v.negative ? "-" : "") + (hex ? hexShort(m) : String(m))
                    c[i] = String(c[i][..<r.upperBound]) + text + c[i][digits.endIndex...]
                    return c
                }
                var lo: UInt64 = 0, hi = v.magnitude          // hi holds; find the smallest that does
                if test(with(0)) { current = with(0); continue }
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2
                    if test(with(mid)) { hi = mid } else { lo = mid }
                }
                current = with(hi)
            }
        }
        return current
    }

    /// The lines, with processes named p1, p2, ... in the order they are created outside
    /// repeats, and c1, c2, ... inside them; through names no scenario uses, so that
    /// swapping two names cannot collide.
    static func renumber(_ items: [Item]) -> [String] {
        var order: [(String, String)] = []
        var top = 0, inner = 0
        func walk(_ items: [Item], inRepeat: Bool) {
            for item in items {
                switch item {
                case .line(let l):
                    guard let x = created(by: l) else { continue }
                    if inRepeat { inner += 1; order.append((x, "c\(inner)")) } else { top += 1; order.append((x, "p\(top)")) }
                case .loop(_, let body): walk(body, inRepeat: true)
                }
            }
        }
        walk(items, inRepeat: false)
        var out = flatten(items)
        for (k, (x, _)) in order.enumerated() { out = out.map { replace(x, with: "renamed_\(k)", in: $0) } }
        for (k, (_, y)) in order.enumerated() { out = out.map { replace("renamed_\(k)", with: y, in: $0) } }
        return out
    }

    /// The process an event line creates, if it does (userinit, a fork's child).
    static func created(by l: String) -> String? {
        func word(_ s: Substring) -> String { String(s.prefix { $0.isLetter || $0.isNumber || $0 == "_" }) }
        if l.hasPrefix("userinit: ") { return word(l.dropFirst("userinit: ".count)) }
        if l.hasPrefix("fork:"), let r = l.range(of: "child: ") { return word(l[r.upperBound...]) }
        return nil
    }

    /// `line` with the name `x` (as a whole word, outside quoted strings such as paths and
    /// argv) replaced by `y`.
    static func replace(_ x: String, with y: String, in line: String) -> String {
        var out = ""
        var word = ""
        var quoted = false, escaped = false
        func flush() { out += word == x ? y : word; word = "" }
        for c in line {
            if quoted {
                out.append(c)
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { quoted = false }
            } else if c.isLetter || c.isNumber || c == "_" {
                word.append(c)
            } else {
                flush()
                out.append(c)
                quoted = c == "\""
            }
        }
        flush()
        return out
    }
}
