import Foundation

/// A thread-safe counter for progress.
public final class Counter: @unchecked Sendable {
    private var n = 0
    private let lock = NSLock()
    public init() {}
    public func increment() -> Int { lock.lock(); defer { lock.unlock() }; n += 1; return n }
    public var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

/// Results filled in by concurrent workers, each into its own index.
public final class Slots<T>: @unchecked Sendable {
    private var items: [T?]
    private let lock = NSLock()
    public init(count: Int) { items = Array(repeating: nil, count: count) }
    public subscript(i: Int) -> T? {
        get { lock.lock(); defer { lock.unlock() }; return items[i] }
        set { lock.lock(); items[i] = newValue; lock.unlock() }
    }
    public var values: [T] { lock.lock(); defer { lock.unlock() }; return items.map { $0! } }
}


/// The I-th of N deterministic slices of a sorted list (I from 1): every N-th item.
public func shardItems<T>(_ items: [T], index: Int, count: Int) -> [T] {
    items.enumerated().filter { $0.offset % count == index - 1 }.map(\.element)
}
