import Foundation
import XV6
import Support

/// A JSON Schema of the scenario language, for editors: with the YAML language server, a
/// scenario is completed and checked as it is typed. Tests check that it accepts every
/// scenario in scenarios/ and names every key the compiler takes.
public enum ScenarioSchema {
    package typealias Object = [String: Any]

    /// A number as the compiler reads it: an integer, or text such as 0x1000, 0o17, 0b101, 1_000;
    /// in a sequence's events, a `$parameter` the call gives a number for.
    static var number: Object { ["anyOf": [["type": "integer"],
                                           ["type": "string", "pattern": "^-?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)$"],
                                           ["type": "string", "pattern": "^\\$[A-Za-z0-9_-]+$"]]] }
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

    /// The value each event takes, by the event's name: those of the table of events, and `include`.
    static var events: Object {
        var out: Object = ["include": ["description": "the events (and defines) of another file, relative to this one", "type": "string"]]
        for spec in EventSpec.all { if let schema = spec.schema { out[spec.name] = schema() } }
        return out
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
        let event: Object = ["anyOf": [["enum": EventSpec.all.filter(\.bare).map(\.name)]] + oneKey]
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
