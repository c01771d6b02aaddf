import Foundation

/// The common probe line read quickly, without building strings or arrays: its fields in
/// the order the probe kit prints them, each well formed. Anything else (another order, a
/// bad value, a field too many) gives nil, and `KernelLog.parseProbe` reads the line again
/// and says what is wrong: the fast path never decides an error.
public struct ProbeScanner {
    let b: UnsafeBufferPointer<UInt8>
    var i: Int
    public let end: Int

    /// The kinds, and their names' bytes one after another, each name's range in them, in
    /// `ProbeKind.allCases` order: compared with memcmp, no array per name to retain.
    static let kinds = ProbeKind.allCases
    static let kindBytes: [UInt8] = kinds.flatMap { Array($0.rawValue.utf8) }
    static let kindRanges: [Range<Int>] = {
        var at = 0
        return kinds.map { k in
            defer { at += k.rawValue.utf8.count }
            return at..<(at + k.rawValue.utf8.count)
        }
    }()

    /// The probe in b[from..<to] (after its `@T `), nil if it is not read quickly.
    static func scan(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Probe? {
        scanFixed(b, from, to) ?? scanFields(b, from, to)
    }

    /// `scan` field by field, in the probe kit's order.
    public static func scanFields(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Probe? {
        var s = ProbeScanner(b: b, i: from, end: to)
        guard let w = s.word(), let kind = s.kind(w) else { return nil }
        var p = Probe(kind)
        switch kind {
        case .kalloc, .kfree:
            guard let pa = s.address("pa") else { return nil }
            p.pa = pa
        case .map:
            guard let pt = s.address("pt"), let va = s.address("va"), let size = s.address("size"),
                  let pa = s.address("pa"), let perm = s.address("perm", exact: false) else { return nil }
            p.pt = pt; p.va = va; p.size = size; p.pa = pa; p.perm = perm
        case .unmap:
            guard let pt = s.address("pt"), let va = s.address("va"), let n = s.number("npages"),
                  let f = s.number("free"), f == 0 || f == 1 else { return nil }
            p.pt = pt; p.va = va; p.n = n; p.flag = f == 1
        case .freewalk, .kvmFree:
            guard let pt = s.address("pt") else { return nil }
            p.pt = pt
        case .satp:
            guard let pa = s.address("pa"), let by = s.field("by") else { return nil }
            p.pa = pa
            if s.equals(by, "scheduler") {
                guard let pid = s.pid("pid") else { return nil }
                p.textID = ProbeText.scheduler; p.pid = pid
            } else if s.equals(by, "kvminithart") {
                p.textID = ProbeText.kvminithart
            } else { return nil }
        case .allocproc, .freeproc:
            guard let pid = s.pid("pid") else { return nil }
            p.pid = pid
        case .fork:
            guard let parent = s.pid("parent"), let child = s.pid("child") else { return nil }
            p.pid = parent; p.other = child
        case .exec, .execfail:
            guard let pid = s.pid("pid"), let path = s.field("path") else { return nil }
            p.pid = pid; p.text = String(decoding: b[path], as: UTF8.self)
            if kind == .exec {
                guard let sz = s.address("sz") else { return nil }
                p.sz = sz
            }
        case .growproc:
            guard let pid = s.pid("pid"), let n = s.number("n"), n >= Int64(Int32.min), n <= Int64(Int32.max),
                  let sz = s.address("sz") else { return nil }
            p.pid = pid; p.n = n; p.sz = sz
        case .exit:
            guard let pid = s.pid("pid"), let n = s.number("status"), n >= Int64(Int32.min), n <= Int64(Int32.max) else { return nil }
            p.pid = pid; p.n = n
        case .wait:
            guard let pid = s.pid("pid"), let child = s.pid("reaped") else { return nil }
            p.pid = pid; p.other = child
        case .swtch:
            if let to = s.pid("to") { p.pid = to; p.other = 1 } else if let from = s.pid("from") { p.pid = from } else { return nil }
        case .copyout, .copyin:
            guard let pid = s.pid("pid"), let pt = s.address("pt"), let va = s.address("va"), let n = s.number("len") else { return nil }
            p.pid = pid; p.pt = pt; p.va = va; p.n = n
        case .refinc, .refdec:
            guard let pa = s.address("pa"), let n = s.number("n") else { return nil }
            p.pa = pa; p.n = n
        case .pagefault:
            guard let pid = s.pid("pid"), let scause = s.address("scause", exact: false), let va = s.address("va") else { return nil }
            p.pid = pid; p.n = Int64(bitPattern: scause); p.va = va
        case .copyinstr:
            guard let pid = s.pid("pid"), let pt = s.address("pt"), let va = s.address("va"), let n = s.number("max") else { return nil }
            p.pid = pid; p.pt = pt; p.va = va; p.n = n
        case .sbrk:
            guard let pid = s.pid("pid"), let n = s.number("n"), n >= Int64(Int32.min), n <= Int64(Int32.max),
                  let sz = s.address("sz") else { return nil }
            p.pid = pid; p.n = n; p.sz = sz
        case .cowcopyout, .lazycopy:
            return nil
        }
        return s.word() == nil ? p : nil
    }

    /// The next word (bytes up to a space), if any.
    mutating func word() -> Range<Int>? {
        while i < end && b[i] == 0x20 { i += 1 }
        let s = i
        while i < end && b[i] != 0x20 { i += 1 }
        return i > s ? s..<i : nil
    }

    /// The kind named by the word `w`. A name of up to 8 bytes is read as one number (its bytes,
    /// the first lowest) and found by a switch; only the longer names (allocproc,
    /// kvm_free_kernelpgtbl, ...) are compared byte by byte (the names' memcmp, one by one,
    /// took 7 % of the reader thread's instructions). A test checks every kind's number.
    func kind(_ w: Range<Int>) -> ProbeKind? {
        if w.count <= 8 && w.lowerBound <= b.count &- 8 {
            return Self.shortKind(load8(w.lowerBound) & Self.lowBytes(w.count))
        }
        let first = b[w.lowerBound], word = b.baseAddress! + w.lowerBound
        return Self.kindBytes.withUnsafeBufferPointer { names in
            for (k, r) in Self.kindRanges.enumerated() where r.count == w.count && names[r.lowerBound] == first {
                if memcmp(names.baseAddress! + r.lowerBound, word, w.count) == 0 { return Self.kinds[k] }
            }
            return nil
        }
    }

    /// The kind whose name, of at most 8 bytes, is `name` (its bytes, the first lowest, zero
    /// above); nil for any other word.
    public static func shortKind(_ name: UInt64) -> ProbeKind? {
        switch name {
        case 0x0000636F6C6C616B: .kalloc
        case 0x000000656572666B: .kfree
        case 0x000000000070616D: .map
        case 0x00000070616D6E75: .unmap
        case 0x6B6C617765657266: .freewalk
        case 0x0000000070746173: .satp
        case 0x636F727065657266: .freeproc
        case 0x000000006B726F66: .fork
        case 0x0000000063657865: .exec
        case 0x6C69616663657865: .execfail
        case 0x636F7270776F7267: .growproc
        case 0x0000000074697865: .exit
        case 0x0000000074696177: .wait
        case 0x0000006863747773: .swtch
        case 0x0074756F79706F63: .copyout
        case 0x00006E6979706F63: .copyin
        case 0x0000636E69666572: .refinc
        case 0x0000636564666572: .refdec
        case 0x000000006B726273: .sbrk
        case 0x79706F63797A616C: .lazycopy
        default: nil
        }
    }

    /// A mask of the lowest `n` bytes (n from 0 to 8).
    @inline(__always)
    static func lowBytes(_ n: Int) -> UInt64 {
        n >= 8 ? ~0 : (1 &<< UInt64(8 &* n)) &- 1
    }

    func equals(_ w: Range<Int>, _ text: StaticString) -> Bool {
        w.count == text.utf8CodeUnitCount && (w.isEmpty || memcmp(b.baseAddress! + w.lowerBound, text.utf8Start, w.count) == 0)
    }

    /// The value of the next word if it is `key=value` (nothing read otherwise).
    @inline(__always)
    mutating func field(_ key: FieldKey) -> Range<Int>? {
        guard let v = valueStart(key) else { return nil }
        while i < end && b[i] != 0x20 { i += 1 }
        return v..<i
    }

    /// Where the value of `key=` begins, if the next word starts with it (the spaces before
    /// it read; nothing read otherwise): the key compared in place, not a word found first.
    @inline(__always)
    mutating func valueStart(_ key: FieldKey) -> Int? {
        var j = i
        while j < end && b[j] == 0x20 { j &+= 1 }
        let k = key.count
        guard end &- j > k else { return nil }
        if k < 8 && j <= b.count &- 8 {
            // The key and its `=` compared as one number (a byte loop was a tenth of the
            // reader thread's instructions).
            guard load8(j) & Self.lowBytes(k &+ 1) == key.packed else { return nil }
        } else {
            guard b[j &+ k] == 0x3D else { return nil }
            for n in 0..<k where b[j &+ n] != key.name.utf8Start[n] { return nil }
        }
        i = j &+ k &+ 1
        return i
    }

    /// Each byte's value as a hex digit, 0xff for any other byte.
    static let hexDigits: [UInt8] = (0...255).map { c in
        switch c {
        case 0x30...0x39: UInt8(c - 0x30)
        case 0x61...0x66: UInt8(c - 0x61 + 10)
        case 0x41...0x46: UInt8(c - 0x41 + 10)
        default: 0xff
        }
    }

    /// `%p` (`exact`: 0x and 16 hex digits) or `%x` (0x and 1 to 16), read as the value is
    /// scanned: one pass over its bytes, a table look-up each (a word found first, then read
    /// again digit by digit in a switch, took a fifth of the reader thread's time).
    @inline(__always)
    mutating func address(_ key: FieldKey, exact: Bool = true) -> UInt64? {
        let save = i
        guard let v = valueStart(key), end - v > 2, b[v] == 0x30, b[v + 1] == 0x78 || b[v + 1] == 0x58 else { i = save; return nil }
        // `%p`'s 16 digits, eight at a time (SWAR): a fifth of what a table look-up a digit took.
        if end - v >= 18, end - v == 18 || b[v + 18] == 0x20, let hi = Self.hex8(load8(v + 2)), let lo = Self.hex8(load8(v + 10)) {
            i = v + 18
            return hi << 32 | lo
        }
        var j = v + 2, x: UInt64 = 0
        let limit = min(end, j + 17)
        Self.hexDigits.withUnsafeBufferPointer { hex in
            while j < limit {
                let d = hex[Int(b[j])]
                if d > 15 { break }
                x = x << 4 | UInt64(d)
                j += 1
            }
        }
        let n = j - v - 2
        guard n >= 1, n <= 16, !exact || n == 16, j == end || b[j] == 0x20 else { i = save; return nil }
        i = j
        return x
    }

    /// The eight bytes from `j`, the first in the lowest byte.
    @inline(__always)
    func load8(_ j: Int) -> UInt64 {
        // Indices without overflow checks, so that the eight loads become one.
        var w: UInt64 = 0
        for k in 0..<8 { w |= UInt64(b[j &+ k]) &<< UInt64(8 &* k) }
        return w
    }

    /// Eight hex digits (their bytes as `load8` reads them) as a number, the first the most
    /// significant; nil unless all eight are hex digits. Each byte is tested for 0-9, a-f and
    /// A-F at once, then turned into its value, and the nibbles are packed pairwise.
    @inline(__always)
    public static func hex8(_ w: UInt64) -> UInt64? {
        let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
        guard w & high == 0 else { return nil }
        // Each byte's high bit: at least the range's first byte, and at most its last.
        let digit = (w &+ (0x80 - 0x30) &* ones) & ~(w &+ (0x7F - 0x39) &* ones) & high
        let lower = w | 0x2020_2020_2020_2020
        let letter = (lower &+ (0x80 - 0x61) &* ones) & ~(lower &+ (0x7F - 0x66) &* ones) & high
        guard digit | letter == high else { return nil }
        let value = (w & 0x0F0F_0F0F_0F0F_0F0F) &+ (letter >> 7) &* 9
        let pairs = ((value & 0x000F_000F_000F_000F) << 4) | ((value >> 8) & 0x000F_000F_000F_000F)
        let quads = ((pairs & 0x0000_00FF_0000_00FF) << 8) | ((pairs >> 16) & 0x0000_00FF_0000_00FF)
        return ((quads & 0xFFFF) << 16) | ((quads >> 32) & 0xFFFF)
    }

    @inline(__always)
    mutating func number(_ key: FieldKey) -> Int64? {
        let save = i
        guard let v = valueStart(key) else { return nil }
        var j = v
        let negative = j < end && b[j] == 0x2D
        if negative { j += 1 }
        let digits = j
        var x: Int64 = 0
        while j < end && j - digits < 18 {
            let c = b[j]
            guard c >= 0x30 && c <= 0x39 else { break }
            x = x * 10 + Int64(c - 0x30)
            j += 1
        }
        guard j > digits, j == end || b[j] == 0x20 else { i = save; return nil }
        i = j
        return negative ? -x : x
    }

    @inline(__always)
    mutating func pid(_ key: FieldKey) -> Int? {
        guard let v = number(key), v >= -1, v <= Int64(Int32.max) else { return nil }
        return Int(v)
    }
}

/// A field's key as the scanner looks for it: its bytes and the `=` after it, as one number
/// (the first byte lowest) when they fit in 8 bytes. Made from the literal at the call, where
/// its number is folded at compile time.
struct FieldKey: ExpressibleByStringLiteral {
    let name: StaticString
    let count: Int
    let packed: UInt64

    @inline(__always)
    init(stringLiteral name: StaticString) {
        self.name = name
        count = name.utf8CodeUnitCount
        var w: UInt64 = count < 8 ? 0x3D &<< UInt64(8 &* count) : 0
        if count < 8 { for n in 0..<count { w |= UInt64(name.utf8Start[n]) &<< UInt64(8 &* n) } }
        packed = w
    }
}
