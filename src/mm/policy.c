// SPDX-License-Identifier: MIT
/*
 * The protection policies, and the walk-rule check of hugetlb_walk().
 *
 * A policy says, for each call site, what the walker takes around
 * huge_pte_offset() on top of what the path holds structurally (rmap
 * holds i_mmap_rwsem to iterate the tree; huge_pmd_share() holds it to
 * find the other VMA; hugetlb_vma_maps_page()'s callers hold it for
 * write).  docs/policies.md gives the kernel source of every cell.
 *
 * The CPU's own accesses (hw_access()) are not a call site: hardware
 * cannot meet a freed table, because the TLB shootdown that precedes the
 * free waits for it.  The model walks for them under the vma lock.
 */
#include <string.h>

#include "mm/internal.h"

#define ALL_SITES(v) { [0 ... NR_SITES - 1] = (v) }

/* The RFC: every walker of the series in an RCU read-side section. */
#define RFC_TAKES {						\
	[SITE_HUGETLB_FAULT] = WALK_RCU,			\
	[SITE_FOLLOW_HUGETLB_PAGE] = WALK_RCU,			\
	[SITE_FOLLOW_PAGE_MASK] = WALK_RCU,			\
	[SITE_GUP_FAST] = WALK_RCU,				\
	[SITE_WALK_HUGETLB_RANGE] = WALK_RCU,			\
	[SITE_PAGE_VMA_MAPPED_WALK] = WALK_RCU,			\
	[SITE_UFFD_MUST_WAIT] = WALK_RCU,			\
	[SITE_VMA_MAPS_PAGE] = WALK_RCU,			\
}

/*
 * The merged series: the vma lock where the walker had nothing; rmap and
 * hugetlb_vma_maps_page() keep their callers' i_mmap_rwsem.
 */
#define V6_3_TAKES {						\
	[SITE_HUGETLB_FAULT] = WALK_VMA_LOCK,			\
	[SITE_FOLLOW_HUGETLB_PAGE] = WALK_VMA_LOCK,		\
	[SITE_FOLLOW_PAGE_MASK] = WALK_VMA_LOCK,		\
	[SITE_GUP_FAST] = WALK_RCU,				\
	[SITE_WALK_HUGETLB_RANGE] = WALK_VMA_LOCK,		\
	[SITE_UFFD_MUST_WAIT] = WALK_VMA_LOCK,			\
}

static const struct hw_policy policies[] = {
	{
		.name = "unprotected",
		.summary = "no walker takes anything; tables freed at once",
		.takes = ALL_SITES(WALK_NOTHING),
		.walk_rule = WALK_VMA_LOCK | WALK_I_MMAP,
		.enforce = false,
		.pt_free = PT_FREE_NOW,
		.ptl_dtor = PTL_DTOR_AT_FREE,
	},
	{
		.name = "v6.1",
		.summary = "Linux 6.1: vma lock for the fault's main path only; RCU table free, dtor before the grace period",
		.takes = {
			[SITE_GUP_FAST] = WALK_RCU,
		},
		.walk_rule = WALK_VMA_LOCK | WALK_I_MMAP,
		.enforce = false,
		.pt_free = PT_FREE_RCU,
		.ptl_dtor = PTL_DTOR_AT_FREE,
	},
	{
		.name = "rfc",
		.summary = "the RFC series: walkers in an RCU read section; dtor before the grace period",
		.takes = RFC_TAKES,
		.walk_rule = WALK_VMA_LOCK | WALK_I_MMAP | WALK_RCU,
		.enforce = true,
		.pt_free = PT_FREE_RCU,
		.ptl_dtor = PTL_DTOR_AT_FREE,
	},
	{
		.name = "rfc-late-dtor",
		.summary = "the RFC with the ptl destructor after the grace period",
		.takes = RFC_TAKES,
		.walk_rule = WALK_VMA_LOCK | WALK_I_MMAP | WALK_RCU,
		.enforce = true,
		.pt_free = PT_FREE_RCU,
		.ptl_dtor = PTL_DTOR_AFTER_GP,
	},
	{
		.name = "v6.3",
		.summary = "Linux 6.3 (hugetlb_walk()): vma lock or i_mmap_rwsem asserted at every walk",
		.takes = V6_3_TAKES,
		.walk_rule = WALK_VMA_LOCK | WALK_I_MMAP,
		.enforce = true,
		.pt_free = PT_FREE_RCU,
		.ptl_dtor = PTL_DTOR_AT_FREE,
	},
	{
		.name = "v6.16",
		.summary = "v6.3 plus the 2025 fixes: unshare waits out GUP-fast; dtor after the grace period",
		.takes = V6_3_TAKES,
		.walk_rule = WALK_VMA_LOCK | WALK_I_MMAP,
		.enforce = true,
		.pt_free = PT_FREE_RCU,
		.ptl_dtor = PTL_DTOR_AFTER_GP,
		.unshare_sync_gup_fast = true,
	},
};

static const char *const site_names[NR_SITES] = {
	[SITE_HUGETLB_FAULT] = "hugetlb_fault",
	[SITE_FOLLOW_HUGETLB_PAGE] = "follow_hugetlb_page",
	[SITE_FOLLOW_PAGE_MASK] = "hugetlb_follow_page_mask",
	[SITE_GUP_FAST] = "gup_fast",
	[SITE_WALK_HUGETLB_RANGE] = "walk_hugetlb_range",
	[SITE_PAGE_VMA_MAPPED_WALK] = "page_vma_mapped_walk",
	[SITE_UFFD_MUST_WAIT] = "userfaultfd_huge_must_wait",
	[SITE_VMA_MAPS_PAGE] = "hugetlb_vma_maps_page",
	[SITE_HUGE_PMD_SHARE] = "huge_pmd_share",
	[SITE_UNSHARER] = "__unmap_hugepage_range",
	[SITE_CPU_ACCESS] = "cpu access",
};

const char *site_name(enum hw_site site)
{
	return site < NR_SITES ? site_names[site] : "?";
}

const struct hw_policy *hw_policy_lookup(const char *name)
{
	size_t i;

	for (i = 0; name && i < ARRAY_SIZE(policies); i++)
		if (!strcmp(policies[i].name, name))
			return &policies[i];
	return NULL;
}

const char *const *hw_policy_names(void)
{
	static const char *names[ARRAY_SIZE(policies) + 1];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(policies); i++)
		names[i] = policies[i].name;
	return names;
}

const char *hw_policy_describe(const char *name)
{
	const struct hw_policy *p = hw_policy_lookup(name);

	return p ? p->summary : NULL;
}

static const struct hw_policy *vma_policy(struct vm_area_struct *vma)
{
	return vma->vm_mm->sys->policy;
}

unsigned int hugetlb_walk_begin(enum hw_site site, struct vm_area_struct *vma)
{
	unsigned int takes = vma_policy(vma)->takes[site];

	site_enter(site, site_name(site));
	if (takes & WALK_VMA_LOCK)
		hugetlb_vma_lock_read(vma);
	if (takes & WALK_I_MMAP)
		i_mmap_lock_read(vma_mapping(vma));
	if (takes & WALK_RCU)
		rcu_read_lock();
	return takes;
}

void hugetlb_walk_end(struct vm_area_struct *vma, unsigned int taken)
{
	if (taken & WALK_RCU)
		rcu_read_unlock();
	if (taken & WALK_I_MMAP)
		i_mmap_unlock_read(vma_mapping(vma));
	if (taken & WALK_VMA_LOCK)
		hugetlb_vma_unlock_read(vma);
	site_exit();
}

/*
 * hugetlb_walk_check() - may this task walk @vma's tables now?  As the
 * kernel's hugetlb_walk() asserts under lockdep since 6.3: the vma lock
 * or i_mmap_rwsem, in either mode; the RFC also accepted RCU.
 */
void hugetlb_walk_check(struct vm_area_struct *vma)
{
	unsigned int rule = vma_policy(vma)->walk_rule;
	struct hugetlb_vma_lock *vma_lock = vma->vm_private_data;

	if ((rule & WALK_VMA_LOCK) && vma_lock &&
	    lockdep_is_held(&vma_lock->rw_sema))
		return;
	if ((rule & WALK_I_MMAP) &&
	    lockdep_is_held(&vma_mapping(vma)->i_mmap_rwsem))
		return;
	if ((rule & WALK_RCU) && rcu_read_lock_held())
		return;
	report_walk_violation(vma);
}
