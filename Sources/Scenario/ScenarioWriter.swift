import XV6
import RISCV
import Support

/// Writes compiled events back as a scenario: the compiler's inverse (a scenario written
/// from compiled events compiles to the same events). Shrink writes each candidate with
/// it, and import the scenario it makes of a log.
package enum ScenarioWriter {
    /// A scenario's events as written: event lines, and repeats of them.
    package indirect enum Item: Equatable {
        /// One event, as a line of YAML (`fork: {parent: p1, child: p2}`).
        case line(String)
        /// `repeat: count` of a body.
        case loop(Int, [Item])
    }

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

    /// One event as a line of YAML, processes named by `name`: written by its kind's entry
    /// in the table of events (boot, which no scenario writes, as `userinit`).
    package static func line(_ e: Event, _ name: (Int) -> String) -> String {
        for syntax in EventSyntax.all { if let l = syntax.write(e, name) { return l } }
        preconditionFailure("no entry of EventSyntax.all writes \(e.kind)")
    }

    static func expectation(_ x: Expectation, _ name: (Int) -> String) -> String {
        switch x {
        case .freePages(let n): return "free_pages: \(n.map(String.init) ?? "baseline")"
        case .leaks(let n): return "leaks: \(n)"
        case .panic(let m): return "panic: \(q(m))"
        case let .mapped(pid, va, pa, perm):
            return "mapped: {proc: \(name(pid)), va: \(hexShort(va))" + (pa.map { ", pa: \(hexShort($0))" } ?? "") + (perm.map { ", perm: \($0)" } ?? "") + "}"
        case let .unmapped(pid, va): return "unmapped: {proc: \(name(pid)), va: \(hexShort(va))}"
        case let .satp(hart, pid, user):
            return "satp: {hart: \(hart), table: \(user ? "user" : "kernel")" + (pid.map { ", proc: \(name($0))" } ?? "") + "}"
        }
    }
}
