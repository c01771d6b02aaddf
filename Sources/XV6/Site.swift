/// The kernel functions that appear in allocation sites; each case is named as in xv6.
public enum KFunc: UInt8, Sendable, CaseIterable {
    case boot, kinit, kvminit, kvmmap, procinit, userinit, uvminit, allocproc, proc_pagetable, uvmcreate
    case mappages, walk, uvmalloc, uvmdealloc, uvmunmap, uvmfree, freewalk, uvmcopy
    case fork, exec, sys_exec, growproc, freeproc, proc_freepagetable, exit, wait
    // the page-table lab's additions
    case kvminit_newpgtbl, kvm_map_pagetable, kvmmake, kvm_free_kernelpgtbl, kvmcopymappings, kvmdealloc
    case proc_free_kernel_pagetable, sys_sbrk, kvmpa
    // pipes: the page each one holds
    case sys_pipe, pipealloc, sys_close, pipeclose
    // other students' page-table lab designs (a kernel table that shares the global one's upper entries)
    case kvmcreate, kvmfree
    // the copy-on-write lab's additions
    case usertrap, uvmcowcopy, kcopy_n_deref, copyout
    // the lazy-allocation lab's
    case uvmlazytouch, copyin

    /// xv6's name for the function.
    public var name: String { Self.names[Int(rawValue)] }

    /// Every case's name, made once: reflection on every lookup was a tenth of a leak report.
    private static let names = allCases.map { String(describing: $0) }
}

/// Interns call chains ("fork > allocproc > proc_pagetable > mappages > walk") as small
/// integers, so that every allocation can record where it came from at the cost of one index.
public final class SiteTree {
    private var parent: [Int32] = [-1]
    private var function: [KFunc?] = [nil]
    /// The chain `f` entered from chain `c` makes, at `c * stride + f` (0: not made yet): an
    /// array look-up, not a hash, for every kernel function entered.
    private var child = [Int32](repeating: 0, count: SiteTree.stride)
    private static let stride = 64
    /// The chain currently executing (0: nothing).
    public private(set) var current: Int32 = 0

    public init() {
        precondition(KFunc.allCases.count <= Self.stride, "SiteTree.stride must exceed KFunc's last case")
    }

    /// A tree with the same chains and the same current chain, that grows on its own.
    public func copy() -> SiteTree {
        let t = SiteTree()
        t.parent = parent; t.function = function; t.child = child; t.current = current
        return t
    }

    /// Enters `f` from the current chain.
    @inline(__always) public func push(_ f: KFunc) {
        let key = Int(current) * Self.stride + index(f)
        let known = child[key]
        if known != 0 { current = known; return }
        let c = Int32(parent.count)
        parent.append(current); function.append(f); child[key] = c
        child.append(contentsOf: repeatElement(0, count: Self.stride))
        current = c
    }

    /// How many chains there are: every chain made so far is numbered below this.
    public var count: Int { parent.count }

    /// Returns to the caller's chain.
    @inline(__always) public func pop() { current = parent[Int(current)] }

    /// The functions of chain `site`, outermost first.
    public func functions(_ site: Int32) -> [KFunc] {
        var out: [KFunc] = []
        var s = site
        while s > 0 { if let f = function[Int(s)] { out.append(f) }; s = parent[Int(s)] }
        return out.reversed()
    }

    /// `a > b > c`, outermost first; `-` for no chain.
    public func name(_ site: Int32) -> String {
        let fs = functions(site)
        return fs.isEmpty ? "-" : fs.map(\.name).joined(separator: " > ")
    }

    @inline(__always) private func index(_ f: KFunc) -> Int { Int(f.rawValue) }
}
