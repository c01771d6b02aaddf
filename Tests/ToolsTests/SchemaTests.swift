import Foundation
import XCTest
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport

/// The JSON Schema editors use agrees with the compiler, and accepts every scenario.
final class SchemaTests: XCTestCase {
    func testTheCheckedInSchemaIsWhatSchemaPrintsAndNamesEveryKeyTheCompilerTakes() throws {
        let file = try String(contentsOfFile: packageRoot + "/docs/scenario.schema.json", encoding: .utf8)
        XCTAssertEqual(file, ScenarioSchema.text, "docs/scenario.schema.json is stale: run `xv6vm schema > docs/scenario.schema.json`")
        XCTAssertEqual(Set(ScenarioSchema.eventNames), Set(ScenarioCompiler.eventNames + ["include"]))
        XCTAssertEqual(ScenarioSchema.kernelKeys.count, 6 + 45)
    }

    /// Each event's schema takes the keys the table gives it, no more and no fewer.
    func testEachEventsSchemaNamesTheKeysOfItsEntryInTheTable() {
        func properties(_ o: ScenarioSchema.Object) -> Set<String> {
            var out = Set((o["properties"] as? ScenarioSchema.Object)?.keys.map { $0 } ?? [])
            for alternative in o["anyOf"] as? [ScenarioSchema.Object] ?? [] { out.formUnion(properties(alternative)) }
            return out
        }
        for syntax in EventSyntax.all {
            guard let schema = syntax.schema?() else { XCTAssertEqual(syntax.name, "repeat"); continue }
            XCTAssertEqual(properties(schema), Set(syntax.keys), syntax.name)
        }
    }

    /// Python's jsonschema (on this kind of machine) validates every scenario, and refuses
    /// a misspelt event, an unknown setting and a missing argument.
    func testEveryScenarioValidatesAndMistakesDoNot() throws {
        let script = """
            import json, sys, glob, yaml, jsonschema
            v = jsonschema.Draft7Validator(json.load(open(sys.argv[1])))
            for f in sorted(glob.glob(sys.argv[2] + '/**/*.yaml', recursive=True)):
                print(('ok ' if not list(v.iter_errors(yaml.safe_load(open(f)))) else 'bad ') + f[len(sys.argv[2]) + 1:])
            for text in ['events: [userinit, {frok: init}]', 'kernel: {variant: pgtbl-lab, fre_kernel_stack: false}\\nevents: [userinit]',
                         'events: [userinit, {sbrk: {proc: init}}]', 'kernel: {variant: stock}\\nevents: [userinit]',
                         'events: [userinit, {fork: {parent: init, child: sh}}, {pipe: {proc: sh, id: 1}}, {close: {proc: sh, pipe: 1}}, {yield: sh}, {sleep: 1}]']:
                print('ok' if not list(v.iter_errors(yaml.safe_load(text))) else 'refused')
            """
        let dir = try temporaryDirectory(self)
        try script.write(toFile: dir + "/v.py", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", dir + "/v.py", packageRoot + "/docs/scenario.schema.json", packageRoot + "/scenarios"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let wait = try p.startWaitable()
        let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        wait()
        if e.contains("ModuleNotFoundError") || e.contains("No such file") { throw XCTSkip("python3 with jsonschema and PyYAML is not on this machine: \(e)") }
        XCTAssertEqual(p.terminationStatus, 0, e)
        let lines = o.split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.hasPrefix("ok ") }.count, 31, o)
        XCTAssertEqual(lines.filter { $0.hasPrefix("bad ") }, [], o)
        XCTAssertEqual(Array(lines.suffix(5)), ["refused", "refused", "refused", "refused", "ok"])
    }
}
