import Foundation
import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport
import RISCV

/// The scenario writer (which shrink and import use) is the compiler's inverse: a compiled
/// scenario written back out compiles to the same events, for every kind of event.
final class RoundTripTests: XCTestCase {
    /// A random valid scenario, as YAML lines: processes are forked, run, exit and are
    /// reaped in a legal order, and every kind of event in the table appears in its forms.
    func scenario(_ g: inout SplitMix64, events n: Int) -> String {
        let variant = g.pick(["xv6-2020", "pgtbl-lab", "cow-lab"]), harts = 1 + g.below(2)
        var lines = ["kernel: {variant: \(variant), harts: \(harts)}", "events:"]
        if g.oneIn(4) { lines.append(g.pick(["  - baseline", "  - fail_kalloc", "  - fail_kalloc: 2"])) }
        lines.append(g.pick(["  - userinit", "  - userinit: first", "  - userinit: {name: first}"]))
        var live = [1]                      // pids that can act
        var zombies: [Int: Int] = [:]       // zombie pid -> its parent
        var parent: [Int: Int] = [:]
        var nextPid = 2
        var openPipes: [Int] = []
        var nextPipe = 1
        for _ in 0..<n {
            let p = g.pick(live)
            // A process that may die: not init, and no live children (exit would reparent them).
            let mayDie = p != 1 && !live.contains(where: { parent[$0] == p })
            func dies() { live.removeAll { $0 == p }; zombies[p] = parent[p] ?? 1 }
            switch g.below(20) {
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
                if mayDie { lines.append("  - exit: {proc: \(p), status: \(g.below(3))}"); dies() }
            case 5:
                if let (child, par) = zombies.first(where: { live.contains($0.value) }).map({ ($0.key, $0.value) }) {
                    lines.append("  - wait: \(par)")
                    zombies[child] = nil
                }
            case 6: lines.append("  - pipe: {proc: \(p), id: \(nextPipe)}"); openPipes.append(nextPipe); nextPipe += 1
            case 7: if let id = openPipes.popLast() { lines.append("  - close: {proc: \(p), pipe: \(id)}") }
            case 8: lines.append("  - yield: \(p)")
            case 9: lines.append("  - sleep: \(p)")
            case 10: lines.append(g.oneIn(2) ? "  - run: \(p)" : "  - run: {proc: \(p), hart: \(g.below(harts))}")
            case 11 where g.oneIn(2):
                let access = "  - \(g.pick(["load", "store", "fetch"])): {proc: \(p), va: \(hexShort(UInt64(g.below(2)) * 0x1000))"
                if mayDie && g.oneIn(4) { lines.append(access + ", faults: true}"); dies() } else { lines.append(access + "}") }
            case 11:
                let touch = "  - touch: {proc: \(p), va: \(hexShort(UInt64(g.below(3)) * 0x1000)), access: \(g.pick(["load", "store", "exec"]))"
                    + (g.oneIn(3) ? ", pages: \(1 + g.below(3))" : "")
                if mayDie && g.oneIn(4) { lines.append(touch + ", killed: true}"); dies() } else { lines.append(touch + "}") }
            case 12: lines.append("  - \(g.pick(["copyin", "copyout"])): {proc: \(p), va: 0x0, len: \(g.below(64))}")
            case 13: lines.append("  - copyinstr: {proc: \(p), va: 0x0, max: 16}")
            case 14: lines.append(variant == "pgtbl-lab" && g.oneIn(2) ? "  - vmprint: {proc: \(p), table: kernel}" : "  - vmprint: \(p)")
            case 15: lines.append(g.oneIn(2) ? "  - baseline" : "  - fail_kalloc: \(1 + g.below(3))")
            case 16:
                // A fork that fails for lack of memory uses up a pid.
                lines.append("  - fork: {parent: \(p), fails: true}"); nextPid += 1
            case 17:
                lines += ["  - repeat: \(1 + g.below(3))", "    events:", "      - yield: \(p)", "      - sbrk: {proc: \(p), n: 4096}"]
            case 18:
                lines.append("  - expect: {" + g.pick([
                    "leaks: \(g.below(3)), panic: \"walk\"",
                    "mapped: {proc: \(p), va: 0x0}, unmapped: {proc: \(p), va: 0x4000}",
                    "mapped: {proc: \(p), va: 0x1000, pa: 0x87f00000, perm: rwxu---}",
                    "satp: {hart: 0, table: kernel}",
                    "satp: {hart: 0, table: user, proc: \(p)}, free_pages: baseline",
                    "satp: {hart: \(g.below(harts)), table: kernel, proc: \(p)}",
                ]) + "}")
            default: lines.append("  - expect: {free_pages: \(g.oneIn(3) ? "baseline" : String(32000 + g.below(700)))}")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func testEveryCompiledScenarioWrittenBackCompilesToTheSameEvents() throws {
        var g = SplitMix64(state: 0x5CE_4A10)
        var kinds = Set<String>()
        var written = Set<String>()                          // the events the scenarios wrote, by name
        for round in 0..<200 {
            let yaml = scenario(&g, events: 12 + g.below(30))
            for line in yaml.split(separator: "\n") {
                let t = line.drop { $0 == " " }
                if t.hasPrefix("- ") { written.insert(String(t.dropFirst(2).prefix { $0.isLetter || $0 == "_" })) }
            }
            let first: CompiledScenario
            do { first = try ScenarioCompiler.compile(bytes: Array(yaml.utf8), file: "r.yaml") } catch {
                return XCTFail("round \(round): the generated scenario does not compile: \(error)\n\(yaml)")
            }
            // Each event is written by one entry of the table, and only one.
            for e in first.events {
                XCTAssertEqual(EventSyntax.all.filter { $0.write(e, String.init) != nil }.map(\.name).count, 1, "\(e.kind)")
            }
            let text = ScenarioWriter.yaml(first.events.dropFirst().map { .line(ScenarioWriter.line($0, String.init)) }, first, header: [])
            let second: CompiledScenario
            do { second = try ScenarioCompiler.compile(bytes: Array(text.utf8), file: "r.yaml") } catch {
                return XCTFail("round \(round): the written scenario does not compile: \(error)\n\(text)")
            }
            XCTAssertEqual(second.config, first.config, "round \(round)")
            XCTAssertEqual(second.events.map(\.kind), first.events.map(\.kind), "round \(round):\n\(yaml)\n---\n\(text)")
            XCTAssertEqual(second.events.map(\.child), first.events.map(\.child), "round \(round)")
            XCTAssertEqual(second.events.map(\.forkFails), first.events.map(\.forkFails), "round \(round)")
            for e in first.events { kinds.insert(String(describing: e.kind).prefix { $0 != "(" }.description) }
        }
        // Every kind of event was tried.
        XCTAssertEqual(kinds.sorted(), ["access", "baseline", "boot", "expect", "failKalloc", "run", "sleep", "syscall", "touch", "userinit", "vmprint", "yield"])
        // Every kind in the table has a generator: a new kind fails here until the generator writes it.
        XCTAssertEqual(Set(EventSyntax.all.map(\.name)).subtracting(written).sorted(), [])
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
