import Foundation

/// The first 12 bytes of a `WORD 0x...` line: the kind's word padded to the trace's column
/// of ten, then `0x`, made once and stored as two words.
public struct LineStart: Sendable {
    @usableFromInline let low: UInt64
    @usableFromInline let high: UInt32

    /// `word` (at most 9 bytes), padded with spaces to ten, then `0x`.
    public init(_ word: StaticString) {
        precondition(word.utf8CodeUnitCount < 10, "a kind's word is at most 9 bytes")
        var bytes = [UInt8](repeating: 0x20, count: 12)
        for i in 0..<word.utf8CodeUnitCount { bytes[i] = word.utf8Start[i] }
        bytes[10] = 0x30
        bytes[11] = 0x78
        low = bytes[0..<8].reversed().reduce(0) { $0 << 8 | UInt64($1) }
        high = bytes[8..<12].reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    @inlinable @inline(__always) func store(at q: UnsafeMutableRawPointer) {
        q.storeBytes(of: low, as: UInt64.self)
        q.storeBytes(of: high, toByteOffset: 8, as: UInt32.self)
    }
}

/// A growing run of bytes written in place: the trace writer's output buffer. Text is put
/// into it straight from static strings, integers and cached site names, with no `String`
/// made per line (a traced run writes a million lines).
public final class TraceBytes {
    // Reached by the writers inlined into other modules (the renderer, in Run): a call per
    // word and number was most of rendering a trace.
    @usableFromInline var base: UnsafeMutablePointer<UInt8>
    /// Bytes written (set only by the writers here, some of them inlined elsewhere).
    public var count = 0
    @usableFromInline var capacity: Int

    public init(capacity: Int = 1 << 16) {
        self.capacity = max(capacity, 256)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// A buffer holding the same bytes.
    public func copy() -> TraceBytes {
        let c = TraceBytes(capacity: capacity)
        c.base.update(from: base, count: count)
        c.count = count
        return c
    }

    public var array: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// The bytes in place, for the door's writers (no copy into an array first).
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// The bytes as text, leaving out the first `start` and the last `dropLast`.
    public func string(from start: Int = 0, droppingLast dropLast: Int = 0) -> String {
        String(decoding: UnsafeBufferPointer(start: base + start, count: count - start - dropLast), as: UTF8.self)
    }

    public func removeAll() { count = 0 }

    /// Room for `n` more bytes.
    @inlinable @inline(__always) public func reserve(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    @usableFromInline func grow(_ needed: Int) {
        var c = capacity
        while c < needed { c *= 2 }
        let b = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        b.update(from: base, count: count)
        base.deallocate()
        base = b
        capacity = c
    }

    @inlinable @inline(__always) public func byte(_ b: UInt8) {
        reserve(1)
        base[count] = b
        count += 1
    }

    @inlinable @inline(__always) public func put(_ s: StaticString) {
        let n = s.utf8CodeUnitCount
        reserve(n)
        (base + count).update(from: s.utf8Start, count: n)
        count += n
    }

    private func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let from = bytes.baseAddress else { return }
        reserve(bytes.count)
        (base + count).update(from: from, count: bytes.count)
        count += bytes.count
    }

    public func put(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { put($0) } }

    public func put(text s: String) {
        var s = s
        s.withUTF8 { put($0) }
    }

    /// A kind's word padded to the trace's column of ten (one space at least).
    @inlinable @inline(__always) public func word(_ s: StaticString) {
        put(s)
        let pad = max(1, 10 - s.utf8CodeUnitCount)
        reserve(pad)
        (base + count).initialize(repeating: 0x20, count: pad)
        count += pad
    }

    private static let digits: StaticString = "0123456789abcdef"

    /// `0x` and 16 lowercase hex digits, as xv6's `%p`: each half of the number made into
    /// eight digits at once and stored as one word (a digit at a time was the most costly
    /// part of writing a trace: 132 M instructions for reparent2's, against 40 M now).
    @inlinable @inline(__always) public func hex16(_ v: UInt64) {
        reserve(18)
        let p = base + count
        p[0] = 0x30; p[1] = 0x78
        Self.storeHex16Digits(v, at: UnsafeMutableRawPointer(p + 2))
        count += 18
    }

    /// The eight lowercase hex digits of `x`, the most significant in the lowest byte (so
    /// that stored, the word reads as the digits in order).
    @inlinable @inline(__always) public static func hexDigits8(_ x: UInt32) -> UInt64 {
        // One nibble to a byte, the least significant nibble in the lowest byte ...
        var n = UInt64(x)
        n = (n | n << 16) & 0x0000_FFFF_0000_FFFF
        n = (n | n << 8) & 0x00FF_00FF_00FF_00FF
        n = (n | n << 4) & 0x0F0F_0F0F_0F0F_0F0F
        // ... then the most significant first; `0`-`9` are 0x30 on, `a`-`f` 0x61 on (39 more).
        n = n.byteSwapped
        let letters = ((n &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        return n &+ 0x3030_3030_3030_3030 &+ letters &* 39
    }

    /// `0x` and the shortest hex.
    public func shortHex(_ v: UInt64) {
        reserve(18)
        base[count] = 0x30; base[count + 1] = 0x78
        count += 2
        var shift: UInt64 = 60
        while shift > 0 && (v >> shift) & 0xf == 0 { shift -= 4 }
        let d = Self.digits.utf8Start
        while true {
            base[count] = d[Int((v >> shift) & 0xf)]
            count += 1
            if shift == 0 { break }
            shift -= 4
        }
    }

    /// A decimal integer (negative with `-`).
    @inlinable @inline(__always) public func decimal<I: BinaryInteger>(_ v: I) {
        if v < 0 {
            byte(0x2d)
            decimal(UInt64(truncatingIfNeeded: -(Int64(truncatingIfNeeded: v) &+ 1)) &+ 1)
        } else {
            decimal(UInt64(truncatingIfNeeded: v))
        }
    }

    /// A decimal integer: `decimal` for the two types the writers use most, so that no call
    /// goes through `BinaryInteger`'s witnesses where the generic one is not specialised.
    @inlinable @inline(__always) public func decimal(_ v: UInt64) {
        reserve(20)
        count += Self.storeDecimal(v, at: UnsafeMutableRawPointer(base + count), negative: false)
    }
    @inlinable @inline(__always) public func decimal(_ v: Int) {
        if v < 0 { byte(0x2d); decimal(UInt64(truncatingIfNeeded: -(v &+ 1)) &+ 1) } else { decimal(UInt64(truncatingIfNeeded: v)) }
    }

    /// A pid, or `-` for none (the kernel at boot).
    @inlinable @inline(__always) public func pid(_ p: Int) {
        if p == 0 { byte(0x2d) } else { decimal(p) }
    }

    /// A whole `kalloc` or `kfree` line (`KIND pa pid P SITE`): `start` (the kind's word and
    /// `0x`), the address, ` pid `, the pid, and string `tail` of `tails` (a space, the site,
    /// the newline), stored word by word after one check for room. One call from the writer,
    /// in another module, for the commonest lines of a trace: 249 instructions a line when
    /// each word and number was a call of its own, about 170 now (callgrind, reparent2).
    public func pageLine(_ start: LineStart, _ pa: UInt64, pid p: Int, tail: Int, of tails: ByteStrings) {
        let t = tails.range(tail)
        reserve(12 + 16 + 5 + 20 + t.count)
        let q = UnsafeMutableRawPointer(base + count)
        start.store(at: q)
        Self.storeHex16Digits(pa, at: q + 12)
        // ` pid ` and three bytes the number overwrites.
        q.storeBytes(of: 0x2064_6970_20, toByteOffset: 28, as: UInt64.self)
        var n = 33
        if p == 0 {
            q.storeBytes(of: 0x2d, toByteOffset: n, as: UInt8.self)
            n += 1
        } else {
            n += Self.storeDecimal(UInt64(truncatingIfNeeded: p), at: q + n, negative: p < 0)
        }
        tails.copy(t, to: q + n)
        count += n + t.count
    }

    /// A whole `WORD 0x...` line (freewalk, kvmfree).
    public func hexLine(_ start: LineStart, _ v: UInt64) {
        reserve(29)
        let q = UnsafeMutableRawPointer(base + count)
        start.store(at: q)
        Self.storeHex16Digits(v, at: q + 12)
        q.storeBytes(of: 0x0a, toByteOffset: 28, as: UInt8.self)
        count += 29
    }

    /// The 16 digits of `v` at `q`.
    @inlinable @inline(__always) static func storeHex16Digits(_ v: UInt64, at q: UnsafeMutableRawPointer) {
        q.storeBytes(of: hexDigits8(UInt32(truncatingIfNeeded: v >> 32)), as: UInt64.self)
        q.storeBytes(of: hexDigits8(UInt32(truncatingIfNeeded: v)), toByteOffset: 8, as: UInt64.self)
    }

    /// The decimal digits of `v` at `q` (after a `-` when `negative`, `v` then being the
    /// number's two's complement); returns how many bytes.
    @inlinable @inline(__always) static func storeDecimal(_ v: UInt64, at q: UnsafeMutableRawPointer, negative: Bool) -> Int {
        var m = negative ? 0 &- v : v
        var q = q
        var sign = 0
        if negative {
            q.storeBytes(of: 0x2d, as: UInt8.self)
            q += 1
            sign = 1
        }
        var n = 1
        var ten: UInt64 = 10
        while n < 20 && m >= ten {
            n += 1
            ten = ten &* 10
        }
        var i = n
        repeat {
            i -= 1
            q.storeBytes(of: 0x30 &+ UInt8(truncatingIfNeeded: m % 10), toByteOffset: i, as: UInt8.self)
            m /= 10
        } while i > 0
        return n + sign
    }

    /// Ends a line.
    @inlinable @inline(__always) public func newline() { byte(0x0a) }
}

/// Byte strings by number, held in one buffer: a site's name as a trace line ends with it,
/// copied into the output without retaining an array of its own each time.
public final class ByteStrings {
    private var bytes: [UInt8] = []
    private var starts: [Int] = []

    public init() {}

    /// How many strings there are.
    public var count: Int { starts.count }

    /// Adds `b` as string number `count`.
    public func append(_ b: [UInt8]) {
        starts.append(bytes.count)
        bytes += b
    }

    /// Where string `i` lies in the buffer.
    @usableFromInline func range(_ i: Int) -> Range<Int> {
        starts[i]..<(i + 1 < starts.count ? starts[i + 1] : bytes.count)
    }

    @usableFromInline func copy(_ r: Range<Int>, to q: UnsafeMutableRawPointer) {
        bytes.withUnsafeBytes { b in
            if let from = b.baseAddress { q.copyMemory(from: from + r.lowerBound, byteCount: r.count) }
        }
    }
}
