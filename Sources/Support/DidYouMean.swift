/// " (did you mean 'kalloc'?)" for a misspelt `word`, or "" when no candidate is close: the
/// scenario compiler's and a kernel log's reader's suggestion, so it lives below them both.
package func didYouMean(_ word: String, _ candidates: [String]) -> String {
    closest(to: word, in: candidates).map { " (did you mean '\($0)'?)" } ?? ""
}

/// "did you mean" for a misspelt word (edit distance counting a swap of two neighbours as one edit): the closest candidate within a small edit distance.
func closest(to word: String, in candidates: [String]) -> String? {
    let limit = word.count <= 3 ? 1 : max(2, word.count / 3)
    var best: (String, Int)?
    for c in candidates {
        let d = editDistance(Array(word.lowercased()), Array(c.lowercased()))
        if d <= limit, best == nil || d < best!.1 { best = (c, d) }
    }
    return best?.0
}

private func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var before = Array(repeating: 0, count: b.count + 1)
    var prev = Array(0...b.count)
    var cur = prev
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { cur[j] = Swift.min(cur[j], before[j - 2] + 1) }
        }
        before = prev
        swap(&prev, &cur)
    }
    return prev[b.count]
}
