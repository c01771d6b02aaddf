import Foundation
import Support

/// A log's text, read and decompressed on a thread of its own and handed over in chunks
/// through a bounded queue: decompressing overlaps parsing and modelling, and memory holds a
/// few chunks whatever the log's size. `KernelLog.open(path:)` starts one.
///
/// With `parsing` (replay), the reader thread parses each chunk too, and hands over its
/// probes instead (`nextProbes`): the main thread only imports, models and compares.
public final class LogChunks: @unchecked Sendable {
    /// Chunks waiting at most; the reader waits while the queue is full.
    static let depth = 4
    static let chunkSize = 1 << 20
    /// Parsed chunks waiting at most: each holds its probes (about 2 MB for 1 MiB of text).
    static let batchDepth = 3
    /// The batches a chunk is parsed into.
    static let parts = 8
    private let lock = NSCondition()
    private var queue: [[UInt8]] = []
    private var batches: [ProbeBatch] = []
    private var ended = false
    private var failure: LogError?
    private var cancelled = false
    /// The log's file name, as messages show it.
    public let name: String
    /// Whether the log is a regular file (it can be read again from its start).
    public package(set) var regularFile = false
    /// The parser, on the reader thread (nil: the text is handed over as it is).
    private var parser: LogReader?
    private var parseFailure: LogError?
    /// What the parser found besides the probes, once the text has ended (parsing only).
    private var parsedLog: KernelLog?

    public init(name: String, parsing: Bool = false) {
        self.name = name
        if parsing {
            parser = LogReader(file: name)
            parser!.streaming = true
        }
    }

    /// Hands `chunk` over, waiting while the queue is full; false when the reader should stop.
    func put(_ chunk: [UInt8]) -> Bool {
        if parser != nil { return put(parsing: chunk) }
        lock.lock()
        defer { lock.unlock() }
        while queue.count >= Self.depth && !cancelled { lock.wait() }
        if cancelled { return false }
        queue.append(chunk)
        lock.signal()
        return true
    }

    /// Parses `chunk` and hands its probes over in `parts` batches, the last marked as ending
    /// the chunk (a replay decides whether to read on only there, as when a chunk was one
    /// batch): fewer probes wait between the threads (replay's importer has one of its own).
    /// A line that cannot be read ends the text there: the probes before it in that part are
    /// not handed over (the failure is, after the batches before it).
    private func put(parsing chunk: [UInt8]) -> Bool {
        let size = max(1, (chunk.count + Self.parts - 1) / Self.parts)
        var from = 0
        repeat {
            let to = min(chunk.count, from + size)
            do throws(LogError) {
                try chunk.withUnsafeBufferPointer { (b) throws(LogError) in try parser!.feed(UnsafeBufferPointer(rebasing: b[from..<to])) }
            } catch {
                parseFailure = error
                return false
            }
            var batch = ProbeBatch(probes: parser!.segment, vmprintLines: parser!.log.vmprintLines, panic: parser!.log.panic)
            batch.endsChunk = to == chunk.count
            parser!.segment = []
            parser!.segment.reserveCapacity(batch.probes.count + batch.probes.count / 8)
            lock.lock()
            while batches.count >= Self.batchDepth && !cancelled { lock.wait() }
            if cancelled { lock.unlock(); return false }
            batches.append(batch)
            lock.signal()
            lock.unlock()
            from = to
        } while from < chunk.count
        return true
    }

    /// The text has ended, or could not be read further (`failure`).
    public func end(_ failure: LogError?) {
        var failure = parseFailure ?? failure
        if failure == nil && parser != nil && !isCancelled {
            do throws(LogError) { parsedLog = try parser!.finish() } catch { failure = error }
        }
        lock.lock()
        self.failure = failure
        ended = true
        lock.signal()
        lock.unlock()
    }

    /// The probes of the next chunk, in order (parsing only); nil at the text's end. What
    /// stopped the reader is thrown once the batches before it are taken.
    public func nextProbes() throws(LogError) -> ProbeBatch? {
        lock.lock()
        defer { lock.unlock() }
        while batches.isEmpty && !ended { lock.wait() }
        if !batches.isEmpty {
            let c = batches.removeFirst()
            lock.signal()
            return c
        }
        if let failure { throw failure }
        return nil
    }

    /// Once `nextProbes` has returned nil: the log as its parser finished it (the line count,
    /// the console's findings, the warnings), without probes.
    public var finished: KernelLog {
        lock.lock()
        defer { lock.unlock() }
        return parsedLog ?? KernelLog(file: name, probes: [])
    }

    /// The next chunk of text, in order; nil at its end. What stopped the reader is thrown
    /// once the chunks before it are taken.
    public func next() throws(LogError) -> [UInt8]? {
        lock.lock()
        defer { lock.unlock() }
        while queue.isEmpty && !ended { lock.wait() }
        if !queue.isEmpty {
            let c = queue.removeFirst()
            lock.signal()
            return c
        }
        if let failure { throw failure }
        return nil
    }

    /// Stops the reader: nothing more is wanted (a departure found, an error).
    public func cancel() {
        lock.lock()
        cancelled = true
        queue.removeAll()
        batches.removeAll()
        lock.broadcast()
        lock.unlock()
    }

    var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }
}

/// The probes parsed from one chunk of a log's text, with what its console lines showed so far.
public struct ProbeBatch: Sendable {
    public var probes: [Probe]
    /// Console lines read so far that begin `page table 0x` (the lab's vmprint).
    public var vmprintLines: Int
    /// The kernel's panic, if one was read so far, and its line.
    public var panic: (line: Int, message: String)?
    /// Whether it ends a chunk of the text (`LogChunks.parts`).
    public var endsChunk = true

    public init(probes: [Probe], vmprintLines: Int, panic: (line: Int, message: String)?) {
        self.probes = probes; self.vmprintLines = vmprintLines; self.panic = panic
    }
}
