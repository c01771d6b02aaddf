import XV6
import RISCV
import Support
import Scenario

/// How a trace is written.
public enum TraceFormat: String, CaseIterable, Sendable {
    /// One event per line, as documented in docs/trace-format.md.
    case text
    /// The same stream as JSON Lines.
    case jsonl
    /// No trace at all (for timing).
    case none
}

/// The trace format's version, written in the first line.
public let traceFormatVersion = 2

/// Writes a run's records (`TraceRecord`: the header, event boundaries, the kernel's events,
/// the simulation's notes) as text or JSON Lines, into a byte buffer that is handed to `output`
/// whenever it grows large (and at `finish`), or kept whole when `output` is nil.
public final class TraceWriter: TraceSink {
    public let format: TraceFormat
    package let sites: SiteTree
    private let out: TraceBytes
    private var text: TraceText
    private let output: (([UInt8]) -> Void)?
    /// Or the buffer itself, written from where it lies (`run`, `bench`: a copy of every MB
    /// into an array was a tenth of writing a trace).
    private let bufferOutput: ((TraceBytes) -> Void)?
    /// Whether the buffer is handed on as it grows (else kept whole).
    private var handsOn: Bool { output != nil || bufferOutput != nil }
    private var event = 0
    /// The scenario's name as traces show it (set by `header`).
    private var scenarioName = "-"
    public private(set) var lineCount = 0
    /// The 1-based line of each `event` line of a text trace, with the event's number, in
    /// order: tools find events by these, not by reading the text back.
    public private(set) var eventLines: [(line: Int, event: Int)] = []
    /// With a buffer handed on as it grows, a text trace is rendered on a thread of its own:
    /// the records go to it in batches (`pending`), with the site names it has not had yet.
    private var renderer: TraceRenderThread?
    private var pending = ContiguousArray<PackedRecord>()
    private var pendingOthers: [TraceRecord] = []
    /// Sites numbered below this have been named to the renderer.
    private var sitesNamed = 0
    /// Sees every record with the index of the scenario event that caused it, whatever the
    /// format (replay compares the kernel's records with a kernel's log; a digest counts them).
    public var tap: ((TraceRecord, Int) -> Void)?

    public init(format: TraceFormat, sites: SiteTree, output: (([UInt8]) -> Void)? = nil) {
        self.format = format
        self.sites = sites
        self.output = output
        bufferOutput = nil
        out = TraceBytes(capacity: output == nil ? 1 << 16 : (1 << 20) + (1 << 16))
        text = TraceText(out: out, sites: sites)
    }

    /// A writer that hands its buffer to `output` whenever it grows large, and at `finish`.
    package init(format: TraceFormat, sites: SiteTree, writingBuffer output: @escaping (TraceBytes) -> Void) {
        self.format = format
        self.sites = sites
        self.output = nil
        bufferOutput = output
        out = TraceBytes(capacity: (1 << 20) + (1 << 16))
        text = TraceText(out: out, sites: sites)
        if format == .text {
            renderer = TraceRenderThread(out: out, output: output)
            pending = TraceRenderThread.emptyBatch()
        }
    }

    deinit { renderer?.abandon() }

    private init(copying w: TraceWriter, sites: SiteTree) {
        format = w.format
        self.sites = sites
        output = nil
        bufferOutput = nil
        out = w.out.copy()
        text = w.text
        text.retarget(out: out, sites: sites)
        event = w.event
        scenarioName = w.scenarioName
        lineCount = w.lineCount
        eventLines = w.eventLines
    }

    /// A writer that goes on from where this one is, with `sites` (a copy of this writer's,
    /// taken at the same moment), keeping everything written so far and what follows in its
    /// own buffer: a snapshot of a run that is being traced.
    public func snapshot(sites: SiteTree) -> TraceWriter {
        if let renderer {
            ship()
            renderer.waitIdle()
        }
        return TraceWriter(copying: self, sites: sites)
    }

    /// Everything written so far (when there is no `output`).
    public var bytes: [UInt8] { out.array }

    /// Hands what is buffered to `output`.
    public func finish() {
        if let renderer {
            ship()
            renderer.finish()
            self.renderer = nil
            return
        }
        guard out.count > 0 else { return }
        if let bufferOutput { bufferOutput(out); out.removeAll() } else if let output { output(out.array); out.removeAll() }
    }

    // MARK: records

    /// The first lines: format version, scenario, and the settings in force.
    public func header(_ s: CompiledScenario) {
        let settings: [(String, String)] = [
            ("variant", s.config.variant),
        ] + ([.harts] + MachineKey.allCases.filter(\.isAddress)).map { ($0.rawValue, $0.shown(s.config)) }
          + s.config.settings.listed.map { ($0.key, $0.value) } + [("check", s.checkInvariants ? "true" : "false")]
        scenarioName = s.file
        write(.header(version: traceFormatVersion))
        write(.scenario(file: s.file))
        for (k, v) in settings { write(.setting(name: k, value: v)) }
    }

    /// Opens the lines caused by event `index`.
    public func begin(event index: Int, _ e: Event) {
        event = index
        if format == .text { eventLines.append((lineCount + 1, index)) }
        write(.event(index: index, origin: e.location.map { EventOrigin(file: e.source ?? scenarioName, line: $0.line, column: $0.column) },
                     label: e.label))
    }

    /// Writes a record of the simulation's (a header line, an event's, a note).
    public func write(_ r: TraceRecord) {
        if let tap { tap(r, event) }
        if renderer != nil { return enqueue(other: r, lines: TraceText.lines(r)) }
        switch format {
        case .none: return
        case .text: lineCount += text.write(r)
        case .jsonl: lineCount += TraceJSON.write(r, event: event, sites: sites, into: out)
        }
        if handsOn && out.count >= 1 << 20 { flush() }
    }

    /// A kernel event: the frequent records, rendered without a detour.
    public override func record(_ e: TraceEvent) {
        if let tap { tap(.kernel(e), event) }
        if renderer != nil {
            if let p = PackedRecord(e) { return enqueue(p) }
            return enqueue(other: .kernel(e), lines: TraceText.lines(e))
        }
        switch format {
        case .none: return
        case .text: lineCount &+= text.write(e)
        case .jsonl: lineCount += TraceJSON.write(.kernel(e), event: event, sites: sites, into: out)
        }
        if handsOn && out.count >= 1 << 20 { flush() }
    }

    /// Adds a packed kernel event (a line) to the renderer's next batch.
    @inline(__always) private func enqueue(_ p: PackedRecord) {
        pending.append(p)
        lineCount &+= 1
        if pending.count >= TraceRenderThread.batchSize { ship() }
    }

    /// Adds `r` to the renderer's next batch as a record, counting its lines now.
    private func enqueue(other r: TraceRecord, lines: Int) {
        pendingOthers.append(r)
        enqueue(PackedRecord(other: pendingOthers.count - 1))
        lineCount &+= lines - 1
    }

    /// Hands the records so far to the renderer, with the names of the sites made since the
    /// last batch.
    private func ship() {
        guard let renderer else { return }
        var names: [[UInt8]] = []
        if sites.count > sitesNamed {
            names = (sitesNamed..<sites.count).map { Array(sites.name(Int32($0)).utf8) }
            sitesNamed = sites.count
        }
        var packed = ContiguousArray<PackedRecord>()
        swap(&packed, &pending)
        let others = pendingOthers
        pendingOthers = []
        pending = renderer.hand(.init(packed: packed, others: others, names: names))
    }

    /// Hands the buffer on, if there is anyone to hand it to (else it keeps growing: `bytes`).
    private func flush() {
        if let bufferOutput { bufferOutput(out) } else if let output { output(out.array) } else { return }
        out.removeAll()
    }
}
