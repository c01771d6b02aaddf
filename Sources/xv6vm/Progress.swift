import Foundation

/// Writes a progress line on stderr when it is a terminal (never into pipes or files):
/// done, left, what was found so far, and an estimate of the time left. Runs that finish
/// out of order never make the count go back.
final class Progress: @unchecked Sendable {
    let total: Int
    let label: String
    let enabled: Bool
    private let lock = NSLock()
    private var shown = 0
    private let start = DispatchTime.now().uptimeNanoseconds

    init(total: Int, label: String, quiet: Bool = false) {
        self.total = total
        self.label = label
        enabled = !quiet && isatty(STDERR_FILENO) == 1
    }

    func update(_ done: Int, _ extra: String = "") {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        guard done > shown else { return }
        shown = done
        var eta = ""
        if done < total {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let left = Int((elapsed / Double(done) * Double(total - done)).rounded())
            if elapsed >= 2 { eta = left >= 60 ? ", about \(left / 60) min \(left % 60) s left" : ", about \(left) s left" }
        }
        StandardStreams.err("\r\(label): \(done) done, \(total - done) left\(extra)\(eta)   ")
        if done == total { StandardStreams.err("\n") }
    }
}
