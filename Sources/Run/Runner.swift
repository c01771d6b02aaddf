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

    /// The expectations of `list` that do not hold now, as sentences.
    static func check(_ list: [Expectation], on k: Kernel, baseline: Int?) -> [String] {
        var out: [String] = []
        for e in list {
            switch e {
            case .freePages(let n):
                guard let want = n ?? baseline else { out.append("free_pages: baseline, but no `baseline` event came before"); continue }
                if k.freePages != want { out.append("expected \(want) free pages\(n == nil ? " (the baseline)" : ""), found \(k.freePages)") }
            case .leaks(let n):
                let leaked = k.ownership().leaked
                if leaked != n { out.append("expected \(n) leaked pages, found \(leaked) (see `xv6vm leaks`)") }
            case .panic(let m):
                out.append("expected panic: \(m), but the kernel did not panic")
            case let .mapped(pid, va, pa, perm):
                guard let pte = userPTE(k, pid, va), pte.isValid, pte.isLeaf else { out.append("expected pid \(pid)'s va \(hex16(va)) to be mapped, but it is not"); continue }
                if let pa, pte.pa.rawValue != pageRoundDown(pa) { out.append("expected pid \(pid)'s va \(hex16(va)) to map pa \(hex16(pa)), found \(hex16(pte.pa.rawValue))") }
                if let perm, pte.flags.letters != perm { out.append("expected pid \(pid)'s va \(hex16(va)) to have \(perm), found \(pte.flags.letters)") }
            case let .unmapped(pid, va):
                if let pte = userPTE(k, pid, va), pte.isValid { out.append("expected pid \(pid)'s va \(hex16(va)) to be unmapped, but it maps \(hex16(pte.pa.rawValue))") }
            case let .satp(hart, pid, user):
                guard hart < k.harts.count else { out.append("hart \(hart) does not exist"); continue }
                let root = k.harts[hart].satp.root
                let want: PhysAddr? = pid.map { p in k.slot(ofPid: p).map { user ? k.procs[$0].pagetable : k.procs[$0].kernelPagetable } ?? .zero } ?? k.kernelPagetable
                if root != want { out.append("expected hart \(hart)'s satp to point at \(ScenarioCompiler.satpTable(pid: pid, user: user)), found \(hex16(root.rawValue))") }
            }
        }
        return out
    }

    static func userPTE(_ k: Kernel, _ pid: Int, _ va: UInt64) -> PTE? {
        guard let slot = k.slot(ofPid: pid), va < Sv39.maxVA,
              let at = try? k.walk(k.procs[slot].pagetable, va, alloc: false) else { return nil }
        return PTE(rawValue: k.memory.read64(PhysAddr(at)))
    }

    /// Runs one event; returns why it was skipped, or nil.
    package static func execute(_ kind: EventKind, on k: Kernel, writer: TraceWriter?) throws(KernelPanic) -> String? {
        switch kind {
        case .boot, .baseline, .expect, .failKalloc:
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
        case let .yield(pid):
            switch try k.yield(pid: pid) {
            case .returned: return nil
            default: return "pid \(pid) cannot yield: it has exited"
            }
        case let .sleep(pid):
            switch try k.sleep(pid: pid) {
            case .returned: return nil
            default: return "pid \(pid) cannot sleep: it has exited"
            }
        case let .access(pid, va, access, faults):
            switch try k.userAccess(pid: pid, va: va, access) {
            case .ok, .handled: return faults ? "expected \(access.rawValue) of \(hex16(va)) by pid \(pid) to fault, but it succeeded" : nil
            case .killed: return faults ? nil : "\(access.rawValue) of \(hex16(va)) by pid \(pid) faulted and killed it (write `faults: true` if that is expected)"
            case .noSuchProcess: return "pid \(pid) does not exist"
            case .notRunnable: return "pid \(pid) is a zombie and cannot run"
            }
        case let .touch(pid, va, access, killed, pages):
            for page in 0..<UInt64(pages) {
                let a = va &+ page * pageSize
                let what = "\(EventSyntax.touchWord(access)) of \(hex16(a)) by pid \(pid)"
                switch try k.userAccess(pid: pid, va: a, access) {
                case .ok, .handled: continue
                case .killed: return killed ? nil : "the \(what) faulted and killed it (write `killed: true` if that is expected)"
                case .noSuchProcess: return "pid \(pid) does not exist"
                case .notRunnable: return "pid \(pid) is a zombie and cannot run"
                }
            }
            return killed ? "expected a touch by pid \(pid) to kill it, but none did" : nil
        }
    }
}
