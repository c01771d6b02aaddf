import Foundation
import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport
import XV6

final class CompilerTests: XCTestCase {
    func testNamesResolveToThePidsTheKernelHandsOut() throws {
        let s = try ScenarioCompiler.compile(bytes: Array("""
            events:
              - userinit: init
              - fork: {parent: init, child: a}
              - fork: {parent: init, child: b}
              - exit: a
              - wait: init
              - fork: {parent: b, child: c}
              - exec: {proc: c, path: /x, argv: [x], segments: [{vaddr: 0, memsz: 1}]}
            """.utf8), file: "names.yaml")
        XCTAssertEqual(s.events.map(\.label), [
            "boot", "userinit -> pid 1 (init)", "fork pid 1 -> pid 2 (a)", "fork pid 1 -> pid 3 (b)",
            "exit pid 2 status 0", "wait pid 1 -> pid 2", "fork pid 3 -> pid 4 (c)", #"exec pid 4 "/x" ["x"]"#,
        ])
        XCTAssertEqual(s.events[6].kind, .syscall(pid: 3, .fork))
        XCTAssertEqual(s.events[6].location, SourceLocation(file: "names.yaml", line: 7, column: 5))
        XCTAssertEqual(s.config, KernelConfig())
    }

    func testEveryProblemInAFileIsReportedWithItsPosition() {
        let d = compileErrors("""
            kernal: {variant: xv6-2020}
            events:
              - userinit
              - fork: {parent: int, child: sh}
              - wait: init
              - sbrk: {proc: init, n: 99999999999}
              - frok: init
            """)
        XCTAssertEqual(d.map { "\($0.location.line):\($0.location.column) \($0.message)" }, [
            "1:1 unknown key 'kernal'; expected one of: kernel, events, description, check, golden, define (did you mean 'kernel'?)",
            "4:20 no process named 'int' (did you mean 'init'?)",
            "5:11 pid 1 has no children to wait for",
            "6:27 99999999999 is out of range; expected a byte count that fits sbrk's int argument: -2147483648...2147483647",
            "7:5 unknown event 'frok'; expected one of: userinit, fork, exec, sbrk, exit, wait, vmprint, run, copyin, copyinstr, copyout, load, store, fetch, touch, pipe, close, yield, sleep, repeat, baseline, expect, fail_kalloc (did you mean 'fork'?)",
        ])
        XCTAssertEqual(d[1].rendered, """
            t.yaml:4:20: error: no process named 'int' (did you mean 'init'?)
                - fork: {parent: int, child: sh}
                                 ^
            """)
    }

    func testProcessLifecycleMistakesAreCompileErrors() {
        let d = compileErrors("""
            events:
              - userinit
              - fork: {parent: init, child: a}
              - wait: init
              - exit: a
              - fork: {parent: a, child: b}
              - wait: init
              - exit: a
              - fork: {parent: init, child: init}
            """)
        XCTAssertEqual(d.map { "\($0.location.line):\($0.location.column) \($0.message)" }, [
            "4:11 wait by pid 1 would block: none of its children (pid 2) has exited yet",
            "6:20 pid 2 exited at line 5 and is a zombie; it cannot fork",
            "8:11 pid 2 was reaped by wait at line 7; it cannot exit",
            "9:5 the name 'init' is taken by pid 1, which has not been reaped",
        ])
    }

    func testTheFirstEventMustBeUserinitAndRunsOnce() {
        XCTAssertEqual(compileErrors("events:\n  - fork: init\n").map(\.message),
                       ["`fork` before `userinit`: the first process event must be `userinit`, which creates pid 1"])
        // A failure to inject into userinit itself, and a baseline, need no process.
        XCTAssertEqual(try ScenarioCompiler.compile(bytes: Array("events:\n  - baseline\n  - fail_kalloc: 1\n  - userinit\n".utf8), file: "t.yaml").events.count, 4)
        XCTAssertEqual(compileErrors("events:\n  - userinit\n  - userinit\n").map(\.message),
                       ["`userinit` runs once, at boot; pid 1 already exists"])
        XCTAssertEqual(compileErrors("events: []\n").map(\.message), ["the `events` list is empty; a scenario starts with `userinit`"])
        XCTAssertEqual(compileErrors("description: x\n").map(\.message),
                       ["missing `events`: the list of what processes do, starting with `userinit`"])
    }

    func testYAMLSyntaxErrorsKeepLibYAMLsPosition() {
        let d = compileErrors("events:\n  - userinit\n  - fork: {parent: init\n")
        XCTAssertEqual(d.count, 1)
        XCTAssertEqual(d[0].location, SourceLocation(file: "t.yaml", line: 4, column: 1))
        XCTAssertTrue(d[0].message.hasPrefix("YAML syntax: did not find expected ',' or '}'"), d[0].message)
    }

    func testDuplicateKeysNonUTF8AndMissingFilesAreErrors() {
        XCTAssertEqual(compileErrors("events:\n  - userinit\n  - exit: {proc: init, proc: x}\n").map(\.message),
                       ["duplicate key 'proc' in a mapping"])
        do {
            _ = try ScenarioCompiler.compile(bytes: Array("events:\n  - userinit: \"".utf8) + [0xff, 0x22, 0x0a], file: "u.yaml")
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.diagnostics.map(\.location), [SourceLocation(file: "u.yaml", line: 2, column: 16)])
            XCTAssertEqual(error.diagnostics.map(\.message), ["the file is not valid UTF-8"])
        }
        XCTAssertThrowsError(try ScenarioCompiler.compile(path: "/nonexistent/x.yaml")) { e in
            XCTAssertEqual((e as? ScenarioError)?.diagnostics.first?.message, "no such file")
        }
        XCTAssertThrowsError(try ScenarioCompiler.compile(path: packageRoot + "/scenarios")) { e in
            XCTAssertEqual((e as? ScenarioError)?.diagnostics.first?.message, "is a directory; expected a YAML scenario file")
        }
    }

    func testNumbersAcceptHexAndRefuseWhatDoesNotFit() {
        XCTAssertEqual(parseInteger("0x1_000")?.magnitude, 4096)
        XCTAssertEqual(parseInteger("-4098")?.negative, true)
        XCTAssertNil(parseInteger("0x1ffffffffffffffff"))
        XCTAssertNil(parseInteger("1.5"))
        XCTAssertNil(parseInteger("_1"))
        XCTAssertEqual(compileErrors("kernel: {harts: 9}\nevents: [userinit]\n").map(\.message), ["9 is out of range; expected 1...0x8"])
        XCTAssertEqual(compileErrors("kernel: {end: 0x90000000}\nevents: [userinit]\n").map(\.message),
                       ["this kernel image cannot boot: end must leave at least one free page below phystop"])
        XCTAssertEqual(compileErrors("kernel: {variant: pgtbl-lb}\nevents: [userinit]\n").map(\.message),
                       ["unknown kernel variant 'pgtbl-lb'; expected one of: xv6-2020, pgtbl-lab, seed-003, cow-lab, cow-3e4542e, lazy-lab (did you mean 'pgtbl-lab'?)"])
    }

    func testAForkIntoAFullTableReturnsMinusOneAndItsNameNeverExists() throws {
        var yaml = "events:\n  - userinit\n"
        for i in 2...64 { yaml += "  - fork: {parent: init, child: p\(i)}\n" }
        yaml += "  - fork: {parent: init, child: extra}\n"
        let s = try ScenarioCompiler.compile(bytes: Array(yaml.utf8), file: "full.yaml")
        XCTAssertEqual(s.events.last?.label, "fork pid 1 -> -1 (process table full)")
        let d = compileErrors(yaml + "  - exit: extra\n")
        XCTAssertEqual(d.map(\.message), ["no process named 'extra' (the fork that would create it at line 66 fails: the process table is full)"])
        let w = TraceWriter(format: .text, sites: .init())
        Runner.run(s, writer: w)
        XCTAssertTrue(String(decoding: w.bytes, as: UTF8.self).contains("return    pid 1 fork = -1\n"))
    }

    /// A tab that indents a line is named as the cause, where LibYAML says only that a
    /// character "cannot start any token" (issue 24).
    func testATabIndentIsNamedAsTheCause() throws {
        let dir = NSTemporaryDirectory() + "tab-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/tab.yaml"
        try "kernel: {variant: xv6-2020}\nevents:\n\t- userinit: init\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ScenarioCompiler.compile(path: path)) { e in
            XCTAssertEqual((e as! ScenarioError).diagnostics.map(\.rendered).first?.components(separatedBy: "\n").first,
                           path + ":3:1: error: a tab character: YAML indents with spaces, never tabs "
                           + "(found character that cannot start any token)")
        }
    }
}

final class ReuseTests: XCTestCase {
    func testNamedSequencesTakeParametersAndIncludedFilesNameTheirLines() throws {
        let dir = try temporaryDirectory(self)
        try FileManager.default.createDirectory(atPath: dir + "/lib", withIntermediateDirectories: true)
        try """
            define:
              spawn:
                params: [parent, child, path]
                events:
                  - fork: {parent: $parent, child: $child}
                  - exec: {proc: $child, path: $path, argv: ["${child}", "-v"], segments: [{vaddr: 0, memsz: 4096}]}
            events:
              - exec: {proc: init, path: /init, argv: [init], segments: [{vaddr: 0, memsz: 4096}]}
            """.write(toFile: dir + "/lib/base.inc", atomically: true, encoding: .utf8)
        try """
            events:
              - userinit
              - include: lib/base.inc
              - spawn: {parent: init, child: sh, path: /sh}
              - spawn: {parent: sh, child: ls, path: /ls}
            """.write(toFile: dir + "/main.yaml", atomically: true, encoding: .utf8)
        let s = try ScenarioCompiler.compile(path: dir + "/main.yaml")
        XCTAssertEqual(s.events.map(\.label), [
            "boot", "userinit -> pid 1 (init)", #"exec pid 1 "/init" ["init"]"#,
            "fork pid 1 -> pid 2 (sh)", #"exec pid 2 "/sh" ["sh", "-v"]"#,
            "fork pid 2 -> pid 3 (ls)", #"exec pid 3 "/ls" ["ls", "-v"]"#,
        ])
        XCTAssertEqual(s.events[2].source, "lib/base.inc")
        XCTAssertEqual(s.events[2].location?.line, 8)
        XCTAssertEqual(s.events[5].location?.line, 5)          // the sequence's line, in the included file
        XCTAssertNil(s.events[1].source)
    }

    func testReuseMistakesAreErrorsWithPositions() throws {
        let dir = try temporaryDirectory(self)
        try """
            define:
              spawn: {params: [parent, child], events: [{fork: {parent: $parent, child: $child}}]}
            events:
              - userinit
              - spawn: {parent: init, chld: sh}
              - include: missing.yaml
              - include: loop.yaml
            """.write(toFile: dir + "/loop.yaml", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ScenarioCompiler.compile(path: dir + "/loop.yaml")) { e in
            XCTAssertEqual((e as? ScenarioError)?.diagnostics.map { "\($0.location.line):\($0.location.column) \($0.message)" }, [
                "5:27 unknown key 'chld'; expected one of: parent, child (did you mean 'child'?)",
                "5:5 `spawn` needs `child`",
                "6:14 cannot include missing.yaml: no such file",
                "7:14 include cycle: loop.yaml includes itself, directly or through other files",
            ])
        }
    }

    /// `wait` names the parent that waits; naming the zombie child says so.
    func testWaitNamingTheChildSaysThatWaitNamesTheParent() {
        let d = compileErrors("""
            events:
              - userinit
              - fork: {parent: init, child: a}
              - exit: a
              - wait: a
            """)
        XCTAssertEqual(d.map(\.message), ["pid 2 exited at line 4 and is a zombie; it cannot wait (`wait` names the process that waits, its parent: e.g. `wait: init`)"])
    }

    /// A file that cannot be read has no position in it to show.
    func testAMissingFileHasNoMadeUpPosition() {
        XCTAssertThrowsError(try ScenarioCompiler.compile(path: "/nonexistent/nope.yaml")) { e in
            XCTAssertEqual((e as! ScenarioError).diagnostics.map(\.rendered), ["/nonexistent/nope.yaml: error: no such file"])
        }
    }

}
