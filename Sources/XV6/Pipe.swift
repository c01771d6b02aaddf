import RISCV

/// xv6's `pipe.c`, as far as memory goes: a pipe is one page, taken by `pipealloc`
/// and given back by `pipeclose` when its last end is closed. The files and the
/// data that flows through it are not modelled.
extension Kernel {
    /// pipe(): allocates the pipe's page. 0, or -1 when memory is exhausted.
    /// (xv6: `sys_pipe`, `pipealloc`)
    func sys_pipe(_ p: Int, id: Int) throws(KernelPanic) -> Int64 {
        sites.push(.sys_pipe); defer { sites.pop() }
        sites.push(.pipealloc); defer { sites.pop() }
        guard let pa = try kalloc() else { return -1 }
        pipes[id] = pa
        return 0
    }

    /// close() of the last end of pipe `id`: frees its page. -1 for a pipe that is not open.
    /// (xv6: `sys_close`, `fileclose`, `pipeclose`)
    func sys_close(_ p: Int, pipe id: Int) throws(KernelPanic) -> Int64 {
        sites.push(.sys_close); defer { sites.pop() }
        sites.push(.pipeclose); defer { sites.pop() }
        guard let pa = pipes.removeValue(forKey: id) else { return -1 }
        try kfree(pa)
        return 0
    }

    /// The pages open pipes hold, in no particular order.
    public var pipePages: [UInt64] { pipes.values.map(\.rawValue) }
}
