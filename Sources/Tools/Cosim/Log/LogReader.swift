import Foundation
import Support
/// Parses a log's text as it arrives in chunks: whole lines are read in place, and a
/// line cut by the chunk's end waits for the next.
///
/// It reads through `UnsafeBufferPointer`s, the one place outside RISCV and Support's door
/// that does: over arrays, measured, reading pgtbl-reparent2's log (68 MB of text) took
/// 1.57 s of CPU against 1.17 s (`xv6vm bench --read`, three pairs of runs).
public struct LogReader {
    var log: KernelLog
    var lineNo = 0
    var carry: [UInt8] = []
    /// Probes read, in full segments and the one being filled: gathered into `log.probes`
    /// once, at the end, where an array grown by doubling moved them again and again (and
    /// held half as much again as the probes themselves).
    var segments: [[Probe]] = []
    var segment: [Probe] = []
    static let segmentSize = 1 << 16
    /// Whether the probes are kept (false: only counted, in `probeCount`).
    var keep = true
    /// Whether the probes read are handed out as they come (in `segment`, which the reader's
    /// owner empties) rather than kept.
    var streaming = false
    var probeCount = 0

    public init(file: String) { log = KernelLog(file: file, probes: []) }

    mutating func append(_ p: Probe) {
        probeCount += 1
        if !keep { return }
        if streaming { segment.append(p); return }
        if segment.capacity < Self.segmentSize { segment.reserveCapacity(Self.segmentSize) }
        segment.append(p)
        if segment.count == Self.segmentSize {
            segments.append(segment)
            segment = []
        }
    }

    /// The probes read, in one array: each segment freed as soon as it is copied.
    mutating func gather() {
        log.probes.reserveCapacity(segments.count * Self.segmentSize + segment.count)
        segments.reverse()
        while let s = segments.popLast() { log.probes.append(contentsOf: s) }
        log.probes.append(contentsOf: segment)
        segment = []
    }

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

    public mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>) throws(LogError) {
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
            let end = Self.index(of: 0x0A, in: chunk, start, chunk.count)
            if end - start > KernelLog.lineLimit { throw tooLong() }
            if end == chunk.count { carry.append(contentsOf: chunk[start...]); return }
            try line(chunk, start, end)
            start = end + 1
        }
    }

    /// The index of the first `byte` in b[from..<to], or `to` (memchr: a line's bytes are not
    /// looked at one by one).
    static func index(of byte: UInt8, in b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int {
        guard from < to, let base = b.baseAddress, let p = memchr(base + from, Int32(byte), to - from) else { return to }
        return base.distance(to: p.assumingMemoryBound(to: UInt8.self))
    }

    /// A line beyond `KernelLog.lineLimit`: refused before it is held whole (a file of one
    /// 200 MB line took twice its size in memory; /dev/zero, all it could get).
    func tooLong() -> LogError {
        LogError(file: log.file, line: lineNo + 1, column: KernelLog.lineLimit + 1,
                 message: "this line is longer than \(KernelLog.lineLimit >> 20) MiB; a kernel's console lines are short: is this a kernel's log?")
    }

    /// The last line, if the text did not end with a newline, and the log. A probe line
    /// without its newline is where the kernel was stopped in the middle of a printf: it is
    /// left out, with a warning (`log.warnings`).
    public mutating func finish() throws(LogError) -> KernelLog {
        if !carry.isEmpty {
            let line = carry
            carry = []
            try line.withUnsafeBufferPointer { (b) throws(LogError) in
                lineNo += 1
                let lineEnd = Self.contentEnd(b, 0, b.count)
                if let at = try probeStart(b, 0, lineEnd) {
                    // Every probe is one printf ending in a newline: without it, the log was cut here.
                    log.warnings.append(LogError(file: log.file, line: lineNo, column: lineEnd + 1,
                                                 message: "the log ends in the middle of this line (no newline after it): it was cut short, and the line is left out",
                                                 text: String(decoding: b[at..<min(lineEnd, at + 200)], as: UTF8.self), warning: true))
                } else {
                    console(b, 0, lineEnd)
                }
            }
        }
        log.lineCount = lineNo
        gather()
        return log
    }

    /// Where b[start..<end]'s text ends: before a carriage return, and (`blanks`) before
    /// the spaces and tabs a console may leave after a probe's last field.
    static func contentEnd(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, blanks: Bool = false) -> Int {
        var e = end
        if e > start && b[e - 1] == 0x0D { e -= 1 }
        while blanks && e > start && (b[e - 1] == 0x20 || b[e - 1] == 0x09) { e -= 1 }
        return e
    }

    /// Where the probe in b[start..<end] begins (its `@T `), nil for console text. Two
    /// probes whose characters interleave (two CPUs printing at once) are an error at the
    /// second's `@`: reading either would replay what the kernel did not do.
    func probeStart(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(LogError) -> Int? {
        var s = Self.index(of: 0x40, in: b, start, end - 1)
        while s + 1 < end && b[s + 1] != 0x54 { s = Self.index(of: 0x40, in: b, s + 1, end - 1) }
        guard s + 1 < end else { return nil }
        var other: Int?
        if s > start && b[s - 1] == 0x40 { other = s - 1 } else {
            let j = Self.index(of: 0x40, in: b, s + 1, end)
            if j < end { other = j }
        }
        if let other {
            let from = max(start, min(s, other) - 20)
            throw LogError(file: log.file, line: lineNo, column: (other == s - 1 ? s : other) - start + 1,
                           message: "two probe lines are mixed in this one: their characters interleave, as when more than one CPU prints at once; run the kernel with CPUS=1",
                           text: Self.visible(b, from, min(end, from + 200)))
        }
        return s + 2 < end && b[s + 2] == 0x20 ? s : nil
    }

    /// b[from..<to] as text with control characters shown as escapes.
    static func visible(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> String {
        String(decoding: b[from..<to], as: UTF8.self).unicodeScalars
            .map { $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
    }

    /// One line, b[start..<end] (end is its newline).
    mutating func line(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) throws(LogError) {
        lineNo += 1
        let lineEnd = Self.contentEnd(b, start, end)
        // The usual line: a probe from its first byte, read by the scanner. Its fields hold no
        // `@` (keys, numbers, and a satp's writer, one of two words), so no second probe is
        // mixed into it, and `probeStart`'s searches of the line for `@` are not needed. An
        // exec's path may hold one: such a line goes the long way.
        if lineEnd - start > 3, b[start] == 0x40, b[start + 1] == 0x54, b[start + 2] == 0x20,
           var p = ProbeScanner.scan(b, start + 3, Self.contentEnd(b, start + 3, lineEnd, blanks: true)),
           p.kind != .exec && p.kind != .execfail {
            p.line = lineNo
            append(p)
            return
        }
        if let at = try probeStart(b, start, lineEnd) {
            let probeEnd = Self.contentEnd(b, at + 3, lineEnd, blanks: true)
            var p: Probe
            if let fast = ProbeScanner.scan(b, at + 3, probeEnd) { p = fast } else {
                p = try KernelLog.parseProbe(b, at + 3, probeEnd, line: lineNo, file: log.file, column: at - start + 1)
            }
            p.line = lineNo
            append(p)
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
