import Foundation
import XV6
import Support
import Scenario
import Run

extension KernelLog {
    /// The longest line a log may have: a kernel's console lines are short, and a line is
    /// held whole while it is read.
    public static let lineLimit = 1 << 20

    /// Reads the `@T` lines of a log's text. Console text around them is skipped; a probe
    /// may start in the middle of a line (after a prompt).
    public static func parse(_ bytes: [UInt8], file: String) throws(LogError) -> KernelLog {
        var reader = LogReader(file: file)
        try bytes.withUnsafeBufferPointer { (b) throws(LogError) in try reader.feed(b) }
        return try reader.finish()
    }

    /// The index of `panic: ` in bytes[from..<to], if any.
    static func findPanic(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int? {
        let word = Array("panic: ".utf8)
        var i = from
        while i + word.count <= to {
            if b[i] == 0x70 && b[i..<i + word.count].elementsEqual(word) { return i }
            i += 1
        }
        return nil
    }

    /// The index of `@T ` in bytes[from..<to], if any.
    static func find(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int? {
        var i = from
        while i + 3 <= to {
            if b[i] == 0x40 && b[i + 1] == 0x54 && b[i + 2] == 0x20 { return i }
            i += 1
        }
        return nil
    }

    static func parseProbe(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, line: Int, file: String, column: Int) throws(LogError) -> Probe {
        func text() -> String {
            let s = String(decoding: b[max(from - 3, 0)..<min(to, from + 197)], as: UTF8.self)
            return s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
        }
        func fail(_ m: String) -> LogError { LogError(file: file, line: line, column: column, message: m, text: text()) }
        // The words: the kind, then key=value pairs.
        var words: [(Int, Int)] = []
        var i = from
        while i < to {
            while i < to && b[i] == 0x20 { i += 1 }
            let s = i
            while i < to && b[i] != 0x20 { i += 1 }
            if i > s { words.append((s, i)) }
            // No probe has more than six fields: stop before a line of millions of words
            // becomes an array of them.
            if words.count > 16 { throw fail("more fields than any `@T` line has (at most 6 after the kind)") }
        }
        guard let first = words.first else { throw fail("an `@T` line with no event kind") }
        let kindName = String(decoding: b[first.0..<first.1], as: UTF8.self)
        guard let kind = ProbeKind(rawValue: kindName) else {
            let names = ProbeKind.allCases.map(\.rawValue)
            throw fail("unknown event kind '\(kindName)'; expected one of: \(names.joined(separator: ", "))" + didYouMean(kindName, names))
        }
        var fields: [(key: String, value: (Int, Int))] = []
        for w in words.dropFirst() {
            guard let eq = b[w.0..<w.1].firstIndex(of: 0x3D) else {
                throw fail("expected key=value after `\(kindName)`, found '\(String(decoding: b[w.0..<w.1], as: UTF8.self))'")
            }
            fields.append((String(decoding: b[w.0..<eq], as: UTF8.self), (eq + 1, w.1)))
        }
        var p = Probe(kind)
        var r = FieldReader(b: b, fields: fields, kindName: kindName, fail: fail)
        switch kind {
        case .kalloc, .kfree: p.pa = try r.address("pa")
        case .map:
            p.pt = try r.address("pt"); p.va = try r.address("va"); p.size = try r.address("size")
            p.pa = try r.address("pa"); p.perm = try r.address("perm", exact: false)
        case .unmap:
            p.pt = try r.address("pt"); p.va = try r.address("va"); p.n = try r.number("npages")
            let f = try r.number("free")
            guard f == 0 || f == 1 else { throw fail("`free=` is 0 or 1; found \(f)") }
            p.flag = f == 1
        case .freewalk, .kvmFree: p.pt = try r.address("pt")
        case .satp:
            p.pa = try r.address("pa"); p.text = try r.word("by")
            guard p.text == "kvminithart" || p.text == "scheduler" else { throw fail("`by=` is kvminithart or scheduler; found '\(p.text)'") }
            if p.text == "scheduler" { p.pid = try r.pidValue("pid") }
        case .allocproc, .freeproc: p.pid = try r.pidValue("pid")
        case .fork: p.pid = try r.pidValue("parent"); p.other = try r.pidValue("child")
        case .exec: p.pid = try r.pidValue("pid"); p.text = try r.word("path"); p.sz = try r.address("sz")
        case .execfail: p.pid = try r.pidValue("pid"); p.text = try r.word("path")
        case .growproc:
            p.pid = try r.pidValue("pid"); p.n = try r.number("n"); p.sz = try r.address("sz")
            guard p.n >= Int64(Int32.min) && p.n <= Int64(Int32.max) else { throw fail("`n=` does not fit growproc's int: \(p.n)") }
        case .exit:
            p.pid = try r.pidValue("pid"); p.n = try r.number("status")
            guard p.n >= Int64(Int32.min) && p.n <= Int64(Int32.max) else { throw fail("`status=` does not fit an int: \(p.n)") }
        case .wait: p.pid = try r.pidValue("pid"); p.other = try r.pidValue("reaped")
        case .swtch:
            if fields.contains(where: { $0.key == "to" }) { p.pid = try r.pidValue("to"); p.other = 1 } else { p.pid = try r.pidValue("from"); p.other = 0 }
        case .pagefault: p.pid = try r.pidValue("pid"); p.n = Int64(bitPattern: try r.address("scause", exact: false)); p.va = try r.address("va")
        case .copyout, .copyin: p.pid = try r.pidValue("pid"); p.pt = try r.address("pt"); p.va = try r.address("va"); p.n = try r.number("len")
        case .copyinstr: p.pid = try r.pidValue("pid"); p.pt = try r.address("pt"); p.va = try r.address("va"); p.n = try r.number("max")
        case .refinc, .refdec: p.pa = try r.address("pa"); p.n = try r.number("n")
        case .sbrk:
            p.pid = try r.pidValue("pid"); p.n = try r.number("n"); p.sz = try r.address("sz")
            guard p.n >= Int64(Int32.min) && p.n <= Int64(Int32.max) else { throw fail("`n=` does not fit sbrk's int: \(p.n)") }
        case .cowcopyout: p.pid = try r.pidValue("pid"); p.va = try r.address("va")
        case .lazycopy:
            p.pid = try r.pidValue("pid"); p.va = try r.address("va"); p.text = try r.word("by")
            guard p.text == "copyout" || p.text == "copyin" else { throw fail("`by=` is copyout or copyin; found '\(p.text)'") }
        }
        if let extra = fields.first(where: { !r.used.contains($0.key) }) {
            throw fail("`\(kindName)` has no `\(extra.key)=`")
        }
        return p
    }
}

/// The common probe line read quickly, without building strings or arrays: its fields in
/// the order the probe kit prints them, each well formed. Anything else (another order, a
/// bad value, a field too many) gives nil, and `KernelLog.parseProbe` reads the line again
/// and says what is wrong: the fast path never decides an error.
package struct ProbeScanner {
    let b: UnsafeBufferPointer<UInt8>
    var i: Int
    package let end: Int

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

    static func scan(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Probe? {
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
        case .pagefault, .copyinstr, .sbrk, .cowcopyout, .lazycopy:
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

    func kind(_ w: Range<Int>) -> ProbeKind? {
        let first = b[w.lowerBound], word = b.baseAddress! + w.lowerBound
        return Self.kindBytes.withUnsafeBufferPointer { names in
            for (k, r) in Self.kindRanges.enumerated() where r.count == w.count && names[r.lowerBound] == first {
                if memcmp(names.baseAddress! + r.lowerBound, word, w.count) == 0 { return Self.kinds[k] }
            }
            return nil
        }
    }

    func equals(_ w: Range<Int>, _ text: StaticString) -> Bool {
        w.count == text.utf8CodeUnitCount && (w.isEmpty || memcmp(b.baseAddress! + w.lowerBound, text.utf8Start, w.count) == 0)
    }

    /// The value of the next word if it is `key=value` (nothing read otherwise).
    mutating func field(_ key: StaticString) -> Range<Int>? {
        guard let v = valueStart(key) else { return nil }
        while i < end && b[i] != 0x20 { i += 1 }
        return v..<i
    }

    /// Where the value of `key=` begins, if the next word starts with it (the spaces before
    /// it read; nothing read otherwise): the key compared in place, not a word found first.
    mutating func valueStart(_ key: StaticString) -> Int? {
        var j = i
        while j < end && b[j] == 0x20 { j += 1 }
        let k = key.utf8CodeUnitCount
        guard end - j > k, b[j + k] == 0x3D else { return nil }
        let name = key.utf8Start
        for n in 0..<k where b[j + n] != name[n] { return nil }
        i = j + k + 1
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
    mutating func address(_ key: StaticString, exact: Bool = true) -> UInt64? {
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
    package static func hex8(_ w: UInt64) -> UInt64? {
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

    mutating func number(_ key: StaticString) -> Int64? {
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

    mutating func pid(_ key: StaticString) -> Int? {
        guard let v = number(key), v >= -1, v <= Int64(Int32.max) else { return nil }
        return Int(v)
    }
}

/// The key=value fields of one probe line, read by type: each read marks its key used, and
/// a wrong or missing value ends in `fail`'s error at the line.
struct FieldReader {
    let b: UnsafeBufferPointer<UInt8>
    let fields: [(key: String, value: (Int, Int))]
    let kindName: String
    let fail: (String) -> LogError
    var used = Set<String>()

    mutating func raw(_ key: String) throws(LogError) -> (Int, Int) {
        guard let f = fields.first(where: { $0.key == key }) else {
            throw fail("`\(kindName)` needs `\(key)=`; the line may be cut short")
        }
        used.insert(key)
        return f.value
    }
    /// `%p`: 0x and 16 hex digits (`exact`); `%x` (perm): 0x and 1 to 16.
    mutating func address(_ key: String, exact: Bool = true) throws(LogError) -> UInt64 {
        let (s, e) = try raw(key)
        guard e - s > 2, b[s] == 0x30, b[s + 1] == 0x78 || b[s + 1] == 0x58, e - s <= 18, !exact || e - s == 18 else {
            throw fail("`\(key)=` takes " + (exact ? "an address as %p prints it, 0x and 16 hex digits" : "a hex number such as 0x1f")
                       + "; found '\(String(decoding: b[s..<e], as: UTF8.self))'")
        }
        var v: UInt64 = 0
        for c in b[(s + 2)..<e] {
            let d: UInt64
            switch c {
            case 0x30...0x39: d = UInt64(c - 0x30)
            case 0x61...0x66: d = UInt64(c - 0x61 + 10)
            case 0x41...0x46: d = UInt64(c - 0x41 + 10)
            default:
                throw fail("`\(key)=` takes " + (exact ? "an address as %p prints it, 0x and 16 hex digits" : "a hex number such as 0x1f")
                           + "; found '\(String(decoding: b[s..<e], as: UTF8.self))'")
            }
            v = v << 4 | d
        }
        return v
    }
    mutating func number(_ key: String) throws(LogError) -> Int64 {
        let (s, e) = try raw(key)
        var j = s
        var negative = false
        if j < e && b[j] == 0x2D { negative = true; j += 1 }
        guard j < e, e - j <= 18 else { throw fail("`\(key)=` takes a decimal number; found '\(String(decoding: b[s..<e], as: UTF8.self))'") }
        var v: Int64 = 0
        for c in b[j..<e] {
            guard c >= 0x30 && c <= 0x39 else { throw fail("`\(key)=` takes a decimal number; found '\(String(decoding: b[s..<e], as: UTF8.self))'") }
            v = v * 10 + Int64(c - 0x30)
        }
        return negative ? -v : v
    }
    mutating func pidValue(_ key: String) throws(LogError) -> Int {
        let v = try number(key)
        guard v >= -1 && v <= Int64(Int32.max) else { throw fail("`\(key)=` is out of range: \(v)") }
        return Int(v)
    }
    mutating func word(_ key: String) throws(LogError) -> String {
        let (s, e) = try raw(key)
        return String(decoding: b[s..<e], as: UTF8.self)
    }
}
