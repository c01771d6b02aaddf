/// Bytes: loads and stores of single bytes and byte ranges, word by word.
extension PhysicalMemory {
    /// The byte at `pa`, which must be in RAM.
    public func readByte(_ pa: PhysAddr) -> UInt8 {
        let word = read64(PhysAddr(pa.rawValue & ~7))
        return UInt8(truncatingIfNeeded: word >> ((pa.rawValue & 7) * 8))
    }

    /// Stores one byte at `pa`, which must be in RAM.
    public func writeByte(_ pa: PhysAddr, _ value: UInt8) {
        let aligned = PhysAddr(pa.rawValue & ~7)
        let shift = (pa.rawValue & 7) * 8
        let old = read64(aligned)
        write64(aligned, (old & ~(0xff << shift)) | (UInt64(value) << shift))
    }

    /// `count` bytes starting at `pa`; the range must be in RAM.
    public func read(_ pa: PhysAddr, count: Int) -> [UInt8] {
        (0..<count).map { readByte(pa + UInt64($0)) }
    }

    /// Stores `bytes` starting at `pa`; the range must be in RAM.
    public func write(_ pa: PhysAddr, _ bytes: some Sequence<UInt8>) {
        var a = pa
        for b in bytes { writeByte(a, b); a = a + 1 }
    }
}
