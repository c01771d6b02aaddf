import Foundation
import XV6
import Support
import Scenario
import Run
import CosimLog

/// What the import thread made of one batch of the log's probes: the probes, the operations
/// each advance handed out (after which probe of the batch, with the oldest probe the
/// importer still read then), and the error that stopped it, if one did.
struct ImportedBatch {
    var probes: [Probe]
    var advances: [(after: Int, operations: [LogOperation], importerNeeds: Int)] = []
    /// The importer's error at probe `at` of the batch; `taken`: the probe was read whole
    /// before it (the error came from handing operations out).
    var failure: (at: Int, taken: Bool, error: ImportError)?
    /// What the reader's batch showed besides its probes.
    var batch: ProbeBatch
    /// The operations the log's end hands out (the last batch only).
    var finish: [LogOperation]?
}

/// The importer of a streamed replay, on a thread of its own: it takes each batch of probes
/// the reader parsed, as the reader hands it over, and decides the operations, up to `depth`
/// batches ahead of the main thread, which runs the model and compares
/// (`ReplaySession.takeImported`). Reading and parsing, importing, and modelling overlap
/// (docs/replay-performance.md). The importer keeps its own probes; it forgets them below
/// what the main thread has forgotten (so it holds at least what the importer of a replay
/// on one thread holds), and the main thread forgets its own below what the importer still
/// reads, as one thread did.
final class ImportThread: @unchecked Sendable {
    /// Batches imported and not yet taken, at most.
    static let depth = 4
    private let lock = NSCondition()
    private var outputs: [ImportedBatch] = []
    private var cancelled = false
    private var mainForgotBelow = 0
    private var importer: LogImporter
    private let chunks: LogChunks
    private var sinceAdvance = 0

    /// Starts importing `first` (the probes the kernel was judged from), then what `chunks`
    /// hands over, to the log's end.
    init(importer: LogImporter, chunks: LogChunks, first: ProbeBatch) {
        self.importer = importer
        self.chunks = chunks
        let thread = Thread { [self] in run(first) }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// The next batch imported, in order: the last has `finish` or a failure.
    func next() -> ImportedBatch {
        lock.lock()
        defer { lock.unlock() }
        while outputs.isEmpty { lock.wait() }
        lock.broadcast()
        return outputs.removeFirst()
    }

    /// The main thread has forgotten the probes below `k`.
    func mainForgot(below k: Int) {
        lock.lock()
        mainForgotBelow = max(mainForgotBelow, k)
        lock.unlock()
    }

    func cancel() {
        lock.lock()
        cancelled = true
        lock.broadcast()
        lock.unlock()
    }

    /// Hands `out` over, waiting while `depth` wait; false once cancelled.
    private func emit(_ out: ImportedBatch) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        while outputs.count >= Self.depth && !cancelled { lock.wait() }
        if cancelled { return false }
        outputs.append(out)
        lock.broadcast()
        return true
    }

    private func run(_ first: ProbeBatch) {
        var batch: ProbeBatch? = first
        while let input = batch {
            lock.lock()
            let forgotten = mainForgotBelow
            lock.unlock()
            var out = importBatch(input, forgotten)
            if out.failure != nil && !input.endsChunk, let error = parseFailure(inChunkOf: input) {
                // A line later in the same chunk that cannot be read comes first, as when a
                // chunk was parsed whole before any of it was imported.
                out = ImportedBatch(probes: [], batch: input)
                out.failure = (0, false, error)
            }
            guard emit(out), out.failure == nil else { return }
            do throws(LogError) { batch = try chunks.nextProbes() } catch {
                var failed = ImportedBatch(probes: [], batch: ProbeBatch(probes: [], vmprintLines: 0, panic: nil))
                failed.failure = (0, false, error)
                _ = emit(failed)
                return
            }
        }
        _ = emit(finishLog())
    }

    /// The reader's error in the rest of `batch`'s chunk, if it has one.
    private func parseFailure(inChunkOf batch: ProbeBatch) -> LogError? {
        do throws(LogError) {
            while let more = try chunks.nextProbes(), !more.endsChunk {}
        } catch { return error }
        return nil
    }

    private func importBatch(_ batch: ProbeBatch, _ forgotten: Int) -> ImportedBatch {
        var out = ImportedBatch(probes: batch.probes, batch: batch)
        out.batch.probes = []
        // In runs that end where the operations are asked for, each run appended at once.
        var j = 0
        while j < batch.probes.count {
            let run = min(batch.probes.count - j, ReplaySession.advanceEvery - sinceAdvance)
            if let f = importer.take(contentsOf: batch.probes[j..<(j + run)]) {
                out.failure = (j + f.offset, false, f.error)
                return out
            }
            j += run
            sinceAdvance += run
            guard sinceAdvance >= ReplaySession.advanceEvery else { continue }
            sinceAdvance = 0
            do throws(ImportError) {
                let ops = try importer.ready()
                let needs = importer.oldestNeeded(below: Int.max)
                out.advances.append((j - 1, ops, needs))
                importer.forget(keeping: min(forgotten, needs))
            } catch {
                out.failure = (j - 1, true, error)
                return out
            }
        }
        return out
    }

    /// The log's end: what the reader kept to its end (its last probes, if any), and the
    /// operations the end hands out.
    private func finishLog() -> ImportedBatch {
        let rest = chunks.finished
        lock.lock()
        let forgotten = mainForgotBelow
        lock.unlock()
        var out = importBatch(ProbeBatch(probes: rest.probes, vmprintLines: rest.vmprintLines, panic: rest.panic), forgotten)
        guard out.failure == nil else { return out }
        do throws(ImportError) { out.finish = try importer.finish() } catch { out.failure = (out.probes.count, false, error) }
        return out
    }
}

extension ReplaySession {
    /// Takes a batch the import thread made: each probe as `take` takes it, less the
    /// importing, with the operations handed out where the importer handed them out.
    func takeImported(_ b: ImportedBatch, _ thread: ImportThread) throws(ImportError) {
        // The probes the importer read, appended at once: up to its failure, if it failed.
        let read = b.failure.map { $0.taken ? $0.at + 1 : $0.at } ?? b.probes.count
        let first = store.end
        store.append(contentsOf: b.probes[0..<read])
        var next = 0
        for j in 0..<read {
            let p = b.probes[j], i = first + j
            store.noteScheduler(p, at: i)
            booted = booted || p.kind == .allocproc
            if p.kind.isMemory { recorder.memory.logged(i) }
            else if p.kind == .satp && !(idleKvminithart && booted && p.textID == ProbeText.kvminithart) { recorder.satp.logged(i) }
            guard next < b.advances.count, b.advances[next].after == j else { continue }
            for op in b.advances[next].operations { run(op) }
            store.drop(below: min(forgetOperations(), b.advances[next].importerNeeds))
            thread.mainForgot(below: store.base)
            next += 1
        }
        if let f = b.failure { throw f.error }
        if let ops = b.finish {
            for op in ops { run(op) }
            logEnded = true
            for side in recorder.streams { side.logEnded() }
        }
    }
}
