// SPDX-License-Identifier: MIT
/*
 * GUP-fast: pin pages with no mmap_lock, no VMA and no page-table lock,
 * by walking the tables with interrupts off (lockless_pages_from_mm()),
 * then hand what it could not pin to the slow path (gup.c).
 *
 * Why a lockless walker may touch the tables at all:
 *  - with interrupts off, a CPU holds off the TLB-flush IPI and, with
 *    RCU table freeing, the grace period that a table's free waits for.
 *    The model's IRQs-off section is an RCU read-side section (the policy
 *    gives SITE_GUP_FAST WALK_RCU), and tables are freed after a grace
 *    period (PT_FREE_RCU).  A policy that frees tables at once leaves
 *    GUP-fast exposed, as a kernel without either would be; and the
 *    accessors' pt_check() reports any freed table met as KASAN would.
 *  - nothing keeps the table *ours*: an unshare may clear our PUD entry
 *    while we are in the table, and its last user may then free it and
 *    reuse it, so that a walker still inside reads another mm's entries
 *    (CVE-2025-38085).  Under v6.16, huge_pmd_unshare() waits for every
 *    such section to end before it drops its share
 *    (tlb_remove_table_sync_one()).
 *  - a folio is taken only by a speculative reference: the refcount is
 *    raised only if it is not zero, so a free folio is never revived;
 *    and the entry is read again after the reference: if it changed, the
 *    folio may have been unmapped, freed and reused before the reference,
 *    and it is dropped again (gup_fast's recheck).
 *
 * Invariants kept:
 *  - every entry is read through an accessor inside the section, and
 *    nothing read from the tables is used after the section except the
 *    referenced folios;
 *  - a page is handed out only if its entry read before and after the
 *    reference was the same present entry (writable, for FOLL_WRITE);
 *  - the fast path pins a prefix of the range; the slow path starts at the
 *    first page it did not pin, so page i came from the fast path iff
 *    i < *nr_fast;
 *  - the fast path never sleeps, never looks at a VMA and never calls
 *    hugetlb_walk(): the walk rule does not apply to it, as lockdep does
 *    not watch the kernel's lockless walk.  Its only lock is the pool's,
 *    when dropping a speculative reference frees the folio.
 */
#include <errno.h>

#include "mm/internal.h"

/*
 * gup_fast_begin() - local_irq_save(): enter what the policy gives
 * SITE_GUP_FAST.  Interrupts off cannot sleep or take a VMA's lock, so
 * an RCU read-side section is the only protection a policy may give it.
 */
static unsigned int gup_fast_begin(struct hw_mm *mm)
{
	unsigned int takes = mm->sys->policy->takes[SITE_GUP_FAST];

	BUG_ON(takes & ~WALK_RCU);
	site_enter(SITE_GUP_FAST, site_name(SITE_GUP_FAST));
	if (takes & WALK_RCU)
		rcu_read_lock();
	return takes;
}

static void gup_fast_end(unsigned int taken)
{
	if (taken & WALK_RCU)
		rcu_read_unlock();
	site_exit();
}

/*
 * gup_fast_hugepte() - gup_huge_pmd() for the huge page at @addr: find
 * its entry without locks, and reference its folio if the entry allows.
 * Return: the folio, referenced, or NULL to stop the fast path here.
 */
static struct folio *gup_fast_hugepte(struct hw_mm *mm, unsigned long addr,
				      unsigned int flags)
{
	pgd_t *pgdp = mm->pgd + pgd_index(addr), pgd;
	pud_t *pudp, pud;
	pte_t *ptep, pte;
	struct folio *folio;

	/* Each level read once: what it pointed to is what we walk. */
	pgd = pgdp_get(pgdp);
	if (pgd_none(pgd))
		return NULL;
	pudp = pgd_pgtable(pgd) + pud_index(addr);
	pud = pudp_get(pudp);
	if (!pud_present(pud))
		return NULL;
	ptep = (pte_t *)(pud_pgtable(pud) + pmd_index(addr));
	pte = huge_ptep_get(ptep);
	if (!pte_present(pte) || pte_protnone(pte) ||
	    ((flags & FOLL_WRITE) && !huge_pte_write(pte)))
		return NULL;

	folio = pfn_to_folio(mm->sys, pte_pfn(pte));
	/*
	 * try_grab_folio(): a folio whose count reached zero is free (or
	 * being freed) and must stay so.  atomic_inc_not_zero() is a fully
	 * ordered RMW, so the re-read below cannot be satisfied before the
	 * reference is taken.  It pairs with every unmapper, which clears
	 * the entry before it drops the entry's reference (folio_put(),
	 * also fully ordered): if our reference came after that put, the
	 * re-read sees the entry cleared or replaced.
	 */
	if (!atomic_inc_not_zero(&folio->_refcount))
		return NULL;
	if (unlikely(huge_ptep_get(ptep).pte != pte.pte)) {
		folio_put(folio);	/* may be the last: frees it */
		return NULL;
	}
	return folio;
}

/**
 * gup_fast() - lockless_pages_from_mm(): pin the huge pages of @mm from
 * @start on, without locks, as far as they are present (and writable,
 * for FOLL_WRITE).
 * @mm: the mm; its tables are walked from mm->pgd.
 * @start: huge-page aligned.
 * @nr_pages: how many pages are wanted.
 * @gup_flags: FOLL_WRITE.
 * @pages: where the pinned pages go, each with a reference.
 *
 * Context: any task; takes no lock of @mm and holds none across.
 * Return: how many pages were pinned, the first ones of the range.
 */
unsigned long gup_fast(struct hw_mm *mm, unsigned long start,
		       unsigned long nr_pages, unsigned int gup_flags,
		       struct hw_page **pages)
{
	struct folio *folio;
	unsigned long nr;
	unsigned int taken;

	BUG_ON(start & ~HPAGE_MASK);
	taken = gup_fast_begin(mm);
	for (nr = 0; nr < nr_pages; nr++) {
		folio = gup_fast_hugepte(mm, start + nr * HPAGE_SIZE,
					 gup_flags);
		if (!folio)
			break;
		pages[nr] = folio_head_page(folio);
	}
	gup_fast_end(taken);
	return nr;
}

/**
 * get_user_pages_fast() - pin the huge pages of @mm from @start: first
 * the lockless walk, then the slow path, under @mm's mmap_lock, from the
 * first page the walk did not pin (internal_get_user_pages_fast()).
 * @mm: the mm.
 * @start: huge-page aligned.
 * @nr_pages: how many pages.
 * @gup_flags: FOLL_WRITE; FOLL_FAST_ONLY to skip the slow path.
 * @pages: where they go, each with a reference.
 * @nr_fast: if not NULL, how many the lockless walk pinned.
 *
 * Context: no lock held; may sleep in the slow path.
 * Return: the pages pinned, the first ones of the range; if none, the
 * slow path's errno (see get_user_pages_remote()); with FOLL_FAST_ONLY,
 * what the lockless walk pinned.
 */
long get_user_pages_fast(struct hw_mm *mm, unsigned long start,
			 unsigned long nr_pages, unsigned int gup_flags,
			 struct hw_page **pages, unsigned long *nr_fast)
{
	unsigned long nr_pinned;
	int locked = 1;
	long ret;

	BUG_ON(gup_flags & ~(FOLL_WRITE | FOLL_FAST_ONLY));
	nr_pinned = gup_fast(mm, start, nr_pages, gup_flags, pages);
	if (nr_fast)
		*nr_fast = nr_pinned;
	if (nr_pinned == nr_pages || (gup_flags & FOLL_FAST_ONLY))
		return nr_pinned;

	down_read(&mm->mmap_lock);
	ret = get_user_pages_remote(mm, start + nr_pinned * HPAGE_SIZE,
				    nr_pages - nr_pinned,
				    gup_flags & FOLL_WRITE, pages + nr_pinned,
				    &locked);
	if (locked)
		up_read(&mm->mmap_lock);
	if (ret < 0)
		return nr_pinned ? (long)nr_pinned : ret;
	return ret + nr_pinned;
}
