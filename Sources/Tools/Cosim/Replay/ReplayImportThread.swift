import Foundation
import XV6
import Support
import Scenario
import Run

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

/// The importer of a streamed replay, on a thread of its own: it reads each batch of probes
/// the reader parsed and decides the operations, while the main thread runs the model and
/// compares (`ReplaySession.takeImported`). The three overlap on two cores: reading and
/// parsing, importing, and modelling (docs/replay-performance.md). The importer keeps its own
/// probes; it forgets them below what the main thread has forgotten (so it holds at least
/// what the importer of a replay on one thread holds), and the main thread forgets its own
/// below what the importer still reads, as one thread did.
final class ImportThread: @unchecked Sendable {
    static let depth = 2
    private let lock = NSCondition()
    private var inputs: [ProbeBatch?] = []
    private var outputs: [ImportedBatch] = []
    private var cancelled = false
    private var mainForgotBelow = 0
    private var importer: LogImporter
    private var sinceAdvance = 0
    /// Batches put and not yet taken back.
    private(set) var inFlight = 0

    init(importer: LogImporter) {
        self.importer = importer
        let thread = Thread { [self] in run() }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Hands over the reader's next batch (nil: the log has ended), waiting while the thread
    /// has `depth` batches to do.
    func put(_ batch: ProbeBatch?) {
        lock.lock()
        defer { lock.unlock() }
        while inputs.count >= Self.depth && !cancelled { lock.wait() }
        inputs.append(batch)
        inFlight += 1
        lock.broadcast()
    }

    /// The next batch imported, in order.
    func next() -> ImportedBatch {
        lock.lock()
        defer { lock.unlock() }
        while outputs.isEmpty { lock.wait() }
        inFlight -= 1
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
        inputs.removeAll()
        lock.broadcast()
        lock.unlock()
    }

    private func run() {
        while true {
            lock.lock()
            while inputs.isEmpty && !cancelled { lock.wait() }
            if cancelled { lock.unlock(); return }
            let input = inputs.removeFirst()
            let forgotten = mainForgotBelow
            lock.broadcast()
            lock.unlock()
            let out = input.map { importBatch($0, forgotten) } ?? finishLog()
            lock.lock()
            outputs.append(out)
            lock.broadcast()
            lock.unlock()
            if out.failure != nil || out.finish != nil { return }
        }
    }

    private func importBatch(_ batch: ProbeBatch, _ forgotten: Int) -> ImportedBatch {
        var out = ImportedBatch(probes: batch.probes, batch: batch)
        out.batch.probes = []
        for (j, p) in batch.probes.enumerated() {
            do throws(ImportError) { try importer.take(p) } catch {
                out.failure = (j, false, error)
                return out
            }
            sinceAdvance += 1
            guard sinceAdvance >= ReplaySession.advanceEvery else { continue }
            sinceAdvance = 0
            do throws(ImportError) {
                let ops = try importer.ready()
                out.advances.append((j, ops, importer.oldestNeeded(below: Int.max)))
                importer.forget(below: forgotten)
            } catch {
                out.failure = (j, true, error)
                return out
            }
        }
        return out
    }

    private func finishLog() -> ImportedBatch {
        var out = ImportedBatch(probes: [], batch: ProbeBatch(probes: [], vmprintLines: 0, panic: nil))
        do throws(ImportError) { out.finish = try importer.finish() } catch { out.failure = (0, false, error) }
        return out
    }
}

extension ReplaySession {
    /// Takes a batch the import thread made: each probe as `take` takes it, less the
    /// importing, with the operations handed out where the importer handed them out.
    func takeImported(_ b: ImportedBatch, _ thread: ImportThread) throws(ImportError) {
        var next = 0
        for (j, p) in b.probes.enumerated() {
            if let f = b.failure, f.at == j, !f.taken { throw f.error }
            let i = store.end
            store.append(p)
            booted = booted || p.kind == .allocproc
            if p.kind.isMemory { recorder.memory.logged(i) }
            else if p.kind == .satp && !(idleKvminithart && booted && p.textID == ProbeText.kvminithart) { recorder.satp.logged(i) }
            if let f = b.failure, f.at == j { throw f.error }
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
