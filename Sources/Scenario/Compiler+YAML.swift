import Foundation
import Yams
import Support

/// The YAML under a scenario: how big and how deep it may be (checked before Yams
/// recurses into it), and where a node stands, for diagnostics with file:line:column.
extension ScenarioCompiler {
    /// How deep YAML may nest (Yams builds nodes recursively; LibYAML has no limit).
    static let nestingLimit = 200
    /// How many YAML nodes a scenario may have once aliases are expanded.
    static let nodeLimit = 1_000_000

    /// Counts nodes with aliases expanded, stopping as soon as the budget runs out.
    static func fits(_ node: Node, _ budget: inout Int) -> Bool {
        budget -= 1
        if budget < 0 { return false }
        switch node {
        case .mapping(let m): for (k, v) in m { if !fits(k, &budget) || !fits(v, &budget) { return false } }
        case .sequence(let s): for v in s { if !fits(v, &budget) { return false } }
        default: break
        }
        return true
    }

    /// Finds nesting deeper than `nestingLimit` before the YAML parser recurses into it:
    /// flow brackets, and block levels (indentation and `- ` items on one line).
    func nestingProblem() -> Diagnostic? {
        var flow = 0
        var quote: UInt8 = 0
        var lineNo = 1, col = 1
        var atLineStart = true, indent = 0, dashes = 0
        var i = 0
        let bytes = Array(source.utf8)
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x0a {
                lineNo += 1; col = 1; atLineStart = true; indent = 0; dashes = 0; i += 1
                if quote == 0x27 || quote == 0x22 { continue }
                continue
            }
            if atLineStart {
                if b == 0x20 { indent += 1 } else if b == 0x2d && i + 1 < bytes.count && bytes[i + 1] == 0x20 { dashes += 1; indent += 2; i += 1; col += 1 } else { atLineStart = false }
                if indent / 2 + dashes > Self.nestingLimit * 2 {
                    return Diagnostic(SourceLocation(file: file, line: lineNo, column: col), "YAML nested more than \(Self.nestingLimit) levels deep (by indentation); flatten the scenario")
                }
            }
            if quote != 0 {
                if b == quote { quote = 0 }
            } else if b == 0x23 && (i == 0 || bytes[i - 1] == 0x20 || bytes[i - 1] == 0x0a) {
                while i + 1 < bytes.count && bytes[i + 1] != 0x0a { i += 1 }      // a comment
            } else if b == 0x22 || b == 0x27 {
                quote = b
            } else if b == 0x5b || b == 0x7b {
                flow += 1
                if flow + dashes > Self.nestingLimit {
                    return Diagnostic(SourceLocation(file: file, line: lineNo, column: col), "YAML nested more than \(Self.nestingLimit) levels deep; flatten the scenario",
                                      sourceLine: lineNo <= lines.count ? String(lines[lineNo - 1]) : nil)
                }
            } else if b == 0x5d || b == 0x7d {
                flow = max(0, flow - 1)
            }
            i += 1
            col += 1
        }
        return nil
    }

    // MARK: diagnostics

    mutating func error(_ node: Node?, _ message: String) {
        errorCount += 1
        guard diagnostics.count < ScenarioError.shownLimit else { return }
        diagnostics.append(Diagnostic(location(node?.mark), message, sourceLine: line(node?.mark)))
    }

    /// "did you mean", for a problem that will be shown: once `ScenarioError.shownLimit` are
    /// kept, problems are only counted, and the search for a suggestion is skipped.
    func suggest(_ word: String, _ candidates: [String]) -> String {
        diagnostics.count >= ScenarioError.shownLimit ? "" : didYouMean(word, candidates)
    }

    /// Keeps a problem if fewer than `ScenarioError.shownLimit` are kept; counts it either way.
    mutating func report(_ d: Diagnostic) {
        errorCount += 1
        if diagnostics.count < ScenarioError.shownLimit { diagnostics.append(d) }
    }

    func location(_ mark: Mark?) -> SourceLocation {
        SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    func line(_ mark: Mark?) -> String? {
        guard let m = mark, m.line >= 1, m.line <= lines.count else { return nil }
        return String(lines[m.line - 1]).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
    }

    func yamlDiagnostic(_ e: YamlError) -> Diagnostic {
        switch e {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let ctx = context.map { " (\($0.text) at \($0.mark.line):\($0.mark.column))" } ?? ""
            // LibYAML names no cause when a tab indents a line: say it.
            if let text = line(mark), text.prefix(while: { $0 == " " || $0 == "\t" }).contains("\t") {
                return Diagnostic(location(mark), "a tab character: YAML indents with spaces, never tabs (\(problem))", sourceLine: text)
            }
            return Diagnostic(location(mark), "YAML syntax: \(problem)\(ctx)", sourceLine: line(mark))
        case let .duplicatedKeysInMapping(duplicates, context):
            return Diagnostic(location(context.mark), "duplicate key '\(duplicates.joined(separator: "', '"))' in a mapping", sourceLine: line(context.mark))
        case let .reader(problem, offset, _, _):
            return Diagnostic(location(nil), "YAML reader: \(problem)" + (offset.map { " at byte \($0)" } ?? ""))
        default:
            return Diagnostic(location(nil), "YAML: \(e)")
        }
    }

    static func firstInvalidUTF8(_ bytes: [UInt8], file: String) -> SourceLocation {
        var line = 1, lineStart = 0, i = 0
        while i < bytes.count {
            let b = bytes[i]
            let len = b < 0x80 ? 1 : b >> 5 == 0b110 ? 2 : b >> 4 == 0b1110 ? 3 : b >> 3 == 0b11110 ? 4 : 0
            let valid = len > 0 && i + len <= bytes.count
                && String(validating: bytes[i..<i + len], as: UTF8.self) != nil
            if !valid { break }
            if b == 0x0a { line += 1; lineStart = i + 1 }
            i += len
        }
        return SourceLocation(file: file, line: line, column: i - lineStart + 1)
    }
}
