// SPDX-License-Identifier: MIT
/*
 * Page-table pages: allocation, populating upper levels, and the paths
 * that free them.
 *
 * Invariants kept:
 *  - a table's memory is never returned to libc while the system lives:
 *    a freed table is poisoned, marked PT_FREED and queued in a FIFO
 *    quarantine; only when it leaves the quarantine may it be handed out
 *    again (generation + 1).  A stale pointer therefore always points at
 *    a table whose state the accessors can check (pt_check()).
 *  - nr_pagetables counts tables allocated and not yet passed to a free
 *    path; it is what /proc/meminfo's PageTables shows.
 *  - a PUD or PGD entry is published (pud_populate()/pgd_populate())
 *    only under mm->page_table_lock, with release order after the
 *    table's zeroed contents, so a lockless walker that reads the entry
 *    sees a clean table.
 *  - a PMD table reaches pmd_free_tlb() only when no PUD entry points at
 *    it: its share count is 0 and its last user has cleared its entry.
 *  - how a freed table dies is the policy's: at once, or after a grace
 *    period (tlb_remove_table() -> call_rcu()), with the ptl destructor
 *    run at free time (2022) or in the RCU callback (late 2024).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mm/internal.h"

#define PT_POISON	0x6b6b6b6b6b6b6b6bULL	/* POISON_FREE, as slab */
#define QUARANTINE_MAX	256

int pt_allocator_init(struct hw_system *sys)
{
	struct pt_allocator *pta = &sys->pta;

	mutex_init(&pta->lock, &pta_class);
	INIT_LIST_HEAD(&pta->quarantine);
	INIT_LIST_HEAD(&pta->free);
	INIT_LIST_HEAD(&pta->all);
	pta->quarantine_max = QUARANTINE_MAX;
	return 0;
}

void pt_allocator_exit(struct hw_system *sys)
{
	struct ptdesc *pt, *tmp;

	list_for_each_entry_safe(pt, tmp, &sys->pta.all, all)
		free(ptdesc_address(pt));
	INIT_LIST_HEAD(&sys->pta.all);
	mutex_destroy(&sys->pta.lock);
}

/**
 * pagetable_alloc() - a zeroed table of @level.
 * Context: any; takes the allocator lock.
 * Return: its descriptor, or NULL.
 */
struct ptdesc *pagetable_alloc(struct hw_system *sys, enum pt_level level)
{
	struct pt_allocator *pta = &sys->pta;
	struct ptdesc *pt = NULL;
	void *page;

	mutex_lock(&pta->lock);
	if (!list_empty(&pta->free)) {
		pt = list_first_entry(&pta->free, struct ptdesc, lru);
		list_del_init(&pt->lru);
		pt->generation++;
	}
	mutex_unlock(&pta->lock);

	if (!pt) {
		page = aligned_alloc(PT_ALLOC_ALIGN, PT_ALLOC_ALIGN);
		if (!page)
			return NULL;
		pt = virt_to_ptdesc(page);
		memset(pt, 0, sizeof(*pt));
		INIT_LIST_HEAD(&pt->lru);
		mutex_lock(&pta->lock);
		list_add_tail(&pt->all, &pta->all);
		mutex_unlock(&pta->lock);
	}
	memset(ptdesc_address(pt), 0, PAGE_SIZE);
	pt->pt_level = level;
	pt->sys = sys;
	atomic_set(&pt->pt_share_count, 0);
	spin_lock_init(&pt->ptl, &ptl_class);
	snprintf(pt->alloc_task, sizeof(pt->alloc_task), "%s", current->comm);
	pt->alloc_fn = current_site() ? current_site()->name : "pagetable_alloc";
	pt->free_fn = NULL;
	pt->free_site = NULL;
	pt->free_task[0] = '\0';
	/* Publish the state last: accessors check it first. */
	smp_store_release(&pt->pt_state, PT_LIVE);
	atomic_long_inc(&sys->nr_pagetables);
	return pt;
}

/* pagetable_dtor() - the destructor: the split ptl dies. */
void pagetable_dtor(struct ptdesc *pt)
{
	hw_sched_point(SCHED_PT_DTOR, pt, pt->pt_level);
	spin_lock_destroy(&pt->ptl);
}

/*
 * pagetable_free() - the table's memory is freed: poison it and put it in
 * quarantine; the oldest quarantined table becomes reusable.
 */
void pagetable_free(struct ptdesc *pt)
{
	struct pt_allocator *pta = &pt->sys->pta;
	uint64_t *e = ptdesc_address(pt);
	struct ptdesc *old;
	int i;

	hw_sched_point(SCHED_PT_FREE, pt, pt->pt_level);
	BUG_ON(READ_ONCE(pt->pt_state) != PT_LIVE);
	WRITE_ONCE(pt->pt_state, PT_FREED);
	for (i = 0; i < 512; i++)
		WRITE_ONCE(e[i], PT_POISON);

	mutex_lock(&pta->lock);
	list_add_tail(&pt->lru, &pta->quarantine);
	if (++pta->nr_quarantined > pta->quarantine_max) {
		old = list_first_entry(&pta->quarantine, struct ptdesc, lru);
		list_del_init(&old->lru);
		pta->nr_quarantined--;
		WRITE_ONCE(old->pt_state, PT_FREE);
		list_add_tail(&old->lru, &pta->free);
	}
	mutex_unlock(&pta->lock);
}

static void pagetable_free_rcu(struct hw_rcu_head *head)
{
	struct ptdesc *pt = container_of(head, struct ptdesc, rcu);

	if (pt->sys->policy->ptl_dtor == PTL_DTOR_AFTER_GP)
		pagetable_dtor(pt);
	pagetable_free(pt);
}

/*
 * pagetable_free_tlb() - tlb_remove_table() for a table unhooked from an
 * mm: free it the policy's way.
 */
static void pagetable_free_tlb(struct hw_mm *mm, struct ptdesc *pt)
{
	const struct hw_policy *pol = mm->sys->policy;
	const struct call_site *site = current_site();
	enum pt_free_mode mode = mm->sys->pt_free_override ?
		(enum pt_free_mode)(mm->sys->pt_free_override - 1) : pol->pt_free;

	snprintf(pt->free_task, sizeof(pt->free_task), "%s", current->comm);
	pt->free_site = site ? site->name : NULL;
	atomic_long_dec(&mm->sys->nr_pagetables);

	if (mode == PT_FREE_NOW) {
		pt->free_fn = "pmd_free() at once (no RCU table free)";
		pagetable_dtor(pt);
		pagetable_free(pt);
		return;
	}
	if (mode == PT_FREE_SYNC) {
		/* tlb_remove_table_one()'s fallback: wait, then free. */
		pt->free_fn = "synchronize_rcu(), then pmd_free()";
		synchronize_rcu();
		pagetable_dtor(pt);
		pagetable_free(pt);
		return;
	}
	if (pol->ptl_dtor == PTL_DTOR_AT_FREE) {
		pt->free_fn = "tlb_remove_table() -> call_rcu(), ptl dtor before the grace period";
		pagetable_dtor(pt);
	} else {
		pt->free_fn = "tlb_remove_table() -> call_rcu(), ptl dtor after the grace period";
	}
	call_rcu(&pt->rcu, pagetable_free_rcu);
}

void pmd_free_tlb(struct hw_mm *mm, struct ptdesc *pt)
{
	BUG_ON(pt->pt_level != PT_PMD);
	/* A table still shared must never be freed (CVE-2024-57883). */
	BUG_ON(ptdesc_pmd_is_shared(pt));
	pagetable_free_tlb(mm, pt);
}

/* A table that lost the race to be populated was never visible. */
static void pagetable_free_unused(struct hw_system *sys, struct ptdesc *pt)
{
	atomic_long_dec(&sys->nr_pagetables);
	pagetable_dtor(pt);
	pagetable_free(pt);
}

void pt_share_count_changed(struct ptdesc *pt, int old, int new)
{
	if (old == 0 && new > 0)
		atomic_long_inc(&pt->sys->nr_shared_pmds);
	else if (old > 0 && new == 0)
		atomic_long_dec(&pt->sys->nr_shared_pmds);
}

pgd_t *pgd_alloc(struct hw_mm *mm)
{
	struct ptdesc *pt = pagetable_alloc(mm->sys, PT_PGD);

	return pt ? ptdesc_address(pt) : NULL;
}

/* Context: the mm is dead; every lower table is already freed. */
void pgd_free(struct hw_mm *mm)
{
	struct ptdesc *pt = virt_to_ptdesc(mm->pgd);
	int i;

	for (i = 0; i < PTRS_PER_PGD; i++)
		BUG_ON(!pgd_none(pgdp_get(mm->pgd + i)));
	pagetable_free_tlb(mm, pt);
	mm->pgd = NULL;
}

/**
 * pud_alloc() - the PUD entry for @addr, populating the PGD entry first
 * if it is empty.
 * Context: mmap_lock held (read or write).
 * Return: the PUD entry, or NULL when out of memory.
 */
pud_t *pud_alloc(struct hw_mm *mm, pgd_t *pgd, unsigned long addr)
{
	struct ptdesc *pt;

	if (!pgd_none(pgdp_get(pgd)))
		return pud_offset(pgd, addr);
	pt = pagetable_alloc(mm->sys, PT_PUD);
	if (!pt)
		return NULL;
	spin_lock(&mm->page_table_lock);
	if (pgd_none(pgdp_get(pgd))) {
		pgd_populate(pgd, ptdesc_address(pt));
		pt = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	if (pt)
		pagetable_free_unused(mm->sys, pt);
	return pud_offset(pgd, addr);
}

/**
 * pmd_alloc() - the PMD entry for @addr, populating the PUD entry with a
 * new, private PMD table if it is empty.
 * Context: mmap_lock held; for a shareable VMA, the vma lock too.
 * Return: the PMD entry, or NULL when out of memory.
 */
pmd_t *pmd_alloc(struct hw_mm *mm, pud_t *pud, unsigned long addr)
{
	struct ptdesc *pt;

	if (!pud_none(pudp_get(pud)))
		return pmd_offset(pud, addr);
	pt = pagetable_alloc(mm->sys, PT_PMD);
	if (!pt)
		return NULL;
	spin_lock(&mm->page_table_lock);
	if (pud_none(pudp_get(pud))) {
		pud_populate(pud, ptdesc_address(pt));
		atomic_long_inc(&mm->nr_pmds);
		pt = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	if (pt)
		pagetable_free_unused(mm->sys, pt);
	return pmd_offset(pud, addr);
}

/*
 * The part of the [floor, ceiling) rule shared by every level: a table
 * spanning [start, start + size) may go only if no VMA outside the
 * unmapped range can use it.
 */
static bool span_free(unsigned long start, unsigned long size,
		      unsigned long floor, unsigned long ceiling)
{
	return start >= floor && start + size <= ceiling;
}

static void free_pmd_tables(struct hw_mm *mm, pud_t *pud_table,
			    unsigned long base, unsigned long start,
			    unsigned long end, unsigned long floor,
			    unsigned long ceiling)
{
	unsigned long addr;
	struct ptdesc *pt;
	pud_t *pud, val;

	for (addr = start & PUD_MASK; addr < end; addr += PUD_SIZE) {
		if (addr < base || addr >= base + PGDIR_SIZE)
			continue;
		pud = pud_table + pud_index(addr);
		val = pudp_get(pud);
		if (pud_none(val) || !span_free(addr, PUD_SIZE, floor, ceiling))
			continue;
		pt = virt_to_ptdesc(pud_pgtable(val));
		spin_lock(&mm->page_table_lock);
		pud_clear(pud);
		spin_unlock(&mm->page_table_lock);
		atomic_long_dec(&mm->nr_pmds);
		pmd_free_tlb(mm, pt);
	}
}

/**
 * free_pgtables() - free the page tables that mapped [start, end) and
 * that no VMA in [floor, ceiling) can still use.
 * Context: mmap_lock (write); the VMAs of the range are unmapped and
 * unlinked from their files' i_mmap trees.
 */
void free_pgtables(struct hw_mm *mm, unsigned long start, unsigned long end,
		   unsigned long floor, unsigned long ceiling)
{
	unsigned long base;
	pgd_t *pgd, val;
	pud_t *pud_table;
	struct ptdesc *pt;
	int i;

	lockdep_assert_held_write(&mm->mmap_lock);
	site_enter(SITE_UNSHARER, "free_pgtables");
	for (base = start & PGDIR_MASK; base < end; base += PGDIR_SIZE) {
		pgd = mm->pgd + pgd_index(base);
		val = pgdp_get(pgd);
		if (pgd_none(val))
			continue;
		pud_table = pgd_pgtable(val);
		free_pmd_tables(mm, pud_table, base, start, end, floor, ceiling);
		if (!span_free(base, PGDIR_SIZE, floor, ceiling))
			continue;
		for (i = 0; i < PTRS_PER_PUD; i++)
			BUG_ON(!pud_none(pudp_get(pud_table + i)));
		pt = virt_to_ptdesc(pud_table);
		spin_lock(&mm->page_table_lock);
		set_pgd(pgd, (pgd_t){ 0 });
		spin_unlock(&mm->page_table_lock);
		pagetable_free_tlb(mm, pt);
	}
	site_exit();
}
