import XV6
import RISCV
import Support
import Scenario
import Run
import CosimLog

/// The importer's handling of each process and memory line (`take` dispatches to them).
extension LogImporter {
    /// A `swtch to` or `swtch from`: which process runs, and (with per-process kernel tables) the scheduler's operation.
    mutating func takeSwitch(_ i: Int, _ me: Int) throws(ImportError) {
        let p = probes[i]
        if p.other == 1 {
            guard current == 0 else { throw fail(i, "`swtch to=\(p.pid)` while pid \(current) still runs: a `swtch from=\(current)` is missing") }
            if booted, let op = open[0], ops[op].kind == .userinit { close(0) }
            current = p.pid
            if perProcessTables {
                let kind: LogOperation.Kind = lastSwitch.map { !$0.to && $0.pid == p.pid } == true ? .yield : .run
                _ = newOp(kind, pid: p.pid, at: i)
            }
        } else {
            guard current == p.pid else {
                throw fail(i, current == 0 ? "`swtch from=\(p.pid)` with no process running: a `swtch to=\(p.pid)` is missing"
                                           : "`swtch from=\(p.pid)` while pid \(current) runs")
            }
            lastFrom[p.pid] = i
            current = 0
            // A wait is over once its process leaves the CPU (its frees run under the
            // child's lock, so no switch comes in the middle): nothing later belongs to it,
            // and replay need not hold the log back for it while the process sleeps.
            if let op = open[p.pid], ops[op].kind == .wait { close(p.pid) }
            // An operation stays open across a switch: exec sleeps on the disk, and with
            // preemption anything can be switched out. Its process's next probes go on with
            // it; another process's memory probes in between are a split (checkNotSplit).
        }
        lastSwitch = (p.pid, p.other == 1)
    }

    /// Allocproc: userinit's at boot, else the start of a fork.
    mutating func takeAllocproc(_ i: Int, _ me: Int) throws(ImportError) {
        let p = probes[i]
        if !booted {
            booted = true
            close(0)
            let op = newOp(.userinit, pid: 0, at: i)
            open[0] = op
            guard p.pid == 1 else { throw fail(i, "the first process has pid \(p.pid); xv6's userinit makes pid 1") }
            lives[1] = (0, false, false)
            unreaped.insert(1)
            attach(i, to: op)
        } else {
            guard me != 0 else { throw fail(i, "allocproc outside any process: only userinit does that, once, at boot") }
            try mustRun(i, me, "forks")
            if let l = lives[p.pid], !l.reaped { throw fail(i, "allocproc hands out pid \(p.pid), which is still in use") }
            flushPending(me)
            close(me)
            let op = newOp(.fork, pid: me, at: i)
            ops[op].child = p.pid
            open[me] = op
            attach(i, to: op)
        }
    }

    /// The fork line: the child made (or fork failed), its memory and mirror.
    mutating func takeFork(_ i: Int, _ me: Int) throws(ImportError) {
        let p = probes[i]
        guard p.pid == me else { throw fail(i, "fork by pid \(p.pid) printed while pid \(me) runs") }
        if let op = open[me], ops[op].kind == .fork, !ops[op].freeing {
            guard p.other == -1 || ops[op].child == p.other else {
                throw fail(i, "fork says child \(p.other), but allocproc gave pid \(ops[op].child ?? 0)")
            }
            ops[op].processProbe = i
            opOf[i] = Int32(op)
            if p.other == -1 {
                ops[op].forkFailed = true
                ops[op].freeing = true
            } else {
                lives[p.other] = (me, false, false)
                unreaped.insert(p.other)
                size[p.other] = size[me] ?? 0
                mirrorTop[p.other] = size[me] ?? 0
                close(me)
                if mirrorsByWalk && forkMirrorAfterProbe {
                    // The child's mirror is made after this line: the parent's next kallocs.
                    mirrorTop[p.other] = 0
                    lateMirror[me] = (op, newMirrorTables(p.other, upTo: size[me] ?? 0))
                }
            }
        } else {
            guard p.other == -1 else { throw fail(i, "fork of pid \(p.other) with no allocproc before it") }
            // No free slot: fork returns -1 before allocproc does anything.
            flushPending(me)
            close(me)
            let op = newOp(.fork, pid: me, at: i)
            ops[op].processProbe = i
            opOf[i] = Int32(op)
        }
    }

    /// Exec's commit line or execfail: the operation its argument pages began, or a new one.
    mutating func takeExec(_ i: Int, _ me: Int) throws(ImportError) {
        let p = probes[i]
        guard p.pid == me else { throw fail(i, "exec by pid \(p.pid) printed while pid \(me) runs") }
        try mustRun(i, me, "execs")
        var op: Int
        if let o = open[me], ops[o].kind == .exec, !ops[o].freeing {
            op = o
        } else {
            // exec failed before it made a page table: only sys_exec's argv pages came before,
            // and, when memory ran out, the kalloc for the table that returned 0.
            close(me)
            op = newOp(.exec, pid: me, at: i)
            let list = pending.removeValue(forKey: me) ?? []
            ops[op].argc = list.count
            if let last = list.last, probes[last].pa == 0 {
                ops[op].argc -= 1
                ops[op].startedTable = true
                ops[op].outOfMemory = true
            }
            ops[op].at = list.first ?? i
            for a in list { attach(a, to: op) }
            open[me] = op
        }
        ops[op].path = p.text
        ops[op].processProbe = i
        opOf[i] = Int32(op)
        ops[op].freeing = true
        walkOwed[me] = nil
        if p.kind == .execfail { ops[op].failed = true } else {
            bits[me] = PageBits()
            size[me] = p.sz
            mirrorTop[me] = execReplacesKernelTable ? p.sz : max(mirrorTop[me] ?? 0, p.sz)
        }
    }

    /// Growproc: the pages uvmalloc will take, the mirror's table pages.
    mutating func takeGrowproc(_ i: Int, _ me: Int) throws(ImportError) {
        let p = probes[i]
        guard p.pid == me else { throw fail(i, "growproc of pid \(p.pid) printed while pid \(me) runs") }
        try mustRun(i, me, "grows (sbrk)")
        let op = beginProcessOperation(.growproc, i, me)
        ops[op].n = p.n
        let newsz = UInt64(bitPattern: Int64(bitPattern: p.sz) &+ p.n)
        // uvmalloc's pages, from PGROUNDUP(sz) up to sz + n, rounded up without overflowing:
        // a log's sz near 2^64 made `+ pageSize - 1` trap (the kernel's C wraps).
        if p.n > 0 && newsz > pageRoundUp(p.sz) {
            let bytes = newsz - pageRoundUp(p.sz)
            ops[op].pagesLeft = Int(bytes / pageSize + (bytes % pageSize == 0 ? 0 : 1))
        }
        if mirrorsByWalk && p.n > 0 { ops[op].mirrorLeft = newMirrorTables(me, upTo: newsz) }
        size[me] = newsz
        forgetBits(me, above: newsz)
        open[me] = op
    }

    /// Exit: the process's children go to init; its frees come when its parent reaps it.
    mutating func takeExit(_ i: Int, _ me: Int) throws(ImportError) {
        let p = probes[i]
        guard p.pid == me else { throw fail(i, "exit of pid \(p.pid) printed while pid \(me) runs") }
        try mustRun(i, me, "exits")
        if me == 1 { throw fail(i, "init (pid 1) exits: the kernel panics there, and a log cannot go on") }
        lives[me]?.exited = true
        for child in unreaped where lives[child]?.parent == me { lives[child]?.parent = 1 }
        let op = beginProcessOperation(.exit, i, me)
        ops[op].status = p.n
        exitsAwaiting[me] = op
    }

    /// Wait: a zombie child reaped, and what the importer followed of it forgotten.
    mutating func takeWait(_ i: Int, _ me: Int) throws(ImportError) {
        let p = probes[i]
        guard p.pid == me else { throw fail(i, "wait by pid \(p.pid) printed while pid \(me) runs") }
        try mustRun(i, me, "waits")
        guard let child = lives[p.other], !child.reaped else {
            throw fail(i, "pid \(me) reaps pid \(p.other), which " + (lives[p.other] == nil ? "no fork made" : "was reaped already"))
        }
        guard child.parent == me else { throw fail(i, "pid \(me) reaps pid \(p.other), which is the child of pid \(child.parent)") }
        guard child.exited else { throw fail(i, "pid \(me) reaps pid \(p.other), which never exited (no `exit pid=\(p.other)` before)") }
        lives.reap(p.other)
        unreaped.remove(p.other)
        // What the importer followed of the child's memory goes with it.
        bits[p.other] = nil
        size[p.other] = nil
        mirrorTop[p.other] = nil
        // The child ran for the last time before this: its exit's place is known.
        exitsAwaiting[p.other] = nil
        let op = beginProcessOperation(.wait, i, me)
        ops[op].child = p.other
        open[me] = op
    }

    /// A kfree: a pipe's, sys_exec's argument pages when it ran out of memory, or the open operation's.
    mutating func takeKfree(_ i: Int, _ me: Int) throws(ImportError) {
        let p = probes[i]
        if !pipes.isEmpty, let id = pipes.removeValue(forKey: p.pa) {
            let op = newOp(.close, pid: me, at: i)
            ops[op].pipe = id
            attach(i, to: op)
        } else if let list = pending[me], let last = list.last, probes[last].pa == 0,
                  let first = list.firstIndex(where: { probes[$0].pa == p.pa }) {
            // sys_exec ran out of memory copying its arguments and frees the pages it took;
            // exec itself is never called (and prints nothing). What came before were pipes.
            pending[me] = Array(list[..<first])
            flushPending(me)
            close(me)
            let op = newOp(.exec, pid: me, at: list[first])
            ops[op].argc = list.count - first
            ops[op].path = "?"
            ops[op].failed = true
            ops[op].outOfMemory = true
            ops[op].argvFailed = true
            ops[op].freeing = true
            for a in list[first...] { attach(a, to: op) }
            attach(i, to: op)
            open[me] = op
        } else if let op = open[me], acceptsFree(op) {
            attach(i, to: op)
        } else {
            unexplained.append(i)
        }
        shadow.forget(p.pa)
    }

    /// An unmap: the open operation's; exec's teardown of the old image and its dealloc noted.
    mutating func takeUnmap(_ i: Int, _ me: Int) throws(ImportError) {
        let p = probes[i]
        if let op = open[me], acceptsFree(op) {
            attach(i, to: op)
            if ops[op].kind == .exec && p.pt == ops[op].root && ops[op].root != 0 {
                if p.va == MemLayout.trampoline { ops[op].tornDown = true }
                else if p.flag && p.va < MemLayout.trapframe && !ops[op].tornDown && ops[op].dealloc == nil {
                    ops[op].dealloc = (p.va, p.n)
                }
            }
        } else { unexplained.append(i) }
    }
}
