import Foundation
import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import CosimLog
import LogReplay
import HTMLReport

/// Replay as the log streams in: memory bounded by what is undecided, not by the log's
/// length; a departure final soon after it is read; and the long logs that measure it.
final class StreamingReplayTests: XCTestCase {
    static let logs = ReplayTests.logs
    /// The lab kernel's boot: lines 518-931 are the shell running `echo hi`, from the global
    /// table's satp after its prompt to its sleep at the next one.
    static let boot = logs + "pgtbl-boot.log.xz"
    static let echo = 518...931

    func longLog(copies: Int) throws -> [UInt8] {
        var log = try LongLog(path: Self.boot, lines: Self.echo)
        var bytes: [UInt8] = []
        log.write(copies: copies) { bytes += $0 }
        return bytes
    }

    func temporary(_ bytes: [UInt8], _ name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xv6vm-stream-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return path
    }

    /// With no copies the log is the real one, byte for byte; each copy makes its pids anew
    /// and takes the pages xv6's free list hands out then, and the model agrees with them all.
    func testALongLogIsTheRealOneAndCopiesTheModelAgreesWith() throws {
        let real = try LongLog.text(Self.boot)
        XCTAssertEqual(try longLog(copies: 0), real)
        let three = try longLog(copies: 3)
        let lines = String(decoding: three, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 2175)      // 2,174 lines and the empty string after the last newline
        // The first copy begins as the block did; the three copies' echoes are pids 4, 5, 6.
        XCTAssertEqual(lines[931], "@T satp pa=0x0000000087fff000 by=kvminithart")
        XCTAssertTrue(lines.contains("@T allocproc pid=6"))
        XCTAssertFalse(lines.contains("@T allocproc pid=7"))
        let report = try Replay.stream(path: try temporary(three, "three.log"), overrides: [], blind: false).report
        XCTAssertNil(report.departure, report.text())
        XCTAssertEqual(report.agreed.reduce(0) { $0 + $1.1 }, 1972)
        XCTAssertTrue(report.readWhole)
    }

    /// A block that keeps a page it allocates cannot be copied: said, with the page.
    func testABlockThatKeepsAPageIsRefused() throws {
        XCTAssertThrowsError(try LongLog(path: Self.boot, lines: 518...700)) { e in
            XCTAssertTrue((e as! LogError).description.hasPrefix("pgtbl-boot.log.xz:700:1: error: the block keeps page 0x"), "\(e)")
        }
    }

    /// However long the log, the probes held stay those of the operations not yet decided:
    /// a log of 400 copies of the shell's echo holds no more than one copy's worth, on the
    /// lab's kernel and on the stock one (whose satp stream ends at boot: its last probes
    /// were held, and with them every probe after them).
    func testMemoryStaysBoundedWhateverTheLogsLength() throws {
        try bounded(try longLog(copies: 400), probes: 161_694, agreed: 156_008)
        var stock = try LongLog(path: Self.logs + "stock-boot.log", lines: 389...525)
        var text: [UInt8] = []
        stock.write(copies: 400) { text += $0 }
        try bounded(text, probes: 54_909, agreed: 49_223)
    }

    func bounded(_ text: [UInt8], probes: Int, agreed: Int) throws {
        let log = try KernelLog.parse(text, file: "long.log")
        XCTAssertEqual(log.probes.count, probes)
        let session = ReplaySession(file: "long.log", config: try LogImporter.config(of: log, overrides: []))
        var most = 0
        for p in log.probes {
            try session.take(p)
            most = max(most, session.store.end - session.store.probes.base, session.importer.probes.end - session.importer.probes.base)
        }
        try session.finishLog()
        let report = session.report(kernelPanic: nil)
        XCTAssertNil(report.departure)
        XCTAssertEqual(report.agreed.reduce(0) { $0 + $1.1 }, agreed)
        XCTAssertLessThan(most, 10_000)
        XCTAssertLessThan(session.recorder.memory.records.end - session.recorder.memory.records.base, 10_000)
    }

    /// A departure at the log's first probe is final once 100,000 probes past it are read:
    /// the rest of the log is not read, and the report says how far it was.
    func testAnEarlyDepartureStopsTheReading() throws {
        var text = String(decoding: try longLog(copies: 400), as: UTF8.self)
        let first = text.range(of: "@T kalloc pa=0x0000000087fff000")!
        text.replaceSubrange(first, with: "@T kalloc pa=0x0000000087ffe000")
        let report = try Replay.stream(path: try temporary(Array(text.utf8), "early.log"), overrides: [], blind: false).report
        let d = try XCTUnwrap(report.departure)
        XCTAssertEqual(d.log?.line, 5)
        XCTAssertEqual(d.model?.probe.pa, 0x8_7fff_000)
        XCTAssertFalse(report.readWhole)
        XCTAssertGreaterThan(report.readToLine, 100_000)
        XCTAssertLessThan(report.readToLine, 130_000)
        XCTAssertTrue(report.text().contains("\nthe log was read to line \(report.readToLine), far enough past the departure: the rest cannot\n  change it\n"),
                      report.text())
    }

    /// The streaming replay reads a cut last line as the whole-log reading does: left out,
    /// with the same warning, and what comes before agrees.
    func testACutLastLineIsAWarningWhenStreamed() throws {
        let text = try String(contentsOfFile: Self.logs + "stock-boot.log", encoding: .utf8) + "@T kalloc pa=0x00000000873"
        let streamed = try Replay.stream(path: try temporary(Array(text.utf8), "cut.log"), overrides: [], blind: false)
        XCTAssertEqual(streamed.warnings.map(\.description), ["""
            cut.log:526:27: warning: the log ends in the middle of this line (no newline after it): it was cut short, and the line is left out
                @T kalloc pa=0x00000000873
            """])
        XCTAssertTrue(streamed.report.text().hasSuffix("\nAGREE: 423 events, every one the same\n"))
    }
}

/// `--keep-going N`: after each departure both sides go on from the next operation.
final class KeepGoingTests: XCTestCase {
    /// The leaky kernel's exec keeps one page each time (stock-leak-boot): the first three
    /// departures are its three execs, each named, where one departure alone shows only /init's.
    func testALeakyExecDepartsAtEveryExec() throws {
        let path = ReplayTests.logs + "stock-leak-boot.log.xz"
        let one = try Replay.stream(path: path, overrides: [], blind: false).report
        XCTAssertEqual(one.departure?.log?.line, 322)
        XCTAssertEqual(one.departures.count, 0)
        let three = try Replay.stream(path: path, overrides: [], blind: false, keepGoing: 3).report
        XCTAssertEqual(three.departures.map { $0.log?.line }, [322, 388, 505])
        XCTAssertEqual(three.departures.map { $0.operation?.summary }, ["exec of /init by pid 1", "exec of sh by pid 2", "exec of echo by pid 3"])
        XCTAssertEqual(three.departures.map(\.verdict), [
            "in exec of /init by pid 1, the kernel frees 6 pages; the model frees 7: 1 page the kernel never frees",
            "in exec of sh by pid 2, the kernel frees 8 pages; the model frees 9: 1 page the kernel never frees",
            "in exec of echo by pid 3, the kernel frees 25 pages; the model frees 27: 2 pages the kernel never frees",
        ])
        // The first is the one a plain replay shows, and the pages held are counted there.
        XCTAssertEqual(three.departure?.log?.line, 322)
        XCTAssertEqual(three.heldAtLine, one.heldAtLine)
        XCTAssertEqual(three.held.map(\.pages), one.held.map(\.pages))
        let text = three.text()
        XCTAssertTrue(text.contains("\ndeparture 3, after the operation of the one before, in the memory events (number\n  392 of that stream):\n"), text)
        XCTAssertTrue(text.hasSuffix("\nDEPARTS at stock-leak-boot.log.xz:322 (and 2 more, at lines 388, 505): in exec\n    of /init by pid 1, the kernel frees 6 pages; the model frees 7: 1 page the\n    kernel never frees\n"), text)
        XCTAssertTrue(text.split(separator: "\n").allSatisfy { $0.count <= 80 })
        // Asked for more than there are: all there are (five), and the log read to its end.
        let all = try Replay.stream(path: path, overrides: [], blind: false, keepGoing: 10).report
        XCTAssertEqual(all.departures.map { $0.log?.line }, [322, 388, 505, 635, 639])
        XCTAssertTrue(all.readWhole)
    }

    /// A log that agrees agrees with --keep-going too.
    func testKeepGoingOnALogThatAgrees() throws {
        let r = try Replay.stream(path: ReplayTests.logs + "stock-boot.log", overrides: [], blind: false, keepGoing: 3).report
        XCTAssertNil(r.departure)
        XCTAssertTrue(r.text().hasSuffix("\nAGREE: 423 events, every one the same\n"))
    }
}

/// What replay holds for each probe, kept small and free of reference counting.
final class ReplayHoldingTests: XCTestCase {
    /// A probe is plain data in 80 bytes; its text is a number, equal for equal texts; the
    /// tallies by kind index `allCases` in order.
    func testAProbeIsPlainDataAndItsTextANumber() {
        XCTAssertEqual(MemoryLayout<Probe>.stride, 80)
        XCTAssertTrue(_isPOD(Probe.self))
        var a = Probe(.exec), b = Probe(.exec)
        a.text = "/usertests-\(getpid())"
        b.text = "/usertests-\(getpid())"
        XCTAssertEqual(a.textID, b.textID)
        XCTAssertEqual(b.text, "/usertests-\(getpid())")
        var s = Probe(.satp)
        s.text = "scheduler"
        XCTAssertEqual(s.textID, ProbeText.scheduler)
        XCTAssertEqual(Probe(.satp).text, "")
        s.pid = -1
        XCTAssertEqual(s.pid, -1)
        s.pid = Int(Int32.max)
        XCTAssertEqual(s.pid, Int(Int32.max))
        XCTAssertEqual(ProbeKind.allCases.map(\.index), Array(ProbeKind.allCases.indices))
    }

    /// The held-pages tallies: pages of the first GiB of RAM by page number, anything else
    /// (another address, a site of -1) by hash, read back the same.
    func testThePageTalliesHoldWhatIsPutInThem() {
        var m = PageMap()
        XCTAssertNil(m[0x8000_0000])
        m[0x8000_0000] = nil
        m[0x8000_1000] = 7
        m[0x8000_2000] = -1
        m[0x8000_2008] = 3              // not a page's start
        m[0x1000_0000] = 4              // below RAM
        m[0xC000_0000] = 0              // past the first GiB
        XCTAssertEqual(m[0x8000_1000], 7)
        XCTAssertEqual(m[0x8000_2000], -1)
        XCTAssertEqual(m[0x8000_2008], 3)
        XCTAssertEqual(m[0x1000_0000], 4)
        XCTAssertEqual(m[0xC000_0000], 0)
        m[0x8000_1000] = nil
        m[0x8000_2000] = 5
        var all: [String] = []
        m.forEach { all.append("\(String($0, radix: 16))=\($1)") }
        XCTAssertEqual(all.sorted(), ["10000000=4", "80002000=5", "80002008=3", "c0000000=0"])

        var set = PageSet()
        set[0x8000_3000] = false
        XCTAssertFalse(set[0x8000_3000])
        set[0x8000_3000] = true
        set[0x8000_3008] = true
        set[0x2000] = true
        XCTAssertTrue(set[0x8000_3000] && set[0x8000_3008] && set[0x2000])
        XCTAssertFalse(set[0x8000_4000])
        set[0x8000_3000] = false
        set[0x2000] = false
        XCTAssertFalse(set[0x8000_3000] || set[0x2000])
        XCTAssertTrue(set[0x8000_3008])
    }

    /// Asked every 512 probes, the importer of cowtest's log hands out the operations a
    /// reading of the whole log does, in the same order and at the same places; most of its
    /// settles are skipped (a COW fork open over 20,000 probes holds 2,000 operations back),
    /// each skipped one with nothing to hand out.
    func testSkippedSettlesHandOutWhatTheWholeLogDoes() throws {
        let log = try KernelLog.read(path: ReplayTests.logs + "cow-cowtest-nopreempt.log.xz")
        let whole = try LogImporter.run(log)
        var imp = LogImporter(file: log.file, config: whole.config)
        var streamed: [LogOperation] = []
        var emptySkips = 0
        for (i, p) in log.probes.enumerated() {
            try imp.take(p)
            guard (i + 1) % 512 == 0 else { continue }
            let skipped = imp.settles.skipped
            let out = try imp.ready()
            if imp.settles.skipped > skipped && out.isEmpty { emptySkips += 1 }
            streamed += out
        }
        streamed += try imp.finish()
        XCTAssertEqual(streamed.count, whole.operations.count)
        XCTAssertEqual(streamed.map(\.line), whole.operations.map(\.line))
        XCTAssertEqual(streamed.map(\.at), whole.operations.map(\.at))
        XCTAssertEqual(streamed.map(\.summary), whole.operations.map(\.summary))
        // One settle each 512 probes, and the log's end.
        XCTAssertEqual(imp.settles.full + imp.settles.skipped, log.probes.count / 512 + 1)
        XCTAssertEqual(imp.settles.skipped, emptySkips)
        XCTAssertEqual([imp.settles.full, imp.settles.skipped], [389, 1064])
    }
}
