import Foundation
import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport
import XV6

/// The `touch` event: user code accessing memory through the MMU, and usertrap's answer.
final class TouchTests: XCTestCase {
    func trace(_ yaml: String, file: String = "t.yaml") throws -> (RunResult, [String]) {
        let s = try ScenarioCompiler.compile(bytes: Array(yaml.utf8), file: file)
        let w = TraceWriter(format: .text, sites: .init())
        let (result, _) = Runner.run(s, writer: w)
        let lines = String(decoding: w.bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        return (result, Array(lines.drop { !$0.hasPrefix("event 4 ") }))
    }

    static let initWithChild = """
        events:
          - userinit: init
          - exec: {proc: init, path: /init, argv: [init], segments: [{vaddr: 0, memsz: 0x1000}]}
          - fork: {parent: init, child: c}

        """

    /// In the stock kernel a store to the guard page (no PTE_U) is an unexpected fault:
    /// usertrap prints stock xv6's two lines and kills the process, which exits -1.
    func testAnUnexpectedFaultPrintsUsertrapsLinesAndKills() throws {
        let (result, lines) = try trace(Self.initWithChild + "  - touch: {proc: c, va: 0x1008, access: store, killed: true}\n  - wait: init\n")
        XCTAssertEqual(result.exitCode, 0)
        let body = lines.filter { !$0.hasPrefix("satp") && !$0.hasPrefix("sfence") && !$0.hasPrefix("sched") }
        XCTAssertEqual(Array(body.prefix(7)), [
            "event 4 t.yaml:5:5 touch pid 2 va 0x1008 store (killed)",
            "trap      hart 0 pid 1 timer",                  // init was running: preempted
            "store     pid 2 va 0x0000000000001008 page fault",
            "trap      hart 0 pid 2 fault",
            "usertrap(): unexpected scause 0x000000000000000f pid=2",
            "            sepc=(not modelled) stval=0x0000000000001008",
            "zombie    pid 2 status -1",
        ])
        // No handler in the stock kernel: no pagefault line.
        XCTAssertFalse(lines.contains { $0.hasPrefix("pagefault") })
    }

    /// A touch the scenario does not expect to kill, that kills, is a skipped event; and the
    /// other way round. Both make the run fail.
    func testATouchThatKillsOrNotAgainstWhatTheScenarioSaysIsReported() throws {
        let (killed, _) = try trace(Self.initWithChild + "  - touch: {proc: c, va: 0x1008, access: load}\n")
        XCTAssertEqual(killed.skipped, [4])
        XCTAssertEqual(killed.exitCode, 1)
        let (lived, _) = try trace(Self.initWithChild + "  - touch: {proc: c, va: 0x0, access: exec, killed: true}\n")
        XCTAssertEqual(lived.skipped, [4])
    }

    /// Under cow-lab the child's store to its stack (shared, count 2) is the lab's fault: the
    /// handler copies the page and the store is made again, into the copy.
    func testUnderCowLabAStoreToASharedPageIsCopiedAndMadeAgain() throws {
        let (result, lines) = try trace("kernel: {variant: cow-lab}\n" + Self.initWithChild + "  - touch: {proc: c, va: 0x2fa8, access: store}\n")
        XCTAssertEqual(result.exitCode, 0)
        let body = lines.filter { !$0.hasPrefix("satp") && !$0.hasPrefix("sfence") && !$0.hasPrefix("sched") && !$0.hasPrefix("end") }
        // The stack page 0x87f67000 is init's, shared at the fork (as in cow-boot.log.xz line
        // 337); the copy is the next free page, the one the real sh's exec takes (line 343).
        XCTAssertEqual(body, [
            "event 4 t.yaml:6:5 touch pid 2 va 0x2fa8 store",
            "trap      hart 0 pid 1 timer",
            "store     pid 2 va 0x0000000000002fa8 page fault",
            "trap      hart 0 pid 2 fault",
            "pagefault pid 2 scause 0xf va 0x0000000000002fa8",
            "kalloc    0x0000000087f72000 pid 2 usertrap > uvmcowcopy > kcopy_n_deref",
            "refdec    0x0000000087f67000 count 1 pid 2",
            "unmap     user:2 0x0000000087f75000 va 0x0000000000002000 npages 1 keep",
            "map       user:2 0x0000000087f75000 va 0x0000000000002fa8 size 0x1 pa 0x0000000087f72000 rwxu---",
            "store     pid 2 va 0x0000000000002fa8 pa 0x0000000087f72fa8",
        ])
    }

    func testTouchMistakesAreCompileErrorsWithTheirPosition() {
        let d = compileErrors("""
            events:
              - userinit
              - touch: {proc: init, va: 0x0, access: stor}
              - touch: {proc: init, va: 0x0}
              - touch: {proc: init, va: 0x0, acess: load}
              - touch: init
            """)
        XCTAssertEqual(d.map { "\($0.location.line):\($0.location.column) \($0.message)" }, [
            "3:42 unknown access 'stor'; expected load, store or exec (did you mean 'store'?)",
            "4:12 `touch` needs `proc`, `va` and `access`",
            "5:34 unknown key 'acess'; expected one of: proc, va, access, killed, pages, stride (did you mean 'access'?)",
            "5:12 `touch` needs `proc`, `va` and `access`",
            "6:12 `touch` needs a mapping: `touch: {proc: sh, va: 0x1000, access: store}`",
        ])
    }

    /// The writer writes `touch` back as the compiler reads it, `exec` for a fetch.
    func testTouchIsWrittenBackAsWritten() throws {
        let s = try ScenarioCompiler.compile(bytes: Array((Self.initWithChild + "  - touch: {proc: c, va: 0x1000, access: exec, killed: true}\n").utf8), file: "t.yaml")
        XCTAssertEqual(ScenarioWriter.line(s.events[4], { $0 == 2 ? "c" : "init" }), "touch: {proc: c, va: 0x1000, access: exec, killed: true}")
        XCTAssertEqual(s.events[4].kind, .touch(pid: 2, va: 0x1000, .fetch, killed: true, pages: 1))
    }

    /// `pages: N` makes the same access in N pages; a fault that kills stops it there.
    func testATouchOfSeveralPagesStopsAtTheFaultThatKills() throws {
        let (result, lines) = try trace(Self.initWithChild + "  - touch: {proc: c, va: 0x10, access: store, pages: 3, killed: true}\n")
        XCTAssertEqual(result.exitCode, 0)
        XCTAssertEqual(lines.filter { $0.hasPrefix("store ") }, [
            "store     pid 2 va 0x0000000000000010 pa 0x0000000087f71010",
            "store     pid 2 va 0x0000000000001010 page fault",      // the guard page: no PTE_U
        ])
        let (lived, _) = try trace(Self.initWithChild + "  - touch: {proc: c, va: 0x10, access: load, pages: 1, killed: true}\n")
        XCTAssertEqual(lived.skipped, [4])
        let d = compileErrors(Self.initWithChild + "  - touch: {proc: c, va: 0xfffffffffffff000, access: load, pages: 2}\n"
                              + "  - touch: {proc: c, va: 0x0, access: load, pages: 0}\n")
        XCTAssertEqual(d.map { "\($0.location.line):\($0.location.column) \($0.message)" }, [
            "5:12 `touch` of 2 pages from 0xfffffffffffff000 goes beyond the largest address",
            "6:52 0 is out of range; expected 1...0x100000",
        ])
    }
}
