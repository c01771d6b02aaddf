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

    /// The longest line a log may have: a kernel's console lines are short, and a line is
    /// held whole while it is read.
    public static let lineLimit = 1 << 20

    /// Reads the `@T` lines of a log's text. Console text around them is skipped; a probe
    /// may start in the middle of a line (after a prompt).
    public static func parse(_ bytes: [UInt8], file: String) throws(LogError) -> KernelLog {
        var reader = LogReader(file: file)
        try bytes.withUnsafeBufferPointer { (b) throws(LogError) in try reader.feed(b) }
        return try reader.finish()
    }

    /// The index of `panic: ` in bytes[from..<to], if any.
    static func findPanic(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int? {
        let word = Array("panic: ".utf8)
        var i = from
        while i + word.count <= to {
            if b[i] == 0x70 && b[i..<i + word.count].elementsEqual(word) { return i }
            i += 1
        }
        return nil
    }

    /// The index of `@T ` in bytes[from..<to], if any.
    static func find(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int? {
        var i = from
        while i + 3 <= to {
            if b[i] == 0x40 && b[i + 1] == 0x54 && b[i + 2] == 0x20 { return i }
            i += 1
        }
        return nil
    }

    static func parseProbe(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, line: Int, file: String, column: Int) throws(LogError) -> Probe {
        func text() -> String {
            let s = String(decoding: b[max(from - 3, 0)..<min(to, from + 197)], as: UTF8.self)
            return s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
        }
        func fail(_ m: String) -> LogError { LogError(file: file, line: line, column: column, message: m, text: text()) }
        // The words: the kind, then key=value pairs.
        var words: [(Int, Int)] = []
        var i = from
        while i < to {
            while i < to && b[i] == 0x20 { i += 1 }
            let s = i
            while i < to && b[i] != 0x20 { i += 1 }
            if i > s { words.append((s, i)) }
            // No probe has more than six fields: stop before a line of millions of words
            // becomes an array of them.
            if words.count > 16 { throw fail("more fields than any `@T` line has (at most 6 after the kind)") }
        }
        guard let first = words.first else { throw fail("an `@T` line with no event kind") }
        let kindName = String(decoding: b[first.0..<first.1], as: UTF8.self)
        guard let kind = ProbeKind(rawValue: kindName) else {
            let names = ProbeKind.allCases.map(\.rawValue)
            throw fail("unknown event kind '\(kindName)'; expected one of: \(names.joined(separator: ", "))" + didYouMean(kindName, names))
        }
        var fields: [(key: String, value: (Int, Int))] = []
        for w in words.dropFirst() {
            guard let eq = b[w.0..<w.1].firstIndex(of: 0x3D) else {
                throw fail("expected key=value after `\(kindName)`, found '\(String(decoding: b[w.0..<w.1], as: UTF8.self))'")
            }
            fields.append((String(decoding: b[w.0..<eq], as: UTF8.self), (eq + 1, w.1)))
        }
        var p = Probe(kind)
        var used = Set<String>()
        func raw(_ key: String) throws(LogError) -> (Int, Int) {
            guard let f = fields.first(where: { $0.key == key }) else {
                throw fail("`\(kindName)` needs `\(key)=`; the line may be cut short")
            }
            used.insert(key)
            return f.value
        }
        /// `%p`: 0x and 16 hex digits (`exact`); `%x` (perm): 0x and 1 to 16.
        func address(_ key: String, exact: Bool = true) throws(LogError) -> UInt64 {
            let (s, e) = try raw(key)
            guard e - s > 2, b[s] == 0x30, b[s + 1] == 0x78 || b[s + 1] == 0x58, e - s <= 18, !exact || e - s == 18 else {
                throw fail("`\(key)=` takes " + (exact ? "an address as %p prints it, 0x and 16 hex digits" : "a hex number such as 0x1f")
                           + "; found '\(String(decoding: b[s..<e], as: UTF8.self))'")
            }
            var v: UInt64 = 0
            for c in b[(s + 2)..<e] {
                let d: UInt64
                switch c {
                case 0x30...0x39: d = UInt64(c - 0x30)
                case 0x61...0x66: d = UInt64(c - 0x61 + 10)
                case 0x41...0x46: d = UInt64(c - 0x41 + 10)
                default:
                    throw fail("`\(key)=` takes " + (exact ? "an address as %p prints it, 0x and 16 hex digits" : "a hex number such as 0x1f")
                               + "; found '\(String(decoding: b[s..<e], as: UTF8.self))'")
                }
                v = v << 4 | d
            }
            return v
        }
        func number(_ key: String) throws(LogError) -> Int64 {
            let (s, e) = try raw(key)
            var j = s
            var negative = false
            if j < e && b[j] == 0x2D { negative = true; j += 1 }
            guard j < e, e - j <= 18 else { throw fail("`\(key)=` takes a decimal number; found '\(String(decoding: b[s..<e], as: UTF8.self))'") }
            var v: Int64 = 0
            for c in b[j..<e] {
                guard c >= 0x30 && c <= 0x39 else { throw fail("`\(key)=` takes a decimal number; found '\(String(decoding: b[s..<e], as: UTF8.self))'") }
                v = v * 10 + Int64(c - 0x30)
            }
            return negative ? -v : v
        }
        func pidValue(_ key: String) throws(LogError) -> Int {
            let v = try number(key)
            guard v >= -1 && v <= Int64(Int32.max) else { throw fail("`\(key)=` is out of range: \(v)") }
            return Int(v)
        }
        func word(_ key: String) throws(LogError) -> String {
            let (s, e) = try raw(key)
            return String(decoding: b[s..<e], as: UTF8.self)
        }
        switch kind {
        case .kalloc, .kfree: p.pa = try address("pa")
        case .map:
            p.pt = try address("pt"); p.va = try address("va"); p.size = try address("size")
            p.pa = try address("pa"); p.perm = try address("perm", exact: false)
        case .unmap:
            p.pt = try address("pt"); p.va = try address("va"); p.n = try number("npages")
            let f = try number("free")
            guard f == 0 || f == 1 else { throw fail("`free=` is 0 or 1; found \(f)") }
            p.flag = f == 1
        case .freewalk, .kvmFree: p.pt = try address("pt")
        case .satp:
            p.pa = try address("pa"); p.text = try word("by")
            guard p.text == "kvminithart" || p.text == "scheduler" else { throw fail("`by=` is kvminithart or scheduler; found '\(p.text)'") }
            if p.text == "scheduler" { p.pid = try pidValue("pid") }
        case .allocproc, .freeproc: p.pid = try pidValue("pid")
        case .fork: p.pid = try pidValue("parent"); p.other = try pidValue("child")
        case .exec: p.pid = try pidValue("pid"); p.text = try word("path"); p.sz = try address("sz")
        case .execfail: p.pid = try pidValue("pid"); p.text = try word("path")
        case .growproc:
            p.pid = try pidValue("pid"); p.n = try number("n"); p.sz = try address("sz")
            guard p.n >= Int64(Int32.min) && p.n <= Int64(Int32.max) else { throw fail("`n=` does not fit growproc's int: \(p.n)") }
        case .exit:
            p.pid = try pidValue("pid"); p.n = try number("status")
            guard p.n >= Int64(Int32.min) && p.n <= Int64(Int32.max) else { throw fail("`status=` does not fit an int: \(p.n)") }
        case .wait: p.pid = try pidValue("pid"); p.other = try pidValue("reaped")
        case .swtch:
            if fields.contains(where: { $0.key == "to" }) { p.pid = try pidValue("to"); p.other = 1 } else { p.pid = try pidValue("from"); p.other = 0 }
        }
        if let extra = fields.first(where: { !used.contains($0.key) }) {
            throw fail("`\(kindName)` has no `\(extra.key)=`")
        }
        return p
    }
}

/// Parses a log's text as it arrives in chunks: whole lines are read in place, and a
/// line cut by the chunk's end waits for the next.
struct LogReader {
    var log: KernelLog
    var lineNo = 0
    var carry: [UInt8] = []

    init(file: String) { log = KernelLog(file: file, probes: []) }

    /// How many `@T ` a chunk holds (one cut by the chunk's end is missed: a count for
    /// reserving, not for parsing).
    static func countProbes(_ b: UnsafeBufferPointer<UInt8>) -> Int {
        var n = 0
        var i = 0
        while i + 2 < b.count {
            if b[i] == 0x40 && b[i + 1] == 0x54 && b[i + 2] == 0x20 { n += 1; i += 3 } else { i += 1 }
        }
        return n
    }

    mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>) throws(LogError) {
        var start = 0
        if !carry.isEmpty {
            // The line begun in the last chunk: complete it here, or keep carrying it.
            guard let nl = chunk.firstIndex(of: 0x0A) else {
                carry.append(contentsOf: chunk)
                if carry.count > KernelLog.lineLimit { throw tooLong() }
                return
            }
            if carry.count + nl > KernelLog.lineLimit { throw tooLong() }
            carry.append(contentsOf: chunk[0...nl])
            let line = carry
            carry.removeAll(keepingCapacity: true)
            try line.withUnsafeBufferPointer { (b) throws(LogError) in try self.line(b, 0, b.count - 1) }
            start = nl + 1
        }
        while start < chunk.count {
            var end = start
            while end < chunk.count && chunk[end] != 0x0A { end += 1 }
            if end - start > KernelLog.lineLimit { throw tooLong() }
            if end == chunk.count { carry.append(contentsOf: chunk[start...]); return }
            try line(chunk, start, end)
            start = end + 1
        }
    }

    /// A line beyond `KernelLog.lineLimit`: refused before it is held whole (a file of one
    /// 200 MB line took twice its size in memory; /dev/zero, all it could get).
    func tooLong() -> LogError {
        LogError(file: log.file, line: lineNo + 1, column: KernelLog.lineLimit + 1,
                 message: "this line is longer than \(KernelLog.lineLimit >> 20) MiB; a kernel's console lines are short: is this a kernel's log?")
    }

    /// The last line, if the text did not end with a newline, and the log.
    mutating func finish() throws(LogError) -> KernelLog {
        if !carry.isEmpty {
            let line = carry
            carry = []
            try line.withUnsafeBufferPointer { (b) throws(LogError) in
                lineNo += 1
                var lineEnd = b.count
                if lineEnd > 0 && b[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                if let at = KernelLog.find(b, 0, lineEnd) {
                    // Every probe is one printf ending in a newline: without it, the log was cut here.
                    throw LogError(file: log.file, line: lineNo, column: lineEnd + 1,
                                   message: "the log ends in the middle of this line (no newline after it): it was cut short",
                                   text: String(decoding: b[at..<min(lineEnd, at + 200)], as: UTF8.self))
                }
                console(b, 0, lineEnd)
            }
        }
        log.lineCount = lineNo
        return log
    }

    /// One line, b[start..<end] (end is its newline).
    mutating func line(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(LogError) {
        lineNo += 1
        var lineEnd = end
        if lineEnd > start && b[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        if let at = KernelLog.find(b, start, lineEnd) {
            var p = try KernelLog.parseProbe(b, at + 3, lineEnd, line: lineNo, file: log.file, column: at - start + 1)
            p.line = lineNo
            log.probes.append(p)
        } else {
            console(b, start, lineEnd)
        }
    }

    /// Console text: the lab's vmprint, and the kernel's panic.
    mutating func console(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ lineEnd: Int) {
        if lineEnd - start >= 13, b[start..<start + 13].elementsEqual("page table 0x".utf8) {
            log.vmprintLines += 1
        } else if log.panic == nil, let at = KernelLog.findPanic(b, start, lineEnd) {
            log.panic = (lineNo, String(decoding: b[(at + 7)..<lineEnd], as: UTF8.self))
        }
    }
}

/// read(2), under a name `KernelLog.read(path:)` does not hide.
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { read(fd, buffer, count) }
