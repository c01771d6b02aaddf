import XV6
import RISCV
import Support
import Scenario
import Run
import CosimLog

/// One operation read from a kernel log, as a scenario event will make it: which probes
/// it explains, and where it takes effect.
public struct LogOperation: Sendable {
    public enum Kind: String, Sendable {
        case boot, userinit, fork, exec, growproc, exit, wait, pipe, close, run, yield, sleep, load, store
        /// The labs': a page fault the kernel handles, a copyout into user memory.
        case fault, copyout, copyin
    }
    public var kind: Kind
    /// The process doing it (0: the kernel at boot).
    public var pid: Int
    /// The log line that names it (its probe, or its first event).
    public var line: Int
    /// Indices of the memory probes it explains, in order.
    public var probes: [Int] = []
    /// The index of its process probe (fork, exec, execfail, growproc, exit, wait), if any.
    public var processProbe: Int?
    /// Where it takes effect, as an index into the log's probes.
    public var at: Int
    // What the scenario event needs.
    public var child: Int?
    public var forkFailed = false
    public var path = ""
    public var argc = 0
    /// exec: the user pages it mapped; whether it failed and whether a kalloc failed in it.
    public var userPages = 0
    public var failed = false
    public var outOfMemory = false
    public var startedTable = false
    /// exec: sys_exec could not copy the arguments, so exec was never called.
    public var argvFailed = false
    /// exec out of memory in the middle of a uvmalloc: what its uvmdealloc unmapped.
    var dealloc: (va: UInt64, pages: Int64)?
    /// exec: the new table's teardown (its trampoline unmapped) has begun.
    var tornDown = false
    public var n: Int64 = 0
    public var status: Int64 = 0
    public var pipe = 0
    public var va: UInt64 = 0
    /// growproc: data pages still to come.
    var pagesLeft = 0
    /// growproc: at most this many table pages the kernel table's mirror may still take, when
    /// it is copied with walk (no map line) after growproc: one per 1 GiB and per 2 MiB reached.
    var mirrorLeft = 0
    /// Probes after the commit point (exec, a failed fork): only frees belong then.
    var freeing = false
    /// exec: the new user table's root.
    var root: UInt64 = 0
    /// Import: whether its span of probes has been noted, and whether it has been placed.
    var spanned = false
    var placed = false

    package init(_ kind: Kind, pid: Int, line: Int, at: Int) { self.kind = kind; self.pid = pid; self.line = line; self.at = at }

    /// What it is, as a student reads it: "exec of pid 2 (sh)".
    public var summary: String {
        switch kind {
        case .boot: return "boot"
        case .userinit: return "userinit"
        case .fork: return forkFailed ? "fork by pid \(pid) (fails)" : "fork by pid \(pid) (child pid \(child ?? -1))"
        case .exec where argvFailed: return "exec by pid \(pid) (no memory for its arguments)"
        case .exec: return "exec of \(path) by pid \(pid)" + (failed ? " (fails)" : "")
        case .growproc: return "sbrk(\(n)) by pid \(pid)"
        case .exit: return "exit of pid \(pid)"
        case .wait: return "wait by pid \(pid)"
        case .pipe: return "pipe \(pipe) by pid \(pid)"
        case .close: return "close of pipe \(pipe) by pid \(pid)"
        case .run: return "scheduler runs pid \(pid)"
        case .yield: return "pid \(pid) gives up the CPU and gets it back"
        case .sleep: return "pid \(pid) gives up the CPU"
        case .load, .store: return "\(kind.rawValue) by pid \(pid)"
        case .fault: return "page fault of pid \(pid) at va \(hexShort(va))"
        case .copyout: return "copyout by pid \(pid) to va \(hexShort(va)), \(n) bytes"
        case .copyin: return "\(path) by pid \(pid) from va \(hexShort(va)), \(n) bytes"
        }
    }
}
