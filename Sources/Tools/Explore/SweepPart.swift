import Foundation
import XV6
import RISCV
import Support
import Scenario
import Run

/// What a sweep ran, in full: the first line of `sweep --format json`. It makes a part of a
/// sharded sweep (or what an interrupted sweep kept) self-describing, so that parts can be
/// merged, and a sweep resumed, only with runs of the same scenario and settings.
public struct SweepHeader: Equatable, Sendable {
    /// The version of this format; a reader refuses any other.
    public static let version = 1
    /// The most runs a sweep may have, so that a hostile header cannot make a reader
    /// build an enormous list of calls.
    public static let maxRuns = 50_000_000

    /// The scenario's file name, as reports show it.
    public var scenario: String
    /// The scenario as the command line named it (the report's `shrink` hint shows it).
    public var path: String
    /// `CompiledScenario.digest` of the scenario as run (`--set` and `--check` applied).
    public var digest: String
    public var variant: String
    /// Every kernel setting, the image and the harts, as `xv6vm variants` names them.
    public var settings: [String: String]
    /// The `--set KEY=VALUE` given, in order (informative: `settings` holds their effect).
    public var overrides: [String]
    public var check: Bool
    public var boot: Bool
    public var sample: Int?
    /// The calls of the whole sweep: `first` to `last`, `sample` of them when sampled.
    public var first: Int
    public var last: Int
    /// This part: shard `shard` of `shards`, and exactly its calls.
    public var shard: Int
    public var shards: Int
    public var calls: [Int]

    /// The calls of the whole sweep, every shard's.
    public var allCalls: [Int] { Sweep.sample(first, last, sample ?? 0) }

    /// The same sweep, whole: the header an unsharded run writes.
    public var whole: SweepHeader {
        var h = self
        h.shard = 1; h.shards = 1; h.calls = allCalls
        return h
    }

    /// A scenario carrying only what reports show of it: its name and variant.
    public var reportScenario: CompiledScenario {
        CompiledScenario(file: scenario, config: KernelConfig(variant: variant), events: [])
    }

    static func settings(_ c: KernelConfig) -> [String: String] {
        var s: [String: String] = ["variant": c.variant, "harts": String(c.harts),
                                   "end": hex16(c.image.end), "etext": hex16(c.image.etext),
                                   "trampoline": hex16(c.image.trampoline), "phystop": hex16(c.image.phystop)]
        for (k, v) in c.settings.listed { s[k] = v }
        return s
    }

    public var json: JSONValue {
        .o(["kind": .s("sweep"), "version": .i(Int64(Self.version)),
            "scenario": .s(scenario), "path": .s(path), "digest": .s(digest), "variant": .s(variant),
            "settings": .o(settings.mapValues { .s($0) }), "set": .a(overrides.map { .s($0) }),
            "check": .b(check), "boot": .b(boot), "sample": sample.map { .i(Int64($0)) } ?? .null,
            "sweep": .o(["first": .i(Int64(first)), "last": .i(Int64(last)), "runs": .i(Int64(allCalls.count))]),
            "shard": .s("\(shard)/\(shards)"), "runs": .i(Int64(calls.count)),
            "calls": .a(Self.ranges(calls).map { r in .a(r.map { .i(Int64($0)) }) })])
    }

    /// Ascending calls as runs of [first, last, step]: a shard of every call is one run.
    public static func ranges(_ calls: [Int]) -> [[Int]] {
        var out: [[Int]] = []
        var i = 0
        while i < calls.count {
            var j = i
            let step = i + 1 < calls.count ? calls[i + 1] - calls[i] : 1
            while j + 1 < calls.count && calls[j + 1] - calls[j] == step { j += 1 }
            out.append([calls[i], calls[j], j > i ? step : 1])
            i = j + 1
        }
        return out
    }

    /// What makes `o` a header of another sweep than this one, in words that call `o`'s
    /// file "it" and this one `ours`; empty when both are parts of one sweep (the path,
    /// the shard and its calls may differ).
    public func differences(from o: SweepHeader, ours: String) -> [String] {
        var d: [String] = []
        if scenario != o.scenario { d.append("it is of \(o.scenario), \(ours) of \(scenario)") }
        let keys = Set(settings.keys).union(o.settings.keys).sorted().filter { settings[$0] != o.settings[$0] }
        if !keys.isEmpty {
            let shown = keys.prefix(3).map { "\($0) \(o.settings[$0] ?? "-"), not \(settings[$0] ?? "-")" }
            func set(_ h: SweepHeader) -> String { h.overrides.isEmpty ? "no --set" : "--set " + h.overrides.joined(separator: " --set ") }
            d.append("settings differ: " + shown.joined(separator: ", ") + (keys.count > 3 ? " and \(keys.count - 3) more" : "")
                     + " (it ran with \(set(o)), \(ours) with \(set(self)))")
        }
        func with(_ b: Bool, _ option: String) -> String { b ? "with \(option)" : "without \(option)" }
        if check != o.check { d.append("it ran \(with(o.check, "--check")), \(ours) \(with(check, "--check"))") }
        if boot != o.boot { d.append("it ran \(with(o.boot, "--boot")), \(ours) \(with(boot, "--boot"))") }
        func sampled(_ k: Int?) -> String { k.map { "--sample \($0)" } ?? "no --sample" }
        if sample != o.sample { d.append("it ran with \(sampled(o.sample)), \(ours) with \(sampled(sample))") }
        if d.isEmpty && (first, last) != (o.first, o.last) {
            d.append("its sweep is of calls \(o.first) to \(o.last), that of \(ours) of \(first) to \(last)")
        }
        if d.isEmpty && digest != o.digest {
            d.append("the scenario's digest differs: the scenario, or a file it includes, changed between the runs")
        }
        return d
    }
}

extension SweepHeader {
    /// The header of shard `shard` of `shards` of a sweep of `scenario`, as the command
    /// line named it `path`; runs the scenario once to count its allocations.
    public init(_ scenario: CompiledScenario, path: String, overrides: [String], boot: Bool, sample: Int?, shard: Int = 1, of shards: Int = 1) {
        let (bootCalls, total) = Sweep.allocations(scenario)
        self.scenario = scenario.file
        self.path = path
        digest = scenario.digest
        variant = scenario.config.variant
        settings = Self.settings(scenario.config)
        self.overrides = overrides
        check = scenario.checkInvariants
        self.boot = boot
        self.sample = sample
        first = boot ? 1 : bootCalls + 1
        last = total
        self.shard = shard
        self.shards = shards
        calls = []
        calls = shardItems(allCalls, index: shard, count: shards)
    }
}

extension CompiledScenario {
    /// The SHA-256, in hex, of the scenario's canonical form: its name, kernel, image,
    /// machine, whether invariants are checked, and every event (what it does, the line
    /// and column it came from, its included file relative to the scenario). Two
    /// compilations of the same files give the same digest wherever they are; no hashed
    /// order is involved (no dictionary or set is part of a compiled scenario).
    public var digest: String {
        var sha = SHA256()
        func add(_ s: String) { sha.update(Array((s + "\n").utf8)) }
        add("xv6vm-scenario 1")
        add(file)
        add(Self.canonical(config))
        add("check \(checkInvariants)")
        for (i, e) in events.enumerated() {
            let at = e.location.map { "\($0.line):\($0.column)" } ?? "-"
            add("\(i) \(at) \(e.source ?? "-") \(e.label)")
            add(Self.canonical(e.kind))
            add("child \(e.child.map(String.init) ?? "-") fails \(e.forkFails) rounds "
                + e.rounds.map { "\($0.round)/\($0.count)" }.joined(separator: ","))
        }
        return sha.finishHex()
    }

    /// A value as Swift reflects it, its types named as they were when the digest was
    /// defined, in the module `Simulation` (since split by job): a part written before the
    /// split still merges and resumes with one written after.
    static func canonical(_ value: Any) -> String {
        let text = String(reflecting: value)
        guard text.contains("Scenario.") else { return text }
        return text.replacingOccurrences(of: #"(?<![\w"])Scenario\.(?=[A-Z])"#, with: "Simulation.", options: .regularExpression)
    }
}
