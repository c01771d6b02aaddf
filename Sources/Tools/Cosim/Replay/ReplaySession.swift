import XV6
import RISCV
import Support
import Scenario
import Run
import CosimLog

/// What a replay tells someone who watches the model run the log (the report, which the
/// command line connects): each operation as the model begins it (its index, the same as its
/// trace's event index; 0 is boot), every record the model writes, and the model after each
/// operation it ran. The model stops at a panic: nothing after it is begun.
public struct ReplayObserver {
    public var begin: (_ index: Int, _ operation: LogOperation?, _ event: Event) -> Void
    public var record: (_ record: TraceRecord, _ event: Int) -> Void
    public var after: (_ index: Int, _ kernel: Kernel) -> Void
    public init(begin: @escaping (Int, LogOperation?, Event) -> Void, record: @escaping (TraceRecord, Int) -> Void,
                after: @escaping (Int, Kernel) -> Void) {
        self.begin = begin; self.record = record; self.after = after
    }
}

/// A replay as the log is read: each probe goes to the importer, the operations it decides
/// run on the model at once, and each stream is compared as both sides come in. Memory stays
/// bounded by how far apart what is read and what is decided are, not by the log's length;
/// a departure is final soon after it is read (`decided`), and the rest need not be read.
public final class ReplaySession {
    let file: String
    let config: KernelConfig
    package var importer: LogImporter
    /// The log's probes still needed, by the importer or by the comparison.
    package let store = ProbeStore()
    package let recorder: ProbeRecorder
    let sites = SiteTree()
    let writer: TraceWriter
    /// Where the model's kernel events go when nobody watches: to the recorder at once, not
    /// through the writer and its tap (`RecorderSink`).
    let direct: RecorderSink?
    var kernel: Kernel?
    /// The kernel while it boots, and (weakly) one that panicked at boot: see `init`.
    private var bootingKernel: Kernel?
    private weak var panickedKernel: Kernel?
    /// The model's panic, once it has panicked (it runs no more events).
    var modelPanic: String?
    /// Operations handed out, by their place (= their scenario event; boot is 0).
    var operations = IndexedWindow<LogOperation>()
    /// The pipes taken from bare kallocs: (log line, the line of their close).
    var pipes: [(line: Int, freedAt: Int?)] = []
    var pipeIndex: [Int: Int] = [:]
    var booted = false
    let idleKvminithart: Bool
    /// Whether the log has been read to its end.
    var logEnded = false
    /// The model's tables where each stream parted, by stream (`captureTables`).
    var tables: [String: TablesRead] = [:]
    /// Where the memory streams parted inside a copyout: each frame another process mapped
    /// then at a page the copy writes, with that page and those processes' pids (`noteSharers`).
    var sharers: [UInt64: Sharers] = [:]
    /// Probes read since the importer was last asked for what they decide.
    private var sinceAdvance = 0
    static let advanceEvery = 512
    /// How far past the departure the log is read before the replay stops early.
    static let readPastDeparture = 100_000

    /// A replay of the log `file`, read as the kernel `config` describes; with `blind`, pages
    /// are matched by first use.
    /// How many departures to find (--keep-going), and those found, each with its context.
    let keepGoing: Int
    /// Whether pages are matched by first use (`--blind-addresses`).
    let blind: Bool
    var found: [(departure: Departure, probe: Int)] = []
    /// The pages the kernel held where the memory streams first parted (--keep-going goes on).
    var firstHeld: (held: [(site: String, pages: Int, modelFreed: Int)], line: Int)?

    /// Who watches the model run, if anyone (`ReplayObserver`).
    let observer: ReplayObserver?
    /// Whether a departure's tables carry the kernel's side without an observer (tests).
    var kernelSides = false
    /// Whether the model's tables are read where a stream parts: not for suggest's trial
    /// replays, which look only at where each departs (reading a kernel table of 34,000
    /// PTEs at each took half of a suggest's time).
    var readsTables = true

    public init(file: String, config: KernelConfig, blind: Bool = false, keepGoing: Int = 1, observer: ReplayObserver? = nil) {
        self.observer = observer
        self.keepGoing = max(1, keepGoing)
        self.blind = blind
        self.file = file
        self.config = config
        importer = LogImporter(file: file, config: config, store: store)
        recorder = ProbeRecorder(store: store)
        idleKvminithart = config.settings.schedulerIdleKvminithart
        recorder.skipsKvminithartAfterBoot = idleKvminithart
        recorder.lazySbrk = config.settings.lazyAllocation
        // RAM on either side: the kernel's may end elsewhere than the model's.
        recorder.compare(blind: blind, ram: MemLayout.kernbase..<(UInt64(1) << 40))
        writer = TraceWriter(format: .none, sites: sites)
        if let observer {
            writer.tap = { [recorder] r, event in
                if case .kernel(let e) = r { recorder.take(e, event) }
                observer.record(r, event)
            }
            direct = nil
        } else {
            direct = RecorderSink(recorder)
        }
        let boot = Event(kind: .boot, location: nil, label: "boot")
        observer?.begin(0, nil, boot)
        writer.begin(event: 0, boot)
        let k = Kernel(unbooted: config, sink: direct ?? writer, sites: sites)
        // The model's kernel while it lives: while it boots, once booted (`kernel`), or, after
        // a panic at boot, as long as anything else holds it. No weak reference to it while it
        // runs: one gives the kernel a side table, and then every retain and release of it takes
        // the slow path (a tenth of the main thread's time on pgtbl-reparent2's log).
        bootingKernel = k
        for side in recorder.streams {
            side.onDepart = { [unowned self] in
                guard let k = self.kernel ?? self.bootingKernel ?? self.panickedKernel else { return }
                self.captureTables(k, $0, $1, $2)
                self.noteSharers(k, $0, $1, $2)
            }
        }
        if self.keepGoing > 1 {
            for side in recorder.streams { side.onContext = { [unowned self] in self.noteDeparture($0, at: $1) } }
        }
        do throws(KernelPanic) {
            try k.boot()
            kernel = k
        } catch {
            writer.record(.panic(error))
            stopModel(error.message)
            panickedKernel = k
        }
        bootingKernel = nil
        observer?.after(0, k)
    }

    /// Reads the log's next probe.
    public func take(_ p: Probe) throws(ImportError) {
        let i = store.end
        try importer.take(p)
        booted = booted || p.kind == .allocproc
        if p.kind.isMemory { recorder.memory.logged(i) }
        // An idle loop's kvminithart writes come where timing puts them: neither side's are compared.
        else if p.kind == .satp && !(idleKvminithart && booted && p.textID == ProbeText.kvminithart) { recorder.satp.logged(i) }
        sinceAdvance += 1
        if sinceAdvance >= Self.advanceEvery { try advance() }
    }

    /// Runs on the model what the probes read so far decide.
    func advance() throws(ImportError) {
        sinceAdvance = 0
        for op in try importer.ready() { run(op) }
        forget()
    }

    /// The log has ended.
    public func finishLog() throws(ImportError) {
        for op in try importer.finish() { run(op) }
        logEnded = true
        for side in recorder.streams { side.logEnded() }
    }

    /// Whether the first departure is known for certain, and enough of the log around it has
    /// been read: the rest of the log can go unread.
    public var decided: Bool {
        if keepGoing > 1 {
            guard found.count >= keepGoing, let last = found.map(\.probe).max() else { return false }
            return store.end - last >= Self.readPastDeparture
        }
        guard let line = firstDepartureProbe() else { return false }
        return store.end - line >= Self.readPastDeparture && recorder.streams.allSatisfy { s in
            s.departedAt != nil || (s.frontier.map { $0 > line } ?? true)
        } || store.end - line >= 4 * Self.readPastDeparture
    }

    /// A departure with its context (--keep-going): noted, and the stream goes on after the
    /// operation it parted in, until as many as asked for are found.
    func noteDeparture(_ side: StreamComparison, at k: Int) {
        var d = departure(side, k)
        d.tables = tables(at: d)
        let probe = side.expected[k]
        if side.name == "memory" && firstHeld == nil {
            var r = ReplayReport(file: file, variant: "", operations: 0, agreed: [], departure: d, panic: nil, kernelPanic: nil,
                                 held: [], heldAtLine: 0)
            held(&r, finishing: d.model?.event)
            firstHeld = (r.held, r.heldAtLine)
        }
        found.append((d, probe))
        guard found.count < keepGoing else { return side.release() }
        // Both sides go on after the later of the two operations they were in.
        var o = d.model?.event ?? -1
        if probe >= store.opOf.base, store.opOf[probe] >= 0 { o = max(o, Int(store.opOf[probe])) }
        var through = probe
        if o >= operations.base && o < operations.end {
            let op = operations[o]
            through = max(through, op.probes.last ?? 0, op.processProbe ?? 0)
        }
        side.resume(afterEvent: o, logThrough: through)
    }

    /// The log's probe index of the earliest departure found so far.
    func firstDepartureProbe() -> Int? {
        recorder.streams.compactMap { s in s.departedAt.flatMap { $0 < s.expected.end ? s.expected[$0] : nil } }.min()
    }

    func run(_ op: LogOperation) {
        let index = operations.end
        operations.append(op)
        for i in op.probes where i >= store.opOf.base { store.opOf[i] = Int32(index) }
        if let pp = op.processProbe {
            if pp >= store.opOf.base { store.opOf[pp] = Int32(index) }
            recorder.process.logged(pp)
        }
        switch op.kind {
        case .pipe:
            pipeIndex[op.pipe] = pipes.count
            pipes.append((store[op.probes[0]].line, store[op.probes[0]].pa == 0 ? store[op.probes[0]].line : nil))
        case .close:
            if let k = pipeIndex.removeValue(forKey: op.pipe) { pipes[k].freedAt = store[op.probes[0]].line }
        default: break
        }
        guard index > 0, modelPanic == nil, let k = kernel, let event = op.event(file: file, labelled: observer != nil) else { return }
        observer?.begin(index, op, event)
        writer.begin(event: index, event)
        direct?.event = index
        k.eventTag = Int32(clamping: index)
        recorder.waitParent = if case .syscall(let parent, .wait) = event.kind { parent } else { nil }
        do throws(KernelPanic) {
            _ = try Runner.execute(event.kind, on: k, writer: writer)
        } catch {
            writer.record(.panic(error))
            stopModel(error.message)
        }
        observer?.after(index, k)
    }

    private func stopModel(_ message: String) {
        modelPanic = message
    }

    /// Forgets what no departure can need any more.
    private func forget() {
        importer.forget(below: forgetOperations())
    }

    /// Forgets what the comparison and the operations handed out no longer need, and returns
    /// the oldest probe they still need.
    func forgetOperations() -> Int {
        for side in recorder.streams { side.forget() }
        var keep = store.end
        for side in recorder.streams { if let k = side.oldestNeeded { keep = min(keep, k) } }
        // The operations a departure may name: from the one before that over the oldest probe
        // a stream needs (else the last few).
        var firstOp = max(0, operations.end - 64)
        for side in recorder.streams {
            if let k = side.oldestNeeded, k >= store.opOf.base, store.opOf[k] >= 0 { firstOp = min(firstOp, Int(store.opOf[k]) - 1) }
        }
        firstOp = max(firstOp, operations.base)
        if firstOp < operations.end, let first = operations[firstOp].probes.first { keep = min(keep, first) }
        operations.drop(below: firstOp)
        return keep
    }
}

/// The model's kernel events handed to the recorder as the kernel makes them, with the event
/// under way: a replay nobody watches needs nothing else of them (through the trace writer's
/// `record` and its tap, each event was wrapped as a record and passed through two closures).
final class RecorderSink: TraceSink {
    let recorder: ProbeRecorder
    var event = 0
    init(_ recorder: ProbeRecorder) { self.recorder = recorder }
    override func record(_ e: TraceEvent) { recorder.take(e, event) }
}
