/// The kernel called `panic(message)`: the machine stops. `message` is xv6's own string.
public struct KernelPanic: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    /// The lines the kernel printed before `panic:` (kerneltrap's scause/sepc/stval), if any.
    public let preamble: [String]
    public init(_ message: String, preamble: [String] = []) { self.message = message; self.preamble = preamble }
    public var description: String { "panic: \(message)" }
}

/// Something the real kernel does silently that a student needs to know about.
public struct Finding: Equatable, Sendable {
    public enum Kind: String, Sendable {
        /// kfree of a page already on the free list: xv6 links it in twice and later hands it out twice.
        case doubleFree = "double-free"
        /// kalloc returned a page that is still in use: the free list was corrupted by a double free.
        case inUseHandedOut = "in-use-page-allocated"
    }
    public let kind: Kind
    public let pa: UInt64
    public let detail: String
}
