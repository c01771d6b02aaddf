import RISCV
import Support
import CosimLog

/// A kfree of a page that is not allocated (or a kalloc of one that is).
public struct DoubleFree: Equatable, Sendable {
    public var line: Int
    public var pa: UInt64
    /// The line of the page's last kfree (a double free) or kalloc (allocated twice); 0: never.
    public var before: Int
    public var by: LeakOpSummary
    /// A counted log: what the kernel was doing, from its last process line (else "").
    public var during = ""
}

/// A page freed while a live table still maps it, after the operation that freed it.
public struct MappedFree: Equatable, Sendable {
    public var line: Int
    public var pa: UInt64
    public var va: UInt64
    public var root: UInt64
    public var owner: Int
    public var kernel: Bool
    public var by: LeakOpSummary
    /// A counted log: what the kernel was doing, from its last process line (else "").
    public var during = ""
}

/// Frees of mapped pages by one operation in one table.
public struct MappedFreeGroup: Equatable, Sendable {
    public var first: MappedFree
    public var count = 1
    public var lastLine: Int
    public var vaLow: UInt64
    public var vaHigh: UInt64
}

/// A table freed while entries still point at pages freed in an earlier operation.
public struct StaleTable: Equatable, Sendable {
    public var line: Int
    public var root: UInt64
    public var owner: Int
    public var kernel: Bool
    public var entries: Int
    /// The lowest such entry's va, and the earliest of their frees.
    public var va: UInt64
    public var freedAt: Int
}

/// Misuse found as the probes go by (leaks are judged at the end).
public struct LogFindings: Sendable {
    public var doubleFrees: [DoubleFree] = []
    public var allocatedTwice: [DoubleFree] = []
    public var mappedFrees: [MappedFreeGroup] = []
    public var staleTables: [StaleTable] = []
    /// kallocs that returned 0 (memory ran out; usertests' sbrk tests end so).
    public var failedKallocs = 0
    /// A counted log's misused counts, in log order.
    public var counts: [CountFinding] = []
    /// Pages a live process maps whose count is above their mappings, by the sites that left
    /// them so (judged at the end).
    public var countSurplus: [CountSurplus] = []

    mutating func addMappedFree(_ m: MappedFree) {
        if let i = mappedFrees.indices.last, mappedFrees[i].first.by == m.by, mappedFrees[i].first.during == m.during,
           mappedFrees[i].first.root == m.root {
            mappedFrees[i].count += 1
            mappedFrees[i].lastLine = m.line
            mappedFrees[i].vaLow = min(mappedFrees[i].vaLow, m.va)
            mappedFrees[i].vaHigh = max(mappedFrees[i].vaHigh, m.va)
        } else {
            mappedFrees.append(MappedFreeGroup(first: m, lastLine: m.line, vaLow: m.va, vaHigh: m.va))
        }
    }

    public var count: Int {
        doubleFrees.count + allocatedTwice.count + mappedFrees.count + staleTables.count + counts.count + countSurplus.count
    }
}

/// Pages left without an owner by one event: a table, an exec's pages, an unmap.
public struct LeakInstance: Sendable {
    public enum What: Int, Sendable { case kernelTable, userTable, bare, unmapped, counted }
    public var what: What
    public var pid: Int
    public var cause: LeakCause
    public var made: LeakOpSummary
    /// The table's root (tables only), and the line its root was freed (0: never).
    public var root: UInt64 = 0
    public var rootFreedLine = 0
    public var roots = 0, tablePages = 0, dataPages = 0, barePages = 0
    public var firstPa: UInt64 = .max
    public var firstLine = Int.max
    /// Data pages: the lowest and highest va their first mapping put them at.
    public var vaLow: UInt64 = .max
    public var vaHigh: UInt64 = 0
    /// The operations that allocated its pages, in words, and how many each.
    public var allocatedBy: [(String, Int)] = []
    /// counted: the events that dropped a holder without the count, in log order, and the
    /// pages, each with the va of its first such holder and the count left.
    public var sites: [CountSite] = []
    public var counted: [(pa: UInt64, va: UInt64, count: Int)] = []
    public var pages: Int { roots + tablePages + dataPages + barePages }
}

/// The leak report of a log read without the model.
public struct LogLeakReport: Sendable {
    public var file: String
    public var probes: Int
    public var lastLine: Int
    public var processesCreated: Int
    public var processesFreed: Int
    /// Groups of instances with the same shape: what was lost, how, by which operation.
    public var records: [[LeakInstance]]
    public var findings: LogFindings
    /// Pages held at the end, not leaks: by the kernel, by live processes (pages, processes),
    /// by zombies not yet reaped (pages, processes), by objects no probe names (pipes).
    public var heldByKernel = 0
    public var heldByProcesses = (pages: 0, processes: 0)
    public var heldByZombies = (pages: 0, processes: 0)
    /// Pages each live process or zombie holds, by pid.
    public var heldByPid: [(pid: Int, pages: Int, zombie: Bool)] = []
    public var heldByPipes = 0
    /// The kernel's panic, if its log shows one.
    public var panic: (line: Int, message: String)?
    /// The log has reference counts (`refinc`, `refdec`).
    public var counted = false

    public var leaked: Int { records.reduce(0) { $0 + $1.reduce(0) { $0 + $1.pages } } }
    public var clean: Bool { leaked == 0 && findings.count == 0 }
}

extension LogLeakTracker {
    package enum InstanceKey: Hashable { case table(Int32), op(Int32), unmapped(Int32, Int), counted([Int]) }

    /// Judges every page still allocated at the end of the log.
    public mutating func finish() -> LogLeakReport {
        applyHandSwap()
        checkpoint()
        var report = LogLeakReport(file: file, probes: probes, lastLine: lastLine, processesCreated: processesCreated,
                                   processesFreed: processesFreed, records: [], findings: findings)
        report.counted = counted
        var surplus: [[Int]: CountSurplus] = [:]
        var instances: [InstanceKey: LeakInstance] = [:]
        var byOp: [InstanceKey: [String: Int]] = [:]
        var byPid: [Int: Int] = [:]
        func held(_ pid: Int) {
            if pid == 0 { report.heldByKernel += 1 } else { byPid[pid, default: 0] += 1 }
        }
        func lost(_ key: InstanceKey, _ pa: UInt64, _ rec: PageRecord, _ make: () -> LeakInstance) {
            var i = instances[key] ?? make()
            switch rec.role {
            case .root: i.roots += 1
            case .table: i.tablePages += 1
            case .data:
                i.dataPages += 1
                if let va = rec.mappings.first?.va { i.vaLow = min(i.vaLow, va); i.vaHigh = max(i.vaHigh, va) }
            case .bare: i.barePages += 1
            }
            if rec.line < i.firstLine { i.firstLine = rec.line; i.firstPa = pa }
            instances[key] = i
            byOp[key, default: [:]][summary(rec.op).text, default: 0] += 1
        }
        for (pa, rec) in pages {
            switch rec.role {
            case .root, .table:
                guard let t = tables[rec.table] else { held(0); continue }
                guard let cause = t.death else { held(t.owner); continue }
                lost(.table(rec.table), pa, rec) { tableInstance(t, cause) }
            case .data:
                if let m = rec.mappings.first {
                    guard let t = tables[m.table], let cause = t.death else {
                        held(tables[m.table]?.owner ?? 0)
                        if counted && !rec.debts.isEmpty && Int(rec.count) > holders(rec) {
                            let key = rec.debts.map(\.line)
                            let owners = rec.mappings.compactMap { tables[$0.table].flatMap { $0.kernel ? nil : $0.owner } }
                            surplus[key, default: CountSurplus(sites: rec.debts, pages: [], holders: owners)].pages
                                .append((pa, m.va, Int(rec.count)))
                        }
                        continue
                    }
                    lost(.table(m.table), pa, rec) { tableInstance(t, cause) }
                } else if counted && !rec.debts.isEmpty {
                    let last = rec.debts.last!
                    lost(.counted(rec.debts.map(\.line)), pa, rec) {
                        var i = LeakInstance(what: .counted, pid: last.context.pid,
                                             cause: LeakCause(kind: .unmapped, line: last.line, pid: last.context.pid),
                                             made: summary(rec.op))
                        i.sites = rec.debts
                        return i
                    }
                    instances[.counted(rec.debts.map(\.line))]!.counted.append((pa, rec.debts[0].va, Int(rec.count)))
                } else {
                    let cause = LeakCause(kind: .unmapped, line: rec.unmappedLine, pid: ops[rec.op]?.pid ?? 0)
                    lost(.unmapped(rec.unmappedOp, rec.unmappedLine), pa, rec) {
                        LeakInstance(what: .unmapped, pid: cause.pid, cause: cause, made: summary(rec.unmappedOp))
                    }
                }
            case .bare:
                let op = ops[rec.op]
                switch op?.kind ?? .kernel {
                case .boot, .kernel: held(0)
                case .pending, .unexplained: report.heldByPipes += 1
                default:
                    guard let cause = op!.death else { held(op!.pid); continue }
                    lost(.op(rec.op), pa, rec) { LeakInstance(what: .bare, pid: op!.pid, cause: cause, made: summary(rec.op)) }
                }
            }
        }
        total(&report, byPid: byPid, instances: instances, byOp: byOp, surplus: surplus)
        return report
    }

    /// The report's totals once every page is judged: pages held by each live process and
    /// zombie, the leaks grouped by site, the count surpluses in the log's order.
    func total(_ report: inout LogLeakReport, byPid: [Int: Int], instances: [InstanceKey: LeakInstance],
               byOp: [InstanceKey: [String: Int]], surplus: [[Int]: CountSurplus]) {
        report.heldByPid = byPid.sorted { $0.key < $1.key }.map { ($0.key, $0.value, procs[$0.key]?.zombie == true) }
        for h in report.heldByPid {
            if h.zombie { report.heldByZombies.pages += h.pages; report.heldByZombies.processes += 1 } else {
                report.heldByProcesses.pages += h.pages; report.heldByProcesses.processes += 1
            }
        }
        report.records = group(instances, byOp)
        report.findings.countSurplus = surplus.values.map {
            var s = $0
            s.pages.sort { $0.pa < $1.pa }
            return s
        }.sorted { ($0.sites.first?.line ?? 0, $0.pages[0].pa) < ($1.sites.first?.line ?? 0, $1.pages[0].pa) }
    }

    func tableInstance(_ t: TableRecord, _ cause: LeakCause) -> LeakInstance {
        LeakInstance(what: t.kernel ? .kernelTable : .userTable, pid: t.owner, cause: cause, made: summary(t.op),
                     root: t.root, rootFreedLine: t.rootFreedLine)
    }

    /// Instances of the same shape together, the largest first; each group's instances in log order.
    func group(_ instances: [InstanceKey: LeakInstance], _ byOp: [InstanceKey: [String: Int]]) -> [[LeakInstance]] {
        struct Shape: Hashable { var what: Int; var cause: Int; var made: UInt8; var failed: Bool; var rootFreed: Bool; var sites: [UInt8] }
        var groups: [Shape: [LeakInstance]] = [:]
        for (key, var i) in instances {
            i.counted.sort { $0.pa < $1.pa }
            i.allocatedBy = (byOp[key] ?? [:]).sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }
            let shape = Shape(what: i.what.rawValue, cause: i.cause.kind.rawValue, made: i.made.kind.rawValue,
                              failed: i.made.failed, rootFreed: i.rootFreedLine != 0, sites: i.sites.map(\.context.kind.rawValue))
            groups[shape, default: []].append(i)
        }
        return groups.values.map { $0.sorted { ($0.firstLine, $0.firstPa) < ($1.firstLine, $1.firstPa) } }
            .sorted {
                let a = $0.reduce(0) { $0 + $1.pages }, b = $1.reduce(0) { $0 + $1.pages }
                return a != b ? a > b : $0[0].firstLine < $1[0].firstLine
            }
    }
}

extension LogLeakTracker {
    /// Follows every probe of a log read whole (the streaming reader feeds `take` as it reads).
    public static func run(_ log: KernelLog) -> LogLeakReport {
        var tracker = LogLeakTracker(file: log.file)
        for p in log.probes { tracker.take(p) }
        var report = tracker.finish()
        report.panic = log.panic
        return report
    }
}
