import RISCV
import Support
import CosimLog

/// Leaks and misuse read from a kernel's log alone, without the model: every page is
/// followed from its `kalloc` through the `map` that placed it to its `kfree`, with the
/// operation and the process that allocated it (the `swtch` brackets and the operation
/// lines), and the event that left it without an owner (`freeproc`, a failed `exec`, an
/// `unmap` that keeps the page). Probes are taken one at a time; only live pages, live
/// tables and the operations they name are held, never the probes.
public struct LogLeakTracker {
    public let file: String

    /// What a page is, as far as the log shows.
    package enum Role: UInt8 { case bare, root, table, data }

    package struct PageRecord {
        var line: Int
        var op: Int32
        var role = Role.bare
        /// root, table: the table it belongs to.
        var table: Int32 = 0
        /// data: the live mappings (table, va) that name it, the first made first: the first is its owner.
        var mappings: [(table: Int32, va: UInt64)] = []
        /// data, once no mapping names it any more: the line and the operation of the last unmap.
        var unmappedLine = 0
        var unmappedOp: Int32 = 0
        /// The count the log's lines give it (a counted log: `refinc`, `refdec`), the line of
        /// its first raise, and the events that left it counted above its holders.
        var count: Int32 = 1
        var sharedLine = 0
        var debts: [CountSite] = []
        var undercounted = false
    }

    package struct TableRecord {
        var root: UInt64
        var owner: Int
        var op: Int32
        var kernel = false
        var death: LeakCause?
        var rootFreedLine = 0
        /// Pages of the table (root included) still allocated.
        var pages = 0
        /// Which level-1 (va >> 30) and level-0 (va >> 21) tables exist: what walk will allocate.
        var l1: Set<UInt64> = []
        var l0: Set<UInt64> = []
        /// Leaves to allocated pages, off the direct map: va -> pa.
        var entries: [UInt64: UInt64] = [:]
        /// Entries left pointing at pages freed in an earlier operation: va -> the kfree's line.
        var stale: [UInt64: Int] = [:]
    }


    package struct OpRecord {
        var kind: LeakOpKind
        /// The process whose pages these are (fork: the child).
        var pid: Int
        var line: Int
        var parent = 0
        var path = ""
        var failed = false
        var endLine = 0
        /// growproc: data pages still to come.
        var remaining = 0
        var n: Int64 = 0
        var death: LeakCause?
        /// Live pages and tables that name it.
        var refs = 0
        var tables: [Int32] = []
    }

    package struct ProcRecord {
        /// The operation its memory events belong to now (0: none).
        var op: Int32 = 0
        var zombie = false
        var ops: [Int32] = []
        var prune = 64
        var tables: [Int32] = []
    }

    var pages: [UInt64: PageRecord] = [:]
    var tables: [Int32: TableRecord] = [:]
    /// Root page -> its table, while the root is allocated.
    var liveRoot: [UInt64: Int32] = [:]
    /// Tables whose root is allocated and whose owner is there: what counts as mapping a page.
    var live: Set<Int32> = []
    var ops: [Int32: OpRecord] = [:]
    var procs: [Int: ProcRecord] = [:]
    var nextOp: Int32 = 2
    var nextTable: Int32 = 1
    /// The pid whose kernel thread prints (inside `swtch to=`/`from=`); 0: boot or the scheduler.
    var current = 0
    var booted = false
    /// Table pages the `map` in progress will allocate (walk), of which table, for which operation.
    var expect = (table: Int32(0), count: 0, op: Int32(0))
    /// The table a `freewalk` or `kvm_free_kernelpgtbl` is freeing.
    var walking: Int32 = 0
    /// Pages freed while a live table still mapped them, judged at the next operation line.
    var suspects: [(pa: UInt64, line: Int, op: Int32, mappings: [(table: Int32, va: UInt64)], during: String)] = []
    /// The line of each page's last kfree, for double frees.
    var lastFreed: [UInt64: Int] = [:]
    /// The log has shown a `refinc` or `refdec`: the kernel counts references, and each drop
    /// of a count prints one line (LogLeaks+Counts.swift).
    public package(set) var counted = false
    /// The last process line, for the sites of count findings.
    var context = CountContext()
    /// Pages user tables map more often than their count says, since the last operation line.
    var undercounted: [UInt64: CountSite] = [:]
    /// A COW copy's drop with no `unmap` after it (a kernel that writes the PTE by hand): the
    /// old page, the entry that mapped it, and the page the copy allocated.
    var handSwap: (pa: UInt64, table: Int32, va: UInt64, fresh: UInt64)?
    /// The last page allocated since the last page fault or copyout line.
    var faultKalloc: UInt64 = 0

    public package(set) var findings = LogFindings()
    public package(set) var probes = 0
    public package(set) var lastLine = 0
    var processesCreated = 0
    var processesFreed = 0

    static let bootOp: Int32 = 1

    public init(file: String) {
        self.file = file
        ops[Self.bootOp] = OpRecord(kind: .boot, pid: 0, line: 0)
        procs[0] = ProcRecord(op: Self.bootOp)
    }

    /// Takes the next probe of the log, in order.
    public mutating func take(_ p: Probe) {
        probes += 1
        lastLine = p.line
        if handSwap != nil && !p.kind.isMemory { applyHandSwap() }
        if !p.kind.isMemory || p.kind == .allocproc || p.kind == .freeproc { noteContext(p) }
        if p.kind != .kalloc && p.kind != .map { expect.count = 0 }
        switch p.kind {
        case .kalloc: kalloc(p)
        case .kfree: kfree(p)
        case .map: map(p)
        case .unmap: unmap(p)
        case .freewalk, .kvmFree: freeing(p)
        case .satp: break
        case .allocproc: checkpoint(); allocproc(p)
        case .freeproc: freeproc(p)
        case .fork: checkpoint(); fork(p)
        case .exec, .execfail: checkpoint(); exec(p)
        case .growproc: checkpoint(); growproc(p)
        case .exit: checkpoint(); closeOp(current); procs[p.pid]?.zombie = true
        case .wait: checkpoint(); closeOp(current)
        case .swtch: swtch(p)
        case .refinc: refinc(p)
        case .refdec: refdec(p)
        case .pagefault, .copyout, .copyin, .copyinstr, .sbrk, .cowcopyout, .lazycopy: break
        }
    }

    // MARK: processes and operations

    mutating func swtch(_ p: Probe) {
        checkpoint()
        if current == 0, let op = procs[0]?.op, ops[op]?.kind == .userinit { closeOp(0) }
        current = p.other == 1 ? p.pid : 0
    }

    mutating func newOp(_ op: OpRecord) -> Int32 {
        let id = nextOp
        nextOp += 1
        ops[id] = op
        if op.pid != 0 {
            procs[op.pid, default: ProcRecord()].ops.append(id)
            // Forgotten operations leave the list when it has doubled: amortised, not per operation.
            if procs[op.pid]!.ops.count >= procs[op.pid]!.prune {
                procs[op.pid]!.ops.removeAll { ops[$0] == nil }
                procs[op.pid]!.prune = max(64, 2 * procs[op.pid]!.ops.count)
            }
        }
        return id
    }

    /// Ends the operation the process's memory events belonged to: a `pending` one that no
    /// exec claimed is a kalloc no operation explains (a pipe).
    mutating func closeOp(_ pid: Int) {
        guard let op = procs[pid]?.op, op != 0 else { return }
        if ops[op]?.kind == .pending { ops[op]!.kind = .unexplained }
        procs[pid]!.op = 0
        release(op)
    }

    /// Drops an operation no live page or table names, unless a process is still in it.
    mutating func release(_ op: Int32) {
        guard op > Self.bootOp, let o = ops[op], o.refs <= 0 else { return }
        if procs[current]?.op == op || procs[o.pid]?.op == op { return }
        ops[op] = nil
    }

    mutating func allocproc(_ p: Probe) {
        if !booted {
            booted = true
            procs[0, default: ProcRecord()].op = 0
            ops[Self.bootOp]!.endLine = p.line
        }
        processesCreated += 1
        let kind: LeakOpKind = current == 0 ? .userinit : .fork
        closeOp(current)
        procs[p.pid] = ProcRecord()
        let id = newOp(OpRecord(kind: kind, pid: p.pid, line: p.line, parent: current))
        procs[current, default: ProcRecord()].op = id
    }

    mutating func fork(_ p: Probe) {
        closeOp(current)
    }

    mutating func growproc(_ p: Probe) {
        closeOp(current)
        guard current != 0 else { return }
        let round = { (v: UInt64) in (v &+ 0xfff) & ~UInt64(0xfff) }
        let newSize = UInt64(bitPattern: Int64(bitPattern: p.sz) &+ p.n)
        let count = p.n > 0 ? Int((round(newSize) &- round(p.sz)) >> 12) : 0
        let id = newOp(OpRecord(kind: .growproc, pid: current, line: p.line, remaining: count))
        ops[id]!.n = p.n
        procs[current]!.op = id
    }

    /// An exec's commit or failure: the pages the process allocated since its last
    /// operation are the exec's. Its new tables replace the process's old ones of the
    /// same kind, or, when it failed, belong to nobody; pages it never mapped (sys_exec's
    /// argument strings) belong to nobody once it returns.
    mutating func exec(_ p: Probe) {
        let pid = current != 0 ? current : p.pid
        var id = procs[pid]?.op ?? 0
        if id == 0 || ops[id]?.kind != .pending {
            if id != 0 { closeOp(pid) }
            id = newOp(OpRecord(kind: .pending, pid: pid, line: p.line))
        }
        let failed = p.kind == .execfail
        ops[id]!.kind = .exec
        ops[id]!.path = p.text
        ops[id]!.failed = failed
        ops[id]!.endLine = p.line
        let death = LeakCause(kind: failed ? .execFailed : .execReturned, line: p.line, pid: pid, path: p.text)
        ops[id]!.death = death
        let made = ops[id]!.tables.filter { tables[$0] != nil }
        if failed {
            for t in made { orphan(t, death) }
        } else {
            let replaced = LeakCause(kind: .execReplaced, line: p.line, pid: pid, path: p.text)
            let kinds = Set(made.map { tables[$0]!.kernel })
            for t in procs[pid]?.tables ?? [] where !made.contains(t) {
                guard live.contains(t), kinds.contains(tables[t]!.kernel) else { continue }
                orphan(t, replaced)
            }
        }
        procs[pid]?.op = 0
        release(id)
    }

    /// freeproc: the process is gone, and with it every table and page it still owns.
    mutating func freeproc(_ p: Probe) {
        let death = LeakCause(kind: .freeproc, line: p.line, pid: p.pid, other: current)
        if let proc = procs[p.pid] {
            for op in proc.ops where ops[op] != nil && ops[op]!.death == nil { ops[op]!.death = death }
            for t in proc.tables { orphan(t, death) }
            processesFreed += 1
        }
        procs[p.pid] = nil
    }

    /// The operation the current process's next page belongs to.
    mutating func contextOp() -> Int32 {
        let pid = current
        if let op = procs[pid]?.op, op != 0, let o = ops[op] {
            switch o.kind {
            case .boot, .kernel, .userinit, .fork, .pending: return op
            case .growproc where o.remaining > 0:
                ops[op]!.remaining -= 1
                return op
            default: closeOp(pid)
            }
        }
        let kind: LeakOpKind = pid == 0 ? .kernel : .pending
        let id = newOp(OpRecord(kind: kind, pid: pid, line: lastLine))
        procs[pid, default: ProcRecord()].op = id
        return id
    }

    /// The operation a map belongs to: that of the current process's last page.
    func mapOp() -> Int32 {
        if let op = procs[current]?.op, op != 0 { return op }
        return Self.bootOp
    }
}

/// Why a page or a table has no owner any more.
public struct LeakCause: Equatable, Sendable {
    public enum Kind: Int, Sendable { case freeproc, execFailed, execReplaced, execReturned, rootFreed, unmapped }
    public var kind: Kind
    public var line: Int
    /// The process it happened to.
    public var pid: Int
    /// freeproc: the process that reaped it (0: the kernel, as fork's cleanup).
    public var other = 0
    public var path = ""
}

/// The operations pages are allocated in, as the log shows them.
public enum LeakOpKind: UInt8, Sendable {
    /// Before the first allocproc: the kernel's own.
    case boot
    /// Outside any process after boot (the scheduler, interrupts).
    case kernel
    case userinit, fork
    /// Pages a process allocated since its last operation line: an exec's, if one follows.
    case pending
    case exec, growproc
    /// A kalloc no operation explains (a pipe's page).
    case unexplained
}

/// An operation in words: what, by whom, where.
public struct LeakOpSummary: Equatable, Sendable {
    public var kind: LeakOpKind
    public var pid: Int
    public var line: Int
    public var parent = 0
    public var path = ""
    public var failed = false
    public var n: Int64 = 0

    public var text: String {
        switch kind {
        case .boot: return "the kernel's boot"
        case .kernel: return "the kernel"
        case .userinit: return "userinit (pid \(pid))"
        case .fork: return "fork by pid \(parent) (child \(pid))"
        case .pending, .unexplained: return "pid \(pid), no operation line"
        case .exec: return "exec of \(path) by pid \(pid)" + (failed ? " (failed)" : "")
        case .growproc: return "growproc of pid \(pid) (n=\(n))"
        }
    }
}
