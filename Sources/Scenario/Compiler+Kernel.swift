import Yams
import XV6
import Support

/// The `kernel:` mapping: a variant, the image and machine, then any setting.
extension ScenarioCompiler {
    mutating func parseKernel(_ node: Node) {
        guard let m = node.mapping else { error(node, "expected a mapping of kernel settings, e.g. `kernel: {variant: pgtbl-lab}`"); return }
        // The image and harts, set on a copy: the image is kept only if it can boot.
        var machine = config
        var overrides: [(Node, String, Node)] = []
        var machineKeys: [(MachineKey, UInt64)] = []
        let settingKeys = KernelSettings.catalogue.map(\.key)
        for (k, v) in m {
            switch key(k, allowed: MachineKey.kernelKeys + settingKeys) {
            case "variant":
                if let s = string(v, what: "a kernel variant") {
                    let names = KernelSettings.presets.map(\.name)
                    if let preset = KernelSettings.preset(named: s) {
                        config.variant = s
                        config.settings = preset
                        machine.image = KernelSettings.image(named: s) ?? machine.image
                    } else {
                        error(v, "unknown kernel variant '\(s)'; expected one of: \(names.joined(separator: ", "))" + suggest(s, names))
                    }
                }
            case let name? where MachineKey(rawValue: name) != nil:
                let machineKey = MachineKey(rawValue: name)!
                if let n = integer(v, machineKey.range) { machineKeys.append((machineKey, n)) }
            case let setting?: overrides.append((k, setting, v))
            case nil: break
            }
        }
        // The variant's build's image first, then what the scenario sets of it, in any key order.
        for (key, n) in machineKeys { key.set(n, in: &machine) }
        // Overrides apply on top of the preset, whatever order the keys came in.
        for (_, setting, v) in overrides {
            guard let value = v.scalar?.string else { error(v, "expected a value for \(setting)"); continue }
            if let problem = config.settings.set(setting, value) { error(v, problem) }
        }
        // A setting that cannot act under this kernel would let a run say "no leaks" of a bug
        // it never ran: refused, at the key, naming the variants that have what it needs.
        let preset = KernelSettings.preset(named: config.variant) ?? .xv6_2020
        for (key, problem) in config.settings.inertProblems(comparedTo: preset, variant: config.variant) {
            if let (k, _, _) = overrides.last(where: { $0.1 == key }) { error(k, problem) }
        }
        config.harts = machine.harts
        if let problem = machine.image.problem { error(node, "this kernel image cannot boot: \(problem)") } else { config.image = machine.image }
    }
}
