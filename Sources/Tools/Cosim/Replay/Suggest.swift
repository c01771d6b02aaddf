import XV6
import Support
import Scenario
import Run
import CosimLog

/// `replay --suggest`: the design settings under which a kernel's log agrees furthest with
/// the model. At each departure every design value that could explain it is tried; the one
/// that takes the replay furthest is kept, and the search goes on from there. Bug values
/// are never chosen: one that would take the replay further is reported as what the
/// kernel probably gets wrong.
public struct Suggestion: Sendable {
    /// One choice: where the replay departed before it, the settings, and where it departs
    /// after (nil: it agrees to the end).
    public struct Step: Sendable {
        public var departedAt: Int
        public var setting: String
        public var departsAt: Int?
    }

    /// A bug setting that would take the replay past the last departure.
    public struct Bug: Sendable {
        public var setting: String
        public var meaning: String
        public var departsAt: Int?
    }

    /// A replay's verdict, or the import's refusal (the log cannot be followed that way).
    public enum Outcome: Sendable {
        case replayed(ReplayReport)
        case refused(ImportError)
    }

    public var steps: [Step] = []
    /// The settings chosen, KEY=VALUE, in the order they were chosen (the user's own first).
    public var chosen: [String] = []
    public var bugs: [Bug] = []
    /// Replays run, the first included.
    public var replays = 0
    /// The verdict under the chosen settings.
    public var outcome: Outcome

    public var agrees: Bool { if case .replayed(let r) = outcome { r.agrees } else { false } }
}

public enum Suggest {
    /// How many rounds of choices at most: each round keeps one setting (or two together).
    static let maxRounds = 12

    /// Searches the design settings for `log`, starting from the user's `overrides`.
    public static func run(_ log: KernelLog, overrides: [String] = []) throws(ImportError) -> Suggestion {
        var settings = try LogImporter.config(of: log, overrides: overrides).settings
        let end = (log.probes.last?.line ?? 0) + 1
        // How far the log is followed: any replay beats a log the import refuses.
        func reach(_ o: Suggestion.Outcome) -> Int {
            switch o {
            case .replayed(let r): r.agrees ? Int.max : end + (r.departure?.log?.line ?? end)
            case .refused(let e): e.line
            }
        }
        func line(_ reach: Int) -> Int? { reach == Int.max ? nil : reach > end ? reach - end : reach }
        var s = Suggestion(chosen: overrides, outcome: replay(log, overrides).0)
        s.replays = 1
        var tried: Set<String> = []
        for _ in 0..<maxRounds where !s.agrees {
            let here = reach(s.outcome)
            let designs = candidates(settings).filter { $0.1 == .design && !tried.contains($0.0) }.map(\.0)
            var best: (settings: [String], outcome: Suggestion.Outcome, config: KernelSettings)?
            func consider(_ change: [String]) {
                let (o, cfg) = replay(log, s.chosen + change)
                s.replays += 1
                if let cfg, reach(o) > max(here, best.map { reach($0.outcome) } ?? here) { best = (change, o, cfg) }
            }
            for c in designs { consider([c]) }
            // Some departures need two choices at once (what freeproc frees, and in which order).
            if best == nil {
                for (a, x) in designs.enumerated() {
                    for y in designs[(a + 1)...] where key(x) != key(y) { consider([x, y]) }
                }
            }
            guard let best else { break }
            tried.formUnion(best.settings)
            s.steps.append(Suggestion.Step(departedAt: line(here) ?? 0, setting: best.settings.joined(separator: " "),
                                           departsAt: line(reach(best.outcome))))
            s.chosen += best.settings
            s.outcome = best.outcome
            settings = best.config
        }
        if !s.agrees {
            let here = reach(s.outcome)
            for (candidate, nature) in candidates(settings) {
                guard case .bug(let meaning) = nature else { continue }
                let (o, _) = replay(log, s.chosen + [candidate])
                s.replays += 1
                if reach(o) > here { s.bugs.append(Suggestion.Bug(setting: candidate, meaning: meaning, departsAt: line(reach(o)))) }
            }
        }
        // The trials read no tables; the replay shown, where it departs, is run once more with them.
        if case .replayed(let r) = s.outcome, !r.agrees { s.outcome = replay(log, s.chosen, tables: true).0 }
        return s
    }

    static func key(_ setting: String) -> Substring { setting.prefix { $0 != "=" } }

    /// Every other value of every setting that can act under `settings`, as KEY=VALUE.
    package static func candidates(_ settings: KernelSettings) -> [(String, KernelSettings.Nature)] {
        // A lab kernel that panics before its scheduler ever runs looks like the stock one.
        var out: [(String, KernelSettings.Nature)] = settings.perProcessKernelPagetable ? [] : [("variant=pgtbl-lab", .design)]
        let current = Dictionary(uniqueKeysWithValues: settings.listed.map { ($0.key, $0.value) })
        for setting in KernelSettings.catalogue where setting.needs?.holds(settings) ?? true {
            for (value, nature) in KernelSettings.alternatives(setting, to: current[setting.key] ?? "") where nature != .unseen {
                out.append(("\(setting.key)=\(value)", nature))
            }
        }
        return out
    }

    /// The replay of `log` under `overrides`, and the settings it ran (nil: the overrides are refused).
    static func replay(_ log: KernelLog, _ overrides: [String], tables: Bool = false) -> (Suggestion.Outcome, KernelSettings?) {
        do {
            // Read as `replay` reads it, once, to the end (no stopping early: a log the import
            // cannot follow is refused, whatever its departure).
            try LogImporter.refuseEmpty(log)
            let config = try LogImporter.config(of: log, overrides: overrides)
            var report = try Replay.run(log, config: config, tables: tables)
            report.variantGuessed = !overrides.contains(where: { $0.hasPrefix("variant=") })
            return (.replayed(report), config.settings)
        } catch {
            // Refused settings are no candidate; a log the import cannot follow under them is.
            return (.refused(error), error.file == LogImporter.overridesFile ? nil : try? LogImporter.config(of: log, overrides: overrides).settings)
        }
    }
}

extension Suggestion {
    /// What the search chose, line by line, then the `--set` line to paste.
    public var text: String {
        var lines: [String] = []
        func at(_ line: Int?) -> String { line.map { "departs at line \($0)" } ?? "agrees to the end" }
        if steps.isEmpty {
            lines.append(agrees ? "suggest: the log agrees with no design setting changed"
                                : "suggest: no design setting takes the replay any further")
        } else {
            lines.append("suggest: at each departure, the design settings that take the replay furthest:")
            let w = steps.flatMap { $0.setting.split(separator: " ") }.map(\.count).max() ?? 0
            let lw = steps.map { String($0.departedAt).count }.max() ?? 0
            for st in steps {
                for (n, one) in st.setting.split(separator: " ").enumerated() {
                    let head = n == 0 ? "line " + String(st.departedAt).leftPadded(lw) : String(repeating: " ", count: lw + 5)
                    let tail = n == 0 ? "  " + at(st.departsAt) : ""
                    lines.append(("  " + head + "  " + one + String(repeating: " ", count: w - one.count) + tail).trimmingTrailingSpaces())
                }
            }
        }
        for b in bugs {
            lines += folded("a bug would explain the departure: your kernel probably \(b.meaning).", indent: 0, hang: 2)
            lines.append("  to see past it, model it with --set \(b.setting)")
            lines.append("  (the replay then \(at(b.departsAt)))")
        }
        if !chosen.isEmpty {
            lines.append("settings (paste them after `xv6vm replay LOG`):")
            var line = " "
            for option in chosen.map({ "--set \($0)" }) {
                if line.count + 1 + option.count > 76 { lines.append(line + " \\"); line = " " }
                line += " " + option
            }
            lines.append(line)
        }
        lines.append("\(replays) replay\(replays == 1 ? "" : "s") tried. The verdict under these settings:")
        lines.append("")
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Suggestion {
    /// The search and the verdict as one JSON object: `suggest` beside the replay's own keys.
    public var json: JSONValue {
        var o: [String: JSONValue] = [:]
        switch outcome {
        case .replayed(let r): if case .o(let j) = r.json { o = j }
        case .refused(let e): o = ["error": .s(e.description)]
        }
        func line(_ l: Int?) -> JSONValue { l.map { .i(Int64($0)) } ?? .null }
        o["suggest"] = .o([
            "steps": .a(steps.map { .o(["departed_at": .i(Int64($0.departedAt)), "setting": .s($0.setting), "departs_at": line($0.departsAt)]) }),
            "settings": .a(chosen.map { .s($0) }),
            "bugs": .a(bugs.map { .o(["setting": .s($0.setting), "meaning": .s($0.meaning), "departs_at": line($0.departsAt)]) }),
            "replays": .i(Int64(replays)),
        ])
        return .o(o)
    }
}
