import XV6
import RISCV

/// Human-readable listings of compiled scenarios.
public enum Listing {
    /// The compiled event stream: index, source position and what each event does, in aligned columns.
    public static func compiled(_ s: CompiledScenario) -> String {
        var rows: [(String, String, String)] = [("#", "source", "event")]
        for (i, e) in s.events.enumerated() {
            rows.append((String(i), e.location.map { "\($0.file):\($0.line):\($0.column)" } ?? "-", e.label))
        }
        let w0 = rows.map(\.0.count).max()!, w1 = rows.map(\.1.count).max()!
        var lines = ["\(s.file): kernel \(s.config.variant), \(s.config.harts) hart\(s.config.harts == 1 ? "" : "s"), end \(hex16(s.config.image.end))"]
        for r in rows {
            lines.append(String(repeating: " ", count: w0 - r.0.count) + r.0 + "  " + r.1 + String(repeating: " ", count: w1 - r.1.count) + "  " + r.2)
        }
        lines.append("\(s.events.count) events (boot and \(s.events.count - 1) from the scenario)")
        return lines.joined(separator: "\n")
    }
}
