import XV6
import Support
import Scenario

/// Settings a run was given but never came to: `--set free_kernel_pagetable=root-only` on a
/// run where no process is freed. Such a run cannot show what the setting does, and says so.
public enum Consultation {
    /// The settings that differ from the scenario's variant and that `kernel` never read,
    /// as `key=value`, in catalogue order.
    public static func unconsulted(_ scenario: CompiledScenario, _ kernel: Kernel) -> [String] {
        let preset = KernelSettings.preset(named: scenario.config.variant) ?? .xv6_2020
        return kernel.unconsulted(comparedTo: preset).map { "\($0.key)=\($0.value(in: kernel.settings.values))" }
    }

    /// One sentence, or nil when every changed setting was read: `free_kernel_pagetable=root-only
    /// was never consulted: the run never came to how freeproc frees ...; it changed nothing`.
    public static func note(_ scenario: CompiledScenario, _ kernel: Kernel) -> String? {
        let preset = KernelSettings.preset(named: scenario.config.variant) ?? .xv6_2020
        let unused = kernel.unconsulted(comparedTo: preset)
        guard !unused.isEmpty else { return nil }
        let names = unused.map { "\($0.key)=\($0.value(in: kernel.settings.values))" }
        let listed = names.count == 1 ? names[0] : names.dropLast().joined(separator: ", ") + " and " + names.last!
        let one = unused.count == 1
        return "\(listed) \(one ? "was" : "were") never consulted, so \(one ? "it" : "they") changed nothing: "
            + "the run never reached what \(one ? "it governs" : "they govern") ("
            + unused.map(\.meaning).joined(separator: "; ") + ")"
    }
}
