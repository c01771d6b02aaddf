import Foundation
import Yams
import Support

/// What expands to events: `define`d sequences and their calls, `include`d files, `repeat`.
extension ScenarioCompiler {
    // MARK: reuse: named sequences and included files

    /// A `define`d sequence: its parameters, its events, and the file they are written in.
    package struct NamedSequence {
        var params: [String]
        var events: Node.Sequence
        var file: String
        var lines: [Substring]
    }

    /// `define: {NAME: {params: [a, b], events: [...]}}`: sequences a scenario calls like events.
    mutating func define(_ node: Node) {
        guard let m = node.mapping else { error(node, "expected named sequences: `define: {spawn: {params: [parent, child], events: [...]}}`"); return }
        for (k, v) in m {
            guard let name = k.scalar?.string, processName(k) != nil else { error(k, "expected a sequence name (letters, digits, - and _)"); continue }
            if EventSpec.named[name] != nil || name == "include" { error(k, "'\(name)' is an event; a sequence needs another name"); continue }
            if sequences[name] != nil { error(k, "the sequence '\(name)' is defined twice"); continue }
            guard let body = v.mapping else { error(v, "expected {params: [...], events: [...]}"); continue }
            var params: [String] = []
            var events: Node.Sequence?
            for (bk, bv) in body {
                switch key(bk, allowed: ["params", "events"]) {
                case "params":
                    if let seq = bv.sequence { params = seq.compactMap { p in processName(p) ?? { error(p, "expected a parameter name"); return nil }() } } else { error(bv, "expected a list of parameter names, e.g. [parent, child]") }
                case "events":
                    if let seq = bv.sequence { events = seq } else { error(bv, "expected a list of events") }
                default: break
                }
            }
            guard let events else { error(v, "the sequence '\(name)' needs `events`"); continue }
            sequences[name] = NamedSequence(params: params, events: events, file: file, lines: lines)
        }
    }

    /// `- NAME: {param: value, ...}`: the sequence's events with `$param` replaced by the values.
    mutating func call(_ seq: NamedSequence, _ name: String, _ arg: Node, _ at: Node) {
        // A sequence that calls itself, directly or through others, is refused at the first
        // call that closes the cycle: expanding it to the depth limit multiplied every call
        // by the calls beside it (three calls of itself made 3^16 expansions, a hang).
        if let first = callStack.firstIndex(of: name) {
            error(at, "`\(name)` calls itself (\((callStack[first...] + [name]).joined(separator: " > "))); a sequence cannot call itself, directly or through others")
            return
        }
        if callDepth >= 16 { error(at, "sequences call each other more than 16 deep"); return }
        var values: [String: Node] = [:]
        if let m = arg.mapping {
            for (k, v) in m {
                guard let p = key(k, allowed: seq.params) else { continue }
                if v.scalar == nil { error(v, "expected a value for `\(p)` (a name, a number or a string)"); continue }
                values[p] = v
            }
        } else if !(arg.scalar?.string ?? "").isEmpty || !seq.params.isEmpty {
            error(arg, "`\(name)` takes a mapping of its parameters: {\(seq.params.map { "\($0): ..." }.joined(separator: ", "))}")
            return
        }
        let missing = seq.params.filter { values[$0] == nil }
        if !missing.isEmpty { error(at, "`\(name)` needs \(missing.map { "`\($0)`" }.joined(separator: ", "))"); return }
        let saved = (file, lines)
        (file, lines) = (seq.file, seq.lines)
        callDepth += 1
        callStack.append(name)
        for item in seq.events { parseEvent(Self.substitute(item, values)) }
        callStack.removeLast()
        callDepth -= 1
        (file, lines) = saved
    }

    /// A copy of `node` with every scalar `$p` replaced by the value given for `p` (keeping
    /// the value's position, so errors point at the call), and `${p}` inside text spliced.
    static func substitute(_ node: Node, _ values: [String: Node]) -> Node {
        switch node {
        case .scalar(let sc):
            let text = sc.string
            if text.hasPrefix("$"), let v = values[String(text.dropFirst())] { return v }
            guard text.contains("${") else { return node }
            var out = text
            for (k, v) in values { out = out.replacingOccurrences(of: "${\(k)}", with: v.scalar?.string ?? "") }
            return .scalar(Node.Scalar(out, sc.tag, sc.style, sc.mark))
        case .mapping(let m):
            return .mapping(Node.Mapping(m.map { (substitute($0.key, values), substitute($0.value, values)) }, m.tag, m.style, m.mark))
        case .sequence(let seq):
            return .sequence(Node.Sequence(seq.map { substitute($0, values) }, seq.tag, seq.style, seq.mark))
        default:
            return node
        }
    }

    /// `- include: FILE`: the events (and `define`s) of another file, relative to this one.
    mutating func include(_ arg: Node, _ at: Node) {
        guard let rel = arg.scalar?.string, !rel.isEmpty else { error(arg, "expected a file to include, e.g. `include: common/shell.yaml`"); return }
        let path = Self.includePath(rel, from: file)
        // The same file under another name (a symbolic link, `..` through one) is a cycle too:
        // compared by device and inode, not only by path.
        let id = Self.fileID(path)
        if includeStack.contains(path) || path == (ScenarioCompiler.standard(file))
            || (id != nil && (includeIDs.contains(id!) || id == rootID)) {
            error(arg, "include cycle: \(rel) includes itself, directly or through other files")
            return
        }
        if includeStack.count >= 16 { error(arg, "includes nest more than 16 deep"); return }
        if let missing = FileStatus.missingReason(path) { error(arg, "cannot include \(rel): \(missing)"); return }
        let bytes: [UInt8]
        switch readOnce(path) {
        case .success(let b): bytes = b
        case .failure(let problem): error(arg, "cannot include \(rel): \(problem.message)"); return
        }
        if !countBytes(path, bytes.count) {
            error(arg, "cannot include \(rel): the scenario and the files it includes are larger than \(Self.fileSizeLimit >> 20) MiB in all")
            return
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            report(Diagnostic(Self.firstInvalidUTF8(bytes, file: path), "the file is not valid UTF-8"))
            return
        }
        let saved = (file, lines, source)
        (file, lines, source) = (path, text.split(separator: "\n", omittingEmptySubsequences: false), text)
        includeStack.append(path)
        if let id { includeIDs.append(id) }
        defer { includeStack.removeLast(); if id != nil { includeIDs.removeLast() }; (file, lines, source) = saved }
        if let d = nestingProblem() { report(d); return }
        let root: Node?
        if let cached = composedIncludes[path], let r = cached {
            root = r
        } else {
            do { root = try Yams.compose(yaml: text) } catch let e as YamlError { report(yamlDiagnostic(e)); return } catch { return }
        }
        var budget = Self.nodeLimit
        guard let root, Self.fits(root, &budget), let top = root.mapping else {
            error(root, "expected a mapping with an `events` list in an included file")
            return
        }
        for (k, v) in top where k.scalar?.string == "define" { define(v) }
        for (k, v) in top {
            switch key(k, allowed: ["events", "define", "description"]) {
            case "events":
                if let seq = v.sequence { for item in seq { parseEvent(item) } } else { error(v, "expected a list of events") }
            default: break
            }
        }
    }

    /// `path` with `.` and `..` resolved lexically (relative paths stay relative).
    package static func standard(_ path: String) -> String {
        var parts: [Substring] = []
        for c in path.split(separator: "/", omittingEmptySubsequences: true) {
            if c == "." { continue }
            if c == "..", let last = parts.last, last != ".." { parts.removeLast() } else { parts.append(c) }
        }
        return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }

    /// `path` relative to the directory whose components are `dir` (both standardised).
    static func relative(_ path: String, from dir: [String]) -> String {
        let p = path.split(separator: "/").map(String.init)
        var common = 0
        while common < dir.count && common < p.count - 1 && dir[common] == p[common] { common += 1 }
        return (Array(repeating: "..", count: dir.count - common) + p[common...]).joined(separator: "/")
    }

    // MARK: repeat

    /// `- repeat: N` with `events:` beside it: the events, N times. Names bound in a round
    /// belong to that round. Refused before expansion when it would exceed `eventLimit`.
    mutating func repeatEvents(_ m: Node.Mapping, _ node: Node) {
        var count: UInt64?
        var body: Node.Sequence?
        var countNode: Node = node
        for (k, v) in m {
            switch key(k, allowed: EventSpec.repeatEvents.keys) {
            case "repeat": countNode = v; count = integer(v, 0...UInt64.max)
            case "events":
                if let seq = v.sequence { body = seq } else { error(v, "expected a list of events to repeat") }
            default: break
            }
        }
        guard let count, let body else {
            if body == nil && count != nil { error(node, "`repeat: N` needs `events:` beside it, at the same indentation: the events to repeat") }
            return
        }
        let size = expandedSize(body, in: file)
        let total = UInt64(size).multipliedReportingOverflow(by: count)
        if total.overflow || UInt64(events.count) + total.partialValue > UInt64(Self.eventLimit) {
            error(countNode, "repeat expands to \(total.overflow ? "more than 2^64" : String(total.partialValue)) events; the limit is \(Self.eventLimit) per scenario")
            return
        }
        let before = errorCount
        // A body that expands to no events (only `repeat: 0`, empty sequences or included
        // files with no events) makes nothing in any round: one round finds its problems.
        // Running all of them took 4 billion rounds of nothing for `repeat: 4294967296`.
        for round in 0..<(size == 0 ? min(count, 1) : count) {
            let names = table.names
            rounds.append((Int(clamping: round) + 1, Int(clamping: count)))
            let first = events.count
            for item in body { parseEvent(item) }
            let path = rounds.map { "\($0.0)/\($0.1)" }.joined(separator: " > ")
            for i in first..<events.count where events[i].rounds.isEmpty {
                events[i].label += " [round \(path)]"
                events[i].rounds = rounds.map { Round(round: $0.0, count: $0.1) }
            }
            rounds.removeLast()
            table.restoreNames(names)
            if errorCount > before { break }          // report a round's problems once
        }
    }
}
