import XV6
import RISCV
import Support
import Scenario
import Run
import CosimLog

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
    /// The oldest probe they read, as the last settle found it when `at` probes had been read.
    var waitingOldest = (at: -1, oldest: Int.max)
    /// The last settle that went through every waiting operation: its watermark, and how many
    /// operations were waiting after it (`settle` skips the next ones that could not change).
    var lastFullSettle = (watermark: -1, waiting: 0)
    /// Settles gone through in full, and skipped, so far.
    package internal(set) var settles = (full: 0, skipped: 0)
    var emitted = 0
    /// For each process whose exit has been read, the exit, until it is reaped (its last
    /// switch away, where the exit takes effect, is read by then).
    var exitsAwaiting = PidMap<Int>()
    /// For each probe, the end of the latest span of probes of an operation over it; and,
    /// for a kernel whose exec replaces the kernel table, where the exec over it began.
    var spanEnd = IndexedWindow<Int>()
    var freshExecStart = IndexedWindow<Int>()
    /// How far the split check has read, and the operation it saw last, with its last probe.
    var split = (next: 0, lastOp: Int32(-1), lastEnd: -1)
    /// The operation each process is in the middle of.
    var open = PidMap<Int>()
    /// Bare kallocs of each process that no operation has claimed yet: argv pages or pipes.
    var pending = PidMap<[Int]>()
    /// Open pipes: page -> id.
    var pipes: [UInt64: Int] = [:]
    var nextPipe = 1
    var shadow = ShadowTables()
    /// kallocs walk still owes the last map of each process.
    var walkOwed = PidMap<Int>()
    /// The A and D bits (0xc0) the model will have in each process's user PTEs, by page.
    var bits = PidMap<PageBits>()
    /// The last `swtch from=` of each pid, and the pid of the last swtch seen.
    var lastFrom = PidMap<Int>()
    var lastSwitch: (pid: Int, to: Bool)?
    var current = 0
    var booted = false
    var perProcessTables = false
    /// Whether the kernel copies user mappings into its kernel tables with walk, printing no map.
    var mirrorsByWalk = false
    /// Whether sbrk allocates lazily: its `sbrk` line is the operation (there is no growproc).
    var lazySbrk = false
    /// Each process's last `copyin` or `copyinstr` line, which a lazy page may be made for.
    var lastCopy = PidMap<Int>()
    /// Each process's size, and the top of what its kernel table's mirror has ever covered
    /// (walk never frees a table page, so the level-0 tables below it exist).
    var size = PidMap<UInt64>(1, pageSize)
    var mirrorTop = PidMap<UInt64>(1, pageSize)
    /// Whether the log's fork line comes before the child's mirror, and the fork each process's
    /// next bare kallocs then belong to, with how many.
    var forkMirrorAfterProbe = false
    /// Whether exec builds a fresh kernel table before anything else (exec_kernel_table=fresh-first):
    /// its root is the first kalloc after the argv pages, UART its first map.
    var execBuildsKernelTable = false
    /// Whether exec replaces the process's kernel table with one it built (any fresh table).
    var execReplacesKernelTable = false
    var lateMirror = PidMap<(op: Int, pages: Int)>()
    var unexplained: [Int] = []
    /// What the log has said of each pid so far: its parent, and whether it exited or was reaped.
    var lives = ProcessLives()
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

    /// Reads the probes of `run` one by one, as `take` each, after appending them at once (one
    /// copy of the run, where appending one by one checked each window's room every time):
    /// nothing a probe's reading looks at reads past it. The first that cannot be read stops
    /// it, with its offset in the run and the error (nil: all were read). The caller asks for
    /// what is `ready` only after a run, when all its probes have been read.
    mutating func take(contentsOf run: ArraySlice<Probe>) -> (offset: Int, error: ImportError)? {
        guard let p = run.first else { return nil }
        if probes.end == 0 { ops[0].line = p.line }
        let first = probes.end
        probes.append(contentsOf: run)
        opOf.append(repeating: -1, count: run.count)
        spanEnd.append(repeating: -1, count: run.count)
        if execReplacesKernelTable { freshExecStart.append(repeating: -1, count: run.count) }
        for k in 0..<run.count {
            do throws(ImportError) { try take(first + k) } catch { return (k, error) }
        }
        return nil
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
            try takeSwitch(i, me)
        case .allocproc:
            try takeAllocproc(i, me)
        case .fork:
            try takeFork(i, me)
        case .exec, .execfail:
            try takeExec(i, me)
        case .growproc:
            try takeGrowproc(i, me)
        case .exit:
            try takeExit(i, me)
        case .wait:
            try takeWait(i, me)
        case .freeproc:
            if let op = open[me], [.wait, .fork].contains(ops[op].kind), ops[op].kind == .wait || ops[op].freeing {
                attach(i, to: op)
            } else {
                unexplained.append(i)
            }
        case .kalloc:
            try kalloc(i, me)
        case .kfree:
            try takeKfree(i, me)
        case .map:
            try map(i, me)
        case .unmap:
            try takeUnmap(i, me)
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
