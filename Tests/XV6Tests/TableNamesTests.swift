import XCTest
import RISCV
import XV6

/// The roots' names: what a dictionary would answer, through 20,000 sets and removals that
/// grow the table, clash in it and leave holes (a fixed pseudo-random sequence).
final class TableNamesTests: XCTestCase {
    func testRootsNamedAndForgottenAsADictionaryWould() {
        var names = TableNames()
        var want: [UInt64: TableRef] = [:]
        var x: UInt64 = 0x2545_F491_4F6C_DD1D
        var removed = 0
        for step in 0..<20_000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // 300 roots near the top of RAM, one page apart: many share a home slot.
            let root = PhysAddr(0x87ff_f000 - (x >> 33) % 300 * 0x1000)
            if x >> 62 == 0 {
                if want[root.rawValue] != nil { removed += 1 }
                names[root] = nil
                want[root.rawValue] = nil
            } else {
                let name: TableRef = step % 3 == 0 ? .kernel : step % 3 == 1 ? .user(pid: step) : .procKernel(pid: step)
                names[root] = name
                want[root.rawValue] = name
            }
            if step % 97 == 0 {
                for k in 0..<300 {
                    let r = PhysAddr(0x87ff_f000 - UInt64(k) * 0x1000)
                    XCTAssertEqual(names[r], want[r.rawValue], "step \(step), root \(r)")
                }
            }
        }
        XCTAssertGreaterThan(removed, 1000)
        XCTAssertGreaterThan(want.count, 100)
        XCTAssertNil(names[PhysAddr(0x8000_0000)])
        XCTAssertNil(names[PhysAddr(.max)])
        names[PhysAddr(.max)] = .kernel
        XCTAssertNil(names[PhysAddr(.max)])
    }
}
