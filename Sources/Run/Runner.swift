import XV6
import RISCV
import Support
import Scenario

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
    /// Expectations that did not hold, with the event index.
    public var failedExpectations: [(event: Int, text: String)] = []
    /// Free pages at the last `baseline` event.
    public var baseline: Int?
    /// Whether the panic was one the scenario expected.
    public var panicExpected = false
    /// Free pages after each event that ran (index: event).
    public var freeAfter: [Int] = []
    /// Processes the kernel created (pids handed out).
    public var processesCreated = 0

    /// 0 when the kernel neither panicked, nor produced a finding, nor broke an invariant; else 1.
    /// Skipped events count too: the scenario did not do what it said.
    public var exitCode: Int32 {
        (panic == nil || panicExpected) && findings.isEmpty && violations.isEmpty && skipped.isEmpty && failedExpectations.isEmpty ? 0 : 1
    }
}

/// Executes a compiled scenario on a freshly booted kernel.
public enum Runner {
    /// Runs `scenario`, writing its trace into `writer` (nil: no trace at all).
    /// Returns the kernel too, for inspection.
    @discardableResult
    public static func run(_ scenario: CompiledScenario, writer: TraceWriter?, stopAfter: Int? = nil,
                           afterEvent: ((Int, Kernel) -> Void)? = nil) -> (RunResult, Kernel?) {
        var run = RunInProgress(scenario, writer: writer)
        while run.step(stopAfter: stopAfter, afterEvent: afterEvent) {}
        return (run.finish(), run.kernel)
    }

    /// Runs one event by its kind's spec; returns why it was skipped, or nil. For a run that
    /// keeps no baseline and no failed expectations (replay).
    package static func execute(_ kind: EventKind, on k: Kernel, writer: TraceWriter?) throws(KernelPanic) -> String? {
        var run = EventRun(kernel: k, baseline: nil, output: writer)
        return try kind.spec.execute(kind, &run)
    }
}

/// An event's lines go into the trace.
extension TraceWriter: EventOutput {
    package func addBaseline(freePages: Int) { write(.baseline(freePages: freePages)) }
    package func addFailedExpectation(_ failure: String) { write(.expectFailed(failure)) }
    package func addConsole(_ line: String) { record(.console(line)) }
}
