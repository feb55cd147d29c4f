// SPDX-License-Identifier: MIT
/*
 * Harnesses: one per call site, each in the shape of the series'
 * reproducer (v3 cover letter):
 *
 *            1G              2G              3G
 *  A:        |=== f[0,1G) ===|                      walker, unsharer
 *  B:                        |=== f[0,1G) ===|      last sharer
 *            one PMD table, shared (pt_share_count 1); page 0 written
 *
 *  A:walker    goes through the site under test
 *  A:unsharer  MADV_DONTNEED of page 0: unshares A's PUD entry
 *  B:munmap    munmap of all of B's 1G: if A has unshared, B is the
 *              last user and frees the table
 *
 * The "-reuse" harnesses have B, the table's last user once A has
 * unshared, unmap its first 2M and map another file g there: B's fault
 * reuses the table, and a walker of A still inside it meets g's page
 * (CVE-2025-38085).  The walker then checks what it got: a folio that
 * A's VMA does not map is an isolation break.
 *
 * A new site gets its harness by adding an entry to race_harnesses[]:
 * a name (the call site as reports name it), a setup, and task bodies
 * that use the public or internal API of src/mm.
 *
 * Invariant: setup leaves no task holding anything and every RCU
 * callback run (the engine snapshots right after), and task bodies
 * change nothing outside the arena.
 */
#include <errno.h>
#include <string.h>

#include "check/check.h"

#define G	HW_PUD_SIZE
#define HP	HW_HPAGE_SIZE
#define RW	(PROT_READ | PROT_WRITE)

static int setup_system(struct race_ctx *c, const char *policy)
{
	struct hw_system_opts o = {
		/* 512 reserved by the shared mapping, a few for migration */
		.nr_hugepages = 520,
		.policy = policy,
		.violations = HW_VIOLATION_ABORT,
		.report = c->report,
	};

	c->sys = hw_system_create(&o);
	if (!c->sys)
		return -errno;
	c->f = hw_memfd_create(c->sys, "f");
	if (!c->f)
		return -errno;
	return hw_ftruncate(c->f, G);
}

/* A and B share one PMD table over f[0, 1G); page 0 is mapped. */
static int setup_pair(struct race_ctx *c, const char *policy)
{
	struct hw_meminfo mi;
	uint64_t tag = 0x1;
	int err;

	err = setup_system(c, policy);
	if (err)
		return err;
	c->a = hw_mm_create(c->sys, "A");
	c->b = hw_mm_create(c->sys, "B");
	if (!c->a || !c->b)
		return -ENOMEM;
	err = hw_mmap(c->a, G, G, RW, MAP_SHARED, c->f, 0);
	if (!err)
		err = hw_mmap(c->b, 2 * G, G, RW, MAP_SHARED, c->f, 0);
	if (!err)
		err = hw_access(c->a, G, true, &tag) ? -EFAULT : 0;
	if (!err)
		err = hw_access(c->b, 2 * G, false, &tag) ? -EFAULT : 0;
	if (err)
		return err;
	hw_meminfo(c->sys, &mi);
	return mi.shared_pmds == 1 ? 0 : -EAGAIN;
}

/* The pair, and the page-cache folio of page 0, referenced. */
static int setup_pair_folio(struct race_ctx *c, const char *policy)
{
	int err = setup_pair(c, policy);

	if (err)
		return err;
	c->folio = filemap_get_hugetlb_folio(&c->f->i_data, 0);
	return c->folio ? 0 : -ENOENT;
}

/* The pair, and a 2M file g for B to map over its first page. */
static int setup_pair_reuse(struct race_ctx *c, const char *policy)
{
	int err = setup_pair(c, policy);

	if (err)
		return err;
	c->g = hw_memfd_create(c->sys, "g");
	if (!c->g)
		return -errno;
	return hw_ftruncate(c->g, HP);
}

/* The pair, A's whole mapping registered with a userfaultfd (MISSING). */
static int setup_pair_uffd(struct race_ctx *c, const char *policy)
{
	int err = setup_pair(c, policy);

	if (err)
		return err;
	c->uffd = hw_uffd_create(c->a);
	if (!c->uffd)
		return -errno;
	return hw_uffd_register(c->uffd, G, G,
				HW_UFFDIO_REGISTER_MODE_MISSING);
}

/* The pair, and C mapping the file at 3G, not faulted in yet. */
static int setup_trio(struct race_ctx *c, const char *policy)
{
	int err = setup_pair(c, policy);

	if (err)
		return err;
	c->c = hw_mm_create(c->sys, "C");
	if (!c->c)
		return -ENOMEM;
	return hw_mmap(c->c, 3 * G, G, RW, MAP_SHARED, c->f, 0);
}

/* ---- the tasks every harness shares ------------------------------------- */

static void a_unshare(struct race_ctx *c)
{
	hw_madvise(c->a, G, HP, MADV_DONTNEED);
}

static void b_munmap(struct race_ctx *c)
{
	hw_munmap(c->b, 2 * G, G);
}

/*
 * B, alone in the table once A unshared, replaces its first 2M by a
 * mapping of g: the VMA is split (not at a PUD boundary: hugetlb_split()
 * unshares if the table is still shared), the rest of the VMA keeps the
 * table alive, and the fault on g fills slot 0 of the same table.
 */
static void b_reuse(struct race_ctx *c)
{
	uint64_t tag = 0xbad;

	hw_munmap(c->b, 2 * G, HP);
	if (hw_mmap(c->b, 2 * G, HP, RW, MAP_SHARED, c->g, 0))
		return;
	hw_access(c->b, 2 * G, true, &tag);
}

#define UNSHARER	{ "A:unsharer", a_unshare }
#define LAST_SHARER	{ "B:munmap", b_munmap }
#define REUSER		{ "B:reuse", b_reuse }

/*
 * check_isolation() - the isolation oracle: a walker of @mm was handed
 * @page for @addr of its mapping of f at G.  It must be f's page at that
 * offset; anything else came through a table that is no longer this
 * mm's.  Reported like the kernel's checkers, ending the schedule.
 */
static void check_isolation(struct race_ctx *c, struct hw_mm *mm,
			    uint64_t addr, struct hw_page *page)
{
	unsigned long idx = (addr - G) / HP, pfn = hw_page_pfn(page);
	struct folio *folio = pfn_to_folio(c->sys, pfn);
	const struct call_site *site = current_site();
	FILE *out = c->report;

	if (READ_ONCE(folio->mapping) == &c->f->i_data && folio->index == idx)
		return;
	fprintf(out, "==================================================================\n");
	fprintf(out, "BUG: isolation break in %s\n",
		site ? site->name : "get_user_pages");
	fprintf(out, "task %s of mm %s pinned pfn %#lx for address %#llx\n",
		current->comm, hw_mm_name(mm), pfn, (unsigned long long)addr);
	fprintf(out, "its VMA maps page %lu of file %s there, but the page "
		"is %s%s, index %lu\n", idx, hw_file_name(c->f),
		folio->mapping ? "of file " : "not in a file",
		folio->mapping ? hw_file_name(folio->mapping->host) : "",
		folio->index);
	fprintf(out, "(a stale PMD table: unshared from %s, reused by its "
		"last user)\n", hw_mm_name(mm));
	lockdep_print_held_locks(out, current);
	fprintf(out, "==================================================================\n");
	fflush(out);
	hw_report_fatal(HW_FINDING_ISOLATION);
}

/* ---- the walkers --------------------------------------------------------- */

/* A store to page 1, not yet mapped: the fault's early entry check. */
static void walk_fault(struct race_ctx *c)
{
	uint64_t tag = 0x2;

	hw_access(c->a, G + HP, true, &tag);
}

/* MADV_POPULATE_WRITE of page 0: GUP, follow_hugetlb_page(). */
static void walk_populate(struct race_ctx *c)
{
	hw_madvise(c->a, G, HP, MADV_POPULATE_WRITE);
}

/* move_pages(2) of page 0: follow_page, then migration. */
static void walk_move_pages(struct race_ctx *c)
{
	hw_move_pages(c->a, G);
}

/*
 * Reclaim ages the folio found on its LRU, not through a page table:
 * folio_referenced(), rmap, page_vma_mapped_walk() in every VMA.
 */
static void walk_referenced(struct race_ctx *c)
{
	folio_referenced(c->folio, &c->f->i_data);
	folio_put(c->folio);	/* the LRU isolation's reference */
}

/* Hole punch of page 0: hugetlb_vma_maps_page() in every VMA. */
static void walk_punch(struct race_ctx *c)
{
	hw_fallocate(c->f, HW_FALLOC_PUNCH_HOLE | HW_FALLOC_KEEP_SIZE, 0, HP);
}

/* /proc/pid/pagemap of page 0: walk_hugetlb_range(). */
static void walk_pagemap(struct race_ctx *c)
{
	uint64_t pm;

	hw_pagemap(c->a, G, 1, &pm);
}

/*
 * A store to page 1, missing in a MISSING-registered range: the fault
 * asks userfaultfd_huge_must_wait() whether to sleep, and sleeps until
 * the monitor's UFFDIO_COPY.
 */
static void walk_uffd_fault(struct race_ctx *c)
{
	uint64_t tag = 0x2;

	hw_access(c->a, G + HP, true, &tag);
}

/* The monitor: read the fault event, resolve it with UFFDIO_COPY. */
static void uffd_monitor(struct race_ctx *c)
{
	struct hw_uffd_msg msg;

	if (hw_uffd_read(c->uffd, &msg, false))
		return;
	hw_uffd_copy(c->uffd, msg.address, 0x3, 0);
}

/* GUP-fast of page 0, lockless: the walk inside IRQs-off (RCU). */
static void walk_gup_fast(struct race_ctx *c)
{
	struct hw_page *pages[1];

	site_enter(SITE_GUP_FAST, "gup_fast");
	if (hw_get_user_pages_fast(c->a, G, 1, HW_FOLL_FAST_ONLY, pages,
				   NULL) == 1) {
		check_isolation(c, c->a, G, pages[0]);
		hw_unpin_user_pages(pages, 1);
	}
	site_exit();
}

/* get_user_pages() of page 0: follow_hugetlb_page() pins it. */
static void walk_gup(struct race_ctx *c)
{
	struct hw_page *pages[1];

	site_enter(SITE_FOLLOW_HUGETLB_PAGE, "follow_hugetlb_page");
	if (hw_get_user_pages(c->a, G, 1, 0, pages) == 1) {
		check_isolation(c, c->a, G, pages[0]);
		hw_unpin_user_pages(pages, 1);
	}
	site_exit();
}

/* C's first fault: huge_pmd_share() walks A's or B's table. */
static void walk_share(struct race_ctx *c)
{
	uint64_t tag;

	hw_access(c->c, 3 * G, false, &tag);
}

const struct race_harness race_harnesses[] = {
	{
		.name = "hugetlb_fault",
		.site = SITE_HUGETLB_FAULT,
		.walker = "A stores to page 1: the fault's early entry check",
		.setup = setup_pair,
		.tasks = { { "A:walker", walk_fault }, UNSHARER, LAST_SHARER },
	},
	{
		.name = "follow_hugetlb_page",
		.site = SITE_FOLLOW_HUGETLB_PAGE,
		.walker = "A: MADV_POPULATE_WRITE of page 0 (GUP slow path)",
		.setup = setup_pair,
		.tasks = { { "A:walker", walk_populate }, UNSHARER,
			   LAST_SHARER },
	},
	{
		.name = "hugetlb_follow_page_mask",
		.site = SITE_FOLLOW_PAGE_MASK,
		.walker = "A: move_pages(2) of page 0 (follow_page, migration)",
		.setup = setup_pair,
		.tasks = { { "A:walker", walk_move_pages }, UNSHARER,
			   LAST_SHARER },
	},
	{
		.name = "walk_hugetlb_range",
		.site = SITE_WALK_HUGETLB_RANGE,
		.walker = "A reads /proc/pid/pagemap of page 0 (pagewalk)",
		.setup = setup_pair,
		.tasks = { { "A:walker", walk_pagemap }, UNSHARER,
			   LAST_SHARER },
	},
	{
		.name = "userfaultfd_huge_must_wait",
		.site = SITE_UFFD_MUST_WAIT,
		.walker = "A faults page 1 in a uffd MISSING range; a monitor "
			  "copies it",
		.setup = setup_pair_uffd,
		.tasks = { { "A:walker", walk_uffd_fault },
			   { "monitor", uffd_monitor }, UNSHARER,
			   LAST_SHARER },
	},
	{
		.name = "page_vma_mapped_walk",
		.site = SITE_PAGE_VMA_MAPPED_WALK,
		.walker = "reclaim: folio_referenced() of page 0 (rmap)",
		.setup = setup_pair_folio,
		.tasks = { { "reclaim", walk_referenced }, UNSHARER,
			   LAST_SHARER },
	},
	{
		.name = "hugetlb_vma_maps_page",
		.site = SITE_VMA_MAPS_PAGE,
		.walker = "hole punch of page 0 (hugetlbfs)",
		.setup = setup_pair,
		.tasks = { { "punch", walk_punch }, UNSHARER, LAST_SHARER },
	},
	{
		.name = "gup_fast",
		.site = SITE_GUP_FAST,
		.walker = "A: GUP-fast of page 0 (lockless, IRQs off)",
		.setup = setup_pair,
		.tasks = { { "A:walker", walk_gup_fast }, UNSHARER,
			   LAST_SHARER },
	},
	{
		.name = "gup_fast-reuse",
		.site = SITE_GUP_FAST,
		.walker = "A: GUP-fast of page 0; B reuses the table for g",
		.setup = setup_pair_reuse,
		.tasks = { { "A:walker", walk_gup_fast }, UNSHARER, REUSER },
	},
	{
		.name = "follow_hugetlb_page-reuse",
		.site = SITE_FOLLOW_HUGETLB_PAGE,
		.walker = "A: get_user_pages() of page 0; B reuses the table",
		.setup = setup_pair_reuse,
		.tasks = { { "A:walker", walk_gup }, UNSHARER, REUSER },
	},
	{
		.name = "huge_pmd_share",
		.site = SITE_HUGE_PMD_SHARE,
		.walker = "C's first fault shares A's or B's table",
		.setup = setup_trio,
		.tasks = { { "C:walker", walk_share }, UNSHARER, LAST_SHARER },
	},
};

const int nr_race_harnesses = ARRAY_SIZE(race_harnesses);

/*
 * A harness for measuring the explorer, not the kernel: two tasks on a
 * booted system with no pages, each taking a mutex three times (twelve
 * scheduling points).  Its rate is the cost of a schedule itself:
 * restoring the snapshot, switching, choosing, checking invariants.
 */
static int setup_bare(struct race_ctx *c, const char *policy)
{
	struct hw_system_opts o = { .policy = policy, .report = c->report };

	c->sys = hw_system_create(&o);
	return c->sys ? 0 : -errno;
}

static void lock_thrice(struct race_ctx *c)
{
	struct mutex *m = &c->sys->lists_lock;
	int i;

	for (i = 0; i < 3; i++) {
		mutex_lock(m);
		mutex_unlock(m);
	}
}

const struct race_harness race_micro_harness = {
	.name = "micro",
	.site = NR_SITES,
	.walker = "two tasks, a mutex taken three times each",
	.setup = setup_bare,
	.tasks = { { "t0", lock_thrice }, { "t1", lock_thrice } },
};

/**
 * race_harness_find() - the harness of call site @name.
 * @name: as race_harnesses[] names it.
 *
 * Return: the harness, or NULL.
 */
const struct race_harness *race_harness_find(const char *name)
{
	int i;

	for (i = 0; i < nr_race_harnesses; i++)
		if (!strcmp(race_harnesses[i].name, name))
			return &race_harnesses[i];
	return NULL;
}
