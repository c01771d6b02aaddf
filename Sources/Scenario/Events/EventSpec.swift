import Yams
import XV6
import RISCV
import Support

/// One kind of event of the scenario language, whole: its name and keys, how the compiler
/// reads it (and the label it gives it), how the writer writes it back, its JSON Schema, how
/// a run executes it on the kernel, and what shrink may vary in it. Each kind's spec is in
/// its own file in this folder (a family of small kinds shares one). `EventKind.specs` lists
/// them and `EventKind.spec` finds an event's (Event.swift). The compiler, the writer (so
/// shrink and import), the runner and `xv6vm schema` take every name, key and step from here;
/// the round-trip test fails until its generator writes a new kind too.
package struct EventSpec: Sendable {
    /// Reads the event: `arg` is the value under its name (nil for a bare word), `at` the
    /// node of its name, where problems with a missing value are shown, `loc` where it stands.
    package typealias Compile = @Sendable (_ c: inout ScenarioCompiler, _ spec: EventSpec, _ arg: Node?, _ at: Node, _ loc: SourceLocation) -> Void
    /// Writes `event` as one line of YAML, naming processes with `name`; nil when the event
    /// is not of this kind.
    package typealias Write = @Sendable (_ event: Event, _ name: (Int) -> String) -> String?
    /// Runs the event on `run.kernel`; returns why it was skipped (it could not run as
    /// compiled), or nil.
    package typealias Execute = @Sendable (_ kind: EventKind, _ run: inout EventRun) throws(KernelPanic) -> String?

    /// `- fork: ...`
    package let name: String
    /// The keys of its mapping, in the order messages list them.
    package let keys: [String]
    /// It needs no process, so it may come before `userinit`.
    var beforeUserinit = false
    /// It may be written as a bare word, with no value (`- baseline`).
    var bare = false
    let compile: Compile
    package let write: Write
    /// Its value's JSON Schema; nil for `repeat`, which the schema describes with the events it repeats.
    package let schema: (@Sendable () -> ScenarioSchema.Object)?
    package var execute: Execute = { _, _ in nil }
    /// The run checks the kernel's invariants after it (not after `baseline`, `expect` and
    /// `fail_kalloc`, which only look or arm).
    package var changesKernel = true
    /// The numbers shrink makes as small as it can, in the order it tries them.
    package var numbers: [NumberField] = []
    /// The process the event creates, if it does (userinit's, a fork's child): shrink hands
    /// its part to an earlier process and renames it.
    package var creates: @Sendable (Event) -> Int? = { _ in nil }
    /// The process the event is done by or for (a report's pid column), if any.
    package var process: @Sendable (EventKind) -> Int? = { _ in nil }
    /// A few words for the event, as a student names it (a plot's labels); nil: the name
    /// and the process, `exec 2`.
    var short: (@Sendable (Event) -> String)?

    /// A few words for `e`, as a student names it: `fork 1→2`, `exec 2`, `wait 1`.
    package func shortLabel(_ e: Event) -> String {
        short?(e) ?? (process(e.kind).map { "\(name) \($0)" } ?? name)
    }

    /// The kinds of event, in the order messages list them.
    package static var all: [EventSpec] { EventKind.specs }

    /// The table by name.
    static let named: [String: EventSpec] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
}

/// The name the tests and older code know the table by.
package typealias EventSyntax = EventSpec

/// A number in an event that shrink may make smaller: read as a sign and a magnitude, and set
/// to another magnitude of the same sign. The writer keeps its form (hex for an address or size).
package struct NumberField: Sendable {
    /// The key it is written under (`n`, `memsz` ...).
    package let key: String
    package let get: @Sendable (EventKind) -> (negative: Bool, magnitude: UInt64)?
    package let set: @Sendable (EventKind, _ magnitude: UInt64) -> EventKind
}

/// What an event's execution sees of the run: the kernel, the run's baseline, and where the
/// lines it adds go (nowhere without a trace).
package struct EventRun {
    package let kernel: Kernel
    /// Free pages at the last `baseline` (for `expect: {free_pages: baseline}`).
    package var baseline: Int?
    package let output: EventOutput?
    /// The expectations that did not hold, as sentences.
    package var failedExpectations: [String] = []

    package init(kernel: Kernel, baseline: Int?, output: EventOutput?) {
        self.kernel = kernel; self.baseline = baseline; self.output = output
    }
}

/// Where an event's execution writes: a trace writer.
package protocol EventOutput: AnyObject {
    /// The `baseline` line: free pages now.
    func addBaseline(freePages: Int)
    /// An `expect FAILED` line: an expectation that did not hold, as a sentence.
    func addFailedExpectation(_ failure: String)
    /// A line the kernel prints on the console.
    func addConsole(_ line: String)
}

extension EventSpec {
    /// The process that makes a system call.
    static let caller: @Sendable (EventKind) -> Int? = { if case .syscall(let pid, _) = $0 { pid } else { nil } }
}

extension Event {
    /// The spec of its kind.
    package var spec: EventSpec { kind.spec }
}
