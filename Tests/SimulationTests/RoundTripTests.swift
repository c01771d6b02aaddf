import Foundation
import XCTest
@testable import Simulation
import RISCV

/// The scenario writer (which shrink and import use) is the compiler's inverse: a compiled
/// scenario written back out compiles to the same events, for every kind of event.
final class RoundTripTests: XCTestCase {
    /// A random valid scenario, as YAML lines: processes are forked, run, exit and are
    /// reaped in a legal order, and every event kind appears.
    func scenario(_ g: inout SplitMix64, events n: Int) -> String {
        var lines = ["kernel: {variant: \(g.pick(["xv6-2020", "pgtbl-lab"]))}", "events:", "  - userinit"]
        var live = [1]                      // pids that can act
        var zombies: [Int: Int] = [:]       // zombie pid -> its parent
        var parent: [Int: Int] = [:]
        var nextPid = 2
        var openPipes: [Int] = []
        var nextPipe = 1
        for _ in 0..<n {
            let p = g.pick(live)
            switch g.below(17) {
            case 0, 1:
                if live.count < 8 {
                    lines.append("  - fork: {parent: \(p), child: c\(nextPid)}")
                    parent[nextPid] = p; live.append(nextPid); nextPid += 1
                }
            case 2:
                if g.oneIn(3) {
                    lines.append("  - exec: {proc: \(p), path: \"nosuch\", argv: [\"a\", \"b\"], exists: false}")
                } else {
                    lines.append("  - exec: {proc: \(p), path: \"/prog\", argv: [\"prog\"], segments: [{vaddr: 0x0, memsz: \(hexShort(UInt64(1 + g.below(3)) * 0x1000)), filesz: 0x0}], entry: 0x0}")
                }
            case 3: lines.append("  - sbrk: {proc: \(p), n: \(g.pick([4096, 1, -1, 8192, -4096, 0]))}")
            case 4:
                if p != 1 && !live.contains(where: { parent[$0] == p }) {
                    lines.append("  - exit: {proc: \(p), status: \(g.below(3))}")
                    live.removeAll { $0 == p }; zombies[p] = parent[p] ?? 1
                }
            case 5:
                if let (child, par) = zombies.first(where: { live.contains($0.value) }).map({ ($0.key, $0.value) }) {
                    lines.append("  - wait: \(par)")
                    zombies[child] = nil
                }
            case 6: lines.append("  - pipe: {proc: \(p), id: \(nextPipe)}"); openPipes.append(nextPipe); nextPipe += 1
            case 7: if let id = openPipes.popLast() { lines.append("  - close: {proc: \(p), pipe: \(id)}") }
            case 8: lines.append("  - yield: \(p)")
            case 9: lines.append("  - sleep: \(p)")
            case 10: lines.append("  - run: \(p)")
            case 11: lines.append("  - \(g.pick(["load", "store"])): {proc: \(p), va: \(hexShort(UInt64(g.below(2)) * 0x1000))}")
            case 12: lines.append("  - \(g.pick(["copyin", "copyout"])): {proc: \(p), va: 0x0, len: \(g.below(64))}")
            case 13: lines.append("  - copyinstr: {proc: \(p), va: 0x0, max: 16}")
            case 14: lines.append("  - vmprint: \(p)")
            case 15: lines.append(g.oneIn(2) ? "  - baseline" : "  - fail_kalloc: \(1 + g.below(3))")
            default: lines.append("  - expect: {free_pages: \(32000 + g.below(700))}")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func testEveryCompiledScenarioWrittenBackCompilesToTheSameEvents() throws {
        var g = SplitMix64(state: 0x5CE_4A10)
        var kinds = Set<String>()
        for round in 0..<200 {
            let yaml = scenario(&g, events: 12 + g.below(30))
            let first = try ScenarioCompiler.compile(bytes: Array(yaml.utf8), file: "r.yaml")
            let written = ScenarioWriter.yaml(first.events.dropFirst().map { .line(ScenarioWriter.line($0, String.init)) }, first, header: [])
            let second: CompiledScenario
            do { second = try ScenarioCompiler.compile(bytes: Array(written.utf8), file: "r.yaml") } catch {
                return XCTFail("round \(round): the written scenario does not compile: \(error)\n\(written)")
            }
            XCTAssertEqual(second.config, first.config, "round \(round)")
            XCTAssertEqual(second.events.map(\.kind), first.events.map(\.kind), "round \(round):\n\(yaml)\n---\n\(written)")
            XCTAssertEqual(second.events.map(\.child), first.events.map(\.child), "round \(round)")
            for e in first.events { kinds.insert(String(describing: e.kind).prefix { $0 != "(" }.description) }
        }
        // Every kind of event was tried.
        XCTAssertEqual(kinds.sorted(), ["access", "baseline", "boot", "expect", "failKalloc", "run", "sleep", "syscall", "userinit", "vmprint", "yield"])
    }

    /// import writes failing forks and exec without a file in a form the compiler reads back.
    func testImportsOwnFormsRoundTrip() throws {
        let yaml = """
            events:
              - userinit
              - fork: {parent: 1, fails: true}
              - fork: {parent: 1, child: b}
              - exec: {proc: 3, path: "?", argv: ["?", "arg1"], exists: false}
              - exit: {proc: 3, status: 0}
              - wait: 1
            """
        let first = try ScenarioCompiler.compile(bytes: Array(yaml.utf8), file: "i.yaml")
        XCTAssertEqual(first.events[2].label, "fork pid 1 -> -1 (pid 2 freed: out of memory)")
        XCTAssertEqual(first.events[3].child, 3)                                 // pid 2 was used by the failed fork
        let written = ScenarioWriter.yaml(first.events.dropFirst().map { .line(ScenarioWriter.line($0, String.init)) }, first, header: [])
        XCTAssertTrue(written.contains("  - fork: {parent: 1, fails: true}\n"), written)
        let second = try ScenarioCompiler.compile(bytes: Array(written.utf8), file: "i.yaml")
        XCTAssertEqual(second.events.map(\.kind), first.events.map(\.kind))
        XCTAssertEqual(second.events.map(\.forkFails), [false, false, true, false, false, false, false])
    }
}
