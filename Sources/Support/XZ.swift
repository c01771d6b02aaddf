import CLZMA

/// A `.xz` decoder fed a file a block at a time, with the system's liblzma (the `CLZMA`
/// module; Debian: `liblzma-dev` to build, `liblzma5` to run).
package final class XZDecoder {
    package struct Failure: Error { package var message: String }

    private var stream = lzma_stream()
    private let output: UnsafeMutablePointer<UInt8>
    private let outputSize: Int

    /// A decoder handing its text over `outputSize` bytes at a time at most.
    package init(outputSize: Int = 1 << 20) throws(Failure) {
        self.outputSize = outputSize
        output = .allocate(capacity: outputSize)
        // LZMA_CONCATENATED: streams one after another are one text, as `xz -dc` reads them.
        let concatenated: UInt32 = 0x08
        guard lzma_stream_decoder(&stream, UInt64.max, concatenated) == LZMA_OK else {
            output.deallocate()
            throw Failure(message: "liblzma could not start a decoder")
        }
    }

    deinit {
        lzma_end(&stream)
        output.deallocate()
    }

    /// Decodes `input`, the file's next bytes (`last`: the file ends with them), handing
    /// the text to `sink` as it comes out; false from `sink` stops, and is returned.
    package func decode(_ input: ArraySlice<UInt8>, last: Bool, sink: ([UInt8]) -> Bool) throws(Failure) -> Bool {
        var result: Result<Bool, Failure> = .success(true)
        input.withUnsafeBytes { result = decode($0, last: last, sink: sink) }
        return try result.get()
    }

    private func decode(_ input: UnsafeRawBufferPointer, last: Bool, sink: ([UInt8]) -> Bool) -> Result<Bool, Failure> {
        stream.next_in = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.avail_in = input.count
        while true {
            stream.next_out = output
            stream.avail_out = outputSize
            let ret = lzma_code(&stream, last ? LZMA_FINISH : LZMA_RUN)
            let produced = outputSize - stream.avail_out
            if produced > 0 && !sink(Array(UnsafeBufferPointer(start: output, count: produced))) { return .success(false) }
            switch ret {
            case LZMA_OK:
                // All of this block read, and the text it makes handed over: ask for the next.
                if !last && stream.avail_in == 0 && stream.avail_out > 0 { return .success(true) }
            case LZMA_STREAM_END: return .success(true)
            case LZMA_FORMAT_ERROR: return .failure(Failure(message: "it is not in the .xz format"))
            case LZMA_DATA_ERROR: return .failure(Failure(message: "the data is corrupt"))
            case LZMA_BUF_ERROR: return .failure(Failure(message: "the file is cut short (truncated)"))
            case LZMA_MEM_ERROR: return .failure(Failure(message: "liblzma ran out of memory"))
            case LZMA_OPTIONS_ERROR: return .failure(Failure(message: "it uses options this liblzma does not support"))
            default: return .failure(Failure(message: "liblzma error \(ret.rawValue)"))
            }
        }
    }
}
