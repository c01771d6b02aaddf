import Foundation
import Support
import Scenario

/// A file written a line at a time as results come in, each line with one checked
/// write(2) and nothing buffered, so that a process stopped at any moment leaves its
/// finished lines (and at most a last one cut short). `sweep -o FILE` keeps its runs in
/// one (`FILE.partial`) until the whole output is written; `--resume` reads it back.
public final class LineJournal: @unchecked Sendable {
    public let path: String
    private var fd: Int32

    /// Creates (or empties) the file at `path`, and any missing directories.
    public init(path: String) throws {
        self.path = path
        let dir = (path as NSString).deletingLastPathComponent
        if let problem = OutputFile.makeDirectories(dir.isEmpty ? "." : dir) {
            throw WriteError(path: path, reason: problem)
        }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        if fd < 0 { throw WriteError(path: path, reason: reasonInWords(errno)) }
    }

    deinit { if fd >= 0 { Foundation.close(fd) } }

    /// Appends `line` and a newline; nil, or what went wrong.
    public func append(_ line: String) -> WriteError? {
        let bytes = Array((line + "\n").utf8)
        let err = bytes.withUnsafeBytes { OutputFile.writeAll(fd, $0) }
        return err == 0 ? nil : WriteError(path: path, reason: reasonInWords(err))
    }

    /// Closes the file and removes it: its lines are in the finished output now.
    public func remove() throws {
        let closed = Foundation.close(fd) == 0 ? 0 : errno
        fd = -1
        if closed != 0 { throw WriteError(path: path, reason: reasonInWords(closed)) }
        if unlink(path) != 0 && errno != ENOENT { throw WriteError(path: path, reason: "could not remove it: " + reasonInWords(errno)) }
    }
}
