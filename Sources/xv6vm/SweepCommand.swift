import ArgumentParser
import Foundation
import Support
import Scenario
import Run
import Goldens
import Explore
import HTMLReport

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a scenario once per allocation, with that kalloc failing, and report how the kernel fares at each site.",
        usage: """
            xv6vm sweep <SCENARIO> [--set <KEY=VALUE> ...] [--sample <K>] [--boot]
                                   [--check] [--shard <I/N>] [--verbose]
                                   [--format <text|json>] [-o <FILE>]
                                   [--resume <FILE>]
            xv6vm sweep --merge <PART> ... [--verbose] [--format <text|json>]
                                           [-o <FILE>]
            """,
        discussion: """
            Each run injects one failure (kernel setting fail_kalloc=N). Outcomes: clean (recovered, \
            nothing leaked), leak (with the leak report's top site), panic, or invariant (with --check). \
            Runs in parallel on all cores; output order is fixed.
            --format json writes a header line (the scenario's digest, the settings, the shard and its \
            calls), a line per run in call order as runs finish, then the totals. --shard I/N runs a \
            deterministic slice; --merge reads the parts back and prints what the unsharded sweep \
            prints, byte for byte. -o FILE keeps finished runs in FILE.partial until the output is \
            written; --resume FILE (or FILE.partial) runs only the calls an interrupted sweep did not \
            finish (docs/sweeps.md). Exit 1 when a run was not clean, 65 when parts or a resumed file \
            do not fit the sweep.
            """)

    @Argument(help: ArgumentHelp("The scenario file (YAML); with --merge, the part files.", valueName: "SCENARIO"))
    var files: [String] = []

    @OptionGroup var kernel: KernelOverrides

    var overrides: [String] { kernel.overrides }

    @Option(parsing: .unconditional, help: ArgumentHelp("Only K allocations, evenly spread (default: every one after boot).", valueName: "K"),
            transform: wholeNumber(atLeast: 1, "a number of allocations"))
    var sample: Int?

    @Flag(help: "Include the boot's allocations (they can only panic).")
    var boot = false

    @Flag(help: "Check the invariants after every event in each run.")
    var check = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Run only the I-th of N deterministic slices of the allocations.", valueName: "I/N"), transform: Shard.parse)
    var shard: Shard?

    @Flag(name: .shortAndLong, help: "Also list every run: the call that failed, its event, outcome and site.")
    var verbose = false

    /// json: a header, one JSON line per run as it finishes (in call order), then the totals.
    @OptionGroup var formatting: FormatOption

    var format: OutputFormat { formatting.format }

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the output to FILE, atomically; finished runs are kept in FILE.partial until then.", valueName: "FILE"))
    var output: String?

    @Option(help: ArgumentHelp("Take the runs an interrupted sweep finished from FILE (or FILE.partial) and run only the others.", valueName: "FILE"))
    var resume: String?

    @Flag(help: "Merge the parts (--format json files) of a sharded sweep into the report of the whole sweep.")
    var merge = false

    func run() throws {
        if merge { return try mergeParts() }
        guard files.count == 1 else {
            throw ValidationError(files.isEmpty ? "give the scenario to sweep" : "sweep takes one scenario (to merge the parts of a sharded sweep: --merge)")
        }
        let file = files[0]
        var scenario = try ScenarioOptions.load(file, overrides: overrides)
        if check { scenario.checkInvariants = true }
        if let output { try ScenarioOptions.refuseOverwritingInput(output, file: file, of: scenario) }
        let header = SweepHeader(scenario, path: file, overrides: overrides, boot: boot, sample: sample,
                                 shard: shard?.index ?? 1, of: shard?.count ?? 1)
        let kept = try resume.map { try resumed(from: $0, header) } ?? []
        let json = format == .json
        let printing = json && output == nil
        // The runs are kept beside a file, not beside a device or a pipe (`-o /dev/stdout`).
        var st = stat()
        let regular = output.map { stat($0, &st) != 0 || st.st_mode & S_IFMT == S_IFREG } ?? false
        if let output, !regular, st.st_mode & S_IFMT == S_IFDIR {      // found now, not after hours of runs
            throw WriteError(path: output, reason: "it is a directory")
        }
        let journal = try regular ? output.map { try LineJournal(path: $0 + ".partial") } : nil
        @Sendable func emit(_ line: String) {
            if printing { out(line) }
            if let e = journal?.append(line) { warn("xv6vm: \(e)"); Foundation.exit(ExitCodes.cannotWrite) }
        }
        emit(header.json.encoded)
        for o in kept { emit(Sweep.json(o).encoded) }
        let progress = Progress(total: header.calls.count, resumed: kept.count, label: "sweep \(scenario.file)")
        let earlier = kept.filter(\.found).count
        let already = kept.count
        let stream: (@Sendable (Sweep.Outcome) -> Void)? = printing || journal != nil ? { @Sendable o in emit(Sweep.json(o).encoded) } : nil
        let new = Sweep.run(scenario, calls: Array(header.calls.dropFirst(already)),
                            progress: { done, found in progress.update(already + done, ", \(earlier + found) not clean") },
                            ordered: stream)
        let outcomes = kept + new
        let totals = Sweep.summaryJSON(scenario, outcomes).encoded
        emit(totals)
        let report = json ? Sweep.jsonLines(header, outcomes).joined(separator: "\n")
                          : Sweep.report(scenario, outcomes, path: file, verbose: verbose, header: header)
        if let output {
            try OutputFile.writeAtomically(Array((report + "\n").utf8), to: output, createDirectories: false)
            try journal?.remove()
            out(wrote(output, outcomes, of: header))
        } else if !printing {
            out(report)
        }
        if outcomes.contains(where: \.found) { throw ExitCode(1) }
    }

    /// The runs an interrupted sweep finished, from `path.partial` (what `-o path` keeps)
    /// or else `path`; none when neither exists. Refuses a file of another sweep (65).
    func resumed(from path: String, _ header: SweepHeader) throws -> [Sweep.Outcome] {
        let n = header.calls.count
        let journal = path + ".partial"
        let source = access(journal, F_OK) == 0 ? journal : path
        if access(source, F_OK) != 0 {
            warn("xv6vm sweep: nothing to resume (\(path) does not exist, nor \(journal)); running all \(n) calls")
            return []
        }
        var out = stat(), src = stat()
        if fstat(STDOUT_FILENO, &out) == 0, stat(source, &src) == 0, out.st_dev == src.st_dev, out.st_ino == src.st_ino,
           src.st_mode & S_IFMT == S_IFREG {
            throw ValidationError("standard output is \(source), which --resume reads: the shell emptied it before xv6vm started; write the output to another file")
        }
        let bytes = try readOrExit(source)
        guard bytes.contains(0x0a) else {
            warn("xv6vm sweep: nothing to resume (\(source) holds no finished line); running all \(n) calls")
            return []
        }
        let part: SweepPart
        do { part = try SweepPart.read(bytes, file: source, lenient: true) } catch {
            warn(error.description)
            throw ExitCode(2)
        }
        var problems = header.differences(from: part.header, ours: "this run")
        if (part.header.shard, part.header.shards) != (header.shard, header.shards) {
            problems.append("it is shard \(part.header.shard)/\(part.header.shards), this run \(header.shard)/\(header.shards)")
        }
        if !problems.isEmpty {
            warn(folded("xv6vm sweep: \(source) is from another sweep, so nothing of it is resumed: " + problems.joined(separator: "; ")).joined(separator: "\n"))
            throw ExitCode(ExitCodes.partsDoNotFit)
        }
        let k = part.outcomes.count
        let torn = part.tornLine.map { "; its line \($0), cut off, is run again" } ?? ""
        let rest = k == n ? "nothing is left to run" : "running the other \(n - k)"
        warn(folded("xv6vm sweep: resuming from \(source): \(k) of \(n) runs were done\(torn); \(rest)").joined(separator: "\n"))
        return part.outcomes
    }

    /// Merges part files into the whole sweep's output, as the unsharded sweep prints it.
    func mergeParts() throws {
        let given = [("--set", !overrides.isEmpty), ("--sample", sample != nil), ("--boot", boot), ("--check", check),
                     ("--shard", shard != nil), ("--resume", resume != nil)].filter(\.1).map(\.0)
        if !given.isEmpty {
            throw ValidationError("--merge takes the scenario and settings from the parts; drop \(given.joined(separator: ", "))")
        }
        if files.isEmpty { throw ValidationError("--merge needs the part files (xv6vm sweep --merge part-*.json)") }
        if let output, let part = files.first(where: { FileStatus.sameFile(output, $0) }) {
            throw ValidationError("-o \(output) is \(part), a part being merged; write the output to another file")
        }
        var parts: [(file: String, part: SweepPart)] = []
        var unreadable = false
        for file in files {
            do { parts.append((file, try SweepPart.read(try readOrExit(file), file: file))) } catch let e as LogError {
                warn(e.description)
                unreadable = true
            }
        }
        if unreadable { throw ExitCode(2) }
        let merged: (header: SweepHeader, outcomes: [Sweep.Outcome])
        do { merged = try SweepMerge.merge(parts) } catch {
            warn("xv6vm sweep --merge: these parts do not make one sweep:")
            for p in error.problems { warn(folded("- " + p, indent: 2, hang: 2).joined(separator: "\n")) }
            throw ExitCode(ExitCodes.partsDoNotFit)
        }
        let (header, outcomes) = merged
        let report = format == .json ? Sweep.jsonLines(header, outcomes).joined(separator: "\n")
                                     : Sweep.report(header.reportScenario, outcomes, path: header.path, verbose: verbose, header: header)
        if let output {
            try OutputFile.writeAtomically(Array((report + "\n").utf8), to: output, createDirectories: false)
            out(wrote(output, outcomes, of: header))
        } else {
            out(report)
        }
        if outcomes.contains(where: \.found) { throw ExitCode(1) }
    }

    /// The bytes of `path`, or exit 2 with the reason (`path: error: ...`, as for logs).
    func readOrExit(_ path: String) throws -> [UInt8] {
        if let bytes = InputFile.read(path) { return bytes }
        var st = stat()
        let reason = stat(path, &st) != 0 ? reasonInWords(errno)
            : st.st_mode & S_IFMT == S_IFDIR ? "it is a directory" : "it is not a regular file that can be read"
        warn(LogError(file: path, line: 0, message: "cannot read it: \(reason)").description)
        throw ExitCode(2)
    }

    /// What `-o` wrote, on one line.
    func wrote(_ path: String, _ outcomes: [Sweep.Outcome], of header: SweepHeader) -> String {
        let part = header.shards > 1 ? " (shard \(header.shard)/\(header.shards) of \(header.allCalls.count))" : ""
        return "wrote \(path): \(outcomes.count) runs\(part), \(outcomes.filter(\.found).count) not clean"
    }
}

extension Sweep.Outcome {
    /// The run ended neither clean nor before its allocation: a finding.
    var found: Bool { verdict != .clean && verdict != .notReached }
}
