// SPDX-License-Identifier: MIT
/*
 * userfaultfd registration, as far as PMD sharing is concerned: a range
 * registered for write-protect tracking must not share page tables, since
 * the uffd-wp bits live in the entries and are per mm
 * (uffd_disable_huge_pmd_share()), so registration unshares them all.
 */
#include <errno.h>

#include "mm/internal.h"

int hw_uffd_register_wp(struct hw_mm *mm, uint64_t addr, uint64_t len)
{
	unsigned long start = addr, end = addr + len;
	struct vm_area_struct *vma;
	int err;

	if (!len || (start & ~HPAGE_MASK) || (end & ~HPAGE_MASK) ||
	    end < start || end > TASK_SIZE)
		return -EINVAL;
	down_write(&mm->mmap_lock);
	err = -EINVAL;
	if (!range_fully_mapped(mm, start, end))
		goto out;
	err = split_range(mm, start, end);
	if (err)
		goto out;
	for (vma = vma_lookup(mm, start); vma && vma->vm_start < end;
	     vma = vma_next(vma)) {
		i_mmap_lock_write(vma_mapping(vma));
		WRITE_ONCE(vma->vm_flags, vma->vm_flags | VM_UFFD_WP);
		i_mmap_unlock_write(vma_mapping(vma));
		hugetlb_unshare_all_pmds(vma);
	}
out:
	up_write(&mm->mmap_lock);
	return err;
}
