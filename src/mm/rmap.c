// SPDX-License-Identifier: MIT
/*
 * Reverse mapping for hugetlb page-cache folios: unmap a folio from every
 * VMA of every mm (try_to_unmap()), and migrate it (move_pages(2)).
 *
 * Invariants kept:
 *  - the rmap walk holds i_mmap_rwsem for write (TTU_RMAP_LOCKED, as
 *    hugetlb migration does), taken by trylock because the folio lock is
 *    already held and i_mmap_rwsem nests outside it;
 *  - a VMA's lock nests outside i_mmap_rwsem, so rmap only trylocks it
 *    (hugetlb_vma_trylock_write()) and gives up on contention;
 *  - meeting the folio in a shared table, rmap unshares it from that mm
 *    (the mapping then lives on in the other sharers, which the walk
 *    meets in turn) rather than clearing the entry that all of them use;
 *  - faults on the folio's index are held off by its fault mutex while
 *    the page cache swaps the old folio for the copy.
 */
#include <errno.h>

#include "mm/internal.h"

/*
 * try_to_unmap_one() for hugetlb: page_vma_mapped_walk() finds @folio at
 * @addr in @vma, then the entry goes.
 * Return: false if the walk must be aborted (vma lock contended).
 */
static bool try_to_unmap_one(struct folio *folio, struct vm_area_struct *vma,
			     unsigned long addr)
{
	struct hw_mm *mm = vma->vm_mm;
	unsigned int taken;
	spinlock_t *ptl;
	pte_t *ptep, pte;
	bool ret = true;

	taken = hugetlb_walk_begin(SITE_PAGE_VMA_MAPPED_WALK, vma);
	ptep = hugetlb_walk(vma, addr, HPAGE_SIZE);
	if (!ptep)
		goto out;
	pte = huge_ptep_get(ptep);
	if (!pte_present(pte) || pfn_to_folio(mm->sys, pte_pfn(pte)) != folio)
		goto out;
	if (vma->vm_flags & VM_MAYSHARE) {
		if (!hugetlb_vma_trylock_write(vma)) {
			ret = false;
			goto out;
		}
		if (huge_pmd_unshare(mm, vma, addr, ptep)) {
			hugetlb_vma_unlock_write(vma);
			goto out;
		}
		hugetlb_vma_unlock_write(vma);
	}
	ptl = huge_pte_lock(ptep);
	pte = huge_ptep_get(ptep);
	if (pte_present(pte) && pfn_to_folio(mm->sys, pte_pfn(pte)) == folio) {
		huge_ptep_get_and_clear(ptep);
		atomic_long_dec(&mm->hugetlb_usage);
		atomic_dec(&folio->_mapcount);
		spin_unlock(ptl);
		folio_put(folio);
	} else {
		spin_unlock(ptl);
	}
out:
	hugetlb_walk_end(vma, taken);
	return ret;
}

/**
 * try_to_unmap() - unmap a page-cache @folio from every VMA mapping it.
 * Context: folio locked; i_mmap_rwsem of its mapping held for write.
 * Return: true if the folio is no longer mapped.
 */
bool try_to_unmap(struct folio *folio)
{
	struct address_space *mapping = folio->mapping;
	unsigned long pgoff = folio->index << (HPAGE_SHIFT - PAGE_SHIFT);
	struct vm_area_struct *vma;
	unsigned long addr;

	BUG_ON(!mapping);
	i_mmap_assert_write_locked(mapping);
	vma_interval_tree_foreach(vma, mapping, pgoff, pgoff) {
		addr = vma->vm_start + ((pgoff - vma->vm_pgoff) << PAGE_SHIFT);
		if (!try_to_unmap_one(folio, vma, addr))
			break;
	}
	return !folio_mapped(folio);
}

/*
 * alloc_migration_target(): a free huge page that backs no reservation
 * (alloc_hugetlb_folio_nodemask()).
 */
static struct folio *alloc_migration_target(struct hw_system *sys)
{
	struct hstate *h = hstate_sys(sys);
	struct folio *folio = NULL;

	spin_lock(&h->hugetlb_lock);
	if (h->free_huge_pages > h->resv_huge_pages &&
	    !list_empty(&h->hugepage_freelist)) {
		folio = list_first_entry(&h->hugepage_freelist, struct folio,
					 lru);
		list_del_init(&folio->lru);
		h->free_huge_pages--;
		folio->state = FOLIO_INUSE;
		atomic_set(&folio->_refcount, 1);
		atomic_set(&folio->_mapcount, 0);
		folio->mapping = NULL;
		folio->anon = false;
		folio->restore_reserve = false;
		WRITE_ONCE(folio->tag, 0);
	}
	spin_unlock(&h->hugetlb_lock);
	return folio;
}

/**
 * migrate_hugetlb_folio() - move a page-cache @folio's contents to a new
 * folio: unmap it everywhere, copy, and swap it in the page cache.
 * Context: the caller holds a reference on @folio, found in @mapping.
 * Return: 0; -EAGAIN if it could not be unmapped now; -ENOMEM if the
 * pool has no free page.
 */
int migrate_hugetlb_folio(struct hw_system *sys,
			  struct address_space *mapping, struct folio *folio)
{
	unsigned long idx = folio->index, hash;
	struct folio *new;
	int err = 0;

	new = alloc_migration_target(sys);
	if (!new)
		return -ENOMEM;
	hash = hugetlb_fault_mutex_hash(mapping, idx);
	mutex_lock(&sys->fault_mutex_table[hash]);
	folio_lock(folio);
	if (READ_ONCE(folio->mapping) != mapping || folio->index != idx) {
		err = -EAGAIN;		/* truncated meanwhile */
		goto out_unlock;
	}
	if (!down_write_trylock(&mapping->i_mmap_rwsem)) {
		err = -EAGAIN;
		goto out_unlock;
	}
	if (!try_to_unmap(folio))
		err = -EAGAIN;
	i_mmap_unlock_write(mapping);
	if (err)
		goto out_unlock;

	WRITE_ONCE(new->tag, READ_ONCE(folio->tag));
	hugetlb_replace_page_cache_folio(mapping, folio, new);
out_unlock:
	folio_unlock(folio);
	mutex_unlock(&sys->fault_mutex_table[hash]);
	folio_put(new);		/* the page cache holds it, if it took it */
	return err;
}

int hw_move_pages(struct hw_mm *mm, uint64_t addr)
{
	struct vm_area_struct *vma;
	struct folio *folio = NULL;
	unsigned int taken;
	pte_t *ptep, pte;
	int err, tries;

	down_read(&mm->mmap_lock);
	vma = vma_lookup(mm, addr);
	if (!vma) {
		err = -EFAULT;
		goto out;
	}
	/* move_pages() finds the page with follow_page(). */
	taken = hugetlb_walk_begin(SITE_FOLLOW_PAGE_MASK, vma);
	ptep = hugetlb_walk(vma, addr, HPAGE_SIZE);
	if (ptep) {
		pte = huge_ptep_get(ptep);
		if (pte_present(pte)) {
			folio = pfn_to_folio(mm->sys, pte_pfn(pte));
			folio_get(folio);
		}
	}
	hugetlb_walk_end(vma, taken);
	err = -ENOENT;
	if (!folio)
		goto out;
	err = -EINVAL;		/* anonymous hugetlb migration: not modelled */
	if (!folio->anon) {
		/*
		 * The page cache the folio was found in: the VMA's file.  A
		 * punch may take it out meanwhile; the migration rechecks.
		 * migrate_pages() retries a busy folio, ten times.
		 */
		for (tries = 0; tries < 10; tries++) {
			err = migrate_hugetlb_folio(mm->sys, vma_mapping(vma),
						    folio);
			if (err != -EAGAIN)
				break;
		}
	}
	folio_put(folio);
out:
	up_read(&mm->mmap_lock);
	return err;
}
