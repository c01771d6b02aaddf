import Foundation
import XV6

/// A JSON Schema of the scenario language, for editors: with the YAML language server, a
/// scenario is completed and checked as it is typed. Tests check that it accepts every
/// scenario in scenarios/ and names every key the compiler takes.
public enum ScenarioSchema {
    typealias Object = [String: Any]

    /// A number as the compiler reads it: an integer, or text such as 0x1000, 0o17, 0b101, 1_000.
    static var number: Object { ["anyOf": [["type": "integer"],
                                           ["type": "string", "pattern": "^-?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)$"]]] }
    /// A process: its name or its pid (or a sequence's `$parameter`).
    static var process: Object { ["anyOf": [["type": "string"], ["type": "integer", "minimum": 1]], "description": "a process: its name or its pid"] }
    static var boolean: Object { ["type": "boolean"] }

    static func object(_ description: String, _ properties: Object, required: [String] = []) -> Object {
        var o: Object = ["type": "object", "description": description, "properties": properties, "additionalProperties": false]
        if !required.isEmpty { o["required"] = required }
        return o
    }

    static func oneProcessOr(_ description: String, _ properties: Object, required: [String] = ["proc"]) -> Object {
        ["description": description, "anyOf": [process, object(description, properties, required: required)]]
    }

    /// The value each event takes, by the event's name.
    static var events: Object {
        let segment = object("an ELF LOAD program header", ["vaddr": number, "memsz": number, "filesz": number], required: ["vaddr", "memsz"])
        let access = object("a user-mode access through the MMU", ["proc": process, "va": number, "faults": boolean], required: ["proc", "va"])
        return [
            "userinit": ["description": "the first process (pid 1), named init unless named here",
                         "anyOf": [["type": "string"], ["type": "null"], object("userinit", ["name": ["type": "string"]])]],
            "fork": ["description": "fork(): a child with a copy of the parent's memory",
                     "anyOf": [process, object("fork", ["parent": process, "child": ["type": "string"], "fails": boolean], required: ["parent"])]],
            "exec": object("sys_exec then exec: argument pages, a new table with the segments and a stack, the old image freed",
                           ["proc": process, "path": ["type": "string"], "argv": ["type": "array", "items": ["type": "string"]],
                            "segments": ["type": "array", "items": segment], "entry": number, "exists": boolean],
                           required: ["proc", "path"]),
            "sbrk": object("sbrk(n), n negative to shrink", ["proc": process, "n": number], required: ["proc", "n"]),
            "exit": oneProcessOr("exit(status): the process becomes a zombie", ["proc": process, "status": number]),
            "wait": oneProcessOr("wait(0) by the parent: reaps its first zombie child", ["proc": process]),
            "vmprint": oneProcessOr("the lab's vmprint of the process's user (or kernel) table",
                                    ["proc": process, "table": ["enum": ["user", "kernel"]]]),
            "run": oneProcessOr("the scheduler switches a hart to the process", ["proc": process, "hart": number]),
            "yield": oneProcessOr("the process gives up the CPU and is scheduled again", ["proc": process]),
            "sleep": oneProcessOr("the process gives up the CPU and nothing else runs", ["proc": process]),
            "copyin": object("a call that makes the kernel copy len bytes in from va", ["proc": process, "va": number, "len": number], required: ["proc", "va", "len"]),
            "copyinstr": object("a call that makes the kernel copy a string of at most max bytes in from va", ["proc": process, "va": number, "max": number], required: ["proc", "va", "max"]),
            "copyout": object("a call that makes the kernel copy len bytes out to va", ["proc": process, "va": number, "len": number], required: ["proc", "va", "len"]),
            "load": access, "store": access, "fetch": access,
            "pipe": object("pipe(): a page for a new pipe, named by id", ["proc": process, "id": number], required: ["proc", "id"]),
            "close": object("the last close of a pipe: its page is freed", ["proc": process, "pipe": number], required: ["proc", "pipe"]),
            "baseline": ["description": "records the free pages now", "type": "null"],
            "fail_kalloc": ["description": "the n-th kalloc from here (default the next) returns 0", "anyOf": [["type": "null"], number]],
            "expect": object("what must hold when the run reaches this point", [
                "free_pages": ["anyOf": [number, ["const": "baseline"]]],
                "leaks": number,
                "panic": ["type": "string"],
                "mapped": object("va mapped in the process's user table", ["proc": process, "va": number, "pa": number, "perm": ["type": "string"]], required: ["proc", "va"]),
                "unmapped": object("va not mapped in the process's user table", ["proc": process, "va": number], required: ["proc", "va"]),
                "satp": object("what a hart's satp points at", ["hart": number, "table": ["enum": ["kernel", "user"]], "proc": process]),
            ]),
            "include": ["description": "the events (and defines) of another file, relative to this one", "type": "string"],
        ]
    }

    /// The schema, as a JSON object.
    static var document: Object {
        var kernel: Object = [
            "variant": ["enum": KernelSettings.presets.map(\.name), "description": "a preset of the settings"],
        ]
        for key in MachineKey.allCases {
            kernel[key.rawValue] = key.isAddress ? number : ["anyOf": [["type": "integer", "minimum": Int(key.range.lowerBound), "maximum": Int(key.range.upperBound)], ["type": "string"]]]
        }
        for s in KernelSettings.catalogue {
            if s.values == ["true", "false"] || s.values == ["false", "true"] {
                kernel[s.key] = ["type": "boolean", "description": s.meaning]
            } else if s.values == ["N"] {
                kernel[s.key] = ["anyOf": [number], "description": s.meaning]
            } else {
                kernel[s.key] = ["enum": s.values, "description": s.meaning]
            }
        }
        let named = events
        // An event: a bare word, a one-key mapping, a repeat, or a call of a defined sequence
        // (a one-key mapping whose key is the sequence's name and whose value is its arguments).
        var oneKey: [Object] = named.keys.sorted().map { name in
            ["type": "object", "properties": [name: named[name]!], "required": [name], "additionalProperties": false]
        }
        oneKey.append(["type": "object", "description": "repeat the events N times",
                       "properties": ["repeat": number, "events": ["$ref": "#/$defs/events"]],
                       "required": ["repeat", "events"], "additionalProperties": false])
        oneKey.append(["type": "object", "description": "a call of a sequence named under `define`, with its arguments",
                       "minProperties": 1, "maxProperties": 1,
                       "not": ["anyOf": named.keys.sorted().map { ["required": [$0]] } + [["required": ["repeat"]]]],
                       "additionalProperties": ["anyOf": [["type": "object"], ["type": "null"]]]])
        let event: Object = ["anyOf": [["enum": ["userinit", "baseline", "fail_kalloc"]]] + oneKey]
        return [
            "$schema": "http://json-schema.org/draft-07/schema#",
            "$id": "https://xv6vm.invalid/scenario.schema.json",
            "title": "xv6vm scenario",
            "description": "What processes do, for xv6vm's model of the xv6-riscv kernel (docs/scenario-language.md).",
            "type": "object",
            "required": ["events"],
            "additionalProperties": false,
            "properties": [
                "description": ["type": "string"],
                "kernel": ["type": "object", "description": "the kernel and machine: a variant, then any setting", "properties": kernel, "additionalProperties": false],
                "check": boolean,
                "golden": ["enum": ["trace", "digest"]],
                "define": ["type": "object", "description": "named sequences of events, with parameters",
                           "additionalProperties": ["type": "object", "properties": ["params": ["type": "array", "items": ["type": "string"]],
                                                                                      "events": ["$ref": "#/$defs/events"]],
                                                    "required": ["events"], "additionalProperties": false]],
                "events": ["$ref": "#/$defs/events"],
            ],
            "$defs": ["events": ["type": "array", "items": ["$ref": "#/$defs/event"]], "event": event],
        ]
    }

    /// The schema as pretty-printed JSON, keys sorted, ending in a newline.
    public static var text: String {
        // The document is made of strings, numbers, arrays and dictionaries only: it always encodes.
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The event names the schema knows (for the test that it agrees with the compiler).
    public static var eventNames: [String] { events.keys.sorted() + ["repeat"] }
    public static var kernelKeys: [String] {
        MachineKey.kernelKeys + KernelSettings.catalogue.map(\.key)
    }
}
