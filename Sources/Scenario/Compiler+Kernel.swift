import Yams
import XV6
import Support

/// The `kernel:` mapping: a variant, the image and machine, then any setting, applied by the
/// kernel keys' one applier (KernelKeys.swift), which `--set` uses too.
extension ScenarioCompiler {
    mutating func parseKernel(_ node: Node) {
        guard let m = node.mapping else { error(node, "expected a mapping of kernel settings, e.g. `kernel: {variant: pgtbl-lab}`"); return }
        var variant: String?
        var overrides: [(key: Node, setting: String, value: Node)] = []
        var machineKeys: [(MachineKey, UInt64)] = []
        let settingKeys = KernelSettings.catalogue.map(\.key)
        for (k, v) in m {
            switch key(k, allowed: MachineKey.kernelKeys + settingKeys) {
            case "variant":
                if let s = string(v, what: "a kernel variant") {
                    let names = KernelSettings.presets.map(\.name)
                    if KernelSettings.preset(named: s) != nil {
                        variant = s
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
        let given = overrides.filter { $0.value.scalar != nil }
        let problems = config.apply(variant: variant, machine: machineKeys,
                                    settings: given.map { ($0.setting, $0.value.scalar!.string) })
        // Each setting's problem at its value, in the order written.
        var refused: [Int: String] = [:]
        for case let .setting(i, problem) in problems { refused[i] = problem }
        var g = 0
        for o in overrides {
            guard o.value.scalar != nil else { error(o.value, "expected a value for \(o.setting)"); continue }
            if let problem = refused[g] { error(o.value, problem) }
            g += 1
        }
        // A setting that cannot act under this kernel is refused at its key.
        for case let .inert(key, problem) in problems {
            if let o = overrides.last(where: { $0.setting == key }) { error(o.key, problem) }
        }
        for case let .image(problem) in problems { error(node, "this kernel image cannot boot: \(problem)") }
    }
}
