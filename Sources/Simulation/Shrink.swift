import XV6
import RISCV

/// Reduces a scenario to a small one that still shows the same thing: delta debugging
/// (ddmin) over its events, repeats unrolled, each candidate written out as YAML and
/// compiled again, so every candidate is a valid scenario.
public enum Shrink {
    /// What the small scenario must still show. Specific, so the reduction cannot drift
    /// to another bug: the same panic message, a leak whose top record is at the same site.
    public enum Predicate: Equatable, Sendable, CustomStringConvertible {
        case panic(String)
        case leak(site: String)
        case failedExpectation
        case invariant

        /// `panic`, `panic:MSG`, `leak`, `leak:a > b > c`, `expect`, `invariant`; the bare
        /// forms take the message or site from the original run.
        public init?(_ text: String, original: CompiledScenario) {
            let (word, arg) = text.firstIndex(of: ":").map { (String(text[..<$0]), String(text[text.index(after: $0)...])) } ?? (text, "")
            switch word {
            case "panic":
                if !arg.isEmpty { self = .panic(arg); return }
                guard let p = Runner.run(original, writer: nil).0.panic else { return nil }
                self = .panic(p.message)
            case "leak":
                if !arg.isEmpty { self = .leak(site: arg); return }
                let (r, k) = Runner.run(original, writer: nil)
                guard let k, let top = LeakReport(scenario: original, kernel: k, result: r).records.first else { return nil }
                self = .leak(site: top.site.joined(separator: " > "))
            case "expect": self = .failedExpectation
            case "invariant": self = .invariant
            default: return nil
            }
        }

        public var description: String {
            switch self {
            case .panic(let m): return "panic:\(m)"
            case .leak(let s): return "leak:\(s)"
            case .failedExpectation: return "expect"
            case .invariant: return "invariant"
            }
        }

        /// Whether a run of `s` shows it.
        public func holds(_ s: CompiledScenario) -> Bool {
            var s = s
            if self == .invariant { s.checkInvariants = true }
            let (r, k) = Runner.run(s, writer: nil)
            switch self {
            case .panic(let m): return r.panic?.message == m
            case .leak(let site):
                guard let k, let top = LeakReport(scenario: s, kernel: k, result: r).records.first else { return false }
                return top.site.joined(separator: " > ") == site
            case .failedExpectation: return !r.failedExpectations.isEmpty
            case .invariant: return !r.violations.isEmpty
            }
        }
    }

    public struct Result: Sendable {
        public var yaml: String
        public var before: Int
        public var after: Int
        public var tests: Int
    }

    /// Shrinks `s` (compiled from `file`) while `predicate` holds: ddmin over the events,
    /// then, where a process is only there to be a parent, a pass that hands its children
    /// to an earlier process (init first), and ddmin again.
    public static func run(_ s: CompiledScenario, file: String, predicate: Predicate,
                           progress: ((_ tests: Int, _ events: Int) -> Void)? = nil) -> Result? {
        let all = s.events.dropFirst().map(line)               // boot is implicit
        var tests = 0
        func test(_ lines: [String]) -> Bool {
            tests += 1
            progress?(tests, lines.count)
            let text = yaml(lines, s, header: [])
            guard let c = try? ScenarioCompiler.compile(bytes: Array(text.utf8), file: file) else { return false }
            return predicate.holds(c)
        }
        guard test(all) else { return nil }
        var current = ddmin(all, test)
        // Rename: let an earlier process (init first) do what a process does after it is
        // created, so that the process itself may go.
        var changed = true
        while changed {
            changed = false
            outer: for (i, l) in current.enumerated() {
                guard let x = created(by: l) else { continue }
                for y in definedBefore(i, current) where y < x {
                    var candidate = current
                    for j in candidate.indices where j > i { candidate[j] = replace(x, with: y, in: candidate[j]) }
                    if candidate != current && test(candidate) {
                        current = ddmin(candidate, test)
                        changed = true
                        break outer
                    }
                }
            }
        }
        current = shrinkNumbers(current, test)
        current = renumber(current)
        let header = [
            "Shrunk by `xv6vm shrink \(s.file) --until \(predicate)`",
            "from \(all.count) events to \(current.count) (\(all.count - current.count) removed, in \(tests) test runs).",
            "Without any one of these events, the run no longer shows it.",
        ]
        return Result(yaml: yaml(current, s, header: header), before: all.count, after: current.count, tests: tests)
    }

    /// ddmin: try removing each of n chunks; on success keep the rest, else split finer.
    static func ddmin(_ start: [String], _ test: ([String]) -> Bool) -> [String] {
        var current = start
        var n = 2
        while current.count >= 2 {
            let size = (current.count + n - 1) / n
            var reduced = false
            var from = 0
            while from < current.count {
                let candidate = Array(current[..<from] + current[min(current.count, from + size)...])
                if !candidate.isEmpty && test(candidate) {
                    current = candidate
                    n = max(n - 1, 2)
                    reduced = true
                    break
                }
                from += size
            }
            if !reduced {
                if n >= current.count { break }
                n = min(current.count, n * 2)
            }
        }
        return current
    }

    /// Fields whose numbers the last pass makes as small as it can.
    static let numericFields = ["n", "memsz", "filesz", "len", "max", "status", "entry"]

    /// For each number in those fields, the smallest magnitude (by binary search between 0
    /// and the number) for which the run still shows the predicate.
    static func shrinkNumbers(_ start: [String], _ test: ([String]) -> Bool) -> [String] {
        var current = start
        for i in current.indices {
            for field in numericFields {
                guard let r = current[i].range(of: "\(field): ") else { continue }
                let digits = current[i][r.upperBound...].prefix { $0.isHexDigit || $0 == "x" || $0 == "-" }
                guard let v = parseInteger(String(digits)), v.magnitude > 0 else { continue }
                let hex = digits.hasPrefix("0x") || digits.hasPrefix("-0x")
                func with(_ m: UInt64) -> [String] {
                    var c = current
                    let text = (v.negative ? "-" : "") + (hex ? hexShort(m) : String(m))
                    c[i] = String(c[i][..<r.upperBound]) + text + c[i][digits.endIndex...]
                    return c
                }
                var lo: UInt64 = 0, hi = v.magnitude          // hi holds; find the smallest that does
                if test(with(0)) { current = with(0); continue }
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2
                    if test(with(mid)) { hi = mid } else { lo = mid }
                }
                current = with(hi)
            }
        }
        return current
    }

    /// Names the processes p1, p2, ... in the order the lines create them, going through
    /// names no scenario uses so that swapping two names cannot collide.
    static func renumber(_ lines: [String]) -> [String] {
        let order = lines.compactMap(created)
        var out = lines
        for (k, pid) in order.enumerated() { out = out.map { replace(pid, with: 1_000_000 + k + 1, in: $0) } }
        for k in order.indices { out = out.map { replace(1_000_000 + k + 1, with: k + 1, in: $0) } }
        return out
    }

    /// Processes created by the lines before `i` (userinit and fork children).
    static func definedBefore(_ i: Int, _ lines: [String]) -> [Int] { lines[..<i].compactMap(created) }

    /// The process an event line creates, if it does.
    static func created(by l: String) -> Int? {
        if l.hasPrefix("userinit: p") { return Int(l.dropFirst("userinit: p".count)) }
        if l.hasPrefix("fork:"), let r = l.range(of: "child: p") { return Int(l[r.upperBound...].prefix { $0.isNumber }) }
        return nil
    }

    static func replace(_ pid: Int, with other: Int, in line: String) -> String {
        var out = ""
        let chars = Array(line)
        var i = 0
        while i < chars.count {
            if chars[i] == "p", i == 0 || !(chars[i - 1].isLetter || chars[i - 1].isNumber) {
                var j = i + 1
                while j < chars.count && chars[j].isNumber { j += 1 }
                if j > i + 1, Int(String(chars[i + 1..<j])) == pid, j == chars.count || !(chars[j].isLetter || chars[j].isNumber) {
                    out += name(other)
                    i = j
                    continue
                }
            }
            out.append(chars[i])
            i += 1
        }
        return out
    }

    // MARK: writing events back as YAML

    static func name(_ pid: Int) -> String { "p\(pid)" }

    /// A scenario with these event lines, the original's kernel and checks, processes named by their original pids.
    static func yaml(_ lines: [String], _ s: CompiledScenario, header: [String]) -> String {
        var out = header.map { "# " + $0 }
        out.append("description: shrunk from \(s.file)")
        var kernel = ["variant: \(s.config.variant)"]
        let preset = KernelSettings.preset(named: s.config.variant) ?? .xv6_2020
        for (mine, theirs) in zip(s.config.settings.listed, preset.listed) where mine.value != theirs.value {
            kernel.append("\(mine.key): \(mine.value)")
        }
        let image = s.config.image, std = KernelImage.lab2020
        if image.end != std.end { kernel.append("end: \(hexShort(image.end))") }
        if image.etext != std.etext { kernel.append("etext: \(hexShort(image.etext))") }
        if image.trampoline != std.trampoline { kernel.append("trampoline: \(hexShort(image.trampoline))") }
        if image.phystop != std.phystop { kernel.append("phystop: \(hexShort(image.phystop))") }
        if s.config.harts != 1 { kernel.append("harts: \(s.config.harts)") }
        out.append("kernel: {\(kernel.joined(separator: ", "))}")
        if s.checkInvariants { out.append("check: true") }
        out.append("events:")
        for l in lines { out.append("  - " + l) }
        return out.joined(separator: "\n") + "\n"
    }

    static func q(_ s: String) -> String { JSONValue.quote(s) }

    static func line(_ e: Event) -> String {
        switch e.kind {
        case .boot: return "userinit"
        case .userinit(let pid): return "userinit: \(name(pid))"
        case .baseline: return "baseline"
        case .failKalloc(let n): return "fail_kalloc: \(n)"
        case let .vmprint(pid, kernelTable): return "vmprint: {proc: \(name(pid)), table: \(kernelTable ? "kernel" : "user")}"
        case let .run(pid, hart): return "run: {proc: \(name(pid)), hart: \(hart)}"
        case let .access(pid, va, access, faults): return "\(access.rawValue): {proc: \(name(pid)), va: \(hexShort(va)), faults: \(faults)}"
        case .expect(let list): return "expect: {" + list.map(expectation).joined(separator: ", ") + "}"
        case let .syscall(pid, call):
            let p = name(pid)
            switch call {
            case .fork: return "fork: {parent: \(p)" + (e.child.map { ", child: \(name($0))" } ?? "") + "}"
            case let .exec(path, argv, program):
                let segs = program.segments.map { "{vaddr: \(hexShort($0.vaddr)), memsz: \(hexShort($0.memsz)), filesz: \(hexShort($0.filesz))}" }
                return "exec: {proc: \(p), path: \(q(path)), argv: [\(argv.map(q).joined(separator: ", "))], segments: [\(segs.joined(separator: ", "))], entry: \(hexShort(program.entry))}"
            case .sbrk(let n): return "sbrk: {proc: \(p), n: \(n)}"
            case .exit(let status): return "exit: {proc: \(p), status: \(status)}"
            case .wait: return "wait: \(p)"
            case let .copyin(va, len): return "copyin: {proc: \(p), va: \(hexShort(va)), len: \(len)}"
            case let .copyinstr(va, max): return "copyinstr: {proc: \(p), va: \(hexShort(va)), max: \(max)}"
            case let .copyout(va, len): return "copyout: {proc: \(p), va: \(hexShort(va)), len: \(len)}"
            }
        }
    }

    static func expectation(_ x: Expectation) -> String {
        switch x {
        case .freePages(let n): return "free_pages: \(n.map(String.init) ?? "baseline")"
        case .leaks(let n): return "leaks: \(n)"
        case .panic(let m): return "panic: \(q(m))"
        case let .mapped(pid, va, pa, perm):
            return "mapped: {proc: \(name(pid)), va: \(hexShort(va))" + (pa.map { ", pa: \(hexShort($0))" } ?? "") + (perm.map { ", perm: \($0)" } ?? "") + "}"
        case let .unmapped(pid, va): return "unmapped: {proc: \(name(pid)), va: \(hexShort(va))}"
        case let .satp(hart, pid, user):
            return "satp: {hart: \(hart), table: \(user ? "user" : "kernel")" + (pid.map { ", proc: \(name($0))" } ?? "") + "}"
        }
    }
}
