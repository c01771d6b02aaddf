import Foundation
import Support
import Scenario
import Run

/// A log's text, read and decompressed on a thread of its own and handed over in chunks
/// through a bounded queue: decompressing overlaps parsing and modelling, and memory holds a
/// few chunks whatever the log's size. `KernelLog.open(path:)` starts one.
public final class LogChunks: @unchecked Sendable {
    /// Chunks waiting at most; the reader waits while the queue is full.
    static let depth = 4
    static let chunkSize = 1 << 20
    private let lock = NSCondition()
    private var queue: [[UInt8]] = []
    private var ended = false
    private var failure: LogError?
    private var cancelled = false
    /// The log's file name, as messages show it.
    public let name: String
    /// Whether the log is a regular file (it can be read again from its start).
    public package(set) var regularFile = false

    package init(name: String) { self.name = name }

    /// Hands `chunk` over, waiting while the queue is full; false when the reader should stop.
    func put(_ chunk: [UInt8]) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        while queue.count >= Self.depth && !cancelled { lock.wait() }
        if cancelled { return false }
        queue.append(chunk)
        lock.signal()
        return true
    }

    /// The text has ended, or could not be read further (`failure`).
    package func end(_ failure: LogError?) {
        lock.lock()
        self.failure = failure
        ended = true
        lock.signal()
        lock.unlock()
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
        lock.broadcast()
        lock.unlock()
    }

    var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }
}
