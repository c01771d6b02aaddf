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
    /// `pid`'s user code accesses `va` (`touch`), and the same offset in each of the next
    /// `pages - 1` pages: through the MMU, and on a fault through usertrap, whose handler
    /// (cow-lab) may fix the page; `killed` says the scenario expects a fault to kill the
    /// process (the pages after it are then not touched).
    case touch(pid: Int, va: UInt64, AccessType, killed: Bool, pages: Int)
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
    /// Applies `KEY=VALUE` overrides from the command line: `variant` first (it resets the
    /// settings to that preset), then each setting, or the image's `end`, `etext`,
    /// `trampoline`, `phystop` and the machine's `harts`. Returns what is wrong, or nil.
    public mutating func apply(overrides: [String]) -> String? {
        var pairs: [(String, String)] = []
        // A value is one line: shown back in a message, a newline in it could forge a line
        // of output ("phystop=1\nxv6vm: all good").
        for o in overrides where o.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" }) {
            let shown = o.unicodeScalars.map { $0 == "\n" ? "\\n" : $0 == "\r" ? "\\r" : String($0) }.joined()
            return "--set takes KEY=VALUE on one line; got '\(shown)'"
        }
        for o in overrides {
            guard let eq = o.firstIndex(of: "=") else { return "--set takes KEY=VALUE; got '\(o)'" }
            pairs.append((String(o[..<eq]), String(o[o.index(after: eq)...])))
        }
        for (k, v) in pairs where k == "variant" {
            guard let preset = KernelSettings.preset(named: v) else {
                return "unknown variant '\(v)'; expected one of: \(KernelSettings.presets.map(\.name).joined(separator: ", "))"
            }
            config.variant = v
            config.settings = preset
            config.image = KernelSettings.image(named: v) ?? config.image
        }
        // The image and harts, set on a copy: the image is kept only if it can boot.
        var machine = config
        for (k, v) in pairs where k != "variant" {
            // The kernel image and the machine, as a scenario's `kernel:` sets them.
            if let key = MachineKey(rawValue: k) {
                guard let n = parseInteger(v), !n.negative else { return "\(k) takes a number; got '\(v)'" }
                guard key.range.contains(n.magnitude) else { return "\(k) must be from \(key.range.lowerBound) to \(key.range.upperBound); got \(v)" }
                key.set(n.magnitude, in: &machine)
                continue
            }
            if let problem = config.settings.set(k, v) {
                let keys = ["variant"] + KernelSettings.catalogue.map(\.key) + MachineKey.allCases.map(\.rawValue)
                if keys.contains(k) { return problem }
                let suggestion = didYouMean(k, keys)
                return problem + (suggestion.isEmpty ? "; the keys are \(keys.joined(separator: ", ")) (see `xv6vm variants`)" : suggestion)
            }
        }
        let preset = KernelSettings.preset(named: config.variant) ?? .xv6_2020
        if let (key, problem) = config.settings.inertProblems(comparedTo: preset, variant: config.variant).first {
            // Set here, or set by the scenario and left without what it needs by a --set here.
            guard pairs.contains(where: { $0.0 == key }) else { return problem + " (the scenario sets it)" }
            return "--set \(key)=" + problem.dropFirst(key.count + 2)
                + (pairs.contains { $0.0 == "variant" } ? "" : " (choose one with --set variant=NAME)")
        }
        config.harts = machine.harts
        if let problem = machine.image.problem { return "this kernel image cannot boot: \(problem)" }
        config.image = machine.image
        return nil
    }
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
