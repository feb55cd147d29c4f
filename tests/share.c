// SPDX-License-Identifier: MIT
/*
 * PMD sharing: when two processes share a PMD table, and when they must
 * not.  Each step draws the address spaces first; "f[a,b)" is the range
 * of file f mapped there, in GiB.
 */
#include "helpers.h"

static struct hw_file *memfd(struct hw_system *sys, uint64_t size)
{
	struct hw_file *f = hw_memfd_create(sys, "f");

	CHECK(f);
	CHECK_EQ(hw_ftruncate(f, size), 0);
	return f;
}

/*
 *            1G            2G            3G
 *  A:        |== f[0,1) ==|
 *  B:                      |== f[0,1) ==|
 * A faults 8 pages in (8 faults); B's first fault finds A's table
 * through the file's i_mmap and shares it: 1 fault for all 8.
 */
static void two_processes_share_one_table(void)
{
	struct hw_system *sys = boot(1024, "v6.3");
	struct hw_file *f = memfd(sys, G);
	struct hw_mm *a = hw_mm_create(sys, "A"), *b = hw_mm_create(sys, "B");

	CHECK_EQ(hw_mmap(a, 1 * G, G, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0), 0);
	CHECK_EQ(hw_mmap(b, 2 * G, G, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0), 0);
	write_pages(a, 1 * G, 8, 0x100);
	CHECK_EQ(faults(a), 8);
	show(sys, "A wrote 8 pages");

	check_pages(b, 2 * G, 8, 0x100);
	show(sys, "B read them");
	CHECK_EQ(faults(b), 1);
	CHECK_EQ(meminfo(sys).shared_pmds, 1);
	CHECK_EQ(nr_pmds(a), 1);
	CHECK_EQ(nr_pmds(b), 1);

	/* What B writes, A sees, without a fault. */
	write_pages(b, 2 * G + 8 * HP, 1, 0x200);
	check_pages(a, 1 * G + 8 * HP, 1, 0x200);
	CHECK_EQ(faults(a), 8);
	check_invariants(sys);
	hw_system_destroy(sys);
}

/*
 *            1G            2G            3G
 *  A:        |== f[0,1) ==|
 *  B:                       |== f[0,1) ==|     (2G + 2M)
 * B's VMA covers no whole PUD range: no sharing, a fault per page.
 */
static void misaligned_mapping_does_not_share(void)
{
	struct hw_system *sys = boot(1024, "v6.3");
	struct hw_file *f = memfd(sys, G);
	struct hw_mm *a = hw_mm_create(sys, "A"), *b = hw_mm_create(sys, "B");

	CHECK_EQ(hw_mmap(a, 1 * G, G, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0), 0);
	CHECK_EQ(hw_mmap(b, 2 * G + HP, G, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0), 0);
	write_pages(a, 1 * G, 8, 0x100);
	check_pages(b, 2 * G + HP, 8, 0x100);
	show(sys, "B read 8 pages through its own tables");
	CHECK_EQ(faults(b), 8);
	CHECK_EQ(meminfo(sys).shared_pmds, 0);
	CHECK_EQ(nr_pmds(b), 1);	/* pages 0..7 all lie below 3G */
	check_invariants(sys);
	hw_system_destroy(sys);
}

/*
 *            1G            2G
 *  A:        |== f[0,1) ==|          rw, shared
 *  B:                      |== f[0,1) ==|   r, shared / rw, private
 * page_table_shareable() wants equal flags and VM_MAYSHARE.
 */
static void different_flags_or_private_do_not_share(void)
{
	struct hw_system *sys = boot(1024, "v6.3");
	struct hw_file *f = memfd(sys, G);
	struct hw_mm *a = hw_mm_create(sys, "A"), *b = hw_mm_create(sys, "B");
	struct hw_mm *c = hw_mm_create(sys, "C");

	CHECK_EQ(hw_mmap(a, 1 * G, G, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0), 0);
	CHECK_EQ(hw_mmap(b, 2 * G, G, PROT_READ, MAP_SHARED, f, 0), 0);
	CHECK_EQ(hw_mmap(c, 3 * G, G, PROT_READ | PROT_WRITE, MAP_PRIVATE, f, 0), 0);
	write_pages(a, 1 * G, 4, 0x100);
	check_pages(b, 2 * G, 4, 0x100);
	check_pages(c, 3 * G, 4, 0x100);
	show(sys, "B (read-only) and C (private) read 4 pages each");
	CHECK_EQ(faults(b), 4);
	CHECK_EQ(faults(c), 4);
	CHECK_EQ(meminfo(sys).shared_pmds, 0);
	check_invariants(sys);
	hw_system_destroy(sys);
}

/*
 *            1G            2G            3G
 *  A:        |== f[0,1) ==|
 *  B:                      |== f[0,1) ==|
 *  C:                                    |== f[0,1) ==|
 * Three sharers: one table, pt_share_count 2; each leaves in turn, the
 * last one frees it.
 */
static void last_user_frees_the_table(void)
{
	struct hw_system *sys = boot(1024, "v6.3");
	struct hw_file *f = memfd(sys, G);
	struct hw_mm *m[3];
	unsigned long base;
	int i;

	base = meminfo(sys).pagetables;
	for (i = 0; i < 3; i++) {
		char name[2] = { 'A' + i, 0 };

		m[i] = hw_mm_create(sys, name);
		CHECK_EQ(hw_mmap(m[i], (i + 1) * G, G, PROT_READ | PROT_WRITE,
				 MAP_SHARED, f, 0), 0);
		write_pages(m[i], (i + 1) * G + i * HP, 1, 0x10 + i);
	}
	show(sys, "three mms share one table");
	CHECK_EQ(meminfo(sys).shared_pmds, 1);
	/* 3 PGDs, 3 PUD tables, 1 PMD table */
	CHECK_EQ(meminfo(sys).pagetables, base + 3 * 2 + 1);

	CHECK_EQ(hw_munmap(m[0], G, G), 0);
	show(sys, "A unmapped: unshared, the table stays");
	CHECK_EQ(meminfo(sys).shared_pmds, 1);
	check_pages(m[2], 3 * G, 3, 0x10);
	CHECK_EQ(hw_munmap(m[1], 2 * G, G), 0);
	show(sys, "B unmapped: C is the last user");
	CHECK_EQ(meminfo(sys).shared_pmds, 0);
	CHECK_EQ(nr_pmds(m[2]), 1);
	CHECK_EQ(hw_munmap(m[2], 3 * G, G), 0);
	show(sys, "C unmapped: the table is freed");
	CHECK_EQ(meminfo(sys).pagetables, base + 3);
	check_invariants(sys);
	for (i = 0; i < 3; i++)
		hw_exit(m[i]);
	CHECK_EQ(meminfo(sys).pagetables, 0);
	hw_system_destroy(sys);
}

/*
 *            1G            2G
 *  P:        |== f[0,1) ==|     shared       P forks C
 *  C:        |== f[0,1) ==|
 * fork copies no shared table: the child's first fault re-shares.
 */
static void fork_child_reshares(void)
{
	struct hw_system *sys = boot(1024, "v6.3");
	struct hw_file *f = memfd(sys, G);
	struct hw_mm *p = hw_mm_create(sys, "P"), *c;

	CHECK_EQ(hw_mmap(p, G, G, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0), 0);
	write_pages(p, G, 8, 0x100);
	c = hw_fork(p, "C");
	CHECK(c);
	CHECK_EQ(nr_pmds(c), 0);
	check_pages(c, G, 8, 0x100);
	show(sys, "the child read 8 pages");
	CHECK_EQ(faults(c), 1);
	CHECK_EQ(meminfo(sys).shared_pmds, 1);
	hw_exit(c);
	CHECK_EQ(meminfo(sys).shared_pmds, 0);
	check_invariants(sys);
	hw_system_destroy(sys);
}

/*
 *            1G            2G
 *  P:        |== f[0,1) ==|     private      P forks C
 *  C:        |== f[0,1) ==|
 * Private pages are copied on write: each side keeps its own data.
 */
static void fork_private_copy_on_write(void)
{
	struct hw_system *sys = boot(1024, "v6.3");
	struct hw_file *f = memfd(sys, G);
	struct hw_mm *p = hw_mm_create(sys, "P"), *c;
	unsigned long free_before;

	CHECK_EQ(hw_mmap(p, G, G, PROT_READ | PROT_WRITE, MAP_PRIVATE, f, 0), 0);
	write_pages(p, G, 2, 0x100);
	c = hw_fork(p, "C");
	CHECK(c);
	check_pages(c, G, 2, 0x100);
	CHECK_EQ(faults(c), 0);		/* copied at fork */
	free_before = meminfo(sys).hugepages_free;
	write_pages(c, G, 1, 0x200);	/* COW: a new page */
	CHECK_EQ(meminfo(sys).hugepages_free, free_before - 1);
	check_pages(p, G, 2, 0x100);
	check_pages(c, G, 1, 0x200);
	write_pages(p, G, 1, 0x300);	/* sole mapper again: reused */
	CHECK_EQ(meminfo(sys).hugepages_free, free_before - 1);
	check_pages(c, G, 1, 0x200);
	check_invariants(sys);
	hw_system_destroy(sys);
}

/*
 *            1G       1G+4M            2G       2G+4M
 *  P:        |=owner==|                |=noresv=|   both f[0, 4M), private
 *  C:        |=owner==|  (fork)        |=noresv=|
 * A pool of 2, both pages P's, faulted before the fork: P's store to
 * page 0 must copy and cannot, so it takes the page back from C's two
 * mappings and from its own MAP_NORESERVE one (unmap_ref_private()),
 * which all get SIGBUS from then on.  One fault; two under quirk
 * cow-steal-refault, which ends the fault when one of those mappings
 * was P's own.  With the quirk and no mapping of P's own taken from,
 * still one.
 */
static void cow_steal(bool quirk, bool own_noreserve, unsigned long want)
{
	struct hw_system *sys = boot(2, "v6.3");
	struct hw_file *f = memfd(sys, 2 * HP);
	struct hw_mm *p = hw_mm_create(sys, "P"), *c;
	const int rw = PROT_READ | PROT_WRITE;
	uint64_t tag;
	unsigned long fp;

	CHECK_EQ(hw_system_set_quirk(sys, HW_QUIRK_COW_STEAL_REFAULT, quirk),
		 0);
	CHECK_EQ(hw_mmap(p, G, 2 * HP, rw, MAP_PRIVATE, f, 0), 0);
	if (own_noreserve)
		CHECK_EQ(hw_mmap(p, 2 * G, 2 * HP, rw,
				 MAP_PRIVATE | MAP_NORESERVE, f, 0), 0);
	write_pages(p, G, 2, 0x100);
	CHECK_EQ(meminfo(sys).hugepages_free, 0);
	c = hw_fork(p, "C");
	CHECK(c);
	check_pages(c, G, 1, 0x100);
	fp = faults(p);
	write_pages(p, G, 1, 0x200);
	show(sys, "P took page 0 back");
	CHECK_EQ(faults(p), fp + want);
	CHECK_EQ(hw_access(c, G, false, &tag), SIGBUS);
	if (own_noreserve)
		CHECK_EQ(hw_access(p, 2 * G, false, &tag), SIGBUS);
	check_pages(p, G, 1, 0x200);
	check_invariants(sys);
	hw_system_destroy(sys);
}

static void cow_steal_one_fault(void)
{
	cow_steal(false, true, 1);
	cow_steal(true, false, 1);
}

static void cow_steal_refault_quirk(void)
{
	cow_steal(true, true, 2);
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(two_processes_share_one_table),
		TAP_TEST(misaligned_mapping_does_not_share),
		TAP_TEST(different_flags_or_private_do_not_share),
		TAP_TEST(last_user_frees_the_table),
		TAP_TEST(fork_child_reshares),
		TAP_TEST(fork_private_copy_on_write),
		TAP_TEST(cow_steal_one_fault),
		TAP_TEST(cow_steal_refault_quirk),
	};

	return tap_main(tests, ARRAY_SIZE(tests), 60);
}
