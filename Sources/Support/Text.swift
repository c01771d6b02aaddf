/// `text` broken at spaces into lines of at most `width` columns: the first indented by
/// `indent`, the others by `indent + hang`. A word longer than a line stands alone.
public func folded(_ text: String, indent: Int = 0, hang: Int = 4, width: Int = 80) -> [String] {
    fold(text, indent: String(repeating: " ", count: indent), continuation: String(repeating: " ", count: indent + hang), width: width)
}

/// `word` as a shell reads it back: as it is when it has nothing the shell would act on,
/// else in single quotes (`leak:fork > allocproc` must not become a redirection).
package func shellQuoted(_ word: String) -> String {
    let plain = !word.isEmpty && word.unicodeScalars.allSatisfy {
        ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "_./:=,@%+-".unicodeScalars.contains($0)
    }
    return plain ? word : "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
}

/// `text` folded at spaces to `width` columns: the first line after `indent`, the rest after
/// `continuation` (the same indent if not given). A word longer than a line stays whole.
public func fold(_ text: String, indent: String, continuation: String? = nil, width: Int = 80) -> [String] {
    fold(units: text.split(separator: " ", omittingEmptySubsequences: false).map(String.init), indent: indent, continuation: continuation, width: width)
}

/// `units` joined by spaces and folded only between units (a unit is never split): the one
/// text wrapper, which `fold(_:indent:)`, `folded` and the sweep's table call.
public func fold(units: [String], indent: String, continuation: String? = nil, width: Int = 80) -> [String] {
    let more = continuation ?? indent
    var out: [String] = [], line = indent, empty = true
    for unit in units {
        if !empty && line.count + 1 + unit.count > width {
            out.append(line)
            line = more + unit
        } else {
            line += (empty ? "" : " ") + unit
        }
        empty = false
    }
    out.append(line)
    return out
}

/// `310,877`: thousands set apart with commas, as people read counts.
public func grouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
        out.append(c)
    }
    return (n < 0 ? "-" : "") + out
}

extension String {
    public var nonEmpty: String? { isEmpty ? nil : self }

    /// Right-aligned in `width` columns (never cut).
    public func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }

    /// Left-aligned in `width` columns (never cut), and followed by at least `gap` spaces: a
    /// column of 16 whose longer words still end in a space is `rightPadded(16, gap: 1)`.
    public func rightPadded(_ width: Int, gap: Int = 0) -> String { self + String(repeating: " ", count: max(width - count, gap)) }

    public func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}

/// `s` in double quotes.
public func quote(_ s: String) -> String { "\"" + s + "\"" }
