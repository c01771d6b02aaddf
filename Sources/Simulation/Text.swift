/// `text` broken at spaces into lines of at most `width` columns: the first indented by
/// `indent`, the others by `indent + hang`. A word longer than a line stands alone.
public func folded(_ text: String, indent: Int = 0, hang: Int = 4, width: Int = 80) -> [String] {
    var out: [String] = []
    var line = String(repeating: " ", count: indent)
    var empty = true
    for word in text.split(separator: " ", omittingEmptySubsequences: false) {
        if !empty && line.count + 1 + word.count > width {
            out.append(line)
            line = String(repeating: " ", count: indent + hang) + word
        } else {
            line += (empty ? "" : " ") + word
        }
        empty = false
    }
    out.append(line)
    return out
}

/// `word` as a shell reads it back: as it is when it has nothing the shell would act on,
/// else in single quotes (`leak:fork > allocproc` must not become a redirection).
func shellQuoted(_ word: String) -> String {
    let plain = !word.isEmpty && word.unicodeScalars.allSatisfy {
        ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "_./:=,@%+-".unicodeScalars.contains($0)
    }
    return plain ? word : "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
}
