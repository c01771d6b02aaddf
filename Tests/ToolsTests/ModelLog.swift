import Foundation
import XCTest
import XV6
import RISCV
import Support
import Scenario
import Run
import Goldens
import Explore
import CosimLog
import HTMLReport

/// Kernel logs made for tests: the model's run printed as a kernel with the probes would
/// print it, and a real log's lines rebased onto xv6's free list after pages are added.
enum ModelLog {
    /// The model's run of `scenario` as `@T` lines: the memory, satp and process probes in
    /// the order the model makes them, and each system call's between `swtch to=` and
    /// `swtch from=` of its process (the scheduler's own satp writes outside).
    /// `from`: only the lines of events from that one on.
    static func render(_ scenario: CompiledScenario, stopAfter: Int? = nil, from: Int = 0) -> [String] {
        var lines: [(event: Int, text: String)] = []
        var event = 0
        var open = 0, lastEvent = -1
        var size: [Int: UInt64] = [:]
        let events = scenario.events
        let writer = TraceWriter(format: .none, sites: SiteTree())
        func line(_ p: Probe) { lines.append((event, "@T " + p.rendered)) }
        writer.tap = { r, index in
            guard case .kernel(let e) = r else { return }
            event = index
            if event != lastEvent {
                if open != 0 { lines.append((lastEvent, "@T swtch from=\(open)")); open = 0 }
                lastEvent = event
            }
            func bracket() {
                if open == 0, event < events.count, case .syscall(let pid, _) = events[event].kind {
                    lines.append((event, "@T swtch to=\(pid)")); open = pid
                }
            }
            var p: Probe
            switch e {
            case let .kalloc(pa, _, _): bracket(); p = Probe(.kalloc); p.pa = pa.rawValue
            case .kallocFailed: bracket(); p = Probe(.kalloc)
            case let .kfree(pa, _, _): bracket(); p = Probe(.kfree); p.pa = pa.rawValue
            case let .mappages(_, root, va, sz, pa, perm):
                bracket(); p = Probe(.map); p.pt = root.rawValue; p.va = va.rawValue; p.size = sz; p.pa = pa.rawValue; p.perm = UInt64(perm.rawValue)
            case let .uvmunmap(_, root, va, npages, free):
                bracket(); p = Probe(.unmap); p.pt = root.rawValue; p.va = va.rawValue; p.n = Int64(bitPattern: npages); p.flag = free
            case let .freewalk(pt): bracket(); p = Probe(.freewalk); p.pt = pt.rawValue
            case let .kvmFreeKernelPagetable(pt): bracket(); p = Probe(.kvmFree); p.pt = pt.rawValue
            case let .allocproc(pid, _): bracket(); p = Probe(.allocproc); p.pid = pid
            case let .freeproc(pid, _):
                bracket()
                if event < events.count, case .syscall(let parent, .wait) = events[event].kind {
                    var w = Probe(.wait); w.pid = parent; w.other = pid; line(w)
                }
                p = Probe(.freeproc); p.pid = pid
            case let .satp(_, value, table, by):
                guard by != .trampoline else { return }
                p = Probe(.satp); p.pa = value.root.rawValue; p.text = by.rawValue
                if case .procKernel(let pid) = table { p.pid = pid }
            case let .sysret(pid, "fork", value):
                p = Probe(.fork); p.pid = pid; p.other = Int(value)
                if value > 0 { size[Int(value)] = size[pid] }
            case let .execCommitted(pid, path, sz): bracket(); p = Probe(.exec); p.pid = pid; p.text = path; p.sz = sz; size[pid] = sz
            case let .execFailed(pid, path): bracket(); p = Probe(.execfail); p.pid = pid; p.text = path
            case let .syscall(pid, .sbrk(n)):
                bracket(); p = Probe(.growproc); p.pid = pid; p.n = Int64(n); p.sz = size[pid] ?? 0
                size[pid] = UInt64(bitPattern: Int64(bitPattern: p.sz) + p.n)
            case let .zombie(pid, status): bracket(); p = Probe(.exit); p.pid = pid; p.n = Int64(status)
            default: return
            }
            line(p)
        }
        Runner.run(scenario, writer: writer, stopAfter: stopAfter)
        if open != 0 { lines.append((lastEvent, "@T swtch from=\(open)")) }
        return lines.filter { $0.event >= from }.map(\.text)
    }

    /// xv6's free list: every page of [first, phystop) freed in ascending order, so the
    /// first kalloc takes the highest; a free puts a page on top.
    struct FreeList {
        var stack: [UInt64]
        init(first: UInt64, phystop: UInt64 = 0x8800_0000) {
            stack = Array(stride(from: first, to: phystop, by: 4096))
        }
        mutating func kalloc() -> UInt64 { stack.removeLast() }
        mutating func kfree(_ pa: UInt64) { stack.append(pa) }
    }

    /// The lines of `log` with `extra(i)`'s lines put before line `at[i]` (indices into
    /// `log`), and every address after them moved to where xv6's LIFO free list puts it
    /// once the extra pages are taken. An extra kalloc names its page `K0`, `K1` ... in
    /// `extra`'s template: `@T kalloc pa=K3`, `@T map pt=K0 ...` are filled in, and
    /// `base(0x...)` is the log's page of that address, where it is now.
    /// `departures`: kallocs before the first insertion that xv6's free list does not give
    /// (0 when the log is a real allocator's).
    static func rebased(_ log: [String], inserting extra: [Int: [String]], first: UInt64) -> (lines: [String], departures: Int) {
        var free = FreeList(first: first)
        var departures = 0
        let firstInsertion = extra.keys.min() ?? log.count
        var moved: [UInt64: UInt64] = [:]
        var out: [String] = []
        func field(_ line: String, _ key: String) -> UInt64? {
            guard let r = line.range(of: " \(key)=0x") else { return nil }
            return UInt64(line[r.upperBound...].prefix { $0.isHexDigit }, radix: 16)
        }
        func replace(_ line: String, _ key: String, _ f: (UInt64) -> UInt64) -> String {
            guard let v = field(line, key) else { return line }
            return line.replacingOccurrences(of: " \(key)=\(hex16(v))", with: " \(key)=\(hex16(f(v)))")
        }
        for (i, line) in log.enumerated() {
            if let lines = extra[i] {
                var names: [String: UInt64] = [:]
                for var l in lines {
                    if l.hasPrefix("@T kalloc pa=K") {
                        let name = String(l.dropFirst("@T kalloc pa=".count))
                        names[name] = free.kalloc()
                    }
                    for (name, pa) in names.sorted(by: { $0.key.count > $1.key.count }) {
                        l = l.replacingOccurrences(of: "=\(name) ", with: "=\(hex16(pa)) ")
                        if l.hasSuffix("=\(name)") { l = String(l.dropLast(name.count)) + hex16(pa) }
                    }
                    // `base(0x...)`: a page of the log, where it is now.
                    if let r = l.range(of: "base("), let end = l[r.upperBound...].firstIndex(of: ")"),
                       let pa = UInt64(l[r.upperBound..<end].dropFirst(2), radix: 16) {
                        l.replaceSubrange(r.lowerBound...end, with: hex16(moved[pa] ?? pa))
                    }
                    out.append(l)
                }
            }
            var l = line
            if l.hasPrefix("@T kalloc"), let pa = field(l, "pa"), pa != 0 {
                let page = free.kalloc()
                if i < firstInsertion && page != pa { departures += 1 }
                moved[pa] = page
                l = "@T kalloc pa=\(hex16(page))"
            } else if l.hasPrefix("@T kfree"), let pa = field(l, "pa") {
                let page = moved.removeValue(forKey: pa) ?? pa
                free.kfree(page)
                l = "@T kfree pa=\(hex16(page))"
            } else if l.hasPrefix("@T map") || l.hasPrefix("@T unmap") || l.hasPrefix("@T freewalk")
                        || l.hasPrefix("@T kvm_free") || l.hasPrefix("@T satp") {
                l = replace(replace(l, "pt") { moved[$0] ?? $0 }, "pa") { moved[$0] ?? $0 }
            }
            out.append(l)
        }
        return (out, departures)
    }
}
