import Foundation
import XCTest

/// check and review --blind-addresses (issue 24, item 3), on the example: one sbrk
/// shifted by one page in a copy of a scenario moves every later physical address.
final class BlindAddressCommandTests: XCTestCase {
    /// A project holding pgtbl-lab/fork-exec-exit.yaml and its golden, its sbrk one page larger.
    func shiftedProject() throws -> String {
        let dir = try scratchDirectory(self)
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/scenarios/pgtbl-lab", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: dir + "/golden/pgtbl-lab", withIntermediateDirectories: true)
        try fm.copyItem(atPath: CommandLineTests.root + "/golden/pgtbl-lab/fork-exec-exit.trace", toPath: dir + "/golden/pgtbl-lab/fork-exec-exit.trace")
        let yaml = try String(contentsOfFile: CommandLineTests.root + "/scenarios/pgtbl-lab/fork-exec-exit.yaml", encoding: .utf8)
        XCTAssertTrue(yaml.contains("sbrk: {proc: echo, n: 65536}"))
        try yaml.replacingOccurrences(of: "sbrk: {proc: echo, n: 65536}", with: "sbrk: {proc: echo, n: 69632}")
            .write(toFile: dir + "/scenarios/pgtbl-lab/fork-exec-exit.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    func testTheSummarySaysHowMuchIsOnlyAddressesAndTheBlindViewShowsTheRest() throws {
        let dir = try shiftedProject()
        let exact = try runCommand(CommandLineTests.binary, ["check", "--pending-dir", "out"], in: dir)
        XCTAssertEqual(exact.status, 1)
        XCTAssertTrue(exact.stdout.contains("""
                9 hunks (-47 +51): -1 +1 event, -1 +1 syscall, -6 +7 kalloc, -8 +10 map,
                    -5 +5 unmap, -5 +6 kfree, -16 +16 vmprint, -1 +1 satp, -3 +3 freewalk,
                    -1 +1 end
                address-blind, 7 hunks (-5 +9): the other 42 lines of the golden differ only
                    by addresses (--blind-addresses shows that view)
            """), exact.stdout)
        let blind = try runCommand(CommandLineTests.binary, ["check", "--blind-addresses", "--pending-dir", "out"], in: dir)
        XCTAssertEqual(blind.status, 1)     // the golden keeps exact addresses: it still fails
        XCTAssertTrue(blind.stdout.contains("""
                address-blind: 7 hunks (-5 +9): -1 +1 event, -1 +1 syscall, +1 kalloc,
                    +2 map, -2 +2 unmap, +1 kfree, -1 +1 end
            """), blind.stdout)
        XCTAssertTrue(blind.stdout.contains("""
            +kalloc    page#344 pid 3 sys_sbrk > growproc > uvmalloc
            +map       user:3 page#78 va 0x0000000000014000 size 0x1000 pa page#344 rwxu---
            """), blind.stdout)
        XCTAssertTrue(blind.stdout.contains("""
                and 42 lines of the golden that differ only by the addresses that follow
                (pages named by first use: page#1, page#2, ...; the golden keeps exact
                addresses)
            """), blind.stdout)
        XCTAssertEqual(blind.stdout.components(separatedBy: "\n@@ ").count - 1, 7)
        // The golden is as it was: exact addresses.
        XCTAssertEqual(try String(contentsOfFile: dir + "/golden/pgtbl-lab/fork-exec-exit.trace", encoding: .utf8),
                       try String(contentsOfFile: CommandLineTests.root + "/golden/pgtbl-lab/fork-exec-exit.trace", encoding: .utf8))
        let list = try runCommand(CommandLineTests.binary, ["review", "--list", "--pending-dir", "out", "--blind-addresses"], in: dir)
        XCTAssertEqual(list.stdout, """
            changed         out/pgtbl-lab/fork-exec-exit.trace.new:
                address-blind 7 hunks (-5 +9): -1 +1 event, -1 +1 syscall, +1 kalloc,
                +2 map, -2 +2 unmap, +1 kfree, -1 +1 end;
                and 42 lines that differ only by the addresses
            1 pending: 1 changed, 0 new, 0 stale

            """)
    }

    /// replay: a kernel log whose two page-table pages came from the free list the other
    /// way round parts from the model exactly, and agrees with it address-blind.
    func testReplayAddressBlindMatchesPagesByFirstUse() throws {
        let dir = try scratchDirectory(self)
        let log = try String(contentsOfFile: CommandLineTests.root + "/docs/kernel-logs/stock-boot.log", encoding: .utf8)
        let (a, b) = ("0x0000000087ffe000", "0x0000000087ffd000")
        XCTAssertEqual(log.components(separatedBy: a).count - 1, 1)     // taken once, never freed: a page-table page
        try log.replacingOccurrences(of: a, with: "PAGE-A").replacingOccurrences(of: b, with: a).replacingOccurrences(of: "PAGE-A", with: b)
            .write(toFile: dir + "/swapped.log", atomically: true, encoding: .utf8)
        let exact = try runCommand(CommandLineTests.binary, ["replay", "swapped.log"], in: dir)
        XCTAssertEqual(exact.status, 1)
        XCTAssertTrue(exact.stdout.hasPrefix("""
            replay of swapped.log on the xv6-2020 model (14 operations): they part
            address-blind (pages matched by first use), the memory and satp streams agree:
              they part only by where pages went (--blind-addresses)

            first departure, in the memory events (number 3 of that stream):
              the kernel, log line 6:
                  kalloc pa=0x0000000087ffd000

            """), exact.stdout)
        let blind = try runCommand(CommandLineTests.binary, ["replay", "swapped.log", "--blind-addresses"], in: dir)
        XCTAssertEqual(blind.status, 0, blind.stdout)
        XCTAssertTrue(blind.stdout.hasPrefix("""
            replay of swapped.log on the xv6-2020 model (14 operations), address-blind
              (physical pages matched by first use): they agree

            events compared:
              kalloc           208

            """), blind.stdout)
        // A model with less RAM places every page elsewhere: blind, the first difference left
        // is structural, the direct map's size (log line 17).
        let smaller = try runCommand(CommandLineTests.binary, ["replay", CommandLineTests.root + "/docs/kernel-logs/stock-boot.log",
                                                               "--set", "phystop=0x87f00000"], in: dir)
        XCTAssertEqual(smaller.status, 1)
        XCTAssertTrue(smaller.stdout.contains("\naddress-blind (pages matched by first use), they agree up to log line 17\n  (--blind-addresses)\n"), smaller.stdout)
        let smallerBlind = try runCommand(CommandLineTests.binary, ["replay", CommandLineTests.root + "/docs/kernel-logs/stock-boot.log",
                                                                    "--set", "phystop=0x87f00000", "--blind-addresses"], in: dir)
        XCTAssertEqual(smallerBlind.status, 1)
        XCTAssertTrue(smallerBlind.stdout.contains("first departure, in the memory events (number 14 of that stream):\n  the kernel, log line 17:\n"), smallerBlind.stdout)
        // The kernel's own log agrees address-blind too.
        let plain = try runCommand(CommandLineTests.binary, ["replay", CommandLineTests.root + "/docs/kernel-logs/stock-boot.log", "--blind-addresses"], in: dir)
        XCTAssertEqual(plain.status, 0, plain.stdout)
    }
}
