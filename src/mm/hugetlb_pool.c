// SPDX-License-Identifier: MIT
/*
 * The huge page pool (struct hstate), folio reference counting, and
 * reservations: the counters of /sys/kernel/mm/hugepages/hugepages-2048kB
 * and the reservation maps behind HugePages_Rsvd.
 *
 * Invariants kept:
 *  - every folio ever made is in exactly one state: FOLIO_FREE (on
 *    hugepage_freelist, refcount 0), FOLIO_INUSE (refcount > 0, on no
 *    list of ours) or FOLIO_ABSENT (not part of the pool); state and
 *    list membership change only under hugetlb_lock;
 *  - nr_huge_pages == #FREE + #INUSE and free_huge_pages == #FREE;
 *  - resv_huge_pages <= free_huge_pages: a reservation is a promise of a
 *    free page.  An allocation that does not consume a reservation
 *    therefore needs free_huge_pages > resv_huge_pages, and shrinking the
 *    pool never takes a free page that a reservation counts on;
 *  - resv_huge_pages is the sum of: for each inode, the indices in its
 *    resv_map with no page-cache folio; for each private VMA that owns a
 *    map, the indices of its range not yet in the map (not consumed); and
 *    each allocated folio that still carries restore_reserve.  Every
 *    path that moves an index between those sets moves the count with it;
 *  - a resv_map's regions are sorted, disjoint and never adjacent; its
 *    lock and hugetlb_lock are both innermost and are never nested;
 *  - a folio's chunk is published with a release store after all its
 *    folios are initialised; pfn_to_folio() reads it with acquire.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <hugewalk/system.h>

#include "mm/internal.h"

/* ---- folio chunks ------------------------------------------------------- */

/*
 * struct folio_chunk - FOLIO_CHUNK folios and the system they belong to.
 * A chunk is allocated aligned to its own size rounded up to a power of
 * two, so the system of any folio is found from the folio's address:
 * there is no back pointer in struct folio, and folio_put() needs the
 * hstate.
 */
struct folio_chunk {
	struct hw_system *sys;
	struct folio folios[FOLIO_CHUNK];
};

static inline size_t folio_chunk_align(void)
{
	return 1UL << (64 - __builtin_clzl(sizeof(struct folio_chunk) - 1));
}

static inline struct folio_chunk *folio_chunk(struct folio *folio)
{
	return (struct folio_chunk *)((uintptr_t)folio &
				      ~(uintptr_t)(folio_chunk_align() - 1));
}

static inline struct hstate *folio_hstate(struct folio *folio)
{
	return hstate_sys(folio_chunk(folio)->sys);
}

/*
 * alloc_folio_chunk() - make chunk @c with all its folios absent, and
 * publish it.
 * Context: hugetlb_lock.
 */
static struct folio *alloc_folio_chunk(struct hw_system *sys, unsigned long c)
{
	struct hstate *h = hstate_sys(sys);
	struct folio_chunk *chunk;
	unsigned long i;

	lockdep_assert_held(&h->hugetlb_lock);
	chunk = aligned_alloc(folio_chunk_align(), folio_chunk_align());
	if (!chunk)
		return NULL;
	memset(chunk, 0, sizeof(*chunk));
	chunk->sys = sys;
	for (i = 0; i < FOLIO_CHUNK; i++) {
		struct folio *folio = &chunk->folios[i];

		folio->pfn = ((c << FOLIO_CHUNK_SHIFT) + i)
			     << (PMD_SHIFT - PAGE_SHIFT);
		folio->state = FOLIO_ABSENT;
		mutex_init(&folio->lock, &folio_lock_class);
		INIT_LIST_HEAD(&folio->lru);
	}
	/*
	 * Pairs with smp_load_acquire() in pfn_to_folio(): whoever finds
	 * the chunk sees its folios initialised.
	 */
	smp_store_release(&h->chunks[c], chunk->folios);
	return chunk->folios;
}

/* ---- the free list ------------------------------------------------------ */

static void enqueue_hugetlb_folio(struct hstate *h, struct folio *folio)
{
	lockdep_assert_held(&h->hugetlb_lock);
	folio->state = FOLIO_FREE;
	/* LIFO, as the kernel's free lists: the hottest page goes next. */
	list_add(&folio->lru, &h->hugepage_freelist);
	h->free_huge_pages++;
}

/*
 * dequeue_hugetlb_folio() - take a free page, consuming a reservation if
 * @use_reserve, else only if an unreserved free page exists.
 * Context: hugetlb_lock.
 * Return: the folio (FOLIO_INUSE, refcount 1), or NULL.
 */
static struct folio *dequeue_hugetlb_folio(struct hstate *h, bool use_reserve)
{
	struct folio *folio;

	lockdep_assert_held(&h->hugetlb_lock);
	if (!use_reserve && h->free_huge_pages <= h->resv_huge_pages)
		return NULL;
	if (list_empty(&h->hugepage_freelist))
		return NULL;
	folio = list_first_entry(&h->hugepage_freelist, struct folio, lru);
	BUG_ON(folio->state != FOLIO_FREE);
	list_del_init(&folio->lru);
	folio->state = FOLIO_INUSE;
	h->free_huge_pages--;
	if (use_reserve) {
		/*
		 * The map may hold a reservation whose count has not come
		 * back yet: its page, unmapped by the owner, is still
		 * mapped by a fork child (restore_reserve).  The kernel's
		 * counter wraps below zero then; the model owes it.
		 */
		if (h->resv_huge_pages)
			h->resv_huge_pages--;
		else
			h->resv_debt++;
		folio->restore_reserve = true;
	}
	atomic_set(&folio->_refcount, 1);
	atomic_set(&folio->_mapcount, 0);
	folio->mapping = NULL;
	folio->index = 0;
	folio->anon = false;
	WRITE_ONCE(folio->tag, 0);	/* clear_huge_page() */
	BUG_ON(h->resv_huge_pages > h->free_huge_pages);
	return folio;
}

/*
 * grow_pool() - add up to @nr free pages, reusing absent folios before
 * making new ones.
 * Context: hugetlb_lock.
 * Return: how many were added.
 */
static unsigned long grow_pool(struct hw_system *sys, unsigned long nr)
{
	struct hstate *h = hstate_sys(sys);
	unsigned long i, added = 0;
	struct folio *folio;

	lockdep_assert_held(&h->hugetlb_lock);
	for (i = 0; i < h->nr_folios && added < nr; i++) {
		folio = &h->chunks[i >> FOLIO_CHUNK_SHIFT][i & (FOLIO_CHUNK - 1)];
		if (folio->state != FOLIO_ABSENT)
			continue;
		enqueue_hugetlb_folio(h, folio);
		h->nr_huge_pages++;
		added++;
	}
	while (added < nr) {
		unsigned long c = h->nr_folios >> FOLIO_CHUNK_SHIFT;
		struct folio *chunk;

		if (c >= FOLIO_MAX_CHUNKS)
			break;
		chunk = h->chunks[c];
		if (!chunk)
			chunk = alloc_folio_chunk(sys, c);
		if (!chunk)
			break;
		folio = &chunk[h->nr_folios & (FOLIO_CHUNK - 1)];
		h->nr_folios++;
		enqueue_hugetlb_folio(h, folio);
		h->nr_huge_pages++;
		added++;
	}
	return added;
}

/**
 * set_max_huge_pages() - resize the pool, as a write to nr_hugepages.
 * @sys: the system.
 * @count: the wanted number of huge pages.
 *
 * Growing adds free pages.  Shrinking removes only free pages, and never
 * below what is in use plus what is reserved, so the pool may stay
 * larger than @count.
 *
 * Context: takes hugetlb_lock.
 * Return: nr_huge_pages afterwards.
 */
unsigned long set_max_huge_pages(struct hw_system *sys, unsigned long count)
{
	struct hstate *h = hstate_sys(sys);
	unsigned long min_count, nr;
	struct folio *folio;

	spin_lock(&h->hugetlb_lock);
	if (count > h->nr_huge_pages)
		grow_pool(sys, count - h->nr_huge_pages);

	/* In use plus reserved must stay: only free - rsvd may go. */
	min_count = h->resv_huge_pages + h->nr_huge_pages - h->free_huge_pages;
	if (min_count < count)
		min_count = count;
	while (h->nr_huge_pages > min_count) {
		BUG_ON(list_empty(&h->hugepage_freelist));
		folio = list_first_entry(&h->hugepage_freelist, struct folio,
					 lru);
		list_del_init(&folio->lru);
		folio->state = FOLIO_ABSENT;
		h->free_huge_pages--;
		h->nr_huge_pages--;
	}
	BUG_ON(h->resv_huge_pages > h->free_huge_pages);
	nr = h->nr_huge_pages;
	spin_unlock(&h->hugetlb_lock);
	return nr;
}

/**
 * hw_set_nr_hugepages() - write /proc/sys/vm/nr_hugepages.
 * @sys: the system.
 * @nr: the wanted pool size.
 *
 * Context: a registered task; takes hugetlb_lock.
 * Return: the pool size now.
 */
unsigned long hw_set_nr_hugepages(struct hw_system *sys, unsigned long nr)
{
	return set_max_huge_pages(sys, nr);
}

/**
 * hugetlb_pool_init() - set up @sys's hstate with @nr free huge pages.
 * @sys: the system being booted, not yet visible to other tasks.
 * @nr: the initial pool size.
 *
 * Context: a registered task; takes hugetlb_lock.
 * Return: 0, or -ENOMEM if the folios could not be made.
 */
int hugetlb_pool_init(struct hw_system *sys, unsigned long nr)
{
	struct hstate *h = hstate_sys(sys);

	memset(h, 0, sizeof(*h));
	spin_lock_init(&h->hugetlb_lock, &hugetlb_lock_class);
	INIT_LIST_HEAD(&h->hugepage_freelist);
	if (set_max_huge_pages(sys, nr) < nr) {
		hugetlb_pool_exit(sys);
		return -ENOMEM;
	}
	return 0;
}

/**
 * hugetlb_pool_exit() - free every folio chunk of @sys.
 * @sys: the system, quiescent.
 *
 * Context: no task uses @sys any more.
 */
void hugetlb_pool_exit(struct hw_system *sys)
{
	struct hstate *h = hstate_sys(sys);
	unsigned long c, i;
	struct folio *chunk;

	for (c = 0; c < FOLIO_MAX_CHUNKS; c++) {
		chunk = h->chunks[c];
		if (!chunk)
			continue;
		for (i = 0; i < FOLIO_CHUNK; i++)
			mutex_destroy(&chunk[i].lock);
		h->chunks[c] = NULL;
		free(folio_chunk(chunk));
	}
	h->nr_folios = 0;
	h->nr_huge_pages = h->free_huge_pages = h->resv_huge_pages = 0;
	INIT_LIST_HEAD(&h->hugepage_freelist);
	/* A use after this is caught as "spinlock bad magic". */
	spin_lock_destroy(&h->hugetlb_lock);
}

/* ---- folio references and the folio lock -------------------------------- */

/* free_huge_folio(): the last reference went; back to the free list. */
static void free_huge_folio(struct folio *folio)
{
	struct hstate *h = folio_hstate(folio);

	BUG_ON(atomic_read(&folio->_mapcount) != 0);
	BUG_ON(folio->mapping);
	spin_lock(&h->hugetlb_lock);
	BUG_ON(folio->state != FOLIO_INUSE);
	if (folio->restore_reserve) {
		/* Allocated against a reservation, never instantiated. */
		folio->restore_reserve = false;
		if (h->resv_debt)
			h->resv_debt--;
		else
			h->resv_huge_pages++;
	}
	folio->anon = false;
	folio->index = 0;
	enqueue_hugetlb_folio(h, folio);
	BUG_ON(h->resv_huge_pages > h->free_huge_pages);
	spin_unlock(&h->hugetlb_lock);
}

/**
 * folio_get() - take a reference on a folio that already has one.
 * @folio: the folio.
 *
 * Context: any; the caller holds, or holds a lock that protects, another
 * reference.
 */
void folio_get(struct folio *folio)
{
	BUG_ON(atomic_add_return(1, &folio->_refcount) <= 1);
}

/**
 * folio_put() - drop a reference; the last one frees the huge page.
 * @folio: the folio.
 *
 * Context: may take hugetlb_lock: not under i_pages or a resv_map lock.
 */
void folio_put(struct folio *folio)
{
	int n = atomic_add_return(-1, &folio->_refcount);

	BUG_ON(n < 0);
	if (n == 0)
		free_huge_folio(folio);
}

/**
 * folio_lock() - PG_locked: sleep until the folio is ours.
 * @folio: a folio the caller holds a reference on.
 *
 * Context: may sleep; not under i_mmap_rwsem's inner locks (ptl, ...).
 */
void folio_lock(struct folio *folio)
{
	BUG_ON(atomic_read(&folio->_refcount) <= 0);
	mutex_lock(&folio->lock);
}

/**
 * folio_unlock() - release the folio lock.
 * @folio: a folio locked by this task.
 *
 * Context: folio lock held.
 */
void folio_unlock(struct folio *folio)
{
	lockdep_assert_held(&folio->lock);
	mutex_unlock(&folio->lock);
}

/* ---- reservation maps --------------------------------------------------- */

/**
 * resv_map_alloc() - an empty reservation map with one reference.
 *
 * Context: any.
 * Return: the map, or NULL when out of memory.
 */
struct resv_map *resv_map_alloc(void)
{
	struct resv_map *resv = calloc(1, sizeof(*resv));

	if (!resv)
		return NULL;
	spin_lock_init(&resv->lock, &resv_map_class);
	atomic_set(&resv->refs, 1);
	return resv;
}

/**
 * resv_map_put() - drop a reference; the last one frees the map.
 * @resv: the map.
 *
 * Context: any; not under @resv's lock.
 */
void resv_map_put(struct resv_map *resv)
{
	int n = atomic_add_return(-1, &resv->refs);

	BUG_ON(n < 0);
	if (n)
		return;
	spin_lock_destroy(&resv->lock);
	free(resv->regions);
	free(resv);
}

/*
 * Room for @n more regions.  The model does not simulate allocation
 * failure inside reservation maps: running out of memory here is fatal.
 */
static void region_reserve(struct resv_map *resv, int n)
{
	struct file_region *regions;
	int cap;

	lockdep_assert_held(&resv->lock);
	if (resv->nr + n <= resv->cap)
		return;
	cap = resv->cap ? resv->cap * 2 : 8;
	while (cap < resv->nr + n)
		cap *= 2;
	regions = realloc(resv->regions, cap * sizeof(*regions));
	BUG_ON(!regions);
	resv->regions = regions;
	resv->cap = cap;
}

static void region_insert(struct resv_map *resv, int i, unsigned long from,
			  unsigned long to)
{
	region_reserve(resv, 1);
	memmove(&resv->regions[i + 1], &resv->regions[i],
		(resv->nr - i) * sizeof(*resv->regions));
	resv->regions[i] = (struct file_region){ from, to };
	resv->nr++;
}

static void region_remove(struct resv_map *resv, int i, int n)
{
	memmove(&resv->regions[i], &resv->regions[i + n],
		(resv->nr - i - n) * sizeof(*resv->regions));
	resv->nr -= n;
}

/* How many indices of [f, t) the map holds.  Context: resv->lock. */
static long __region_count(struct resv_map *resv, unsigned long f,
			   unsigned long t)
{
	long n = 0;
	int i;

	lockdep_assert_held(&resv->lock);
	for (i = 0; i < resv->nr; i++) {
		struct file_region *rg = &resv->regions[i];
		unsigned long lo, hi;

		if (rg->from >= t)
			break;
		lo = rg->from > f ? rg->from : f;
		hi = rg->to < t ? rg->to : t;
		if (hi > lo)
			n += hi - lo;
	}
	return n;
}

/**
 * region_add() - put [@f, @t) into the map.
 * @resv: the map.
 * @f: first index.
 * @t: index past the last.
 *
 * Context: takes @resv's lock.
 * Return: how many indices were not in the map before.
 */
long region_add(struct resv_map *resv, long f, long t)
{
	unsigned long from = f, to = t;
	struct file_region *first;
	long added;
	int i, j;

	BUG_ON(f < 0 || f > t);
	spin_lock(&resv->lock);
	added = (t - f) - __region_count(resv, from, to);
	if (!added)
		goto out_unlock;
	/* Regions i..j-1 overlap or touch [from, to): they merge into one. */
	for (i = 0; i < resv->nr && resv->regions[i].to < from; i++)
		;
	for (j = i; j < resv->nr && resv->regions[j].from <= to; j++)
		;
	if (i == j) {
		region_insert(resv, i, from, to);
		goto out_unlock;
	}
	first = &resv->regions[i];
	if (first->from < from)
		from = first->from;
	if (resv->regions[j - 1].to > to)
		to = resv->regions[j - 1].to;
	*first = (struct file_region){ from, to };
	region_remove(resv, i + 1, j - i - 1);
out_unlock:
	spin_unlock(&resv->lock);
	return added;
}

/**
 * region_chg() - how many indices of [@f, @t) are not in the map: the
 * pages a shared mapping of that range must newly reserve.
 * @resv: the map.
 * @f: first index.
 * @t: index past the last.
 *
 * Context: takes @resv's lock.
 * Return: that count.
 */
long region_chg(struct resv_map *resv, long f, long t)
{
	long chg;

	BUG_ON(f < 0 || f > t);
	spin_lock(&resv->lock);
	chg = (t - f) - __region_count(resv, f, t);
	spin_unlock(&resv->lock);
	return chg;
}

/**
 * region_count() - how many indices of [@f, @t) are in the map.
 * @resv: the map.
 * @f: first index.
 * @t: index past the last.
 *
 * Context: takes @resv's lock.
 * Return: that count.
 */
long region_count(struct resv_map *resv, long f, long t)
{
	long n;

	BUG_ON(f < 0 || f > t);
	spin_lock(&resv->lock);
	n = __region_count(resv, f, t);
	spin_unlock(&resv->lock);
	return n;
}

/**
 * region_del() - take [@f, @t) out of the map.
 * @resv: the map.
 * @f: first index.
 * @t: index past the last (LONG_MAX: to the end).
 *
 * Context: takes @resv's lock.
 * Return: how many indices were removed.
 */
long region_del(struct resv_map *resv, long f, long t)
{
	unsigned long from = f, to = t;
	struct file_region *rg;
	long removed = 0;
	int i = 0;

	BUG_ON(f < 0 || f > t);
	if (f == t)
		return 0;	/* nothing to remove, and nothing to split */
	spin_lock(&resv->lock);
	while (i < resv->nr) {
		rg = &resv->regions[i];
		if (rg->to <= from) {
			i++;
			continue;
		}
		if (rg->from >= to)
			break;
		if (rg->from < from && rg->to > to) {
			/* The hole is inside: split in two. */
			unsigned long old_to = rg->to;

			removed += to - from;
			rg->to = from;
			region_insert(resv, i + 1, to, old_to);
			break;
		}
		if (rg->from >= from && rg->to <= to) {
			removed += rg->to - rg->from;
			region_remove(resv, i, 1);
			continue;
		}
		if (rg->from < from) {
			removed += rg->to - from;
			rg->to = from;
			i++;
			continue;
		}
		removed += to - rg->from;
		rg->from = to;
		break;
	}
	spin_unlock(&resv->lock);
	return removed;
}

/* ---- reservation accounting --------------------------------------------- */

/*
 * hugetlb_acct_memory() - reserve @delta more pages, or give back -@delta.
 * There is no overcommit (nr_overcommit_hugepages is 0): a reservation
 * needs that many free pages no one else reserved.
 * Return: 0, or -ENOMEM.
 */
static int hugetlb_acct_memory(struct hstate *h, long delta)
{
	int ret = 0;

	spin_lock(&h->hugetlb_lock);
	if (delta > 0) {
		if (h->free_huge_pages - h->resv_huge_pages <
		    (unsigned long)delta)
			ret = -ENOMEM;
		else
			h->resv_huge_pages += delta;
	} else if (h->resv_huge_pages < (unsigned long)-delta) {
		/*
		 * A private VMA went away while a folio that will give its
		 * reservation back is still pinned (restore_reserve): the
		 * kernel's counter wraps below zero until the folio is freed.
		 * Keep the shortfall as a debt that the free pays instead.
		 */
		h->resv_debt += -delta - h->resv_huge_pages;
		h->resv_huge_pages = 0;
	} else {
		h->resv_huge_pages -= -delta;
	}
	spin_unlock(&h->hugetlb_lock);
	return ret;
}

static struct resv_map *vma_resv_map(struct vm_area_struct *vma)
{
	if (vma->vm_flags & VM_MAYSHARE)
		return vma->vm_file->resv_map;
	return vma->resv;
}

/*
 * vma_has_reserves() - may the allocation of page @idx in @vma consume a
 * reservation?  Shared: if the inode's map holds @idx (even through a
 * MAP_NORESERVE mapping: another mapping, or fallocate, reserved it).
 * Private: if the VMA owns a map in which @idx is not yet consumed.
 */
static bool vma_has_reserves(struct vm_area_struct *vma, unsigned long idx)
{
	struct resv_map *resv = vma_resv_map(vma);

	if (vma->vm_flags & VM_MAYSHARE)
		return region_chg(resv, idx, idx + 1) == 0;
	if ((vma->vm_flags & VM_NORESERVE) || !resv)
		return false;
	return region_chg(resv, idx, idx + 1) == 1;
}

/**
 * alloc_hugetlb_folio() - a folio for @addr in @vma, consuming the
 * reservation that covers it if any.
 * @vma: a hugetlb VMA, or fallocate's pseudo VMA.
 * @addr: the address in @vma being instantiated.
 *
 * A shared mapping's index is recorded in the inode's map (committed):
 * instantiated pages stay in the map until truncate or hole punch.  A
 * private owner's map records the index as consumed.  A folio that
 * consumed a reservation carries restore_reserve until it is
 * instantiated: hugetlb_add_to_page_cache() clears it, and so must the
 * caller that maps it as an anonymous page; if it is freed before that,
 * the reservation comes back (see restore_reserve_on_error() for the map).
 *
 * Context: may take hugetlb_lock and the map's lock; the fault mutex for
 * the index is held by the caller.
 * Return: the folio, refcount 1, mapcount 0, tag 0, unlocked; NULL when
 * the pool cannot supply one (the caller turns that into SIGBUS).
 */
struct folio *alloc_hugetlb_folio(struct vm_area_struct *vma,
				  unsigned long addr)
{
	struct hstate *h = hstate_sys(vma->vm_file->sys);
	unsigned long idx = vma_hugecache_offset(vma, addr);
	struct resv_map *resv = vma_resv_map(vma);
	struct folio *folio;
	bool use_reserve;

	BUG_ON(!is_vm_hugetlb_page(vma));
	BUG_ON(addr < vma->vm_start || addr >= vma->vm_end);
	use_reserve = vma_has_reserves(vma, idx);

	spin_lock(&h->hugetlb_lock);
	folio = dequeue_hugetlb_folio(h, use_reserve);
	spin_unlock(&h->hugetlb_lock);
	if (!folio)
		return NULL;

	/* vma_commit_reservation() */
	if (vma->vm_flags & VM_MAYSHARE) {
		if (!region_add(resv, idx, idx + 1) && !use_reserve) {
			/*
			 * A racing mmap reserved @idx between our look and
			 * the commit, and counted it; the page we took from
			 * the unreserved pool instantiates it, so that
			 * reservation is no longer needed.
			 */
			hugetlb_acct_memory(h, -1);
		}
	} else if (use_reserve) {
		region_add(resv, idx, idx + 1);	/* consumed */
	}
	return folio;
}

/**
 * restore_reserve_on_error() - the folio @alloc_hugetlb_folio() gave for
 * @addr will not be instantiated (a racing truncate, an error): put the
 * reservation map back as it was, before the caller's folio_put().
 * @vma: the VMA passed to alloc_hugetlb_folio().
 * @addr: the address passed to it.
 * @folio: the folio, not yet mapped or in the page cache.
 *
 * With restore_reserve set, folio_put() gives the count back; a private
 * map must then no longer record the index as consumed.  Without it, a
 * shared map must forget the index the allocation committed, or the map
 * would claim a reservation that no count backs.
 *
 * Context: may take the map's lock.
 */
void restore_reserve_on_error(struct vm_area_struct *vma, unsigned long addr,
			      struct folio *folio)
{
	unsigned long idx = vma_hugecache_offset(vma, addr);
	struct resv_map *resv = vma_resv_map(vma);

	BUG_ON(folio->mapping || folio_mapped(folio));
	if (vma->vm_flags & VM_MAYSHARE) {
		if (!folio->restore_reserve)
			region_del(resv, idx, idx + 1);
	} else if (resv && folio->restore_reserve) {
		region_del(resv, idx, idx + 1);
	}
}

/**
 * hugetlb_unmap_restore_reserve() - the entry mapping anonymous @folio at
 * @addr of private @vma was just cleared: if @vma owns the reservation
 * map, give the page's reservation back to it, as Linux 6.8 and later do
 * ("mm/hugetlb: restore the reservation if needed"), so that the page
 * freed here cannot be taken by another mapping and the owner's next
 * fault does not get SIGBUS.  The index is no longer consumed in the map,
 * and the folio carries restore_reserve, so that freeing it re-credits
 * resv_huge_pages.
 * @vma: the VMA the entry was in.
 * @addr: the entry's address.
 * @folio: the folio it mapped; the caller still holds the entry's
 *         reference.
 *
 * As in the kernel, this happens even while another mm (a fork child)
 * still maps the folio: the index is unconsumed at once, the count comes
 * back only when that mapping goes and the folio is freed.  If the VMA
 * goes first, it gives back a reservation not yet counted: the kernel's
 * counter wraps below zero meanwhile (resv_debt here).
 *
 * Context: after the ptl is dropped, before the caller's folio_put();
 * takes the map's lock.
 */
void hugetlb_unmap_restore_reserve(struct vm_area_struct *vma,
				   unsigned long addr, struct folio *folio)
{
	unsigned long idx;

	if ((vma->vm_flags & VM_MAYSHARE) || !vma->resv || !folio->anon)
		return;
	idx = vma_hugecache_offset(vma, addr);
	if (region_del(vma->resv, idx, idx + 1))
		folio->restore_reserve = true;
}

/**
 * hugetlb_reserve_pages() - reserve the pages of indices [@from, @to) of
 * @inode for a new mapping (hugetlbfs_file_mmap()).
 * @inode: the file.
 * @from: first huge page index.
 * @to: index past the last.
 * @vma: the new VMA, or NULL for a shared reservation without one.
 * @vm_flags: its flags; VM_NORESERVE reserves nothing.
 *
 * Shared: only the indices not yet in the inode's map (neither reserved
 * nor instantiated) are counted, then added.  Private: the VMA gets its
 * own map (the owner) and the whole range is counted.
 *
 * Context: mmap_lock (write) of @vma's mm; may take hugetlb_lock and the
 * map's lock.
 * Return: 0, -EINVAL if @from > @to, -ENOMEM when the free
 * unreserved pages are too few.
 */
int hugetlb_reserve_pages(struct hw_file *inode, long from, long to,
			  struct vm_area_struct *vma, unsigned long vm_flags)
{
	struct hstate *h = hstate_sys(inode->sys);
	bool shared = !vma || (vma->vm_flags & VM_MAYSHARE);
	struct resv_map *resv;
	long chg, add;
	int err;

	if (vma && vma->vm_mm)
		lockdep_assert_held_write(&vma->vm_mm->mmap_lock);
	if (from < 0 || from > to)
		return -EINVAL;
	if (vm_flags & VM_NORESERVE)
		return 0;

	if (shared) {
		resv = inode->resv_map;
		chg = region_chg(resv, from, to);
	} else {
		BUG_ON(vma->resv);
		resv = resv_map_alloc();
		if (!resv)
			return -ENOMEM;
		vma->resv = resv;
		chg = to - from;
	}

	err = hugetlb_acct_memory(h, chg);
	if (err)
		goto out_put_map;

	if (shared) {
		add = region_add(resv, from, to);
		/* Pages instantiated meanwhile need no reservation. */
		if (chg > add)
			hugetlb_acct_memory(h, -(chg - add));
	}
	return 0;

out_put_map:
	if (!shared) {
		resv_map_put(resv);
		vma->resv = NULL;
	}
	return err;
}

/**
 * hugetlb_unreserve_pages() - indices [@start, @end) of @inode leave the
 * file: forget them in the inode's map and give back the reservations of
 * those that were reserved but not instantiated.
 * @inode: the file.
 * @start: first huge page index.
 * @end: index past the last (LONG_MAX: to the end).
 * @freed: how many page-cache folios of the range were removed.
 *
 * Context: i_rwsem or the fault mutex of a single index, or the inode
 * is being evicted; may take hugetlb_lock and the map's lock.
 */
void hugetlb_unreserve_pages(struct hw_file *inode, long start, long end,
			     long freed)
{
	long chg = region_del(inode->resv_map, start, end);

	/* Every page-cache folio's index is in the map. */
	BUG_ON(chg < freed);
	if (chg > freed)
		hugetlb_acct_memory(hstate_sys(inode->sys), -(chg - freed));
}

/**
 * hugetlb_vm_op_open() - @vma is a new copy of a VMA (split, mremap): a
 * private owner's copy shares the reservation map, which the caller
 * already copied into @vma->resv.
 * @vma: the new VMA.
 *
 * Context: mmap_lock (write).
 */
void hugetlb_vm_op_open(struct vm_area_struct *vma)
{
	if (vma->vm_flags & VM_MAYSHARE) {
		BUG_ON(vma->resv);
		return;
	}
	if (vma->resv)
		BUG_ON(atomic_add_return(1, &vma->resv->refs) <= 1);
}

/**
 * hugetlb_vm_op_close() - @vma goes away: a private owner gives back the
 * reservations of its own range that it never consumed, and its
 * reference on the map.
 * @vma: the VMA.
 *
 * Context: mmap_lock (write); may take hugetlb_lock and the map's lock.
 */
void hugetlb_vm_op_close(struct vm_area_struct *vma)
{
	struct resv_map *resv = vma->resv;
	unsigned long start, end;
	long reserve;

	if ((vma->vm_flags & VM_MAYSHARE) || !resv)
		return;
	start = vma_hugecache_offset(vma, vma->vm_start);
	end = vma_hugecache_offset(vma, vma->vm_end);
	reserve = (end - start) - region_count(resv, start, end);
	if (reserve)
		hugetlb_acct_memory(hstate_sys(vma->vm_file->sys), -reserve);
	vma->resv = NULL;
	resv_map_put(resv);
}
