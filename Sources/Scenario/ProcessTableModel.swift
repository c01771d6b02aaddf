import XV6
import Support

/// The compiler's model of xv6's process table: which slot each process takes,
/// which pid allocpid hands out, who is whose parent, who is a zombie. It follows
/// the kernel's rules (first UNUSED slot, pids from a counter, children handed to
/// init on exit, wait reaping the first zombie child in slot order), so names
/// resolve to the pids the kernel will use.
package struct ProcessTableModel {
    package enum State: Equatable {
        case alive
        case zombie(line: Int)
        case reaped(line: Int)
    }

    package struct Entry {
        var pid: Int
        var parent: Int?
        var state: State
    }

    private(set) var slots: [Int?] = Array(repeating: nil, count: Param.nproc)
    private var entries: [Int: Entry] = [:]
    private(set) var names: [String: Int] = [:]
    /// Names whose fork fails because the table is full, with where.
    private(set) var failedForks: [String: SourceLocation] = [:]
    private(set) var initPid: Int?
    private var nextpid = 1

    func pid(named name: String) -> Int? { names[name] }

    /// Ends a repeat round: names bound in it are forgotten, those from outside come back.
    mutating func restoreNames(_ saved: [String: Int]) { names = saved }

    func state(of pid: Int) -> State? { entries[pid]?.state }

    /// Whether `pid` still holds a slot (alive or zombie).
    func isAllocated(_ pid: Int) -> Bool { slots.contains(pid) }

    /// The children of `pid`, in slot order.
    func children(of pid: Int) -> [Int] {
        slots.compactMap { $0 }.filter { entries[$0]?.parent == pid }
    }

    /// userinit or a successful fork: the first free slot and the next pid.
    mutating func create(name: String?, parent: Int?, at: SourceLocation) -> Int {
        let slot = slots.firstIndex(where: { $0 == nil })!
        let pid = nextpid
        nextpid += 1
        slots[slot] = pid
        entries[pid] = Entry(pid: pid, parent: parent, state: .alive)
        if let name { names[name] = pid; failedForks[name] = nil }
        if parent == nil { initPid = pid }
        return pid
    }

    /// The child's pid, or nil when the table is full (fork returns -1 and no pid is used).
    mutating func fork(parent: Int, name: String?, at: SourceLocation) -> Int? {
        guard slots.contains(where: { $0 == nil }) else {
            if let name { failedForks[name] = at; names[name] = nil }
            return nil
        }
        return create(name: name, parent: parent, at: at)
    }

    /// A fork that fails after allocproc: the pid is used, the slot is freed again.
    mutating func failedFork() -> Int {
        defer { nextpid += 1 }
        return nextpid
    }

    /// The process becomes a zombie; its children go to init.
    mutating func exit(_ pid: Int, line: Int = 0) {
        entries[pid]?.state = .zombie(line: line)
        // Found first, then moved: changing `entries` while iterating it copied the whole
        // table at every exit (a tenth of compiling reparent2).
        var orphans: [Int] = []
        for (child, e) in entries where e.parent == pid { orphans.append(child) }
        for child in orphans { entries[child]?.parent = initPid }
    }

    package enum WaitOutcome { case reaped(Int), noChildren, wouldBlock }

    /// wait: reaps the first zombie child in slot order.
    mutating func wait(_ pid: Int, line: Int = 0) -> WaitOutcome {
        var haveKids = false
        for (slot, occupant) in slots.enumerated() {
            guard let c = occupant, entries[c]?.parent == pid else { continue }
            haveKids = true
            if case .zombie = entries[c]!.state {
                entries[c]?.state = .reaped(line: line)
                entries[c]?.parent = nil
                slots[slot] = nil
                return .reaped(c)
            }
        }
        return haveKids ? .wouldBlock : .noChildren
    }
}
