import Foundation

/// Reads one line of JSON (the lines `sweep --format json` writes) into a `JSONValue`,
/// with the column of whatever is wrong. Whole numbers only: xv6vm writes no others.
/// Nesting is bounded, so a hostile line cannot exhaust the stack.
public struct JSONReader {
    /// Where and why a line is not the JSON expected; `column` counts bytes from 1.
    public struct Failure: Error, Equatable, Sendable {
        public var column: Int
        public var message: String
        package init(column: Int, message: String) { self.column = column; self.message = message }
    }

    static let maxDepth = 64

    private let b: [UInt8]
    private var i = 0
    /// The column of each value of the outermost object, by key.
    private(set) var columns: [String: Int] = [:]

    package init(_ bytes: ArraySlice<UInt8>) { b = Array(bytes) }

    /// The line's value, and the column of each value of the outermost object by key.
    public static func object(_ line: ArraySlice<UInt8>) throws(Failure) -> (value: [String: JSONValue], columns: [String: Int]) {
        var r = JSONReader(line)
        r.space()
        guard r.peek == UInt8(ascii: "{") else { throw r.fail("expected a JSON object, {...}") }
        let v = try r.value(depth: 0)
        r.space()
        if r.i < r.b.count { throw r.fail("more text after the object's closing }") }
        guard case .o(let fields) = v else { throw r.fail("expected a JSON object") }
        return (fields, r.columns)
    }

    private var peek: UInt8? { i < b.count ? b[i] : nil }

    private func fail(_ message: String, at column: Int? = nil) -> Failure {
        Failure(column: column ?? i + 1, message: message)
    }

    private mutating func space() {
        while let c = peek, c == 0x20 || c == 0x09 || c == 0x0d { i += 1 }
    }

    private mutating func value(depth: Int) throws(Failure) -> JSONValue {
        if depth > Self.maxDepth { throw fail("nested more than \(Self.maxDepth) deep") }
        space()
        guard let c = peek else { throw fail("the line ends where a value should be") }
        switch c {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            space()
            if peek == UInt8(ascii: "]") { i += 1; return .a(items) }
            while true {
                items.append(try value(depth: depth + 1))
                space()
                if peek == UInt8(ascii: ",") { i += 1; continue }
                if peek == UInt8(ascii: "]") { i += 1; return .a(items) }
                throw fail(peek == nil ? "the line ends inside an array" : "expected , or ] in an array")
            }
        case UInt8(ascii: "\""): return .s(try string())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .i(try number())
        default:
            for (word, v) in [("true", JSONValue.b(true)), ("false", .b(false)), ("null", .null)]
            where b[i...].starts(with: word.utf8) {
                i += word.utf8.count
                return v
            }
            throw fail("expected a value (a string, a number, an object, an array, true, false or null)")
        }
    }

    private mutating func object(depth: Int) throws(Failure) -> JSONValue {
        i += 1
        var fields: [String: JSONValue] = [:]
        space()
        if peek == UInt8(ascii: "}") { i += 1; return .o(fields) }
        while true {
            space()
            guard peek == UInt8(ascii: "\"") else {
                throw fail(peek == nil ? "the line ends inside an object" : "expected a key in double quotes")
            }
            let keyColumn = i + 1
            let key = try string()
            if fields[key] != nil { throw fail("the key \(JSONValue.quote(key)) comes twice", at: keyColumn) }
            space()
            guard peek == UInt8(ascii: ":") else { throw fail("expected : after the key") }
            i += 1
            space()
            if depth == 0 { columns[key] = i + 1 }
            fields[key] = try value(depth: depth + 1)
            space()
            if peek == UInt8(ascii: ",") { i += 1; continue }
            if peek == UInt8(ascii: "}") { i += 1; return .o(fields) }
            throw fail(peek == nil ? "the line ends inside an object" : "expected , or } in an object")
        }
    }

    private mutating func number() throws(Failure) -> Int64 {
        let start = i
        if peek == UInt8(ascii: "-") { i += 1 }
        while let c = peek, c >= 0x30 && c <= 0x39 { i += 1 }
        if let c = peek, c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
            throw fail("expected a whole number", at: start + 1)
        }
        guard let n = Int64(String(decoding: b[start..<i], as: UTF8.self)) else {
            throw fail("expected a whole number that fits in 64 bits", at: start + 1)
        }
        return n
    }

    private mutating func string() throws(Failure) -> String {
        let start = i
        i += 1
        var bytes: [UInt8] = []
        while true {
            guard let c = peek else { throw fail("the line ends inside a string", at: start + 1) }
            i += 1
            if c == UInt8(ascii: "\"") { break }
            if c < 0x20 { throw fail("a control character inside a string must be escaped", at: i) }
            if c != UInt8(ascii: "\\") { bytes.append(c); continue }
            guard let e = peek else { throw fail("the line ends inside a string", at: start + 1) }
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(e)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0c)
            case UInt8(ascii: "n"): bytes.append(0x0a)
            case UInt8(ascii: "r"): bytes.append(0x0d)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                var u = try hex4()
                if (0xd800..<0xdc00).contains(u) {
                    guard b[i...].starts(with: "\\u".utf8) else { throw fail("a lone surrogate in \\u escapes", at: i - 5) }
                    i += 2
                    let low = try hex4()
                    guard (0xdc00..<0xe000).contains(low) else { throw fail("a lone surrogate in \\u escapes", at: i - 11) }
                    u = 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00)
                }
                guard let scalar = Unicode.Scalar(u) else { throw fail("a lone surrogate in \\u escapes", at: i - 5) }
                bytes.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: throw fail("an unknown escape \\\(Character(Unicode.Scalar(e)))", at: i - 1)
            }
        }
        guard let s = String(bytes: bytes, encoding: .utf8) else { throw fail("a string that is not UTF-8", at: start + 1) }
        return s
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard i + 4 <= b.count, let u = UInt32(String(decoding: b[i..<(i + 4)], as: UTF8.self), radix: 16) else {
            throw fail("expected four hex digits after \\u")
        }
        i += 4
        return u
    }
}
