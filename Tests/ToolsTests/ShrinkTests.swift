import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport

/// Shrinking keeps what the original shows, and gets small.
final class ShrinkTests: XCTestCase {
    func contents(_ path: String) -> String {
        String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }

    func testReparent2WithRootOnlyFreeShrinksToFourEventsThatLeakAtTheSameSite() throws {
        let path = scenarioPath("leaks/reparent2-root-only.yaml")
        let s = try ScenarioCompiler.compile(path: path)
        let predicate = try Shrink.Predicate("leak", original: s)
        XCTAssertEqual(predicate, .leak(site: "fork > allocproc > kvminit_newpgtbl > kvm_map_pagetable > kvmmap > mappages > walk"))
        let r = try XCTUnwrap(Shrink.run(s, file: path, predicate: predicate))
        XCTAssertEqual(r.before, 9610)
        XCTAssertEqual(r.after, 4)
        XCTAssertEqual(r.afterExpanded, 4)
        // The checked-in small scenario is exactly what shrink writes.
        XCTAssertEqual(r.yaml, contents(scenarioPath("leaks/reparent2-shrunk.yaml")))
        XCTAssertTrue(r.yaml.hasSuffix("""
            events:
              - userinit: p1
              - fork: {parent: p1, child: p2}
              - exit: {proc: p2, status: 0}
              - wait: p1

            """))
        let small = try ScenarioCompiler.compile(bytes: Array(r.yaml.utf8), file: "small.yaml")
        XCTAssertTrue(predicate.holds(small))
        XCTAssertFalse(Shrink.Predicate.leak(site: "fork > allocproc").holds(small))     // specific: not another site
    }

    /// Running out of memory needs hundreds of rounds: the small scenario keeps them as a
    /// repeat, with the fewest rounds that still end in the same panic.
    func testAnExhaustionPanicShrinksToARepeatOfForkExitWait() throws {
        let path = scenarioPath("leaks/reparent2-root-only.yaml")
        let s = try ScenarioCompiler.compile(path: path)
        let predicate = try Shrink.Predicate("panic", original: s)
        XCTAssertEqual(predicate, .panic("kvmmap"))
        let r = try XCTUnwrap(Shrink.run(s, file: path, predicate: predicate))
        XCTAssertEqual(r.before, 9610)
        XCTAssertEqual(r.after, 5)
        XCTAssertEqual(r.afterExpanded, 1 + 453 * 3)
        XCTAssertEqual(r.yaml, contents(scenarioPath("leaks/reparent2-exhausted.yaml")))
        XCTAssertTrue(r.yaml.hasSuffix("""
            golden: digest
            events:
              - userinit: p1
              - repeat: 453
                events:
                  - fork: {parent: p1, child: c1}
                  - exit: {proc: c1, status: 0}
                  - wait: p1

            """), r.yaml)
        let small = try ScenarioCompiler.compile(bytes: Array(r.yaml.utf8), file: "small.yaml")
        let (run, _) = Runner.run(small, writer: nil)
        XCTAssertEqual(run.panic?.message, "kvmmap")
        XCTAssertEqual(run.panicEvent, 1 + 452 * 3 + 1)            // the last round's fork
        // One round fewer and memory lasts.
        let fewer = try ScenarioCompiler.compile(bytes: Array(r.yaml.replacingOccurrences(of: "repeat: 453", with: "repeat: 452").utf8), file: "fewer.yaml")
        XCTAssertNil(Runner.run(fewer, writer: nil).0.panic)
    }

    /// A sweep's finding: the N-th kalloc from boot becomes a `fail_kalloc` event just before
    /// the event that makes it, and every candidate must fail a kalloc at the same site.
    func testASweepFindingShrinksWithTheSameAllocationFailing() throws {
        var s = try ScenarioCompiler.compile(path: scenarioPath("pgtbl-lab/fork-exec-exit.yaml"))
        s.config.settings.failKalloc = 260                     // sweep: call 260, event 5, panic: kvmpa
        let predicate = try Shrink.Predicate("panic", original: s)
        XCTAssertEqual(predicate, .panic("kvmpa"))
        let r = try XCTUnwrap(Shrink.run(s, file: "fork-exec-exit.yaml", predicate: predicate))
        XCTAssertTrue(r.yaml.contains("# The kalloc made to fail is at fork > allocproc > proc_pagetable > mappages > walk, as in the original.\n"), r.yaml)
        XCTAssertTrue(r.yaml.hasSuffix("""
            kernel: {variant: pgtbl-lab}
            check: true
            events:
              - userinit: p1
              - fail_kalloc: 3
              - fork: {parent: p1, child: p2}

            """), r.yaml)
        // The third kalloc of fork: its trapframe, its user table's root, then this walk.
        let small = try ScenarioCompiler.compile(bytes: Array(r.yaml.utf8), file: "small.yaml")
        let beforeFork = try XCTUnwrap(Runner.run(small, writer: nil, stopAfter: 1).1).kallocCalls
        XCTAssertEqual(Runner.run(small, writer: nil).1?.injectedFailure.map { $0.call }, beforeFork + 3)
        // In userinit, the failure comes first.
        s.config.settings.failKalloc = 74
        let first = try XCTUnwrap(Shrink.run(s, file: "fork-exec-exit.yaml", predicate: .panic("kerneltrap")))
        XCTAssertTrue(first.yaml.hasSuffix("events:\n  - fail_kalloc: 1\n  - userinit: p1\n"), first.yaml)
    }

    func testPredicatesNeedTheOriginalToShowThem() throws {
        let s = try ScenarioCompiler.compile(path: scenarioPath("xv6-2020/boot.yaml"))
        for (text, why) in [("panic", "the original run does not panic"), ("leak", "the original run leaks nothing"),
                            ("expect", "every expectation of the original holds"), ("invariant", "the original run breaks no invariant"),
                            ("golden:exec_vmprint=pid1", "the original's trace is the same under the reference kernel (exec_vmprint=pid1)")] {
            XCTAssertThrowsError(try Shrink.Predicate(text, original: s)) { XCTAssertEqual(($0 as? Shrink.PredicateError)?.description, why) }
        }
        XCTAssertThrowsError(try Shrink.Predicate("nonsense", original: s)) {
            XCTAssertTrue("\($0)".hasPrefix("'nonsense' is not a predicate; expected one of panic,"), "\($0)")
        }
        XCTAssertThrowsError(try Shrink.Predicate("golden:free_kernel_pagetable=some", original: s)) {
            XCTAssertTrue("\($0)".contains("free_kernel_pagetable"), "\($0)")
        }
        // Named in full, it must still be what the original shows.
        XCTAssertThrowsError(try Shrink.Predicate("panic:kvmmap", original: s)) { XCTAssertEqual("\($0)", "the original run does not show panic:kvmmap") }
    }

    /// stale-tlb.yaml switches satp without sfence.vma; the smallest run that still
    /// translates through a stale TLB.
    func testAnInvariantViolationShrinksToTheSameReport() throws {
        let path = scenarioPath("pgtbl-lab/stale-tlb.yaml")
        let s = try ScenarioCompiler.compile(path: path)
        let predicate = try Shrink.Predicate("invariant", original: s)
        XCTAssertEqual(predicate, .invariant("hart # translated # (trap path fetch) after a satp write with no sfence.vma since: the TLB may hold the previous table's entries"))
        let r = try XCTUnwrap(Shrink.run(s, file: path, predicate: predicate))
        XCTAssertEqual(r.before, 6)
        // exec runs p1: a satp write with no sfence.vma, then the trap path's fetch of the trampoline.
        XCTAssertTrue(r.yaml.hasSuffix("""
            kernel: {variant: pgtbl-lab, scheduler_switch_back: false, scheduler_sfence: false, trampoline_sfence: false}
            check: true
            events:
              - userinit: p1
              - exec: {proc: p1, path: "/init", argv: ["init"], segments: [{vaddr: 0x0, memsz: 0x0, filesz: 0x0}], entry: 0x0}

            """), r.yaml)
        let small = try ScenarioCompiler.compile(bytes: Array(r.yaml.utf8), file: "small.yaml")
        XCTAssertTrue(predicate.holds(small))
        XCTAssertFalse(Shrink.Predicate.invariant("the free list links to #, which is not a free page of RAM").holds(small))
    }

    // MARK: golden differences

    /// A scenario edited from free_kernel_pagetable recursive to root-only departs from
    /// its golden at the first freeproc; shrink finds the four events that show it, running
    /// the golden's side under the kernel the golden's header records.
    func testAGoldenDifferenceShrinksAgainstTheKernelTheGoldenRecords() throws {
        let root = try temporaryDirectory(self)
        let store = GoldenStore(root: root)
        try FileManager.default.createDirectory(atPath: root + "/scenarios", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/golden", withIntermediateDirectories: true)
        let events = """
            events:
              - userinit: init
              - fork: {parent: init, child: sh}
              - exec: {proc: sh, path: /sh, argv: [sh], segments: [{vaddr: 0, memsz: 0x2000}]}
              - fork: {parent: sh, child: a}
              - sbrk: {proc: a, n: 0x3000}
              - fork: {parent: sh, child: b}
              - exit: a
              - exit: b
              - wait: sh
              - wait: sh
            """
        let path = root + "/scenarios/edited.yaml"
        try Data("kernel: {variant: pgtbl-lab}\n\(events)\n".utf8).write(to: URL(fileURLWithPath: path))
        let blessed = Golden.check(path, store: store)
        try Golden.writeAtomically(blessed.trace, to: blessed.golden)
        // Unchanged: nothing to keep.
        var s = try ScenarioCompiler.compile(path: path)
        XCTAssertThrowsError(try Shrink.Predicate("golden", original: s, file: path, store: store)) {
            XCTAssertEqual("\($0)", "its trace matches \(blessed.golden); there is no difference to keep")
        }
        // Edited events, same kernel: shrink cannot run the golden's side.
        try Data("kernel: {variant: pgtbl-lab}\n\(events)\n  - exit: sh\n  - wait: init\n".utf8).write(to: URL(fileURLWithPath: path))
        s = try ScenarioCompiler.compile(path: path)
        XCTAssertThrowsError(try Shrink.Predicate("golden", original: s, file: path, store: store)) {
            XCTAssertTrue("\($0)".hasPrefix("\(blessed.golden) was written under the same kernel settings"), "\($0)")
        }
        // Edited kernel.
        try Data("kernel: {variant: pgtbl-lab, free_kernel_pagetable: root-only}\n\(events)\n".utf8).write(to: URL(fileURLWithPath: path))
        s = try ScenarioCompiler.compile(path: path)
        guard case .changed(let diff) = Golden.check(path, store: store).outcome else { return XCTFail("the edit should change the trace") }
        XCTAssertEqual(diff.expected, "setting   free_kernel_pagetable recursive")  // check's report starts at the header
        let predicate = try Shrink.Predicate("golden", original: s, file: path, store: store)
        guard case let .golden(reference, expected, actual) = predicate else { return XCTFail("\(predicate)") }
        XCTAssertEqual(reference, ["free_kernel_pagetable=recursive"])            // what the golden's header has otherwise
        XCTAssertEqual(expected, "kvmfree #")                                       // the recursive free begins
        XCTAssertEqual(actual, "kfree # pid # wait > freeproc")
        let r = try XCTUnwrap(Shrink.run(s, file: path, predicate: predicate))
        XCTAssertEqual(r.before, 10)
        XCTAssertTrue(r.yaml.hasSuffix("""
            # The first lines that differ (numbers masked):
            #   golden:   kvmfree #
            #   this run: kfree # pid # wait > freeproc
            description: shrunk from edited.yaml
            kernel: {variant: pgtbl-lab, free_kernel_pagetable: root-only}
            events:
              - userinit: p1
              - fork: {parent: p1, child: p2}
              - exit: {proc: p2, status: 0}
              - wait: p1

            """), r.yaml)
        // Specific: the same events under another reference depart elsewhere, or not at all.
        let small = try ScenarioCompiler.compile(bytes: Array(r.yaml.utf8), file: "small.yaml")
        XCTAssertTrue(predicate.holds(small))
        XCTAssertFalse(Shrink.Predicate.golden(reference: ["free_kernel_pagetable=none"], expected: expected, actual: actual).holds(small))
    }

    /// The golden's header records the image too: a smaller RAM departs at kinit's line,
    /// which differs only in its numbers.
    func testAGoldenDifferenceInTheImageIsNamedByItsKey() throws {
        let path = scenarioPath("pgtbl-lab/fork-exec-exit.yaml")
        var s = try ScenarioCompiler.compile(path: path)
        XCTAssertNil(s.apply(overrides: ["phystop=0x87000000"]))
        let predicate = try Shrink.Predicate("golden", original: s, file: path, store: GoldenStore(root: packageRoot))
        XCTAssertEqual(predicate, .golden(reference: ["phystop=0x88000000"], expected: "kinit free # pages [#, #)", actual: "kinit free # pages [#, #)"))
        let r = try XCTUnwrap(Shrink.run(s, file: path, predicate: predicate, overrides: ["phystop=0x87000000"]))
        XCTAssertTrue(r.yaml.contains("# The first lines that differ (only in their numbers, masked here):\n"), r.yaml)
        XCTAssertTrue(r.yaml.contains("kernel: {variant: pgtbl-lab, phystop: 0x87000000}\n"), r.yaml)
    }

    func testMaskingKeepsWordsAndSitesAndHidesNumbers() {
        XCTAssertEqual(Shrink.Predicate.mask("kalloc    0x0000000087fff000 pid 12 fork > allocproc"), "kalloc # pid # fork > allocproc")
        XCTAssertEqual(Shrink.Predicate.mask("map       kernel 0x0000000087fff000 va 0x10000000 size 0x1000 pa 0x10000000 rw-----"),
                       "map kernel # va # size # pa # rw-----")
        XCTAssertEqual(Shrink.Predicate.mask("event 17 - fork pid 4 -> pid 5 (c) [round 2/800]"), "event")
        XCTAssertEqual(Shrink.Predicate.mask("expected pid 5's va 0x0000000000001000 to be mapped, but it is not"), "expected pid #'s va # to be mapped, but it is not")
        XCTAssertEqual(Shrink.Predicate.mask("unmap kernel 0x87f00000 va 0x2000 c1 p12 sv39"), "unmap kernel # va # c1 p12 sv39")
    }

    /// `expect` keeps the first failed expectation's report (numbers masked), not any other.
    func testAFailedExpectationShrinksToTheSameReport() throws {
        let yaml = """
            kernel: {variant: xv6-2020}
            events:
              - userinit: init
              - fork: {parent: init, child: a}
              - sbrk: {proc: a, n: 0x5000}
              - fork: {parent: init, child: b}
              - expect: {mapped: {proc: a, va: 0x9000}}
              - exit: a
              - wait: init
              - expect: {free_pages: 5}
            """
        let s = try ScenarioCompiler.compile(bytes: Array(yaml.utf8), file: "expect.yaml")
        let predicate = try Shrink.Predicate("expect", original: s)
        XCTAssertEqual(predicate, .failedExpectation("expected pid #'s va # to be mapped, but it is not"))
        let r = try XCTUnwrap(Shrink.run(s, file: "expect.yaml", predicate: predicate))
        XCTAssertTrue(r.yaml.hasSuffix("""
            events:
              - userinit: p1
              - expect: {mapped: {proc: p1, va: 0x9000}}

            """), r.yaml)
        // A report pasted as printed is masked the same way.
        XCTAssertEqual(try Shrink.Predicate("expect:expected pid 2's va 0x0000000000009000 to be mapped, but it is not", original: s), predicate)
        let other = try ScenarioCompiler.compile(bytes: Array("events:\n  - userinit: init\n  - expect: {free_pages: 5}\n".utf8), file: "other.yaml")
        XCTAssertFalse(Runner.run(other, writer: nil).0.failedExpectations.isEmpty)
        XCTAssertFalse(predicate.holds(other))
    }

    // MARK: the scenario's shape

    /// Every checked-in scenario, taken back to lines and repeats and written out, compiles
    /// to the same events; the long ones keep their repeats.
    func testEveryScenarioRerollsToTheSameEvents() throws {
        let store = GoldenStore(root: packageRoot)
        let all = store.scenarios([])
        XCTAssertEqual(all.count, 31)
        for path in all {
            let s = try ScenarioCompiler.compile(path: path)
            let items = Shrink.program(s.events)
            let again = try ScenarioCompiler.compile(bytes: Array(ScenarioWriter.yaml(items, s, header: []).utf8), file: "again.yaml")
            XCTAssertEqual(again.events.map(\.kind), s.events.map(\.kind), path)
            XCTAssertEqual(again.config, s.config, path)
            XCTAssertEqual(Shrink.expanded(items), s.events.count - 1, path)
        }
        let reparent2 = try ScenarioCompiler.compile(path: scenarioPath("leaks/reparent2.yaml"))
        let items = Shrink.program(reparent2.events)
        XCTAssertEqual(Shrink.loops(items), 1)
        XCTAssertEqual(items.count, 8 + 1 + 1 + 1)         // usertests.inc's 8, baseline, the repeat, expect
        guard case let .loop(count, body) = items[9] else { return XCTFail("\(items[9])") }
        XCTAssertEqual(count, 800)
        XCTAssertEqual(body.first, .line("fork: {parent: p4, child: c1}"))
        XCTAssertEqual(body[3], .line("fork: {parent: c2, child: c4}"))
    }

    func testRoundsThatDifferStayUnrolledAndNestedRepeatsNest() throws {
        let yaml = """
            events:
              - userinit: init
              - repeat: 2
                events:
                  - fork: {parent: init, child: a}
                  - repeat: 3
                    events:
                      - fork: {parent: a, child: b}
                      - exit: b
                      - wait: a
                  - exit: a
                  - wait: init
              - repeat: 70
                events:
                  - fork: {parent: init, child: x}
            """
        let s = try ScenarioCompiler.compile(bytes: Array(yaml.utf8), file: "nested.yaml")
        let items = Shrink.program(s.events)
        XCTAssertEqual(items.first, .line("userinit: p1"))
        XCTAssertEqual(items[1], .loop(2, [.line("fork: {parent: p1, child: c1}"),
                                            .loop(3, [.line("fork: {parent: c1, child: c2}"), .line("exit: {proc: c2, status: 0}"), .line("wait: c1")]),
                                            .line("exit: {proc: c1, status: 0}"), .line("wait: p1")]))
        // 64 processes fit: from the 64th round on, fork fails and names no child.
        XCTAssertEqual(items.count, 2 + 70)
        XCTAssertEqual(items[2], .line("fork: {parent: p1, child: p10}"))
        XCTAssertEqual(items.last, .line("fork: {parent: p1}"))
    }

    /// A process a repeat created can still be named by its pid after the repeat.
    func testAProcessNamedByPidAfterItsRepeatStaysNamedByPid() throws {
        let yaml = """
            events:
              - userinit: init
              - repeat: 2
                events:
                  - fork: {parent: init, child: c}
              - exit: 2
              - wait: init
            """
        let s = try ScenarioCompiler.compile(bytes: Array(yaml.utf8), file: "pid.yaml")
        let items = Shrink.program(s.events)
        XCTAssertEqual(items, [.line("userinit: p1"), .loop(2, [.line("fork: {parent: p1, child: c1}")]),
                               .line("exit: {proc: 2, status: 0}"), .line("wait: p1")])
        let again = try ScenarioCompiler.compile(bytes: Array(ScenarioWriter.yaml(items, s, header: []).utf8), file: "again.yaml")
        XCTAssertEqual(again.events.map(\.kind), s.events.map(\.kind))
    }

    func testRenamingLeavesQuotedPathsAndArgvAlone() throws {
        let yaml = """
            events:
              - userinit: p1
              - fork: {parent: p1, child: p12}
              - exec: {proc: p1, path: "/p1", argv: ["p1", "a\\"p1"], segments: []}
            """
        let s = try ScenarioCompiler.compile(bytes: Array(yaml.utf8), file: "rename.yaml")
        let steps = Shrink.flatten(Shrink.pieces(s.events))
        XCTAssertEqual(steps[2].renamed("p1", to: "p9").text, #"exec: {proc: p9, path: "/p1", argv: ["p1", "a\"p1"], segments: [], entry: 0x0}"#)
        XCTAssertEqual(steps[1].renamed("p2", to: "p9").text, "fork: {parent: p1, child: p9}")
    }

    func testTruncationKeepsWholeRounds() {
        let items: [Shrink.Item] = [.line("a"), .loop(10, [.line("b"), .line("c")]), .line("d")]
        XCTAssertEqual(Shrink.truncate(items, keeping: 1), [.line("a")])
        XCTAssertEqual(Shrink.truncate(items, keeping: 4), [.line("a"), .loop(2, [.line("b"), .line("c")])])
        XCTAssertEqual(Shrink.truncate(items, keeping: 5), [.line("a"), .loop(2, [.line("b"), .line("c")])])
        XCTAssertEqual(Shrink.truncate(items, keeping: 6), [.line("a"), .loop(3, [.line("b"), .line("c")])])
        XCTAssertEqual(Shrink.truncate(items, keeping: 22), items)
    }
}

final class ShrinkNumbersTests: XCTestCase {
    func testNumbersShrinkToTheSmallestThatStillShowsThePanic() throws {
        let yaml = """
            kernel: {variant: pgtbl-lab, clint_in_process_table: true}
            events:
              - userinit: init
              - exec: {proc: init, path: /init, argv: [init], segments: [{vaddr: 0, memsz: 0x1000}]}
              - fork: {parent: init, child: a}
              - sbrk: {proc: a, n: 0x3000000}
              - exit: a
              - wait: init
            """
        let s = try ScenarioCompiler.compile(bytes: Array(yaml.utf8), file: "clint.yaml")
        let predicate = try Shrink.Predicate("panic", original: s)
        XCTAssertEqual(predicate, .panic("remap"))
        let r = try XCTUnwrap(Shrink.run(s, file: "clint.yaml", predicate: predicate))
        // initcode's one page, then exactly enough to reach CLINT's first page at 0x2000000.
        XCTAssertTrue(r.yaml.hasSuffix("""
            events:
              - userinit: p1
              - sbrk: {proc: p1, n: 33550337}

            """), r.yaml)
        XCTAssertEqual(0x1000 + 33550337, 0x200_0001)
    }
}
