import XV6
import RISCV
import Support
import Scenario
import Run
import CosimLog

/// The kernel a log is read as: its variant, image and settings, from the log's shape and
/// the user's `--set`.
extension LogImporter {
    /// The kernel the log is read as: the one its shape suggests, with `overrides` applied.
    public static func config(of log: KernelLog, overrides: [String]) throws(ImportError) -> KernelConfig {
        var scenario = CompiledScenario(file: log.file, config: guessConfig(log), events: [])
        if let problem = scenario.apply(overrides: overrides) {
            throw ImportError(file: overridesFile, line: 0, column: 0, message: problem)
        }
        return scenario.config
    }

    /// The kernel the log came from: per-process kernel tables mean the pgtbl lab's,
    /// reference counts the cow lab's, sbrk without growproc the lazy lab's; the image from
    /// the boot mappings; `end` from the lowest page when memory ran out.
    static func guessConfig(_ log: KernelLog) -> KernelConfig {
        let lab = log.probes.contains { $0.kind == .kvmFree || ($0.kind == .satp && $0.text == "scheduler") }
        let cow = log.probes.contains { $0.kind == .refinc || $0.kind == .refdec }
        let lazy = !cow && log.probes.contains { $0.kind == .sbrk } && !log.probes.contains { $0.kind == .growproc }
        var config = KernelConfig(variant: lab ? "pgtbl-lab" : cow ? "cow-lab" : lazy ? "lazy-lab" : "xv6-2020")
        var image = config.image
        var lowest = UInt64.max
        var exhausted = false
        for p in log.probes {
            if p.kind == .allocproc { break }
            if p.kind == .map {
                if p.va == MemLayout.trampoline { image.trampoline = p.pa }
                if p.va == MemLayout.kernbase && p.pa == MemLayout.kernbase { image.etext = p.va &+ p.size }
            }
        }
        for p in log.probes where p.kind == .map && p.va == image.etext && p.pa == image.etext {
            image.phystop = p.va &+ p.size
            break
        }
        for p in log.probes where p.kind == .kalloc {
            if p.pa == 0 { exhausted = true } else { lowest = min(lowest, p.pa) }
        }
        if exhausted && lowest != UInt64.max && lowest != pageRoundUp(image.end) && lowest < image.phystop {
            image.end = lowest
        }
        if image.problem == nil { config.image = image }
        if log.vmprintLines > 0 { _ = config.settings.set("exec_vmprint", "pid1") }
        return config
    }
}
