import XV6
import RISCV

/// Human-readable listings of compiled scenarios.
public enum Listing {
    /// The compiled event stream: index, source position and what each event does, in aligned columns.
    public static func compiled(_ s: CompiledScenario) -> String {
        var rows: [(String, String, String)] = [("#", "source", "event")]
        for (i, e) in s.events.enumerated() {
            // Named as the trace names it: the scenario's file name, or an included file's path.
            rows.append((String(i), e.location.map { "\(e.source ?? s.file):\($0.line):\($0.column)" } ?? "-", e.label))
        }
        let w0 = rows.map(\.0.count).max()!, w1 = rows.map(\.1.count).max()!
        var lines = ["\(s.file): kernel \(s.config.variant), \(s.config.harts) hart\(s.config.harts == 1 ? "" : "s"), end \(hex16(s.config.image.end))"]
        for r in rows {
            lines.append(String(repeating: " ", count: w0 - r.0.count) + r.0 + "  " + r.1 + String(repeating: " ", count: w1 - r.1.count) + "  " + r.2)
        }
        lines.append("\(s.events.count) events (boot and \(s.events.count - 1) from the scenario)")
        return lines.joined(separator: "\n")
    }

    /// The presets, one line each, then every setting with its values, its meaning and its value in each preset.
    public static func variants() -> String {
        let presets = KernelSettings.presets
        var lines = ["Variants (a scenario picks one with `kernel: {variant: NAME}`):"]
        let w = presets.map(\.name.count).max()!
        for p in presets { lines += folded(p.name + String(repeating: " ", count: w - p.name.count) + "  " + p.summary, indent: 2, hang: w + 2) }
        lines.append("")
        lines.append("Settings (override one with `kernel: {KEY: VALUE}` or `--set KEY=VALUE`):")
        let header = ["setting"] + presets.map(\.name)
        var rows = [header]
        for s in KernelSettings.catalogue {
            rows.append([s.key] + presets.map { p in p.settings.listed.first { $0.key == s.key }!.value })
        }
        let widths = (0..<header.count).map { c in rows.map { $0[c].count }.max()! }
        // Two spaces between columns, or one where two would pass 80 columns.
        let gap = widths.reduce(2) { $0 + $1 } + 2 * (widths.count - 1) <= 80 ? "  " : " "
        let indent = widths.reduce(2) { $0 + $1 } + gap.count * (widths.count - 1) <= 80 ? "  " : ""
        for (i, r) in rows.enumerated() {
            lines.append(indent + r.enumerated().map { c, v in v + String(repeating: " ", count: widths[c] - v.count) }.joined(separator: gap).trimmingTrailingSpaces())
            if i == 0 { lines.append(indent + widths.map { String(repeating: "-", count: $0) }.joined(separator: gap)) }
        }
        lines.append("")
        lines += folded("[design]: a choice the lab leaves open, which `replay --suggest` may make for you; bug: a value that models a mistake, which it only names.")
        for s in KernelSettings.catalogue {
            lines += folded("\(s.key) (\(s.values.joined(separator: " | "))) \(natureLabel(s)): \(s.meaning)", indent: 2, hang: 4)
        }
        lines.append("")
        lines += folded("The kernel image and the machine (the same `kernel:` keys and `--set`; the same in every variant):")
        for key in MachineKey.allCases {
            lines += folded("\(key.rawValue) (\(key.shown(KernelConfig()))): \(key.meaning)", indent: 2, hang: 4)
        }
        lines.append("")
        lines.append("\(presets.count) variants, \(KernelSettings.catalogue.count) settings, \(MachineKey.allCases.count) image and machine keys")
        return lines.joined(separator: "\n")
    }
}

/// How `replay --suggest` treats a setting: "[design]", "[design; bug: root-only, none]", or
/// "[not a design]" for what no probe line shows.
func natureLabel(_ s: KernelSettings.Setting) -> String {
    let all = s.values.filter { $0 != "N" }
    if all.isEmpty || all.allSatisfy({ KernelSettings.nature(s.key, $0) == .unseen }) { return "[not a design]" }
    let bugs = all.filter { if case .bug = KernelSettings.nature(s.key, $0) { true } else { false } }
    return bugs.isEmpty ? "[design]" : "[design; bug: \(bugs.joined(separator: ", "))]"
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
