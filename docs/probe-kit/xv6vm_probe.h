// xv6vm_probe.h -- one-line console probes for the xv6vm replay checker.
// Where each goes: docs/check-your-kernel.md. Part of xv6vm, not of xv6;
// use it as you like.
//
// Each macro prints exactly one console line that starts with "@T ".
// The fields are those xv6vm reads (docs/check-your-kernel.md).
// Include this file after "defs.h" (it relies on the kernel's printf).
//
// Number formats (xv6 printf):
//   %p -> 0x + 16 lowercase hex digits (addresses, sizes, sz)
//   %x -> 0x + shortest lowercase hex   (perm)
//   %d -> signed decimal                (pid, n, npages, status, free)
//
// Every macro evaluates its arguments exactly once and casts them to the
// type printf expects, so callers may pass pointers, uint64 or int freely.

#ifndef XV6VM_PROBE_H
#define XV6VM_PROBE_H

// kfree is called once per page by freerange() while the allocator is being
// filled; those calls must stay silent. The flag below is defined once (put
// XV6VM_PROBE_STATE at file scope in kalloc.c) and switched on with
// XV6VM_PROBES_ON() as the last statement of kinit().
extern int xv6vm_probes_on;
#define XV6VM_PROBE_STATE int xv6vm_probes_on = 0
#define XV6VM_PROBES_ON() do { xv6vm_probes_on = 1; } while(0)

// ---- physical pages ---------------------------------------------------
#define XV6VM_KALLOC(pa) \
  do { if(xv6vm_probes_on) printf("@T kalloc pa=%p\n", (uint64)(pa)); } while(0)
#define XV6VM_KFREE(pa) \
  do { if(xv6vm_probes_on) printf("@T kfree pa=%p\n", (uint64)(pa)); } while(0)

// ---- page tables ------------------------------------------------------
#define XV6VM_MAP(pt, va, size, pa, perm) \
  printf("@T map pt=%p va=%p size=%p pa=%p perm=0x%x\n", (uint64)(pt), \
         (uint64)(va), (uint64)(size), (uint64)(pa), (int)(perm))
#define XV6VM_UNMAP(pt, va, npages, dofree) \
  printf("@T unmap pt=%p va=%p npages=%d free=%d\n", (uint64)(pt), \
         (uint64)(va), (int)(npages), (int)(dofree))
#define XV6VM_FREEWALK(pt) \
  printf("@T freewalk pt=%p\n", (uint64)(pt))
// lab solutions: recursive free of a per-process kernel page table
#define XV6VM_KVM_FREE_KPT(pt) \
  printf("@T kvm_free_kernelpgtbl pt=%p\n", (uint64)(pt))

// ---- satp -------------------------------------------------------------
#define XV6VM_SATP_KVMINITHART(root) \
  printf("@T satp pa=%p by=kvminithart\n", (uint64)(root))
#define XV6VM_SATP_SCHED(root, pid) \
  printf("@T satp pa=%p by=scheduler pid=%d\n", (uint64)(root), (int)(pid))

// ---- processes --------------------------------------------------------
#define XV6VM_ALLOCPROC(pid)  printf("@T allocproc pid=%d\n", (int)(pid))
#define XV6VM_FREEPROC(pid)   printf("@T freeproc pid=%d\n", (int)(pid))
#define XV6VM_FORK(parent, child) \
  printf("@T fork parent=%d child=%d\n", (int)(parent), (int)(child))
#define XV6VM_EXEC(pid, path, sz) \
  printf("@T exec pid=%d path=%s sz=%p\n", (int)(pid), (char*)(path), (uint64)(sz))
#define XV6VM_EXECFAIL(pid, path) \
  printf("@T execfail pid=%d path=%s\n", (int)(pid), (char*)(path))
#define XV6VM_GROWPROC(pid, n, oldsz) \
  printf("@T growproc pid=%d n=%d sz=%p\n", (int)(pid), (int)(n), (uint64)(oldsz))
#define XV6VM_EXIT(pid, status) \
  printf("@T exit pid=%d status=%d\n", (int)(pid), (int)(status))
#define XV6VM_WAIT(pid, reaped) \
  printf("@T wait pid=%d reaped=%d\n", (int)(pid), (int)(reaped))

// ---- scheduling -------------------------------------------------------
#define XV6VM_SWTCH_TO(pid)   printf("@T swtch to=%d\n", (int)(pid))
#define XV6VM_SWTCH_FROM(pid) printf("@T swtch from=%d\n", (int)(pid))

// ---- the copy-on-write and lazy labs (docs/check-your-kernel.md) ------
// scause printed as 0x%x (xv6's %x prints no 0x of its own); va as it is.
#define XV6VM_PAGEFAULT(pid, scause, va) \
  printf("@T pagefault pid=%d scause=0x%x va=%p\n", (int)(pid), (int)(scause), \
         (uint64)(va))
#define XV6VM_COPYOUT(pid, pt, va, len) \
  printf("@T copyout pid=%d pt=%p va=%p len=%d\n", (int)(pid), (uint64)(pt), \
         (uint64)(va), (int)(len))
#define XV6VM_COPYIN(pid, pt, va, len) \
  printf("@T copyin pid=%d pt=%p va=%p len=%d\n", (int)(pid), (uint64)(pt), \
         (uint64)(va), (int)(len))
#define XV6VM_COPYINSTR(pid, pt, va, max) \
  printf("@T copyinstr pid=%d pt=%p va=%p max=%d\n", (int)(pid), (uint64)(pt), \
         (uint64)(va), (int)(max))
// n: the count after the change. A drop that reaches zero prints kfree instead.
#define XV6VM_REFINC(pa, n) \
  printf("@T refinc pa=%p n=%d\n", (uint64)(pa), (int)(n))
#define XV6VM_REFDEC(pa, n) \
  printf("@T refdec pa=%p n=%d\n", (uint64)(pa), (int)(n))
// sz: the old p->sz, before anything changes.
#define XV6VM_SBRK(pid, n, oldsz) \
  printf("@T sbrk pid=%d n=%d sz=%p\n", (int)(pid), (int)(n), (uint64)(oldsz))

#endif // XV6VM_PROBE_H
