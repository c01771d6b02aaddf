import XV6
import RISCV

/// What a run came to.
public struct RunResult: Sendable {
    /// The kernel's panic, if it panicked, and the index of the event that caused it.
    public var panic: KernelPanic?
    public var panicEvent: Int?
    /// Things the real kernel does silently that the simulator caught (double frees ...).
    public var findings: [Finding]
    /// Events that could not run as compiled (their process does not exist because a fork failed).
    public var skipped: [Int]
    public var counters: Counters
    /// Free pages when the run ended.
    public var freePages: Int
    /// Events executed (including boot).
    public var eventsRun: Int
    /// Invariant violations found after events (when checking), with the event index.
    public var violations: [(event: Int, text: String)] = []

    /// 0 when the kernel neither panicked, nor produced a finding, nor broke an invariant; else 1.
    /// Skipped events count too: the scenario did not do what it said.
    public var exitCode: Int32 { panic == nil && findings.isEmpty && violations.isEmpty && skipped.isEmpty ? 0 : 1 }
}

/// Executes a compiled scenario on a freshly booted kernel.
public enum Runner {
    /// Runs `scenario`, writing its trace into `writer` (nil: no trace at all).
    /// Returns the kernel too, for inspection.
    @discardableResult
    public static func run(_ scenario: CompiledScenario, writer: TraceWriter?) -> (RunResult, Kernel?) {
        let sites = writer?.sites ?? SiteTree()
        writer?.header(scenario)
        var result = RunResult(panic: nil, panicEvent: nil, findings: [], skipped: [], counters: Counters(), freePages: 0, eventsRun: 0)
        var kernel: Kernel?
        for (index, event) in scenario.events.enumerated() {
            writer?.begin(event: index, event)
            result.eventsRun = index + 1
            do throws(KernelPanic) {
                if case .boot = event.kind {
                    kernel = try Kernel(config: scenario.config, sink: writer, sites: sites)
                    continue
                }
                guard let k = kernel else { break }
                if let skipped = try execute(event.kind, on: k, writer: writer) {
                    result.skipped.append(index)
                    writer?.note("skip", skipped)
                }
                if scenario.checkInvariants {
                    for v in try k.checkInvariants() {
                        result.violations.append((index, v))
                        writer?.note("invariant", v)
                    }
                }
            } catch {
                writer?.record(.panic(error))
                result.panic = error
                result.panicEvent = index
                break
            }
        }
        if let k = kernel {
            result.counters = k.counters
            result.findings = k.findings
            result.freePages = k.freePages
        }
        writer?.note("end", "events \(result.eventsRun) free-pages \(result.freePages) kalloc \(result.counters.kallocs) kfree \(result.counters.kfrees) findings \(result.findings.count)"
                     + (scenario.checkInvariants ? " invariant-violations \(result.violations.count)" : "")
                     + (result.panic.map { " panic \"\($0.message)\"" } ?? ""),
                     fields: ["free_pages": .i(Int64(result.freePages)), "kallocs": .i(Int64(result.counters.kallocs)),
                              "kfrees": .i(Int64(result.counters.kfrees)), "findings": .i(Int64(result.findings.count))])
        writer?.finish()
        return (result, kernel)
    }

    /// Runs one event; returns why it was skipped, or nil.
    static func execute(_ kind: EventKind, on k: Kernel, writer: TraceWriter?) throws(KernelPanic) -> String? {
        switch kind {
        case .boot:
            return nil
        case .userinit(let pid):
            let got = try k.userinit()
            return got == pid ? nil : "userinit created pid \(got), not \(pid)"
        case let .syscall(pid, call):
            switch try k.syscall(pid: pid, call) {
            case .returned: return nil
            case .noSuchProcess: return "pid \(pid) does not exist (the fork that was to create it failed)"
            case .notRunnable: return "pid \(pid) is a zombie and cannot run"
            case .wouldBlock: return "wait by pid \(pid) would block: no child has exited"
            }
        case let .vmprint(pid, kernelTable):
            guard let slot = k.slot(ofPid: pid) else { return "pid \(pid) does not exist" }
            let root = kernelTable ? k.procs[slot].kernelPagetable : k.procs[slot].pagetable
            for line in try k.vmprint(root) { writer?.record(.console(line)) }
            return nil
        case let .run(pid, hart):
            switch try k.run(pid: pid, hart: hart) {
            case .returned: return nil
            default: return "pid \(pid) cannot run: it has exited"
            }
        case let .access(pid, va, access, faults):
            switch try k.userAccess(pid: pid, va: va, access) {
            case .ok: return faults ? "expected \(access.rawValue) of \(hex16(va)) by pid \(pid) to fault, but it succeeded" : nil
            case .killed: return faults ? nil : "\(access.rawValue) of \(hex16(va)) by pid \(pid) faulted and killed it (write `faults: true` if that is expected)"
            case .noSuchProcess: return "pid \(pid) does not exist"
            case .notRunnable: return "pid \(pid) is a zombie and cannot run"
            }
        }
    }
}
