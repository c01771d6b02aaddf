import XV6
import Support
import Scenario

/// Runs scenarios that begin with the same events as one run before, from a snapshot of
/// that run at the end of what they share instead of from boot. Shrink's candidates are
/// its current scenario with some events removed, or with fewer rounds of a loop: they
/// share a prefix with it, often a long one.
///
/// The scenario whose snapshots are kept is the last one `adopt`ed; `run` keeps the
/// snapshots of what it runs aside until then.
package final class PrefixRuns {
    /// Snapshots kept per run, at most; spread evenly over its events.
    static let kept = 16

    private var base: CompiledScenario?
    /// Snapshots of `base`'s run, by the index of the next event, in increasing order.
    private var snapshots: [RunInProgress] = []
    private var candidate: CompiledScenario?
    private var candidateSnapshots: [RunInProgress] = []

    package init() {}
    /// Events run, and events a run from boot would have run, for the figures.
    package var eventsRun = 0
    package var eventsFromBoot = 0

    /// The number of events at the start of `a` and `b` that run the same: the same kinds,
    /// under the same kernel and checks.
    static func shared(_ a: CompiledScenario, _ b: CompiledScenario) -> Int {
        guard a.config == b.config, a.checkInvariants == b.checkInvariants else { return 0 }
        var n = 0
        while n < a.events.count && n < b.events.count && a.events[n].kind == b.events[n].kind { n += 1 }
        return n
    }

    /// Runs `s` to its end, as `Runner.run(s, writer: nil)` does, from the latest snapshot
    /// of the adopted run that `s` shares every event before; keeps snapshots of this run
    /// in case it is adopted.
    package func run(_ s: CompiledScenario) -> (RunResult, Kernel?) {
        var run: RunInProgress
        let shared = base.map { Self.shared($0, s) } ?? 0
        if let from = snapshots.last(where: { $0.next <= shared }) {
            run = from.continuing(as: s)
        } else {
            run = RunInProgress(s, writer: nil)
        }
        let stride = max(1, s.events.count / Self.kept)
        candidate = s
        candidateSnapshots = snapshots.filter { $0.next <= run.next }
        let start = run.next
        while run.running {
            if run.next % stride == 0 && run.next > (candidateSnapshots.last?.next ?? -1) {
                candidateSnapshots.append(run.snapshot())
            }
            _ = run.step()
        }
        eventsRun += run.next - start
        eventsFromBoot += run.next
        return (run.finish(), run.kernel)
    }

    /// Keeps the snapshots of the last run: the next candidates are cut from its scenario.
    package func adopt() {
        guard let candidate else { return }
        base = candidate
        snapshots = candidateSnapshots
    }
}
