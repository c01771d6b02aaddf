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
    func dom(_ page: String, event: Int) throws -> String { try dom(page + "#event=\(event)", rawFragment: true) }

    /// The DOM of `url` (a page with its fragment).
    func dom(_ url: String, rawFragment: Bool) throws -> String {
        guard let chromium = Self.chromium else {
            // CI installs chromium (.ci/run) and sets this, so that there a missing browser
            // fails the run instead of skipping the tests in silence.
            if ProcessInfo.processInfo.environment["XV6VM_REQUIRE_BROWSER"] != nil {
                XCTFail("XV6VM_REQUIRE_BROWSER is set but no chromium is on PATH")
            }
            throw XCTSkip("no chromium on PATH: the report's browser tests are skipped (apt-get install chromium to run them)")
        }
        let profile = try scratchDirectory(self)
        let p = commandProcess(URL(fileURLWithPath: chromium), [
            "--headless", "--disable-gpu", "--no-sandbox", "--user-data-dir=\(profile)",
            "--virtual-time-budget=5000", "--dump-dom", "file://\(url)"], in: profile)
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        let wait = try p.startWaitable()
        let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: killer)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        wait()
        killer.cancel()
        XCTAssertEqual(p.terminationStatus, 0, "chromium failed")
        return String(decoding: data, as: UTF8.self)
    }

    /// The PTE rows the page shows for one process's table, each as `state | vmprint line |
    /// bits | was`, after the table's heading; empty when the page shows no such table.
    func rows(_ dom: String, pid: Int, kind: String = "user") -> [String] {
        let head = try! Regex(#"<div class="table[a-z ]*" data-pid="\#(pid)" data-kind="\#(kind)"><h3>([^<]*)</h3>"#)
        guard let start = dom.firstMatch(of: head) else { return [] }
        let rest = dom[start.range.upperBound...]
        let end = rest.range(of: "<div class=\"table")?.lowerBound ?? rest.endIndex
        let row = #/<div class="pte ?([a-z]*)" data-page="\d+" data-index="\d+"><span class="va">[^<]*</span><span class="vm[^"]*">([^<]*)</span><span class="bits">([^<]*)</span>(?:<span class="was">([^<]*)</span>)?/#
        let heading = String(start.output[1].substring ?? "")
        var out = [heading]
        for m in rest[..<end].matches(of: row) {
            let parts: [String] = [String(m.output.1), String(m.output.2), String(m.output.3), m.output.4.map { String($0) } ?? ""]
            out.append(parts.filter { !$0.isEmpty }.joined(separator: " | "))
        }
        return out
    }

    func testSbrkShowsSixteenAddedLeavesAndTheSummaryCounts() throws {
        let page = try report("scenarios/xv6-2020/fork-exec-exit.yaml")
        let d = try dom(page, event: 6)
        XCTAssertEqual(text(d, id: "sum-events"), "12")
        XCTAssertEqual(text(d, id: "sum-kallocs"), "209")
        XCTAssertEqual(text(d, id: "sum-kfrees"), "53")
        XCTAssertEqual(text(d, id: "sum-leaked"), "0")
        XCTAssertEqual(text(d, id: "sum-findings"), "0")
        XCTAssertEqual(text(d, id: "detail-title"), "Event 6: sbrk pid 3 65536")
        XCTAssertTrue(d.contains(#"<tr data-event="6" data-pid="3" data-kind="sbrk" title="fork-exec-exit.yaml:11  sbrk pid 3 65536" class="sel">"#), "the timeline selects event 6")
        let r = rows(d, pid: 3)
        XCTAssertEqual(r.count, 27, r.joined(separator: "\n"))
        XCTAssertEqual(Array(r.prefix(5)), [
            "pid 3, p-&gt;name \"sh\": user page table",
            "..0: pte 0x0000000021fdc801 pa 0x0000000087f72000 | V·······",
            ".. ..0: pte 0x0000000021fd9401 pa 0x0000000087f65000 | V·······",
            ".. .. ..0: pte 0x0000000021fdc01f pa 0x0000000087f70000 | VRWXU···",
            ".. .. ..1: pte 0x0000000021fd981f pa 0x0000000087f66000 | VRWXU···"])
        // The 16 pages sbrk mapped at va 0x4000..0x13000, from the top of the free list down.
        XCTAssertEqual(r[7], "added | .. .. ..4: pte 0x0000000021fd641f pa 0x0000000087f59000 | VRWXU···")
        XCTAssertEqual(r[22], "added | .. .. ..19: pte 0x0000000021fd281f pa 0x0000000087f4a000 | VRWXU···")
        XCTAssertEqual(r.filter { $0.hasPrefix("added") }.count, 16)
        XCTAssertEqual(r[25], "changed | .. .. ..510: pte 0x0000000021fd90c7 pa 0x0000000087f64000 | VRW···AD | was 0x0000000021fd9007")
        XCTAssertEqual(r[26], "changed | .. .. ..511: pte 0x0000000020001c4b pa 0x0000000080007000 | VR·X··A· | was 0x0000000020001c0b")
        // The pages by owner after it: the series the plot stacks (those ever in use), and each process's.
        let owners = d.matches(of: #/<span class="owner" data-series="\d+"><i [^>]*></i>([^<]*) <b>(\d+)</b></span>/#).map { "\($0.output.1) \($0.output.2)" }
        XCTAssertEqual(owners, ["user memory 27", "user page tables 15", "trapframes 3", "zombies awaiting wait 0",
                                "kernel page table (boot) 73", "kernel stacks (procinit) 64"])
        XCTAssertTrue(d.contains(#"<tr data-pid="3"><td>3</td><td>20</td><td>5</td><td>0</td><td>1</td><td>0</td></tr>"#), "pid 3's share")
        XCTAssertEqual(d.matches(of: #/<polygon points="[^"]*" fill="#[0-9a-f]{6}" data-series="\d+">/#).count, 6, "one area per series in use")
    }

    func testExitThenWaitShowsTheTrapframeChangeThenTheWholeTableRemoved() throws {
        let page = try report("scenarios/xv6-2020/fork-exec-exit.yaml")
        let exit = rows(try dom(page, event: 9), pid: 3)
        XCTAssertEqual(exit.filter { !$0.hasPrefix("..") && !$0.hasPrefix("pid") },
                       ["changed | .. .. ..510: pte 0x0000000021fd90c7 pa 0x0000000087f64000 | VRW···AD | was 0x0000000021fd9047"])
        let waitDom = try dom(page, event: 10)      // one chromium launch for both looks at event 10
        let wait = rows(waitDom, pid: 3)
        XCTAssertEqual(wait.first, "pid 3, p-&gt;name \"echo\": user page table (gone at this event)")
        XCTAssertTrue(waitDom.contains(#"<div class="tables-count">1 table gone</div>"#))
        XCTAssertEqual(wait.count, 10, wait.joined(separator: "\n"))
        XCTAssertTrue(wait.dropFirst().allSatisfy { $0.hasPrefix("removed | ") }, wait.joined(separator: "\n"))
        XCTAssertEqual(wait[3], "removed | .. .. ..0: pte 0x0000000021fd0c1f pa 0x0000000087f43000 | VRWXU···")
    }

    func testANewTableShowsOnlyItsOwnEntriesNotWhatItsPageHeldBefore() throws {
        // The page fork took for pid 3's table under ..0 was a table page before, freed since:
        // the entries it held then (1 and 2) are not shown as "added" rows of pte 0.
        let page = try report("scenarios/xv6-2020/fork-exec-exit.yaml")
        let r = rows(try dom(page, event: 5), pid: 3)
        XCTAssertEqual(r.first, "pid 3, p-&gt;name \"sh\": user page table (new at this event)")
        XCTAssertEqual(r.count, 11, r.joined(separator: "\n"))
        XCTAssertTrue(r.dropFirst().allSatisfy { $0.hasPrefix("added | ") && !$0.contains("pte 0x0000000000000000") }, r.joined(separator: "\n"))
        XCTAssertEqual(r[7], "added | ..255: pte 0x0000000021fdd001 pa 0x0000000087f74000 | V·······")
    }

    func testForkUnderPgtblLabShowsTheChildsKernelTableAsNewAndFolded() throws {
        let page = try report("scenarios/pgtbl-lab/fork-exec-exit.yaml")
        let d = try dom(page, event: 5)
        XCTAssertEqual(text(d, id: "sum-variant"), "pgtbl-lab")
        XCTAssertEqual(rows(d, pid: 3, kind: "kernel"), [
            "pid 3, p-&gt;name \"sh\": kernel page table (new at this event)",
            "added | ..0: pte 0x0000000021fc5001 pa 0x0000000087f14000 | V·······",
            "added | ..2: pte 0x0000000021fc1801 pa 0x0000000087f06000 | V·······",
            "added | ..255: pte 0x0000000021fb1401 pa 0x0000000087ec5000 | V·······",
            "added | .. ..511: pte 0x0000000021fb1001 pa 0x0000000087ec4000 | V·······",
            "added | .. .. ..509: pte 0x0000000021fb0c07 pa 0x0000000087ec3000 | VRW·····",
            "added | .. .. ..511: pte 0x0000000020001c0b pa 0x0000000080007000 | VR·X····"])
        // The direct map under ..2 (32,768 leaves) is folded: its rows are drawn when opened.
        XCTAssertTrue(d.contains(#"<details><summary><div class="pte added" data-page="#), "a folded entry")
    }

    func testALeakIsCountedAndEachLeakedPageLinksToTheEventThatAllocatedIt() throws {
        let page = try report("scenarios/leaks/reparent2-shrunk.yaml")
        let d = try dom(page, event: 4)
        XCTAssertEqual(text(d, id: "sum-settings"), "free_kernel_pagetable=root-only")
        XCTAssertEqual(text(d, id: "sum-leaked"), "72")
        XCTAssertTrue(d.contains("<h3>71 leaked pages allocated by fork &gt; allocproc &gt; kvminit_newpgtbl &gt; kvm_map_pagetable &gt; kvmmap &gt; mappages &gt; walk</h3>"
                                 + ##"<ul><li>0x0000000087f1a000 allocated at <a href="#event=2">event 2</a></li>"##), "the leak report")
    }

    func testReportRefusesToWriteOverItsScenario() throws {
        let dir = try scratchDirectory(self)
        try FileManager.default.copyItem(atPath: root + "/scenarios/xv6-2020/boot.yaml", toPath: dir + "/boot.yaml")
        let same = try runCommand(CommandLineTests.binary, ["report", "boot.yaml", "-o", "./boot.yaml"], in: dir)
        XCTAssertEqual(same.status, 64)
        XCTAssertTrue(same.stderr.contains("-o ./boot.yaml is the scenario being read, boot.yaml; write the output to another file"), same.stderr)
        XCTAssertEqual(try String(contentsOfFile: dir + "/boot.yaml", encoding: .utf8),
                       try String(contentsOfFile: root + "/scenarios/xv6-2020/boot.yaml", encoding: .utf8))
        let missing = try runCommand(CommandLineTests.binary, ["report", "boot.yaml", "-o", "no/such/dir/r.html"], in: dir)
        XCTAssertEqual(missing.status, 74)
        XCTAssertTrue(missing.stderr.contains("could not write no/such/dir/r.html: its folder no/such/dir does not exist"), missing.stderr)
        try "events:\n  - fork: {parent: nobody}\n".write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let bad = try runCommand(CommandLineTests.binary, ["report", "bad.yaml", "-o", "r.html"], in: dir)
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.hasPrefix("bad.yaml:2:"), bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/r.html"))
        let ok = try runCommand(CommandLineTests.binary, ["report", "boot.yaml", "-o", "r.html"], in: dir)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.hasPrefix("wrote r.html: "), ok.stdout)
        let html = try String(contentsOfFile: dir + "/r.html", encoding: .utf8)
        XCTAssertFalse(html.contains("http://") && !html.contains("http://www.w3.org/2000/svg"), "no network")
        XCTAssertFalse(html.contains("<script src") || html.contains("<link"), "nothing outside the page")
    }

    /// Writes the report of the kernel log `name` (in docs/kernel-logs) and returns its path,
    /// what the command printed, and the page's data (the JSON the script reads).
    func logReport(_ name: String, _ extra: [String] = []) throws -> (page: String, stdout: String, data: [String: Any]) {
        let dir = try scratchDirectory(self)
        let out = dir + "/report.html"
        let r = try runCommand(CommandLineTests.binary, ["report", "docs/kernel-logs/" + name, "-o", out] + extra, in: root)
        XCTAssertEqual(r.status, 0, r.stderr)
        let html = try String(contentsOfFile: out, encoding: .utf8)
        let open = #"<script type="application/json" id="data">"#
        let body = try XCTUnwrap(html.range(of: open)).upperBound
        let end = try XCTUnwrap(html.range(of: "</script>", range: body..<html.endIndex)).lowerBound
        let data = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(html[body..<end].utf8)) as? [String: Any])
        return (out, r.stdout, data)
    }

    func testALogThatAgreesIsTheModelsEventsWithTheirLogLinesAndPagesByOwner() throws {
        let (_, stdout, d) = try logReport("pgtbl-boot.log.xz")
        XCTAssertEqual(stdout.split(separator: "\n").last, "AGREE: 808 events, every one the same")
        XCTAssertEqual(d["isLog"] as? Bool, true)
        XCTAssertEqual(d["variant"] as? String, "pgtbl-lab")
        XCTAssertEqual(d["kallocs"] as? Int, 366)
        XCTAssertEqual(d["kfrees"] as? Int, 126)
        let events = try XCTUnwrap(d["events"] as? [[Any]])
        XCTAssertEqual(events.count, 59)
        XCTAssertEqual(d["eventCount"] as? Int, 59)
        // label, log line, pid, kallocs, kfrees, free pages, (changes), kind
        let exec = events[6]
        XCTAssertEqual(exec[0] as? String, #"exec pid 1 "/init""#)
        XCTAssertEqual(exec[1] as? String, "pgtbl-boot.log.xz:194")
        XCTAssertEqual([exec[2], exec[3], exec[4], exec[5]] as? [Int], [1, 9, 7, 32572])
        XCTAssertEqual(exec[7] as? String, "exec")
        // user memory 3, user tables 5, pid 1's kernel table 73, its kernel stack and trapframe, the boot table 73.
        XCTAssertEqual(exec[8] as? [Int], [3, 5, 73, 1, 1, 0, 0, 73, 0, 0, 0])
        XCTAssertEqual(exec[9] as? [[Int]], [[1, 3, 5, 73, 2, 0]])
        let replay = try XCTUnwrap(d["replay"] as? [String: Any])
        XCTAssertEqual(replay["agrees"] as? Bool, true)
        XCTAssertEqual((replay["compared"] as? [[Any]])?.reduce(0) { $0 + ($1[1] as! Int) }, 808)
        XCTAssertEqual(replay["readToLine"] as? Int, 932)
        XCTAssertTrue(replay["departure"] is NSNull)
        XCTAssertEqual((d["findings"] as? [Any])?.count, 0)
    }

    func testALogThatDepartsShowsTheKernelsLinesAndTheModelsSideBySideWithTheModelsTable() throws {
        let (page, stdout, d) = try logReport("stock-leak-boot.log.xz")
        XCTAssertTrue(stdout.hasSuffix("DEPARTS at stock-leak-boot.log.xz:322: in exec of /init by pid 1, the kernel\n    frees 6 pages; the model frees 7: 1 page the kernel never frees\n"), stdout)
        let findings = try XCTUnwrap(d["findings"] as? [[Any]])
        XCTAssertEqual(findings.count, 1)
        XCTAssertEqual(findings[0][0] as? Int, 2)
        XCTAssertEqual(findings[0][1] as? String, "departure")
        let dep = try XCTUnwrap((d["replay"] as? [String: Any])?["departure"] as? [String: Any])
        XCTAssertEqual(dep["event"] as? Int, 2)
        XCTAssertEqual(dep["operation"] as? String, "exec of /init by pid 1, from log line 232")
        let kernel = try XCTUnwrap(dep["kernel"] as? [[Any]]), model = try XCTUnwrap(dep["model"] as? [[Any]])
        XCTAssertEqual(kernel.map { $0[0] as! Int }, [268, 269, 270, 322, 323, 324, 325])
        XCTAssertEqual(kernel.filter { $0[2] as! Bool }.map { $0[1] as! String }, ["allocproc pid=2"])
        XCTAssertEqual(model.map { $0[0] as! Int }, [2, 2, 2, 2, 5, 5, 5])
        XCTAssertEqual(model.filter { $0[2] as! Bool }.map { $0[1] as! String }, ["kfree pa=0x0000000087f6f000"])
        XCTAssertEqual(dep["kernelCounts"] as? String, "9 kalloc, 6 kfree, 5 map, 3 unmap, 5 freewalk")
        XCTAssertEqual(dep["modelCounts"] as? String, "9 kalloc, 7 kfree, 5 map, 3 unmap, 5 freewalk")
        let table = try XCTUnwrap((dep["tables"] as? [[String: Any]])?.first)
        XCTAssertEqual(table["name"] as? String, "user table")
        XCTAssertEqual(table["root"] as? String, "87f6e000")
        XCTAssertEqual(table["total"] as? Int, 9)
        XCTAssertEqual((table["rows"] as? [[Any]])?[2].prefix(4).map { "\($0)" }, ["2", "0", "21fdac1f", "0"])
        // In the browser: the two sides, the departing line of each marked.
        let dom = try dom(page, event: 2)
        XCTAssertEqual(text(dom, id: "sum-replay"), "departs")
        XCTAssertTrue(dom.contains(#"<div class="dline here" data-line="322"><span class="n">322</span><span>&gt; allocproc pid=2</span></div>"#), "the kernel's side")
        XCTAssertTrue(dom.contains(#"<div class="dline here" data-event="2"><span class="n">2</span><span>&gt; kfree pa=0x0000000087f6f000</span></div>"#), "the model's side")
        XCTAssertTrue(dom.contains(#"..0: pte 0x0000000021fdac1f pa 0x0000000087f6b000</span><span class="bits">VRWXU···</span>"#), "the model's table there")
    }

    func testAStudentKernelsLogUnderItsDesignSettingsAndBadLogs() throws {
        let settings = ["allocproc_kernel_table_first=true", "mirror_user_mappings=walk-copy", "scheduler_switch_back=false",
                        "exec_mirrors_after_free=true", "freeproc_kernel_table_first=true", "free_kernel_pagetable=unmap-all-then-freewalk"]
        let (_, stdout, d) = try logReport("jensenyan-boot.log.xz", settings.flatMap { ["--set", $0] })
        XCTAssertEqual(stdout.split(separator: "\n").last, "AGREE: 739 events, every one the same")
        XCTAssertEqual((d["settings"] as? [[String]])?.map { $0.joined(separator: "=") }.contains("mirror_user_mappings=walk-copy"), true)
        // Another student's kernel, without its settings: it parts in boot, where it maps the CLINT
        // the model does not; the model's global table (4 PTEs then) is listed with the maps it lacks.
        let (wpage, _, w) = try logReport("whileskies-boot.log.xz")
        let dep = try XCTUnwrap((w["replay"] as? [String: Any])?["departure"] as? [String: Any])
        XCTAssertEqual(dep["event"] as? Int, 0)
        let table = try XCTUnwrap((dep["tables"] as? [[String: Any]])?.first)
        XCTAssertEqual(table["name"] as? String, "global kernel table")
        XCTAssertEqual(table["total"] as? Int, 4)
        XCTAssertEqual((table["missing"] as? [[Any]])?.map { "\($0[0]) \($0[1])" },
                       ["9 your kernel maps 16 pages at va 0x0000000002000000 to pa 0x0000000002000000; the model has no PTE for any of them",
                        "11 your kernel maps 1,024 pages at va 0x000000000c000000 to pa 0x000000000c000000; the model has no PTE for any of them",
                        "14 your kernel maps 8 pages at va 0x0000000080000000 to pa 0x0000000080000000; the model has no PTE for any of them",
                        "17 your kernel maps 32,760 pages at va 0x0000000080008000 to pa 0x0000000080008000; the model has no PTE for any of them",
                        "81 your kernel maps 1 page at va 0x0000003ffffff000 to pa 0x0000000080007000; the model has no PTE for it"])
        // Beside it, the same table as the kernel's log says: the CLINT's 16 pages under the
        // table page the kernel's walk made, each map's line said once.
        let kernelRows = try XCTUnwrap(table["kernelRows"] as? [[Any]])
        XCTAssertEqual(kernelRows.count, 2086)
        XCTAssertEqual(kernelRows[1][2] is NSNull, true)
        XCTAssertEqual(kernelRows[2].prefix(4).map { "\($0)" }, ["2", "0", "800007", "2000000"])
        let wdom = try dom(wpage, event: 0)
        XCTAssertTrue(wdom.contains(#"<h4>the kernel's, as its log says</h4>"#), "the kernel's side")
        XCTAssertEqual(wdom.components(separatedBy: #"<div class="kwhy">log line 9: your kernel maps 16 pages from va 0x0000000002000000 here</div>"#).count, 2)
        XCTAssertTrue(wdom.contains(#"<div class="pte dpte kwrote"><span class="va">0x2000000</span><span class="vm">&gt; .. .. ..0: pte 0x0000000000800007 pa 0x0000000002000000</span>"#), "a PTE the kernel writes")
        let dir = try scratchDirectory(self)
        try "hello\n@T kalloc pa=0xzz\n".write(toFile: dir + "/bad.log", atomically: true, encoding: .utf8)
        let bad = try runCommand(CommandLineTests.binary, ["report", "bad.log", "-o", "r.html"], in: dir)
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.hasPrefix("bad.log:2:1: error: `pa=` takes an address"), bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/r.html"))
        try FileManager.default.copyItem(atPath: root + "/docs/kernel-logs/stock-boot.log", toPath: dir + "/stock-boot.log")
        let set = try runCommand(CommandLineTests.binary, ["report", "stock-boot.log", "--set", "nosuch=1", "-o", "r.html"], in: dir)
        XCTAssertEqual(set.status, 64)
        XCTAssertTrue(set.stderr.contains("unknown setting 'nosuch'"), set.stderr)
        let same = try runCommand(CommandLineTests.binary, ["report", "stock-boot.log", "-o", "./stock-boot.log"], in: dir)
        XCTAssertEqual(same.status, 64)
        XCTAssertTrue(same.stderr.contains("-o ./stock-boot.log is the kernel's log being read, stock-boot.log; write the output to another file"), same.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/stock-boot.log")),
                       try Data(contentsOf: URL(fileURLWithPath: root + "/docs/kernel-logs/stock-boot.log")))
        let missing = try runCommand(CommandLineTests.binary, ["report", "stock-boot.log", "-o", "no/such/dir/r.html"], in: dir)
        XCTAssertEqual(missing.status, 74)
    }

    func testTheTimelineFiltersByKindAndProcessFromTheLink() throws {
        let page = try report("scenarios/xv6-2020/fork-exec-exit.yaml")
        func visible(_ dom: String) -> [String] {
            dom.matches(of: #/<tr data-event="(\d+)" data-pid="\d*" data-kind="([a-z_]+)" title="[^"]*"( hidden="")?/#)
                .filter { $0.output.3 == nil }.map { "\($0.output.1) \($0.output.2)" }
        }
        let d = try dom(page + "#event=5&kind=fork", rawFragment: true)
        XCTAssertEqual(visible(d), ["3 fork", "5 fork"])
        XCTAssertEqual(text(d, id: "detail-title"), "Event 5: fork pid 2 -&gt; pid 3 (echo)")
        XCTAssertEqual(visible(try dom(page + "#event=6&pid=3&kind=sbrk", rawFragment: true)), ["6 sbrk"])
        XCTAssertEqual(visible(try dom(page + "#event=6&pid=3", rawFragment: true)), ["6 sbrk", "7 exec", "8 vmprint", "9 exit"])
    }

    func text(_ dom: String, id: String) -> String? {
        guard let r = dom.range(of: "id=\"\(id)\">") else { return nil }
        return String(dom[r.upperBound...].prefix { $0 != "<" })
    }
}
