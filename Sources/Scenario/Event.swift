import XV6
import RISCV
import Support

/// One step of a compiled scenario, with the process names already resolved to pids.
public enum EventKind: Equatable, Sendable {
    /// The kernel's start-up in `main()`: kinit, kvminit, kvminithart, procinit.
    case boot
    /// The first process, which will get `pid`.
    case userinit(pid: Int)
    /// Process `pid` makes a system call.
    case syscall(pid: Int, Syscall)
    /// The lab's `vmprint` of `pid`'s user page table (or, with `kernelTable`, its own kernel table), on the console.
    case vmprint(pid: Int, kernelTable: Bool)
    /// The scheduler runs `pid` on `hart`.
    case run(pid: Int, hart: Int)
    /// `pid` gives up the CPU and the scheduler runs it again.
    case yield(pid: Int)
    /// `pid` gives up the CPU and nothing else runs.
    case sleep(pid: Int)
    /// Records the free pages now, for `expect: {free_pages: baseline}` and leak reports.
    case baseline
    /// Failure injection: the `n`-th kalloc from here (1: the next) returns 0.
    case failKalloc(Int)
    /// Checks what the scenario states about itself at this point.
    case expect([Expectation])
    /// `pid` loads, stores or fetches at `va` in user mode, through the MMU; `faults` says
    /// whether the scenario expects a page fault (which kills the process).
    case access(pid: Int, va: UInt64, AccessType, faults: Bool)
    /// `pid`'s user code accesses `va` (`touch`), and `pages - 1` more addresses `stride`
    /// bytes apart (a page by default: the same offset in each of the next pages): through
    /// the MMU, and on a fault through usertrap, whose handler (cow-lab, lazy-lab) may fix
    /// the page; `killed` says the scenario expects a fault to kill the process (the
    /// addresses after it are then not touched).
    case touch(pid: Int, va: UInt64, AccessType, killed: Bool, pages: Int, stride: UInt64 = 4096)
}

extension EventKind {
    /// Every kind's spec (Events/), in the order messages list them.
    static let specs: [EventSpec] = [
        .userinit, .fork, .exec, .sbrk, .exit, .wait, .vmprint, .run, .copyin, .copyinstr, .copyout,
        .load, .store, .fetch, .touch, .pipe, .close, .yield, .sleep, .repeatEvents, .baseline, .expect, .failKalloc,
    ]

    /// The spec that reads, writes and runs this kind of event.
    package var spec: EventSpec {
        switch self {
        case .boot, .userinit: .userinit
        case .syscall(_, let call):
            switch call {
            case .fork: .fork
            case .exec: .exec
            case .sbrk: .sbrk
            case .exit: .exit
            case .wait: .wait
            case .copyin: .copyin
            case .copyinstr: .copyinstr
            case .copyout: .copyout
            case .pipe: .pipe
            case .close: .close
            }
        case .vmprint: .vmprint
        case .run: .run
        case .yield: .yield
        case .sleep: .sleep
        case .baseline: .baseline
        case .failKalloc: .failKalloc
        case .expect: .expect
        case .access(_, _, let type, _):
            switch type {
            case .load: .load
            case .store: .store
            case .fetch: .fetch
            }
        case .touch: .touch
        }
    }
}

/// Something a scenario states about itself, checked when the run reaches it.
public enum Expectation: Equatable, Sendable {
    /// Free pages equal `n`, or (nil) the count recorded by the last `baseline`.
    case freePages(Int?)
    /// Pages leaked (allocated, and held by no live owner).
    case leaks(Int)
    /// The kernel panics with this message before this point (the run ends there).
    case panic(String)
    /// `va` is mapped in pid's user table (to `pa`, with `perm` letters, when given).
    case mapped(pid: Int, va: UInt64, pa: UInt64?, perm: String?)
    case unmapped(pid: Int, va: UInt64)
    /// Hart's satp points at the global kernel table (pid nil, user false), a process's user table, or its kernel table.
    case satp(hart: Int, pid: Int?, user: Bool)
}

/// An event of the compiled stream and where the scenario asked for it.
public struct Event: Equatable, Sendable {
    public var kind: EventKind
    /// nil for the implicit boot event.
    public var location: SourceLocation?
    /// What the event does, for listings and trace headers: `fork pid 1 -> pid 2 (sh)`.
    public var label: String
    /// For an event from an included file: that file, relative to the scenario's directory.
    public var source: String?
    /// For a fork: the pid the child will get (nil when the table is full).
    public var child: Int?
    /// For a fork: the scenario says it fails for lack of memory (`fails: true`).
    public var forkFails = false
    /// The rounds of the repeats that made this event, outermost first (empty outside any repeat).
    public var rounds: [Round] = []

    public init(kind: EventKind, location: SourceLocation?, label: String) {
        self.kind = kind; self.location = location; self.label = label
    }
}

/// One round of a `repeat`: `round` of `count`, from 1.
public struct Round: Equatable, Sendable {
    public var round: Int
    public var count: Int
    public init(round: Int, count: Int) { self.round = round; self.count = count }
}

/// A scenario ready to run: the kernel it boots and its events, boot first.
public struct CompiledScenario: Equatable, Sendable {
    /// The scenario file's name as traces show it (no directories, so traces do not depend on where it ran).
    public var file: String
    public var config: KernelConfig
    public var events: [Event]
    /// Check the invariants after every event (`check: true`, or `xv6vm run --check`).
    public var checkInvariants = false
    /// What `golden/` keeps for this scenario (`golden: trace` or `golden: digest`).
    public var golden: GoldenKind = .trace

    package init(file: String, config: KernelConfig, events: [Event], checkInvariants: Bool = false, golden: GoldenKind = .trace) {
        self.file = file; self.config = config; self.events = events
        self.checkInvariants = checkInvariants; self.golden = golden
    }
}

/// The form of a scenario's golden.
public enum GoldenKind: String, Sendable {
    /// The whole text trace (`.trace`).
    case trace
    /// Counts of each line kind, the closing summary and the SHA-256 of the whole trace (`.digest`),
    /// for runs whose trace is too long to review.
    case digest
}

extension CompiledScenario {
    /// The pid a process name stands for by event `last`: the latest `userinit` or `fork`
    /// that named it (in a `repeat`, the last round that ran by then); nil when none did.
    public func pid(named name: String, by last: Int) -> Int? {
        bindings(by: last).last { $0.name == name }?.pid
    }

    /// The names bound by event `last`, each once, in the order first bound.
    public func processNames(by last: Int) -> [String] {
        var seen: [String] = []
        for b in bindings(by: last) where !seen.contains(b.name) { seen.append(b.name) }
        return seen
    }

    /// `(name, pid)` for each userinit and fork that named its process, in event order. The
    /// name is the one the compiler put in the event's label: `userinit -> pid 1 (init)`.
    func bindings(by last: Int) -> [(name: String, pid: Int)] {
        var out: [(String, Int)] = []
        for e in events.prefix(max(0, last + 1)) {
            let pid: Int
            switch e.kind {
            case .userinit(let p): pid = p
            case .syscall(_, .fork): guard let c = e.child, !e.forkFails else { continue }; pid = c
            default: continue
            }
            // A round's events end their label with ` [round 3/800]`.
            let label = e.label.range(of: " [round ").map { e.label[..<$0.lowerBound] } ?? e.label[...]
            guard label.hasSuffix(")"), let open = label.range(of: "-> pid \(pid) (") else { continue }
            out.append((String(label[open.upperBound...].dropLast()), pid))
        }
        return out
    }
}

/// ` (did you mean 'kid'?)`, or nothing when no candidate is close.
public func suggestion(_ word: String, _ candidates: [String]) -> String { didYouMean(word, candidates) }
