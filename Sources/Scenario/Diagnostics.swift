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
