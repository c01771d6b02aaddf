/// A value for each page of RAM that the kernel keeps beside it (the cow lab's reference
/// counts), written in place: an array checked that its buffer was not shared before every
/// write, and the counts change at every fork's page, COW fault, kalloc and kfree. Nothing
/// here is shared or copied on write: `copy()` makes a copy.
public final class PerPage<Value: BitwiseCopyable> {
    public let count: Int
    @usableFromInline let base: UnsafeMutablePointer<Value>

    /// `count` values, each `value`.
    public init(repeating value: Value, count: Int) {
        self.count = count
        base = .allocate(capacity: max(1, count))
        base.initialize(repeating: value, count: count)
    }

    private init(copying other: PerPage) {
        count = other.count
        base = .allocate(capacity: max(1, count))
        base.initialize(from: other.base, count: count)
    }

    deinit { base.deallocate() }

    /// The same values, in storage of their own.
    public func copy() -> PerPage { PerPage(copying: self) }

    /// The value of page `i`.
    @inlinable public subscript(_ i: Int) -> Value {
        get {
            precondition(i >= 0 && i < count, "page index out of range")
            return base[i]
        }
        set {
            precondition(i >= 0 && i < count, "page index out of range")
            base[i] = newValue
        }
    }
}
