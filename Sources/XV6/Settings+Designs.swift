/// Which settings are a student's harmless design choice and which model a bug: what
/// `replay --suggest` may choose on its own, and what it may only point at.
extension KernelSettings {
    /// What a setting's value says about a kernel that behaves that way.
    public enum Nature: Equatable, Sendable {
        /// A choice the lab leaves open: the kernel is right either way.
        case design
        /// A mistake, and what it does to the kernel.
        case bug(String)
        /// Not a design of the kernel at all (the variant, failure injection), or nothing a
        /// probe line can show (sfence.vma, the console, how copyin reads): never suggested.
        case unseen
    }

    /// The nature of `value` for the setting `key`.
    public static func nature(_ key: String, _ value: String) -> Nature {
        switch (key, value) {
        case ("per_process_kernel_pagetable", _), ("fail_kalloc", _), ("scheduler_sfence", _), ("trampoline_sfence", _),
             ("copyin", _), ("exec_vmprint", _), ("kinit_prints_phystop", _), ("copy_on_write", _),
             ("lazy_allocation", _):
            return .unseen
        case ("kernel_table_checked", "false"):
            return .bug("ignores a mapping that fails while it builds a kernel table")
        case ("clint_in_process_table", "true"):
            return .bug("maps CLINT in each process's kernel table, where user memory above 0x2000000 collides with it")
        case ("kstack_mapping", "mappages-swapped"):
            return .bug("passes the kernel stack's size and address to mappages swapped")
        case ("free_kernel_pagetable", "root-only"):
            return .bug("frees only the root of the process's kernel table: the table pages below it leak")
        case ("free_kernel_pagetable", "none"):
            return .bug("never frees the process's kernel table: all its pages leak")
        case ("free_kernel_pagetable", "unmap-then-freewalk"):
            return .bug("unmaps the kernel's mappings and calls freewalk, which panics on the mirrored user pages")
        case ("free_kernel_stack", "false"):
            return .bug("never frees the kernel stack page: one page leaks per process")
        case ("exec_unmaps_old_mirror", "false"):
            return .bug("leaves the old image's mirror in the process's kernel table: stale mappings to freed pages")
        case ("shrink_unmaps_mirror", "false"):
            return .bug("leaves a shrunk sbrk's pages in the kernel table's mirror: stale mappings to freed pages")
        case ("exec_missing_frees_kernel_table", "false"):
            return .bug("builds a fresh kernel table before exec looks the program up, and leaks all its pages when the program does not exist")
        case ("cow_uvmcopy_marks", "every-page"):
            return .bug("makes read-only pages COW too: a store to one is copied and made writable")
        case ("cow_count_drop", "uvmunmap"):
            return .bug("lowers counts in uvmunmap, and its kfree frees only a page whose count is already zero: a page freed any other way (a page-table page, exec's argument page) is never freed")
        case ("cow_copyout_check", "first-page"):
            return .bug("checks only the first page copyout writes: a later page still shared is written in place, under another process")
        case ("lazy_copy_check", "first-page"):
            return .bug("makes a lazy page only where a copy starts: a copy reaching a later page never touched fails there")
        case ("mirror_read_only", _):
            return .unseen
        case ("mirror_user_mappings", "none"):
            return .bug("never copies the user mappings into the process's kernel table")
        default:
            return .design
        }
    }

    /// The values of `setting` other than `current`, in catalogue order, with their nature.
    public static func alternatives(_ setting: Setting, to current: String) -> [(value: String, nature: Nature)] {
        setting.values.filter { $0 != current && $0 != "N" }.map { ($0, nature(setting.key, $0)) }
    }
}
