import XV6
import RISCV
import Support

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
        lines += settingsTables(presets)
        lines.append("")
        lines += folded("[design]: a choice the lab leaves open, which `replay --suggest` may make for you; bug: a value that models a mistake, which it only names.")
        for s in KernelSettings.catalogue {
            lines += folded("\(s.key) (\(s.values.joined(separator: " | "))) \(natureLabel(s)): \(s.meaning)", indent: 2, hang: 4)
        }
        lines.append("")
        lines += folded("The kernel image and the machine (the same `kernel:` keys and `--set`; the same in every variant but where said):")
        for key in MachineKey.allCases {
            var own = ""
            for p in presets where key.value(in: KernelConfig(variant: p.name)) != key.value(in: KernelConfig()) {
                own += "; \(p.name): \(key.shown(KernelConfig(variant: p.name)))"
            }
            lines += folded("\(key.rawValue) (\(key.shown(KernelConfig()))\(own)): \(key.meaning)", indent: 2, hang: 4)
        }
        lines.append("")
        lines.append("\(presets.count) variants, \(KernelSettings.catalogue.count) settings, \(MachineKey.allCases.count) image and machine keys")
        return lines.joined(separator: "\n")
    }
}

/// Every setting's value in the stock kernel, then the presets that differ from it and their
/// value, one setting a line (folded under its value column past 80 columns).
private func settingsTables(_ presets: [KernelSettings.Preset]) -> [String] {
    let stock = presets[0]
    let keyWidth = KernelSettings.catalogue.map(\.key.count).max()!
    let valueWidth = KernelSettings.catalogue.map { $0.value(in: stock.settings).count }.max()!
    var lines = ["  " + "setting".rightPadded(keyWidth) + "  " + stock.name.rightPadded(valueWidth) + "  other variants",
                 "  " + String(repeating: "-", count: keyWidth) + "  " + String(repeating: "-", count: valueWidth)
                    + "  " + String(repeating: "-", count: 14)]
    for s in KernelSettings.catalogue {
        let base = s.value(in: stock.settings)
        // The presets that differ, grouped by value in the order their first one is listed.
        var groups: [(value: String, names: [String])] = []
        for p in presets.dropFirst() where s.value(in: p.settings) != base {
            let v = s.value(in: p.settings)
            if let i = groups.firstIndex(where: { $0.value == v }) { groups[i].names.append(p.name) } else { groups.append((v, [p.name])) }
        }
        let others = groups.map { "\($0.names.joined(separator: ", ")): \($0.value)" }.joined(separator: "; ")
        let text = "  " + s.key.rightPadded(keyWidth) + "  " + base.rightPadded(valueWidth) + "  " + others
        lines += folded(text.trimmingTrailingSpaces(), indent: 0, hang: keyWidth + valueWidth + 6)
    }
    return lines
}

/// How `replay --suggest` treats a setting: "[design]", "[design; bug: root-only, none]", or
/// "[not a design]" for what no probe line shows.
func natureLabel(_ s: KernelSettings.Setting) -> String {
    let all = s.values.filter { $0 != "N" }
    if all.isEmpty || all.allSatisfy({ KernelSettings.nature(s.key, $0) == .unseen }) { return "[not a design]" }
    let bugs = all.filter { if case .bug = KernelSettings.nature(s.key, $0) { true } else { false } }
    return bugs.isEmpty ? "[design]" : "[design; bug: \(bugs.joined(separator: ", "))]"
}
