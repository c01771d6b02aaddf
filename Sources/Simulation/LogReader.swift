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
