/// The settings of the labs that follow the page-table lab: copy-on-write fork and lazy
/// allocation. Their fields are in `KernelSettings` with the others; their choices and
/// presets are here.
extension KernelSettings {
    /// Which pages the copy-on-write lab's uvmcopy makes shared and read-only.
    public enum CowMarks: String, CaseIterable, Sendable {
        /// Only pages with PTE_W lose it and get the COW bit; others are shared as they are (c119f03).
        case writable
        /// Every page loses PTE_W and gets the COW bit, read-only ones too (3e4542e).
        case everyPage = "every-page"
    }

    /// Which destination pages copyout checks, and copies first, when they are COW.
    public enum CowCopyoutCheck: String, CaseIterable, Sendable {
        /// Each page of the copy, in its loop (c119f03).
        case everyPage = "every-page"
        /// Only the page of the first destination byte, before the loop (3e4542e).
        case firstPage = "first-page"
    }

    /// Whose page table copyout's COW check (and copy) reads.
    public enum CowCheckTable: String, CaseIterable, Sendable {
        /// The current process's table and sz, whatever table copyout was given (c119f03).
        case current
        /// The table copyout was given (the process's sz still bounds it).
        case given
    }

    /// How the COW copy routine maps the page it made writable again.
    public enum CowFaultMap: String, CaseIterable, Sendable {
        /// mappages(pt, va, 1, ...) with the faulting address as it is, size 1 (c119f03).
        case vaSize1 = "va-size-1"
        /// mappages(pt, PGROUNDDOWN(va), PGSIZE, ...).
        case page
        /// No unmap and no mappages: the new PTE is written in place (whileskies' cow).
        case pte
        /// uvmunmap(pt, va, 1, 1) of the old page (its count dropped there, and the page freed
        /// when that makes it zero), then the new PTE written in place (pkuflyingpig's cow).
        case unmapThenPTE = "unmap-then-pte"
    }

    /// Where a page's reference count is lowered.
    public enum CowCountDrop: String, CaseIterable, Sendable {
        /// In kfree, which frees the page when the count reaches zero (c119f03).
        case kfree
        /// In uvmunmap, for every page it unmaps; kfree then frees only a page whose count is
        /// already zero, so a page freed any other way (a page-table page, exec's argument
        /// page) is never freed (pkuflyingpig's cow, c6fb225).
        case uvmunmap
    }

    /// When the COW copy routine copies a shared page.
    public enum CowFaultCopy: String, CaseIterable, Sendable {
        /// Only when another process still holds it (count above 1); a page held by one
        /// process alone is made writable where it is (c119f03).
        case shared
        /// Always: a new page, the old one's count lowered (and freed when that makes it
        /// zero) (whileskies' cow).
        case always
    }

    /// Which addresses copyin and copyout make lazy pages at.
    public enum LazyCopyCheck: String, CaseIterable, Sendable {
        /// The first address only, before the loop (9397371): a later untouched page fails the copy.
        case firstPage = "first-page"
        /// Each page the copy reaches.
        case everyPage = "every-page"
    }

    /// The solution on branch `cow` of Miigon/my-xv6-labs-2020 at c119f03.
    public static let cowLab: KernelSettings = {
        var s = KernelSettings()
        s.copyOnWrite = true
        return s
    }()

    /// Its parent, 3e4542e: the two bugs c119f03 fixed.
    public static let cowLab3e4542e: KernelSettings = {
        var s = cowLab
        s.cowMarks = .everyPage
        s.cowCopyoutCheck = .firstPage
        return s
    }()

    /// The solution on branch `lazy` of Miigon/my-xv6-labs-2020 at 9397371.
    public static let lazyLab: KernelSettings = {
        var s = KernelSettings()
        s.lazyAllocation = true
        return s
    }()
}
