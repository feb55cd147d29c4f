// SPDX-License-Identifier: MIT
/*
 * The page-table walker of mm/pagewalk.c, for hugetlb VMAs, and two of
 * its users: /proc/PID/pagemap (fs/proc/task_mmu.c) and mincore(2)
 * (mm/mincore.c).
 *
 * walk_page_range() visits [start, end) VMA by VMA; in a hugetlb VMA,
 * walk_hugetlb_range() looks up each huge page's entry with
 * hugetlb_walk(): call site SITE_WALK_HUGETLB_RANGE.  Its protection is
 * the policy's, taken once around the whole walk of the VMA, as the
 * merged series does (6.3: hugetlb_vma_lock_read() in
 * walk_hugetlb_range()); before it nothing was taken (the walker held
 * only its mmap_lock), the RFC took an RCU read-side section.
 *
 * Invariants kept:
 *  - a callback runs inside the call site with the policy's protection
 *    held, and so never sleeps (the RFC's is an RCU read-side section);
 *  - the walker reads an entry once, through huge_ptep_get(), without the
 *    ptl (as pagemap_hugetlb_range() and mincore_hugetlb() do): what it
 *    reports may be stale by the time the caller sees it, never torn;
 *  - callers hold mmap_lock (read) across a walk, so the VMAs they walk
 *    stay; the tables of a shareable VMA are what the call site's
 *    protection has to keep.
 */
#include <errno.h>
#include <string.h>

#include <hugewalk/pagewalk.h>

#include "mm/internal.h"

/* The end of the huge page holding @addr, or @end if that is sooner. */
static unsigned long hugetlb_entry_end(unsigned long addr, unsigned long end)
{
	unsigned long boundary = (addr & HPAGE_MASK) + HPAGE_SIZE;

	return boundary < end ? boundary : end;
}

/*
 * walk_hugetlb_range() - the walk of [addr, end) inside hugetlb VMA
 * walk->vma: hugetlb_entry for each huge page whose PMD table exists,
 * pte_hole where none is reachable.
 */
static int walk_hugetlb_range(unsigned long addr, unsigned long end,
			      struct mm_walk *walk)
{
	struct vm_area_struct *vma = walk->vma;
	const struct mm_walk_ops *ops = walk->ops;
	unsigned long next;
	unsigned int taken;
	int err = 0;
	pte_t *pte;

	taken = hugetlb_walk_begin(SITE_WALK_HUGETLB_RANGE, vma);
	do {
		next = hugetlb_entry_end(addr, end);
		pte = hugetlb_walk(vma, addr & HPAGE_MASK, HPAGE_SIZE);
		if (pte)
			err = ops->hugetlb_entry(pte, HPAGE_MASK, addr, next,
						 walk);
		else if (ops->pte_hole)
			err = ops->pte_hole(addr, next, -1, walk);
		if (err)
			break;
		addr = next;
	} while (addr != end);
	hugetlb_walk_end(vma, taken);
	return err;
}

/* __walk_page_range(): every VMA of the model is a hugetlb VMA. */
static int __walk_page_range(unsigned long start, unsigned long end,
			     struct mm_walk *walk)
{
	BUG_ON(!is_vm_hugetlb_page(walk->vma));
	if (!walk->ops->hugetlb_entry)
		return 0;
	return walk_hugetlb_range(start, end, walk);
}

/**
 * walk_page_range() - walk [start, end) of @mm with @ops.
 * @mm: the address space.
 * @start: first address, 4 KiB-aligned.
 * @end: end address, 4 KiB-aligned, above @start.
 * @ops: the callbacks.
 * @private: for the callbacks, as walk->private.
 *
 * Holes between VMAs go to ops->pte_hole with walk->vma NULL.
 *
 * Context: mmap_lock of @mm (read).
 * Return: 0, the first non-zero value a callback returned, or -EINVAL
 * for an empty range.
 */
int walk_page_range(struct hw_mm *mm, unsigned long start, unsigned long end,
		    const struct mm_walk_ops *ops, void *private)
{
	struct mm_walk walk = { .ops = ops, .mm = mm, .private = private };
	struct vm_area_struct *vma;
	unsigned long next;
	int err = 0;

	lockdep_assert_held(&mm->mmap_lock);
	if (start >= end)
		return -EINVAL;
	vma = find_vma(mm, start);
	do {
		if (!vma || start < vma->vm_start) {
			/* After the last VMA, or before the next one. */
			walk.vma = NULL;
			next = vma && vma->vm_start < end ? vma->vm_start : end;
			if (ops->pte_hole)
				err = ops->pte_hole(start, next, -1, &walk);
		} else {
			walk.vma = vma;
			next = vma->vm_end < end ? vma->vm_end : end;
			vma = vma_next(vma);
			err = __walk_page_range(start, next, &walk);
		}
		if (err)
			break;
		start = next;
	} while (start < end);
	return err;
}

/* ---- /proc/PID/pagemap -------------------------------------------------- */

struct pagemapread {
	uint64_t *buffer;	/* the next entry to fill */
};

static void add_to_pagemap(struct pagemapread *pm, uint64_t pme)
{
	*pm->buffer++ = pme;
}

static int pagemap_pte_hole(unsigned long addr, unsigned long end, int depth,
			    struct mm_walk *walk)
{
	struct pagemapread *pm = walk->private;

	for (; addr < end; addr += PAGE_SIZE)
		add_to_pagemap(pm, 0);
	return 0;
}

/*
 * pagemap_hugetlb_range() - the entries of [addr, end), all inside the
 * huge page whose entry is @ptep.
 */
static int pagemap_hugetlb_range(pte_t *ptep, unsigned long hmask,
				 unsigned long addr, unsigned long end,
				 struct mm_walk *walk)
{
	struct pagemapread *pm = walk->private;
	uint64_t flags = 0, frame = 0;
	struct folio *folio;
	pte_t pte;

	pte = huge_ptep_get(ptep);
	if (pte_present(pte)) {
		/*
		 * No reference, no ptl (as the kernel): folio structs are
		 * never freed, and what is read here is at worst stale.
		 */
		folio = pfn_to_folio(walk->mm->sys, pte_pfn(pte));
		if (!READ_ONCE(folio->anon))
			flags |= HW_PM_FILE;
		/*
		 * Exclusive: one mapping of the folio (an entry in a shared
		 * table counts once), and not through a shared table: the
		 * kernel checks hugetlb_pmd_shared() since 6.10 ("fs/proc/
		 * task_mmu: convert pagemap_hugetlb_range() to work on
		 * folios"), as smaps_hugetlb_range() did before.
		 */
		if (atomic_read(&folio->_mapcount) == 1 &&
		    !ptdesc_pmd_is_shared(virt_to_ptdesc(ptep)))
			flags |= HW_PM_MMAP_EXCLUSIVE;
		flags |= HW_PM_PRESENT;
		frame = pte_pfn(pte) + ((addr & ~hmask) >> PAGE_SHIFT);
	}
	/* A migration entry, like an empty one, reads as absent. */
	for (; addr != end; addr += PAGE_SIZE) {
		add_to_pagemap(pm, (frame & HW_PM_PFN_MASK) | flags);
		if (flags & HW_PM_PRESENT)
			frame++;
	}
	return 0;
}

static const struct mm_walk_ops pagemap_ops = {
	.hugetlb_entry = pagemap_hugetlb_range,
	.pte_hole = pagemap_pte_hole,
};

int hw_pagemap(struct hw_mm *mm, uint64_t addr, unsigned long nr,
	       uint64_t *out)
{
	struct pagemapread pm = { .buffer = out };
	unsigned long start = addr, end, next;
	int err = 0;

	if (addr & ~PAGE_MASK)
		return -EINVAL;
	if (addr > TASK_SIZE || nr > (TASK_SIZE - addr) >> PAGE_SHIFT)
		return -EINVAL;
	end = addr + (nr << PAGE_SHIFT);
	/*
	 * pagemap_read() walks PAGEMAP_WALK_SIZE (PMD_SIZE) at a time,
	 * dropping mmap_lock to copy each chunk out.
	 */
	while (!err && start < end) {
		next = (start + PMD_SIZE) & PMD_MASK;
		if (next > end)
			next = end;
		down_read(&mm->mmap_lock);
		err = walk_page_range(mm, start, next, &pagemap_ops, &pm);
		up_read(&mm->mmap_lock);
		start = next;
	}
	return err;
}

/* ---- mincore(2) --------------------------------------------------------- */

/*
 * mincore_unmapped_range() - no table: whether the file page is in the
 * page cache (__mincore_unmapped_range()); 0 outside any VMA.  The
 * kernel indexes the cache by the 4 KiB page offset since the hugetlbfs
 * page cache moved to base-page indices (6.7), which finds the huge
 * folio covering it; this models that.
 */
static int mincore_unmapped_range(unsigned long addr, unsigned long end,
				  int depth, struct mm_walk *walk)
{
	unsigned char **vec = walk->private;
	struct vm_area_struct *vma = walk->vma;
	unsigned long next;
	struct folio *folio;
	bool cached;

	for (; addr < end; addr = next) {
		next = hugetlb_entry_end(addr, end);
		cached = false;
		if (vma) {
			folio = filemap_get_hugetlb_folio(vma_mapping(vma),
					vma_hugecache_offset(vma, addr));
			if (folio) {
				cached = true;
				folio_put(folio);
			}
		}
		memset(*vec, cached, (next - addr) >> PAGE_SHIFT);
		*vec += (next - addr) >> PAGE_SHIFT;
	}
	return 0;
}

/*
 * mincore_hugetlb() - huge pages are always in memory: an entry that is
 * not empty (present, or a migration entry) is resident.
 */
static int mincore_hugetlb(pte_t *pte, unsigned long hmask, unsigned long addr,
			   unsigned long end, struct mm_walk *walk)
{
	unsigned char **vec = walk->private;
	unsigned char present = !huge_pte_none(huge_ptep_get(pte));

	memset(*vec, present, (end - addr) >> PAGE_SHIFT);
	*vec += (end - addr) >> PAGE_SHIFT;
	return 0;
}

static const struct mm_walk_ops mincore_walk_ops = {
	.hugetlb_entry = mincore_hugetlb,
	.pte_hole = mincore_unmapped_range,
};

/*
 * do_mincore() - the part of [addr, addr + pages) inside the VMA that
 * holds @addr.  Context: mmap_lock (read).
 * Return: the pages done, or -ENOMEM if no VMA holds @addr.
 */
static long do_mincore(struct hw_mm *mm, unsigned long addr,
		       unsigned long pages, unsigned char *vec)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr);
	unsigned long end;
	int err;

	if (!vma)
		return -ENOMEM;
	end = addr + (pages << PAGE_SHIFT);
	if (end > vma->vm_end)
		end = vma->vm_end;
	err = walk_page_range(mm, addr, end, &mincore_walk_ops, &vec);
	if (err < 0)
		return err;
	return (end - addr) >> PAGE_SHIFT;
}

int hw_mincore(struct hw_mm *mm, uint64_t addr, uint64_t len,
	       unsigned char *vec)
{
	unsigned long pages;
	long done;

	if (addr & ~PAGE_MASK)
		return -EINVAL;
	if (addr > TASK_SIZE || len > TASK_SIZE - addr)
		return -ENOMEM;		/* !access_ok() */
	pages = (len + PAGE_SIZE - 1) >> PAGE_SHIFT;
	while (pages) {
		down_read(&mm->mmap_lock);
		done = do_mincore(mm, addr, pages, vec);
		up_read(&mm->mmap_lock);
		if (done <= 0)
			return done ? (int)done : -ENOMEM;
		vec += done;
		addr += done << PAGE_SHIFT;
		pages -= done;
	}
	return 0;
}
