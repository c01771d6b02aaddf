import Foundation
import XCTest

/// A setting that does nothing says so (issue 24, item 2): refused under a variant that
/// lacks what it needs, and noted in the summary when the run never came to it.
final class SettingsCommandTests: XCTestCase {
    func xv6vm(_ args: [String], in dir: String = CommandLineTests.root) throws -> CommandOutput {
        try runCommand(CommandLineTests.binary, args, in: dir)
    }

    /// Under xv6-2020 (no per-process kernel tables) the lab's freeproc settings are refused,
    /// with the variants that have what they need; it said "SUMMARY: no leaks".
    func testASettingTheVariantCannotActOnIsRefusedNamingTheVariantsThatCan() throws {
        let root = try xv6vm(["leaks", "scenarios/xv6-2020/boot.yaml", "--set", "free_kernel_pagetable=root-only"])
        XCTAssertEqual(root.status, 64)
        XCTAssertEqual(root.stdout, "")
        XCTAssertTrue(root.stderr.hasPrefix("Error: --set free_kernel_pagetable=root-only does nothing under xv6-2020: it needs a "
            + "per-process kernel page table (per_process_kernel_pagetable: true), which pgtbl-lab and seed-003 have "
            + "(choose one with --set variant=NAME)\nUsage: xv6vm leaks"), root.stderr)
        let stack = try xv6vm(["leaks", "scenarios/xv6-2020/boot.yaml", "--set", "free_kernel_stack=false"])
        XCTAssertEqual(stack.status, 64)
        XCTAssertTrue(stack.stderr.contains("--set free_kernel_stack=false does nothing under xv6-2020: it needs a per-process kernel page "
            + "table, with a stack of its own, that freeproc frees itself (per_process_kernel_pagetable: true, process_kernel_table: copy, "
            + "free_kernel_pagetable other than unmap-then-freewalk or unmap-all-then-freewalk, which unmap the stack their own way), "
            + "which pgtbl-lab has"), stack.stderr)
        // seed-003 frees its kernel table its own way, stack included: free_kernel_stack cannot act there either.
        let seed = try xv6vm(["run", "scenarios/seed-003/boot.yaml", "--set", "free_kernel_stack=false", "--format", "none"])
        XCTAssertEqual(seed.status, 64)
        XCTAssertTrue(seed.stderr.hasPrefix("Error: --set free_kernel_stack=false does nothing under seed-003:"), seed.stderr)
        // Given what it needs on the same command line, it is taken.
        let given = try xv6vm(["leaks", "scenarios/xv6-2020/boot.yaml", "--set", "per_process_kernel_pagetable=true",
                               "--set", "free_kernel_pagetable=root-only"])
        XCTAssertEqual(given.status, 0, given.stderr)
        // Set to the value the variant has already, it changes nothing and is taken.
        XCTAssertEqual(try xv6vm(["run", "scenarios/xv6-2020/boot.yaml", "--set", "free_kernel_pagetable=recursive", "--format", "none"]).status, 0)
    }

    /// In a scenario's `kernel:` the same setting is a scenario error at its key.
    func testAScenarioSettingTheVariantCannotActOnIsAnErrorAtItsKey() throws {
        let dir = try scratchDirectory(self)
        try "kernel: {variant: xv6-2020, free_kernel_pagetable: root-only}\nevents:\n  - userinit: init\n"
            .write(toFile: dir + "/k.yaml", atomically: true, encoding: .utf8)
        let r = try xv6vm(["run", "k.yaml"], in: dir)
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, """
            k.yaml:1:29: error: free_kernel_pagetable: root-only does nothing under xv6-2020: it needs a per-process kernel page table (per_process_kernel_pagetable: true), which pgtbl-lab and seed-003 have
              kernel: {variant: xv6-2020, free_kernel_pagetable: root-only}
                                          ^
            1 error in k.yaml

            """)
    }

    /// pgtbl-lab/boot.yaml frees no process, so free_kernel_pagetable is never read: the leak
    /// report's summary says so, and `run` says it on stderr; the trace is the golden's, byte for byte.
    func testARunThatNeverConsultedAChangedSettingSaysSoInItsSummary() throws {
        let leaks = try xv6vm(["leaks", "scenarios/pgtbl-lab/boot.yaml", "--set", "free_kernel_pagetable=root-only"])
        XCTAssertEqual(leaks.status, 0)
        XCTAssertTrue(leaks.stdout.hasSuffix("""

            SUMMARY: no leaks: every allocated page has a live owner; but
                     free_kernel_pagetable=root-only was never consulted, so it changed
                     nothing: the run never reached what it governs (how freeproc frees the
                     process's kernel page table)

            """), leaks.stdout)
        let run = try xv6vm(["run", "scenarios/pgtbl-lab/boot.yaml", "--set", "free_kernel_pagetable=root-only",
                             "--set", "free_kernel_stack=false"])
        XCTAssertEqual(run.status, 0)
        XCTAssertEqual(run.stderr, "xv6vm: note: free_kernel_pagetable=root-only and free_kernel_stack=false were never consulted, "
            + "so they changed nothing: the run never reached what they govern (how freeproc frees the process's kernel page "
            + "table; freeproc frees the kernel stack page)\n")
        let golden = try String(contentsOfFile: CommandLineTests.root + "/golden/pgtbl-lab/boot.trace", encoding: .utf8)
        XCTAssertEqual(run.stdout.replacingOccurrences(of: "free_kernel_pagetable root-only", with: "free_kernel_pagetable recursive")
            .replacingOccurrences(of: "free_kernel_stack false", with: "free_kernel_stack true"), golden)
        // Where a process is freed, the setting acts, and nothing is noted.
        let acted = try xv6vm(["leaks", "scenarios/pgtbl-lab/fork-exec-exit.yaml", "--set", "free_kernel_pagetable=root-only"])
        XCTAssertEqual(acted.status, 1)
        XCTAssertTrue(acted.stdout.hasSuffix("\nSUMMARY: 72 pages leaked in 3 records: 3 definitely lost, 69 indirectly lost\n"), acted.stdout)
        XCTAssertEqual(try xv6vm(["run", "scenarios/pgtbl-lab/fork-exec-exit.yaml", "--set", "free_kernel_pagetable=root-only",
                                  "--format", "none"]).stderr, "")
    }
}
