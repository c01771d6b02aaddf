import XCTest
import XV6
import RISCV

final class BootTests: XCTestCase {
    /// The handout's `pte printout`, from a real 2020 kernel (seeds/000): pid 1 after exec("/init").
    static let handoutPrintout = """
        page table 0x0000000087f6e000
        ..0: pte 0x0000000021fda801 pa 0x0000000087f6a000
        .. ..0: pte 0x0000000021fda401 pa 0x0000000087f69000
        .. .. ..0: pte 0x0000000021fdac1f pa 0x0000000087f6b000
        .. .. ..1: pte 0x0000000021fda00f pa 0x0000000087f68000
        .. .. ..2: pte 0x0000000021fd9c1f pa 0x0000000087f67000
        ..255: pte 0x0000000021fdb401 pa 0x0000000087f6d000
        .. ..511: pte 0x0000000021fdb001 pa 0x0000000087f6c000
        .. .. ..510: pte 0x0000000021fdd807 pa 0x0000000087f76000
        .. .. ..511: pte 0x0000000020001c0b pa 0x0000000080007000
        """.split(separator: "\n").map(String.init)

    func testBootThenExecInitPrintsTheHandoutsPageTable() throws {
        // The handout's kernel: the stock kernel with vmprint for pid 1 at the end of exec.
        var c = KernelConfig()
        c.settings.execVmprint = .pid1
        let rec = Recorder()
        let k = try Kernel(config: c, sink: rec)
        XCTAssertEqual(try k.userinit(), 1)
        let r = try k.syscall(pid: 1, .exec(path: "/init", argv: ["init"],
                                            program: Program(segments: [Segment(vaddr: 0, memsz: 0x1000, filesz: 0x1000)])))
        XCTAssertEqual(r, .returned(1))
        let console = rec.events.compactMap { if case .console(let l) = $0 { return l } else { return nil } }
        XCTAssertEqual(console, Self.handoutPrintout)
        // Back in user space, the trampoline has fetched TRAMPOLINE and loaded from TRAPFRAME
        // through this table: the MMU set their Accessed bits.
        var after = Self.handoutPrintout
        after[8] = ".. .. ..510: pte 0x0000000021fdd847 pa 0x0000000087f76000"
        after[9] = ".. .. ..511: pte 0x0000000020001c4b pa 0x0000000080007000"
        XCTAssertEqual(try k.vmprint(k.procs[0].pagetable), after)
    }
}
