// SPDX-License-Identifier: MIT
/*
 * Reports, in the shape kernel developers read every day: KASAN for a
 * walker that touches a freed page table, lockdep for a walk outside the
 * policy's rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm/internal.h"

static const char *level_name(enum pt_level l)
{
	switch (l) {
	case PT_PGD:
		return "PGD";
	case PT_PUD:
		return "PUD";
	default:
		return "PMD";
	}
}

/*
 * pt_bad_access() - an accessor found the table holding @p freed.
 * Called from pt_check(); never returns.
 */
void pt_bad_access(const void *p, struct ptdesc *pt, bool write)
{
	struct task_struct *t = current;
	const struct call_site *site = current_site();
	FILE *out = t->sink && t->sink->out ? t->sink->out : stderr;

	fprintf(out, "==================================================================\n");
	fprintf(out, "BUG: KASAN: use-after-free in %s\n",
		site ? site->name : "?");
	fprintf(out, "%s of size 8 at addr %p by task %s\n",
		write ? "Write" : "Read", p, t->comm);
	fprintf(out, "\nThe buggy address belongs to a %s table, entry %lu, "
		"generation %lu\n", level_name(pt->pt_level),
		(unsigned long)(((uintptr_t)p & ~PAGE_MASK) / 8),
		pt->generation);
	fprintf(out, "\nAllocated by task %s:\n %s\n", pt->alloc_task,
		pt->alloc_fn ? pt->alloc_fn : "?");
	fprintf(out, "\nFreed by task %s:\n %s\n %s\n", pt->free_task,
		pt->free_fn ? pt->free_fn : "?",
		pt->free_site ? pt->free_site : "");
	fprintf(out, "\n");
	lockdep_print_held_locks(out, t);
	fprintf(out, "==================================================================\n");
	fflush(out);
	hw_report_fatal(HW_FINDING_UAF);
}

/*
 * report_walk_violation() - hugetlb_walk() of a shareable VMA by a task
 * that holds nothing the policy accepts.  Counted per call site; fatal
 * (lockdep's splat, then abort) under a policy that enforces its rule,
 * unless the system records violations.
 */
void report_walk_violation(struct vm_area_struct *vma)
{
	struct task_struct *t = current;
	const struct hw_policy *pol = vma->vm_mm->sys->policy;
	const struct call_site *site = current_site();
	int id = site ? site->id : NR_SITES;
	FILE *out;

	__atomic_add_fetch(&t->sink->violations[id], 1, __ATOMIC_RELAXED);
	if (!pol->enforce || t->sink->record)
		return;

	out = t->sink->out ? t->sink->out : stderr;
	fprintf(out, "\n=============================\n");
	fprintf(out, "WARNING: suspicious hugetlb_walk() usage\n");
	fprintf(out, "-----------------------------\n");
	fprintf(out, "%s walks the page tables of shareable vma "
		"[%#lx-%#lx) of mm %s\n", site ? site->name : "?",
		vma->vm_start, vma->vm_end, vma->vm_mm->name);
	fprintf(out, "without the hugetlb vma lock or i_mmap_rwsem%s "
		"(policy %s)\n",
		(pol->walk_rule & WALK_RCU) ? " or rcu_read_lock()" : "",
		pol->name);
	fprintf(out, "\nother info that might help us debug this:\n\n");
	lockdep_print_held_locks(out, t);
	fflush(out);
	hw_report_fatal(HW_FINDING_WALK_RULE);
}

long hw_violations_at(struct hw_system *sys, const char *site)
{
	int i;

	if (!site)
		return hw_violations(sys, NULL);
	for (i = 0; i < NR_SITES; i++)
		if (!strcmp(site, site_name(i)))
			return __atomic_load_n(&sys->sink.violations[i],
					       __ATOMIC_RELAXED);
	return -1;
}

unsigned long hw_violations(struct hw_system *sys, FILE *out)
{
	unsigned long total = 0, n;
	int i;

	for (i = 0; i <= NR_SITES; i++) {
		n = __atomic_load_n(&sys->sink.violations[i], __ATOMIC_RELAXED);
		if (!n)
			continue;
		total += n;
		if (out)
			fprintf(out, "%-28s %lu unprotected walk%s\n",
				i < NR_SITES ? site_name(i) : "(no site)", n,
				n == 1 ? "" : "s");
	}
	return total;
}
