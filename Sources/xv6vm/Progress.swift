import Foundation

/// Writes a progress line on stderr when it is a terminal (never into pipes or files):
/// done, left, what was found so far, and an estimate of the time left. Runs that finish
/// out of order never make the count go back. Runs `resumed` from an earlier, interrupted
/// run count as done and are named, but the estimate comes from this run's pace alone.
final class Progress: @unchecked Sendable {
    let total: Int
    let resumed: Int
    let label: String
    let enabled: Bool
    private let lock = NSLock()
    private var shown = 0
    private var width = 0
    private let start = DispatchTime.now().uptimeNanoseconds

    init(total: Int, resumed: Int = 0, label: String, quiet: Bool = false) {
        self.total = total
        self.resumed = resumed
        self.label = label
        enabled = !quiet && isatty(STDERR_FILENO) == 1
    }

    func update(_ done: Int, _ extra: String = "") {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        guard done > shown else { return }
        shown = done
        var eta = ""
        if done < total && done > resumed {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let left = Int((elapsed / Double(done - resumed) * Double(total - done)).rounded())
            if elapsed >= 2 { eta = left >= 60 ? ", about \(left / 60) min \(left % 60) s left" : ", about \(left) s left" }
        }
        let earlier = resumed > 0 ? " (\(resumed) resumed)" : ""
        let counts = "\(done) done\(earlier), \(total - done) left\(extra)\(eta)"
        // Within 79 columns, so that the next update overwrites it: the label goes first.
        let line = label.count + 2 + counts.count <= 79 ? "\(label): \(counts)" : counts
        // Spaces over whatever is left of a longer line before it.
        StandardStreams.err("\r" + line + String(repeating: " ", count: max(0, width - line.count)))
        width = line.count
        if done == total { StandardStreams.err("\n") }
    }
}
