import XV6
import RISCV
import Support

/// The text renderer: each record as the lines of docs/trace-format.md, written into a
/// `TraceBytes` in place. Site names are rendered once per site and kept as bytes.
package struct TraceText {
    private(set) var out: TraceBytes
    private(set) var sites: SiteTree
    private var siteBytes: [[UInt8]?] = []
    /// Each site's name between a space and a newline, the end of its kalloc and kfree lines,
    /// by the site's place in `tailOf` (-1: not made yet).
    private var tails = ByteStrings()
    private var tailOf: [Int] = []
    // Kept by each renderer, not as statics: a static is reached through swift_once at
    // every line.
    private let kallocStart = LineStart("kalloc")
    private let kfreeStart = LineStart("kfree")
    private let kvmfreeStart = LineStart("kvmfree")
    private let freewalkStart = LineStart("freewalk")

    init(out: TraceBytes, sites: SiteTree) {
        self.out = out
        self.sites = sites
    }

    /// The same renderer (its cache of site names too) writing into `out`, naming sites from
    /// `sites` (a copy of this one's tree: the same names).
    mutating func retarget(out: TraceBytes, sites: SiteTree) {
        self.out = out
        self.sites = sites
    }

    /// Takes the names of the sites numbered from the count it knows on (a renderer on a
    /// thread of its own, which never reads the site tree: `TraceRenderThread`).
    mutating func learn(_ names: [[UInt8]]) {
        for n in names { siteBytes.append(n) }
    }

    /// How many lines `r` is written as (none for a mark, several for a panic), found
    /// without writing it.
    @inline(__always) static func lines(_ r: TraceRecord) -> Int {
        if case .kernel(let e) = r { return lines(e) }
        return 1
    }

    @inline(__always) static func lines(_ e: TraceEvent) -> Int {
        switch e {
        case .execCommitted, .execFailed: return 0
        case .panic(let p): return p.preamble.count + 1
        default: return 1
        }
    }

    /// The text of one record, on its own.
    static func rendered(_ r: TraceRecord, sites: SiteTree) -> [UInt8] {
        let b = TraceBytes(capacity: 256)
        var t = TraceText(out: b, sites: sites)
        _ = t.write(r)
        return b.array
    }

    /// Writes `r`; returns the number of lines written.
    mutating func write(_ r: TraceRecord) -> Int {
        switch r {
        case let .header(version): out.put("xv6vm-trace "); out.decimal(version)
        case let .scenario(file): out.word("scenario"); out.put(text: file)
        case let .setting(name, value): out.word("setting"); out.put(text: name); out.byte(0x20); out.put(text: value)
        case let .event(index, origin, label):
            out.put("event "); out.decimal(index); out.byte(0x20)
            if let o = origin {
                out.put(text: o.file); out.byte(0x3a); out.decimal(o.line); out.byte(0x3a); out.decimal(o.column)
            } else {
                out.byte(0x2d)
            }
            out.byte(0x20); out.put(text: label)
        case .kernel(let e): return write(e)
        case let .baseline(free): out.word("baseline"); out.put("free-pages "); out.decimal(free)
        case let .expectFailed(text): out.word("expect"); out.put("FAILED "); out.put(text: text)
        case let .skip(text): out.word("skip"); out.put(text: text)
        case let .invariant(text): out.word("invariant"); out.put(text: text)
        case let .end(s): end(s)
        }
        out.newline()
        return 1
    }

    private func end(_ s: TraceSummary) {
        out.word("end"); out.put("events "); out.decimal(s.events); out.put(" free-pages "); out.decimal(s.freePages)
        out.put(" kalloc "); out.decimal(s.kallocs); out.put(" kfree "); out.decimal(s.kfrees)
        out.put(" findings "); out.decimal(s.findings)
        if let v = s.invariantViolations { out.put(" invariant-violations "); out.decimal(v) }
        if let p = s.panic { out.put(" panic \""); out.put(text: p); out.byte(0x22) }
    }

    /// Writes a kernel event's line (none for a mark, several for a panic); returns how many.
    @inline(__always) mutating func write(_ e: TraceEvent) -> Int {
        switch e {
        case let .kalloc(pa, site, p):
            out.pageLine(kallocStart, pa.rawValue, pid: p, tail: tail(site), of: tails)
            return 1
        case let .kfree(pa, site, p):
            out.pageLine(kfreeStart, pa.rawValue, pid: p, tail: tail(site), of: tails)
            return 1
        case let .mappages(table, root, va, size, pa, perm):
            out.word("map"); self.table(table); out.byte(0x20); out.hex16(root.rawValue); out.put(" va "); out.hex16(va.rawValue)
            out.put(" size "); out.shortHex(size); out.put(" pa "); out.hex16(pa.rawValue); out.byte(0x20); permission(perm)
        case let .satp(hart, value, table, _):
            out.word("satp"); out.put("hart "); out.decimal(hart); out.byte(0x20); out.hex16(value.rawValue); out.byte(0x20); self.table(table)
        case let .sfence(hart):
            out.word("sfence"); out.put("hart "); out.decimal(hart)
        case let .kvmFreeKernelPagetable(pt):
            out.hexLine(kvmfreeStart, pt.rawValue)
            return 1
        case let .freewalk(pt):
            out.hexLine(freewalkStart, pt.rawValue)
            return 1
        case .execCommitted, .execFailed:
            return 0
        case .panic(let p):
            for l in p.preamble { out.put(text: l); out.newline() }
            out.put("panic: "); out.put(text: p.message); out.newline()
            return p.preamble.count + 1
        default:
            rare(e)
        }
        out.newline()
        return 1
    }

    /// The lines that are few in any trace.
    private mutating func rare(_ e: TraceEvent) {
        switch e {
        case let .kinit(start, end, pages):
            out.word("kinit"); out.put("free "); out.decimal(pages); out.put(" pages ["); out.hex16(start.rawValue)
            out.put(", "); out.hex16(end.rawValue); out.byte(0x29)
        case let .kallocFailed(site, p):
            out.word("kalloc"); out.put("out-of-memory pid "); out.pid(p); out.byte(0x20); self.site(site)
        case let .uvmunmap(table, root, va, npages, free):
            out.word("unmap"); self.table(table); out.byte(0x20); out.hex16(root.rawValue); out.put(" va "); out.hex16(va.rawValue)
            out.put(" npages "); out.decimal(npages); out.put(free ? " free" : " keep")
        case let .trap(hart, p, cause):
            out.word("trap"); out.put("hart "); out.decimal(hart); out.put(" pid "); out.decimal(p); out.byte(0x20)
            out.put(text: cause.rawValue)
        case let .scheduled(hart, p):
            out.word("sched"); out.put("hart "); out.decimal(hart); out.put(" pid "); out.decimal(p)
        case let .allocproc(p, slot):
            out.word("allocproc"); out.put("pid "); out.decimal(p); out.put(" slot "); out.decimal(slot)
        case let .freeproc(p, slot):
            out.word("freeproc"); out.put("pid "); out.decimal(p); out.put(" slot "); out.decimal(slot)
        case let .syscall(p, call):
            out.word("syscall"); out.put("pid "); out.decimal(p); out.byte(0x20); syscall(call)
        case let .sysret(p, name, value):
            out.word("return"); out.put("pid "); out.decimal(p); out.byte(0x20); out.put(text: name); out.put(" = "); out.decimal(value)
        case let .zombie(p, status):
            out.word("zombie"); out.put("pid "); out.decimal(p); out.put(" status "); out.decimal(status)
        case let .reparent(p, to):
            out.word("reparent"); out.put("pid "); out.decimal(p); out.put(" to pid "); out.decimal(to)
        case let .pagefault(p, scause, va):
            out.word("pagefault"); out.put("pid "); out.decimal(p); out.put(" scause "); out.shortHex(scause)
            out.put(" va "); out.hex16(va.rawValue)
        case let .refinc(pa, count, p):
            out.word("refinc"); out.hex16(pa.rawValue); out.put(" count "); out.decimal(count); out.put(" pid "); out.pid(p)
        case let .refdec(pa, count, p):
            out.word("refdec"); out.hex16(pa.rawValue); out.put(" count "); out.decimal(count); out.put(" pid "); out.pid(p)
        case let .access(p, va, access, pa):
            switch access {
            case .load: out.word("load")
            case .store: out.word("store")
            case .fetch: out.word("fetch")
            }
            out.put("pid "); out.decimal(p); out.put(" va "); out.hex16(va.rawValue)
            if let pa { out.put(" pa "); out.hex16(pa.rawValue) } else { out.put(" page fault") }
        case let .kload(hart, va, pa, hit):
            out.word("kload"); out.put("hart "); out.decimal(hart); out.put(" va "); out.hex16(va.rawValue)
            out.put(" pa "); out.hex16(pa.rawValue); out.put(hit ? " tlb" : " walk")
        case let .console(text):
            out.put(text: text)
        case let .finding(f):
            out.word("finding"); out.put(text: f.kind.rawValue); out.byte(0x20); out.hex16(f.pa); out.byte(0x20); out.put(text: f.detail)
        default:
            preconditionFailure("written by write(_:)")
        }
    }

    /// The call and its arguments as C would show them: `exec("/init", ["init"])`, `sbrk(4096)`.
    private func syscall(_ call: Syscall) {
        out.put(text: call.name); out.byte(0x28); arguments(call); out.byte(0x29)
    }

    /// A call's arguments as C would show them, between its parentheses.
    func arguments(_ call: Syscall) {
        switch call {
        case .fork, .wait: break
        case let .exec(path, argv, _):
            out.byte(0x22); out.put(text: path); out.put("\", [")
            for (i, a) in argv.enumerated() {
                if i > 0 { out.put(", ") }
                out.byte(0x22); out.put(text: a); out.byte(0x22)
            }
            out.byte(0x5d)
        case let .sbrk(n), let .exit(n): out.decimal(n)
        case let .copyin(va, len), let .copyout(va, len), let .copyinstr(va, len):
            out.hex16(va); out.put(", "); out.decimal(len)
        case let .pipe(id), let .close(id): out.put("pipe "); out.decimal(id)
        }
    }

    /// `kernel`, `kernel:P`, `user:P`, `?`: which table a root is.
    @inline(__always) private func table(_ t: TableRef) {
        switch t {
        case .kernel: out.put("kernel")
        case .user(let p): out.put("user:"); out.decimal(p)
        case .procKernel(let p): out.put("kernel:"); out.decimal(p)
        case .unknown: out.byte(0x3f)
        }
    }

    /// The seven letters `rwxugad`, `-` for a bit clear, then ` cow` when PTE_COW is set.
    @inline(__always) private func permission(_ perm: PTE.Flags) {
        let letters: StaticString = "rwxugad"
        for i in 0..<7 { out.byte(perm.rawValue & (2 << UInt64(i)) != 0 ? letters.utf8Start[i] : 0x2d) }
        if perm.contains(.cow) { out.put(" cow") }
    }

    /// The site's chain, `fork > allocproc > ...`, from the cache.
    @inline(__always) private mutating func site(_ s: Int32) {
        out.put(siteBytes(s))
    }

    /// The number of the site's tail in `tails` (a space, the chain, a newline), made once.
    @inline(__always) private mutating func tail(_ s: Int32) -> Int {
        let i = Int(s)
        if i < tailOf.count, tailOf[i] >= 0 { return tailOf[i] }
        if i >= tailOf.count { tailOf += Array(repeating: -1, count: i + 1 - tailOf.count) }
        tailOf[i] = tails.count
        tails.append([0x20] + siteBytes(s) + [0x0a])
        return tailOf[i]
    }

    /// The site's chain as bytes, made once per site.
    @inline(__always) private mutating func siteBytes(_ s: Int32) -> [UInt8] {
        let i = Int(s)
        if i < siteBytes.count, let b = siteBytes[i] { return b }
        if i >= siteBytes.count { siteBytes += Array(repeating: nil, count: i + 1 - siteBytes.count) }
        let b = Array(sites.name(s).utf8)
        siteBytes[i] = b
        return b
    }
}

extension TraceRecord {
    /// The record's text lines (none for a mark), its sites named from `sites`.
    package func text(sites: SiteTree) -> String {
        String(decoding: TraceText.rendered(self, sites: sites).dropLast(), as: UTF8.self)
    }
}
