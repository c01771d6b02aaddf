import XV6
import Support

/// What is wrong with the kernel keys given, as `KernelConfig.apply` finds it.
package enum KernelKeyProblem: Equatable {
    /// Setting `index` (of those given) has a value it does not take.
    case setting(index: Int, String)
    /// A setting that cannot act under this kernel: its key, and why.
    case inert(key: String, String)
    /// The image cannot boot.
    case image(String)
}

extension KernelConfig {
    /// The one applier of kernel keys, for a scenario's `kernel:` and for `--set`: `variant`
    /// first (a preset's settings and its build's image), then the image and machine keys on a
    /// copy, then the settings, whatever order they came in. A setting that cannot act under
    /// this kernel would let a run say "no leaks" of a bug it never ran: it is a problem, as is
    /// an image that cannot boot (kept only if it can). `variant` names a known preset.
    /// Returns the problems: the settings', in order, then the inert settings', then the image's.
    package mutating func apply(variant: String?, machine: [(MachineKey, UInt64)],
                                settings: [(key: String, value: String)]) -> [KernelKeyProblem] {
        var problems: [KernelKeyProblem] = []
        if let variant, let preset = KernelSettings.preset(named: variant) {
            self.variant = variant
            self.settings = preset
            image = KernelSettings.image(named: variant) ?? image
        }
        var copy = self
        for (key, n) in machine { key.set(n, in: &copy) }
        for (i, s) in settings.enumerated() {
            if let problem = self.settings.set(s.key, s.value) { problems.append(.setting(index: i, problem)) }
        }
        let preset = KernelSettings.preset(named: self.variant) ?? .xv6_2020
        for (key, problem) in self.settings.inertProblems(comparedTo: preset, variant: self.variant) {
            problems.append(.inert(key: key, problem))
        }
        harts = copy.harts
        if let problem = copy.image.problem { problems.append(.image(problem)) } else { image = copy.image }
        return problems
    }
}

extension CompiledScenario {
    /// Applies `KEY=VALUE` overrides from the command line (`--set`) through the kernel keys'
    /// applier: `variant` first (it resets the settings to that preset), then each setting, or
    /// the image's `end`, `etext`, `trampoline`, `phystop` and the machine's `harts`. Returns
    /// what is wrong (the first problem, in the order given), or nil.
    public mutating func apply(overrides: [String]) -> String? {
        var pairs: [(String, String)] = []
        // A value is one line: shown back in a message, a newline in it could forge a line
        // of output ("phystop=1\nxv6vm: all good").
        for o in overrides where o.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" }) {
            let shown = o.unicodeScalars.map { $0 == "\n" ? "\\n" : $0 == "\r" ? "\\r" : String($0) }.joined()
            return "--set takes KEY=VALUE on one line; got '\(shown)'"
        }
        for o in overrides {
            guard let eq = o.firstIndex(of: "=") else { return "--set takes KEY=VALUE; got '\(o)'" }
            pairs.append((String(o[..<eq]), String(o[o.index(after: eq)...])))
        }
        for (k, v) in pairs where k == "variant" && KernelSettings.preset(named: v) == nil {
            return "unknown variant '\(v)'; expected one of: \(KernelSettings.presets.map(\.name).joined(separator: ", "))"
        }
        var machine: [(MachineKey, UInt64)] = [], settings: [(key: String, value: String)] = [], given: [Int] = []
        var badNumber: (at: Int, problem: String)?
        for (i, (k, v)) in pairs.enumerated() where k != "variant" {
            guard let key = MachineKey(rawValue: k) else { settings.append((k, v)); given.append(i); continue }
            guard let n = parseInteger(v), !n.negative else { badNumber = (i, "\(k) takes a number; got '\(v)'"); break }
            guard key.range.contains(n.magnitude) else { badNumber = (i, "\(k) must be from \(key.range.lowerBound) to \(key.range.upperBound); got \(v)"); break }
            machine.append((key, n.magnitude))
        }
        let problems = config.apply(variant: pairs.last { $0.0 == "variant" }?.1, machine: machine, settings: settings)
        // The first that comes: a setting's value, or a number of the image or machine.
        let setting = problems.lazy.compactMap { if case let .setting(i, p) = $0 { (given[i], settings[i].key, p) } else { nil } }.first
        if let (at, k, problem) = setting, at < badNumber?.at ?? Int.max {
            let keys = ["variant"] + KernelSettings.catalogue.map(\.key) + MachineKey.allCases.map(\.rawValue)
            if keys.contains(k) { return problem }
            let suggestion = didYouMean(k, keys)
            return problem + (suggestion.isEmpty ? "; the keys are \(keys.joined(separator: ", ")) (see `xv6vm variants`)" : suggestion)
        }
        if let badNumber { return badNumber.problem }
        for case let .inert(key, problem) in problems {
            // Set here, or set by the scenario and left without what it needs by a --set here.
            guard pairs.contains(where: { $0.0 == key }) else { return problem + " (the scenario sets it)" }
            return "--set \(key)=" + problem.dropFirst(key.count + 2)
                + (pairs.contains { $0.0 == "variant" } ? "" : " (choose one with --set variant=NAME)")
        }
        for case let .image(problem) in problems { return "this kernel image cannot boot: \(problem)" }
        return nil
    }
}
