/// The four commonest probe lines (kalloc, kfree, map, kvm_free_kernelpgtbl: 93 % of a
/// reparent2 log's lines) have the fixed layout the probe kit's printf gives them: their
/// text, a single space between fields, and `%p`'s 16 digits. Matched against it, eight bytes
/// at a time, each such line is read in a few dozen instructions, not found word by word.
/// A line that does not match exactly (two spaces, `0X`, a field missing) gives nil and is
/// read by `scan`, which alone decides what any other line means: so a line read here gives
/// the probe `scan` gives it, and a test checks that on every kind of line.
extension ProbeScanner {
    public static func scanFixed(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Probe? {
        let n = to &- from
        guard from >= 0, to <= b.count, n >= 27 else { return nil }
        let s = ProbeScanner(b: b, i: from, end: to)
        switch s.load8(from) {
        case Self.text("kalloc p"):
            guard n == 28, s.matches(from &+ 8, "a=0x"), let pa = s.hex16(from &+ 12) else { return nil }
            var p = Probe(.kalloc)
            p.pa = pa
            return p
        case Self.text("kfree pa"):
            guard n == 27, s.matches(from &+ 8, "=0x"), let pa = s.hex16(from &+ 11) else { return nil }
            var p = Probe(.kfree)
            p.pa = pa
            return p
        case Self.text("kvm_free"):
            guard n == 42, s.matches(from &+ 8, "_kernelp"), s.matches(from &+ 16, "gtbl pt="),
                  s.matches(from &+ 24, "0x"), let pt = s.hex16(from &+ 26) else { return nil }
            var p = Probe(.kvmFree)
            p.pt = pt
            return p
        case Self.text("map pt=0"):
            return s.map(from, n)
        default:
            return nil
        }
    }

    /// `map pt=0x… va=0x… size=0x… pa=0x… perm=0x…`: four `%p`s, then perm's 1 to 16 digits.
    private func map(_ from: Int, _ n: Int) -> Probe? {
        guard n >= 102, n <= 117, b[from &+ 8] == 0x78, let pt = hex16(from &+ 9),
              matches(from &+ 25, " va=0x"), let va = hex16(from &+ 31),
              matches(from &+ 47, " size=0x"), let size = hex16(from &+ 55),
              matches(from &+ 71, " pa=0x"), let pa = hex16(from &+ 77),
              matches(from &+ 93, " perm=0x") else { return nil }
        var perm: UInt64 = 0
        for j in (from &+ 101)..<(from &+ n) {
            let c = b[j], lower = c | 0x20
            let d: UInt8
            if c >= 0x30 && c <= 0x39 { d = c &- 0x30 } else if lower >= 0x61 && lower <= 0x66 { d = lower &- 0x57 } else { return nil }
            perm = perm &<< 4 | UInt64(d)
        }
        var p = Probe(.map)
        p.pt = pt; p.va = va; p.size = size; p.pa = pa; p.perm = perm
        return p
    }

    /// Whether the bytes from `j` are `text` (at most 8 bytes; the 8 from `j` are in the buffer).
    @inline(__always)
    func matches(_ j: Int, _ text: StaticString) -> Bool {
        load8(j) & Self.lowBytes(text.utf8CodeUnitCount) == Self.text(text)
    }

    /// `%p`'s 16 hex digits from `j`, the first the most significant.
    @inline(__always)
    func hex16(_ j: Int) -> UInt64? {
        guard let hi = Self.hex8(load8(j)), let lo = Self.hex8(load8(j &+ 8)) else { return nil }
        return hi &<< 32 | lo
    }

    /// A text of at most 8 bytes as `load8` reads it (the first byte lowest, zero above):
    /// folded at compile time for a literal.
    @inline(__always)
    static func text(_ t: StaticString) -> UInt64 {
        var w: UInt64 = 0
        for k in 0..<min(8, t.utf8CodeUnitCount) { w |= UInt64(t.utf8Start[k]) &<< UInt64(8 &* k) }
        return w
    }
}
