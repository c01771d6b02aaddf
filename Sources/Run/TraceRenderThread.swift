import Foundation
import XV6
import Support

/// Renders a text trace on a thread of its own, while the model runs on the caller's: the
/// writer hands over its records in batches, with the names of the sites made since the last
/// batch (the site tree grows on the model's thread and is never read here), and this thread
/// writes their lines into the writer's buffer and hands the buffer to `output` whenever it
/// grows large, and at the end. The lines and their order are the same as on one thread;
/// only the time differs (docs/performance.md: a traced run was 3 to 4 times an untraced one,
/// most of it the text).
final class TraceRenderThread: @unchecked Sendable {
    /// Records in a batch (56 bytes each).
    static let batchSize = 4096
    /// Batches handed over and not yet rendered, at most (the model waits past that).
    static let depth = 8

    private let lock = NSCondition()
    private var waiting: [Batch] = []
    private var spares: [ContiguousArray<PackedRecord>] = []
    private var closing = false
    private var busy = false
    private var ended = false
    /// Set by `abandon`: the thread ends without rendering or handing on anything more.
    private var dropping = false
    /// This thread's renderer: every site name it needs comes with the batches.
    private var text: TraceText
    private let out: TraceBytes
    private let output: (TraceBytes) -> Void

    /// Starts the thread, rendering into `out` (the writer's buffer, which the writer leaves
    /// alone from now on but while the thread is idle: `waitIdle`).
    init(out: TraceBytes, output: @escaping (TraceBytes) -> Void) {
        self.out = out
        self.output = output
        text = TraceText(out: out, sites: SiteTree())
        let thread = Thread { [self] in run() }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// What the writer hands over at once: its records, packed (`PackedRecord`), those kept
    /// as records, and the names of the sites made since the last batch, in the order of
    /// their numbers.
    struct Batch {
        var packed: ContiguousArray<PackedRecord>
        var others: [TraceRecord]
        var names: [[UInt8]]
    }

    /// Room for a batch of packed records.
    static func emptyBatch() -> ContiguousArray<PackedRecord> {
        var a = ContiguousArray<PackedRecord>()
        a.reserveCapacity(batchSize)
        return a
    }

    /// Hands `batch` over; returns room for the next batch's packed records. Waits while
    /// `depth` batches wait.
    func hand(_ batch: Batch) -> ContiguousArray<PackedRecord> {
        lock.lock()
        defer { lock.unlock() }
        while waiting.count >= Self.depth { lock.wait() }
        waiting.append(batch)
        lock.broadcast()
        return spares.popLast() ?? Self.emptyBatch()
    }

    /// Returns once every batch handed over is rendered (the buffer then holds what has not
    /// been handed to `output`).
    func waitIdle() {
        lock.lock()
        while !waiting.isEmpty || busy { lock.wait() }
        lock.unlock()
    }

    /// Renders what is left, hands the rest of the buffer to `output`, and ends the thread;
    /// returns when it has ended.
    func finish() {
        lock.lock()
        closing = true
        lock.broadcast()
        while !ended { lock.wait() }
        lock.unlock()
    }

    /// Ends the thread, rendering and handing on nothing more (a writer dropped unfinished
    /// hands on no more than one on a single thread would have).
    func abandon() {
        lock.lock()
        closing = true
        dropping = true
        waiting.removeAll()
        lock.broadcast()
        lock.unlock()
    }

    private func run() {
        while true {
            lock.lock()
            while waiting.isEmpty && !closing { lock.wait() }
            if waiting.isEmpty {
                let drop = dropping
                lock.unlock()
                if out.count > 0 && !drop { output(out); out.removeAll() }
                lock.lock()
                ended = true
                lock.broadcast()
                lock.unlock()
                return
            }
            var batch = waiting.removeFirst()
            busy = true
            lock.broadcast()
            lock.unlock()
            render(batch)
            batch.packed.removeAll(keepingCapacity: true)
            lock.lock()
            spares.append(batch.packed)
            busy = false
            lock.broadcast()
            lock.unlock()
        }
    }

    private func render(_ batch: Batch) {
        text.learn(batch.names)
        for p in batch.packed {
            if p.kind == .other { _ = text.write(batch.others[p.pid]) } else { _ = text.write(p.event) }
            if out.count >= 1 << 20 { output(out); out.removeAll() }
        }
    }
}
