import XV6
import RISCV
import Support
import Scenario
import Run
import CosimLog

/// A probe the model made, with where it came from.
public struct ModelProbe: Sendable {
    public var probe: Probe
    /// The scenario event (= imported operation) that caused it.
    public var event: Int
    /// kalloc/kfree: the allocation site's chain.
    public var site: Int32 = 0
}

/// Turns the model's trace events into probes the way a kernel's `@T` lines show them,
/// and hands each to the stream replay compares it in.
package final class ProbeRecorder {
    package let memory: StreamComparison
    let satp: StreamComparison
    let process: StreamComparison
    var streams: [StreamComparison] { [memory, satp, process] }
    /// Whether the model's kvminithart writes after boot are left out (an idle loop's, in the kernel).
    var skipsKvminithartAfterBoot = false
    /// Whether sbrk is the lazy lab's (the kernel prints `sbrk`, never `growproc`).
    var lazySbrk = false
    /// The parent whose wait is the event running (its freeproc follows the kernel's `wait` line).
    var waitParent: Int?

    /// Compares physical pages by first use (`blind`), or by address with the address-blind
    /// comparison alongside, to say where that one parts.
    func compare(blind: Bool, ram: Range<UInt64>) {
        for side in streams {
            if blind { side.pages = PageBinding(ram: ram) } else { side.blindSeen = SeenPages(ram: ram) }
        }
    }

    package init(store: ProbeStore) {
        memory = StreamComparison("memory", store: store)
        satp = StreamComparison("satp", store: store)
        process = StreamComparison("process", store: store)
    }

    /// Probes compared and agreeing, by kind, in ProbeKind order.
    var agreed: [(ProbeKind, Int)] {
        ProbeKind.allCases.compactMap { k in
            let n = streams.reduce(0) { $0 + $1.agreed[k.index] }
            return n > 0 ? (k, n) : nil
        }
    }

    func take(_ e: TraceEvent, _ event: Int) {
        func mem(_ p: Probe, site: Int32 = 0) { memory.add(ModelProbe(probe: p, event: event, site: site)) }
        func proc(_ p: Probe) { process.add(ModelProbe(probe: p, event: event)) }
        switch e {
        case let .kalloc(pa, site, _):
            var p = Probe(.kalloc); p.pa = pa.rawValue; mem(p, site: site)
        case let .kallocFailed(site, _):
            mem(Probe(.kalloc), site: site)
        case let .kfree(pa, site, _):
            var p = Probe(.kfree); p.pa = pa.rawValue; mem(p, site: site)
        case let .mappages(_, root, va, size, pa, perm):
            var p = Probe(.map); p.pt = root.rawValue; p.va = va.rawValue; p.size = size; p.pa = pa.rawValue; p.perm = UInt64(perm.rawValue); mem(p)
        case let .uvmunmap(_, root, va, npages, free):
            var p = Probe(.unmap); p.pt = root.rawValue; p.va = va.rawValue; p.n = Int64(bitPattern: npages); p.flag = free; mem(p)
        case let .freewalk(pt):
            var p = Probe(.freewalk); p.pt = pt.rawValue; mem(p)
        case let .kvmFreeKernelPagetable(pt):
            var p = Probe(.kvmFree); p.pt = pt.rawValue; mem(p)
        case let .allocproc(pid, _):
            var p = Probe(.allocproc); p.pid = pid; mem(p)
        case let .freeproc(pid, _):
            // wait found a zombie: the kernel prints that before freeproc, as the model does here.
            if let parent = waitParent {
                var w = Probe(.wait); w.pid = parent; w.other = pid; proc(w)
            }
            var p = Probe(.freeproc); p.pid = pid; mem(p)
        case let .satp(_, value, table, by):
            guard by != .trampoline && by != .exec, !(skipsKvminithartAfterBoot && event > 0 && by == .kvminithart) else { return }
            var p = Probe(.satp); p.pa = value.root.rawValue
            p.textID = by == .scheduler ? ProbeText.scheduler : by == .kvminithart ? ProbeText.kvminithart : ProbeText.id(by.rawValue)
            if case .procKernel(let pid) = table { p.pid = pid }
            satp.add(ModelProbe(probe: p, event: event))
        case let .sysret(pid, name, value):
            if name == "fork" { var p = Probe(.fork); p.pid = pid; p.other = Int(value); proc(p) }
        case let .execCommitted(pid, path, sz):
            var p = Probe(.exec); p.pid = pid; p.text = path; p.sz = sz; proc(p)
        case let .execFailed(pid, path):
            var p = Probe(.execfail); p.pid = pid; p.text = path; proc(p)
        case let .syscall(pid, .sbrk(n)):
            var p = Probe(lazySbrk ? .sbrk : .growproc); p.pid = pid; p.n = Int64(n); proc(p)
        case let .zombie(pid, status):
            var p = Probe(.exit); p.pid = pid; p.n = Int64(status); proc(p)
        case let .pagefault(pid, scause, va):
            var p = Probe(.pagefault); p.pid = pid; p.n = Int64(bitPattern: scause); p.va = va.rawValue; proc(p)
        case let .refinc(pa, count, _):
            var p = Probe(.refinc); p.pa = pa.rawValue; p.n = Int64(count); mem(p)
        case let .refdec(pa, count, _):
            var p = Probe(.refdec); p.pa = pa.rawValue; p.n = Int64(count); mem(p)
        default: break
        }
    }
}

/// Where the kernel and the model part.
public struct Departure: Sendable {
    /// Which stream: memory, satp or process.
    public var stream: String
    /// Position in that stream.
    public var position: Int
    /// The log's probe there (nil: the log ended first).
    public var log: Probe?
    /// The model's probe there (nil: the model ended first).
    public var model: ModelProbe?
    public var logContext: [Probe]
    public var modelContext: [ModelProbe]
    /// The operation under way, from the log's side (or the model's).
    public var operation: LogOperation?
    public var event: Int?
    /// What the operation did on each side, kind by kind, and a sentence on the difference.
    public var logCounts: [(ProbeKind, Int)]
    public var modelCounts: [(ProbeKind, Int)]
    public var modelSites: [(String, Int)]
    public var verdict: String
    /// The allocation site of the model's kalloc or kfree there.
    public var modelSite = ""
    /// The model's tables of the process the operation acts on, as they were where the two
    /// part, marked where the kernel's events contradict them (DepartureTables.swift).
    public var tables: DepartureTables?
    /// Which departure it is, in the log's order (--keep-going): 1 for the first.
    public var ordinal = 1
}

/// The outcome of a replay.
public struct ReplayReport: Sendable {
    public var file: String
    public var variant: String
    public var operations: Int
    /// Probes compared (and agreeing) per kind, in ProbeKind order.
    public var agreed: [(ProbeKind, Int)]
    public var departure: Departure?
    /// The model's panic, if it panicked.
    public var panic: String?
    /// The kernel's, from its log, and the line.
    public var kernelPanic: (line: Int, message: String)?
    /// Pages the kernel allocated and had not freed where the comparison stopped, by the
    /// model's allocation site they align with: (site, pages, of which the model had freed).
    public var held: [(site: String, pages: Int, modelFreed: Int)]
    public var heldAtLine: Int
    /// Whether the variant was guessed from the log's shape (no `--set variant=`).
    public var variantGuessed = true
    /// The log lines of the bare kallocs import took for pipes, and of their frees (nil: never freed).
    public var pipes: [(line: Int, freedAt: Int?)] = []
    public var agrees: Bool { departure == nil }
    /// Whether the log was read to its end (false: the replay stopped once the departure was
    /// certain, `ReplaySession.readPastDeparture` probes past it).
    public var readWhole = true
    /// With --keep-going N: the first N departures, in the log's order (else empty).
    public var departures: [Departure] = []
    /// The last log line read.
    public var readToLine = 0
    /// Whether physical pages were matched by first use rather than by address (`--blind-addresses`).
    public var blind = false
    /// In the exact comparison: where the address-blind one parts (its log line; 0: it agrees),
    /// when that is later than the exact departure (nil: not later, or the view is blind).
    public var blindPartsAt: Int?
}

/// Physical pages of the log and of the model, matched by first use: a page of RAM on one
/// side stands for the page on the other side it was first seen with, and for no other.
package struct PageBinding {
    var ram: Range<UInt64>
    var logToModel: [UInt64: UInt64] = [:]
    var modelToLog: [UInt64: UInt64] = [:]
    /// The same for the first GiB of RAM from KERNBASE, where xv6's pages are, by page
    /// number (+1; 0: not matched): an array look-up, not a hash, for each probe compared.
    var nearLogToModel: [UInt32] = []
    var nearModelToLog: [UInt32] = []
    static let near = MemLayout.kernbase..<(MemLayout.kernbase + (1 << 30))

    package init(ram: Range<UInt64>) { self.ram = ram }

    /// Whether the log's address `a` and the model's `b` name the same thing: equal outside
    /// RAM; in RAM, the same offset in pages matched before, or in two pages seen now first.
    package mutating func same(_ a: UInt64, _ b: UInt64) -> Bool {
        guard ram.contains(a) && ram.contains(b) else { return a == b }
        guard a & 0xfff == b & 0xfff else { return false }
        if Self.near.contains(a) && Self.near.contains(b) {
            if nearLogToModel.isEmpty {
                nearLogToModel = [UInt32](repeating: 0, count: 1 << 18)
                nearModelToLog = nearLogToModel
            }
            let (pa, pb) = (Int((a - Self.near.lowerBound) >> 12), Int((b - Self.near.lowerBound) >> 12))
            switch (nearLogToModel[pa], nearModelToLog[pb]) {
            case (0, 0) where logToModel.isEmpty && modelToLog.isEmpty || logToModel[a & ~0xfff] == nil && modelToLog[b & ~0xfff] == nil:
                nearLogToModel[pa] = UInt32(pb + 1); nearModelToLog[pb] = UInt32(pa + 1); return true
            case (let m, let l) where m != 0 && l != 0: return Int(m) == pb + 1 && Int(l) == pa + 1
            default: return false
            }
        }
        // A page near and one far can only be bound to each other here.
        let (pa, pb) = (a & ~0xfff, b & ~0xfff)
        if Self.near.contains(pa) && !nearLogToModel.isEmpty && nearLogToModel[Int((pa - Self.near.lowerBound) >> 12)] != 0 { return false }
        if Self.near.contains(pb) && !nearModelToLog.isEmpty && nearModelToLog[Int((pb - Self.near.lowerBound) >> 12)] != 0 { return false }
        switch (logToModel[pa], modelToLog[pb]) {
        case (nil, nil): logToModel[pa] = pb; modelToLog[pb] = pa; return true
        case (let m?, let l?): return m == pb && l == pa
        default: return false
        }
    }
}

/// The pages of RAM the probes compared so far name: while the exact comparison agrees, the
/// address-blind one alongside it has bound each of them to itself and to nothing else, so
/// it is kept as this set and made a `PageBinding` only where the exact one parts (binding
/// every address as it was compared took a tenth of a replay's main thread).
package struct SeenPages {
    let ram: Range<UInt64>
    /// By page number in `PageBinding.near`, a bit each.
    private var near = [UInt64](repeating: 0, count: 1 << 12)
    private var far: Set<UInt64> = []

    init(ram: Range<UInt64>) { self.ram = ram }

    /// Notes the pages a probe names, as `Replay.same` compares them.
    mutating func note(_ p: Probe) {
        switch p.kind {
        case .kalloc, .kfree, .satp, .refinc, .refdec: note(p.pa)
        case .map: note(p.pt); note(p.pa)
        case .unmap, .freewalk, .kvmFree: note(p.pt)
        default: break
        }
    }

    private mutating func note(_ a: UInt64) {
        guard ram.contains(a) else { return }
        if PageBinding.near.contains(a) {
            let i = Int((a &- PageBinding.near.lowerBound) >> 12)
            near[i >> 6] |= 1 << UInt64(i & 63)
        } else {
            far.insert(a & ~0xfff)
        }
    }

    /// The binding the address-blind comparison would have made: each page to itself.
    var binding: PageBinding {
        var b = PageBinding(ram: ram)
        for (w, word) in near.enumerated() where word != 0 {
            if b.nearLogToModel.isEmpty { b.nearLogToModel = [UInt32](repeating: 0, count: 1 << 18) }
            for bit in 0..<64 where word & (1 << UInt64(bit)) != 0 {
                let i = w << 6 | bit
                b.nearLogToModel[i] = UInt32(i + 1)
            }
        }
        b.nearModelToLog = b.nearLogToModel
        for a in far { b.logToModel[a] = a; b.modelToLog[a] = a }
        return b
    }
}

public enum Replay {
    /// Runs an imported log on the model and compares the streams, each model probe with
    /// the log's as the model makes it. With `blind`, physical pages are matched by first use
    /// (`PageBinding`): the kernel may place pages elsewhere, as long as it does the same
    /// things with them. The log is read to its end (`ReplaySession` can stop early).
    /// With `kernelSides`, a departure's tables carry the kernel's side (as a report's do).
    public static func run(_ imported: ImportedLog, blind: Bool = false, kernelSides: Bool = false) -> ReplayReport {
        do throws(ImportError) {
            var report = try run(imported.log, config: imported.config, blind: blind, kernelSides: kernelSides)
            report.variantGuessed = imported.variantGuessed
            return report
        } catch {
            // The import read this log whole: it cannot fail the same way twice.
            preconditionFailure("the log imported, but not again: \(error)")
        }
    }

    /// Replays a log read whole, to its end, as the kernel `config` describes.
    /// Without `tables`, a departure has no tables (`ReplaySession.readsTables`).
    static func run(_ log: KernelLog, config: KernelConfig, blind: Bool = false, kernelSides: Bool = false,
                    tables: Bool = true) throws(ImportError) -> ReplayReport {
        let session = ReplaySession(file: log.file, config: config, blind: blind)
        session.kernelSides = kernelSides
        session.readsTables = tables
        for p in log.probes { try session.take(p) }
        try session.finishLog()
        return session.report(kernelPanic: log.panic)
    }

    /// Whether the log's probe and the model's say the same.
    /// With `pages`, physical addresses are compared through it (address-blind).
    package static func same(_ a: Probe, _ b: Probe, _ pages: inout PageBinding?) -> Bool {
        guard a.kind == b.kind else { return false }
        func pa(_ x: UInt64, _ y: UInt64) -> Bool { pages == nil ? x == y : pages!.same(x, y) }
        switch a.kind {
        case .kalloc, .kfree: return pa(a.pa, b.pa)
        // mappages writes perm|PTE_V: a kernel that passes V and one that does not write the same PTEs.
        case .map: return a.va == b.va && a.size == b.size && a.perm | 1 == b.perm | 1 && pa(a.pt, b.pt) && pa(a.pa, b.pa)
        case .unmap: return a.va == b.va && a.n == b.n && a.flag == b.flag && pa(a.pt, b.pt)
        case .freewalk, .kvmFree: return pa(a.pt, b.pt)
        case .allocproc, .freeproc: return a.pid == b.pid
        case .satp: return a.textID == b.textID && (a.textID != ProbeText.scheduler || a.pid == b.pid) && pa(a.pa, b.pa)
        case .fork, .wait: return a.pid == b.pid && a.other == b.other
        case .exec: return a.pid == b.pid && a.textID == b.textID && a.sz == b.sz
        case .execfail: return a.pid == b.pid && a.textID == b.textID
        case .growproc, .exit: return a.pid == b.pid && a.n == b.n
        case .swtch: return a.pid == b.pid && a.other == b.other
        case .pagefault: return a.pid == b.pid && a.n == b.n && a.va == b.va
        case .refinc, .refdec: return a.n == b.n && pa(a.pa, b.pa)
        case .sbrk: return a.pid == b.pid && a.n == b.n
        case .copyout, .copyin, .copyinstr, .cowcopyout, .lazycopy: return a.pid == b.pid && a.va == b.va && a.n == b.n
        }
    }

    package static func same(_ a: Probe, _ b: Probe) -> Bool {
        var exact: PageBinding? = nil
        return same(a, b, &exact)
    }

    /// Every event agreed, but one side panicked and the other did not, or not the same way.
    static func panicDeparture(_ kernel: (line: Int, message: String)?, _ model: String?, _ probes: [Probe]) -> Departure {
        var log: Probe?
        if let kernel { log = Probe(.exit); log!.line = kernel.line }
        let verdict = switch (kernel, model) {
        case let (k?, m?): "the kernel panics (\(k.message)) where the model panics (\(m))"
        case let (k?, nil): "the kernel panics (\(k.message)); the model does not"
        case let (nil, m?): "the model panics (\(m)); the kernel's log shows no panic"
        default: ""
        }
        return Departure(stream: "panic", position: 0, log: log, model: nil, logContext: [], modelContext: [], operation: nil,
                         event: nil, logCounts: [], modelCounts: [], modelSites: [], verdict: verdict)
    }

    static func pages(_ n: Int) -> String { n == 1 ? "1 page" : "\(n) pages" }
}
