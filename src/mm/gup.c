// SPDX-License-Identifier: MIT
/*
 * get_user_pages, slow path, as far as MADV_POPULATE_* needs it: walk
 * each huge page through follow_hugetlb_page()'s call site, fault in
 * what is missing or not writable, and walk again.
 *
 * Invariants kept:
 *  - the walk of each page runs under what the policy gives the
 *    follow_hugetlb_page site, and the walker drops it before faulting
 *    (a fault takes the vma lock itself);
 *  - a page is done when its entry is present and, for a write, writable.
 */
#include <errno.h>

#include "mm/internal.h"

/*
 * follow_hugetlb_page() for one page: is @addr mapped (writably, if
 * @write) in @vma?
 */
static bool follow_hugetlb_page(struct vm_area_struct *vma,
				unsigned long addr, bool write)
{
	unsigned int taken;
	bool ok = false;
	pte_t *ptep, pte;

	taken = hugetlb_walk_begin(SITE_FOLLOW_HUGETLB_PAGE, vma);
	ptep = hugetlb_walk(vma, addr, HPAGE_SIZE);
	if (ptep) {
		pte = huge_ptep_get(ptep);
		ok = pte_present(pte) && (!write || huge_pte_write(pte));
	}
	hugetlb_walk_end(vma, taken);
	return ok;
}

/**
 * faultin_page_range() - populate [start, end) of @mm.
 * Context: mmap_lock (read).
 * Return: 0; -ENOMEM if part of the range is not mapped; -EFAULT if the
 * mapping forbids the access or a fault failed (SIGBUS).
 */
long faultin_page_range(struct hw_mm *mm, unsigned long start,
			unsigned long end, bool write)
{
	struct vm_area_struct *vma = NULL;
	unsigned long addr;
	unsigned int ret;

	lockdep_assert_held(&mm->mmap_lock);
	for (addr = start & HPAGE_MASK; addr < end; addr += HPAGE_SIZE) {
		if (!vma || addr >= vma->vm_end) {
			vma = vma_lookup(mm, addr);
			if (!vma)
				return -ENOMEM;
			if (!(vma->vm_flags & (write ? VM_WRITE : VM_READ)))
				return -EFAULT;
		}
		while (!follow_hugetlb_page(vma, addr, write)) {
			ret = handle_mm_fault(vma, addr,
					      FAULT_FLAG_GUP |
					      (write ? FAULT_FLAG_WRITE : 0));
			if (ret & VM_FAULT_ERROR)
				return -EFAULT;
		}
	}
	return 0;
}
