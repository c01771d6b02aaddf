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

    static func decompress(_ input: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
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
        var output: [UInt8] = []
        output.reserveCapacity(input.count * 8)
        let chunk = 1 << 20
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: chunk)
        defer { buffer.deallocate() }
        return try input.withUnsafeBufferPointer { (inp) throws(Failure) -> [UInt8] in
            stream.storeBytes(of: UnsafeRawPointer(inp.baseAddress), toByteOffset: Field.nextIn, as: UnsafeRawPointer?.self)
            stream.storeBytes(of: inp.count, toByteOffset: Field.availIn, as: Int.self)
            while true {
                stream.storeBytes(of: UnsafeMutableRawPointer(buffer), toByteOffset: Field.nextOut, as: UnsafeMutableRawPointer?.self)
                stream.storeBytes(of: chunk, toByteOffset: Field.availOut, as: Int.self)
                let finish: Int32 = 3
                let ret = code(stream, finish)
                let produced = chunk - stream.load(fromByteOffset: Field.availOut, as: Int.self)
                output.append(contentsOf: UnsafeBufferPointer(start: buffer, count: produced))
                if output.count > limit { throw Failure(message: "it decompresses to more than \(limit >> 20) MiB") }
                switch ret {
                case 0: continue                       // LZMA_OK
                case 1: return output                  // LZMA_STREAM_END
                case 7: throw Failure(message: "it is not in the .xz format")
                case 9: throw Failure(message: "the data is corrupt")
                case 10: throw Failure(message: "the file is cut short (truncated)")
                default: throw Failure(message: "liblzma error \(ret)")
                }
            }
        }
    }
}
