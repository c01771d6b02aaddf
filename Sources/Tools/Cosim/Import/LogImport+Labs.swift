import XV6
import RISCV
import Support
import Scenario
import Run
import CosimLog

/// The copy-on-write and lazy labs' probe lines (docs/check-your-kernel.md): a page fault and
/// a copyout are operations of their own, a copyin marks where a lazy page may be made,
/// refinc and refdec go with the operation under way, and the lazy lab's sbrk is its growth.
extension LogImporter {
    mutating func takeLab(_ i: Int, _ me: Int) throws(ImportError) {
        let p = probes[i]
        switch p.kind {
        case .sbrk where lazySbrk:
            // The lazy lab's sbrk moves sz and makes no page (a negative one unmaps at once).
            guard p.pid == me else { throw fail(i, "sbrk of pid \(p.pid) printed while pid \(me) runs") }
            try mustRun(i, me, "grows (sbrk)")
            let op = beginProcessOperation(.growproc, i, me)
            ops[op].n = p.n
            size[me] = UInt64(bitPattern: Int64(bitPattern: p.sz) &+ p.n)
            forgetBits(me, above: size[me]!)
            open[me] = op
        case .copyin, .copyinstr:
            // A copy from user memory: a fault or copyout before it is over.
            if p.pid == me, me != 0 {
                if let o = open[me], [.fault, .copyout].contains(ops[o].kind) { close(me) }
                lastCopy[me] = i
            }
        case .sbrk:
            break
        case .pagefault:
            guard p.pid == me else { throw fail(i, "pagefault of pid \(p.pid) printed while pid \(me) runs") }
            try mustRun(i, me, "faults")
            let op = beginProcessOperation(.fault, i, me)
            ops[op].va = p.va
            ops[op].n = p.n
            open[me] = op
        case .copyout:
            guard p.pid == me else { throw fail(i, "copyout by pid \(p.pid) printed while pid \(me) runs") }
            // exec's copyouts onto the new image's stack are exec's own.
            if let o = open[me], ops[o].kind == .exec, !ops[o].freeing { break }
            try mustRun(i, me, "copies out")
            let op = beginProcessOperation(.copyout, i, me)
            ops[op].processProbe = nil
            ops[op].va = p.va
            ops[op].n = p.n
            open[me] = op
        case .refinc:
            if let op = open[me], ops[op].kind == .fork, !ops[op].freeing { attach(i, to: op) } else { unexplained.append(i) }
        case .refdec:
            if let op = open[me], acceptsFree(op) { attach(i, to: op) } else { unexplained.append(i) }
        default:
            break
        }
    }

    /// A shrinking sbrk frees the pages from `size` up: pages grown there later start with
    /// no A and D bits.
    mutating func forgetBits(_ pid: Int, above size: UInt64) {
        guard bits[pid]?.any(atOrAbove: pageRoundUp(size)) == true else { return }
        bits[pid]!.forget(atOrAbove: pageRoundUp(size))
    }
}
