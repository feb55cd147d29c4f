// SPDX-License-Identifier: MIT
/*
 * madvise(2) for hugetlb VMAs: MADV_DONTNEED (unmaps and unshares),
 * MADV_REMOVE (punches the file), MADV_POPULATE_READ/WRITE (GUP).
 */
#include <errno.h>

#include "mm/internal.h"

/*
 * madvise_dontneed_free_valid_vma(): the start must be huge-page aligned;
 * the end is rounded down, so that a caller unaware of huge pages never
 * loses more than it asked for.
 */
static int dontneed_vma(struct vm_area_struct *vma, unsigned long start,
			unsigned long end)
{
	if (start & ~HPAGE_MASK)
		return -EINVAL;
	end &= HPAGE_MASK;
	if (start < end)
		hugetlb_zap_range(vma, start, end, 0);
	return 0;
}

static int madvise_dontneed(struct hw_mm *mm, unsigned long start,
			    unsigned long end)
{
	struct vm_area_struct *vma;
	unsigned long s, e;
	int err = 0;

	/*
	 * madvise_walk_vmas(): every VMA in the range is zapped, holes and
	 * all; a hole makes the call fail with ENOMEM, but only once the
	 * VMAs after it are done.  An error of a VMA's own stops the walk.
	 */
	down_read(&mm->mmap_lock);
	for (vma = find_vma(mm, start); vma && vma->vm_start < end && !err;
	     vma = vma_next(vma)) {
		s = start > vma->vm_start ? start : vma->vm_start;
		e = end < vma->vm_end ? end : vma->vm_end;
		err = dontneed_vma(vma, s, e);
	}
	if (!err && !range_fully_mapped(mm, start, end))
		err = -ENOMEM;
	up_read(&mm->mmap_lock);
	return err;
}

/*
 * madvise_remove(): a hole punch through each shared mapping of the
 * range, VMA by VMA (madvise_walk_vmas()), each punch with mmap_lock
 * dropped.  A VMA that may not write its file shared (MAP_PRIVATE: not
 * vma_is_shared_maywrite(); a MAP_SHARED mapping of a file opened
 * read-write may, even with PROT_READ only) stops the walk with EACCES;
 * a hole fails the call with ENOMEM once the VMAs after it are done.
 */
static int madvise_remove(struct hw_mm *mm, unsigned long start,
			  unsigned long end)
{
	const unsigned long maywrite = VM_SHARED | VM_MAYWRITE;
	unsigned long addr = start, s, e;
	struct vm_area_struct *vma;
	struct hw_file *file;
	uint64_t offset;
	bool hole = false;
	int err;

	while (addr < end) {
		down_read(&mm->mmap_lock);
		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start >= end) {
			up_read(&mm->mmap_lock);
			return -ENOMEM;
		}
		hole |= vma->vm_start > addr;
		s = vma->vm_start > addr ? vma->vm_start : addr;
		e = end < vma->vm_end ? end : vma->vm_end;
		if ((vma->vm_flags & maywrite) != maywrite) {
			up_read(&mm->mmap_lock);
			return -EACCES;
		}
		file = vma->vm_file;
		offset = (s - vma->vm_start) + (vma->vm_pgoff << PAGE_SHIFT);
		file_get(file);
		/* The punch takes i_rwsem, which nests outside mmap_lock. */
		up_read(&mm->mmap_lock);
		/* vfs_fallocate(): the VMA's file, open or not by an fd. */
		err = vfs_fallocate(file,
				    HW_FALLOC_PUNCH_HOLE | HW_FALLOC_KEEP_SIZE,
				    offset, e - s);
		file_put(file);
		if (err)
			return err;
		addr = e;
	}
	return hole ? -ENOMEM : 0;
}

int hw_madvise(struct hw_mm *mm, uint64_t addr, uint64_t len, int advice)
{
	unsigned long start = addr, end;
	long err;

	if (addr & ~PAGE_MASK)
		return -EINVAL;
	len = (len + PAGE_SIZE - 1) & PAGE_MASK;
	end = start + len;
	if (end < start || end > TASK_SIZE)
		return -EINVAL;
	if (!len)
		return 0;

	switch (advice) {
	case MADV_DONTNEED:
		return madvise_dontneed(mm, start, end);
	case MADV_REMOVE:
		return madvise_remove(mm, start, end);
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
		down_read(&mm->mmap_lock);
		err = faultin_page_range(mm, start, end,
					 advice == MADV_POPULATE_WRITE);
		up_read(&mm->mmap_lock);
		return err;
	default:
		return -EINVAL;
	}
}
