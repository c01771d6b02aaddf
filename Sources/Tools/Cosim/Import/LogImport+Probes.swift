import XV6
import RISCV
import Support
import Scenario
import Run
import CosimLog

/// What each kind of probe does to the operations under way: the allocator's and the
/// mappings' probes, and where each operation takes effect.
extension LogImporter {
    /// A probe about `pid` doing something: the pid must exist and not have exited.
    func mustRun(_ i: Int, _ pid: Int, _ doing: String) throws(ImportError) {
        guard let l = lives[pid] else { throw fail(i, "pid \(pid) \(doing), but no fork made it (no `fork ... child=\(pid)` before)") }
        if l.reaped { throw fail(i, "pid \(pid) \(doing) after its parent reaped it") }
        if l.exited { throw fail(i, "pid \(pid) \(doing) after it exited") }
    }

    func acceptsFree(_ op: Int) -> Bool {
        switch ops[op].kind {
        // exec unmaps the lab's mirror before its commit point, and frees all it built on a failure.
        case .wait, .growproc, .exec, .fault, .copyout: return true
        case .fork: return ops[op].freeing
        default: return false
        }
    }

    mutating func kalloc(_ i: Int, _ me: Int) throws(ImportError) {
        let pa = probes[i].pa
        shadow.forget(pa)
        if let op = open[me] {
            switch ops[op].kind {
            case .boot, .userinit:
                attach(i, to: op); return
            case .fork where !ops[op].freeing:
                attach(i, to: op)
                if pa == 0 { ops[op].outOfMemory = true }
                return
            case .exec where !ops[op].freeing, .copyout:
                attach(i, to: op)
                if pa == 0 { ops[op].outOfMemory = true }
                return
            case .fault, .copyin:
                // The faulting page (none yet), then the table pages walk owes its map.
                if let owed = walkOwed[me], owed > 0 {
                    walkOwed[me] = owed - 1
                    attach(i, to: op)
                    if owed == 1 { close(me) }
                    return
                }
                if ops[op].kind == .fault && !ops[op].probes.contains(where: { probes[$0].kind == .kalloc }) {
                    attach(i, to: op)
                    if pa == 0 { ops[op].outOfMemory = true }
                    return
                }
            case .growproc:
                if let owed = walkOwed[me], owed > 0 {
                    walkOwed[me] = owed - 1
                    attach(i, to: op); return
                }
                if ops[op].pagesLeft > 0 {
                    ops[op].pagesLeft -= 1
                    if pa == 0 { ops[op].pagesLeft = 0; ops[op].mirrorLeft = 0; ops[op].outOfMemory = true }
                    attach(i, to: op); return
                }
                if ops[op].mirrorLeft > 0 && pa != 0 {
                    ops[op].mirrorLeft -= 1
                    attach(i, to: op); return
                }
            default: break
            }
            close(me)
        }
        if me == 0 && !booted {
            attach(i, to: 0); return
        }
        if let late = lateMirror[me], late.pages > 0, pa != 0 {
            lateMirror[me] = (late.op, late.pages - 1)
            attach(i, to: late.op); return
        }
        pending[me, default: []].append(i)
    }

    /// An exec that begins with the map at `i` into the table its last bare kalloc made: the
    /// kallocs before that table were sys_exec's argument pages. `userTable`: the map is
    /// proc_pagetable's, into the new user table (nil: into a fresh kernel table).
    mutating func beginExec(_ me: Int, after list: [Int], at i: Int, owed: Int, userTable: UInt64?) {
        close(me)
        let op = newOp(.exec, pid: me, at: list.first!)
        ops[op].argc = list.count - 1
        if let userTable {
            ops[op].startedTable = true
            ops[op].root = userTable
        }
        pending[me] = nil
        for a in list { attach(a, to: op) }
        attach(i, to: op)
        open[me] = op
        walkOwed[me] = owed
    }

    /// Whether an operation of this kind maps pages of its own (a switch, not an array
    /// literal's search, at every map line).
    static func mapsPages(_ kind: LogOperation.Kind) -> Bool {
        switch kind {
        case .boot, .userinit, .fork, .exec, .growproc, .fault, .copyout: true
        default: false
        }
    }

    mutating func map(_ i: Int, _ me: Int) throws(ImportError) {
        let p = probes[i]
        let owed = shadow.walk(p.pt, p.va, p.size)
        if let op = open[me], !ops[op].freeing, Self.mapsPages(ops[op].kind) {
            // exec's proc_pagetable after its fresh kernel table: the trampoline mapped into the
            // table it has just allocated.
            if ops[op].kind == .exec && ops[op].root == 0 && p.va == MemLayout.trampoline,
               let last = ops[op].probes.last, probes[last].kind == .kalloc, probes[last].pa == p.pt {
                ops[op].root = p.pt
                ops[op].startedTable = true
            }
            attach(i, to: op)
            walkOwed[me] = owed
            noteUserMap(i, op)
            // A fault is handled once its page is mapped (and walk has its table pages): what
            // the process does next is not it.
            if ops[op].kind == .fault && owed == 0 { close(me) }
            return
        }
        // exec's fresh kernel table, built first: UART mapped into a table just allocated.
        if execBuildsKernelTable, p.va == MemLayout.uart0, me != 0, let list = pending[me], let last = list.last, probes[last].pa == p.pt {
            return beginExec(me, after: list, at: i, owed: owed, userTable: nil)
        }
        // The lazy lab's copyin (or copyinstr) making the page at its first address: the last
        // bare kalloc, mapped there.
        if lazySbrk, me != 0, let c = lastCopy[me], let list = pending[me], let last = list.last,
           probes[last].pa == p.pa, p.va == pageRoundDown(probes[c].va) {
            pending[me]!.removeLast()
            let op = newOp(.copyin, pid: me, at: last)
            ops[op].va = probes[c].va
            ops[op].n = probes[c].n
            ops[op].path = probes[c].kind.rawValue
            attach(last, to: op)
            attach(i, to: op)
            lastCopy[me] = nil
            if owed > 0 { open[me] = op; walkOwed[me] = owed }
            return
        }
        // exec's proc_pagetable: the trampoline mapped into a table just allocated.
        if p.va == MemLayout.trampoline, me != 0, let list = pending[me], let last = list.last, probes[last].pa == p.pt {
            return beginExec(me, after: list, at: i, owed: owed, userTable: p.pt)
        }
        unexplained.append(i)
    }

    /// A map of a user page: exec counts its pages; fork compares the A and D bits the
    /// parent's PTE had with those the model will have, and asks for accesses where they differ.
    mutating func noteUserMap(_ i: Int, _ op: Int) {
        let p = probes[i]
        guard p.va < MemLayout.trapframe else { return }
        switch ops[op].kind {
        case .exec:
            if p.pt == ops[op].root { ops[op].userPages += 1 }
        case .fork:
            // uvmcopy passes the parent's flags (with V); kvmcopymappings clears U.
            guard p.perm & PTE.Flags.valid.rawValue != 0, p.perm & PTE.Flags.user.rawValue != 0 else { return }
            let parent = ops[op].pid, child = ops[op].child ?? 0
            let ad = p.perm & 0xc0
            let page = pageRoundDown(p.va)
            let have = bits[parent]?[page] ?? 0
            let need = ad & ~have
            if need != 0 {
                let a = newOp(need & 0x80 != 0 ? .store : .load, pid: parent, at: ops[op].at)
                ops[a].va = page
                ops[a].line = p.line
                bits[parent, default: PageBits()][page] = have | ad | (need & 0x80 != 0 ? 0x40 : 0)
            }
            bits[child, default: PageBits()][page] = bits[parent]?[page] ?? ad
        default: break
        }
    }
}
