import Yams
import XV6

/// The `kernel:` mapping: a variant, the image and machine, then any setting.
extension ScenarioCompiler {
    static let imageKeys = ["variant", "end", "etext", "trampoline", "phystop", "harts"]

    mutating func parseKernel(_ node: Node) {
        guard let m = node.mapping else { error(node, "expected a mapping of kernel settings, e.g. `kernel: {variant: pgtbl-lab}`"); return }
        var image = config.image
        var overrides: [(Node, String, Node)] = []
        let settingKeys = KernelSettings.catalogue.map(\.key)
        for (k, v) in m {
            switch key(k, allowed: Self.imageKeys + settingKeys) {
            case "variant":
                if let s = string(v, what: "a kernel variant") {
                    let names = KernelSettings.presets.map(\.name)
                    if let preset = KernelSettings.preset(named: s) {
                        config.variant = s
                        config.settings = preset
                    } else {
                        error(v, "unknown kernel variant '\(s)'; expected one of: \(names.joined(separator: ", "))" + suggest(s, names))
                    }
                }
            case "end": if let n = integer(v, 0...UInt64.max) { image.end = n }
            case "etext": if let n = integer(v, 0...UInt64.max) { image.etext = n }
            case "trampoline": if let n = integer(v, 0...UInt64.max) { image.trampoline = n }
            case "phystop": if let n = integer(v, 0...UInt64.max) { image.phystop = n }
            case "harts": if let n = integer(v, 1...UInt64(Param.ncpu)) { config.harts = Int(n) }
            case let setting?: overrides.append((k, setting, v))
            case nil: break
            }
        }
        // Overrides apply on top of the preset, whatever order the keys came in.
        for (_, setting, v) in overrides {
            guard let value = v.scalar?.string else { error(v, "expected a value for \(setting)"); continue }
            if let problem = config.settings.set(setting, value) { error(v, problem) }
        }
        if let problem = image.problem { error(node, "this kernel image cannot boot: \(problem)") } else { config.image = image }
    }
}
