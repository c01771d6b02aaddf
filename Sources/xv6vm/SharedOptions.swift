import ArgumentParser

/// `--set KEY=VALUE`, declared once: every command that takes it (run, compile's relatives,
/// sweep, shrink, import, replay ...) has this group, so the option reads and helps the same.
struct KernelOverrides: ParsableArguments {
    @Option(name: .customLong("set"), help: ArgumentHelp(
        "Override a kernel setting, variant included, or the image's end, etext, trampoline, phystop or harts (see `xv6vm variants`); repeatable.",
        valueName: "KEY=VALUE"))
    var overrides: [String] = []
}

/// `--format text|json`, declared once for every command that can write JSON for programs
/// (compile, check, sweep, replay; `run` writes traces, whose formats are its own).
struct FormatOption: ParsableArguments {
    @Option(help: ArgumentHelp("Output: text, or json (JSON objects, one a line, for programs).", valueName: "text|json"))
    var format: OutputFormat = .text

    var json: Bool { format == .json }
}

/// Text for people, or JSON for programs.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }
