import Foundation
import XCTest

/// `xv6vm report`'s page, opened in a real browser (Debian's `chromium`, headless): the test
/// selects an event with `#event=N` and reads back what the page then shows. Skipped, saying
/// so, where no chromium is installed.
final class ReportBrowserTests: XCTestCase {
    let root = CommandLineTests.root

    static let chromium: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            for name in ["chromium", "chromium-browser", "google-chrome"] {
                let p = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: p) { return p }
            }
        }
        return nil
    }()

    /// Writes the report of `scenario` into a scratch folder; returns its path.
    func report(_ scenario: String, _ extra: [String] = []) throws -> String {
        let dir = try scratchDirectory(self)
        let out = dir + "/report.html"
        let r = try runCommand(CommandLineTests.binary, ["report", scenario, "-o", out] + extra, in: root)
        XCTAssertEqual(r.status, 0, r.stderr)
        return out
    }

    /// The page's DOM after its script has run, opened at `#event=N`.
    func dom(_ page: String, event: Int) throws -> String {
        guard let chromium = Self.chromium else {
            throw XCTSkip("no chromium on PATH: the report's browser tests are skipped (apt-get install chromium to run them)")
        }
        let profile = try scratchDirectory(self)
        let p = commandProcess(URL(fileURLWithPath: chromium), [
            "--headless", "--disable-gpu", "--no-sandbox", "--user-data-dir=\(profile)",
            "--virtual-time-budget=5000", "--dump-dom", "file://\(page)#event=\(event)"], in: profile)
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: killer)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        killer.cancel()
        XCTAssertEqual(p.terminationStatus, 0, "chromium failed")
        return String(decoding: data, as: UTF8.self)
    }

    /// The PTE rows the page shows for one process's table: (state, vmprint text, bits, was).
    func rows(_ dom: String, pid: Int, kind: String = "user") -> [String] {
        guard let start = dom.range(of: "<div class=\"table\" data-pid=\"\(pid)\" data-kind=\"\(kind)\">") else { return [] }
        let rest = dom[start.upperBound...]
        let end = rest.range(of: "<div class=\"table\" ")?.lowerBound ?? rest.endIndex
        let table = String(rest[..<end])
        let row = #/<div class="pte ?([a-z]*)" data-page="\d+" data-index="\d+"><span class="va">[^<]*</span><span class="vm[^"]*">([^<]*)</span><span class="bits">([^<]*)</span>(?:<span class="was">([^<]*)</span>)?/#
        return table.matches(of: row).map { m in
            [String(m.1), String(m.2), String(m.3), m.4.map(String.init) ?? ""].filter { !$0.isEmpty }.joined(separator: " | ")
        }
    }

    func text(_ dom: String, id: String) -> String? {
        guard let r = dom.range(of: "id=\"\(id)\">") else { return nil }
        return String(dom[r.upperBound...].prefix { $0 != "<" })
    }
}
