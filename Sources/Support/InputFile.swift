import Foundation

// The door to the file system, reading side (OutputFile.swift is the writing side): every
// open(2), read(2), stat(2) and pointer into a buffer the program needs to read a file lives
// here, so the rest of the program reads arrays and sees errors in words. Raw POSIX, not
// swift-system 1.8.1: what it would give (FileDescriptor, Errno) is a few lines here, and it
// is one more package to fetch and 16 s more of a clean release build (measured alone).

/// A system call that failed: its errno, and the reason in words (`reasonInWords`).
public struct SystemError: Error, Equatable, Sendable {
    public var code: Int32
    public init(_ code: Int32) { self.code = code }
    public var reason: String { reasonInWords(code) }
}

/// What stat(2) says of a file: its kind, its size, and the device and inode that tell two
/// names of one file from two files.
public struct FileStatus: Equatable, Sendable {
    public enum Kind: Sendable { case regular, directory, fifo, socket, other }
    public var kind: Kind
    public var size: Int
    public var device: UInt64
    public var inode: UInt64

    package init(_ st: stat) {
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFIFO: kind = .fifo
        case S_IFSOCK: kind = .socket
        default: kind = .other
        }
        size = max(Int(st.st_size), 0)
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }

    /// The file at `path`, symbolic links followed.
    public static func of(_ path: String) -> Result<FileStatus, SystemError> {
        var st = stat()
        return stat(path, &st) == 0 ? .success(FileStatus(st)) : .failure(SystemError(errno))
    }

    /// The file at `path` itself, a symbolic link not followed.
    public static func ofLink(_ path: String) -> Result<FileStatus, SystemError> {
        var st = stat()
        return lstat(path, &st) == 0 ? .success(FileStatus(st)) : .failure(SystemError(errno))
    }

    /// What standard output is (a file, a pipe, a terminal).
    public static func ofStandardOutput() -> FileStatus? {
        var st = stat()
        return fstat(STDOUT_FILENO, &st) == 0 ? FileStatus(st) : nil
    }

    /// Whether `a` and `b` are the same existing file (the same device and inode), however
    /// they are named: through `..`, symbolic links or hard links.
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        guard case .success(let x) = of(a), case .success(let y) = of(b) else { return false }
        return x.device == y.device && x.inode == y.inode
    }

    /// Why nothing can be found at `path`, or nil: "no such file", a symbolic link to nothing,
    /// symbolic links that loop.
    public static func missingReason(_ path: String) -> String? {
        guard case .failure(let e) = of(path) else { return nil }
        if e.code == ELOOP { return "symbolic links loop there (\(e.reason))" }
        if e.code == ENOENT {
            if case .success = ofLink(path) { return "it is a symbolic link to a file that does not exist" }
            return "no such file"
        }
        return e.reason
    }
}

/// A file open to read: a regular file, a device, a FIFO, a socket or standard input.
/// Opening never waits (a FIFO no program writes to yet); reading a FIFO or socket waits
/// for its next bytes at most `pipeWaitSeconds`, anything else as long as it takes.
/// Used by one thread at a time.
public final class InputFile: @unchecked Sendable {
    /// Why a read stopped: a system call's error, or a pipe that stayed silent (the message).
    public enum Failure: Error, Sendable {
        case system(SystemError)
        case silent(String)
    }

    /// How long a FIFO (or socket) may keep a reader waiting for its next bytes: a named pipe
    /// no program writes to would otherwise block forever.
    public static let pipeWaitSeconds = 5

    public let status: FileStatus
    private var fd: Int32
    /// Whether any byte has come yet (the message for a silent pipe says more if not).
    private var received = false

    /// Opens `path` to read; the error of open(2) or fstat(2).
    public init(_ path: String) throws(SystemError) {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 { throw SystemError(errno) }
        var st = stat()
        if fstat(fd, &st) != 0 {
            let e = errno
            Foundation.close(fd)
            throw SystemError(e)
        }
        status = FileStatus(st)
        // Only a pipe is read without blocking (its reads wait in poll); a file, a terminal,
        // /dev/zero are read as usual, waiting when they wait.
        if !isPipe { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) }
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { Foundation.close(fd) }
        fd = -1
    }

    /// A FIFO or a socket.
    public var isPipe: Bool { status.kind == .fifo || status.kind == .socket }

    /// The file's first `count` bytes, or all of it if it has fewer, without moving the
    /// reading position (a regular file); none if it cannot be read.
    public func head(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, count, 0) }
        bytes.removeLast(count - max(n, 0))
        return bytes
    }

    /// Reads the next bytes into `buffer[offset...]` (as many as come, up to its end): how
    /// many, 0 at the end of the file.
    public func read(into buffer: inout [UInt8], at offset: Int) throws(Failure) -> Int {
        precondition(offset < buffer.count, "InputFile.read: no room in the buffer")
        while true {
            if isPipe { try waitForData() }
            let n = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                let e = errno
                if e == EINTR || e == EAGAIN { continue }
                throw .system(SystemError(e))
            }
            if n > 0 { received = true }
            return n
        }
    }

    /// Reads to the end, a block of at most `size` bytes at a time, handing each to `body`
    /// until it returns false.
    public func forEachBlock(size: Int, _ body: (ArraySlice<UInt8>) -> Bool) throws(Failure) {
        var buffer = [UInt8](repeating: 0, count: size)
        while true {
            let n = try read(into: &buffer, at: 0)
            if n == 0 || !body(buffer[0..<n]) { return }
        }
    }

    /// A pipe: waits until it has something to read, at most `pipeWaitSeconds`.
    private func waitForData() throws(Failure) {
        while true {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(Self.pipeWaitSeconds * 1000))
            if ready < 0 { if errno == EINTR { continue }; throw .system(SystemError(errno)) }
            if ready == 0 {
                throw .silent("nothing came from this \(status.kind == .fifo ? "FIFO" : "socket") for \(Self.pipeWaitSeconds) s"
                              + (received ? "" : " (a named pipe no program writes to?)"))
            }
            return
        }
    }

    /// The bytes of the regular file at `path`, read straight into one array (no second copy,
    /// which matters for a 95 MB golden); nil when it cannot be opened or read, with errno set.
    public static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return nil }
        defer { Foundation.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        // One byte more than its size, so that the read that finds the end needs no growing.
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size) + 1)
        var done = 0
        while true {
            if done == bytes.count { bytes.append(contentsOf: [UInt8](repeating: 0, count: max(4096, bytes.count))) }
            let n = bytes.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            done += n
        }
        bytes.removeLast(bytes.count - done)
        return bytes
    }
}

extension [UInt8] {
    /// Whether self[i..<i+n] and other[j..<j+n] hold the same bytes (memcmp: comparing byte by
    /// byte made the line diff half as slow again).
    package func sameBytes(at i: Int, as other: [UInt8], at j: Int, count n: Int) -> Bool {
        precondition(i >= 0 && j >= 0 && n >= 0 && i + n <= count && j + n <= other.count, "sameBytes: out of range")
        if n == 0 { return true }
        return withUnsafeBytes { x in other.withUnsafeBytes { y in memcmp(x.baseAddress! + i, y.baseAddress! + j, n) == 0 } }
    }
}

/// Standard input as a keyboard: one key at a time.
public enum Keyboard {
    /// One key from the terminal on standard input, without waiting for Enter and without
    /// echo (the caller echoes what it understood); nil at the end of input. Standard input
    /// that is not a terminal is read a byte at a time as it is.
    public static func readKey() -> UInt8? {
        var saved = termios()
        let isTerminal = tcgetattr(STDIN_FILENO, &saved) == 0
        if isTerminal {
            var raw = saved
            raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
            withUnsafeMutableBytes(of: &raw.c_cc) { $0[Int(VMIN)] = 1; $0[Int(VTIME)] = 0 }
            tcsetattr(STDIN_FILENO, TCSANOW, &raw)
        }
        defer { if isTerminal { tcsetattr(STDIN_FILENO, TCSANOW, &saved) } }
        var b: UInt8 = 0
        while true {
            let n = Foundation.read(STDIN_FILENO, &b, 1)
            if n == 1 { return b }
            if n < 0 && errno == EINTR { continue }
            return nil
        }
    }
}
