import Foundation

/// A log that cannot be read, at a line.
public struct LogError: Error, Equatable, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String
    /// The offending text, cut short.
    public var text: String
    /// A warning: the log is read on without what it names.
    public var warning = false
    public init(file: String, line: Int, column: Int = 1, message: String, text: String = "", warning: Bool = false) {
        self.file = file; self.line = line; self.column = column; self.message = message; self.text = text; self.warning = warning
    }
    public var description: String {
        (line == 0 ? file : "\(file):\(line):\(column)") + (warning ? ": warning: " : ": error: ") + message
            + (text.isEmpty ? "" : "\n    \(text)")
    }
}
