// SPDX-License-Identifier: MIT
/*
 * hugetlbfs: files (memfd_create(MFD_HUGETLB)), their page cache, the
 * i_mmap tree of the VMAs that map them, and the two paths that take
 * pages out of a file while it may be mapped: truncate and hole punch.
 *
 * Lock order (sync/lock.h ranks):
 *   mmap_lock -> i_rwsem -> hugetlb fault mutex -> vma lock -> i_mmap_rwsem
 *     -> folio lock -> ptl -> i_pages lock, hugetlb_lock, resv_map lock
 * i_rwsem is taken by mmap (reservations), truncate, fallocate and hole
 * punch; MADV_REMOVE drops mmap_lock before it punches, as the kernel
 * does.  The fault mutex of an index is what excludes a fault on it: a
 * fault holds it from the page cache lookup until the entry is set;
 * removal holds it from the last unmap until the page is out of the
 * cache.
 *
 * Invariants kept:
 *  - each folio in the page cache has mapping == &inode->i_data, index ==
 *    its slot, and one reference owned by the cache; nrpages counts the
 *    occupied slots; slots and nrpages change under the i_pages lock,
 *    and a folio leaves the cache only under its folio lock;
 *  - every page-cache index is in the inode's resv_map (put there by
 *    alloc_hugetlb_folio() for a shared mapping or fallocate), so that
 *    truncate's region_del() less the pages it freed is exactly the
 *    reservations it gives back;
 *  - a folio leaves the cache only with the fault mutex of its index
 *    held and no entry mapping it left (checked again under the folio
 *    lock), so no fault can map a folio the cache no longer holds;
 *  - hugetlb_vma_maps_page() walks a VMA's tables only with i_mmap_rwsem
 *    held (for write), the protection the walk rule accepts;
 *  - the i_mmap list holds exactly the VMAs that map the file, sorted by
 *    vm_pgoff like the kernel's interval tree; it changes only under
 *    i_mmap_rwsem for write;
 *  - i_size changes only under i_rwsem for write; readers use READ_ONCE;
 *  - the inode lives while it is open or mapped: refs counts the open
 *    fd and each VMA; the last reference evicts it (every page removed,
 *    every reservation given back) and frees it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <hugewalk/file.h>

#include "mm/internal.h"

/* ---- i_rwsem and i_mmap_rwsem ------------------------------------------- */

static void inode_lock(struct hw_file *inode)
{
	down_write(&inode->i_rwsem);
}

static void inode_unlock(struct hw_file *inode)
{
	up_write(&inode->i_rwsem);
}

/**
 * i_mmap_lock_read() - take @mapping's i_mmap_rwsem for read.
 * @mapping: the file's address_space.
 *
 * Context: may sleep; after the vma lock, before folio locks and ptls.
 */
void i_mmap_lock_read(struct address_space *mapping)
{
	down_read(&mapping->i_mmap_rwsem);
}

/**
 * i_mmap_unlock_read() - release i_mmap_rwsem taken for read.
 * @mapping: the file's address_space.
 *
 * Context: i_mmap_rwsem held for read.
 */
void i_mmap_unlock_read(struct address_space *mapping)
{
	up_read(&mapping->i_mmap_rwsem);
}

/**
 * i_mmap_lock_write() - take @mapping's i_mmap_rwsem for write.
 * @mapping: the file's address_space.
 *
 * Context: may sleep; after the vma lock, before folio locks and ptls.
 */
void i_mmap_lock_write(struct address_space *mapping)
{
	down_write(&mapping->i_mmap_rwsem);
}

/**
 * i_mmap_unlock_write() - release i_mmap_rwsem taken for write.
 * @mapping: the file's address_space.
 *
 * Context: i_mmap_rwsem held for write.
 */
void i_mmap_unlock_write(struct address_space *mapping)
{
	up_write(&mapping->i_mmap_rwsem);
}

/**
 * i_mmap_assert_write_locked() - lockdep: this task holds @mapping's
 * i_mmap_rwsem for write.
 * @mapping: the file's address_space.
 *
 * Context: any.
 */
void i_mmap_assert_write_locked(struct address_space *mapping)
{
	lockdep_assert_held_write(&mapping->i_mmap_rwsem);
}

/**
 * i_mmap_assert_locked() - lockdep: this task holds @mapping's
 * i_mmap_rwsem, for read or write.
 * @mapping: the file's address_space.
 *
 * Context: any.
 */
void i_mmap_assert_locked(struct address_space *mapping)
{
	lockdep_assert_held(&mapping->i_mmap_rwsem);
}

/**
 * vma_interval_tree_insert() - @vma now maps @mapping.
 * @vma: a VMA of the file, not yet in the tree.
 * @mapping: its file's address_space.
 *
 * Kept in vm_pgoff order, equal offsets in insertion order, which is the
 * order the kernel's interval tree yields them in.
 *
 * Context: i_mmap_rwsem (write).
 */
void vma_interval_tree_insert(struct vm_area_struct *vma,
			      struct address_space *mapping)
{
	struct vm_area_struct *pos;

	i_mmap_assert_write_locked(mapping);
	BUG_ON(vma_mapping(vma) != mapping);
	list_for_each_entry(pos, &mapping->i_mmap, shared)
		if (pos->vm_pgoff > vma->vm_pgoff)
			break;
	list_add_tail(&vma->shared, &pos->shared);
}

/**
 * vma_interval_tree_insert_after() - fork's copy @vma of @prev now maps
 * @mapping, right after @prev (dup_mmap() puts it there, so that rmap
 * walks meet the parent's VMA and then the child's).
 * @vma: the child's VMA, not yet in the tree.
 * @prev: the parent's VMA it copies, in the tree.
 * @mapping: their file's address_space.
 *
 * Context: i_mmap_rwsem (write).
 */
void vma_interval_tree_insert_after(struct vm_area_struct *vma,
				    struct vm_area_struct *prev,
				    struct address_space *mapping)
{
	i_mmap_assert_write_locked(mapping);
	BUG_ON(vma_mapping(vma) != mapping || vma_mapping(prev) != mapping);
	BUG_ON(vma->vm_pgoff != prev->vm_pgoff);
	list_add(&vma->shared, &prev->shared);
}

/**
 * vma_interval_tree_remove() - @vma no longer maps @mapping.
 * @vma: a VMA in the tree.
 * @mapping: its file's address_space.
 *
 * Context: i_mmap_rwsem (write).
 */
void vma_interval_tree_remove(struct vm_area_struct *vma,
			      struct address_space *mapping)
{
	i_mmap_assert_write_locked(mapping);
	BUG_ON(list_empty(&vma->shared));
	list_del_init(&vma->shared);
}

/* ---- the page cache ----------------------------------------------------- */

/*
 * i_pages is a three-level radix of 512-entry tables indexed by huge page
 * index: top[idx >> 18] -> mid[(idx >> 9) & 511] -> leaf[idx & 511], a
 * folio pointer.  Tables are made on first insertion and freed with the
 * inode.  The field's declared type has one indirection too few for
 * three levels of tables, hence pc_top().
 */
#define PC_SHIFT	9
#define PC_FANOUT	(1UL << PC_SHIFT)
#define PC_MASK		(PC_FANOUT - 1)

static struct folio ****pc_top(struct address_space *mapping)
{
	return mapping->i_pages;
}

static void *pc_table(void)
{
	return calloc(PC_FANOUT, sizeof(void *));
}

/*
 * pc_slot() - the slot of @idx, making the tables on the way if @create.
 * Context: i_pages lock.
 * Return: the slot, or NULL (absent, out of range, or out of memory).
 */
static struct folio **pc_slot(struct address_space *mapping,
			      unsigned long idx, bool create)
{
	struct folio ****top = pc_top(mapping);
	struct folio ***mid;
	struct folio **leaf;

	lockdep_assert_held(&mapping->i_pages_lock);
	if (idx >= HUGETLBFS_MAX_INDEX)
		return NULL;
	if (!top) {
		if (!create || !(top = pc_table()))
			return NULL;
		mapping->i_pages = (void *)top;
	}
	mid = top[idx >> (2 * PC_SHIFT)];
	if (!mid) {
		if (!create || !(mid = pc_table()))
			return NULL;
		top[idx >> (2 * PC_SHIFT)] = mid;
	}
	leaf = mid[(idx >> PC_SHIFT) & PC_MASK];
	if (!leaf) {
		if (!create || !(leaf = pc_table()))
			return NULL;
		mid[(idx >> PC_SHIFT) & PC_MASK] = leaf;
	}
	return &leaf[idx & PC_MASK];
}

/* Free the tables of an inode that is going away. */
static void pc_free(struct address_space *mapping)
{
	struct folio ****top = pc_top(mapping);
	unsigned long i, j;

	if (!top)
		return;
	for (i = 0; i < PC_FANOUT; i++) {
		if (!top[i])
			continue;
		for (j = 0; j < PC_FANOUT; j++)
			free(top[i][j]);
		free(top[i]);
	}
	free(top);
	mapping->i_pages = NULL;
}

/*
 * filemap_next_hugetlb_folio() - the first cached folio at an index in
 * [*@idx, @end), referenced; *@idx is set to its index.  Empty subtrees
 * are skipped whole.
 * Context: takes the i_pages lock.
 * Return: the folio, or NULL if there is none.
 */
static struct folio *filemap_next_hugetlb_folio(struct address_space *mapping,
						unsigned long *idx,
						unsigned long end)
{
	unsigned long i = *idx;
	struct folio ****top;
	struct folio ***mid;
	struct folio **leaf;
	struct folio *folio = NULL;

	if (end > HUGETLBFS_MAX_INDEX)
		end = HUGETLBFS_MAX_INDEX;
	spin_lock(&mapping->i_pages_lock);
	top = pc_top(mapping);
	while (top && i < end) {
		mid = top[i >> (2 * PC_SHIFT)];
		if (!mid) {
			i = (i | ((1UL << (2 * PC_SHIFT)) - 1)) + 1;
			continue;
		}
		leaf = mid[(i >> PC_SHIFT) & PC_MASK];
		if (!leaf) {
			i = (i | PC_MASK) + 1;
			continue;
		}
		folio = leaf[i & PC_MASK];
		if (folio) {
			folio_get(folio);
			break;
		}
		i++;
	}
	spin_unlock(&mapping->i_pages_lock);
	*idx = i;
	return folio;
}

/*
 * for_each_hugetlb_folio() - each folio in @mapping's cache at an index
 * in [@start, @end), in index order, referenced: the body must
 * folio_put() it.  Folios added behind the cursor are not seen.
 */
#define for_each_hugetlb_folio(folio, mapping, idx, start, end)		\
	for ((idx) = (start);						\
	     ((folio) = filemap_next_hugetlb_folio((mapping), &(idx), (end))); \
	     (idx)++)

/**
 * filemap_get_hugetlb_folio() - look up page @idx of @mapping.
 * @mapping: the file's address_space.
 * @idx: huge page index.
 *
 * Context: takes the i_pages lock.
 * Return: the folio with a reference (not locked), or NULL.
 */
struct folio *filemap_get_hugetlb_folio(struct address_space *mapping,
					unsigned long idx)
{
	struct folio **slot, *folio = NULL;

	spin_lock(&mapping->i_pages_lock);
	slot = pc_slot(mapping, idx, false);
	if (slot && *slot) {
		folio = *slot;
		folio_get(folio);
	}
	spin_unlock(&mapping->i_pages_lock);
	return folio;
}

/**
 * filemap_lock_hugetlb_folio() - look up page @idx of @mapping and lock
 * it, retrying if it left the cache while we slept on its lock.
 * @mapping: the file's address_space.
 * @idx: huge page index.
 *
 * Context: may sleep on the folio lock: not under a ptl.
 * Return: the folio, referenced and locked, or NULL.
 */
struct folio *filemap_lock_hugetlb_folio(struct address_space *mapping,
					 unsigned long idx)
{
	struct folio *folio;

	for (;;) {
		folio = filemap_get_hugetlb_folio(mapping, idx);
		if (!folio)
			return NULL;
		folio_lock(folio);
		if (likely(folio->mapping == mapping && folio->index == idx))
			return folio;
		folio_unlock(folio);
		folio_put(folio);
	}
}

/**
 * hugetlb_add_to_page_cache() - insert @folio at @idx of @mapping.
 * @folio: a new folio from alloc_hugetlb_folio(), referenced.
 * @mapping: the file's address_space.
 * @idx: huge page index.
 *
 * The cache takes its own reference, and the reservation the folio may
 * have consumed is now its page (restore_reserve is cleared).  Unlike
 * the kernel, the folio is not returned locked: whoever could find it
 * in the cache first takes the fault mutex that the caller holds.
 *
 * Context: the fault mutex of @idx (or i_rwsem and it, for fallocate);
 * takes the i_pages lock.
 * Return: 0; -EEXIST if @idx is cached already; -EFBIG if @idx is past
 * HUGETLBFS_MAX_INDEX; -ENOMEM if a table could not be allocated.
 */
int hugetlb_add_to_page_cache(struct folio *folio,
			      struct address_space *mapping,
			      unsigned long idx)
{
	struct folio **slot;
	int err = 0;

	BUG_ON(folio->mapping || folio->anon || folio_mapped(folio));
	BUG_ON(atomic_read(&folio->_refcount) <= 0);
	if (idx >= HUGETLBFS_MAX_INDEX)
		return -EFBIG;
	spin_lock(&mapping->i_pages_lock);
	slot = pc_slot(mapping, idx, true);
	if (!slot) {
		err = -ENOMEM;
		goto out_unlock;
	}
	if (*slot) {
		err = -EEXIST;
		goto out_unlock;
	}
	folio_get(folio);		/* the page cache's reference */
	folio->mapping = mapping;
	folio->index = idx;
	folio->restore_reserve = false;
	*slot = folio;
	mapping->nrpages++;
out_unlock:
	spin_unlock(&mapping->i_pages_lock);
	return err;
}

/**
 * hugetlb_delete_from_page_cache() - take @folio out of its file's page
 * cache and drop the cache's reference.
 * @folio: a cached folio; the caller holds its own reference too.
 *
 * Context: folio lock held; takes the i_pages lock.
 */
void hugetlb_delete_from_page_cache(struct folio *folio)
{
	struct address_space *mapping = folio->mapping;
	struct folio **slot;

	lockdep_assert_held(&folio->lock);
	BUG_ON(!mapping);
	BUG_ON(atomic_read(&folio->_refcount) < 2);
	spin_lock(&mapping->i_pages_lock);
	slot = pc_slot(mapping, folio->index, false);
	BUG_ON(!slot || *slot != folio);
	*slot = NULL;
	mapping->nrpages--;
	folio->mapping = NULL;
	spin_unlock(&mapping->i_pages_lock);
	folio_put(folio);		/* the cache's; the caller's remains */
}

/**
 * hugetlb_replace_page_cache_folio() - migration: @new takes @old's place
 * in @mapping's page cache (migrate_huge_page_move_mapping()).
 * @mapping: the file's address_space.
 * @old: a cached folio; the caller holds its own reference too.
 * @new: a new folio from the pool, in no cache, not mapped.
 *
 * The cache's reference moves: @new gains one, @old loses its.
 *
 * Context: the fault mutex of the index; @old locked (@new may be);
 * takes the i_pages lock.
 */
void hugetlb_replace_page_cache_folio(struct address_space *mapping,
				      struct folio *old, struct folio *new)
{
	struct folio **slot;

	lockdep_assert_held(&old->lock);
	BUG_ON(old->mapping != mapping);
	BUG_ON(new->mapping || new->anon || folio_mapped(new));
	BUG_ON(atomic_read(&old->_refcount) < 2);
	folio_get(new);			/* the page cache's reference */
	spin_lock(&mapping->i_pages_lock);
	slot = pc_slot(mapping, old->index, false);
	BUG_ON(!slot || *slot != old);
	new->mapping = mapping;
	new->index = old->index;
	new->restore_reserve = false;
	*slot = new;
	old->mapping = NULL;
	spin_unlock(&mapping->i_pages_lock);
	folio_put(old);			/* the cache's; the caller's remains */
}

/* ---- unmapping a file range from every VMA ------------------------------ */

static struct mutex *hugetlb_fault_mutex(struct address_space *mapping,
					 unsigned long idx)
{
	struct hw_system *sys = mapping->host->sys;

	return &sys->fault_mutex_table[hugetlb_fault_mutex_hash(mapping, idx)];
}

/**
 * hugetlb_vma_maps_page() - does @vma map @folio at @addr?
 * @vma: a VMA of the folio's file.
 * @addr: the address in @vma of the folio's file offset.
 * @folio: the folio.
 *
 * Call site SITE_VMA_MAPS_PAGE: it walks @vma's tables, and those may be
 * shared with another mm, which is what i_mmap_rwsem guards here.
 *
 * Context: i_mmap_rwsem (the walk rule); the fault mutex of the index,
 * so no fault can map the folio meanwhile.
 * Return: true iff a present huge entry at @addr points at @folio.
 */
bool hugetlb_vma_maps_page(struct vm_area_struct *vma, unsigned long addr,
			   struct folio *folio)
{
	unsigned int taken;
	bool ret = false;
	pte_t *ptep, pte;

	i_mmap_assert_locked(vma_mapping(vma));
	/* The policy may add to i_mmap_rwsem (the RFC: RCU), never take it. */
	taken = hugetlb_walk_begin(SITE_VMA_MAPS_PAGE, vma);
	ptep = hugetlb_walk(vma, addr, HPAGE_SIZE);
	if (ptep) {
		pte = huge_ptep_get(ptep);
		ret = !huge_pte_none(pte) && pte_present(pte) &&
		      pte_pfn(pte) == folio->pfn;
	}
	hugetlb_walk_end(vma, taken);
	return ret;
}

/* The address in @vma of file offset @start (PAGE units), or vm_start. */
static unsigned long vma_offset_start(struct vm_area_struct *vma,
				      unsigned long start)
{
	if (vma->vm_pgoff >= start)
		return vma->vm_start;
	return vma->vm_start + ((start - vma->vm_pgoff) << PAGE_SHIFT);
}

/* The address in @vma of file offset @end (0: to the end), capped. */
static unsigned long vma_offset_end(struct vm_area_struct *vma,
				    unsigned long end)
{
	unsigned long t_end;

	if (!end)
		return vma->vm_end;
	t_end = vma->vm_start + ((end - vma->vm_pgoff) << PAGE_SHIFT);
	return t_end < vma->vm_end ? t_end : vma->vm_end;
}

/*
 * hugetlb_vmdelete_list() - unmap file offsets [@start, @end) (PAGE
 * units; @end 0: to the end) from every VMA of @mapping.  A VMA whose
 * vma lock is contended (a fault holds it) is skipped:
 * remove_inode_hugepages() unmaps each page again under the fault mutex.
 * Context: i_mmap_rwsem (write).
 */
static void hugetlb_vmdelete_list(struct address_space *mapping,
				  unsigned long start, unsigned long end,
				  unsigned int zap_flags)
{
	struct vm_area_struct *vma;

	i_mmap_assert_write_locked(mapping);
	vma_interval_tree_foreach(vma, mapping, start,
				  end ? end - 1 : ULONG_MAX) {
		/* Under i_mmap_rwsem the vma lock may only be tried. */
		if (!hugetlb_vma_trylock_write(vma))
			continue;
		unmap_hugepage_range(vma, vma_offset_start(vma, start),
				     vma_offset_end(vma, end), NULL,
				     zap_flags);
		hugetlb_vma_unlock_write(vma);
	}
}

/*
 * hugetlb_unmap_file_folio() - unmap @folio (page @idx) from every VMA
 * that still maps it: it was faulted in after hugetlb_vmdelete_list(),
 * or that skipped a VMA whose lock was contended.
 *
 * The vma lock nests outside i_mmap_rwsem, so a contended one cannot be
 * waited for here: pin the lock object, drop i_mmap_rwsem, sleep on the
 * lock, retake i_mmap_rwsem, and only then look whether the VMA still
 * exists (vma_lock->vma is cleared under the lock at teardown).
 *
 * Context: the fault mutex of @idx, so no new mapping of @folio appears.
 */
static void hugetlb_unmap_file_folio(struct address_space *mapping,
				     struct folio *folio, unsigned long idx)
{
	unsigned long start = idx << (HPAGE_SHIFT - PAGE_SHIFT);
	unsigned long end = start + HPAGE_PMD_NR;
	struct hugetlb_vma_lock *vma_lock;
	struct vm_area_struct *vma;
	unsigned long v_start;

	i_mmap_lock_write(mapping);
	for (;;) {
		vma_lock = NULL;
		vma_interval_tree_foreach(vma, mapping, start, end - 1) {
			v_start = vma_offset_start(vma, start);
			if (!hugetlb_vma_maps_page(vma, v_start, folio))
				continue;
			if (!hugetlb_vma_trylock_write(vma)) {
				vma_lock = READ_ONCE(vma->vm_private_data);
				BUG_ON(!vma_lock);
				/* Keeps the object alive without i_mmap. */
				atomic_inc(&vma_lock->refs);
				break;
			}
			unmap_hugepage_range(vma, v_start,
					     vma_offset_end(vma, end), NULL,
					     ZAP_FLAG_DROP_MARKER);
			hugetlb_vma_unlock_write(vma);
		}
		if (!vma_lock)
			break;

		i_mmap_unlock_write(mapping);
		down_write(&vma_lock->rw_sema);
		i_mmap_lock_write(mapping);
		vma = vma_lock->vma;
		if (vma) {
			/* Still attached: the VMA lives; unmap if needed. */
			v_start = vma_offset_start(vma, start);
			if (hugetlb_vma_maps_page(vma, v_start, folio))
				unmap_hugepage_range(vma, v_start,
						     vma_offset_end(vma, end),
						     NULL,
						     ZAP_FLAG_DROP_MARKER);
		}
		up_write(&vma_lock->rw_sema);
		hugetlb_vma_lock_release(vma_lock);
		/* The tree may have changed while we slept: look again. */
	}
	i_mmap_unlock_write(mapping);
}

/* ---- removing pages: truncate, hole punch, eviction --------------------- */

enum remove_result {
	FOLIO_REMOVED,
	FOLIO_GONE,		/* no longer this cache's: look again */
};

/*
 * remove_inode_single_folio() - take @folio (page @idx) out of the file.
 * Context: the fault mutex of @idx; the caller holds a reference.
 */
static enum remove_result remove_inode_single_folio(struct hw_file *inode,
						    struct folio *folio,
						    unsigned long idx,
						    bool truncate_op)
{
	struct address_space *mapping = &inode->i_data;

	lockdep_assert_held(hugetlb_fault_mutex(mapping, idx));
	for (;;) {
		if (unlikely(folio_mapped(folio)))
			hugetlb_unmap_file_folio(mapping, folio, idx);
		folio_lock(folio);
		if (unlikely(folio->mapping != mapping)) {
			/* Replaced by migration since we looked it up. */
			folio_unlock(folio);
			return FOLIO_GONE;
		}
		/*
		 * Mapped again: a migration that had replaced the entries
		 * while we looked restored them when it failed.  The
		 * kernel closes this by taking the folio lock before the
		 * unmap (7b7387650dcf, "mm/hugetlb: fix folio is still
		 * mapped when deleted"), which the hugetlb lock order
		 * here (i_mmap_rwsem before the folio lock) forbids; with
		 * the folio lock held no migration runs, so look again.
		 */
		if (likely(!folio_mapped(folio)))
			break;
		folio_unlock(folio);
	}
	BUG_ON(folio->restore_reserve);
	hugetlb_delete_from_page_cache(folio);
	/* Hole punch: only the instantiated page's reservation entry goes. */
	if (!truncate_op)
		hugetlb_unreserve_pages(inode, idx, idx + 1, 1);
	folio_unlock(folio);
	return FOLIO_REMOVED;
}

/*
 * remove_inode_hugepages() - remove the pages of byte range [@lstart,
 * @lend) from @inode.  @lend == LLONG_MAX is a truncate: afterwards every
 * reservation from @lstart on is given back too.  Otherwise a hole punch:
 * only the entries of the pages removed leave the reservation map, and
 * reservations of pages never instantiated stay, as in the kernel.
 * Context: i_rwsem (write), or the inode is being evicted.
 */
static void remove_inode_hugepages(struct hw_file *inode, loff_t lstart,
				   loff_t lend)
{
	struct address_space *mapping = &inode->i_data;
	bool truncate_op = lend == LLONG_MAX;
	unsigned long start = lstart >> HPAGE_SHIFT;
	unsigned long end = truncate_op ? HUGETLBFS_MAX_INDEX
					: (unsigned long)lend >> HPAGE_SHIFT;
	enum remove_result res;
	struct folio *folio;
	struct mutex *fault_mutex;
	unsigned long idx;
	long freed = 0;

	for_each_hugetlb_folio(folio, mapping, idx, start, end) {
		fault_mutex = hugetlb_fault_mutex(mapping, idx);
		mutex_lock(fault_mutex);
		res = remove_inode_single_folio(inode, folio, idx,
						truncate_op);
		mutex_unlock(fault_mutex);
		folio_put(folio);	/* the lookup's: may free it */
		if (res == FOLIO_REMOVED)
			freed++;
		else
			idx--;		/* the same index, its new folio */
	}
	if (truncate_op)
		hugetlb_unreserve_pages(inode, start, LONG_MAX, freed);
}

/*
 * hugetlb_vmtruncate() - set the size to @offset, unmap and remove every
 * page past it, and give back the reservations past it.
 * Context: i_rwsem (write).
 */
static void hugetlb_vmtruncate(struct hw_file *inode, loff_t offset)
{
	struct address_space *mapping = &inode->i_data;

	lockdep_assert_held_write(&inode->i_rwsem);
	BUG_ON(offset & ~HPAGE_MASK);
	WRITE_ONCE(inode->i_size, offset);
	i_mmap_lock_write(mapping);
	if (!list_empty(&mapping->i_mmap))
		hugetlb_vmdelete_list(mapping, offset >> PAGE_SHIFT, 0,
				      ZAP_FLAG_DROP_MARKER);
	i_mmap_unlock_write(mapping);
	remove_inode_hugepages(inode, offset, LLONG_MAX);
}

/*
 * hugetlbfs_zero_partial_page() - zero bytes [@start, @end) of one
 * page.  A page here is a tag, not bytes: zeroing any part of it zeroes
 * the tag.
 * Context: i_rwsem (write), i_mmap_rwsem (write).
 */
static void hugetlbfs_zero_partial_page(struct address_space *mapping,
					loff_t start)
{
	struct folio *folio;

	folio = filemap_lock_hugetlb_folio(mapping, start >> HPAGE_SHIFT);
	if (!folio)
		return;
	WRITE_ONCE(folio->tag, 0);
	folio_unlock(folio);
	folio_put(folio);
}

/**
 * hugetlbfs_punch_hole() - fallocate(PUNCH_HOLE | KEEP_SIZE): remove the
 * whole pages inside [@off, @off + @len) from the file and from every
 * mapping; zero the partial pages at the edges.
 * @inode: the file.
 * @off: byte offset.
 * @len: byte length, @off + @len not overflowing (the caller checked).
 *
 * Context: takes i_rwsem; the caller holds no lock of the subsystem
 * (MADV_REMOVE drops mmap_lock first, as the kernel does).
 * Return: 0.
 */
int hugetlbfs_punch_hole(struct hw_file *inode, uint64_t off, uint64_t len)
{
	struct address_space *mapping = &inode->i_data;
	uint64_t hole_start = (off + HPAGE_SIZE - 1) & HPAGE_MASK;
	uint64_t hole_end = (off + len) & HPAGE_MASK;

	BUG_ON(off + len < off);
	inode_lock(inode);
	i_mmap_lock_write(mapping);

	if (off < hole_start)
		hugetlbfs_zero_partial_page(mapping, off);
	if (hole_end > hole_start && !list_empty(&mapping->i_mmap))
		hugetlb_vmdelete_list(mapping, hole_start >> PAGE_SHIFT,
				      hole_end >> PAGE_SHIFT, 0);
	if (off + len > hole_end && off + len > hole_start)
		hugetlbfs_zero_partial_page(mapping, hole_end);

	i_mmap_unlock_write(mapping);
	if (hole_end > hole_start)
		remove_inode_hugepages(inode, hole_start, hole_end);
	inode_unlock(inode);
	return 0;
}

/* ---- files -------------------------------------------------------------- */

/**
 * hw_memfd_create() - memfd_create(name, MFD_HUGETLB): an empty file.
 * @sys: the system.
 * @name: the file's name, for display; longer names are cut.
 *
 * Context: a registered task; takes the system's lists lock.
 * Return: the file (holding one open reference), or NULL with errno set:
 * EFAULT for a NULL @name, ENOMEM.
 */
struct hw_file *hw_memfd_create(struct hw_system *sys, const char *name)
{
	struct hw_file *file;

	if (!name) {
		errno = EFAULT;
		return NULL;
	}
	file = calloc(1, sizeof(*file));
	if (!file)
		goto err_nomem;
	file->resv_map = resv_map_alloc();
	if (!file->resv_map)
		goto out_free_file;

	snprintf(file->name, sizeof(file->name), "%s", name);
	file->sys = sys;
	init_rwsem(&file->i_rwsem, &i_rwsem_class);
	file->i_data.host = file;
	init_rwsem(&file->i_data.i_mmap_rwsem, &i_mmap_class);
	INIT_LIST_HEAD(&file->i_data.i_mmap);
	spin_lock_init(&file->i_data.i_pages_lock, &i_pages_class);
	atomic_set(&file->refs, 1);
	file->open = true;

	mutex_lock(&sys->lists_lock);
	list_add_tail(&file->list, &sys->files);
	mutex_unlock(&sys->lists_lock);
	return file;

out_free_file:
	free(file);
err_nomem:
	errno = ENOMEM;
	return NULL;
}

/*
 * hugetlbfs_evict_inode() - the last reference went: remove every page,
 * give back every reservation, free the inode.
 */
static void hugetlbfs_evict_inode(struct hw_file *inode)
{
	struct hw_system *sys = inode->sys;

	BUG_ON(inode->open);
	BUG_ON(!list_empty(&inode->i_data.i_mmap));
	remove_inode_hugepages(inode, 0, LLONG_MAX);
	BUG_ON(inode->i_data.nrpages);
	BUG_ON(inode->resv_map->nr);

	mutex_lock(&sys->lists_lock);
	list_del_init(&inode->list);
	mutex_unlock(&sys->lists_lock);

	resv_map_put(inode->resv_map);
	pc_free(&inode->i_data);
	spin_lock_destroy(&inode->i_data.i_pages_lock);
	destroy_rwsem(&inode->i_data.i_mmap_rwsem);
	destroy_rwsem(&inode->i_rwsem);
	free(inode);
}

/**
 * file_get() - a new reference on @file (a new VMA, a syscall in flight).
 * @file: a live file.
 *
 * Context: any; the caller holds a reference already.
 */
void file_get(struct hw_file *file)
{
	BUG_ON(atomic_add_return(1, &file->refs) <= 1);
}

/**
 * file_put() - drop a reference; the last one evicts and frees @file.
 * @file: the file.
 *
 * Context: the last put takes fault mutexes, folio locks and the lists
 * lock: the caller holds nothing after mmap_lock in the lock order
 * (no vma lock, i_mmap_rwsem, ...) and not the lists lock.
 */
void file_put(struct hw_file *file)
{
	int n = atomic_add_return(-1, &file->refs);

	BUG_ON(n < 0);
	if (!n)
		hugetlbfs_evict_inode(file);
}

/**
 * hw_file_close() - close(2): drop the open reference; the file lives on
 * while mapped.
 * @file: an open file; closing it twice is a bug.
 *
 * Context: a registered task holding no lock.
 */
void hw_file_close(struct hw_file *file)
{
	inode_lock(file);
	BUG_ON(!file->open);
	WRITE_ONCE(file->open, false);
	inode_unlock(file);
	file_put(file);
}

/**
 * hw_file_size() - the file's size (i_size).
 * @file: the file.
 *
 * Context: any.
 * Return: the size in bytes.
 */
uint64_t hw_file_size(struct hw_file *file)
{
	return READ_ONCE(file->i_size);
}

/**
 * hw_file_name() - the name given to hw_memfd_create().
 * @file: the file.
 *
 * Context: any.
 * Return: the name.
 */
const char *hw_file_name(const struct hw_file *file)
{
	return file->name;
}

/**
 * hw_ftruncate() - ftruncate(2): set the size.  Any size change runs
 * hugetlb_vmtruncate(), as the kernel's setattr does: pages past the
 * new size are unmapped from every VMA and freed, and reservations past
 * it (a read-only mapping may reserve beyond EOF) are given back.
 * @file: an open file.
 * @size: the new size.
 *
 * Context: a registered task holding no lock; takes i_rwsem.
 * Return: 0; -EINVAL for a negative size or one not a multiple of the
 * huge page size; -EFBIG past HUGETLBFS_MAXBYTES; -EBADF if closed.
 */
int hw_ftruncate(struct hw_file *file, uint64_t size)
{
	if (size > INT64_MAX)
		return -EINVAL;
	if (!READ_ONCE(file->open))
		return -EBADF;
	if (size > HUGETLBFS_MAXBYTES)
		return -EFBIG;
	if (size & ~HPAGE_MASK)
		return -EINVAL;
	inode_lock(file);
	hugetlb_vmtruncate(file, size);
	inode_unlock(file);
	return 0;
}

/*
 * hugetlbfs_fallocate_pages() - instantiate the pages of indices
 * [@start, @end) that are not cached yet, consuming the inode's
 * reservations where they exist (as a shared fault would).
 * Context: i_rwsem (write).
 * Return: 0, or -ENOSPC when the pool runs out (pages added stay).
 */
static int hugetlbfs_fallocate_pages(struct hw_file *inode,
				     unsigned long start, unsigned long end)
{
	struct address_space *mapping = &inode->i_data;
	struct vm_area_struct pseudo_vma = {
		.vm_start = 0,
		.vm_end = HUGETLBFS_MAXBYTES,
		.vm_flags = VM_HUGETLB | VM_MAYSHARE | VM_SHARED,
		.vm_pgoff = 0,
		.vm_file = inode,
	};
	struct mutex *fault_mutex;
	struct folio *folio;
	unsigned long idx;
	int err = 0;

	lockdep_assert_held_write(&inode->i_rwsem);
	for (idx = start; idx < end; idx++) {
		fault_mutex = hugetlb_fault_mutex(mapping, idx);
		mutex_lock(fault_mutex);
		folio = filemap_get_hugetlb_folio(mapping, idx);
		if (folio) {
			folio_put(folio);
			mutex_unlock(fault_mutex);
			continue;
		}
		folio = alloc_hugetlb_folio(&pseudo_vma, idx << HPAGE_SHIFT);
		if (!folio) {
			err = -ENOSPC;
			goto out_unlock;
		}
		err = hugetlb_add_to_page_cache(folio, mapping, idx);
		if (unlikely(err)) {
			restore_reserve_on_error(&pseudo_vma,
						 idx << HPAGE_SHIFT, folio);
			folio_put(folio);
			goto out_unlock;
		}
		mutex_unlock(fault_mutex);
		folio_put(folio);	/* the cache's reference remains */
	}
	return 0;

out_unlock:
	mutex_unlock(fault_mutex);
	return err;
}

/**
 * hw_fallocate() - fallocate(2) on a hugetlbfs file.
 * @file: an open file.
 * @mode: 0 or HW_FALLOC_KEEP_SIZE to allocate whole pages covering the
 *        range into the page cache (extending the size to @off + @len
 *        unless KEEP_SIZE); HW_FALLOC_PUNCH_HOLE | HW_FALLOC_KEEP_SIZE to
 *        punch a hole.
 * @off: byte offset.
 * @len: byte length.
 *
 * Context: a registered task holding no lock; takes i_rwsem.
 * Return: 0; -EINVAL for a negative offset or a length <= 0;
 * -EOPNOTSUPP for an unknown mode bit or PUNCH_HOLE without KEEP_SIZE;
 * -EBADF if closed; -EFBIG if @off + @len overflows or passes
 * HUGETLBFS_MAXBYTES; -ENOSPC when the pool is exhausted (pages
 * allocated so far stay, the size is not changed).
 */
/*
 * vfs_fallocate() on @file; @by_fd: reached through a descriptor, which
 * must still be open (fallocate(2)), rather than through a mapping's
 * file reference (MADV_REMOVE), which keeps the file open itself.
 */
static int do_fallocate(struct hw_file *file, int mode, uint64_t off,
			uint64_t len, bool by_fd)
{
	unsigned long start, end;
	int err;

	/* vfs_fallocate()'s checks, in its order. */
	if (off > INT64_MAX || len > INT64_MAX || !len)
		return -EINVAL;
	if (mode & ~(HW_FALLOC_KEEP_SIZE | HW_FALLOC_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if ((mode & HW_FALLOC_PUNCH_HOLE) && !(mode & HW_FALLOC_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (by_fd && !READ_ONCE(file->open))
		return -EBADF;
	if (off + len > INT64_MAX || off + len > HUGETLBFS_MAXBYTES)
		return -EFBIG;

	if (mode & HW_FALLOC_PUNCH_HOLE)
		return hugetlbfs_punch_hole(file, off, len);

	start = off >> HPAGE_SHIFT;
	end = (off + len + HPAGE_SIZE - 1) >> HPAGE_SHIFT;
	inode_lock(file);
	err = hugetlbfs_fallocate_pages(file, start, end);
	if (!err && !(mode & HW_FALLOC_KEEP_SIZE) &&
	    off + len > READ_ONCE(file->i_size))
		WRITE_ONCE(file->i_size, off + len);
	inode_unlock(file);
	return err;
}

int hw_fallocate(struct hw_file *file, int mode, uint64_t off, uint64_t len)
{
	return do_fallocate(file, mode, off, len, true);
}

/**
 * vfs_fallocate() - fallocate of @file through a reference to it (a
 * mapping's: MADV_REMOVE), which works whether or not its descriptor is
 * still open.
 * Context: as hw_fallocate().
 * Return: as hw_fallocate(), never -EBADF.
 */
int vfs_fallocate(struct hw_file *file, int mode, uint64_t off, uint64_t len)
{
	return do_fallocate(file, mode, off, len, false);
}
