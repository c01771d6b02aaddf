import Foundation
import Yams
import RISCV
import Support

/// Keys and scalar values: booleans, strings, integers in range.
extension ScenarioCompiler {
    mutating func key(_ node: Node, allowed: [String]) -> String? {
        guard let k = node.scalar?.string else { error(node, "expected a key"); return nil }
        if allowed.contains(k) { return k }
        error(node, "unknown key '\(k)'; expected one of: \(allowed.joined(separator: ", "))" + suggest(k, allowed))
        return nil
    }

    mutating func boolean(_ node: Node) -> Bool? {
        switch node.scalar?.string {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: error(node, "expected true or false"); return nil
        }
    }

    mutating func string(_ node: Node, what: String) -> String? {
        guard let s = node.scalar?.string else { error(node, "expected \(what)"); return nil }
        return s
    }

    mutating func integer(_ node: Node, _ range: ClosedRange<UInt64>) -> UInt64? {
        guard let s = node.scalar?.string, let v = parseInteger(s) else {
            if let s = node.scalar?.string, looksNumeric(s) {
                error(node, "\(s.count > 40 ? String(s.prefix(40)) + "…" : s) does not fit in 64 bits; expected \(range.lowerBound)...\(hexShort(range.upperBound))")
            } else {
                error(node, "expected a non-negative integer (decimal or 0x hex)")
            }
            return nil
        }
        guard !v.negative, range.contains(v.magnitude) else {
            error(node, "\(node.scalar?.string ?? "") is out of range; expected \(range.lowerBound)...\(hexShort(range.upperBound))")
            return nil
        }
        return v.magnitude
    }

    mutating func signedInteger(_ node: Node, _ range: ClosedRange<Int64>, what: String) -> Int64? {
        guard let s = node.scalar?.string, let v = parseInteger(s) else {
            if let s = node.scalar?.string, looksNumeric(s) {
                error(node, "\(s.count > 40 ? String(s.prefix(40)) + "…" : s) does not fit in 64 bits; expected \(what): \(range.lowerBound)...\(range.upperBound)")
            } else {
                error(node, "expected \(what) (decimal or 0x hex, may be negative)")
            }
            return nil
        }
        let limit = v.negative ? UInt64(-(range.lowerBound + 1)) + 1 : UInt64(range.upperBound)
        guard v.magnitude <= limit else {
            error(node, "\(node.scalar?.string ?? "") is out of range; expected \(what): \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return v.negative ? -Int64(v.magnitude - 1) - 1 : Int64(v.magnitude)
    }
}

/// Whether `s` is written like an integer (digits, maybe hex), whatever its size.
func looksNumeric(_ s: String) -> Bool {
    var t = Substring(s)
    if t.first == "-" || t.first == "+" { t = t.dropFirst() }
    if t.lowercased().hasPrefix("0x") { t = t.dropFirst(2); return !t.isEmpty && t.allSatisfy { $0.isHexDigit || $0 == "_" } }
    return !t.isEmpty && t.allSatisfy { $0.isNumber || $0 == "_" }
}

/// An integer as scenarios write it: decimal, 0x hex, 0o octal or 0b binary, with
/// optional sign and `_` separators. Nil if malformed or beyond 64 bits.
package func parseInteger(_ text: String) -> (negative: Bool, magnitude: UInt64)? {
    var s = Substring(text.trimmingCharacters(in: .whitespaces))
    var negative = false
    if s.first == "-" { negative = true; s = s.dropFirst() } else if s.first == "+" { s = s.dropFirst() }
    var radix = 10
    let lower = s.lowercased()
    if lower.hasPrefix("0x") { radix = 16; s = s.dropFirst(2) } else if lower.hasPrefix("0o") { radix = 8; s = s.dropFirst(2) } else if lower.hasPrefix("0b") { radix = 2; s = s.dropFirst(2) }
    let digits = s.filter { $0 != "_" }
    guard !digits.isEmpty, !s.hasPrefix("_"), let v = UInt64(digits, radix: radix) else { return nil }
    return (negative && v != 0, v)
}
