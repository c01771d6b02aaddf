import XV6
import RISCV
import Support
import Scenario
import Run
import CosimLog

/// Replaying a log as it is read from its file or FIFO, in bounded memory: the kernel it
/// ran is judged from the log's first probes, the rest streams through a `ReplaySession`.
public struct StreamedReplay {
    public var report: ReplayReport
    /// What was left out of the log, and why (a last line cut short), and notes on the replay.
    public var warnings: [LogError]
}

extension Replay {
    /// How many probes are read before the kernel is judged from them: a boot, with its
    /// first exec, and far more.
    static let prefixProbes = 10_000

    /// Replays the log at `path` (text or `.xz`; a file, FIFO or `/dev/stdin`), stopping once
    /// a departure is certain (`ReplaySession.decided`). `overrides`: `--set KEY=VALUE`.
    /// `keepGoing`: how many departures to find (each later one after the operation the one
    /// before it parted in).
    /// `observe`: who watches the model run, made for the kernel the log is judged to be (a
    /// second time, from scratch, when the log is read again with the end it shows).
    public static func stream(path: String, overrides: [String], blind: Bool, keepGoing: Int = 1,
                              observe: ((KernelConfig) -> ReplayObserver)? = nil) throws(LogError) -> StreamedReplay {
        let first = try streamOnce(path: path, overrides: overrides, blind: blind, keepGoing: keepGoing, observe: observe)
        // Where memory ran out shows where the kernel's image ends: only known at the end. A
        // file read again with that end agrees as the whole log's guess would.
        guard let end = first.endShown, !overrides.contains(where: { $0.hasPrefix("end=") }) else { return first.replay }
        guard first.regularFile else {
            var r = first.replay
            r.warnings.append(LogError(file: path, line: 0, column: 0, message: "the kernel's memory ran out where its image ends at \(hexShort(end)), not where the model's does; a FIFO cannot be read again: replay it with --set end=\(hexShort(end))", warning: true))
            return r
        }
        return try streamOnce(path: path, overrides: overrides + ["end=\(hexShort(end))"], blind: blind, keepGoing: keepGoing,
                              observe: observe).replay
    }

    private static func streamOnce(path: String, overrides: [String], blind: Bool, keepGoing: Int,
                                   observe: ((KernelConfig) -> ReplayObserver)?) throws(LogError)
        -> (replay: StreamedReplay, endShown: UInt64?, regularFile: Bool) {
        // Read, decompressed and parsed on the reader thread, chunk by chunk; imported on
        // another (`ImportThread`) once the kernel is judged; modelled and compared here.
        let chunks = try KernelLog.open(path: path, limit: Int.max, parsing: true)
        defer { chunks.cancel() }
        var seen = ProbeBatch(probes: [], vmprintLines: 0, panic: nil)
        var prefix: [Probe] = []
        var session: ReplaySession?
        var importing: ImportThread?
        defer { importing?.cancel() }
        var config = KernelConfig(variant: "xv6-2020")
        var lowest = UInt64.max, exhausted = false
        func start(_ log: KernelLog, pipelined: Bool) throws(LogError) {
            config = try LogImporter.config(of: log, overrides: overrides)
            let s = ReplaySession(file: chunks.name, config: config, blind: blind, keepGoing: keepGoing, observer: observe?(config))
            session = s
            if pipelined {
                importing = ImportThread(importer: LogImporter(file: chunks.name, config: config), chunks: chunks,
                                         first: ProbeBatch(probes: prefix, vmprintLines: seen.vmprintLines, panic: seen.panic))
            } else {
                for p in prefix { try s.take(p) }
            }
            prefix = []
        }
        func track(_ probes: [Probe]) {
            for p in probes where p.kind == .kalloc { if p.pa == 0 { exhausted = true } else { lowest = min(lowest, p.pa) } }
        }
        // The first probes, until the kernel can be judged.
        while session == nil, let batch = try chunks.nextProbes() {
            seen = batch
            seen.probes = []
            track(batch.probes)
            prefix.append(contentsOf: batch.probes)
            if prefix.count >= prefixProbes && batch.endsChunk {
                try start(KernelLog(file: chunks.name, probes: prefix, vmprintLines: seen.vmprintLines), pipelined: true)
            }
        }
        let decided = try streamImported(session, importing) { b in seen = b.batch; track(b.probes) }
        var log = KernelLog(file: chunks.name, probes: [])
        if !decided {
            log = chunks.finished
            if session == nil {
                let whole = KernelLog(file: chunks.name, probes: prefix + log.probes, vmprintLines: log.vmprintLines,
                                      lineCount: log.lineCount, panic: log.panic, warnings: log.warnings)
                try LogImporter.refuseEmpty(whole)
                prefix = whole.probes
                try start(whole, pipelined: false)
                try session!.finishLog()
            }
        }
        let s = session!
        var report = s.report(kernelPanic: log.panic ?? seen.panic)
        report.variantGuessed = !overrides.contains(where: { $0.hasPrefix("variant=") })
        // The end the whole log shows, as the import's guess reads it.
        var endShown: UInt64?
        var image = config.image
        if exhausted && lowest != .max && lowest != pageRoundUp(image.end) && lowest < image.phystop {
            image.end = lowest
            if image.problem == nil { endShown = lowest }
        }
        return (StreamedReplay(report: report, warnings: log.warnings), endShown, chunks.regularFile)
    }

    /// Hands each batch `importing` imported to the session, in the reader's order, checking
    /// at the end of each chunk of text whether the departure is decided (true: it is, and
    /// the rest is left unread); false once the log's end is taken. An error, the reader's or
    /// the importer's, is thrown once the batches before it are taken, as on one thread.
    private static func streamImported(_ session: ReplaySession?, _ importing: ImportThread?,
                                       consumed: (ImportedBatch) -> Void) throws(LogError) -> Bool {
        guard let session, let importing else { return false }
        while true {
            let b = importing.next()
            consumed(b)
            try session.takeImported(b, importing)
            if b.finish != nil { return false }
            if b.batch.endsChunk && session.decided { return true }
        }
    }
}
