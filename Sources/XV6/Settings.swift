/// The kernel's design choices, in one place. A variant is a named preset of
/// these; a scenario picks a preset and may override single settings. Each
/// setting changes exactly the behaviour its description names.
public struct KernelSettings: Equatable, Sendable {
    /// How freeproc disposes of a process's kernel page table.
    public enum FreeKernelPagetable: String, CaseIterable, Sendable {
        /// Recursively free every table page, never the leaves' pages (pgtbl-lab's kvm_free_kernelpgtbl).
        case recursive
        /// kfree the root page only: the lower-level tables leak.
        case rootOnly = "root-only"
        /// Never free it.
        case none
        /// Unmap the direct map, the trampoline and the kernel stack, then freewalk (seed-003's proc_free_kernel_pagetable).
        case unmapThenFreewalk = "unmap-then-freewalk"
        /// The same, and the user mirror [0, sz) unmapped before the kernel stack.
        case unmapAllThenFreewalk = "unmap-all-then-freewalk"
        /// proc_freepagetable(kpt, 0): unmap the trampoline and the trapframe, then freewalk,
        /// after freeproc has unmapped and freed the kernel stack.
        case procFreepagetable = "proc-freepagetable"
    }

    /// How user mappings are copied into a process's kernel page table.
    public enum MirrorUserMappings: String, CaseIterable, Sendable {
        /// kvmcopymappings: mappages of each page without PTE_U; fails cleanly when memory runs out.
        case kvmcopymappings
        /// A loop of walk(alloc=1) that stores the user PTE without PTE_U, unchecked (seed-003).
        case walkCopy = "walk-copy"
        /// Not at all: the kernel table has no user memory.
        case none
        /// Inside uvminit, uvmalloc, uvmcopy and uvmdealloc: each page mapped into the user
        /// table, then with mappages into the kernel table, perm without PTE_U.
        case inUvm = "in-uvm"
        /// The same, but uvminit and uvmalloc map the kernel table's pages PTE_R only, uvmcopy
        /// passes the flags without U, W and X, and a shrink unmaps the kernel table first.
        case inUvmRead = "in-uvm-read"
    }

    /// Which kernel table exec mirrors the new image into.
    public enum ExecKernelTable: String, CaseIterable, Sendable {
        /// The process's own, kept across exec.
        case keep
        /// A fresh one, built (with the kernel stack mapped into it) before exec looks the
        /// program up; at the commit it replaces the old one, which is freed recursively.
        case freshFirst = "fresh-first"
        /// A fresh one built right after exec's user table; the kernel stack is mapped into it
        /// just before the commit, and the old one is freed the way freeproc frees one.
        case freshAfterUserTable = "fresh-after-user-table"
    }

    /// How the kernel stack is mapped at KSTACK(0).
    public enum KstackMapping: String, CaseIterable, Sendable {
        /// kvmmap(kpt, KSTACK(0), pa, PGSIZE, PTE_R|PTE_W): panics on failure.
        case kvmmap
        /// mappages(kpt, KSTACK(0), pa, PGSIZE, ...) with size and pa swapped, result ignored (seed-003).
        case mappagesSwapped = "mappages-swapped"
        /// mappages(kpt, KSTACK(0), PGSIZE, pa, ...), result ignored.
        case mappages
    }

    /// How kvminit builds the global kernel table when each process has its own.
    public enum KernelTableLayout: String, CaseIterable, Sendable {
        /// The per-process builder (without CLINT), then CLINT mapped last (pgtbl-lab's kvminit).
        case clintLast = "clint-last"
        /// The stock kvminit, unchanged: CLINT third, between VIRTIO0 and PLIC.
        case stock
        /// The stock kvminit without CLINT (the kernel never touches CLINT in supervisor mode).
        case noClint = "no-clint"
    }

    /// How freeproc frees the kernel stack page of a per-process kernel table.
    public enum KstackFree: String, CaseIterable, Sendable {
        /// kfree of the page that kvmpa (or walk) finds: the PTE stays.
        case kfree
        /// uvmunmap(kpt, kstack, 1, 1): the PTE is cleared and the page freed.
        case uvmunmap
    }

    /// What a process's kernel table is made of.
    public enum ProcessKernelTable: String, CaseIterable, Sendable {
        /// A whole table of its own: devices, kernel, trampoline, and its kernel stack (pgtbl-lab).
        case copy
        /// A root of its own whose entries 1-511 are the global table's (kernel, trampoline and
        /// procinit's kernel stacks, shared), and devices mapped in tables of its own; freed by
        /// freeing the level-0 tables under entry 0, its level-1 table and the root.
        case shareRoot = "share-root"
    }

    /// Where a walk-and-copy mirror follows sbrk.
    public enum MirrorIn: String, CaseIterable, Sendable {
        /// sys_sbrk, after growproc, with int loops (seed-003).
        case sysSbrk = "sys_sbrk"
        /// growproc, after uvmalloc or uvmdealloc: [oldsz, newsz) copied; a shrink copies nothing.
        case growproc
    }

    /// When exec prints the new user page table with vmprint.
    public enum ExecVmprint: String, CaseIterable, Sendable {
        case none
        /// Only for pid 1, as the lab's handout asks.
        case pid1
        /// On every exec.
        case all
    }

    /// Where copyin and copyinstr read user memory.
    public enum CopyinPath: String, CaseIterable, Sendable {
        /// Walk the user page table in software (walkaddr), as the stock kernel does.
        case software
        /// copyin_new/copyinstr_new: dereference the user address through the MMU and the process's kernel table.
        case mmu
    }

    /// A per-process kernel page table (the lab's change); off: one global table.
    public var perProcessKernelPagetable = false
    /// Whether a failed mapping while building a kernel table panics (kvmmap) or is ignored (bare mappages).
    public var kernelTableChecked = true
    /// Whether CLINT is mapped in each per-process kernel table (it collides with user memory above 32 MiB).
    public var clintInProcessTable = false
    public var kstackMapping: KstackMapping = .kvmmap
    public var kernelTableLayout: KernelTableLayout = .clintLast
    /// Whether the kernel stack sits at KSTACK(slot) in the process's kernel table rather than KSTACK(0).
    public var kstackAtSlot = false
    /// Whether allocproc maps the kernel stack into the global kernel table too (kvmmap, before
    /// the process's table), and freeproc unmaps it from there.
    public var kstackInGlobalTable = false
    /// Whether a process's kernel table maps TRAPFRAME to its trapframe, as its user table does.
    public var processTableMapsTrapframe = false
    /// Whether freewalk frees a table at its first leaf instead of panicking "freewalk: leaf".
    public var freewalkStopsAtLeaf = false
    public var kstackFree: KstackFree = .kfree
    public var processKernelTable: ProcessKernelTable = .copy
    public var mirrorIn: MirrorIn = .sysSbrk
    /// Whether a shrinking sbrk unmaps the shrunk pages from the kernel table's mirror.
    public var shrinkUnmapsMirror = true
    /// Whether the walk-and-copy mirror clears W and X as well as U (only copyin reads it).
    public var mirrorReadOnly = false
    /// Whether the log's fork line comes before the child's mirror is made (the probe placed
    /// as the kit's first text said): import only.
    public var forkMirrorAfterProbe = false
    /// Whether allocproc builds the kernel table (and stack) before the user table, not after.
    public var kernelTableBeforeUserTable = false
    /// Whether freeproc frees the kernel table (and stack) before the user table, not after.
    public var kernelTableFreedFirst = false
    /// Whether exec mirrors the new image into the kernel table after freeing the old image.
    public var execMirrorsAfterFree = false
    public var freeKernelPagetable: FreeKernelPagetable = .recursive
    /// Whether freeproc frees the kernel stack page.
    public var freeKernelStack = true
    /// Whether the scheduler loads the global kernel table again after the process gives up the CPU.
    public var schedulerSwitchBack = true
    /// Whether the scheduler's idle loop loads the global table (kvminithart) whenever it finds
    /// nothing to run: a satp write at places only timing decides, which replay cannot compare.
    public var schedulerIdleKvminithart = false
    /// Whether the scheduler runs sfence.vma after writing the process's kernel table into satp.
    public var schedulerSfence = true
    /// Whether the trampoline runs sfence.vma after each satp write (entering and leaving user space).
    public var trampolineSfence = true
    /// Whether exec refuses an image that reaches PLIC (checked after uvmalloc, before sz is updated, as the lab wrote it).
    public var execPlicCheck = false
    /// Whether growproc refuses to grow to PLIC or beyond.
    public var growprocPlicCheck = false
    /// Whether sys_sbrk refuses, before growproc, to grow the process to PLIC or beyond.
    public var sbrkPlicCheck = false
    /// Whether exec unmaps the old image's mirror from the process's kernel table before
    /// mirroring the new one; false leaves entries above the new size pointing at freed pages.
    public var execUnmapsOldMirror = true
    public var mirrorUserMappings: MirrorUserMappings = .kvmcopymappings
    public var execKernelTable: ExecKernelTable = .keep
    /// Whether exec frees the fresh kernel table it built when the program does not exist.
    public var execMissingFreesKernelTable = true
    public var copyin: CopyinPath = .software
    public var execVmprint: ExecVmprint = .none
    /// Whether kinit prints "PHYSTOP is ..." on the console (a debugging line left in the pgtbl-lab solution).
    public var kinitPrintsPhystop = false
    /// The copy-on-write lab: a reference count per page, fork sharing pages read-only with the
    /// COW bit, usertrap copying a shared page on a store fault, copyout copying first.
    public var copyOnWrite = false
    public var cowMarks: CowMarks = .writable
    public var cowCopyoutCheck: CowCopyoutCheck = .everyPage
    public var cowCheckTable: CowCheckTable = .current
    public var cowFaultMap: CowFaultMap = .vaSize1
    public var cowFaultCopy: CowFaultCopy = .shared
    public var cowCountDrop: CowCountDrop = .kfree
    /// Whether fork's uvmcopy raises a shared page's count before mapping it into the child
    /// (its refinc line then comes before the map's table pages); false: after.
    public var cowRefincBeforeMap = false
    /// The lazy-allocation lab: sbrk only moves sz (a shrink unmaps at once), a page is made
    /// when first touched, uvmunmap and uvmcopy skip pages never made.
    public var lazyAllocation = false
    public var lazyCopyCheck: LazyCopyCheck = .firstPage
    /// Failure injection: the N-th kalloc of the run (counting from 1, boot included) returns 0; 0 for none.
    public var failKalloc = 0

    public init() {}

    // MARK: presets

    /// The stock 2020 lab kernel: one global kernel page table, kernel stacks mapped by procinit.
    public static let xv6_2020 = KernelSettings()

    /// The solution on branch `pgtbl` of Miigon/my-xv6-labs-2020 (seed 000).
    public static let pgtblLab: KernelSettings = {
        var s = KernelSettings()
        s.perProcessKernelPagetable = true
        s.execPlicCheck = true
        s.copyin = .mmu
        s.execVmprint = .all
        s.kinitPrintsPhystop = true
        return s
    }()

    /// The second seed's solution, as written.
    public static let seed003: KernelSettings = {
        var s = pgtblLab
        s.kernelTableChecked = false
        s.kstackMapping = .mappagesSwapped
        s.freeKernelPagetable = .unmapThenFreewalk
        s.mirrorUserMappings = .walkCopy
        s.execVmprint = .pid1
        s.kinitPrintsPhystop = false
        return s
    }()

    public struct Preset: Sendable {
        public let name: String
        public let settings: KernelSettings
        public let summary: String
        /// The kernel image the variant's build has (the COW lab's count array moves `end`).
        public var image: KernelImage = .lab2020
    }

    public static let presets: [Preset] = [
        Preset(name: "xv6-2020", settings: xv6_2020, summary: "the stock 2020 lab kernel: one global kernel page table"),
        Preset(name: "pgtbl-lab", settings: pgtblLab, summary: "a kernel page table per process, copyin through the MMU (Miigon's pgtbl solution, seed 000)"),
        Preset(name: "seed-003", settings: seed003, summary: "the second seed's solution as written, mistakes included"),
        Preset(name: "cow-lab", settings: cowLab, summary: "copy-on-write fork with a count per page (Miigon's cow solution, c119f03)",
               image: .cow2020),
        Preset(name: "cow-3e4542e", settings: cowLab3e4542e,
               summary: "cow-lab as at 3e4542e, its parent: uvmcopy marks every page COW, copyout checks only its first page",
               image: .cow2020),
        Preset(name: "lazy-lab", settings: lazyLab, summary: "lazy page allocation: sbrk moves sz, a fault makes the page (Miigon's lazy solution, 9397371)",
               image: .lazy2020),
    ]

    public static func preset(named name: String) -> KernelSettings? { presets.first { $0.name == name }?.settings }

    /// The image of the variant `name`'s build.
    public static func image(named name: String) -> KernelImage? { presets.first { $0.name == name }?.image }

    // MARK: the catalogue

    /// One setting: its key, its values, what it means, and how to read and write it.
    public struct Setting: Sendable {
        public let key: String
        public let values: [String]
        public let meaning: String
        /// What the rest of the kernel must be for this setting to act at all; nil: it always can.
        public var needs: Requirement? = nil
        /// Where it lies in `KernelSettings`, so that a kernel can tell whether it was read.
        package let offset: Int
        let get: @Sendable (KernelSettings) -> String
        let set: @Sendable (inout KernelSettings, String) -> Bool

        /// Its value in `s`, as scenarios write it.
        public func value(in s: KernelSettings) -> String { get(s) }
    }

    /// What a setting needs of the others before it can change anything.
    public struct Requirement: Sendable {
        /// In words, with the setting that provides it: `a per-process kernel page table (...)`.
        public let text: String
        public let holds: @Sendable (KernelSettings) -> Bool

        /// The variants whose presets provide it, in `presets` order.
        public var variants: [String] { KernelSettings.presets.filter { holds($0.settings) }.map(\.name) }
    }

    static let perProcess = Requirement(
        text: "a per-process kernel page table (per_process_kernel_pagetable: true)",
        holds: { $0.perProcessKernelPagetable })

    static let cow = Requirement(
        text: "the copy-on-write lab (copy_on_write: true)",
        holds: { $0.copyOnWrite })

    static let lazy = Requirement(
        text: "the lazy-allocation lab (lazy_allocation: true)",
        holds: { $0.lazyAllocation })

    static func offset<T>(_ path: KeyPath<KernelSettings, T>) -> Int { MemoryLayout<KernelSettings>.offset(of: path) ?? -1 }

    static func flag(_ key: String, _ meaning: String, _ path: WritableKeyPath<KernelSettings, Bool> & Sendable,
                     needs: Requirement? = nil) -> Setting {
        Setting(key: key, values: ["true", "false"], meaning: meaning, needs: needs, offset: offset(path),
                get: { $0[keyPath: path] ? "true" : "false" },
                set: { s, v in
                    switch v { case "true", "yes", "on": s[keyPath: path] = true; return true
                    case "false", "no", "off": s[keyPath: path] = false; return true
                    default: return false }
                })
    }

    static func choice<E: RawRepresentable & CaseIterable & Sendable>(_ key: String, _ meaning: String,
                                                           _ path: WritableKeyPath<KernelSettings, E> & Sendable,
                                                           needs: Requirement? = nil) -> Setting
        where E.RawValue == String {
        Setting(key: key, values: E.allCases.map(\.rawValue), meaning: meaning, needs: needs, offset: offset(path),
                get: { $0[keyPath: path].rawValue },
                set: { s, v in
                    guard let e = E(rawValue: v) else { return false }
                    s[keyPath: path] = e
                    return true
                })
    }

    /// Every setting, in the order traces list them.
    public static let catalogue: [Setting] = [
        flag("per_process_kernel_pagetable", "each process gets its own kernel page table and a kernel stack at KSTACK(0), loaded by the scheduler", \.perProcessKernelPagetable),
        flag("kernel_table_checked", "building a kernel table panics (kvmmap) when a mapping fails; false: bare mappages, failures ignored", \.kernelTableChecked, needs: perProcess),
        flag("clint_in_process_table", "CLINT is mapped in per-process kernel tables too (it then collides with user memory above 0x2000000)", \.clintInProcessTable, needs: perProcess),
        choice("kstack_mapping", "how allocproc maps the kernel stack at KSTACK(0)", \.kstackMapping, needs: perProcess),
        choice("kernel_table_layout", "the global kernel table when each process has its own: built like a process's, then CLINT; the stock kvminit's order; or that order without CLINT", \.kernelTableLayout, needs: perProcess),
        flag("kstack_in_global_table", "allocproc maps the kernel stack into the global kernel table too (before the process's), and freeproc unmaps it there", \.kstackInGlobalTable, needs: perProcess),
        flag("process_table_maps_trapframe", "a process's kernel table maps TRAPFRAME to its trapframe, as its user table does", \.processTableMapsTrapframe, needs: perProcess),
        flag("freewalk_stops_at_leaf", "freewalk frees a table at its first leaf instead of panicking \"freewalk: leaf\"", \.freewalkStopsAtLeaf),
        flag("kstack_at_slot", "the kernel stack sits at KSTACK(slot), the process's index, in its kernel table; false: KSTACK(0)", \.kstackAtSlot, needs: perProcess),
        choice("process_kernel_table", "what a process's kernel table is: a whole copy, or a root of its own sharing the global table's entries 1-511", \.processKernelTable, needs: perProcess),
        choice("mirror_in", "where a walk-copy mirror follows sbrk: sys_sbrk, or growproc (a shrink copies nothing there)", \.mirrorIn, needs: perProcess),
        flag("shrink_unmaps_mirror", "a shrinking sbrk unmaps the shrunk pages from the kernel table's mirror", \.shrinkUnmapsMirror, needs: perProcess),
        flag("mirror_read_only", "the walk-copy mirror clears W and X as well as U", \.mirrorReadOnly, needs: perProcess),
        flag("fork_mirror_after_probe", "the log's fork line comes before the child's mirror is made (import only)", \.forkMirrorAfterProbe, needs: perProcess),
        flag("allocproc_kernel_table_first", "allocproc builds the kernel table and stack before the user table (after the trapframe)", \.kernelTableBeforeUserTable, needs: perProcess),
        flag("freeproc_kernel_table_first", "freeproc frees the kernel table and stack before the user table (after the trapframe)", \.kernelTableFreedFirst, needs: perProcess),
        flag("exec_mirrors_after_free", "exec mirrors the new image into the kernel table after it frees the old image", \.execMirrorsAfterFree, needs: perProcess),
        choice("kstack_free", "how freeproc frees the kernel stack page: kfree of what kvmpa finds, or uvmunmap(kpt, kstack, 1, 1)", \.kstackFree, needs: perProcess),
        choice("free_kernel_pagetable", "how freeproc frees the process's kernel page table", \.freeKernelPagetable, needs: perProcess),
        flag("free_kernel_stack", "freeproc frees the kernel stack page", \.freeKernelStack, needs: Requirement(
            text: "a per-process kernel page table, with a stack of its own, that freeproc frees itself (per_process_kernel_pagetable: true, "
                + "process_kernel_table: copy, free_kernel_pagetable other than unmap-then-freewalk or unmap-all-then-freewalk, "
                + "which unmap the stack their own way)",
            holds: { $0.perProcessKernelPagetable && $0.processKernelTable == .copy
                && $0.freeKernelPagetable != .unmapThenFreewalk && $0.freeKernelPagetable != .unmapAllThenFreewalk })),
        flag("scheduler_switch_back", "the scheduler loads the global kernel table when the process gives up the CPU", \.schedulerSwitchBack, needs: perProcess),
        flag("scheduler_idle_kvminithart", "the scheduler's idle loop loads the global table whenever it finds nothing to run (replay ignores kvminithart writes after boot)", \.schedulerIdleKvminithart, needs: perProcess),
        flag("scheduler_sfence", "the scheduler runs sfence.vma after loading the process's kernel table into satp", \.schedulerSfence, needs: perProcess),
        flag("trampoline_sfence", "the trampoline runs sfence.vma after each satp write on the way into and out of user space", \.trampolineSfence),
        flag("exec_plic_check", "exec returns -1 when the image reaches PLIC (0x0c000000)", \.execPlicCheck),
        flag("growproc_plic_check", "growproc returns -1 when the process would grow to PLIC or beyond", \.growprocPlicCheck),
        flag("sbrk_plic_check", "sys_sbrk returns -1, before growproc, when the process would grow to PLIC or beyond", \.sbrkPlicCheck),
        flag("exec_unmaps_old_mirror", "exec unmaps the old image's mirror from the process's kernel table before mirroring the new one", \.execUnmapsOldMirror, needs: perProcess),
        choice("mirror_user_mappings", "how user mappings are copied into the kernel table (userinit, fork, exec, sbrk)", \.mirrorUserMappings, needs: perProcess),
        choice("exec_kernel_table", "which kernel table exec mirrors the new image into: the process's, or a fresh one built before the program is looked up", \.execKernelTable, needs: perProcess),
        flag("exec_missing_frees_kernel_table", "exec frees its fresh kernel table when the program does not exist", \.execMissingFreesKernelTable, needs: perProcess),
        choice("copyin", "where copyin/copyinstr read user memory", \.copyin, needs: Requirement(
            text: "for mmu, a per-process kernel page table that mirrors user memory (per_process_kernel_pagetable: true)",
            holds: { $0.copyin == .software || $0.perProcessKernelPagetable })),
        choice("exec_vmprint", "when exec prints the new page table with vmprint", \.execVmprint),
        flag("kinit_prints_phystop", "kinit prints \"PHYSTOP is ...\" on the console", \.kinitPrintsPhystop),
        flag("copy_on_write", "a count per page; fork shares pages read-only with the COW bit (0x100); a store fault or copyout copies a shared page", \.copyOnWrite),
        choice("cow_uvmcopy_marks", "which pages fork's uvmcopy makes read-only and COW: those with W, or every page", \.cowMarks, needs: cow),
        choice("cow_copyout_check", "which pages copyout checks for COW and copies before writing: each page, or the first only", \.cowCopyoutCheck, needs: cow),
        choice("cow_check_table", "whose table copyout's COW check and copy use: the current process's, or the one copyout was given", \.cowCheckTable, needs: cow),
        choice("cow_fault_map", "how the COW copy maps the page again: mappages of the faulting va with size 1, of the whole page, by writing the PTE in place, or by uvmunmap of the old page and writing the PTE", \.cowFaultMap, needs: cow),
        choice("cow_count_drop", "where a page's count is lowered: in kfree, or in uvmunmap (kfree then frees only a page whose count is already zero)", \.cowCountDrop, needs: cow),
        choice("cow_fault_copy", "when the COW copy copies: only a page another process still holds, or always (the old page's count lowered, freed at zero)", \.cowFaultCopy, needs: cow),
        flag("cow_refinc_before_map", "fork's uvmcopy raises each shared page's count before mapping it into the child, not after", \.cowRefincBeforeMap, needs: cow),
        flag("lazy_allocation", "sbrk only moves sz (a shrink unmaps at once); a fault below sz makes the page; uvmunmap and uvmcopy skip pages never made", \.lazyAllocation),
        choice("lazy_copy_check", "where copyin and copyout make a lazy page: at the first address only, or at each page", \.lazyCopyCheck, needs: lazy),
        Setting(key: "fail_kalloc", values: ["N"], meaning: "failure injection: the N-th kalloc of the run (from 1, boot included) returns 0; 0 for none",
                offset: offset(\.failKalloc),
                get: { String($0.failKalloc) },
                set: { s, v in
                    guard let n = Int(v), n >= 0 else { return false }
                    s.failKalloc = n
                    return true
                }),
    ]

    /// Sets `key` to `value`; nil on success, else what is wrong.
    public mutating func set(_ key: String, _ value: String) -> String? {
        guard let s = Self.catalogue.first(where: { $0.key == key }) else { return "unknown setting '\(key)'" }
        return s.set(&self, value) ? nil : "setting '\(key)' takes one of: \(s.values.joined(separator: ", ")); got '\(value)'"
    }

    /// The settings that differ from `preset` but cannot act, because what they need is not
    /// there (a per-process kernel table setting under xv6-2020), in catalogue order.
    public func inert(comparedTo preset: KernelSettings) -> [Setting] {
        Self.catalogue.filter { s in
            guard let needs = s.needs else { return false }
            return s.get(self) != s.get(preset) && !needs.holds(self)
        }
    }

    /// Why each inert setting does nothing, one sentence each: under `variant` (its name),
    /// what it needs and which variants have it.
    public func inertProblems(comparedTo preset: KernelSettings, variant: String) -> [(key: String, problem: String)] {
        inert(comparedTo: preset).map { s in
            let needs = s.needs!
            let have = needs.variants
            let which = have.isEmpty ? "" : ", which \(have.joined(separator: " and ")) \(have.count == 1 ? "has" : "have")"
            // Under the variant itself, or because another setting took away what it needs.
            let under = needs.holds(preset) ? "with the settings given" : "under \(variant)"
            return (s.key, "\(s.key): \(s.get(self)) does nothing \(under): it needs \(needs.text)\(which)")
        }
    }

    /// Every setting and its value, in catalogue order.
    public var listed: [(key: String, value: String)] { Self.catalogue.map { ($0.key, $0.get(self)) } }
}
