import ArgumentParser
import Foundation
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport

/// `xv6vm review` on a terminal, as insta and jest review snapshots: each pending golden
/// with its diff (through a pager when it is longer than the screen), then one key, no Enter.
extension Review {
    /// What one key does; the words are those of `--accept` and `--reject` too.
    enum Key { case accept, reject, skip, quit, help, unknown(String) }

    static let help = [
        "  a  accept: the .new file replaces the golden",
        "  r  reject: the .new file is removed; the golden stays as it was",
        "  s  skip: leave it pending, for later",
        "  q  quit: leave this one and the rest pending",
        "  ?  this help",
    ]

    /// The line each way of accepting prints: `accepted        golden/a/x.trace (from golden/a/x.trace.new)`.
    static func acceptedLine(_ p: PendingGolden) -> String { "accepted".rightPadded(16, gap: 1) + "\(p.golden) (from \(p.path))" }
    static func rejectedLine(_ p: PendingGolden) -> String { (p.scenario == nil ? "removed stale" : "rejected").rightPadded(16, gap: 1) + p.path }
    static func skippedLine(_ p: PendingGolden) -> String { "skipped".rightPadded(16, gap: 1) + p.path }

    static func key(_ byte: UInt8?) -> Key {
        switch byte {
        case nil, 4?, UInt8(ascii: "q")?, UInt8(ascii: "Q")?: return .quit   // end of input, Ctrl-D
        case UInt8(ascii: "a")?, UInt8(ascii: "A")?: return .accept
        case UInt8(ascii: "r")?, UInt8(ascii: "R")?: return .reject
        case UInt8(ascii: "s")?, UInt8(ascii: "S")?: return .skip
        case UInt8(ascii: "?")?, UInt8(ascii: "h")?: return .help
        case UInt8(ascii: "\r")?, UInt8(ascii: "\n")?: return .unknown("Enter")
        case let b?: return .unknown(b >= 0x20 && b < 0x7f ? "'\(Character(UnicodeScalar(b)))'" : String(format: "0x%02x", b))
        }
    }

    /// Rows of the terminal on standard output: `LINES` if set, else the terminal's, else 24.
    static func screenRows() -> Int {
        if let l = ProcessInfo.processInfo.environment["LINES"].flatMap(Int.init), l > 0 { return l }
        var w = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &w) == 0 && w.ws_row > 0 { return Int(w.ws_row) }
        return 24
    }

    /// Shows `lines` through `PAGER` (`less -R` when unset; none when empty) if they do not
    /// fit the screen; false when they were not paged (short, no pager, or it would not start).
    static func page(_ lines: [String]) -> Bool {
        let pager = ProcessInfo.processInfo.environment["PAGER"] ?? "less -R"
        guard !pager.trimmingCharacters(in: .whitespaces).isEmpty, lines.count > screenRows() - 3 else { return false }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", pager]
        let pipe = Pipe()
        p.standardInput = pipe
        do { try p.run() } catch { return false }
        let text = Data((lines.joined(separator: "\n") + "\n").utf8)
        signal(SIGPIPE, SIG_IGN)   // a pager quit early closes the pipe: that is not an error
        try? pipe.fileHandleForWriting.write(contentsOf: text)
        try? pipe.fileHandleForWriting.close()
        p.waitUntilExit()
        return true
    }

    /// Each pending golden in turn, its diff, then one key.
    func interact(_ pending: [PendingGolden], store: GoldenStore) throws {
        let colour = colourOnStdout()
        var accepted = 0, rejected = 0, skipped = 0
        var failed = false
        loop: for (n, p) in pending.enumerated() {
            let header = "[\(n + 1)/\(pending.count)] " + (p.scenario.map { store.relative($0) } ?? p.path)
            let body = shown(p, colour: colour)
            // A long diff goes through the pager; the header comes back on screen after it.
            if Self.page([header] + body) { out(header + ": " + (body.first?.trimmingCharacters(in: .whitespaces) ?? "")) }
            else { out(([""] + [header] + body).joined(separator: "\n")) }
            while true {
                let choices = p.scenario == nil ? "reject (remove it) or skip? [r/s/q, ? for help] " : "accept, reject or skip? [a/r/s/q, ? for help] "
                out(Array(choices.utf8))
                let key = Self.key(Keyboard.readKey())
                do {
                    switch key {
                    case .accept where p.scenario != nil:
                        out("a"); try p.accept(); accepted += 1; out(Self.acceptedLine(p))
                    case .reject:
                        out("r"); try p.reject(); rejected += 1; out(Self.rejectedLine(p))
                    case .skip:
                        out("s"); skipped += 1; out(Self.skippedLine(p))
                    case .quit:
                        out("q"); break loop
                    case .help:
                        out("?"); out(Self.help.joined(separator: "\n")); continue
                    case .accept:
                        out("a"); out("a stale .new file cannot be accepted: its scenario is gone (r removes it)"); continue
                    case .unknown(let what):
                        out(""); out("unknown key \(what): press a, r, s or q (? for help)"); continue
                    }
                } catch let e as WriteError {
                    warn("xv6vm review: \(e)")
                    failed = true
                }
                break
            }
        }
        let left = pending.count - accepted - rejected
        out("review: \(accepted) accepted, \(rejected) rejected, \(skipped) skipped, \(left) left")
        if failed { throw ExitCode(ExitCodes.cannotWrite) }
    }

    /// What is shown of one pending golden under its header: its diff, or the new golden.
    func shown(_ p: PendingGolden, colour: Bool) -> [String] {
        if p.scenario == nil { return fold("\(p.path) is stale: its scenario is gone", indent: "    ") }
        if let d = p.difference(blind: blindAddresses) { return CheckReport.changed(d, golden: p.golden, new: p.path, color: colour) }
        var lines = fold("new golden \(p.golden), \(lineCount(p.path)) lines:", indent: "    ")
        let d = Golden.difference(expected: [], actual: InputFile.read(p.path) ?? [], scenario: nil)
        lines += CheckReport.changed(d, golden: "/dev/null", new: p.path, color: colour).drop { !$0.hasPrefix("---") && !$0.hasPrefix("\u{1b}[1m---") }
        return lines
    }
}
