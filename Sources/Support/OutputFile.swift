import Foundation

/// A file that could not be written: the path as the user named it and the reason in words.
public struct WriteError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "could not write \(path): \(reason)" }
}

/// The operating system's reason for `code`, in words ("No space left on device").
public func reasonInWords(_ code: Int32) -> String { String(cString: strerror(code)) }

/// Writing files with every system call checked: no error is lost, and none reaches the
/// user as a raw Foundation error.
public enum OutputFile {
    /// Writes all of `bytes` to the open descriptor `fd`, retrying short writes and EINTR.
    /// Returns 0, or the errno of the write that failed.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBytes { writeAll(fd, $0) }
    }

    /// `writeAll` of a trace writer's buffer, from where it lies.
    package static func writeAll(_ fd: Int32, _ bytes: TraceBytes) -> Int32 {
        bytes.withBytes { writeAll(fd, $0) }
    }

    private static func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer) -> Int32 {
        var done = 0
        while done < raw.count {
            let n = write(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if n == 0 { return EIO }
            done += n
        }
        return 0
    }

    /// Writes `bytes` to `path`, atomically when `path` is (or will be) a regular file: a
    /// temporary file beside it, written, flushed to disk and closed, then renamed over it,
    /// so a reader sees the old file or the new one, never a part. The temporary file is
    /// removed whatever fails. A device or pipe (`/dev/stdout`, `/dev/full`) is written in
    /// place, never replaced. Missing directories are created (goldens), or, for a file the
    /// user named with `-o` (`createDirectories: false`), refused: a typo is not a new folder.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, createDirectories: Bool = true,
                                       beforeRename: () throws -> Void = {}) throws {
        func fail(_ reason: String) -> WriteError { WriteError(path: path, reason: reason) }
        if path.isEmpty { throw fail("the path is empty") }
        let name = (path as NSString).lastPathComponent
        if path.hasSuffix("/") || name == "." || name == ".." { throw fail("it names a directory, not a file") }
        var st = stat()
        if stat(path, &st) == 0 {
            switch st.st_mode & S_IFMT {
            case S_IFDIR: throw fail("it is a directory")
            case S_IFREG: break
            default: return try writeInPlace(bytes, to: path)
            }
        }
        let dir = (path as NSString).deletingLastPathComponent
        let parent = dir.isEmpty ? "." : dir
        if !createDirectories {
            var dst = stat()
            if stat(parent, &dst) != 0 { throw fail("its folder \(parent) does not exist") }
            if dst.st_mode & S_IFMT != S_IFDIR { throw fail("\(parent) is not a folder") }
        }
        if let problem = makeDirectories(parent) { throw fail(problem) }
        let tmp = parent + "/.\(name).tmp-\(getpid())"
        var fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        if fd < 0 && errno == EEXIST {        // left by a process with our pid that was killed
            unlink(tmp)
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        }
        if fd < 0 { throw fail(reasonInWords(errno)) }
        var err = writeAll(fd, bytes)
        if err == 0 && fsync(fd) != 0 && errno != EINVAL && errno != EROFS { err = errno }
        if close(fd) != 0 && err == 0 { err = errno }
        if err != 0 { unlink(tmp); throw fail(reasonInWords(err)) }
        do { try beforeRename() } catch { unlink(tmp); throw error }
        if rename(tmp, path) != 0 {
            let e = errno
            unlink(tmp)
            throw fail(reasonInWords(e))
        }
    }

    /// Writes to something that is not a regular file (a device, a pipe) without replacing it.
    /// A FIFO no program reads from is waited on this long, then refused: opening it to
    /// write blocked forever.
    public static let readerWaitSeconds = 5

    static func writeInPlace(_ bytes: [UInt8], to path: String) throws {
        var fd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK)
        var waited = 0
        while fd < 0 && errno == ENXIO && waited < readerWaitSeconds * 1000 {      // a FIFO with no reader yet
            usleep(50_000)
            waited += 50
            fd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK)
        }
        if fd < 0 {
            throw WriteError(path: path, reason: errno == ENXIO ? "no program reads from this FIFO (waited \(readerWaitSeconds) s)" : reasonInWords(errno))
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        var err = writeAll(fd, bytes)
        if close(fd) != 0 && err == 0 { err = errno }
        if err != 0 { throw WriteError(path: path, reason: reasonInWords(err)) }
    }

    /// Creates `dir` and its missing parents; nil, or what stopped it, naming the directory.
    package static func makeDirectories(_ dir: String) -> String? {
        var st = stat()
        if stat(dir, &st) == 0 {
            return st.st_mode & S_IFMT == S_IFDIR ? nil : "\(dir) is not a directory"
        }
        let parent = (dir as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != dir, let problem = makeDirectories(parent) { return problem }
        if mkdir(dir, 0o777) != 0 && errno != EEXIST {
            return "cannot create the directory \(dir): \(reasonInWords(errno))"
        }
        if stat(dir, &st) != 0 || st.st_mode & S_IFMT != S_IFDIR { return "\(dir) is not a directory" }
        return nil
    }
}

/// A file written a piece at a time, each piece with checked write(2)s and nothing buffered.
public final class FileWriter: @unchecked Sendable {
    public let path: String
    private var fd: Int32

    /// Creates (or empties) the file at `path`; its folder must exist.
    public init(creating path: String) throws(WriteError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        if fd < 0 { throw WriteError(path: path, reason: reasonInWords(errno)) }
    }

    deinit { if fd >= 0 { Foundation.close(fd) } }

    /// Writes all of `bytes`; nil, or what went wrong.
    public func write(_ bytes: [UInt8]) -> WriteError? {
        let err = OutputFile.writeAll(fd, bytes)
        return err == 0 ? nil : WriteError(path: path, reason: reasonInWords(err))
    }

    /// Writes a trace writer's buffer as it lies; nil, or what went wrong.
    package func write(_ bytes: TraceBytes) -> WriteError? {
        let err = OutputFile.writeAll(fd, bytes)
        return err == 0 ? nil : WriteError(path: path, reason: reasonInWords(err))
    }

    /// Closes the file; what went wrong, if anything.
    public func close() throws(WriteError) {
        let closed = Foundation.close(fd) == 0 ? 0 : errno
        fd = -1
        if closed != 0 { throw WriteError(path: path, reason: reasonInWords(closed)) }
    }
}
