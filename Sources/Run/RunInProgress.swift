import XV6
import Support
import Scenario

/// A scenario's run between two events: the kernel so far, what the run has come to so
/// far, and the next event. `Runner.run` takes one from boot to the end; `snapshot` copies
/// one so that a second run goes on from the same point (a sweep fails a different kalloc
/// in each copy; a trace written from a copy is the trace of a run straight through).
public struct RunInProgress {
    public private(set) var scenario: CompiledScenario
    /// The kernel, once the boot event has run.
    public private(set) var kernel: Kernel?
    public private(set) var result: RunResult
    /// The index of the next event to run.
    public private(set) var next = 0
    /// The kernel whose boot panicked, for what it can say of it (`kernel` stays nil).
    public private(set) var failedBoot: Kernel?
    /// Whether the run has stopped before its last event: a panic, or no kernel to run on.
    public private(set) var stopped = false
    private(set) var writer: TraceWriter?
    /// The `expect: {panic: ...}` events of the scenario, in order: what a panic is checked
    /// against (found once, not at each panic).
    private var panicExpectations: [(event: Int, message: String)]

    /// A run of `scenario` that has not started; its trace goes into `writer` (nil: none).
    public init(_ scenario: CompiledScenario, writer: TraceWriter?) {
        self.scenario = scenario
        self.writer = writer
        panicExpectations = Self.panicExpectations(scenario)
        result = RunResult(panic: nil, panicEvent: nil, findings: [], skipped: [], counters: Counters(), freePages: 0, eventsRun: 0)
        writer?.header(scenario)
    }

    /// Whether there are events left to run.
    public var running: Bool { !stopped && next < scenario.events.count }

    /// kalloc calls made so far (0 before boot).
    public var kallocCalls: Int { kernel?.kallocCalls ?? 0 }

    /// A copy of this run that goes on from here on its own. `settings` replaces the kernel's
    /// settings from here on (and the scenario's, for what reads them later). A traced run's
    /// copy writes into a writer of its own holding the trace so far (see `traced`).
    public func snapshot(settings: KernelSettings? = nil) -> RunInProgress {
        var copy = self
        if let settings { copy.scenario.config.settings = settings }
        if let writer {
            let sites = writer.sites.copy()
            let w = writer.snapshot(sites: sites)
            copy.writer = w
            copy.kernel = kernel?.snapshot(settings: settings, sink: w, sites: sites)
        } else {
            copy.kernel = kernel?.snapshot(settings: settings)
        }
        return copy
    }

    /// A copy of this run that goes on as a run of `scenario`, which must have the same
    /// kernel configuration and the same events before `next` (see `PrefixRuns.shared`).
    func continuing(as scenario: CompiledScenario) -> RunInProgress {
        assert(next <= PrefixRuns.shared(self.scenario, scenario), "the runs part before this event")
        var copy = snapshot()
        copy.scenario = scenario
        copy.panicExpectations = Self.panicExpectations(scenario)
        return copy
    }

    /// The trace written so far (the whole trace once `finish` has run), when the run is
    /// traced into a writer that keeps its bytes.
    public var traced: [UInt8]? { writer?.bytes }

    /// Runs the next event; false when there was none to run or the run has stopped (then
    /// nothing was run unless the event stopped it). `stopAfter` ends the run after that
    /// event; `afterEvent` sees the kernel after each event.
    public mutating func step(stopAfter: Int? = nil, afterEvent: ((Int, Kernel) -> Void)? = nil) -> Bool {
        guard running else { return false }
        let index = next
        if let stop = stopAfter, index > stop { return false }
        let event = scenario.events[index]
        next += 1
        writer?.begin(event: index, event)
        result.eventsRun = index + 1
        let goOn = execute(event, index)
        result.freeAfter.append(kernel?.freePages ?? 0)
        if let afterEvent, let k = kernel { afterEvent(index, k) }
        if !goOn { stopped = true }
        return goOn
    }

    /// Runs every event left (see `step`).
    public mutating func runToEnd() {
        while step() {}
    }

    /// Runs `event`, the one at `index`; false when the run stops there.
    private mutating func execute(_ event: Event, _ index: Int) -> Bool {
        do throws(KernelPanic) {
            if case .boot = event.kind {
                let k = Kernel(unbooted: scenario.config, sink: writer, sites: writer?.sites ?? SiteTree())
                failedBoot = k
                try k.boot()
                failedBoot = nil
                kernel = k
                return true
            }
            guard let k = kernel else { return false }
            k.eventTag = Int32(clamping: index)
            let spec = event.spec
            var run = EventRun(kernel: k, baseline: result.baseline, output: writer)
            let skipped = try spec.execute(event.kind, &run)
            result.baseline = run.baseline
            for failure in run.failedExpectations { result.failedExpectations.append((index, failure)) }
            if let skipped {
                result.skipped.append(index)
                writer?.write(.skip(skipped))
            }
            guard spec.changesKernel else { return true }
            if scenario.checkInvariants {
                for v in try k.checkInvariants() {
                    result.violations.append((index, v))
                    writer?.write(.invariant(v))
                }
            }
            return true
        } catch {
            writer?.record(.panic(error))
            result.panic = error
            result.panicEvent = index
            // An `expect: {panic: ...}` later in the scenario says whether this panic was expected.
            if let expected = panicExpectations.first(where: { $0.event > index })?.message {
                if expected == error.message { result.panicExpected = true } else {
                    result.failedExpectations.append((index, "expected panic: \(expected), but the kernel panicked: \(error.message)"))
                }
            }
            return false
        }
    }

    private static func panicExpectations(_ s: CompiledScenario) -> [(event: Int, message: String)] {
        var out: [(event: Int, message: String)] = []
        for i in s.events.indices {
            guard case .expect(let list) = s.events[i].kind else { continue }
            for x in list { if case .panic(let m) = x { out.append((i, m)); break } }
        }
        return out
    }

    /// What the run came to: the totals from the kernel, and the trace's last line.
    public mutating func finish() -> RunResult {
        if let k = kernel {
            result.processesCreated = k.processesCreated
            result.counters = k.counters
            result.findings = k.findings
            result.freePages = k.freePages
        }
        writer?.write(.end(TraceSummary(events: result.eventsRun, freePages: result.freePages, kallocs: result.counters.kallocs,
                                        kfrees: result.counters.kfrees, findings: result.findings.count,
                                        invariantViolations: scenario.checkInvariants ? result.violations.count : nil,
                                        panic: result.panic?.message)))
        writer?.finish()
        return result
    }
}
