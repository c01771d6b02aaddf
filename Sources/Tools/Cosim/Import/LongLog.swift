import Foundation
import XV6
import RISCV
import Support
import Scenario
import Run
import CosimLog

/// A long log made from a real one, for measuring replay on logs of any length: the real
/// log up to a block of its lines (a steady part, such as the shell running one command),
/// then that block again and again. Each copy is the block as the same kernel would print it
/// later: the processes it makes get new pids, and the pages it allocates are those xv6's
/// free list hands out then (kinit's list, followed through every kalloc and kfree), so the
/// model agrees with every copy as it does with the block.
public struct LongLog {
    /// A piece of a block's line: text as it is, a pid, or a physical address.
    package enum Piece {
        case text([UInt8])
        case pid(Int)
        case page(UInt64, Use)
    }
    package enum Use { case alloc, free, other }

    let head: [UInt8]
    let block: [[Piece]]
    /// The lines after the block, written after the last copy (as a copy of its own).
    let tail: [[Piece]]
    var free: [UInt64]
    let firstPid: Int
    let pidSpan: Int

    /// The log at `path` (text or `.xz`), whose lines `lines` (1-based, inclusive) are the
    /// block. The block must free every page it allocates and make pids in one run.
    public init(path: String, lines: ClosedRange<Int>) throws(LogError) {
        let text = try Self.text(path)
        let path = (path as NSString).lastPathComponent
        let config = LogImporter.guessConfig(try KernelLog.parse(text, file: path))
        var starts = [0]
        for (i, b) in text.enumerated() where b == 0x0A { starts.append(i + 1) }
        guard lines.lowerBound >= 1, lines.upperBound < starts.count else {
            throw LogError(file: path, line: 0, column: 0, message: "the log has \(starts.count - 1) lines: no lines \(lines)")
        }
        func line(_ n: Int) -> ArraySlice<UInt8> { text[starts[n - 1]..<starts[n]] }
        head = Array(text[..<starts[lines.lowerBound - 1]])
        // kinit frees every page from the end of the kernel to PHYSTOP in turn: the last is on top.
        free = Array(stride(from: pageRoundUp(config.image.end), to: config.image.phystop, by: Int(pageSize)))
        var pids: [Int] = []
        var parsed: [[Piece]] = []
        for n in lines { parsed.append(Self.pieces(line(n), &pids)) }
        block = parsed
        var after: [[Piece]] = []
        var none: [Int] = []
        for n in (lines.upperBound + 1)..<starts.count where starts[n] > starts[n - 1] { after.append(Self.pieces(line(n), &none)) }
        tail = after
        firstPid = pids.min() ?? 0
        pidSpan = pids.count
        guard pidSpan == 0 || pids.max()! - firstPid + 1 == pidSpan else {
            throw LogError(file: path, line: lines.lowerBound, column: 1, message: "the block's new pids are not one run: \(pids)")
        }
        // Follow the free list through the head and the block as they are.
        var n = 0
        for l in 1..<lines.lowerBound { n = l; try follow(line(l), path: path, line: n) }
        var taken: Set<UInt64> = []
        for l in lines {
            for p in Self.pieces(line(l), &pids) {
                if case .page(let pa, .alloc) = p { taken.insert(pa) }
                if case .page(let pa, .free) = p { taken.remove(pa) }
            }
            try follow(line(l), path: path, line: l)
        }
        if let kept = taken.min() {
            throw LogError(file: path, line: lines.upperBound, column: 1, message: "the block keeps page \(hex16(kept)) it allocates: a copy could not follow it")
        }
    }

    /// Pops or pushes the free list as a probe line of the real log does, checking its kallocs.
    private mutating func follow(_ line: ArraySlice<UInt8>, path: String, line n: Int) throws(LogError) {
        var none: [Int] = []
        for p in Self.pieces(line, &none) {
            switch p {
            case .page(let pa, .alloc) where pa != 0:
                guard free.last == pa else {
                    throw LogError(file: path, line: n, column: 1, message: "kalloc returns \(hex16(pa)), not the free list's top \(free.last.map(hex16) ?? "(empty)")")
                }
                free.removeLast()
            case .page(let pa, .free): free.append(pa)
            default: break
            }
        }
    }

    /// The log: its head, the block, and `copies` more copies of it, handed to `write` in
    /// pieces of about 1 MiB.
    public mutating func write(copies: Int, _ write: ([UInt8]) throws -> Void) rethrows {
        var out = head
        for b in block { for p in b { render(p, 0, [:], &out) } }
        // Each copy of the block, then the lines after it (pids renumbered as the last copy's).
        for round in 1...(copies + 1) {
            let lines = round <= copies ? block : tail
            let copy = min(round, copies)
            var rename: [UInt64: UInt64] = [:]
            for line in lines {
                for p in line {
                    switch p {
                    case .text(let t): out.append(contentsOf: t)
                    case .page(let pa, .alloc) where pa != 0:
                        let page = free.removeLast()
                        rename[pa] = page
                        render(.page(page, .other), copy, [:], &out)
                    case .page(let pa, .free):
                        let page = rename.removeValue(forKey: pa & ~0xfff).map { $0 | pa & 0xfff } ?? pa
                        free.append(page)
                        render(.page(page, .other), copy, [:], &out)
                    default: render(p, copy, rename, &out)
                    }
                }
                if out.count >= 1 << 20 { try write(out); out.removeAll(keepingCapacity: true) }
            }
        }
        try write(out)
    }

    private func render(_ p: Piece, _ copy: Int, _ rename: [UInt64: UInt64], _ out: inout [UInt8]) {
        switch p {
        case .text(let t): out.append(contentsOf: t)
        case .pid(let pid): out.append(contentsOf: String(pid >= firstPid && pidSpan > 0 ? pid + copy * pidSpan : pid).utf8)
        case .page(let pa, _):
            let page = rename[pa & ~0xfff].map { $0 | pa & 0xfff } ?? pa
            out.append(contentsOf: hex16(page).utf8)
        }
    }

    /// A line cut into text, pids (`pid=`, `to=`, `from=`, `parent=`, `child=`, `reaped=`)
    /// and addresses (`pa=`, `pt=`); `pids` gathers those `allocproc` makes.
    static func pieces(_ line: ArraySlice<UInt8>, _ pids: inout [Int]) -> [Piece] {
        guard let at = line.firstRange(of: Array("@T ".utf8)) else { return [.text(Array(line))] }
        let words = line[at.upperBound...].split(separator: 0x20, omittingEmptySubsequences: false)
        let kind = String(decoding: words.first ?? [], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        var out: [Piece] = [.text(Array(line[..<at.upperBound]))]
        for (i, w) in words.enumerated() {
            if i > 0 { out.append(.text([0x20])) }
            let s = String(decoding: w, as: UTF8.self)
            guard let eq = s.firstIndex(of: "="), i > 0 else { out.append(.text(Array(w))); continue }
            let key = String(s[..<eq]), value = s[s.index(after: eq)...]
            let digits = value.prefix { !$0.isWhitespace }, rest = value.dropFirst(digits.count)
            if ["pid", "to", "from", "parent", "child", "reaped"].contains(key), let n = Int(digits), n >= 0 {
                if kind == "allocproc" { pids.append(n) }
                out.append(.text(Array((key + "=").utf8))); out.append(.pid(n)); out.append(.text(Array(rest.utf8)))
            } else if ["pa", "pt"].contains(key), digits.hasPrefix("0x"), let v = UInt64(digits.dropFirst(2), radix: 16) {
                let use: Use = kind == "kalloc" ? .alloc : kind == "kfree" ? .free : .other
                out.append(.text(Array((key + "=").utf8))); out.append(.page(v, use)); out.append(.text(Array(rest.utf8)))
            } else {
                out.append(.text(Array(w)))
            }
        }
        return out
    }

    /// The log's text, decompressed.
    package static func text(_ path: String) throws(LogError) -> [UInt8] {
        let chunks = try KernelLog.open(path: path)
        defer { chunks.cancel() }
        var text: [UInt8] = []
        while let chunk = try chunks.next() { text += chunk }
        return text
    }
}
