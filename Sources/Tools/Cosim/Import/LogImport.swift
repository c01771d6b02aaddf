import XV6
import RISCV
import Support
import Scenario
import Run

/// A log turned into a scenario: its operations in the order they take effect, the kernel
/// it ran, and what could not be explained.
public struct ImportedLog: Sendable {
    public var log: KernelLog
    public var config: KernelConfig
    /// Whether the variant came from `--set` rather than the log's shape.
    public var variantGuessed = true
    public var operations: [LogOperation]
    /// For each probe, the operation that explains it (-1: none).
    public var operationOf: [Int32]
    /// Memory probes no operation explains (indices).
    public var unexplained: [Int] = []
}

/// Why a log cannot be turned into a scenario.
public typealias ImportError = LogError

/// Reads a kernel's log the way the kernel ran: each probe is attributed to the process
/// whose kernel thread printed it (the `swtch` brackets), grouped into the operation that
/// caused it, and the operations are placed where they take effect.
public struct LogImporter {
    /// The log's name, as errors show it.
    let file: String
    /// The probes read (those still needed: shared with a replay reading the same log), and
    /// for each the operation (its index as made) that explains it, -1 for none.
    package let probes: ProbeStore
    var opOf = IndexedWindow<Int32>()
    /// Operations as made, and for each the place it was handed out in (-1: not yet).
    var ops = IndexedWindow<LogOperation>()
    var emission = IndexedWindow<Int32>()
    /// Operations made and not yet handed out, oldest first.
    var waiting: [Int] = []
    var emitted = 0
    /// For each process whose exit has been read, the exit, until it is reaped (its last
    /// switch away, where the exit takes effect, is read by then).
    var exitsAwaiting: [Int: Int] = [:]
    /// For each probe, the end of the latest span of probes of an operation over it; and,
    /// for a kernel whose exec replaces the kernel table, where the exec over it began.
    var spanEnd = IndexedWindow<Int>()
    var freshExecStart = IndexedWindow<Int>()
    /// How far the split check has read, and the operation it saw last, with its last probe.
    var split = (next: 0, lastOp: Int32(-1), lastEnd: -1)
    /// The operation each process is in the middle of.
    var open: [Int: Int] = [:]
    /// Bare kallocs of each process that no operation has claimed yet: argv pages or pipes.
    var pending: [Int: [Int]] = [:]
    /// Open pipes: page -> id.
    var pipes: [UInt64: Int] = [:]
    var nextPipe = 1
    var shadow = ShadowTables()
    /// kallocs walk still owes the last map of each process.
    var walkOwed: [Int: Int] = [:]
    /// The A and D bits (0xc0) the model will have in each process's user PTEs, by page.
    var bits: [Int: [UInt64: UInt64]] = [:]
    /// The last `swtch from=` of each pid, and the pid of the last swtch seen.
    var lastFrom: [Int: Int] = [:]
    var lastSwitch: (pid: Int, to: Bool)?
    var current = 0
    var booted = false
    var perProcessTables = false
    /// Whether the kernel copies user mappings into its kernel tables with walk, printing no map.
    var mirrorsByWalk = false
    /// Whether sbrk allocates lazily: its `sbrk` line is the operation (there is no growproc).
    var lazySbrk = false
    /// Each process's last `copyin` or `copyinstr` line, which a lazy page may be made for.
    var lastCopy: [Int: Int] = [:]
    /// Each process's size, and the top of what its kernel table's mirror has ever covered
    /// (walk never frees a table page, so the level-0 tables below it exist).
    var size: [Int: UInt64] = [1: pageSize]
    var mirrorTop: [Int: UInt64] = [1: pageSize]
    /// Whether the log's fork line comes before the child's mirror, and the fork each process's
    /// next bare kallocs then belong to, with how many.
    var forkMirrorAfterProbe = false
    /// Whether exec builds a fresh kernel table before anything else (exec_kernel_table=fresh-first):
    /// its root is the first kalloc after the argv pages, UART its first map.
    var execBuildsKernelTable = false
    /// Whether exec replaces the process's kernel table with one it built (any fresh table).
    var execReplacesKernelTable = false
    var lateMirror: [Int: (op: Int, pages: Int)] = [:]
    var unexplained: [Int] = []
    /// What the log has said of each pid so far: its parent, and whether it exited or was reaped.
    var lives: [Int: (parent: Int, exited: Bool, reaped: Bool)] = [:]
    /// The pids in `lives` not reaped yet: those an exit may hand to init (few, where `lives`
    /// holds every pid the log has named).
    var unreaped: Set<Int> = []

    /// The `file` of an error in the `--set` overrides rather than in the log.
    public static let overridesFile = "--set"

    /// Imports `log`; `overrides` are `--set KEY=VALUE` pairs (`variant` first).
    public static func run(_ log: KernelLog, overrides: [String] = []) throws(ImportError) -> ImportedLog {
        try refuseEmpty(log)
        let config = try config(of: log, overrides: overrides)
        let guessed = !overrides.contains(where: { $0.hasPrefix("variant=") })
        var imp = LogImporter(file: log.file, config: config)
        for p in log.probes { try imp.take(p) }
        let sorted = try imp.finish()
        var opOf = [Int32](repeating: -1, count: log.probes.count)
        for i in opOf.indices where imp.opOf[i] >= 0 { opOf[i] = imp.emission[Int(imp.opOf[i])] }
        return ImportedLog(log: log, config: config, variantGuessed: guessed, operations: sorted, operationOf: opOf,
                           unexplained: imp.unexplained)
    }

    /// Not one probe (an empty file, /dev/null, a console log of an uninstrumented kernel):
    /// replaying it would blame the model for everything the kernel did not print.
    static func refuseEmpty(_ log: KernelLog) throws(ImportError) {
        guard log.probes.isEmpty else { return }
        if let cut = log.warnings.first {
            throw ImportError(file: log.file, line: cut.line, column: cut.column,
                              message: "no whole `@T` line: the only one is this last line, cut short (no newline after it)", text: cut.text)
        }
        throw ImportError(file: log.file, line: 0, column: 0,
                          message: "no `@T` lines in \(log.lineCount) line\(log.lineCount == 1 ? "" : "s"): this is not the log of a kernel with the probes (docs/check-your-kernel.md)")
    }

    /// An importer of a log named `file`, read as the kernel `config` describes.
    package init(file: String, config: KernelConfig, store: ProbeStore = ProbeStore()) {
        self.file = file
        probes = store
        perProcessTables = config.settings.perProcessKernelPagetable
        mirrorsByWalk = perProcessTables && config.settings.mirrorUserMappings == .walkCopy
        forkMirrorAfterProbe = config.settings.forkMirrorAfterProbe
        execBuildsKernelTable = perProcessTables && config.settings.execKernelTable == .freshFirst
        execReplacesKernelTable = perProcessTables && config.settings.execKernelTable != .keep
        lazySbrk = config.settings.lazyAllocation
        newOp(.boot, pid: 0, line: 1, at: 0)
        open[0] = 0
    }

    // MARK: reading

    /// Reads the log's next probe.
    public mutating func take(_ p: Probe) throws(ImportError) {
        if probes.end == 0 { ops[0].line = p.line }
        probes.append(p)
        opOf.append(-1)
        spanEnd.append(-1)
        if execReplacesKernelTable { freshExecStart.append(-1) }
        try take(probes.end - 1)
    }

    /// The operations the probes read so far decide, in the order they take effect.
    public mutating func ready() throws(ImportError) -> [LogOperation] { try settle(atEnd: false) }

    /// The log has ended: the operations not yet handed out, in the order they take effect.
    public mutating func finish() throws(ImportError) -> [LogOperation] {
        for pid in pending.keys.sorted() { flushPending(pid) }
        // A log that ends while a process sleeps (the shell, on the console): under the lab the
        // scheduler has loaded the global table again.
        if perProcessTables, let last = lastSwitch, !last.to, lives[last.pid]?.exited == false, let i = lastFrom[last.pid] {
            _ = newOp(.sleep, pid: last.pid, at: i)
        }
        return try settle(atEnd: true)
    }

    /// The level-0 tables a walk-and-copy mirror of [0, newsz) allocates in pid's kernel table:
    /// one per 2 MiB above what it has covered before.
    mutating func newMirrorTables(_ pid: Int, upTo newsz: UInt64) -> Int {
        let top = mirrorTop[pid] ?? 0
        guard newsz > top else { return 0 }
        mirrorTop[pid] = newsz
        let first = (top + (1 << 21) - 1) >> 21, last = (newsz - 1) >> 21
        return last >= first ? Int(last - first + 1) : 0
    }

    func fail(_ i: Int, _ message: String) -> ImportError {
        ImportError(file: file, line: probes[i].line, column: 1, message: message, text: "@T " + probes[i].rendered)
    }

    @discardableResult
    mutating func newOp(_ kind: LogOperation.Kind, pid: Int, at i: Int) -> Int {
        newOp(kind, pid: pid, line: probes[i].line, at: i)
    }

    @discardableResult
    mutating func newOp(_ kind: LogOperation.Kind, pid: Int, line: Int, at i: Int) -> Int {
        ops.append(LogOperation(kind, pid: pid, line: line, at: i))
        emission.append(-1)
        waiting.append(ops.end - 1)
        return ops.end - 1
    }

    /// An operation whose process probe, at `i`, comes first (growproc, exit, wait): what the
    /// process allocated before it were pipes, and what it was doing is over.
    mutating func beginProcessOperation(_ kind: LogOperation.Kind, _ i: Int, _ me: Int) -> Int {
        flushPending(me)
        close(me)
        let op = newOp(kind, pid: me, at: i)
        ops[op].processProbe = i
        opOf[i] = Int32(op)
        return op
    }

    mutating func attach(_ i: Int, to op: Int) {
        opOf[i] = Int32(op)
        ops[op].probes.append(i)
    }

    /// The kallocs a process made that nothing claimed become pipes, each placed at its kalloc.
    mutating func flushPending(_ pid: Int) {
        guard let list = pending.removeValue(forKey: pid) else { return }
        for i in list {
            let op = newOp(.pipe, pid: pid, at: i)
            ops[op].pipe = nextPipe
            if probes[i].pa != 0 { pipes[probes[i].pa] = nextPipe }
            nextPipe += 1
            attach(i, to: op)
        }
    }

    mutating func close(_ pid: Int) {
        open[pid] = nil
        walkOwed[pid] = nil
        lateMirror[pid] = nil
    }

    mutating func take(_ i: Int) throws(ImportError) {
        let p = probes[i]
        let me = current
        switch p.kind {
        case .swtch:
            if p.other == 1 {
                guard current == 0 else { throw fail(i, "`swtch to=\(p.pid)` while pid \(current) still runs: a `swtch from=\(current)` is missing") }
                if booted, let op = open[0], ops[op].kind == .userinit { close(0) }
                current = p.pid
                if perProcessTables {
                    let kind: LogOperation.Kind = lastSwitch.map { !$0.to && $0.pid == p.pid } == true ? .yield : .run
                    _ = newOp(kind, pid: p.pid, at: i)
                }
            } else {
                guard current == p.pid else {
                    throw fail(i, current == 0 ? "`swtch from=\(p.pid)` with no process running: a `swtch to=\(p.pid)` is missing"
                                               : "`swtch from=\(p.pid)` while pid \(current) runs")
                }
                lastFrom[p.pid] = i
                current = 0
                // A wait is over once its process leaves the CPU (its frees run under the
                // child's lock, so no switch comes in the middle): nothing later belongs to it,
                // and replay need not hold the log back for it while the process sleeps.
                if let op = open[p.pid], ops[op].kind == .wait { close(p.pid) }
                // An operation stays open across a switch: exec sleeps on the disk, and with
                // preemption anything can be switched out. Its process's next probes go on with
                // it; another process's memory probes in between are a split (checkNotSplit).
            }
            lastSwitch = (p.pid, p.other == 1)
        case .allocproc:
            if !booted {
                booted = true
                close(0)
                let op = newOp(.userinit, pid: 0, at: i)
                open[0] = op
                guard p.pid == 1 else { throw fail(i, "the first process has pid \(p.pid); xv6's userinit makes pid 1") }
                lives[1] = (0, false, false)
                unreaped.insert(1)
                attach(i, to: op)
            } else {
                guard me != 0 else { throw fail(i, "allocproc outside any process: only userinit does that, once, at boot") }
                try mustRun(i, me, "forks")
                if let l = lives[p.pid], !l.reaped { throw fail(i, "allocproc hands out pid \(p.pid), which is still in use") }
                flushPending(me)
                close(me)
                let op = newOp(.fork, pid: me, at: i)
                ops[op].child = p.pid
                open[me] = op
                attach(i, to: op)
            }
        case .fork:
            guard p.pid == me else { throw fail(i, "fork by pid \(p.pid) printed while pid \(me) runs") }
            if let op = open[me], ops[op].kind == .fork, !ops[op].freeing {
                guard p.other == -1 || ops[op].child == p.other else {
                    throw fail(i, "fork says child \(p.other), but allocproc gave pid \(ops[op].child ?? 0)")
                }
                ops[op].processProbe = i
                opOf[i] = Int32(op)
                if p.other == -1 {
                    ops[op].forkFailed = true
                    ops[op].freeing = true
                } else {
                    lives[p.other] = (me, false, false)
                    unreaped.insert(p.other)
                    size[p.other] = size[me] ?? 0
                    mirrorTop[p.other] = size[me] ?? 0
                    close(me)
                    if mirrorsByWalk && forkMirrorAfterProbe {
                        // The child's mirror is made after this line: the parent's next kallocs.
                        mirrorTop[p.other] = 0
                        lateMirror[me] = (op, newMirrorTables(p.other, upTo: size[me] ?? 0))
                    }
                }
            } else {
                guard p.other == -1 else { throw fail(i, "fork of pid \(p.other) with no allocproc before it") }
                // No free slot: fork returns -1 before allocproc does anything.
                flushPending(me)
                close(me)
                let op = newOp(.fork, pid: me, at: i)
                ops[op].processProbe = i
                opOf[i] = Int32(op)
            }
        case .exec, .execfail:
            guard p.pid == me else { throw fail(i, "exec by pid \(p.pid) printed while pid \(me) runs") }
            try mustRun(i, me, "execs")
            var op: Int
            if let o = open[me], ops[o].kind == .exec, !ops[o].freeing {
                op = o
            } else {
                // exec failed before it made a page table: only sys_exec's argv pages came before,
                // and, when memory ran out, the kalloc for the table that returned 0.
                close(me)
                op = newOp(.exec, pid: me, at: i)
                let list = pending.removeValue(forKey: me) ?? []
                ops[op].argc = list.count
                if let last = list.last, probes[last].pa == 0 {
                    ops[op].argc -= 1
                    ops[op].startedTable = true
                    ops[op].outOfMemory = true
                }
                ops[op].at = list.first ?? i
                for a in list { attach(a, to: op) }
                open[me] = op
            }
            ops[op].path = p.text
            ops[op].processProbe = i
            opOf[i] = Int32(op)
            ops[op].freeing = true
            walkOwed[me] = nil
            if p.kind == .execfail { ops[op].failed = true } else {
                bits[me] = [:]
                size[me] = p.sz
                mirrorTop[me] = execReplacesKernelTable ? p.sz : max(mirrorTop[me] ?? 0, p.sz)
            }
        case .growproc:
            guard p.pid == me else { throw fail(i, "growproc of pid \(p.pid) printed while pid \(me) runs") }
            try mustRun(i, me, "grows (sbrk)")
            let op = beginProcessOperation(.growproc, i, me)
            ops[op].n = p.n
            let newsz = UInt64(bitPattern: Int64(bitPattern: p.sz) &+ p.n)
            // uvmalloc's pages, from PGROUNDUP(sz) up to sz + n, rounded up without overflowing:
            // a log's sz near 2^64 made `+ pageSize - 1` trap (the kernel's C wraps).
            if p.n > 0 && newsz > pageRoundUp(p.sz) {
                let bytes = newsz - pageRoundUp(p.sz)
                ops[op].pagesLeft = Int(bytes / pageSize + (bytes % pageSize == 0 ? 0 : 1))
            }
            if mirrorsByWalk && p.n > 0 { ops[op].mirrorLeft = newMirrorTables(me, upTo: newsz) }
            size[me] = newsz
            forgetBits(me, above: newsz)
            open[me] = op
        case .exit:
            guard p.pid == me else { throw fail(i, "exit of pid \(p.pid) printed while pid \(me) runs") }
            try mustRun(i, me, "exits")
            if me == 1 { throw fail(i, "init (pid 1) exits: the kernel panics there, and a log cannot go on") }
            lives[me]?.exited = true
            for child in unreaped where lives[child]?.parent == me { lives[child]?.parent = 1 }
            let op = beginProcessOperation(.exit, i, me)
            ops[op].status = p.n
            exitsAwaiting[me] = op
        case .wait:
            guard p.pid == me else { throw fail(i, "wait by pid \(p.pid) printed while pid \(me) runs") }
            try mustRun(i, me, "waits")
            guard let child = lives[p.other], !child.reaped else {
                throw fail(i, "pid \(me) reaps pid \(p.other), which " + (lives[p.other] == nil ? "no fork made" : "was reaped already"))
            }
            guard child.parent == me else { throw fail(i, "pid \(me) reaps pid \(p.other), which is the child of pid \(child.parent)") }
            guard child.exited else { throw fail(i, "pid \(me) reaps pid \(p.other), which never exited (no `exit pid=\(p.other)` before)") }
            lives[p.other]?.reaped = true
            unreaped.remove(p.other)
            // What the importer followed of the child's memory goes with it.
            bits[p.other] = nil
            size[p.other] = nil
            mirrorTop[p.other] = nil
            // The child ran for the last time before this: its exit's place is known.
            exitsAwaiting[p.other] = nil
            let op = beginProcessOperation(.wait, i, me)
            ops[op].child = p.other
            open[me] = op
        case .freeproc:
            if let op = open[me], [.wait, .fork].contains(ops[op].kind), ops[op].kind == .wait || ops[op].freeing {
                attach(i, to: op)
            } else {
                unexplained.append(i)
            }
        case .kalloc:
            try kalloc(i, me)
        case .kfree:
            if !pipes.isEmpty, let id = pipes.removeValue(forKey: p.pa) {
                let op = newOp(.close, pid: me, at: i)
                ops[op].pipe = id
                attach(i, to: op)
            } else if let list = pending[me], let last = list.last, probes[last].pa == 0,
                      let first = list.firstIndex(where: { probes[$0].pa == p.pa }) {
                // sys_exec ran out of memory copying its arguments and frees the pages it took;
                // exec itself is never called (and prints nothing). What came before were pipes.
                pending[me] = Array(list[..<first])
                flushPending(me)
                close(me)
                let op = newOp(.exec, pid: me, at: list[first])
                ops[op].argc = list.count - first
                ops[op].path = "?"
                ops[op].failed = true
                ops[op].outOfMemory = true
                ops[op].argvFailed = true
                ops[op].freeing = true
                for a in list[first...] { attach(a, to: op) }
                attach(i, to: op)
                open[me] = op
            } else if let op = open[me], acceptsFree(op) {
                attach(i, to: op)
            } else {
                unexplained.append(i)
            }
            shadow.forget(p.pa)
        case .map:
            try map(i, me)
        case .unmap:
            if let op = open[me], acceptsFree(op) {
                attach(i, to: op)
                if ops[op].kind == .exec && p.pt == ops[op].root && ops[op].root != 0 {
                    if p.va == MemLayout.trampoline { ops[op].tornDown = true }
                    else if p.flag && p.va < MemLayout.trapframe && !ops[op].tornDown && ops[op].dealloc == nil {
                        ops[op].dealloc = (p.va, p.n)
                    }
                }
            } else { unexplained.append(i) }
        case .freewalk, .kvmFree:
            if let op = open[me], acceptsFree(op) { attach(i, to: op) } else { unexplained.append(i) }
            shadow.forget(p.pt)
        case .pagefault, .copyout, .copyin, .copyinstr, .refinc, .refdec, .sbrk:
            try takeLab(i, me)
        case .satp, .cowcopyout, .lazycopy:
            break
        }
    }
}
