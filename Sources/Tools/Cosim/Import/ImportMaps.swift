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

/// What the log has said of each pid: its parent, and whether it exited or was reaped. A
/// reaped pid is kept as one bit: xv6 never reuses a pid, so a long log names ever more of
/// them, and all the importer asks of one reaped is whether it was (a generated log of
/// 290,000 echoes held 290,000 lives before).
package struct ProcessLives {
    package typealias Life = (parent: Int, exited: Bool, reaped: Bool)
    private var live = PidMap<Life>()
    /// Reaped pids below `bitLimit`, a bit each; any other in `reapedFar`.
    private var reapedBits: [UInt64] = []
    private var reapedFar: Set<Int> = []
    static let bitLimit = 1 << 24

    package init() {}

    package subscript(pid: Int) -> Life? {
        get { live[pid] ?? (isReaped(pid) ? (parent: 0, exited: true, reaped: true) : nil) }
        _modify { yield &live[pid] }
    }

    /// Pid `pid`'s parent has reaped it.
    package mutating func reap(_ pid: Int) {
        live[pid] = nil
        guard pid >= 0 && pid < Self.bitLimit else { reapedFar.insert(pid); return }
        if pid >> 6 >= reapedBits.count { reapedBits.append(contentsOf: repeatElement(0, count: max(pid >> 6 + 1, 2 * reapedBits.count) - reapedBits.count)) }
        reapedBits[pid >> 6] |= 1 << UInt64(pid & 63)
    }

    private func isReaped(_ pid: Int) -> Bool {
        guard pid >= 0 && pid < Self.bitLimit else { return reapedFar.contains(pid) }
        return pid >> 6 < reapedBits.count && reapedBits[pid >> 6] & (1 << UInt64(pid & 63)) != 0
    }
}
