import Foundation

/// A minimal line diff of two texts, shown as `diff -u` shows it: hunks with
/// `@@ -a,b +c,d @@` headers and 3 lines of context, only the lines that really differ
/// marked `-` or `+`.
///
/// Kept rather than the standard library's `CollectionDifference` (also Myers'), measured in
/// release on a 136 MB, 1.9-million-line trace of the imported pgtbl reparent2 log: 5 lines
/// changed, 2.1 s here against 6.0 s (`difference(from:)` on the middle's lines, then this
/// file's shifting and hunks); 40 changed, 1.3 s against 5.2 s; the worst case, every third
/// line of 20,000 changed, 0.10 s against 25 s, and the whole trace so changed, 5 s here
/// (the budget) where `CollectionDifference` needs O(N·D) time and memory. The hunks were
/// the same in every case.
///
/// Memory stays proportional to the part that differs: the common prefix and suffix are
/// found byte by byte and never split into lines; only the middle (with some context) is
/// indexed, and Myers' algorithm runs on it with at most `maxEdits` edits per pass, so its
/// history is bounded. A middle that needs more passes than `budget` allows is finished
/// as one block of removed and added lines, and `minimal` says so.
public struct LineDiff: Equatable, Sendable {
    /// One hunk: its header's numbers (as `diff -u` prints them) and its lines, each with
    /// its mark (" ", "-", "+").
    public struct Hunk: Equatable, Sendable {
        public var oldStart: Int, oldCount: Int, newStart: Int, newCount: Int
        public var lines: [String]
        package init(oldStart: Int, oldCount: Int, newStart: Int, newCount: Int, lines: [String]) {
            self.oldStart = oldStart; self.oldCount = oldCount; self.newStart = newStart; self.newCount = newCount; self.lines = lines
        }

        /// `@@ -374,7 +374,6 @@`: a count of 1 is left out, and an empty range names the line before it.
        public var header: String {
            func range(_ start: Int, _ count: Int) -> String {
                count == 1 ? "\(start)" : "\(count == 0 ? start - 1 : start),\(count)"
            }
            return "@@ -\(range(oldStart, oldCount)) +\(range(newStart, newCount)) @@"
        }
    }

    /// The hunks kept (the first `maxHunks`, within `maxLines` lines in all).
    public var hunks: [Hunk]
    /// Every hunk, kept or not.
    public var hunkCount: Int
    /// Lines removed and added over the whole diff.
    public var removed: Int, added: Int
    /// Lines of the hunks kept that were cut off to stay within `maxLines` (the last kept hunk's).
    public var linesCut: Int
    /// Removed and added lines per kind (a trace line's first word), in the order each kind
    /// first appears in the diff.
    public var kinds: [(kind: String, removed: Int, added: Int)]
    /// 1-based line of the first difference, in the old text and in the new (nil if equal).
    public var firstOld: Int?, firstNew: Int?
    /// False when the budget ran out and the rest was shown as one block.
    public var minimal: Bool

    public static func == (a: LineDiff, b: LineDiff) -> Bool {
        a.hunks == b.hunks && a.hunkCount == b.hunkCount && a.removed == b.removed && a.added == b.added
            && a.linesCut == b.linesCut && a.firstOld == b.firstOld && a.firstNew == b.firstNew && a.minimal == b.minimal
            && a.kinds.map(\.kind) == b.kinds.map(\.kind) && a.kinds.map(\.removed) == b.kinds.map(\.removed)
            && a.kinds.map(\.added) == b.kinds.map(\.added)
    }

    public var isEmpty: Bool { hunkCount == 0 }

    /// The unified diff's body: every kept hunk's header and lines, with `--- OLD` and
    /// `+++ NEW` first when names are given.
    public func unified(old: String? = nil, new: String? = nil) -> [String] {
        var out: [String] = []
        if let old, let new { out += ["--- " + old, "+++ " + new] }
        for h in hunks { out.append(h.header); out += h.lines }
        return out
    }

    /// Compares `old` with `new`. `kind` names a line's kind for `kinds` (by default its first
    /// word; a trace's reader knows better).
    public static func compute(old: [UInt8], new: [UInt8], context: Int = 3, maxHunks: Int = 10, maxLines: Int = 200,
                               maxEdits: Int = 1024, budget: Int = 200_000_000,
                               kind: @escaping (ArraySlice<UInt8>) -> String = firstWord) -> LineDiff {
        var engine = Engine(a: old, b: new, context: context, maxEdits: maxEdits, budget: budget, kind: kind)
        return engine.run(maxHunks: maxHunks, maxLines: maxLines)
    }
}

extension LineDiff {
    /// A line's first word, `blank` for an empty line.
    public static func firstWord(_ line: ArraySlice<UInt8>) -> String {
        let word = line.prefix { $0 != UInt8(ascii: " ") }
        return word.isEmpty ? "blank" : String(decoding: word, as: UTF8.self)
    }
}

private let newline = UInt8(ascii: "\n")

/// The lines of one side's window: byte ranges into the text, their hashes, and whether each changed.
private struct Window {
    let text: [UInt8]
    /// Start offset of each line, and one past the end of the last.
    var starts: [Int] = []
    var hashes: [UInt64] = []
    /// `changed[i + 1]` for line i; entries 0 and count + 1 are sentinels (false), as in GNU diff.
    var changed: [Bool] = []
    /// 1-based number of the window's first line in the whole text.
    var firstLine = 1
    /// Whether the text's last line has no newline, and it is in the window.
    var lastLineUnterminated = false

    package init(_ text: [UInt8], from: Int, to: Int, firstLine: Int) {
        self.text = text
        self.firstLine = firstLine
        var i = from
        while i < to {
            starts.append(i)
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            while i < to && text[i] != newline { h = (h ^ UInt64(text[i])) &* 0x100_0000_01b3; i += 1 }
            hashes.append(h)
            if i < to { i += 1 } else { lastLineUnterminated = true }
        }
        starts.append(to)
        changed = Array(repeating: false, count: hashes.count + 2)
    }

    var count: Int { hashes.count }

    /// Line i without its newline.
    func bytes(_ i: Int) -> ArraySlice<UInt8> {
        var end = starts[i + 1]
        if end > starts[i] && text[end - 1] == newline { end -= 1 }
        return text[starts[i]..<end]
    }

    func string(_ i: Int) -> String { String(decoding: bytes(i), as: UTF8.self) }

    /// Whether line i equals the other window's line j, newline included (a last line without
    /// one differs from the same text with one, as in `diff`).
    func same(_ i: Int, _ other: Window, _ j: Int) -> Bool {
        guard hashes[i] == other.hashes[j] else { return false }
        let n = starts[i + 1] - starts[i]
        guard n == other.starts[j + 1] - other.starts[j] else { return false }
        return text.sameBytes(at: starts[i], as: other.text, at: other.starts[j], count: n)
    }

}

private struct Engine {
    let a: [UInt8], b: [UInt8]
    let context: Int, maxEdits: Int
    var budget: Int
    var minimal = true
    let kind: (ArraySlice<UInt8>) -> String

    package init(a: [UInt8], b: [UInt8], context: Int, maxEdits: Int, budget: Int, kind: @escaping (ArraySlice<UInt8>) -> String) {
        self.a = a; self.b = b; self.context = context; self.maxEdits = maxEdits; self.budget = budget; self.kind = kind
    }

    mutating func run(maxHunks: Int, maxLines: Int) -> LineDiff {
        let none = LineDiff(hunks: [], hunkCount: 0, removed: 0, added: 0, linesCut: 0, kinds: [], firstOld: nil, firstNew: nil, minimal: true)
        if a.count == b.count && a.sameBytes(at: 0, as: b, at: 0, count: a.count) { return none }
        // The common prefix, back to a line start; the common suffix, forward to one, not overlapping it.
        var p = 0
        let n = min(a.count, b.count)
        while p < n && a[p] == b[p] { p += 1 }
        while p > 0 && a[p - 1] != newline { p -= 1 }
        var s = 0
        while s < n - p && a[a.count - 1 - s] == b[b.count - 1 - s] { s += 1 }
        func lineStart(_ t: [UInt8], _ i: Int) -> Bool { i == 0 || t[i - 1] == newline }
        while s > 0 && !(lineStart(a, a.count - s) && lineStart(b, b.count - s)) { s -= 1 }
        // Widen the middle by some equal lines each side, for context and for sliding changes.
        let margin = max(context, 50)
        var from = p, back = 0
        while back < margin && from > 0 {
            from -= 1
            while from > 0 && a[from - 1] != newline { from -= 1 }
            back += 1
        }
        var toA = a.count - s, toB = b.count - s, ahead = 0
        while ahead < margin && toA < a.count {
            while toA < a.count && a[toA] != newline { toA += 1; toB += 1 }
            if toA < a.count { toA += 1; toB += 1 }
            ahead += 1
        }
        var firstLine = 1
        for i in 0..<from where a[i] == newline { firstLine += 1 }
        var x = Window(a, from: from, to: toA, firstLine: firstLine)
        var y = Window(b, from: from, to: toB, firstLine: firstLine)
        compare(&x, &y)
        shift(&x, y)
        shift(&y, x)
        return hunks(x, y, maxHunks: maxHunks, maxLines: maxLines)
    }

    /// Marks the lines of `x` and `y` that differ: Myers' greedy algorithm, at most `maxEdits`
    /// edits per pass; a pass that reaches it keeps the edits on its furthest path and the next
    /// pass starts from there.
    mutating func compare(_ x: inout Window, _ y: inout Window) {
        var i = 0, j = 0
        let n = x.count, m = y.count
        while true {
            while i < n && j < m && x.same(i, y, j) { i += 1; j += 1 }
            if i == n || j == m || budget <= 0 { break }
            // Pass from (i, j): V[k] is the furthest x on diagonal k = x - y (relative); history keeps each d's V.
            let limit = maxEdits
            var history: [Int32] = []
            history.reserveCapacity(64)
            var v = [Int32](repeating: 0, count: 2 * limit + 3)
            let off = limit + 1
            var end: (d: Int, k: Int)? = nil
            var d = 0
            while d <= limit {
                var k = -d
                while k <= d {
                    var px: Int
                    if k == -d || (k != d && v[off + k - 1] < v[off + k + 1]) { px = Int(v[off + k + 1]) } else { px = Int(v[off + k - 1]) + 1 }
                    var py = px - k
                    while i + px < n && j + py < m && x.same(i + px, y, j + py) { px += 1; py += 1; budget -= 1 }
                    v[off + k] = Int32(px)
                    budget -= 1
                    if i + px >= n && j + py >= m { end = (d, k); break }
                    k += 2
                }
                history.append(contentsOf: v[(off - d)...(off + d)])
                if end != nil || d == limit || budget <= 0 { break }
                d += 1
            }
            // Where this pass ends: at both ends, or the furthest point reached (most of x + y).
            var (ed, ek) = end ?? (d, 0)
            if end == nil {
                var best = -1
                for k in stride(from: -ed, through: ed, by: 2) {
                    let px = Int(v[off + k]), py = px - k
                    if px <= n - i && py <= m - j && py >= 0 && px + py > best { best = px + py; ek = k }
                }
            }
            // Walk back through the history, marking the edits.
            func vAt(_ d: Int, _ k: Int) -> Int { Int(history[d * d + (k + d)]) }
            var cx = vAt(ed, ek), ck = ek
            let stopX = i + cx, stopY = j + cx - ek
            var dd = ed
            while dd > 0 {
                let prevK = (ck == -dd || (ck != dd && vAt(dd - 1, ck - 1) < vAt(dd - 1, ck + 1))) ? ck + 1 : ck - 1
                let prevX = vAt(dd - 1, prevK), prevY = prevX - prevK
                if prevK == ck + 1 { y.changed[j + prevY + 1] = true } else { x.changed[i + prevX + 1] = true }
                cx = prevX; ck = prevK; dd -= 1
            }
            i = stopX; j = stopY
            if budget <= 0 { break }
        }
        if i < n || j < m {
            if i < n && j < m { minimal = false }
            for t in i..<n { x.changed[t + 1] = true }
            for t in j..<m { y.changed[t + 1] = true }
        }
    }

    /// GNU diff's `shift_boundaries`: slide each run of changed lines as far down as it goes,
    /// merging with neighbouring runs, then back to where it lines up with a run in the other
    /// file, so that the result is the one `diff -u` prints.
    func shift(_ f: inout Window, _ o: Window) {
        let other = o.changed
        let end = f.count
        // Indices below are of lines; changed[] has a sentinel before line 0.
        func ch(_ i: Int) -> Bool { f.changed[i + 1] }
        func oc(_ j: Int) -> Bool { other[j + 1] }
        func eq(_ p: Int, _ q: Int) -> Bool { f.same(p, f, q) }
        var i = 0, j = 0
        while true {
            while i < end && !ch(i) {
                while oc(j) { j += 1 }
                j += 1
                i += 1
            }
            if i == end { break }
            var start = i
            i += 1
            while ch(i) { i += 1 }
            while oc(j) { j += 1 }
            var runlength: Int
            var corresponding: Int
            repeat {
                runlength = i - start
                while start > 0 && eq(start - 1, i - 1) {
                    start -= 1; f.changed[start + 1] = true
                    i -= 1; f.changed[i + 1] = false
                    while ch(start - 1) { start -= 1 }
                    j -= 1
                    while oc(j) { j -= 1 }
                }
                corresponding = oc(j - 1) ? i : end
                while i != end && eq(start, i) {
                    f.changed[start + 1] = false; start += 1
                    f.changed[i + 1] = true; i += 1
                    while ch(i) { i += 1 }
                    j += 1
                    while oc(j) { j += 1; corresponding = i }
                }
            } while runlength != i - start
            while corresponding < i {
                start -= 1; f.changed[start + 1] = true
                i -= 1; f.changed[i + 1] = false
                j -= 1
                while oc(j) { j -= 1 }
            }
        }
    }

    /// Groups the marked lines into hunks with `context` lines around each, as `diff -u` does:
    /// changes closer than twice the context share a hunk.
    func hunks(_ x: Window, _ y: Window, maxHunks: Int, maxLines: Int) -> LineDiff {
        // The blocks: aligned runs (i0..<i1 in x, j0..<j1 in y) of changed lines.
        var blocks: [(i0: Int, i1: Int, j0: Int, j1: Int)] = []
        var i = 0, j = 0
        while i < x.count || j < y.count {
            if (i < x.count && x.changed[i + 1]) || (j < y.count && y.changed[j + 1]) {
                let i0 = i, j0 = j
                while i < x.count && x.changed[i + 1] { i += 1 }
                while j < y.count && y.changed[j + 1] { j += 1 }
                blocks.append((i0, i, j0, j))
            } else {
                i += 1; j += 1
            }
        }
        var kinds: [(kind: String, removed: Int, added: Int)] = []
        var kindIndex: [String: Int] = [:]
        func count(_ k: String, _ r: Int, _ a: Int) {
            if let at = kindIndex[k] { kinds[at].removed += r; kinds[at].added += a } else { kindIndex[k] = kinds.count; kinds.append((k, r, a)) }
        }
        var removed = 0, added = 0
        for bl in blocks {
            for t in bl.i0..<bl.i1 { count(kind(x.bytes(t)), 1, 0) }
            for t in bl.j0..<bl.j1 { count(kind(y.bytes(t)), 0, 1) }
            removed += bl.i1 - bl.i0; added += bl.j1 - bl.j0
        }
        // Hunks: runs of blocks whose gaps are at most 2 * context equal lines.
        var groups: [[Int]] = []
        for (n, bl) in blocks.enumerated() {
            if let last = groups.last?.last, bl.i0 - blocks[last].i1 <= 2 * context { groups[groups.count - 1].append(n) } else { groups.append([n]) }
        }
        var out: [LineDiff.Hunk] = []
        var shown = 0, cut = 0
        for g in groups where out.count < maxHunks && shown < maxLines {
            let first = blocks[g.first!], last = blocks[g.last!]
            let lead = min(context, first.i0), trail = min(context, x.count - last.i1)
            let oi0 = first.i0 - lead, oi1 = last.i1 + trail
            let nj0 = first.j0 - lead, nj1 = last.j1 + trail
            // Lines past the room left are counted, never built: a hunk may be a million lines.
            let room = maxLines - shown
            var lines: [String] = [], over = 0
            func put(_ make: () -> String) { if lines.count < room { lines.append(make()) } else { over += 1 } }
            func add(_ mark: String, _ w: Window, _ t: Int) {
                put { mark + w.string(t) }
                if w.lastLineUnterminated && t == w.count - 1 { put { "\\ No newline at end of file" } }
            }
            var ci = oi0, cj = nj0
            for n in g {
                let bl = blocks[n]
                while ci < bl.i0 { add(" ", x, ci); ci += 1; cj += 1 }
                for t in bl.i0..<bl.i1 { add("-", x, t) }
                for t in bl.j0..<bl.j1 { add("+", y, t) }
                ci = bl.i1; cj = bl.j1
            }
            while ci < oi1 { add(" ", x, ci); ci += 1 }
            cut = over
            shown += lines.count
            out.append(.init(oldStart: x.firstLine + oi0, oldCount: oi1 - oi0, newStart: y.firstLine + nj0, newCount: nj1 - nj0, lines: lines))
        }
        return LineDiff(hunks: out, hunkCount: groups.count, removed: removed, added: added, linesCut: cut, kinds: kinds,
                        firstOld: blocks.first.map { x.firstLine + $0.i0 }, firstNew: blocks.first.map { y.firstLine + $0.j0 },
                        minimal: minimal)
    }
}
