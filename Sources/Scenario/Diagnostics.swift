import Support
/// A position in a scenario file. Lines and columns count from 1.
public struct SourceLocation: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) { self.file = file; self.line = line; self.column = column }
    /// `file:line:column`; just `file` for a problem with the whole file (line 0).
    public var description: String { line == 0 ? file : "\(file):\(line):\(column)" }
}

/// One problem found in a scenario.
public struct Diagnostic: Equatable, Sendable {
    public var location: SourceLocation
    public var message: String
    /// The source line the problem is on, if it could be read.
    public var sourceLine: String?

    public init(_ location: SourceLocation, _ message: String, sourceLine: String? = nil) {
        self.location = location; self.message = message; self.sourceLine = sourceLine
    }

    /// `file:line:column: error: message`, then the line and a caret under the column, as compilers print.
    public var rendered: String {
        var out = "\(location): error: \(message)"
        if let src = sourceLine {
            let shown = src.count > 200 ? String(src.prefix(200)) + "…" : src
            out += "\n  \(shown)\n  " + String(repeating: " ", count: max(0, min(location.column - 1, 200))) + "^"
        }
        return out
    }
}

/// A scenario that cannot be compiled: the first `shownLimit` problems found, in the order
/// found, and how many more there were.
public struct ScenarioError: Error, Equatable, Sendable, CustomStringConvertible {
    /// How many problems a scenario error keeps and shows; the rest are only counted, so that
    /// a file of 300,000 bad events is refused in bounded time, memory and output.
    public static let shownLimit = 50

    public var diagnostics: [Diagnostic]
    /// Problems found beyond the first `shownLimit`, counted but not kept.
    public var omitted: Int
    public init(_ diagnostics: [Diagnostic], omitted: Int = 0) { self.diagnostics = diagnostics; self.omitted = omitted }

    /// Every problem found, shown or not.
    public var count: Int { diagnostics.count + omitted }

    /// "and 299950 more errors (not shown)", or nil when every problem is shown.
    public var omittedLine: String? { omitted == 0 ? nil : "and \(omitted) more error\(omitted == 1 ? "" : "s") (not shown)" }

    public var description: String { (diagnostics.map(\.rendered) + (omittedLine.map { [$0] } ?? [])).joined(separator: "\n") }
}

/// "did you mean" for a misspelt word (edit distance counting a swap of two neighbours as one edit): the closest candidate within a small edit distance.
func closest(to word: String, in candidates: [String]) -> String? {
    let limit = word.count <= 3 ? 1 : max(2, word.count / 3)
    var best: (String, Int)?
    for c in candidates {
        let d = editDistance(Array(word.lowercased()), Array(c.lowercased()))
        if d <= limit, best == nil || d < best!.1 { best = (c, d) }
    }
    return best?.0
}

private func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var before = Array(repeating: 0, count: b.count + 1)
    var prev = Array(0...b.count)
    var cur = prev
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { cur[j] = Swift.min(cur[j], before[j - 2] + 1) }
        }
        before = prev
        swap(&prev, &cur)
    }
    return prev[b.count]
}
