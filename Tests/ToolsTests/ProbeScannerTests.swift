import XCTest
import CosimLog
import Support

/// The scanner's quick ways: the four commonest lines matched against their fixed layout,
/// and the kinds named by a switch, each checked against the field-by-field reading.
final class ProbeScannerTests: XCTestCase {
    func fixed(_ line: String) -> Probe? {
        let bytes = Array(line.utf8)
        return bytes.withUnsafeBufferPointer { ProbeScanner.scanFixed($0, 0, $0.count) }
    }

    func fields(_ line: String) -> Probe? {
        let bytes = Array(line.utf8)
        return bytes.withUnsafeBufferPointer { ProbeScanner.scanFields($0, 0, $0.count) }
    }

    /// Each line as the probe kit prints it is read by the fixed layout, to exactly the
    /// probe the field-by-field reading gives.
    func testTheFourCommonestLinesReadByTheirLayoutAsFieldByField() throws {
        let lines = [
            "kalloc pa=0x0000000087e7a000",
            "kfree pa=0x0000000087fB5000",
            "kvm_free_kernelpgtbl pt=0x0000000087ec1000",
            "map pt=0x0000000087ec1000 va=0x0000003ffffff000 size=0x0000000000001000 pa=0x0000000080007000 perm=0xa",
            "map pt=0x0000000087fb5000 va=0x0000000000000000 size=0x0000000000001000 pa=0x0000000087e60000 perm=0x1f",
            "map pt=0x0000000087fb5000 va=0x0000000000000000 size=0x0000000000001000 pa=0x0000000087e60000 perm=0xFFFFFFFFFFFFFFFF",
        ]
        for line in lines {
            let p = try XCTUnwrap(fixed(line), line)
            XCTAssertEqual(p, fields(line), line)
        }
        let map = try XCTUnwrap(fixed(lines[3]))
        XCTAssertEqual([map.pt, map.va, map.size, map.pa, map.perm],
                       [0x87ec_1000, 0x3f_ffff_f000, 0x1000, 0x8000_7000, 0xa])
        XCTAssertEqual(fixed(lines[1])?.pa, 0x87fb_5000)
        XCTAssertEqual(fixed(lines[2])?.kind, .kvmFree)
    }

    /// Any other spelling of those lines is left to the field-by-field reading (which reads
    /// some, and refuses the rest): the fixed layout gives nil, never another probe.
    func testOtherSpellingsAreLeftToTheFieldByFieldReading() {
        let others = [
            "kalloc  pa=0x0000000087e7a000",            // two spaces
            "kalloc pa=0X0000000087e7a000",             // 0X
            "kalloc pa=0x000000087e7a000",              // 15 digits
            "kalloc pa=0x0000000087e7a00g",             // not hex
            "kfree pa=0x0000000087e7a000 x=1",          // a field too many
            "kvm_free_kernelpgtbl pa=0x0000000087ec1000",
            "map pt=0x0000000087fb5000 va=0x0000000000000000 size=0x0000000000001000 pa=0x0000000087e60000 perm=0x",
            "map pt=0x0000000087fb5000 va=0x0000000000000000 size=0x0000000000001000 pa=0x0000000087e60000 perm=0x10000000000000000",
            "map pt=0x0000000087fb5000 va=0x0000000000000000 size=0x0000000000001000 pa=0x0000000087e60000 perm=0x1 ",
            "map pt=0x0000000087fb5000 va=0x0000000000000000 pa=0x0000000087e60000 size=0x0000000000001000 perm=0x1f",
        ]
        for line in others { XCTAssertNil(fixed(line), line) }
        // The first two are still read, the long way, as the same probe.
        XCTAssertEqual(fields(others[0])?.pa, 0x87e7_a000)
        XCTAssertEqual(fields(others[1])?.pa, 0x87e7_a000)
    }

    /// Every kind whose name fits in 8 bytes is found by the switch from its name's bytes;
    /// the longer names are found by the byte-by-byte comparison.
    func testEveryKindIsFoundFromItsName() {
        var short = 0
        for kind in ProbeKind.allCases {
            let name = Array(kind.rawValue.utf8)
            if name.count <= 8 {
                let word = name.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << UInt64(8 * $1.offset) }
                XCTAssertEqual(ProbeScanner.shortKind(word), kind, kind.rawValue)
                XCTAssertNil(ProbeScanner.shortKind(word ^ 1), kind.rawValue)
                short += 1
            }
        }
        XCTAssertEqual(short, 20)
        XCTAssertNil(ProbeScanner.shortKind(0))
    }

    /// The COW and lazy labs' lines the scanner reads field by field give the probe the full
    /// parser gives (cowtest's log has 56,540 pagefault lines, which went the long way).
    func testTheLabLinesReadFieldByFieldAsTheFullParserReadsThem() throws {
        let lines = [
            "pagefault pid=3 scause=0xf va=0x0000000000003fa8",
            "sbrk pid=3 n=65536 sz=0x0000000000004000",
            "sbrk pid=3 n=-4096 sz=0x0000000000004000",
            "copyinstr pid=1 pt=0x0000000087f75000 va=0x0000000000000024 max=128",
            "refinc pa=0x0000000087f6b000 n=2",
            "copyout pid=4 pt=0x0000000087f75000 va=0x0000000000001e00 len=1024",
        ]
        for line in lines {
            let bytes = Array(line.utf8)
            let full = try bytes.withUnsafeBufferPointer { (b) throws(LogError) in
                try KernelLog.parseProbe(b, 0, b.count, line: 0, file: "t", column: 1)
            }
            XCTAssertEqual(try XCTUnwrap(fields(line), line), full, line)
        }
        let fault = try XCTUnwrap(fields(lines[0]))
        XCTAssertEqual([fault.pid, Int(fault.n), Int(fault.va)], [3, 0xf, 0x3fa8])
        XCTAssertEqual(fields(lines[2])?.n, -4096)
        // sbrk's n must fit an int: left to the full parser, which says so.
        XCTAssertNil(fields("sbrk pid=3 n=4294967296 sz=0x0000000000004000"))
    }
}
