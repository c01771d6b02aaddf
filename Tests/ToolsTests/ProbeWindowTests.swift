import XCTest
import CosimLog
import LogReplay

/// The replay's window of probes: long runs kept as slices of their batch, short runs and
/// single probes copied into a tail; indices, `base` and `end` as an array window's.
final class ProbeWindowTests: XCTestCase {
    func probe(_ i: Int) -> Probe {
        var p = Probe(.kalloc)
        p.line = i
        return p
    }

    func testSlicesAndTailReadAsOneRunOfIndices() {
        var w = ProbeWindow()
        for i in 0..<10 { w.append(probe(i)) }
        let batch = (10..<3010).map(probe)
        w.append(contentsOf: batch[0..<2000])             // a slice
        w.append(contentsOf: batch[2000..<2500])          // short: copied
        w.append(contentsOf: batch[2500..<3000])
        w.append(contentsOf: (3010..<5010).map(probe)[...])
        XCTAssertEqual(w.end, 5010)
        for i in [0, 9, 10, 2009, 2010, 2509, 2510, 3009, 3010, 5009] {
            XCTAssertEqual(w[i].line, i, "\(i)")
        }
        // Whole segments go: the first (10 single probes, made a segment by the first slice)
        // and the 2,000-probe slice; the third (the 1,000 copied, from 2010) holds 3004.
        w.drop(below: 3005)
        XCTAssertEqual(w.base, 2010)
        XCTAssertEqual(w[2010].line, 2010)
        XCTAssertEqual(w[5009].line, 5009)
        w.drop(below: 4510)
        XCTAssertEqual(w.base, 3010)
        XCTAssertEqual(w.end, 5010)
    }

    func testATailAloneIsCutAsAnArrayWindowIs() {
        var w = ProbeWindow()
        for i in 0..<10_000 { w.append(probe(i)) }
        w.drop(below: 4000)
        XCTAssertEqual(w.base, 0)                         // less than half: kept
        w.drop(below: 6000)
        XCTAssertEqual(w.base, 6000)
        XCTAssertEqual(w[6000].line, 6000)
        XCTAssertEqual(w.end, 10_000)
    }
}

/// The scheduler's satps the store keeps for a departure's report: the pids scheduled most
/// recently, not every pid a long log ever ran.
final class SchedulerSatpTests: XCTestCase {
    func testTheLongestUnscheduledPidsAreForgottenPastTheirLimit() {
        let store = ProbeStore()
        var p = Probe(.satp)
        p.textID = ProbeText.scheduler
        let limit: Int = ProbeStore.schedulerPids
        let n: Int = 2 * limit + 1
        func root(_ pid: Int) -> UInt64 { 0x8000_0000 + UInt64(pid) << 12 }
        for pid in 1...n {
            p.pid = pid
            p.pa = root(pid)
            store.append(p)
        }
        // Past twice the limit, the oldest half went; the newest are all kept.
        XCTAssertNil(store.schedulerRoot(of: 1, before: n))
        XCTAssertNil(store.schedulerRoot(of: n - limit, before: n))
        XCTAssertEqual(store.schedulerRoot(of: n - limit + 1, before: n), root(n - limit + 1))
        XCTAssertEqual(store.schedulerRoot(of: n, before: n), root(n))
        XCTAssertEqual(n, 131_073)
    }
}

/// The importer's lives of pids: a reaped pid kept as a bit, read as reaped.
final class ProcessLivesTests: XCTestCase {
    func testAReapedPidReadsAsReapedAndALiveOneAsItWas() {
        var lives = ProcessLives()
        for pid in [2, 70_000, 1 << 25] { lives[pid] = (parent: 1, exited: false, reaped: false) }
        for pid in [2, 70_000, 1 << 25] {
            lives[pid]?.exited = true
            lives.reap(pid)
            XCTAssertEqual(lives[pid]?.reaped, true, "\(pid)")
            XCTAssertEqual(lives[pid]?.exited, true, "\(pid)")
        }
        XCTAssertNil(lives[3])
        XCTAssertNil(lives[70_001])
        lives[3] = (parent: 2, exited: false, reaped: false)
        XCTAssertEqual(lives[3]?.parent, 2)
        XCTAssertEqual(lives[3]?.reaped, false)
        // Made again (a kernel that reuses pids): the new life is read, not the reaped bit.
        lives[2] = (parent: 1, exited: false, reaped: false)
        XCTAssertEqual(lives[2]?.reaped, false)
    }
}
