import XV6
import RISCV
import Support
import Scenario
import Run
import CosimLog

/// A departure in the student's terms: the innermost operation and the process it acts on,
/// and one sentence on what the kernel did and what the model did, where the events say it.
extension Replay {
    /// The operation as the student knows it: a wait's or a failed fork's `freeproc`, named by
    /// the process it frees; else the operation itself.
    static func innermost(_ op: LogOperation, _ model: [ModelRecord]) -> String {
        guard let freed = model.first(where: { $0.kind == .freeproc }).map({ Int($0.pa) }) else { return op.summary }
        switch op.kind {
        case .wait: return "freeproc of pid \(freed) (reaped by pid \(op.pid)'s wait)"
        case .fork: return "freeproc of pid \(freed) (the child pid \(op.pid)'s fork gives up on)"
        default: return "freeproc of pid \(freed) (in \(op.summary))"
        }
    }

    /// Where freeproc (or a failed exec) frees a kernel table one way and the kernel another:
    /// which of the table's pages the kernel frees, against the model's recursive free.
    static func freeprocTerms(_ what: String, _ model: [ModelRecord], _ kernel: [Probe], _ sites: SiteTree) -> String? {
        guard let root = model.first(where: { $0.kind == .kvmFree })?.pa else { return nil }
        let name: String
        if what.hasPrefix("freeproc of pid ") {
            name = "pid \(what.dropFirst("freeproc of pid ".count).prefix { $0.isNumber })'s kernel table \(hex16(root))"
        } else if what.hasPrefix("exec of ") && what.hasSuffix("(fails)") {
            name = "the kernel table \(hex16(root)) that this exec built"
        } else { return nil }
        let table = model.filter { $0.kind == .kfree && sites.name($0.site).hasSuffix("kvm_free_kernelpgtbl") }.map(\.pa)
        let freed = Set(kernel.filter { $0.kind == .kfree }.map(\.pa))
        let below = table.filter { $0 != root }
        let kept = below.filter { !freed.contains($0) }.count
        guard kept > 0 || !freed.contains(root) else { return nil }
        if !freed.contains(root) && kept == below.count {
            return "in \(what), your kernel never frees \(name): the model frees it and the \(pages(below.count)) below it"
        }
        let which = freed.contains(root) ? "the root of \(name)" : "\(name), not its root,"
        return kept == below.count ? "in \(what), your kernel frees \(which) and none of the \(pages(below.count)) below it"
                                   : "in \(what), your kernel frees \(which) and \(below.count - kept) of the \(pages(below.count)) below it"
    }

    /// exec's unmap of the old image's mirror, which the kernel does not make: its kernel
    /// table keeps entries to the pages the exec frees.
    /// `kernelTable`: the root the scheduler last loaded for the process before the exec.
    static func mirrorTerms(_ what: String, _ op: LogOperation, _ model: ModelProbe?, kernelTable: UInt64?) -> String? {
        guard op.kind == .exec, let m = model?.probe, m.kind == .unmap, m.va == 0, !m.flag, m.pt != op.root else { return nil }
        guard kernelTable == nil || kernelTable == m.pt else { return nil }
        return "in \(what), your kernel does not unmap the old image's \(pages(Int(m.n))) from pid \(op.pid)'s kernel table "
            + "\(hex16(m.pt)): its entries keep pointing at the pages the exec frees (a bug: stale mappings to freed pages)"
    }

    /// A copyout under copy-on-write that copies fewer of the shared pages it writes than
    /// the model: the bytes it wrote into a frame another process still maps. `sharers`: the
    /// processes that mapped each frame where the two parted, other than the copy's.
    static func copyoutTerms(_ op: LogOperation, _ model: [ModelRecord], _ kernel: [Probe],
                             sharers: [UInt64: Sharers] = [:]) -> String? {
        guard op.kind == .copyout, op.n > 0 else { return nil }
        let kernelFrames = Set(kernel.filter { $0.kind == .refdec }.map(\.pa))
        let copied = Set(kernel.filter { $0.kind == .unmap && !$0.flag }.map(\.va))
        let modelCopies = model.filter { $0.kind == .refdec }.count
        guard modelCopies > kernelFrames.count else { return nil }
        // The pages the copy writes, in order; those the kernel did not copy, with the frames
        // the model copied them from (the model copies every shared page it writes).
        let end = op.va &+ UInt64(op.n)
        var written: [UInt64] = []
        var page = pageRoundDown(op.va)
        while page < end && written.count < 64 { written.append(page); page &+= pageSize }
        let frames = model.filter { $0.kind == .refdec && !kernelFrames.contains($0.pa) }.map(\.pa)
        guard var missed = written.first(where: { !copied.contains($0) }), let frame = frames.first else { return nil }
        // The page the frame was shared at, where the model knew it (a page the kernel copied
        // in an earlier copyout is written without a copy, and rightly).
        if let page = sharers[frame]?.va { missed = page }
        let from = max(missed, op.va), to = min(missed + pageSize, end) - 1
        return "in \(op.summary): of the copy-on-write pages it writes, the kernel copies \(kernelFrames.count) and "
            + "the model \(modelCopies); bytes \(hexShort(from))-\(hexShort(to)) went into frame \(hex16(frame)), "
            + "\(sharedWith(frame, sharers)) (a bug: a write through a shared page)"
    }

    /// "which pid 3 still maps" (or pids 3 and 5), else "which another process still maps".
    static func sharedWith(_ frame: UInt64, _ sharers: [UInt64: Sharers]) -> String {
        guard let pids = sharers[frame]?.pids, !pids.isEmpty else { return "which another process still maps" }
        if pids.count == 1 { return "which pid \(pids[0]) still maps" }
        return "which pids \(pids.dropLast().map(String.init).joined(separator: ", ")) and \(pids.last!) still map"
    }
}

/// The processes other than a copy's own that map a frame, and the page they map it at.
typealias Sharers = (va: UInt64, pids: [Int])
