import Foundation
import XV6
import RISCV
import Support
import Scenario
import Run

extension Shrink {
    /// Why a predicate cannot be used: the original does not show it, or it is not one.
    public struct PredicateError: Error, CustomStringConvertible {
        public var description: String
    }

    /// What the small scenario must still show. Specific, so the reduction cannot drift
    /// to another bug: the same panic message, a leak whose top record is at the same site,
    /// a trace that departs from its golden at the same kind of line.
    public enum Predicate: Equatable, Sendable, CustomStringConvertible {
        case panic(String)
        case leak(site: String)
        /// A failed expectation whose report, numbers masked, is this.
        case failedExpectation(String)
        /// A broken invariant whose report, numbers masked, is this.
        case invariant(String)
        /// The trace differs from the trace of the same events under the `reference` kernel
        /// (KEY=VALUE overrides, as for `--set`), and its first differing pair of lines, with
        /// numbers masked, is the same: `expected` on the golden's side, `actual` on this run's.
        case golden(reference: [String], expected: String, actual: String)

        /// `panic`, `panic:MSG`, `leak`, `leak:a > b > c`, `expect`, `expect:REPORT`, `invariant`, `invariant:REPORT`, `golden`,
        /// `golden:KEY=VALUE,...`; the bare forms take the message, site or departure from the
        /// original run. Bare `golden` takes its reference kernel from the settings recorded
        /// in the header of the original's golden (`golden` is where to look for it).
        public init(_ text: String, original: CompiledScenario, file: String? = nil,
                    store: GoldenStore = GoldenStore()) throws(PredicateError) {
            let (word, arg) = text.firstIndex(of: ":").map { (String(text[..<$0]), String(text[text.index(after: $0)...])) } ?? (text, "")
            func fail(_ why: String) -> PredicateError { PredicateError(description: why) }
            /// A predicate named in full must hold for the original too.
            func check() throws(PredicateError) {
                if !holds(original) { throw fail("the original run does not show \(self)") }
            }
            switch word {
            case "panic":
                if !arg.isEmpty { self = .panic(arg); try check(); return }
                guard let p = Runner.run(original, writer: nil).0.panic else { throw fail("the original run does not panic") }
                self = .panic(p.message)
            case "leak":
                if !arg.isEmpty { self = .leak(site: arg); try check(); return }
                let (r, k) = Runner.run(original, writer: nil)
                guard let k, let top = LeakReport(scenario: original, kernel: k, result: r).records.first else {
                    throw fail("the original run leaks nothing")
                }
                self = .leak(site: top.site.joined(separator: " > "))
            case "expect":
                if !arg.isEmpty { self = .failedExpectation(Self.mask(arg)); try check(); return }
                guard let first = Runner.run(original, writer: nil).0.failedExpectations.first else { throw fail("every expectation of the original holds") }
                self = .failedExpectation(Self.mask(first.text))
            case "invariant":
                var s = original
                s.checkInvariants = true
                if !arg.isEmpty { self = .invariant(Self.mask(arg)); try check(); return }
                guard let first = Runner.run(s, writer: nil).0.violations.first else { throw fail("the original run breaks no invariant") }
                self = .invariant(Self.mask(first.text))
            case "golden":
                let reference: [String]
                if arg.isEmpty {
                    guard let file else { throw fail("bare `golden` needs the scenario's file, to find its golden") }
                    let path = store.goldenPath(for: file, kind: original.golden)
                    let data: [UInt8]
                    switch Golden.load(path) {
                    case .missing: throw fail("\(path) does not exist; name the kernel to compare with: golden:KEY=VALUE,...")
                    case .unreadable(let reason): throw fail("cannot read \(path): \(reason)")
                    case .bytes(let b): data = b
                    }
                    if Golden.kept(original) == [UInt8](data) { throw fail("its trace matches \(path); there is no difference to keep") }
                    let recorded = Self.settings(inHeaderOf: [UInt8](data.prefix(4096)))
                    var r = original
                    if r.apply(overrides: recorded) != nil || r.config == original.config {
                        throw fail("\(path) was written under the same kernel settings as the scenario now runs with, so its difference "
                                   + "comes from the events or from a change to xv6vm itself, and shrink can run only one side of it; "
                                   + "name a kernel to compare with: golden:KEY=VALUE,...")
                    }
                    // Only what differs: the variant if it does, then each setting that does.
                    var base = original, diff: [String] = []
                    if r.config.variant != original.config.variant {
                        diff.append("variant=\(r.config.variant)")
                        _ = base.apply(overrides: diff)
                    }
                    for (mine, theirs) in zip(base.config.settings.listed, r.config.settings.listed) where mine.value != theirs.value {
                        diff.append("\(theirs.key)=\(theirs.value)")
                    }
                    for key in MachineKey.allCases where key.value(in: base.config) != key.value(in: r.config) {
                        diff.append("\(key.rawValue)=\(key.written(r.config))")
                    }
                    reference = diff
                } else {
                    reference = arg.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    var r = original
                    if let problem = r.apply(overrides: reference) { throw fail(problem) }
                }
                guard let (departure, _) = Self.firstDifference(original, reference: reference) else {
                    throw fail("the original's trace is the same under the reference kernel (\(reference.joined(separator: ",")))")
                }
                self = .golden(reference: reference, expected: departure.expected, actual: departure.actual)
            default:
                throw fail("'\(text)' is not a predicate; expected one of panic, panic:MSG, leak, leak:SITE, expect, expect:REPORT, invariant, invariant:REPORT, golden, golden:KEY=VALUE,...")
            }
        }

        public var description: String {
            switch self {
            case .panic(let m): return "panic:\(m)"
            case .leak(let s): return "leak:\(s)"
            case .failedExpectation(let m): return "expect:\(m)"
            case .invariant(let m): return "invariant:\(m)"
            case .golden(let reference, _, _): return "golden:" + reference.joined(separator: ",")
            }
        }

        /// For a golden difference: the first differing lines, with numbers masked.
        public var departure: (expected: String, actual: String)? {
            if case let .golden(_, e, a) = self { return (e, a) } else { return nil }
        }

        /// Whether a run of `s` shows it.
        public func holds(_ s: CompiledScenario) -> Bool { witness(s) != nil }

        /// See `witness(_:failureSite:runs:)`.
        public func witness(_ s: CompiledScenario, failureSite: String? = nil) -> Int? {
            witness(s, failureSite: failureSite, runs: nil)
        }

        /// The index of the event at which a run of `s` shows it (for a leak: the last event
        /// that ran), or nil when it does not.
        /// With `failureSite`, the run must also have made a kalloc fail at that site.
        /// With `runs`, the run starts from a snapshot of an earlier one where it can.
        func witness(_ s: CompiledScenario, failureSite: String? = nil, runs: PrefixRuns? = nil) -> Int? {
            var s = s
            if case .invariant = self { s.checkInvariants = true }
            func failsAtSite(_ k: Kernel?) -> Bool {
                guard let failureSite else { return true }
                guard let k, let f = k.injectedFailure else { return false }
                return k.sites.name(f.site) == failureSite
            }
            if case let .golden(reference, expected, actual) = self {
                guard let (d, event) = Self.firstDifference(s, reference: reference), d.expected == expected, d.actual == actual,
                      failureSite == nil || failsAtSite(Runner.run(s, writer: nil).1) else { return nil }
                return event
            }
            let (r, k) = runs?.run(s) ?? Runner.run(s, writer: nil)
            guard failsAtSite(k) else { return nil }
            switch self {
            case .panic(let m): return r.panic?.message == m ? r.panicEvent : nil
            case .leak(let site):
                guard let k, let top = LeakReport(scenario: s, kernel: k, result: r).records.first,
                      top.site.joined(separator: " > ") == site else { return nil }
                return r.eventsRun - 1
            case .failedExpectation(let m): return r.failedExpectations.first { Self.mask($0.text) == m }?.event
            case .invariant(let m): return r.violations.first { Self.mask($0.text) == m }?.event
            case .golden: return nil
            }
        }

        // MARK: golden differences

        /// The settings a trace header records, as overrides: `variant=...` first.
        static func settings(inHeaderOf bytes: [UInt8]) -> [String] {
            let keys = Set(KernelSettings.catalogue.map(\.key) + MachineKey.allCases.map(\.rawValue))
            var out: [String] = []
            for (name, value) in TraceLines.settings(in: bytes) {
                if name == "variant" { out.insert("variant=\(value)", at: 0) } else if keys.contains(name) { out.append("\(name)=\(value)") }
            }
            return out
        }

        /// Runs `s` under `reference`, then as it is, and compares their records from their
        /// first event on (their headers differ by the settings): the first differing pair of
        /// lines with numbers masked ("(end)" where a trace has ended), and the event it is in.
        static func firstDifference(_ s: CompiledScenario, reference: [String]) -> ((expected: String, actual: String), Int)? {
            var r = s
            guard r.apply(overrides: reference) == nil else { return nil }
            let (theirs, theirSites) = records(of: r)
            let mine = TraceWriter(format: .none, sites: SiteTree())
            let names = SiteNames()
            var i = 0, started = false
            var departure: (mine: TraceRecord?, event: Int)?
            mine.tap = { [unowned mine] record, event in
                started = started || record.kind == .event
                guard started, departure == nil, record.kind != .mark else { return }
                if i < theirs.count && names.same(theirs[i], theirSites, record, mine.sites) { i += 1 } else { departure = (record, event) }
            }
            let (result, _) = Runner.run(s, writer: mine)
            if departure == nil && i < theirs.count { departure = (nil, max(result.eventsRun - 1, 0)) }
            guard let (m, event) = departure else { return nil }
            let (expected, actual) = firstLines(i < theirs.count ? theirs[i].text(sites: theirSites) : nil, m?.text(sites: mine.sites))
            return ((expected.map(mask) ?? "(end)", actual.map(mask) ?? "(end)"), event)
        }

        /// A run's records from its first event on (marks left out), and the tree naming their sites.
        private static func records(of s: CompiledScenario) -> ([TraceRecord], SiteTree) {
            let w = TraceWriter(format: .none, sites: SiteTree())
            var out: [TraceRecord] = []
            var started = false
            w.tap = { record, _ in
                started = started || record.kind == .event
                if started && record.kind != .mark { out.append(record) }
            }
            Runner.run(s, writer: w)
            return (out, w.sites)
        }

        /// The first pair of lines where two records' texts differ (nil: that side has no record).
        private static func firstLines(_ a: String?, _ b: String?) -> (String?, String?) {
            guard let a, let b else { return (a?.split(separator: "\n").first.map(String.init), b?.split(separator: "\n").first.map(String.init)) }
            let x = a.split(separator: "\n", omittingEmptySubsequences: false), y = b.split(separator: "\n", omittingEmptySubsequences: false)
            for k in 0..<max(x.count, y.count) where k >= x.count || k >= y.count || x[k] != y[k] {
                return (k < x.count ? String(x[k]) : nil, k < y.count ? String(y[k]) : nil)
            }
            return (String(x.last ?? ""), String(y.last ?? ""))
        }

        /// A trace line or report with its numbers (addresses, pids, counts) as `#` and its
        /// event labels dropped, so that the same departure is recognised in a smaller scenario.
        package static func mask(_ line: String) -> String {
            if line.hasPrefix("event ") { return "event" }
            let squeezed = line.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            var out = "", chars = Array(squeezed), i = 0
            func isWord(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }
            while i < chars.count {
                let startsWord = i == 0 || !isWord(chars[i - 1])
                if startsWord, chars[i].isASCII, chars[i].isNumber {
                    var j = i + 1
                    if chars[i] == "0", j < chars.count, chars[j] == "x" { j += 1; while j < chars.count && chars[j].isHexDigit { j += 1 } }
                    else { while j < chars.count && chars[j].isASCII && chars[j].isNumber { j += 1 } }
                    out += "#"
                    i = j
                    continue
                }
                out.append(chars[i])
                i += 1
            }
            return out
        }
    }
}

/// Compares records of two runs, whose trees number the same sites differently: by name.
private final class SiteNames {
    private var names: [ObjectIdentifier: [Int32: String]] = [:]

    func name(_ site: Int32, _ tree: SiteTree) -> String {
        if let n = names[ObjectIdentifier(tree)]?[site] { return n }
        let n = tree.name(site)
        names[ObjectIdentifier(tree), default: [:]][site] = n
        return n
    }

    func same(_ a: TraceRecord, _ sa: SiteTree, _ b: TraceRecord, _ sb: SiteTree) -> Bool {
        switch (a, b) {
        case let (.kernel(.kalloc(p, s, x)), .kernel(.kalloc(q, t, y))), let (.kernel(.kfree(p, s, x)), .kernel(.kfree(q, t, y))):
            return p == q && x == y && name(s, sa) == name(t, sb)
        case let (.kernel(.kallocFailed(s, x)), .kernel(.kallocFailed(t, y))):
            return x == y && name(s, sa) == name(t, sb)
        default:
            return a == b
        }
    }
}
