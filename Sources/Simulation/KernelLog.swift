import RISCV
import XV6
import Foundation

/// The kinds of `@T` probe line a real kernel prints (docs/check-your-kernel.md).
public enum ProbeKind: String, CaseIterable, Sendable {
    case kalloc, kfree, map, unmap, freewalk
    case kvmFree = "kvm_free_kernelpgtbl"
    case satp, allocproc, freeproc, fork, exec, execfail, growproc, exit, wait, swtch

    /// Memory events: compared in one stream, in order.
    public var isMemory: Bool {
        switch self {
        case .kalloc, .kfree, .map, .unmap, .freewalk, .kvmFree, .allocproc, .freeproc: return true
        default: return false
        }
    }

    /// Process events: compared in a stream of their own, in the order they take effect.
    public var isProcess: Bool {
        switch self {
        case .fork, .exec, .execfail, .growproc, .exit, .wait: return true
        default: return false
        }
    }
}

/// One probe line of a kernel's log, or the model's counterpart. Fields a kind does not
/// use stay zero.
public struct Probe: Equatable, Sendable {
    public var kind: ProbeKind
    /// The log line it was read from (1-based); 0 for the model's.
    public var line: Int = 0
    /// kalloc/kfree/satp: the page; map: the physical address.
    public var pa: UInt64 = 0
    /// map, unmap, freewalk, kvm_free_kernelpgtbl: the table's root (or table page).
    public var pt: UInt64 = 0
    public var va: UInt64 = 0
    public var size: UInt64 = 0
    public var perm: UInt64 = 0
    /// unmap: npages; exit: status; growproc: n; unmap's free flag is `flag`.
    public var n: Int64 = 0
    public var flag = false
    /// The process it is about (allocproc, fork's parent, exec, exit, wait's parent, swtch, satp by the scheduler).
    public var pid = 0
    /// fork: the child (-1: failed); wait: the child reaped; swtch: 1 for `to=`, 0 for `from=`.
    public var other = 0
    /// exec/growproc: sz.
    public var sz: UInt64 = 0
    /// exec/execfail: the path; satp: who wrote it (kvminithart, scheduler).
    public var text = ""

    public init(_ kind: ProbeKind) { self.kind = kind }

    /// The probe as the kernel prints it (without `@T `).
    public var rendered: String {
        func h(_ v: UInt64) -> String { hex16(v) }
        switch kind {
        case .kalloc, .kfree: return "\(kind.rawValue) pa=\(h(pa))"
        case .map: return "map pt=\(h(pt)) va=\(h(va)) size=\(h(size)) pa=\(h(pa)) perm=0x\(String(perm, radix: 16))"
        case .unmap: return "unmap pt=\(h(pt)) va=\(h(va)) npages=\(n) free=\(flag ? 1 : 0)"
        case .freewalk, .kvmFree: return "\(kind.rawValue) pt=\(h(pt))"
        case .satp: return "satp pa=\(h(pa)) by=\(text)" + (text == "scheduler" ? " pid=\(pid)" : "")
        case .allocproc, .freeproc: return "\(kind.rawValue) pid=\(pid)"
        case .fork: return "fork parent=\(pid) child=\(other)"
        case .exec: return "exec pid=\(pid) path=\(text) sz=\(h(sz))"
        case .execfail: return "execfail pid=\(pid) path=\(text)"
        case .growproc: return "growproc pid=\(pid) n=\(n) sz=\(h(sz))"
        case .exit: return "exit pid=\(pid) status=\(n)"
        case .wait: return "wait pid=\(pid) reaped=\(other)"
        case .swtch: return other == 1 ? "swtch to=\(pid)" : "swtch from=\(pid)"
        }
    }
}

/// A kernel's event log, read: its probes in order, and what else it printed that import uses.
public struct KernelLog: Sendable {
    /// The file's name as reports show it.
    public var file: String
    public var probes: [Probe]
    /// Console lines that begin `page table 0x` (the lab's vmprint).
    public var vmprintLines = 0
    /// Lines in the file.
    public var lineCount = 0
    /// The kernel's panic, if it printed one (`panic: MESSAGE`), and its line.
    public var panic: (line: Int, message: String)?
}

/// A log that cannot be read, at a line.
public struct LogError: Error, Equatable, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String
    /// The offending text, cut short.
    public var text: String
    public init(file: String, line: Int, column: Int = 1, message: String, text: String = "") {
        self.file = file; self.line = line; self.column = column; self.message = message; self.text = text
    }
    public var description: String {
        (line == 0 ? file : "\(file):\(line):\(column)") + ": error: \(message)" + (text.isEmpty ? "" : "\n    \(text)")
    }
}

extension KernelLog {
    /// The most bytes a log may have once decompressed (a 1.4-million-event log is about 100 MB).
    public static let sizeLimit = 1 << 30

    /// Reads a log file, decompressing `.xz` as it goes; the text is parsed as it streams in,
    /// so only the probes are kept.
    public static func read(path: String) throws(LogError) -> KernelLog {
        let name = (path as NSString).lastPathComponent
        func refuse(_ message: String) -> LogError { LogError(file: path, line: 0, column: 0, message: message) }
        if let missing = ScenarioCompiler.missingReason(path) { throw refuse(missing) }
        var st = stat()
        guard stat(path, &st) == 0 else { throw refuse(reasonInWords(errno)) }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: throw refuse("this is a directory, not a log file")
        case S_IFREG: break
        default: return try readStream(path: path, name: name)     // a FIFO, a device, a socket
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            let reason = fd < 0 ? reasonInWords(errno) : "it could not be mapped into memory"
            if fd >= 0 { close(fd) }
            throw refuse("cannot read this file: \(reason)")
        }
        var reader = LogReader(file: name)
        let xzMagic: [UInt8] = [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]
        if data.starts(with: xzMagic) {
            // A first pass counts the probes, so that their array is allocated once, whole:
            // growing it by doubling held half again as much memory as the probes themselves.
            var count = 0
            try? XZ.decompress(data, limit: sizeLimit) { chunk in count += LogReader.countProbes(chunk); return true }
            reader.log.probes.reserveCapacity(count)
            var failure: LogError?
            do throws(XZ.Failure) {
                try XZ.decompress(data, limit: sizeLimit) { chunk in
                    do throws(LogError) { try reader.feed(chunk) } catch { failure = error; return false }
                    return true
                }
            } catch {
                throw LogError(file: path, line: 0, column: 0, message: "cannot decompress this .xz file: \(error.message)")
            }
            if let failure { throw failure }
        } else {
            if data.count > sizeLimit { throw LogError(file: path, line: 0, column: 0, message: "the log is larger than \(sizeLimit >> 20) MiB") }
            var failure: LogError?
            data.withUnsafeBytes { raw in
                let bytes = raw.bindMemory(to: UInt8.self)
                reader.log.probes.reserveCapacity(LogReader.countProbes(bytes))
                do throws(LogError) { try reader.feed(bytes) } catch { failure = error }
            }
            if let failure { throw failure }
        }
        return try reader.finish()
    }

    /// Reads a log that is not a regular file (a FIFO, `/dev/stdin` on a pipe, a device) as it
    /// streams in, without blocking in `open`; a FIFO or socket that sends nothing for
    /// `ScenarioCompiler.pipeWaitSeconds` is refused. `.xz` must come from a regular file.
    static func readStream(path: String, name: String) throws(LogError) -> KernelLog {
        func refuse(_ message: String) -> LogError { LogError(file: path, line: 0, column: 0, message: message) }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 { throw refuse("cannot read this file: \(reasonInWords(errno))") }
        defer { close(fd) }
        var st = stat()
        _ = fstat(fd, &st)
        let type = st.st_mode & S_IFMT
        let isPipe = type == S_IFIFO || type == S_IFSOCK
        if !isPipe { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) }
        var reader = LogReader(file: name)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var total = 0
        while true {
            if isPipe {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&p, 1, Int32(ScenarioCompiler.pipeWaitSeconds * 1000))
                if ready < 0 { if errno == EINTR { continue }; throw refuse("cannot read this file: \(reasonInWords(errno))") }
                if ready == 0 {
                    throw refuse("nothing came from this \(type == S_IFIFO ? "FIFO" : "socket") for \(ScenarioCompiler.pipeWaitSeconds) s"
                                 + (total == 0 ? " (a named pipe no program writes to?)" : ""))
                }
            }
            let n = chunk.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress!, $0.count) }
            if n < 0 { if errno == EINTR || errno == EAGAIN { continue }; throw refuse("cannot read this file: \(reasonInWords(errno))") }
            if n == 0 { break }
            if total == 0 && chunk.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) {
                throw refuse("an .xz log is read from a regular file only; decompress it first (`xz -dc LOG > LOG.txt`)")
            }
            total += n
            if total > sizeLimit { throw refuse("the log is larger than \(sizeLimit >> 20) MiB") }
            try chunk.withUnsafeBufferPointer { (b) throws(LogError) in try reader.feed(UnsafeBufferPointer(rebasing: b[0..<n])) }
        }
        return try reader.finish()
    }
}

/// read(2), under a name `KernelLog.read(path:)` does not hide.
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { read(fd, buffer, count) }
