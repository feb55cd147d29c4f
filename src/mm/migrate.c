// SPDX-License-Identifier: MIT
/*
 * Migration of hugetlb page-cache folios (move_pages(2) to the same
 * node), in the steps of the kernel's unmap_and_move_huge_page(): lock
 * the folio, replace each of its mappings by a migration entry
 * (try_to_migrate()), copy it, put the copy in its place in the page
 * cache (migrate_huge_page_move_mapping()), replace the migration
 * entries by entries of the copy (remove_migration_ptes()), unlock, and
 * wake the faults that met a migration entry meanwhile.
 *
 * Invariants kept:
 *  - from try_to_migrate() to remove_migration_ptes() the migrator holds
 *    the fault mutex of the file page, the source folio's lock and the
 *    file's i_mmap_rwsem for write.  So no fault maps the page (fault
 *    mutex), no unmap, unshare, mprotect or mremap of the file changes
 *    an entry (they hold i_mmap_rwsem for write), and the second rmap
 *    walk finds every migration entry the first one installed;
 *  - folio->migrating is set before the first migration entry pointing
 *    at the folio is installed and cleared after the last is replaced;
 *    then the folio's wait queue is woken.  A fault that saw a migration
 *    entry under the ptl and then sees migrating clear knows the entry
 *    is gone, so it can retry; if it sees it set it sleeps until the
 *    wake-up (wait_event() samples the queue before the test, so the
 *    wake-up cannot be missed);
 *  - a fault sleeps with nothing held but its mmap_lock (read): it ends
 *    its call site (ptl, vma lock or RCU) first, which might_sleep()
 *    checks;
 *  - a folio that cannot be unmapped from everywhere (a vma lock busy),
 *    or that someone else holds a reference on (a GUP pin, a lookup),
 *    is not moved: its own entries are put back and -EAGAIN returned.
 */
#include <errno.h>

#include "mm/internal.h"

/* ---- waiting for a migration -------------------------------------------- */

/**
 * migration_wq_init() - the wait queues of migration_entry_wait_huge().
 * @sys: the system being booted.
 *
 * Context: hw_system_create(), before any task runs in @sys.
 */
void migration_wq_init(struct hw_system *sys)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sys->migration_wq); i++)
		init_waitqueue_head(&sys->migration_wq[i]);
}

/**
 * migration_wq_exit() - undo migration_wq_init().
 * @sys: the system going away: no task sleeps in it any more.
 *
 * Context: hw_system_destroy().
 */
void migration_wq_exit(struct hw_system *sys)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sys->migration_wq); i++)
		destroy_waitqueue_head(&sys->migration_wq[i]);
}

/* folio_waitqueue(): one queue per hash of the pfn, as the kernel's. */
static struct wait_queue_head *migration_wq(struct hw_system *sys,
					    struct folio *folio)
{
	unsigned long h = (folio->pfn >> (PMD_SHIFT - PAGE_SHIFT)) *
			  0x9e3779b97f4a7c15UL;

	return &sys->migration_wq[h >> (64 - MIGRATION_WQ_BITS)];
}

/*
 * The flag a waiter tests.  Acquire pairs with the release in
 * folio_end_migration(): a waiter that sees the migration over also
 * sees the new entries the migrator put in before it.
 */
static bool folio_test_migrating(struct folio *folio)
{
	return smp_load_acquire(&folio->migrating);
}

static void folio_begin_migration(struct folio *folio)
{
	lockdep_assert_held(&folio->lock);
	BUG_ON(READ_ONCE(folio->migrating));
	/* Before any migration entry: ordered by the ptls they take. */
	WRITE_ONCE(folio->migrating, true);
}

static void folio_end_migration(struct hw_system *sys, struct folio *folio)
{
	lockdep_assert_held(&folio->lock);
	/* After the last migration entry is gone: see the acquire above. */
	smp_store_release(&folio->migrating, false);
	wake_up_all(migration_wq(sys, folio));
}

/**
 * migration_entry_wait_huge() - a fault met a migration entry: sleep
 * until that migration is over.
 * @vma: the faulting VMA.
 * @ptep: the entry, found inside the call site's walk.
 * @taken: what hugetlb_walk_begin(SITE_HUGETLB_FAULT, @vma) took.
 *
 * The entry is read again under its ptl (taken under the call site's
 * protection, which is what keeps the table alive: under 6.1 nothing,
 * under 6.3 the vma lock, under the RFC RCU).  Then the walk ends, as
 * the kernel's drops the vma lock, and the task sleeps on the folio's
 * wait queue holding only its mmap_lock.  The caller returns from the
 * fault; the access retries and finds the new folio.
 *
 * Context: mmap_lock (read) and the call site's protection; returns
 * with mmap_lock (read) only.  May sleep.
 */
void migration_entry_wait_huge(struct vm_area_struct *vma, pte_t *ptep,
			       unsigned int taken)
{
	struct hw_system *sys = vma->vm_mm->sys;
	struct folio *folio;
	spinlock_t *ptl;
	pte_t pte;

	lockdep_assert_held(&vma->vm_mm->mmap_lock);
	ptl = huge_pte_lock(ptep);
	pte = huge_ptep_get(ptep);
	if (!is_hugetlb_migration_entry(pte)) {
		spin_unlock(ptl);
		hugetlb_walk_end(vma, taken);
		return;
	}
	/* Folio structs are never freed: it may be used after the ptl. */
	folio = pfn_to_folio(sys, migration_entry_pfn(pte));
	spin_unlock(ptl);
	hugetlb_walk_end(vma, taken);
	atomic_long_inc(&sys->nr_migration_waits);
	wait_event(migration_wq(sys, folio), !folio_test_migrating(folio));
}

/* ---- the steps of a migration ------------------------------------------- */

/*
 * alloc_migration_target(): a free huge page that backs no reservation
 * (alloc_hugetlb_folio_nodemask()).  Return: referenced once, or NULL.
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

/*
 * remove_migration_pte() - in @vma at @addr, replace the migration entry
 * of @arg (the source folio) by an entry of @folio, as writable and as
 * young as the mapping was.
 */
static bool remove_migration_pte(struct folio *folio,
				 struct vm_area_struct *vma,
				 unsigned long addr, void *arg)
{
	struct folio *src = arg;
	struct page_vma_mapped_walk pvmw = {
		.pfn = src->pfn, .vma = vma, .address = addr,
		.flags = PVMW_MIGRATION,
	};
	pte_t entry, pte;

	while (page_vma_mapped_walk(&pvmw)) {
		entry = huge_ptep_get(pvmw.pte);
		pte = pfn_huge_pte(folio->pfn,
				   is_writable_migration_entry(entry));
		if (!is_migration_entry_young(entry))
			pte = huge_pte_mkold(pte);
		folio_get(folio);
		atomic_inc(&folio->_mapcount);
		atomic_long_inc(&vma->vm_mm->hugetlb_usage);
		set_huge_pte_at(pvmw.pte, pte);
	}
	return true;
}

/**
 * remove_migration_ptes() - replace @src's migration entries by entries
 * of @dst, in every VMA of @mapping that maps the file page.
 * @mapping: the file.
 * @src: the folio that migrated (or failed to).
 * @dst: the folio now in the page cache: the copy, or @src itself.
 *
 * Context: @src locked; i_mmap_rwsem of @mapping held for write.
 */
void remove_migration_ptes(struct address_space *mapping, struct folio *src,
			   struct folio *dst)
{
	lockdep_assert_held(&src->lock);
	i_mmap_assert_write_locked(mapping);
	rmap_walk_file_locked(dst, mapping, remove_migration_pte, src);
}

/*
 * migrate_huge_page_move_mapping() - put @dst in @src's page-cache slot.
 * Only the page cache's and the migrator's references may be left on
 * @src: anyone else (a GUP pin) could go on using it after the move.
 * Return: 0, or -EAGAIN if @src has other references.
 */
static int migrate_huge_page_move_mapping(struct address_space *mapping,
					  struct folio *dst, struct folio *src)
{
	/* folio_expected_refs(): the cache's and the caller's. */
	if (atomic_read(&src->_refcount) != 2)
		return -EAGAIN;
	hugetlb_replace_page_cache_folio(mapping, src, dst);
	return 0;
}

/* folio_migrate_copy(): the data, which nothing can write meanwhile. */
static void folio_migrate_copy(struct folio *dst, struct folio *src)
{
	WRITE_ONCE(dst->tag, READ_ONCE(src->tag));
}

/* move_to_new_folio(): hugetlbfs_migrate_folio(), copy then move. */
static int move_to_new_folio(struct address_space *mapping,
			     struct folio *dst, struct folio *src)
{
	folio_migrate_copy(dst, src);
	return migrate_huge_page_move_mapping(mapping, dst, src);
}

/**
 * unmap_and_move_huge_page() - migrate page-cache folio @src of @mapping
 * to a free huge page.
 * @sys: the system.
 * @mapping: the file @src was found in.
 * @src: the folio, referenced once by the caller.
 *
 * Context: mmap_lock (read) of the mm @src was found through; takes the
 * fault mutex of its index, its lock, and trylocks i_mmap_rwsem (which
 * nests outside the folio lock: hugetlb_folio_mapping_lock_write()).
 * May sleep.
 * Return: 0; -EAGAIN if busy (a lock contended, another reference, or
 * @src left @mapping meanwhile); -ENOMEM if no free huge page.
 */
int unmap_and_move_huge_page(struct hw_system *sys,
			     struct address_space *mapping, struct folio *src)
{
	unsigned long idx = src->index, hash;
	bool page_was_mapped = false;
	struct mutex *fault_mutex;
	struct folio *dst;
	int rc = -EAGAIN;

	dst = alloc_migration_target(sys);
	if (!dst)
		return -ENOMEM;
	hash = hugetlb_fault_mutex_hash(mapping, idx);
	fault_mutex = &sys->fault_mutex_table[hash];
	mutex_lock(fault_mutex);
	folio_lock(src);
	if (src->mapping != mapping || src->index != idx)
		goto out_unlock;	/* truncated meanwhile */

	if (folio_mapped(src)) {
		if (!down_write_trylock(&mapping->i_mmap_rwsem))
			goto out_unlock;
		folio_begin_migration(src);
		try_to_migrate(src);
		page_was_mapped = true;
	}
	if (!folio_mapped(src))
		rc = move_to_new_folio(mapping, dst, src);
	if (page_was_mapped) {
		remove_migration_ptes(mapping, src, rc ? src : dst);
		i_mmap_unlock_write(mapping);
		folio_end_migration(sys, src);
	}
out_unlock:
	folio_unlock(src);
	mutex_unlock(fault_mutex);
	/* Ours; the page cache and the entries hold their own. */
	folio_put(dst);
	return rc;
}

int hw_move_pages(struct hw_mm *mm, uint64_t addr)
{
	struct vm_area_struct *vma;
	struct folio *folio;
	int err, tries;

	down_read(&mm->mmap_lock);
	vma = vma_lookup(mm, addr);
	if (!vma) {
		err = -EFAULT;
		goto out;
	}
	/* move_pages() finds the page with follow_page(). */
	folio = hugetlb_follow_page_mask(vma, addr, 0, NULL);
	err = -ENOENT;
	if (!folio)
		goto out;
	/* Anonymous hugetlb migration: not modelled. */
	err = -EINVAL;
	if (!folio->anon) {
		/*
		 * The page cache the folio was found in: the VMA's file.  A
		 * punch may take it out meanwhile; the migration rechecks.
		 * migrate_pages() retries a busy folio, ten times.
		 */
		for (tries = 0; tries < 10; tries++) {
			err = unmap_and_move_huge_page(mm->sys,
						       vma_mapping(vma), folio);
			if (err != -EAGAIN)
				break;
		}
	}
	folio_put(folio);
out:
	up_read(&mm->mmap_lock);
	return err;
}
