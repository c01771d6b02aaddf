// xv6vm_probe.h: the @T probe lines xv6vm replays (docs/check-your-kernel.md).
//
// Put this file in kernel/, include it after "defs.h" in each file you
// instrument, and add one XV6VM_* line at each place the guide names. Every
// macro is one printf, so one line of the console; build with XV6VM_PROBES=0
// (make CFLAGS+=-DXV6VM_PROBES=0) and they all vanish.
//
// Formats: addresses with %p (0x and 16 hex digits), perm with %x, pids,
// counts and statuses with %d. xv6vm refuses a line it cannot read.
//
// This file is part of xv6vm, not of xv6; use it as you like.

#ifndef XV6VM_PROBE_H
#define XV6VM_PROBE_H

#ifndef XV6VM_PROBES
#define XV6VM_PROBES 1
#endif

#if XV6VM_PROBES
#define XV6VM_PRINT(...) printf(__VA_ARGS__)
#else
#define XV6VM_PRINT(...) do { } while (0)
#endif

// Memory (kalloc.c, vm.c)
#define XV6VM_KALLOC(pa)      XV6VM_PRINT("@T kalloc pa=%p\n", (void *)(pa))
#define XV6VM_KFREE(pa)       XV6VM_PRINT("@T kfree pa=%p\n", (void *)(pa))
#define XV6VM_MAP(pt, va, size, pa, perm) \
  XV6VM_PRINT("@T map pt=%p va=%p size=%p pa=%p perm=%x\n", \
              (void *)(pt), (void *)(va), (void *)(uint64)(size), (void *)(pa), (int)(perm))
#define XV6VM_UNMAP(pt, va, npages, dofree) \
  XV6VM_PRINT("@T unmap pt=%p va=%p npages=%d free=%d\n", \
              (void *)(pt), (void *)(va), (int)(npages), (dofree) ? 1 : 0)
#define XV6VM_FREEWALK(pt)    XV6VM_PRINT("@T freewalk pt=%p\n", (void *)(pt))
#define XV6VM_KVMFREE(pt)     XV6VM_PRINT("@T kvm_free_kernelpgtbl pt=%p\n", (void *)(pt))

// satp (vm.c, proc.c)
#define XV6VM_SATP_KVMINITHART(root) \
  XV6VM_PRINT("@T satp pa=%p by=kvminithart\n", (void *)(root))
#define XV6VM_SATP_SCHEDULER(root, pid) \
  XV6VM_PRINT("@T satp pa=%p by=scheduler pid=%d\n", (void *)(root), (pid))

// Processes (proc.c, exec.c, sysfile.c)
#define XV6VM_ALLOCPROC(pid)  XV6VM_PRINT("@T allocproc pid=%d\n", (pid))
#define XV6VM_FREEPROC(pid)   XV6VM_PRINT("@T freeproc pid=%d\n", (pid))
#define XV6VM_FORK(parent, child) XV6VM_PRINT("@T fork parent=%d child=%d\n", (parent), (child))
#define XV6VM_EXEC(pid, path, sz) \
  XV6VM_PRINT("@T exec pid=%d path=%s sz=%p\n", (pid), (path), (void *)(sz))
#define XV6VM_EXECFAIL(pid, path) XV6VM_PRINT("@T execfail pid=%d path=%s\n", (pid), (path))
#define XV6VM_GROWPROC(pid, n, sz) \
  XV6VM_PRINT("@T growproc pid=%d n=%d sz=%p\n", (pid), (n), (void *)(sz))
#define XV6VM_EXIT(pid, status) XV6VM_PRINT("@T exit pid=%d status=%d\n", (pid), (status))
#define XV6VM_WAIT(pid, child)  XV6VM_PRINT("@T wait pid=%d reaped=%d\n", (pid), (child))

// Scheduling (proc.c: scheduler)
#define XV6VM_SWTCH_TO(pid)   XV6VM_PRINT("@T swtch to=%d\n", (pid))
#define XV6VM_SWTCH_FROM(pid) XV6VM_PRINT("@T swtch from=%d\n", (pid))

#endif
