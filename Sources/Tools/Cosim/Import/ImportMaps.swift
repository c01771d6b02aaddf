/// Values by pid, as the importer keeps what it follows of each process: an array for the
/// small pids a kernel hands out (a look-up for every probe, without a hash), a dictionary
/// for any other a log may name (pids are read from -1 to Int32.max).
struct PidMap<Value> {
    /// Pids below this are held in `slots`.
    static var nearLimit: Int { 1 << 16 }
    private var slots: [Value?] = []
    /// The pids with a value in `slots`, in no particular order, and where each is in it.
    private var present: [Int] = []
    private var position: [Int32] = []
    private var far: [Int: Value] = [:]

    init() {}

    var isEmpty: Bool { present.isEmpty && far.isEmpty }

    /// The pids with a value, in no particular order.
    var keys: [Int] { present + far.keys }

    /// The values, in no particular order.
    var values: [Value] { present.map { slots[$0]! } + far.values }

    subscript(pid: Int) -> Value? {
        get {
            if pid >= 0 && pid < Self.nearLimit { return pid < slots.count ? slots[pid] : nil }
            return far.isEmpty ? nil : far[pid]
        }
        _modify {
            guard pid >= 0 && pid < Self.nearLimit else {
                yield &far[pid]
                return
            }
            if pid >= slots.count { grow(to: pid) }
            let was = slots[pid] != nil
            yield &slots[pid]
            let now = slots[pid] != nil
            if was != now { if now { add(pid) } else { remove(pid) } }
        }
    }

    subscript(pid: Int, default value: @autoclosure () -> Value) -> Value {
        get { self[pid] ?? value() }
        _modify {
            guard pid >= 0 && pid < Self.nearLimit else {
                yield &far[pid, default: value()]
                return
            }
            if pid >= slots.count { grow(to: pid) }
            if slots[pid] == nil {
                slots[pid] = value()
                add(pid)
            }
            yield &slots[pid]!
        }
    }

    @discardableResult
    mutating func removeValue(forKey pid: Int) -> Value? {
        guard let v = self[pid] else { return nil }
        self[pid] = nil
        return v
    }

    private mutating func grow(to pid: Int) {
        let n = min(Self.nearLimit, max(pid + 1, 2 * slots.count, 64))
        slots.append(contentsOf: repeatElement(nil, count: n - slots.count))
        position.append(contentsOf: repeatElement(-1, count: n - position.count))
    }

    private mutating func add(_ pid: Int) {
        position[pid] = Int32(present.count)
        present.append(pid)
    }

    private mutating func remove(_ pid: Int) {
        let k = Int(position[pid])
        let last = present.removeLast()
        if last != pid {
            present[k] = last
            position[last] = Int32(k)
        }
        position[pid] = -1
    }
}

extension PidMap {
    /// A map holding one value.
    init(_ pid: Int, _ value: Value) {
        self.init()
        self[pid] = value
    }
}

/// A number by user page (the A and D bits the model will have in a process's PTE): an
/// array by page number for the first GiB of user memory, a dictionary above.
struct PageBits {
    static let nearPages = 1 << 18
    /// By page number: the value + 1 (0: absent); values are 0xc0 bits at most.
    private var near: [UInt8] = []
    private var far: [UInt64: UInt64] = [:]

    init() {}

    subscript(page: UInt64) -> UInt64? {
        get {
            let n = page >> 12
            if n < Self.nearPages { return n < near.count && near[Int(n)] != 0 ? UInt64(near[Int(n)] - 1) : nil }
            return far.isEmpty ? nil : far[page]
        }
        set {
            let n = page >> 12
            guard n < Self.nearPages, newValue.map({ $0 < 0xff }) ?? true else { far[page] = newValue; return }
            if Int(n) >= near.count {
                guard newValue != nil else { return }
                near.append(contentsOf: repeatElement(0, count: max(Int(n) + 1, 2 * near.count, 64) - near.count))
            }
            near[Int(n)] = newValue.map { UInt8($0) + 1 } ?? 0
        }
    }

    /// Whether any page at or above `top` has a value.
    func any(atOrAbove top: UInt64) -> Bool {
        let n = top >> 12
        if n < near.count && near[Int(n)...].contains(where: { $0 != 0 }) { return true }
        return far.keys.contains(where: { $0 >= top })
    }

    /// Forgets the pages at or above `top`.
    mutating func forget(atOrAbove top: UInt64) {
        let n = top >> 12
        if n < near.count { near.removeSubrange(Int(n)...) }
        if !far.isEmpty { far = far.filter { $0.key < top } }
    }
}
