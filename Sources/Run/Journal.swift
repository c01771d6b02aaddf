import Foundation
import Support
import Scenario

/// A file written a line at a time as results come in, each line with one checked
/// write(2) and nothing buffered, so that a process stopped at any moment leaves its
/// finished lines (and at most a last one cut short). `sweep -o FILE` keeps its runs in
/// one (`FILE.partial`) until the whole output is written; `--resume` reads it back.
public final class LineJournal: @unchecked Sendable {
    public var path: String { file.path }
    private let file: FileWriter

    /// Creates (or empties) the file at `path`, and any missing directories.
    public init(path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if let problem = OutputFile.makeDirectories(dir.isEmpty ? "." : dir) {
            throw WriteError(path: path, reason: problem)
        }
        file = try FileWriter(creating: path)
    }

    /// Appends `line` and a newline; nil, or what went wrong.
    public func append(_ line: String) -> WriteError? {
        file.write(Array((line + "\n").utf8))
    }

    /// Closes the file and removes it: its lines are in the finished output now.
    public func remove() throws {
        try file.close()
        if let e = FileSystem.remove(path, missingIsFine: true) { throw WriteError(path: path, reason: "could not remove it: " + reasonInWords(e)) }
    }
}
