import Foundation
import XV6
import Support

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

    public static func parseProbe(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, line: Int, file: String, column: Int) throws(LogError) -> Probe {
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
