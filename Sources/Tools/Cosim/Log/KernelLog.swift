import RISCV
import XV6
import Foundation
import Support

/// The kinds of `@T` probe line a real kernel prints (docs/check-your-kernel.md).
public enum ProbeKind: String, CaseIterable, Sendable {
    case kalloc, kfree, map, unmap, freewalk
    case kvmFree = "kvm_free_kernelpgtbl"
    case satp, allocproc, freeproc, fork, exec, execfail, growproc, exit, wait, swtch
    /// The copy-on-write and lazy labs' lines (docs/check-your-kernel.md, "The lazy and COW labs").
    case pagefault, copyout, copyin, copyinstr, refinc, refdec, sbrk
    /// Markers some lab solutions print: read, and not compared.
    case cowcopyout, lazycopy

    /// The kind's place in `allCases`, for tables indexed by kind (a test checks the order).
    public var index: Int {
        switch self {
        case .kalloc: 0
        case .kfree: 1
        case .map: 2
        case .unmap: 3
        case .freewalk: 4
        case .kvmFree: 5
        case .satp: 6
        case .allocproc: 7
        case .freeproc: 8
        case .fork: 9
        case .exec: 10
        case .execfail: 11
        case .growproc: 12
        case .exit: 13
        case .wait: 14
        case .swtch: 15
        case .pagefault: 16
        case .copyout: 17
        case .copyin: 18
        case .copyinstr: 19
        case .refinc: 20
        case .refdec: 21
        case .sbrk: 22
        case .cowcopyout: 23
        case .lazycopy: 24
        }
    }

    /// Memory events: compared in one stream, in order.
    public var isMemory: Bool {
        switch self {
        case .kalloc, .kfree, .map, .unmap, .freewalk, .kvmFree, .allocproc, .freeproc, .refinc, .refdec: return true
        default: return false
        }
    }

    /// Process events: compared in a stream of their own, in the order they take effect.
    public var isProcess: Bool {
        switch self {
        case .fork, .exec, .execfail, .growproc, .exit, .wait, .pagefault, .sbrk: return true
        default: return false
        }
    }
}

/// One probe line of a kernel's log, or the model's counterpart. Fields a kind does not
/// use stay zero. Replay holds tens of thousands at a time: the wide fields come first and
/// the narrow last, in 80 bytes (104 in the order they are documented).
public struct Probe: Equatable, Sendable {
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
    /// exec/growproc: sz.
    public var sz: UInt64 = 0
    /// The process it is about (allocproc, fork's parent, exec, exit, wait's parent, swtch, satp by the scheduler).
    /// A log's pids are read from -1 to Int32.max (`KernelLog.parseProbe`), the model's are small.
    public var pid: Int {
        get { Int(pid32) }
        set { pid32 = Int32(truncatingIfNeeded: newValue) }
    }
    /// fork: the child (-1: failed); wait: the child reaped; swtch: 1 for `to=`, 0 for `from=`.
    public var other: Int {
        get { Int(other32) }
        set { other32 = Int32(truncatingIfNeeded: newValue) }
    }
    private var pid32: Int32 = 0
    private var other32: Int32 = 0
    /// exec/execfail: the path; satp: who wrote it (kvminithart, scheduler). Held as its
    /// number in `ProbeText`, so that a probe is plain data: copied without reference counts.
    public var text: String {
        get { ProbeText.string(textID) }
        set { textID = ProbeText.id(newValue) }
    }
    /// `text`'s number: equal numbers, equal texts.
    public var textID: UInt32 = ProbeText.empty
    public var kind: ProbeKind
    public var flag = false

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
        case .pagefault: return "pagefault pid=\(pid) scause=0x\(String(UInt64(bitPattern: n), radix: 16)) va=\(h(va))"
        case .copyout, .copyin: return "\(kind.rawValue) pid=\(pid) pt=\(h(pt)) va=\(h(va)) len=\(n)"
        case .copyinstr: return "copyinstr pid=\(pid) pt=\(h(pt)) va=\(h(va)) max=\(n)"
        case .refinc, .refdec: return "\(kind.rawValue) pa=\(h(pa)) n=\(n)"
        case .sbrk: return "sbrk pid=\(pid) n=\(n) sz=\(h(sz))"
        case .cowcopyout: return "cowcopyout pid=\(pid) va=\(h(va))"
        case .lazycopy: return "lazycopy pid=\(pid) va=\(h(va)) by=\(text)"
        }
    }
}

/// The texts probes carry (a satp's writer, an exec's path, a lazycopy's direction), each
/// held once and numbered in the order first seen, the usual ones first. A log names few:
/// the programs it runs.
public final class ProbeText: @unchecked Sendable {
    public static let empty: UInt32 = 0, kvminithart: UInt32 = 1, scheduler: UInt32 = 2
    public static let copyout: UInt32 = 3, copyin: UInt32 = 4
    private static let shared = ProbeText()
    private let lock = NSLock()
    private var strings = ["", "kvminithart", "scheduler", "copyout", "copyin"]
    private var ids: [String: UInt32] = [:]

    private init() {
        for (i, s) in strings.enumerated() { ids[s] = UInt32(i) }
    }

    public static func id(_ s: String) -> UInt32 {
        shared.lock.lock()
        defer { shared.lock.unlock() }
        if let i = shared.ids[s] { return i }
        let i = UInt32(shared.strings.count)
        shared.strings.append(s)
        shared.ids[s] = i
        return i
    }

    public static func string(_ id: UInt32) -> String {
        shared.lock.lock()
        defer { shared.lock.unlock() }
        return shared.strings[Int(id)]
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
    /// What was left out of the log, and why (a last line cut short).
    public var warnings: [LogError] = []

    public init(file: String, probes: [Probe], vmprintLines: Int = 0, lineCount: Int = 0,
                 panic: (line: Int, message: String)? = nil, warnings: [LogError] = []) {
        self.file = file; self.probes = probes; self.vmprintLines = vmprintLines
        self.lineCount = lineCount; self.panic = panic; self.warnings = warnings
    }
}


extension KernelLog {
    /// The most bytes a log may have once decompressed (a 1.4-million-event log is about 100 MB).
    public static let sizeLimit = 1 << 30

    /// Reads a log file, decompressing `.xz` as it goes; the text is parsed as it streams in
    /// from a reader thread (`open(path:)`), so only the probes are kept.
    public static func read(path: String) throws(LogError) -> KernelLog {
        let chunks = try open(path: path)
        defer { chunks.cancel() }
        var reader = LogReader(file: chunks.name)
        while let chunk = try chunks.next() {
            try chunk.withUnsafeBufferPointer { (b) throws(LogError) in try reader.feed(b) }
        }
        return try reader.finish()
    }

    /// Reads a log as `read` does, with no limit on its size, counting its lines and probes
    /// without keeping them: the reading half of a replay, alone (`xv6vm bench --read`).
    public static func count(path: String) throws(LogError) -> (bytes: Int, lines: Int, probes: Int) {
        let chunks = try open(path: path, limit: Int.max)
        defer { chunks.cancel() }
        var reader = LogReader(file: chunks.name)
        reader.keep = false
        var bytes = 0
        while let chunk = try chunks.next() {
            bytes += chunk.count
            try chunk.withUnsafeBufferPointer { (b) throws(LogError) in try reader.feed(b) }
        }
        let log = try reader.finish()
        return (bytes, log.lineCount, reader.probeCount)
    }

    /// Opens a log (a file, text or `.xz`; a FIFO, `/dev/stdin` on a pipe, a device) and starts
    /// a thread that reads and decompresses it into `LogChunks`, without blocking in `open`.
    /// A FIFO or socket that sends nothing for `InputFile.pipeWaitSeconds` is refused;
    /// so is a text longer than `limit` bytes.
    /// With `parsing`, the reader thread parses the text too (`LogChunks.nextProbes`).
    public static func open(path: String, limit: Int = sizeLimit, parsing: Bool = false) throws(LogError) -> LogChunks {
        func refuse(_ message: String) -> LogError { LogError(file: path, line: 0, column: 0, message: message) }
        if let missing = FileStatus.missingReason(path) { throw refuse(missing) }
        switch FileStatus.of(path) {
        case .failure(let e): throw refuse(e.reason)
        case .success(let st): if st.kind == .directory { throw refuse("this is a directory, not a log file") }
        }
        let file: InputFile
        do { file = try InputFile(path) } catch { throw refuse("cannot read this file: \(error.reason)") }
        if file.status.kind == .regular && file.status.size > limit && file.head(6) != LogSource.xzMagic {
            // A text file too long is refused before a byte of it is read (an .xz file is
            // judged by what it decompresses to).
            throw refuse("the log is larger than \(limit >> 20) MiB")
        }
        let source = LogSource(file: file, path: path, limit: limit)
        let chunks = LogChunks(name: (path as NSString).lastPathComponent, parsing: parsing)
        chunks.regularFile = file.status.kind == .regular
        let thread = Thread { source.pump(into: chunks) }
        thread.stackSize = 1 << 20
        thread.start()
        return chunks
    }
}

/// A log's file, read on the reader thread: its blocks, decompressed when it is `.xz`
/// (the magic number at its start says so; from a pipe too), handed to `LogChunks`.
public struct LogSource: Sendable {
    static let xzMagic: [UInt8] = [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]
    let file: InputFile
    let path: String
    /// The most bytes of text read.
    let limit: Int

    func pump(into chunks: LogChunks) {
        defer { file.close() }
        do throws(LogError) { try read(into: chunks); chunks.end(nil) } catch { chunks.end(error) }
    }

    func refuse(_ message: String) -> LogError { LogError(file: path, line: 0, column: 0, message: message) }

    private func read(into chunks: LogChunks) throws(LogError) {
        var text = LogText(source: self, chunks: chunks)
        var failure: LogError?
        do throws(InputFile.Failure) {
            try file.forEachBlock(size: LogChunks.chunkSize) { block in
                do throws(LogError) { return try text.take(block, last: false) } catch { failure = error; return false }
            }
        } catch {
            switch error {
            case .system(let e): throw refuse("cannot read this file: \(e.reason)")
            case .silent(let message): throw refuse(message)
            }
        }
        if let failure { throw failure }
        if !text.stopped { _ = try text.take([], last: true) }
    }
}

/// The text of a log as its file's blocks come: held back until the magic number can be
/// seen, then decompressed (`.xz`) or passed on as it is, within the source's limit.
private struct LogText {
    let source: LogSource
    let chunks: LogChunks
    /// Bytes of the file's start held back until the magic number can be seen.
    var head: [UInt8] = []
    var decided = false
    var decoder: XZDecoder?
    /// Bytes of text so far.
    var total = 0
    /// Whether the reading stopped before the end (nothing more is wanted).
    var stopped = false

    /// Takes the file's next block (`last`: its end); false when nothing more is wanted.
    mutating func take(_ block: ArraySlice<UInt8>, last: Bool) throws(LogError) -> Bool {
        var block = block
        if !decided {
            head += block
            if !last && head.count < 6 { return true }
            decided = true
            if head.count >= 6 && head.prefix(6).elementsEqual(LogSource.xzMagic) {
                do throws(XZDecoder.Failure) { decoder = try XZDecoder(outputSize: LogChunks.chunkSize) } catch {
                    throw source.refuse("cannot decompress this .xz file: \(error.message)")
                }
            }
            block = head[...]
            head = []
        }
        if let decoder {
            var over = false
            let goOn: Bool
            let (limit, chunks) = (source.limit, self.chunks)
            var total = self.total
            do throws(XZDecoder.Failure) {
                goOn = try decoder.decode(block, last: last) { text in
                    total += text.count
                    if total > limit { over = true; return false }
                    return chunks.put(text)
                }
            } catch { throw source.refuse("cannot decompress this .xz file: \(error.message)") }
            self.total = total
            if over { throw source.refuse("cannot decompress this .xz file: it decompresses to more than \(limit >> 20) MiB") }
            stopped = !goOn
            return goOn && !last
        }
        if block.isEmpty { return !last }
        total += block.count
        if total > source.limit { throw source.refuse("the log is larger than \(source.limit >> 20) MiB") }
        stopped = !chunks.put(Array(block))
        return !stopped
    }
}
