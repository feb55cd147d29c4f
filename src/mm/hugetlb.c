// SPDX-License-Identifier: MIT
/*
 * hugetlb page tables: find, allocate, share and unshare PMD tables.
 *
 * Locking: who may walk a hugetlb page table, and why
 * ---------------------------------------------------
 *
 * Lock order (outermost first; sync/lock.h ranks enforce it):
 *
 *   mm->mmap_lock
 *     inode->i_rwsem                  (hugetlbfs_file_mmap, punch, truncate)
 *       hugetlb_fault_mutex_table[hash(mapping, index)]
 *         hugetlb_vma_lock->rw_sema   (one per shareable VMA)
 *           mapping->i_mmap_rwsem
 *             folio lock
 *               ptl (split PMD lock of the table) / mm->page_table_lock
 *                 hugetlb_lock, i_pages, resv_map->lock
 *
 * Paths that meet these locks against the order use trylock, as the
 * kernel does: rmap holds i_mmap_rwsem and trylocks a VMA's lock
 * (try_to_unmap_one()); hole punch holds i_mmap_rwsem and trylocks, then
 * drops it to sleep on the VMA lock (hugetlb_unmap_file_folio());
 * migration holds the folio lock and trylocks i_mmap_rwsem.
 *
 * A PMD table mapping a PUD_SIZE range of a shared hugetlb file can be
 * used by several mms at once.  Holding one's own mmap_lock therefore
 * does not keep the table alive: another mm may unshare it from us
 * (MADV_DONTNEED in another thread of ours, say) and a third mm, its
 * last user, may free it, all while we walk.  What keeps a walker safe:
 *
 *  - the VMA's hugetlb vma lock, held for read: every unshare in this
 *    VMA holds it for write, so our PUD entry stays;
 *  - the file's i_mmap_rwsem, held in either mode: every unshare holds
 *    it for write, and the last user's unlink from i_mmap holds it too;
 *  - (the RFC) an RCU read-side section, with tables freed after a grace
 *    period: the table may be unshared from us, but its memory stays
 *    until we leave the section.  Its ptl, though, died at pmd_free()
 *    time until the destructor moved after the grace period, and a
 *    table kept alive is not a table kept ours: its last user may
 *    repopulate it, or free and reuse it once we are gone.
 *
 * hugetlb_walk() checks the policy's rule against the held-lock tracker
 * on every walk of a shareable VMA.  The policy (policy.c) says what
 * each call site takes; docs/policies.md maps each cell to the kernel.
 *
 * Invariants kept by this file:
 *  - pt_share_count of a PMD table equals the number of PUD entries, in
 *    all mms, that point at it, less one (0: one user, not shared);
 *  - a table is shared only between VMAs that map the same file pages at
 *    the same offset inside a PUD_SIZE-aligned range that each VMA covers
 *    whole, with equal flags (VM_LOCKED aside), each with a vma lock
 *    (page_table_shareable());
 *  - huge_pmd_share() finds the other VMA and walks the other mm's table
 *    only under i_mmap_rwsem (read), and takes its share before dropping
 *    it; every unshare holds i_mmap_rwsem (write), so no sharer can be
 *    added to, or removed from, a table that a sharer is looking at;
 *  - huge_pmd_unshare() holds the VMA's lock and i_mmap_rwsem for write;
 *    it clears only this mm's PUD entry and drops the count; it never
 *    frees: the last user frees the table through free_pgtables();
 *  - huge_pte_offset() reads each upper entry once.
 */
#include <errno.h>

#include "mm/internal.h"

/**
 * huge_pte_offset() - the PMD-level entry mapping @addr in @mm, without
 * allocating.
 * Context: the caller keeps the table alive: see hugetlb_walk().
 * Return: the entry, or NULL if a level above it is empty.
 */
pte_t *huge_pte_offset(struct hw_mm *mm, unsigned long addr, unsigned long sz)
{
	pgd_t *pgd = mm->pgd + pgd_index(addr);
	pgd_t pgdv = pgdp_get(pgd);
	pud_t *pud, pudv;

	BUG_ON(sz != PMD_SIZE);
	if (pgd_none(pgdv))
		return NULL;
	pud = pgd_pgtable(pgdv) + pud_index(addr);
	/*
	 * One read of the PUD entry: an unshare may clear it at any time
	 * for a walker outside the rule, and a second read would find the
	 * table gone in a different way than the walker already assumed.
	 */
	pudv = pudp_get(pud);
	if (!pud_present(pudv))
		return NULL;
	return (pte_t *)(pud_pgtable(pudv) + pmd_index(addr));
}

/**
 * hugetlb_walk() - huge_pte_offset() for a walker of @vma.
 * Context: on a shareable VMA, what the policy's rule accepts (since
 * Linux 6.3: the hugetlb vma lock or i_mmap_rwsem); checked against the
 * held-lock tracker and reported as lockdep would.
 */
pte_t *hugetlb_walk(struct vm_area_struct *vma, unsigned long addr,
		    unsigned long sz)
{
	if (__vma_shareable_lock(vma))
		hugetlb_walk_check(vma);
	return huge_pte_offset(vma->vm_mm, addr, sz);
}

/* Whether the PUD_SIZE range around @addr lies in @vma. */
static bool pmd_sharing_possible(struct vm_area_struct *vma,
				 unsigned long addr)
{
	unsigned long start = addr & PUD_MASK, end = start + PUD_SIZE;

	return range_in_vma(vma, start, end);
}

/**
 * uffd_disable_huge_pmd_share() - is @vma registered in a userfaultfd
 * mode that forbids PMD sharing?  Write-protect, whose bits live in the
 * entries of each mm; MISSING too on kernels with that quirk.
 */
bool uffd_disable_huge_pmd_share(struct vm_area_struct *vma)
{
	unsigned long forbid = VM_UFFD_WP;

	if (hw_system_quirk(vma->vm_mm->sys, HW_QUIRK_UFFD_MISSING_NO_SHARE))
		forbid |= VM_UFFD_MISSING;
	return READ_ONCE(vma->vm_flags) & forbid;
}

/**
 * want_pmd_share() - may a fault in @vma at @addr share a PMD table?
 * A shared mapping with a vma lock, not registered in a userfaultfd mode
 * that forbids it, covering the whole PUD_SIZE range around @addr.
 */
bool want_pmd_share(struct vm_area_struct *vma, unsigned long addr)
{
	if (uffd_disable_huge_pmd_share(vma))
		return false;
	if (!__vma_shareable_lock(vma))
		return false;
	return pmd_sharing_possible(vma, addr);
}

/**
 * page_table_shareable() - can @vma, faulting at @addr on file page
 * @idx (PAGE units), use the PMD table of @svma?
 * Context: i_mmap_rwsem.
 * Return: the address in @svma that maps @idx, or 0.
 */
unsigned long page_table_shareable(struct vm_area_struct *svma,
				   struct vm_area_struct *vma,
				   unsigned long addr, unsigned long idx)
{
	unsigned long saddr = ((idx - svma->vm_pgoff) << PAGE_SHIFT) +
			      svma->vm_start;
	unsigned long sbase = saddr & PUD_MASK, s_end = sbase + PUD_SIZE;
	unsigned long vm_flags = READ_ONCE(vma->vm_flags) & ~VM_LOCKED_MASK;
	unsigned long svm_flags = READ_ONCE(svma->vm_flags) & ~VM_LOCKED_MASK;

	i_mmap_assert_locked(vma_mapping(vma));
	if (pmd_index(addr) != pmd_index(saddr) || vm_flags != svm_flags ||
	    !range_in_vma(svma, sbase, s_end) ||
	    !READ_ONCE(svma->vm_private_data))
		return 0;
	return saddr;
}

/**
 * huge_pmd_share() - populate @pud with another mm's PMD table for the
 * same file range if one exists, else allocate one.
 * Context: mmap_lock (read), vma lock (read), fault mutex.
 * Return: the entry for @addr, or NULL when out of memory.
 */
pte_t *huge_pmd_share(struct hw_mm *mm, struct vm_area_struct *vma,
		      unsigned long addr, pud_t *pud)
{
	struct address_space *mapping = vma_mapping(vma);
	unsigned long idx = ((addr - vma->vm_start) >> PAGE_SHIFT) +
			    vma->vm_pgoff;
	struct vm_area_struct *svma;
	unsigned long saddr;
	pte_t *spte = NULL, *pte;

	hugetlb_vma_assert_locked(vma);
	i_mmap_lock_read(mapping);
	site_enter(SITE_HUGE_PMD_SHARE, site_name(SITE_HUGE_PMD_SHARE));
	vma_interval_tree_foreach(svma, mapping, idx, idx) {
		if (svma == vma)
			continue;
		saddr = page_table_shareable(svma, vma, addr, idx);
		if (!saddr)
			continue;
		/* The other mm's table cannot go: i_mmap_rwsem is held. */
		spte = hugetlb_walk(svma, saddr, PMD_SIZE);
		if (spte) {
			ptdesc_pmd_pts_inc(virt_to_ptdesc(spte));
			break;
		}
	}
	site_exit();
	if (!spte)
		goto out;

	spin_lock(&mm->page_table_lock);
	if (pud_none(pudp_get(pud))) {
		pud_populate(pud, (void *)((uintptr_t)spte & PAGE_MASK));
		atomic_long_inc(&mm->nr_pmds);
	} else {
		ptdesc_pmd_pts_dec(virt_to_ptdesc(spte));
	}
	spin_unlock(&mm->page_table_lock);
out:
	pte = (pte_t *)pmd_alloc(mm, pud, addr);
	i_mmap_unlock_read(mapping);
	return pte;
}

/**
 * huge_pmd_unshare() - if the PMD table holding @ptep is shared, stop
 * using it in @mm: clear this mm's PUD entry and drop the share count.
 * Context: i_mmap_rwsem (write) and the vma lock (write); the caller
 * flushes the TLB and must not touch @ptep's table again if it returns 1.
 * Return: 1 if it unshared, 0 if the table was not shared.
 */
int huge_pmd_unshare(struct hw_mm *mm, struct vm_area_struct *vma,
		     unsigned long addr, pte_t *ptep)
{
	struct ptdesc *pt = virt_to_ptdesc(ptep);
	pgd_t *pgd = mm->pgd + pgd_index(addr);
	pud_t *pud;

	i_mmap_assert_write_locked(vma_mapping(vma));
	hugetlb_vma_assert_locked(vma);
	BUG_ON(pt->pt_level != PT_PMD);

	if (!ptdesc_pmd_is_shared(pt))
		return 0;
	pud = pud_offset(pgd, addr);
	BUG_ON(pud_pgtable(pudp_get(pud)) != (pmd_t *)((uintptr_t)ptep & PAGE_MASK));
	pud_clear(pud);
	/*
	 * tlb_remove_table_sync_one() (CVE-2025-38085): wait until no
	 * GUP-fast walker can still be in the table through this mm, or it
	 * could meet the table after its last user freed and reused it.
	 */
	if (mm->sys->policy->unshare_sync_gup_fast)
		synchronize_rcu();
	ptdesc_pmd_pts_dec(pt);
	atomic_long_dec(&mm->nr_pmds);
	return 1;
}

/**
 * huge_pte_alloc() - the PMD-level entry for @addr, allocating upper
 * tables, and sharing a PMD table with another VMA if possible.
 * Context: mmap_lock; on a shareable VMA the vma lock (read) and the
 * fault mutex.
 * Return: the entry, or NULL when out of memory.
 */
pte_t *huge_pte_alloc(struct hw_mm *mm, struct vm_area_struct *vma,
		      unsigned long addr, unsigned long sz)
{
	pgd_t *pgd = mm->pgd + pgd_index(addr);
	pud_t *pud;

	BUG_ON(sz != PMD_SIZE);
	pud = pud_alloc(mm, pgd, addr);
	if (!pud)
		return NULL;
	if (want_pmd_share(vma, addr) && pud_none(pudp_get(pud)))
		return huge_pmd_share(mm, vma, addr, pud);
	return (pte_t *)pmd_alloc(mm, pud, addr);
}

/**
 * hugetlb_unshare_pmds() - unshare every PMD table of @vma in the whole
 * PUD_SIZE ranges inside [start, end).
 * @take_locks: false when the caller already holds the vma lock and
 *	i_mmap_rwsem for write (a VMA split).
 */
void hugetlb_unshare_pmds(struct vm_area_struct *vma, unsigned long start,
			  unsigned long end, bool take_locks)
{
	struct hw_mm *mm = vma->vm_mm;
	struct address_space *mapping = vma_mapping(vma);
	unsigned long addr;
	spinlock_t *ptl;
	pte_t *ptep;

	if (!(vma->vm_flags & VM_MAYSHARE))
		return;
	start = (start + PUD_SIZE - 1) & PUD_MASK;
	end &= PUD_MASK;
	if (start >= end)
		return;

	if (take_locks) {
		hugetlb_vma_lock_write(vma);
		i_mmap_lock_write(mapping);
	} else {
		i_mmap_assert_write_locked(mapping);
		hugetlb_vma_assert_locked(vma);
	}
	site_enter(SITE_UNSHARER, "hugetlb_unshare_pmds");
	for (addr = start; addr < end; addr += PUD_SIZE) {
		ptep = hugetlb_walk(vma, addr, PMD_SIZE);
		if (!ptep)
			continue;
		ptl = huge_pte_lock(ptep);
		huge_pmd_unshare(mm, vma, addr, ptep);
		spin_unlock(ptl);
	}
	site_exit();
	if (take_locks) {
		i_mmap_unlock_write(mapping);
		hugetlb_vma_unlock_write(vma);
	}
}

/*
 * Registration in a userfaultfd mode that forbids sharing
 * (uffd_disable_huge_pmd_share()): no PMD of @vma may stay shared.
 */
void hugetlb_unshare_all_pmds(struct vm_area_struct *vma)
{
	hugetlb_unshare_pmds(vma, vma->vm_start, vma->vm_end, true);
}

/**
 * hugetlb_split() - @vma is being split at @addr: if @addr is not
 * PUD-aligned, neither half will cover the PUD_SIZE range around it, so
 * the table there must be unshared now, during the split, with the locks
 * that make the split atomic held: unsharing before them let a fault
 * re-share in between (CVE-2025-38084).
 * Context: mmap_lock, vma lock and i_mmap_rwsem, all for write.
 */
void hugetlb_split(struct vm_area_struct *vma, unsigned long addr)
{
	unsigned long floor = addr & PUD_MASK, ceil = floor + PUD_SIZE;

	lockdep_assert_held_write(&vma->vm_mm->mmap_lock);
	if (!(addr & ~PUD_MASK))
		return;
	if (floor >= vma->vm_start && ceil <= vma->vm_end)
		hugetlb_unshare_pmds(vma, floor, ceil, false);
}
