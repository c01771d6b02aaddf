import Foundation
import Yams
import Support

/// The event limit applies to the expanded stream however it is reached: `repeat`, calls of
/// defined sequences, includes, or their products. Sizes are computed from the YAML before
/// anything is expanded (each define and included file sized once), so a few lines that would
/// expand to billions of events are refused in milliseconds, with a position.
extension ScenarioCompiler {
    /// `rel`, included from `file`, as a path relative to where xv6vm runs.
    static func includePath(_ rel: String, from file: String) -> String {
        let dir = (file as NSString).deletingLastPathComponent
        return standard(rel.hasPrefix("/") ? rel : (dir as NSString).appendingPathComponent(rel))
    }

    /// Events `seq` (written in `file`) expands to, saturating at Int.max.
    mutating func expandedSize(_ seq: Node.Sequence, in file: String) -> Int {
        var n = 0
        for item in seq { n = Self.add(n, itemSize(item, in: file)) }
        return n
    }

    /// Events one item of an events list expands to: a repeat its count times its body, a call
    /// of a defined sequence or an include what their events expand to, any other item one.
    mutating func itemSize(_ item: Node, in file: String) -> Int {
        guard let m = item.mapping, let first = m.first, let name = first.key.scalar?.string else { return 1 }
        if name == "repeat" {
            let count = first.value.scalar.flatMap { parseInteger($0.string) }.map { $0.negative ? 0 : Int(clamping: $0.magnitude) } ?? 0
            let body = m.first { $0.key.scalar?.string == "events" }?.value.sequence
            return Self.multiply(count, body.map { expandedSize($0, in: file) } ?? 0)
        }
        guard m.count == 1 else { return 1 }
        if name == "include" {
            guard let rel = first.value.scalar?.string, !rel.isEmpty else { return 1 }
            let path = Self.includePath(rel, from: file)
            return memoized("include " + path) { me in
                guard let top = me.composeForSizing(path)?.mapping else { return 1 }
                for (k, v) in top where k.scalar?.string == "define" { me.defineAhead(v, file: path) }
                guard let events = top.first(where: { $0.key.scalar?.string == "events" })?.value.sequence else { return 0 }
                return me.expandedSize(events, in: path)
            }
        }
        if let seq = sequences[name] ?? definedAhead[name] {
            return memoized("define " + name) { me in me.expandedSize(seq.events, in: seq.file) }
        }
        return 1
    }

    /// A size computed once per key; while it is being computed (a cycle) it counts as one
    /// event, and compiling reports the cycle.
    mutating func memoized(_ key: String, _ compute: (inout ScenarioCompiler) -> Int) -> Int {
        if let n = sizeMemo[key] { return n }
        sizeMemo[key] = 1
        let n = compute(&self)
        sizeMemo[key] = n
        return n
    }

    /// An included file's YAML, composed once; nil when it cannot be read or parsed (include
    /// reports why when it gets there).
    mutating func composeForSizing(_ path: String) -> Node? {
        if let cached = composedIncludes[path] { return cached }
        var root: Node?
        if case .success(let bytes) = readOnce(path), countBytes(path, bytes.count),
           let text = String(validating: bytes, as: UTF8.self) {
            let saved = (file, lines, source)
            (file, lines, source) = (path, text.split(separator: "\n", omittingEmptySubsequences: false), text)
            if nestingProblem() == nil { root = try? Yams.compose(yaml: text) }
            (file, lines, source) = saved
            var budget = Self.nodeLimit
            if let r = root, !Self.fits(r, &budget) { root = nil }
        }
        composedIncludes[path] = .some(root)
        return root
    }

    /// An included file's bytes, read once however often it is sized and included: a FIFO
    /// can be read only once, and one nobody writes to makes each read wait.
    mutating func readOnce(_ path: String) -> Result<[UInt8], ReadProblem> {
        if let r = filesRead[path] { return r }
        let r = Self.readBounded(path)
        filesRead[path] = r
        return r
    }

    /// The sequences an included file defines, for sizing calls of them before it is included.
    mutating func defineAhead(_ node: Node, file: String) {
        for (k, v) in node.mapping ?? Node.Mapping([]) {
            guard let name = k.scalar?.string, sequences[name] == nil, definedAhead[name] == nil,
                  let events = v.mapping?.first(where: { $0.key.scalar?.string == "events" })?.value.sequence else { continue }
            definedAhead[name] = NamedSequence(params: [], events: events, file: file, lines: [])
        }
    }

    /// Refuses, before expanding any of it, a scenario's events list that expands beyond
    /// `eventLimit`, at the item where the total passes it. Returns whether it refused.
    mutating func refuseOverLimit(_ seq: Node.Sequence) -> Bool {
        var total = events.count
        for item in seq {
            let size = itemSize(item, in: file)
            total = Self.add(total, size)
            guard total > Self.eventLimit else { continue }
            func shown(_ n: Int) -> String { n == Int.max ? "more than 2^63" : String(n) }
            let m = item.mapping
            let name = m?.first?.key.scalar?.string
            let (what, at): (String, Node?) = switch name {
            case "repeat": ("repeat", m?.first?.value)
            case "include": ("include \(m?.first?.value.scalar?.string ?? "")", m?.first?.key)
            case let n? where m?.count == 1 && (sequences[n] != nil || definedAhead[n] != nil): ("`\(n)`", m?.first?.key)
            default: ("the events", item)
            }
            // "in all" only when it is the events before that take it over the limit.
            let soFar = size <= Self.eventLimit ? " (\(shown(total)) in all by here)" : ""
            if what == "the events" {
                error(item, "the events expand to \(shown(total)) by here; the limit is \(Self.eventLimit) per scenario")
            } else {
                error(at ?? item, "\(what) expands to \(shown(size)) events\(soFar); the limit is \(Self.eventLimit) per scenario")
            }
            return true
        }
        return false
    }

    /// Counts a file's bytes once; false when the files read so far pass `fileSizeLimit` in all.
    mutating func countBytes(_ path: String, _ n: Int) -> Bool {
        if bytesRead[path] == nil { bytesRead[path] = n }
        return bytesRead.values.reduce(0, +) <= Self.fileSizeLimit
    }

    static func add(_ a: Int, _ b: Int) -> Int { let (s, o) = a.addingReportingOverflow(b); return o ? Int.max : s }
    static func multiply(_ a: Int, _ b: Int) -> Int { let (p, o) = a.multipliedReportingOverflow(by: b); return o ? Int.max : p }
}
