import Foundation

/// A JSON value, encoded with sorted keys so output is deterministic.
public indirect enum JSONValue: Equatable, Sendable {
    case s(String), i(Int64), b(Bool), a([JSONValue]), o([String: JSONValue]), null

    public var encoded: String {
        switch self {
        case .s(let v): return Self.quote(v)
        case .i(let v): return String(v)
        case .b(let v): return v ? "true" : "false"
        case .null: return "null"
        case .a(let vs): return "[" + vs.map(\.encoded).joined(separator: ",") + "]"
        case .o(let d): return "{" + d.keys.sorted().map { Self.quote($0) + ":" + d[$0]!.encoded }.joined(separator: ",") + "}"
        }
    }

    package static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { let h = String(u.value, radix: 16); out += "\\u" + String(repeating: "0", count: 4 - h.count) + h } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
