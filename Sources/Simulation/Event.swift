import XV6

/// One step of a compiled scenario, with the process names already resolved to pids.
public enum EventKind: Equatable, Sendable {
    /// The kernel's start-up in `main()`: kinit, kvminit, kvminithart, procinit.
    case boot
    /// The first process, which will get `pid`.
    case userinit(pid: Int)
    /// Process `pid` makes a system call.
    case syscall(pid: Int, Syscall)
    /// The lab's `vmprint` of `pid`'s user page table, on the console.
    case vmprint(pid: Int)
}

/// An event of the compiled stream and where the scenario asked for it.
public struct Event: Equatable, Sendable {
    public var kind: EventKind
    /// nil for the implicit boot event.
    public var location: SourceLocation?
    /// What the event does, for listings and trace headers: `fork pid 1 -> pid 2 (sh)`.
    public var label: String

    public init(kind: EventKind, location: SourceLocation?, label: String) {
        self.kind = kind; self.location = location; self.label = label
    }
}

/// A scenario ready to run: the kernel it boots and its events, boot first.
public struct CompiledScenario: Equatable, Sendable {
    /// The scenario file's name as traces show it (no directories, so traces do not depend on where it ran).
    public var file: String
    public var config: KernelConfig
    public var events: [Event]
}
