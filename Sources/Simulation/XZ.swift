import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Decompresses `.xz` data with the system's liblzma, loaded when first needed, so that
/// the package needs no C headers or build flags. (liblzma ships with every Debian and
/// most Linux systems: `xz`, `dpkg` and `systemd` use it.)
enum XZ {
    struct Failure: Error { var message: String }

    private typealias Decoder = @convention(c) (UnsafeMutableRawPointer, UInt64, UInt32) -> Int32
    private typealias Code = @convention(c) (UnsafeMutableRawPointer, Int32) -> Int32
    private typealias End = @convention(c) (UnsafeMutableRawPointer) -> Void

    /// lzma_stream's public fields, in order: next_in, avail_in, total_in, next_out, avail_out, total_out.
    private enum Field { static let nextIn = 0, availIn = 8, nextOut = 24, availOut = 32 }
    /// sizeof(lzma_stream) is 136 on 64-bit systems; the rest of this is spare.
    private static let streamBytes = 256

    /// Decompresses `input`, handing the text to `sink` a chunk at a time (false from `sink`
    /// stops early); more than `limit` bytes in all is an error.
    static func decompress(_ input: Data, limit: Int, sink: (UnsafeBufferPointer<UInt8>) -> Bool) throws(Failure) {
        #if os(Linux)
        let names = ["liblzma.so.5", "liblzma.so"]
        #else
        let names = ["liblzma.5.dylib", "liblzma.dylib"]
        #endif
        guard let lib = names.lazy.compactMap({ dlopen($0, RTLD_NOW) }).first else {
            throw Failure(message: "liblzma is not installed (Debian: apt install liblzma5); or decompress it first with `xz -dk`")
        }
        guard let d = dlsym(lib, "lzma_stream_decoder"), let c = dlsym(lib, "lzma_code"), let e = dlsym(lib, "lzma_end") else {
            throw Failure(message: "liblzma lacks lzma_stream_decoder")
        }
        let decoder = unsafeBitCast(d, to: Decoder.self)
        let code = unsafeBitCast(c, to: Code.self)
        let end = unsafeBitCast(e, to: End.self)
        let stream = UnsafeMutableRawPointer.allocate(byteCount: streamBytes, alignment: 16)
        stream.initializeMemory(as: UInt8.self, repeating: 0, count: streamBytes)
        defer { end(stream); stream.deallocate() }
        let concatenated: UInt32 = 0x08
        guard decoder(stream, UInt64.max, concatenated) == 0 else { throw Failure(message: "liblzma could not start a decoder") }
        var total = 0
        let chunk = 1 << 20
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: chunk)
        defer { buffer.deallocate() }
        var failure: Failure?
        input.withUnsafeBytes { (raw) in
            let inp = raw.bindMemory(to: UInt8.self)
            stream.storeBytes(of: UnsafeRawPointer(inp.baseAddress), toByteOffset: Field.nextIn, as: UnsafeRawPointer?.self)
            stream.storeBytes(of: inp.count, toByteOffset: Field.availIn, as: Int.self)
            while true {
                stream.storeBytes(of: UnsafeMutableRawPointer(buffer), toByteOffset: Field.nextOut, as: UnsafeMutableRawPointer?.self)
                stream.storeBytes(of: chunk, toByteOffset: Field.availOut, as: Int.self)
                let finish: Int32 = 3
                let ret = code(stream, finish)
                let produced = chunk - stream.load(fromByteOffset: Field.availOut, as: Int.self)
                total += produced
                if total > limit { failure = Failure(message: "it decompresses to more than \(limit >> 20) MiB"); return }
                if produced > 0 && !sink(UnsafeBufferPointer(start: buffer, count: produced)) { return }
                switch ret {
                case 0: continue                       // LZMA_OK
                case 1: return                         // LZMA_STREAM_END
                case 7: failure = Failure(message: "it is not in the .xz format"); return
                case 9: failure = Failure(message: "the data is corrupt"); return
                case 10: failure = Failure(message: "the file is cut short (truncated)"); return
                default: failure = Failure(message: "liblzma error \(ret)"); return
                }
            }
        }
        if let failure { throw failure }
    }
}
