// SPDX-License-Identifier: MIT
/*
 * Reverse mapping of hugetlb page-cache folios: every VMA of every mm
 * that maps a folio is found through its file's i_mmap tree
 * (rmap_walk_file_locked()), and the folio's entry in that VMA through
 * page_vma_mapped_walk(), call site SITE_PAGE_VMA_MAPPED_WALK.  Three
 * users: try_to_unmap() clears the entries, try_to_migrate() replaces
 * them by migration entries (migrate.c puts entries of the new folio in
 * their place), folio_referenced() tests and clears their accessed bits.
 *
 * Invariants kept:
 *  - every rmap walk holds the file's i_mmap_rwsem: for write when it
 *    changes entries (the kernel's TTU_RMAP_LOCKED, as hugetlb unmapping
 *    and migration do), for read when it ages them.  That is the walk
 *    rule's protection at page_vma_mapped_walk; the policy may add to it
 *    (the RFC: RCU) but never takes a sleeping lock there;
 *  - page_vma_mapped_walk() reads an entry only under its table's ptl,
 *    and hands it to the caller with the ptl still held;
 *  - a VMA's lock nests outside i_mmap_rwsem, so rmap only trylocks it
 *    (hugetlb_vma_trylock_write()) and gives up the walk if it is busy;
 *  - meeting the folio in a shared table, unmapping and migration
 *    unshare the table from that mm (huge_pmd_unshare()) rather than
 *    change the entry every sharer uses; the last sharer met gets the
 *    change, and the others fault the page in again (and re-share);
 *  - a present entry holds one mapcount and one reference on the folio
 *    it maps; a migration entry holds neither.
 */
#include <errno.h>

#include <hugewalk/pagewalk.h>

#include "mm/internal.h"

/* ---- page_vma_mapped_walk() --------------------------------------------- */

/* Is the entry the one the walk looks for?  Context: its ptl. */
static bool check_pte(struct page_vma_mapped_walk *pvmw)
{
	pte_t pte = huge_ptep_get(pvmw->pte);

	if (pvmw->flags & PVMW_MIGRATION)
		return is_hugetlb_migration_entry(pte) &&
		       migration_entry_pfn(pte) == pvmw->pfn;
	return pte_present(pte) && pte_pfn(pte) == pvmw->pfn;
}

/**
 * page_vma_mapped_walk_done() - end a walk early: drop the ptl and leave
 * the call site.
 * @pvmw: a walk whose last page_vma_mapped_walk() returned true.
 *
 * Context: returns with the rmap walk's i_mmap_rwsem only.
 */
void page_vma_mapped_walk_done(struct page_vma_mapped_walk *pvmw)
{
	if (pvmw->ptl) {
		spin_unlock(pvmw->ptl);
		pvmw->ptl = NULL;
	}
	if (pvmw->in_site) {
		hugetlb_walk_end(pvmw->vma, pvmw->taken);
		pvmw->in_site = false;
	}
}

static bool not_found(struct page_vma_mapped_walk *pvmw)
{
	page_vma_mapped_walk_done(pvmw);
	return false;
}

/**
 * page_vma_mapped_walk() - find the next mapping of @pvmw->pfn's folio
 * at @pvmw->address in @pvmw->vma.
 * @pvmw: the walk; zeroed but for pfn, vma, address and flags at first.
 *
 * A huge page has one entry in a VMA: the first call finds it or not,
 * the second ends the walk.  With PVMW_MIGRATION the walk looks for a
 * migration entry pointing at the pfn instead of a present entry.
 *
 * Context: i_mmap_rwsem of the VMA's file, in either mode (which the
 * kernel's comment says makes the walk safe; 6.3 asserts it through
 * hugetlb_walk()), plus what the policy gives the call site.
 * Return: true with @pvmw->pte mapped and @pvmw->ptl held; false with
 * nothing held but i_mmap_rwsem.
 */
bool page_vma_mapped_walk(struct page_vma_mapped_walk *pvmw)
{
	struct vm_area_struct *vma = pvmw->vma;

	i_mmap_assert_locked(vma_mapping(vma));
	BUG_ON(!is_vm_hugetlb_page(vma));
	/* The only possible mapping was handled by the last call. */
	if (pvmw->pte)
		return not_found(pvmw);
	pvmw->taken = hugetlb_walk_begin(SITE_PAGE_VMA_MAPPED_WALK, vma);
	pvmw->in_site = true;
	pvmw->pte = hugetlb_walk(vma, pvmw->address, HPAGE_SIZE);
	if (!pvmw->pte)
		return not_found(pvmw);
	pvmw->ptl = huge_pte_lock(pvmw->pte);
	if (!check_pte(pvmw))
		return not_found(pvmw);
	return true;
}

/**
 * rmap_walk_file_locked() - call @rmap_one(@folio, vma, address, @arg)
 * for each VMA of @mapping that maps @folio's file page, until it
 * returns false.
 * @folio: a page-cache folio (its index names the file page).
 * @mapping: the file; the folio's, or the one it is moving into.
 * @rmap_one: the visitor.
 * @arg: for @rmap_one.
 *
 * Context: i_mmap_rwsem of @mapping, in the mode @rmap_one needs.
 */
void rmap_walk_file_locked(struct folio *folio, struct address_space *mapping,
			   bool (*rmap_one)(struct folio *folio,
					    struct vm_area_struct *vma,
					    unsigned long addr, void *arg),
			   void *arg)
{
	unsigned long pgoff = folio->index << (HPAGE_SHIFT - PAGE_SHIFT);
	struct vm_area_struct *vma;
	unsigned long addr;

	i_mmap_assert_locked(mapping);
	vma_interval_tree_foreach(vma, mapping, pgoff, pgoff) {
		addr = vma->vm_start + ((pgoff - vma->vm_pgoff) << PAGE_SHIFT);
		if (!rmap_one(folio, vma, addr, arg))
			break;
	}
}

/*
 * hugetlb_rmap_unshare() - the first step of try_to_unmap_one() and
 * try_to_migrate_one() on a shareable VMA: if @vma's table at @addr is
 * shared, stop using it in this mm instead of touching the entry.
 * Context: i_mmap_rwsem (write), @pvmw's ptl.
 * Return: 1 unshared (the walk is done), 0 go on, -EBUSY the vma lock is
 * contended (the walk is done, and the rmap walk must stop).
 */
static int hugetlb_rmap_unshare(struct page_vma_mapped_walk *pvmw)
{
	struct vm_area_struct *vma = pvmw->vma;
	int unshared;

	if (!(vma->vm_flags & VM_MAYSHARE))
		return 0;
	/* The vma lock nests outside i_mmap_rwsem: trylock only. */
	if (!hugetlb_vma_trylock_write(vma)) {
		page_vma_mapped_walk_done(pvmw);
		return -EBUSY;
	}
	unshared = huge_pmd_unshare(vma->vm_mm, vma, pvmw->address, pvmw->pte);
	hugetlb_vma_unlock_write(vma);
	if (unshared)
		page_vma_mapped_walk_done(pvmw);
	return unshared;
}

/* ---- try_to_unmap() ----------------------------------------------------- */

/* Return: false if the rmap walk must stop (vma lock contended). */
static bool try_to_unmap_one(struct folio *folio, struct vm_area_struct *vma,
			     unsigned long addr, void *arg)
{
	struct page_vma_mapped_walk pvmw = {
		.pfn = folio->pfn, .vma = vma, .address = addr,
	};
	struct hw_mm *mm = vma->vm_mm;
	int unmapped = 0, unshared;

	while (page_vma_mapped_walk(&pvmw)) {
		unshared = hugetlb_rmap_unshare(&pvmw);
		if (unshared < 0)
			return false;
		if (unshared)
			break;
		huge_ptep_get_and_clear(pvmw.pte);
		atomic_long_dec(&mm->hugetlb_usage);
		atomic_dec(&folio->_mapcount);
		unmapped++;
	}
	/* The entries' references, dropped outside the ptl. */
	while (unmapped--)
		folio_put(folio);
	return true;
}

/**
 * try_to_unmap() - unmap a page-cache @folio from every VMA mapping it.
 * @folio: the folio, locked.
 *
 * Context: folio locked; i_mmap_rwsem of its mapping held for write.
 * Return: true if the folio is no longer mapped.
 */
bool try_to_unmap(struct folio *folio)
{
	struct address_space *mapping = folio->mapping;

	BUG_ON(!mapping);
	lockdep_assert_held(&folio->lock);
	i_mmap_assert_write_locked(mapping);
	rmap_walk_file_locked(folio, mapping, try_to_unmap_one, NULL);
	return !folio_mapped(folio);
}

/* ---- try_to_migrate() --------------------------------------------------- */

/* Return: false if the rmap walk must stop (vma lock contended). */
static bool try_to_migrate_one(struct folio *folio, struct vm_area_struct *vma,
			       unsigned long addr, void *arg)
{
	struct page_vma_mapped_walk pvmw = {
		.pfn = folio->pfn, .vma = vma, .address = addr,
	};
	struct hw_mm *mm = vma->vm_mm;
	int migrated = 0, unshared;
	pte_t pteval;

	while (page_vma_mapped_walk(&pvmw)) {
		unshared = hugetlb_rmap_unshare(&pvmw);
		if (unshared < 0)
			return false;
		if (unshared)
			break;
		/* huge_ptep_clear_flush(), then the migration entry. */
		pteval = huge_ptep_get_and_clear(pvmw.pte);
		set_huge_pte_at(pvmw.pte,
				make_migration_entry(folio->pfn,
						     huge_pte_write(pteval),
						     huge_pte_young(pteval)));
		atomic_long_dec(&mm->hugetlb_usage);
		atomic_dec(&folio->_mapcount);
		migrated++;
	}
	while (migrated--)
		folio_put(folio);
	return true;
}

/**
 * try_to_migrate() - replace every mapping of a page-cache @folio by a
 * migration entry; a walk stopped by a busy vma lock leaves the folio
 * mapped, which the caller sees with folio_mapped().
 * @folio: the folio, locked, with folio->migrating set.
 *
 * Context: folio locked; i_mmap_rwsem of its mapping held for write.
 */
void try_to_migrate(struct folio *folio)
{
	struct address_space *mapping = folio->mapping;

	BUG_ON(!mapping);
	BUG_ON(!READ_ONCE(folio->migrating));
	lockdep_assert_held(&folio->lock);
	i_mmap_assert_write_locked(mapping);
	rmap_walk_file_locked(folio, mapping, try_to_migrate_one, NULL);
}

/* ---- folio_referenced() ------------------------------------------------- */

struct folio_referenced_arg {
	int mapcount;		/* mappings still to meet */
	int referenced;
};

static bool folio_referenced_one(struct folio *folio,
				 struct vm_area_struct *vma,
				 unsigned long addr, void *arg)
{
	struct page_vma_mapped_walk pvmw = {
		.pfn = folio->pfn, .vma = vma, .address = addr,
	};
	struct folio_referenced_arg *pra = arg;
	pte_t pte;

	while (page_vma_mapped_walk(&pvmw)) {
		/* ptep_clear_flush_young(): test and clear, under the ptl. */
		pte = huge_ptep_get(pvmw.pte);
		if (huge_pte_young(pte)) {
			set_huge_pte_at(pvmw.pte, huge_pte_mkold(pte));
			pra->referenced++;
		}
		pra->mapcount--;
	}
	/* Every mapping the mapcount promised was met: stop the walk. */
	return pra->mapcount > 0;
}

/**
 * folio_referenced() - count the mappings of @folio whose accessed bit
 * is set, and clear them.
 * @folio: a page-cache folio, referenced by the caller.
 * @mapping: its file.
 *
 * The walk stops once it has met as many mappings as the folio's
 * mapcount, as the kernel's does; an entry in a shared table is one
 * mapping however many mms use the table, so only the first VMA met
 * through it is looked at.
 *
 * Context: mmap_lock (read) of the mm the folio was found in; takes
 * i_mmap_rwsem for read.  The kernel trylocks the folio first; a
 * hugetlb folio's lock nests inside i_mmap_rwsem, and aging needs no
 * folio lock here (the page-cache slot is not looked at).
 * Return: the number of referenced mappings.
 */
int folio_referenced(struct folio *folio, struct address_space *mapping)
{
	struct folio_referenced_arg pra = {
		.mapcount = atomic_read(&folio->_mapcount),
	};

	if (!pra.mapcount)
		return 0;
	i_mmap_lock_read(mapping);
	rmap_walk_file_locked(folio, mapping, folio_referenced_one, &pra);
	i_mmap_unlock_read(mapping);
	return pra.referenced;
}

int hw_folio_referenced(struct hw_mm *mm, uint64_t addr)
{
	struct vm_area_struct *vma;
	struct folio *folio;
	int ret;

	down_read(&mm->mmap_lock);
	vma = vma_lookup(mm, addr);
	ret = -EFAULT;
	if (!vma)
		goto out;
	folio = hugetlb_follow_page_mask(vma, addr, 0, NULL);
	ret = -ENOENT;
	if (!folio)
		goto out;
	ret = -EINVAL;		/* anonymous rmap: not modelled */
	if (!READ_ONCE(folio->anon))
		ret = folio_referenced(folio, vma_mapping(vma));
	folio_put(folio);
out:
	up_read(&mm->mmap_lock);
	return ret;
}
