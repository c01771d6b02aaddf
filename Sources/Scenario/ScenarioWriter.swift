import XV6
import RISCV
import Support

/// Writes compiled events back as a scenario: the compiler's inverse (a scenario written
/// from compiled events compiles to the same events). Shrink writes each candidate with
/// it, and import the scenario it makes of a log.
package enum ScenarioWriter {
    /// A scenario's events: events, and repeats of them.
    package indirect enum Tree<Leaf: Equatable>: Equatable {
        /// One event.
        case line(Leaf)
        /// `repeat: count` of a body.
        case loop(Int, [Tree])
    }

    /// A scenario's events as written: event lines (`fork: {parent: p1, child: p2}`), and
    /// repeats of them.
    package typealias Item = Tree<String>

    /// A scenario with these events, the original's kernel and checks.
    package static func yaml(_ items: [Item], _ s: CompiledScenario, header: [String], golden: GoldenKind = .trace,
                     description: String? = nil) -> String {
        var out = header.map { "# " + $0 }
        out.append("description: " + (description ?? "shrunk from \(s.file)"))
        var kernel = ["variant: \(s.config.variant)"]
        let preset = KernelSettings.preset(named: s.config.variant) ?? .xv6_2020
        for (mine, theirs) in zip(s.config.settings.listed, preset.listed) where mine.value != theirs.value {
            kernel.append("\(mine.key): \(mine.value)")
        }
        // The image and machine where they differ from the variant's (its build's image, one hart).
        let standard = KernelConfig(variant: s.config.variant)
        for key in MachineKey.allCases where key.value(in: s.config) != key.value(in: standard) {
            kernel.append("\(key.rawValue): \(key.written(s.config))")
        }
        out.append("kernel: {\(kernel.joined(separator: ", "))}")
        if s.checkInvariants { out.append("check: true") }
        if golden == .digest { out.append("golden: digest") }
        out.append("events:")
        func write(_ items: [Item], _ pad: String) {
            for item in items {
                switch item {
                case .line(let l): out.append(pad + "- " + l)
                case let .loop(count, body):
                    out.append(pad + "- repeat: \(count)")
                    out.append(pad + "  events:")
                    write(body, pad + "    ")
                }
            }
        }
        write(items, "  ")
        return out.joined(separator: "\n") + "\n"
    }

    static func q(_ s: String) -> String { JSONValue.quote(s) }

    /// One event as a line of YAML, processes named by `name`: written by its kind's spec
    /// (boot, which no scenario writes, as `userinit`).
    package static func line(_ e: Event, _ name: (Int) -> String) -> String {
        guard let l = e.spec.write(e, name) else { preconditionFailure("the spec of \(e.kind) does not write it") }
        return l
    }
}
