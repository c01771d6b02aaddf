import Foundation
import XCTest
import XV6
import RISCV
import Support
import Scenario
import Run
import Goldens
import Explore
import CosimLog
import LogReplay
import HTMLReport

/// Co-simulation: real kernels' @T logs, imported and replayed on the model.
final class ReplayTests: XCTestCase {
    static let logs = packageRoot + "/docs/kernel-logs/"

    func read(_ name: String) throws -> KernelLog { try KernelLog.read(path: Self.logs + name) }

    func counts(_ r: ReplayReport) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: r.agreed.map { ($0.0.rawValue, $0.1) })
    }

    func testTheStockBootLogReplaysWithEveryEventAgreeing() throws {
        let imported = try LogImporter.run(try read("stock-boot.log"))
        XCTAssertEqual(imported.config.variant, "xv6-2020")
        XCTAssertEqual(imported.unexplained, [])
        let r = Replay.run(imported)
        XCTAssertNil(r.departure)
        XCTAssertEqual(counts(r), ["kalloc": 208, "kfree": 52, "map": 117, "unmap": 12, "freewalk": 20, "satp": 2,
                                   "allocproc": 3, "freeproc": 1, "fork": 2, "exec": 3, "growproc": 1, "exit": 1, "wait": 1])
        XCTAssertTrue(r.text().hasSuffix("\nAGREE: 423 events, every one the same\n"), r.text())
        // The shell's child did sbrk(65536) before exec of echo, whose argv held two strings.
        let yaml = imported.yaml(command: "t")
        XCTAssertTrue(yaml.contains("\n  - sbrk: {proc: 3, n: 65536}\n  - exec: {proc: 3, path: \"echo\", argv: [\"echo\", \"arg1\"], segments: [{vaddr: 0x0, memsz: 0x1000, filesz: 0x0}], entry: 0x0}\n"), yaml)
        // The A and D bits the parent's PTEs show in fork's copies come from accesses before it.
        XCTAssertTrue(yaml.contains("\n  - load: {proc: 1, va: 0x0, faults: false}\n  - store: {proc: 1, va: 0x2000, faults: false}\n  - fork: {parent: 1, child: 2}\n"), yaml)
    }

    /// The whole of usertests reparent2 (half a million events), through the scenario
    /// import writes: its kallocs are the log's, address for address.
    func testTheImportedReparent2ScenarioAllocatesTheLogsPagesInTheLogsOrder() throws {
        let log = try read("stock-reparent2-nopreempt.log.xz")
        XCTAssertEqual(log.probes.count, 520_653)
        let imported = try LogImporter.run(log)
        // countfree's pipe, twice: a bare kalloc before its fork, freed by the last close.
        let pipes = imported.operations.filter { $0.kind == .pipe }.map { log.probes[$0.probes[0]] }
        XCTAssertEqual(pipes.map(\.line), [593, 390_255])           // before and after the test
        XCTAssertEqual(pipes.map { hex16($0.pa) }, ["0x0000000087f48000", "0x0000000087f74000"])
        let closes = imported.operations.filter { $0.kind == .close }.map { log.probes[$0.probes[0]].line }
        XCTAssertEqual(closes, [98_348, 488_010])

        let yaml = imported.yaml(command: "xv6vm import stock-reparent2-nopreempt.log.xz")
        XCTAssertTrue(yaml.contains("  - repeat: 32463\n    events:\n      - sbrk: {proc: 4, n: 4096}\n"))
        let scenario = try ScenarioCompiler.compile(bytes: Array(yaml.utf8), file: "r2.yaml")
        var kallocs: [UInt64] = []
        var failed: [(Int, String)] = []
        let sites = SiteTree()
        let writer = TraceWriter(format: .none, sites: sites)
        writer.tap = { r, _ in
            guard case .kernel(let e) = r else { return }
            switch e {
            case let .kalloc(pa, _, _): kallocs.append(pa.rawValue)
            case let .kallocFailed(site, pid): kallocs.append(0); failed.append((pid, sites.name(site)))
            default: break
            }
        }
        let (result, _) = Runner.run(scenario, writer: writer)
        XCTAssertNil(result.panic)
        let logKallocs = log.probes.filter { $0.kind == .kalloc }.map(\.pa)
        XCTAssertEqual(logKallocs.count, 138_945)
        XCTAssertEqual(kallocs.count, logKallocs.count)
        XCTAssertTrue(kallocs == logKallocs, "first difference at kalloc #\(kallocs.indices.first { kallocs[$0] != logKallocs[$0] } ?? -1)")
        // countfree's child runs memory out: the kalloc that returns 0, in growproc, both times.
        XCTAssertEqual(failed.map(\.0), [4, 3206])
        XCTAssertEqual(failed.map(\.1), ["sys_sbrk > growproc > uvmalloc", "sys_sbrk > growproc > uvmalloc"])
        XCTAssertEqual(log.probes.filter { $0.kind == .kalloc && $0.pa == 0 }.map(\.line), [98_342, 488_004])

        let r = Replay.run(imported)
        XCTAssertNil(r.departure)
        XCTAssertEqual(counts(r)["kalloc"], 138_945)
        XCTAssertEqual(counts(r)["kfree"], 138_787)
        XCTAssertEqual(counts(r)["fork"], 3_205)
    }

    /// A kernel that forgets one kfree (sys_exec's argv page of /init): the first departure
    /// names the operation, the line, and the model's site of the page.
    func testALeakyKernelIsReportedAtTheLineAndSiteOfTheMissingFree() throws {
        var text = try String(contentsOfFile: Self.logs + "stock-boot.log", encoding: .utf8).components(separatedBy: "\n")
        XCTAssertEqual(text[280], "@T kfree pa=0x0000000087f6f000")       // line 281: sys_exec frees argv[0]
        text.remove(at: 280)
        let log = try KernelLog.parse(Array(text.joined(separator: "\n").utf8), file: "leak.log")
        let r = Replay.run(try LogImporter.run(log))
        let d = try XCTUnwrap(r.departure)
        XCTAssertEqual(d.stream, "memory")
        XCTAssertEqual(d.log?.line, 322)                                      // allocproc pid=2, one line up now
        XCTAssertEqual(d.model?.probe.rendered, "kfree pa=0x0000000087f6f000")
        XCTAssertEqual(d.modelSite, "sys_exec")
        XCTAssertEqual(d.operation?.summary, "exec of /init by pid 1")
        XCTAssertEqual(d.verdict, "in exec of /init by pid 1, the kernel frees 6 pages; the model frees 7: 1 page the kernel never frees")
        XCTAssertTrue(r.text().hasSuffix("\nDEPARTS at leak.log:322: in exec of /init by pid 1, the kernel frees 6 pages;\n    the model frees 7: 1 page the kernel never frees\n"), r.text())
    }

    func testBadLogsGetAClearErrorWithALineNumber() throws {
        let boot = try String(contentsOfFile: Self.logs + "stock-boot.log", encoding: .utf8)
        func error(_ text: String) -> String {
            do {
                let log = try KernelLog.parse(Array(text.utf8), file: "bad.log")
                _ = try LogImporter.run(log)
                return "no error"
            } catch {
                return "\(error.line): \(error.message)"
            }
        }
        // Cut in the middle of a line: the last line has no newline. It was refused; it is left
        // out with a warning (LogNoiseTests), and what comes before it is read.
        let cut = String(boot.prefix(upTo: boot.range(of: "@T map pt=0x0000000087f75000 va=0x0000000000000000")!.upperBound))
        XCTAssertEqual(try KernelLog.parse(Array(cut.utf8), file: "bad.log").warnings.map { "\($0.line): \($0.message)" },
                       ["222: the log ends in the middle of this line (no newline after it): it was cut short, and the line is left out"])
        XCTAssertEqual(error("@T map pt=0x0000000087fff000 va=0x00000000100\n"), "1: `va=` takes an address as %p prints it, 0x and 16 hex digits; found '0x00000000100'")
        XCTAssertEqual(error("hello\n@T kalloc\n"), "2: `kalloc` needs `pa=`; the line may be cut short")
        XCTAssertEqual(error("@T kaloc pa=0x0000000087fff000\n"), "1: unknown event kind 'kaloc'; expected one of: kalloc, kfree, map, unmap, freewalk, kvm_free_kernelpgtbl, satp, allocproc, freeproc, fork, exec, execfail, growproc, exit, wait, swtch, pagefault, copyout, copyin, copyinstr, refinc, refdec, sbrk, cowcopyout, lazycopy (did you mean 'kalloc'?)")
        XCTAssertEqual(error("@T kalloc pa=0x00000000zz000000\n"), "1: `pa=` takes an address as %p prints it, 0x and 16 hex digits; found '0x00000000zz000000'")
        XCTAssertEqual(error("\u{1}\u{2}garbage@T\n@T kfree pa=0x0000000087fff000 x\n"), "2: expected key=value after `kfree`, found 'x'")
        // Events that contradict each other.
        let start = boot.components(separatedBy: "\n").prefix(while: { !$0.hasPrefix("@T fork parent=1") }).joined(separator: "\n") + "\n"
        XCTAssertEqual(error(start + "@T wait pid=1 reaped=2\n"), "338: pid 1 reaps pid 2, which no fork made")
        XCTAssertEqual(error(start + "@T fork parent=1 child=2\n@T wait pid=1 reaped=2\n"),
                       "339: pid 1 reaps pid 2, which never exited (no `exit pid=2` before)")
        XCTAssertEqual(error(start + "@T fork parent=1 child=2\n@T exec pid=7 path=sh sz=0x0000000000004000\n"),
                       "339: exec by pid 7 printed while pid 1 runs")
        XCTAssertEqual(error(start + "@T fork parent=1 child=2\n@T swtch from=1\n@T swtch from=1\n"),
                       "340: `swtch from=1` with no process running: a `swtch to=1` is missing")
    }

    /// Another process's memory events in the middle of an operation cannot be replayed
    /// whole: the importer says so and where, and never claims agreement.
    func testAnOperationSplitByAnotherIsRefusedAtItsLine() throws {
        var lines = try String(contentsOfFile: Self.logs + "stock-boot.log", encoding: .utf8).components(separatedBy: "\n")
        // pid 2's exec of sh sleeps on the disk after line 348, and pid 1 grows by a page meanwhile.
        lines.insert(contentsOf: ["@T swtch from=2", "@T swtch to=1", "@T growproc pid=1 n=4096 sz=0x0000000000003000",
                                  "@T kalloc pa=0x0000000087000000",
                                  "@T map pt=0x0000000087f6e000 va=0x0000000000003000 size=0x0000000000001000 pa=0x0000000087000000 perm=0x1e",
                                  "@T swtch from=1", "@T swtch to=2"], at: 348)
        let log = try KernelLog.parse(Array(lines.joined(separator: "\n").utf8), file: "split.log")
        XCTAssertThrowsError(try LogImporter.run(log)) { e in
            let error = e as! LogError
            XCTAssertEqual(error.line, 352)
            XCTAssertEqual(error.message, "sbrk(4096) by pid 1 runs in the middle of exec of sh by pid 2 (log line 341): a kernel operation split by preemption or a sleep; xv6vm replays each operation whole")
        }
    }

    // MARK: logs captured from other kernels (docs/kernel-logs/README.md)

    func testThePgtblLabKernelsLogsReplayWithEveryEventAgreeing() throws {
        let boot = try LogImporter.run(try read("pgtbl-boot.log.xz"))
        XCTAssertEqual(boot.config.variant, "pgtbl-lab")                      // guessed from its shape
        let r = Replay.run(boot)
        XCTAssertNil(r.departure, r.text())
        XCTAssertEqual(counts(r)["satp"], 88)
        XCTAssertEqual(counts(r)["kvm_free_kernelpgtbl"], 73)
        XCTAssertTrue(boot.yaml(command: "t").contains("  - repeat: 25\n    events:\n      - yield: 1\n"))
        XCTAssertEqual(ImportedLog.folded(["a", "b", "a", "b", "c", "c", "d", "d", "d"]),
                       [.loop(2, [.line("a"), .line("b")]), .line("c"), .line("c"), .loop(3, [.line("d")])])
        // The log ends while the shell sleeps on the console: the scheduler's last write.
        XCTAssertTrue(boot.yaml(command: "t").hasSuffix("  - wait: 2\n  - sleep: 2\n"))

        let log = try read("pgtbl-reparent2-nopreempt.log.xz")
        XCTAssertEqual(log.probes.count, 1_378_317)
        let imported = try LogImporter.run(log)
        // A process that sleeps and is scheduled again with nothing in between: 70 times.
        XCTAssertEqual(imported.operations.filter { $0.kind == .yield }.count, 70)
        let full = Replay.run(imported)
        XCTAssertNil(full.departure)
        XCTAssertEqual(counts(full)["satp"], 10_266)
        XCTAssertEqual(counts(full)["kalloc"], 375_661)
        XCTAssertEqual(full.agreed.reduce(0) { $0 + $1.1 }, 1_368_053)
    }

    /// usertests sbrkmuch under the lab: one sbrk of 100 MB and back, mirrored in the
    /// process's kernel table page by page.
    func testTheLabKernelGrowsAndShrinksByAHundredMegabytesAsTheModelDoes() throws {
        let imported = try LogImporter.run(try read("pgtbl-sbrkmuch-nopreempt.log.xz"))
        let yaml = imported.yaml(command: "t")
        XCTAssertTrue(yaml.contains("\n  - sbrk: {proc: 5, n: 104787968}\n"))
        XCTAssertTrue(yaml.contains("\n  - sbrk: {proc: 5, n: -104787968}\n"))
        let r = Replay.run(imported)
        XCTAssertNil(r.departure, r.text())
        XCTAssertEqual(counts(r)["growproc"], 64_354)
        XCTAssertEqual(r.agreed.reduce(0) { $0 + $1.1 }, 427_500)
    }

    /// With preemption, pid 50 prints `exit` and is switched out before it is a zombie;
    /// init reaps 47, 49 and 53 meanwhile. Its exit takes effect at its last `swtch from=`.
    func testAPreemptedExitTakesEffectWhereTheProcessLastLeavesTheCPU() throws {
        let imported = try LogImporter.run(try read("stock-reparent2-preempt.log.xz"))
        let ops = imported.operations
        let exit50 = try XCTUnwrap(ops.firstIndex { $0.kind == .exit && $0.pid == 50 })
        XCTAssertEqual(ops[exit50].line, 138_141)
        XCTAssertEqual(imported.log.probes[ops[exit50].at].rendered, "swtch from=50")
        XCTAssertEqual(imported.log.probes[ops[exit50].at].line, 138_301)
        let reapedBefore = ops[..<exit50].suffix(6).filter { $0.kind == .wait && $0.pid == 1 }.map { $0.child ?? 0 }
        XCTAssertEqual(reapedBefore, [47, 49, 53])
        let r = Replay.run(imported)
        XCTAssertNil(r.departure)
        XCTAssertEqual(counts(r)["wait"], 3_204)
    }

    func testTheSecondSeedsKernelAsWrittenPanicsAsTheModelDoes() throws {
        let asWritten = Replay.run(try LogImporter.run(try read("seed003-boot.log.xz"), overrides: ["variant=seed-003"]))
        XCTAssertNil(asWritten.departure)
        XCTAssertEqual(asWritten.panic, "remap")
        XCTAssertEqual(asWritten.kernelPanic?.line, 173)
        XCTAssertTrue(asWritten.text().contains("\nboth panic: remap (the kernel at log line 173)\n"))
        // Guessed, the variant is wrong from the first steps, and the report says what to try.
        let guessed = Replay.run(try LogImporter.run(try read("seed003-boot.log.xz")))
        XCTAssertEqual(guessed.departure?.log?.line, 9)
        XCTAssertTrue(guessed.text().contains("--set variant=seed-003"), guessed.text())

        let fixed = Replay.run(try LogImporter.run(try read("seed003-fixedargs-boot.log.xz"),
                                                   overrides: ["variant=seed-003", "kstack_mapping=mappages"]))
        XCTAssertNil(fixed.departure, fixed.text())
        XCTAssertEqual(fixed.panic, "freewalk: leaf")
        XCTAssertEqual(fixed.kernelPanic?.message, "freewalk: leaf")
    }

    func testExecOfAMissingProgramAndARealLeakyKernel() throws {
        let execfail = try LogImporter.run(try read("stock-execfail-nopreempt.log.xz"))
        XCTAssertTrue(execfail.yaml(command: "t").contains("  - exec: {proc: 3, path: \"nosuchcmd\", argv: [\"nosuchcmd\"], exists: false}\n"))
        XCTAssertNil(Replay.run(execfail).departure)

        let leak = Replay.run(try LogImporter.run(try read("stock-leak-boot.log.xz")))
        let d = try XCTUnwrap(leak.departure)
        XCTAssertEqual(d.log?.line, 322)
        XCTAssertEqual(d.modelSite, "sys_exec")
        XCTAssertEqual(d.verdict, "in exec of /init by pid 1, the kernel frees 6 pages; the model frees 7: 1 page the kernel never frees")
    }

    /// The reader parses text as it streams out of xz: a line cut between two chunks reads
    /// as the same probe; a truncated or corrupt .xz file is an error, not a short log.
    func testLogsStreamInChunksAndBrokenXZFilesAreRefused() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Self.logs + "stock-boot.log")))
        let whole = try KernelLog.parse(bytes, file: "b.log")
        var reader = LogReader(file: "b.log")
        for start in stride(from: 0, to: bytes.count, by: 7) {
            try bytes[start..<min(start + 7, bytes.count)].withUnsafeBufferPointer { (b) throws(LogError) in try reader.feed(b) }
        }
        let chunked = try reader.finish()
        XCTAssertEqual(chunked.probes, whole.probes)
        XCTAssertEqual(chunked.lineCount, 525)
        XCTAssertEqual(whole.probes.count, 509)

        let dir = try temporaryDirectory(self)
        let xz = try Data(contentsOf: URL(fileURLWithPath: Self.logs + "pgtbl-boot.log.xz"))
        try xz.prefix(xz.count / 2).write(to: URL(fileURLWithPath: dir + "/cut.log.xz"))
        XCTAssertThrowsError(try KernelLog.read(path: dir + "/cut.log.xz")) { e in
            XCTAssertEqual((e as! LogError).message, "cannot decompress this .xz file: the file is cut short (truncated)")
        }
        var corrupt = xz
        corrupt[200] ^= 0xFF
        try corrupt.write(to: URL(fileURLWithPath: dir + "/bad.log.xz"))
        XCTAssertThrowsError(try KernelLog.read(path: dir + "/bad.log.xz")) { e in
            XCTAssertEqual((e as! LogError).message, "cannot decompress this .xz file: the data is corrupt")
        }
    }

    /// usertests execout: exec runs out of memory at every point in turn. sys_exec cannot
    /// copy its arguments (exec never called, no probe), proc_pagetable fails, a uvmalloc
    /// fails at its first page or in its middle (its uvmdealloc unmaps first).
    func testExecRunningOutOfMemoryAtEachPointReplaysExactly() throws {
        let imported = try LogImporter.run(try read("stock-execout-nopreempt.log.xz"))
        let execs = imported.operations.filter { $0.kind == .exec && $0.pid >= 7 }
        XCTAssertEqual(execs.count, 14)                                        // pids 7 to 20
        XCTAssertEqual(execs[0].summary, "exec by pid 7 (no memory for its arguments)")
        let yaml = imported.yaml(command: "t")
        XCTAssertTrue(yaml.contains("  - exec: {proc: 7, path: \"?\", argv: [\"?\", \"arg1\"], exists: false}\n"))
        XCTAssertTrue(yaml.contains("  - exec: {proc: 8, path: \"echo\", argv: [\"echo\", \"arg1\"], segments: [], entry: 0x0}\n"))
        XCTAssertTrue(yaml.contains("  - exec: {proc: 15, path: \"echo\", argv: [\"echo\", \"arg1\"], segments: [{vaddr: 0x0, memsz: 0x1000, filesz: 0x0}, {vaddr: 0x1000, memsz: 0x2000, filesz: 0x0}], entry: 0x0}\n"))
        let r = Replay.run(imported)
        XCTAssertNil(r.departure, r.text())
        XCTAssertEqual(counts(r)["execfail"], 8)
        XCTAssertEqual(counts(r)["exec"], 8)
        XCTAssertEqual(r.agreed.reduce(0) { $0 + $1.1 }, 2_211_757)
    }
}
