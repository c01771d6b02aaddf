/// `text` broken at spaces into lines of at most `width` columns: the first indented by
/// `indent`, the others by `indent + hang`. A word longer than a line stands alone.
func folded(_ text: String, indent: Int = 0, hang: Int = 4, width: Int = 80) -> [String] {
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
