import XCTest
import RISCV

/// A watched page's next write, by any of the memory's writes, advances the watch epoch and
/// ends the watch; writes to other pages leave the epoch where it is.
final class WatchTests: XCTestCase {
    let ram = PhysicalMemory(base: PhysAddr(0x8000_0000), end: PhysAddr(0x8010_0000))
    let watched = PhysAddr(0x8000_3000)
    let other = PhysAddr(0x8000_5000)

    /// Whether `write` moves the epoch when `watched` is watched, and whether it moves it
    /// again without a new watch.
    func epochMoves(_ write: () -> Void) -> (first: Bool, again: Bool) {
        ram.watch(watched.rawValue + 0x18)
        let e0 = ram.watchEpoch
        write()
        let e1 = ram.watchEpoch
        write()
        return (e1 != e0, ram.watchEpoch != e1)
    }

    func testEveryWriteOfAWatchedPageMovesTheEpochOnce() {
        let writes: [(String, () -> Void)] = [
            ("write64", { self.ram.write64(self.watched + 8, 0x1234) }),
            ("writeByte", { self.ram.writeByte(self.watched + 0xfff, 7) }),
            ("fillPage", { self.ram.fillPage(self.watched, byte: 1) }),
            ("copyPage", { self.ram.copyPage(from: self.other, to: self.watched) }),
            ("writePTEs", { _ = self.ram.writePTEs(self.watched, at: 0, count: 40, first: 0x2000_0001, step: 0x400) }),
            ("pageWords", { self.ram.pageWords(self.watched)[9] = 9 }),
        ]
        for (name, write) in writes {
            ram.fillPage(watched, byte: 0)
            ram.write64(other, 0x77)
            let moved = epochMoves(write)
            XCTAssertTrue(moved.first, name)
            XCTAssertFalse(moved.again, name)
        }
    }

    func testWritesElsewhereLeaveTheEpoch() {
        ram.watch(watched.rawValue)
        let e = ram.watchEpoch
        ram.write64(other, 5)
        ram.fillPage(other, byte: 1)
        ram.copyPage(from: watched, to: other)
        _ = ram.read64(watched)
        XCTAssertEqual(ram.watchEpoch, e)
    }

    func testTheWriteLogStillSeesWatchedPages() {
        let log = WriteLog(pageCount: ram.pageCount)
        ram.writeLog = log
        ram.watch(watched.rawValue)
        ram.write64(watched, 1)
        ram.write64(other, 2)
        ram.write64(watched, 3)
        XCTAssertEqual(log.take(), [3, 5])
        ram.writeLog = nil
        ram.write64(other, 4)
        XCTAssertEqual(log.take(), [])
    }
}
