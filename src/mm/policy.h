/* SPDX-License-Identifier: MIT */
/*
 * Protection policies: per call site, what a walker of hugetlb page
 * tables holds around huge_pte_offset(); globally, how page tables are
 * freed.  Protection is data: the same sources run every policy.
 */
#ifndef HW_MM_POLICY_H
#define HW_MM_POLICY_H

#include <stdbool.h>

/* Every kernel path that calls huge_pte_offset() (BRIEF.md's table). */
enum hw_site {
	SITE_HUGETLB_FAULT,		/* early migration-entry check */
	SITE_FOLLOW_HUGETLB_PAGE,	/* GUP slow path */
	SITE_FOLLOW_PAGE_MASK,		/* hugetlb_follow_page_mask() */
	SITE_GUP_FAST,			/* lockless, IRQs off */
	SITE_WALK_HUGETLB_RANGE,	/* pagewalk: pagemap, mincore */
	SITE_PAGE_VMA_MAPPED_WALK,	/* rmap */
	SITE_UFFD_MUST_WAIT,		/* userfaultfd_huge_must_wait() */
	SITE_VMA_MAPS_PAGE,		/* hugetlb_vma_maps_page() */
	SITE_HUGE_PMD_SHARE,		/* walks another mm's table */
	SITE_UNSHARER,			/* unmap, protect, move: hold both
					 * locks for write (not a walker) */
	SITE_CPU_ACCESS,		/* the MMU's walk for a load or store:
					 * under the vma lock, not studied */
	NR_SITES
};

/* What a walker holds; a mask. */
#define WALK_NOTHING	0x0
#define WALK_VMA_LOCK	0x1	/* hugetlb_vma_lock_read() */
#define WALK_I_MMAP	0x2	/* i_mmap_lock_read() */
#define WALK_RCU	0x4	/* rcu_read_lock() */

enum pt_free_mode {
	PT_FREE_NOW,		/* pmd_free() at once: no RCU table free */
	PT_FREE_RCU,		/* tlb_remove_table() -> call_rcu() */
	PT_FREE_SYNC,		/* synchronize_rcu(), then free */
};

enum ptl_dtor_mode {
	PTL_DTOR_AT_FREE,	/* pagetable dtor at pmd_free() (2022) */
	PTL_DTOR_AFTER_GP,	/* dtor in the RCU callback (late 2024) */
};

struct hw_policy {
	const char *name;
	const char *summary;
	unsigned char takes[NR_SITES];	/* held around the walk, per site */
	/*
	 * What hugetlb_walk() accepts as protection on a shareable VMA.
	 * When !enforce the policy knowingly leaves sites exposed: a walk
	 * outside the rule is recorded as an exposure, never aborts.
	 */
	unsigned char walk_rule;
	bool enforce;
	enum pt_free_mode pt_free;
	enum ptl_dtor_mode ptl_dtor;
	bool unshare_sync_gup_fast;	/* tlb_remove_table_sync_one() */
};

const struct hw_policy *hw_policy_lookup(const char *name);
const char *site_name(enum hw_site site);

struct vm_area_struct;

/*
 * hugetlb_walk_begin() - enter call site @site about to walk @vma's
 * tables, taking what the policy says the site takes.
 * hugetlb_walk_end() drops it again.  Return: the mask taken.
 */
unsigned int hugetlb_walk_begin(enum hw_site site, struct vm_area_struct *vma);
void hugetlb_walk_end(struct vm_area_struct *vma, unsigned int taken);

/* The walk-rule check of hugetlb_walk(), against the held-lock tracker. */
void hugetlb_walk_check(struct vm_area_struct *vma);

#endif
