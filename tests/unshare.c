// SPDX-License-Identifier: MIT
/*
 * Every path that unshares a PMD table (BRIEF.md, "Unsharing").  Each
 * test starts from the same picture:
 *
 *            1G            2G            3G
 *  A:        |== f[0,1) ==|
 *  B:                      |== f[0,1) ==|
 *            pages 0..7 written by A, one table, pt_share_count 1
 *
 * then takes the trigger in A and checks that A no longer uses the
 * table, that B's view and data are intact, and what A's next access
 * costs.
 */
#include <errno.h>

#include "helpers.h"

struct pair {
	struct hw_system *sys;
	struct hw_file *f;
	struct hw_mm *a, *b;
};

static struct pair setup(void)
{
	struct pair p;

	p.sys = boot(1024, "v6.3");
	p.f = hw_memfd_create(p.sys, "f");
	CHECK(p.f);
	CHECK_EQ(hw_ftruncate(p.f, G), 0);
	p.a = hw_mm_create(p.sys, "A");
	p.b = hw_mm_create(p.sys, "B");
	CHECK_EQ(hw_mmap(p.a, G, G, PROT_READ | PROT_WRITE, MAP_SHARED, p.f, 0), 0);
	CHECK_EQ(hw_mmap(p.b, 2 * G, G, PROT_READ | PROT_WRITE, MAP_SHARED, p.f, 0), 0);
	write_pages(p.a, G, 8, 0x100);
	check_pages(p.b, 2 * G, 8, 0x100);
	CHECK_EQ(meminfo(p.sys).shared_pmds, 1);
	show(p.sys, "A and B share");
	return p;
}

static void teardown(struct pair *p)
{
	check_invariants(p->sys);
	hw_system_destroy(p->sys);
}

/* After the trigger: A is off the table, B still sees the data. */
static void check_unshared(struct pair *p, const char *what)
{
	show(p->sys, what);
	CHECK_EQ(meminfo(p->sys).shared_pmds, 0);
	CHECK_EQ(nr_pmds(p->b), 1);
	check_pages(p->b, 2 * G, 8, 0x100);
	check_invariants(p->sys);
}

static void unshare_by_munmap(void)
{
	struct pair p = setup();

	CHECK_EQ(hw_munmap(p.a, G, G), 0);
	check_unshared(&p, "A munmapped");
	CHECK_EQ(nr_pmds(p.a), 0);
	teardown(&p);
}

static void unshare_by_exit(void)
{
	struct pair p = setup();

	hw_exit(p.a);
	check_unshared(&p, "A exited");
	teardown(&p);
}

/*
 *  A:        |== f[0,1) ==|   MADV_DONTNEED of page 3 only
 * DONTNEED unshares the whole PUD (the series' reproducer's thread 2);
 * the page cache keeps the pages, and A's next fault re-shares.
 */
static void unshare_by_madv_dontneed(void)
{
	struct pair p = setup();
	unsigned long before = faults(p.a);

	CHECK_EQ(hw_madvise(p.a, G + 3 * HP, HP, MADV_DONTNEED), 0);
	check_unshared(&p, "A: MADV_DONTNEED of one page");
	CHECK_EQ(nr_pmds(p.a), 0);
	check_pages(p.a, G, 8, 0x100);
	show(p.sys, "A read its 8 pages again");
	CHECK_EQ(faults(p.a), before + 1);
	CHECK_EQ(meminfo(p.sys).shared_pmds, 1);
	teardown(&p);
}

/*
 * Hole punch of page 2 reaches every VMA through i_mmap: the first
 * sharer it meets unshares, the last one clears the entry; the page is
 * freed and reads back as zero in both.
 */
static void unshare_by_punch_hole(void)
{
	struct pair p = setup();
	unsigned long free_before = meminfo(p.sys).hugepages_free;
	uint64_t t = 1;

	CHECK_EQ(hw_fallocate(p.f, HW_FALLOC_PUNCH_HOLE | HW_FALLOC_KEEP_SIZE,
			      2 * HP, HP), 0);
	show(p.sys, "page 2 punched");
	CHECK_EQ(meminfo(p.sys).shared_pmds, 0);
	CHECK_EQ(meminfo(p.sys).hugepages_free, free_before + 1);
	CHECK_EQ(hw_access(p.b, 2 * G + 2 * HP, false, &t), 0);
	CHECK_EQ(t, 0);
	check_pages(p.a, G + 3 * HP, 5, 0x103);
	teardown(&p);
}

static void unshare_by_truncate(void)
{
	struct pair p = setup();
	uint64_t t;

	CHECK_EQ(hw_ftruncate(p.f, 4 * HP), 0);
	show(p.sys, "truncated to 4 pages");
	CHECK_EQ(meminfo(p.sys).shared_pmds, 0);
	check_pages(p.b, 2 * G, 4, 0x100);
	CHECK_EQ(hw_access(p.a, G + 5 * HP, false, &t), SIGBUS);
	teardown(&p);
}

/*
 * mprotect of A's whole VMA to read-only unshares; the flags now differ
 * from B's, so A's next fault does not share again.
 */
static void unshare_by_mprotect(void)
{
	struct pair p = setup();
	unsigned long before = faults(p.a);

	CHECK_EQ(hw_mprotect(p.a, G, G, PROT_READ), 0);
	check_unshared(&p, "A: mprotect(PROT_READ)");
	check_pages(p.a, G, 8, 0x100);
	CHECK_EQ(faults(p.a), before + 8);
	CHECK_EQ(meminfo(p.sys).shared_pmds, 0);
	/* Back to the same flags: sharing is possible again. */
	CHECK_EQ(hw_mprotect(p.a, G, G, PROT_READ | PROT_WRITE), 0);
	teardown(&p);
}

/*
 *            1G            2G            3G            4G
 *  A:        |== f[0,1) ==|                 -> moved to 3G
 *  B:                      |== f[0,1) ==|
 * mremap does not move entries of a shared table: it unshares, and the
 * moved range faults again, sharing again since it is aligned.
 */
static void unshare_by_mremap(void)
{
	struct pair p = setup();
	unsigned long before = faults(p.a);

	CHECK_EQ(hw_mremap(p.a, G, G, G, 3 * G), 0);
	check_unshared(&p, "A: mremap to 3G");
	check_pages(p.a, 3 * G, 8, 0x100);
	CHECK_EQ(faults(p.a), before + 1);
	CHECK_EQ(meminfo(p.sys).shared_pmds, 1);
	teardown(&p);
}

/*
 *            1G   1G+6M        2G
 *  A:        |====|xx|========|      munmap of [1G+6M, 1G+8M)
 * The split leaves no VMA covering the PUD: it unshares during the
 * split, and no later fault shares again.
 */
static void unshare_by_split(void)
{
	struct pair p = setup();

	CHECK_EQ(hw_munmap(p.a, G + 3 * HP, HP), 0);
	check_unshared(&p, "A: munmap of page 3 split the VMA");
	check_pages(p.a, G + 4 * HP, 4, 0x104);
	CHECK_EQ(meminfo(p.sys).shared_pmds, 0);
	/* A split that is not huge-page aligned is refused. */
	CHECK_EQ(hw_munmap(p.a, G + 5 * HP + 4 * K, 4 * K), -EINVAL);
	teardown(&p);
}

/*
 * move_pages of page 1 through A: rmap finds the folio in both VMAs;
 * in A (shared) it unshares, in B it clears the entry; the copy takes
 * its place in the page cache.
 */
static void unshare_by_migration(void)
{
	struct pair p = setup();

	CHECK_EQ(hw_move_pages(p.a, G + HP), 0);
	check_unshared(&p, "page 1 migrated");
	check_pages(p.a, G, 8, 0x100);
	teardown(&p);
}

static void unshare_by_uffd_wp_register(void)
{
	struct pair p = setup();
	unsigned long before = faults(p.a);

	CHECK_EQ(hw_uffd_register_wp(p.a, G, G), 0);
	check_unshared(&p, "A registered uffd-wp");
	check_pages(p.a, G, 8, 0x100);
	CHECK_EQ(faults(p.a), before + 8);	/* never shares again */
	CHECK_EQ(meminfo(p.sys).shared_pmds, 0);
	teardown(&p);
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(unshare_by_munmap),
		TAP_TEST(unshare_by_exit),
		TAP_TEST(unshare_by_madv_dontneed),
		TAP_TEST(unshare_by_punch_hole),
		TAP_TEST(unshare_by_truncate),
		TAP_TEST(unshare_by_mprotect),
		TAP_TEST(unshare_by_mremap),
		TAP_TEST(unshare_by_split),
		TAP_TEST(unshare_by_migration),
		TAP_TEST(unshare_by_uffd_wp_register),
	};

	return tap_main(tests, ARRAY_SIZE(tests), 60);
}
