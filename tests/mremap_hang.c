// SPDX-License-Identifier: MIT
/*
 * km_mremap_hangs(): which mremap() calls the kernel backend refuses
 * because the running kernel would hang in huge_pmd_share() under its own
 * i_mmap_rwsem (docs/differences.md), and which it lets through.  Each
 * test draws one process's mappings and what its page tables hold:
 *
 *   '#' a present page in a PMD table of this mm alone (KM_PTE_OWN)
 *   'S' a present page in a shared PMD table
 *   '?' a page whose state cannot be read
 *   '=' mapped, nothing present
 *
 * one character per 128 MiB column in the drawings; the page lists are
 * exact.  No kernel is needed: tests/live.sh checks the kernel side.
 */
#include <stdio.h>
#include <string.h>

#include "cli/kernel_mremap.h"
#include "tap.h"

#define M	(1ULL << 20)
#define G	(1ULL << 30)

struct page_state {
	uint64_t addr;
	enum km_pte pte;
};

struct picture {
	struct km_map maps[8];
	int nr;
	struct page_state pages[8];
	int nr_pages;
};

static enum km_pte lookup(uint64_t addr, void *arg)
{
	const struct picture *p = arg;

	for (int i = 0; i < p->nr_pages; i++)
		if (p->pages[i].addr == addr)
			return p->pages[i].pte;
	return KM_PTE_NONE;
}

static void map(struct picture *p, uint64_t start, uint64_t len, int file,
		uint64_t off, bool shared, const char *perms)
{
	struct km_map *m = &p->maps[p->nr++];

	*m = (struct km_map){ start, start + len, off / 4096, file, shared,
			      { perms[0], perms[1], perms[2], '\0' } };
}

static void page(struct picture *p, uint64_t addr, enum km_pte pte)
{
	p->pages[p->nr_pages++] = (struct page_state){ addr, pte };
}

static bool hangs(struct picture *p, uint64_t old, uint64_t len,
		  uint64_t new_len, uint64_t dst, struct km_hang *w)
{
	memset(w, 0, sizeof(*w));
	return km_mremap_hangs(p->maps, p->nr, old, len, new_len, dst, lookup,
			       p, w);
}

/*
 *        1G               2G               3G
 *  now:  |#=======|                              f[0, 1G), shared
 *  move: 1G -> 2G: the page lands in an empty PUD the new VMA covers
 * The reproducer of docs/differences.md: it hangs, at the first page.
 */
static void reproducer_hangs(void)
{
	struct picture p = { 0 };
	struct km_hang w;

	map(&p, G, G, 0, 0, true, "rw-");
	page(&p, G, KM_PTE_OWN);
	CHECK(hangs(&p, G, G, G, 2 * G, &w));
	CHECK_EQ(w.page, G);
	CHECK_EQ(w.pud, 2 * G);
	CHECK(!w.unknown);
}

/*
 *        1G               2G
 *  now:  |S=======|                              the table is shared
 *  move: 1G -> 2G: huge_pmd_unshare() instead, the 1 GiB skipped
 */
static void shared_table_unshares(void)
{
	struct picture p = { 0 };
	struct km_hang w;

	map(&p, G, G, 0, 0, true, "rw-");
	page(&p, G, KM_PTE_SHARED);
	page(&p, G + 2 * M, KM_PTE_SHARED);
	CHECK(!hangs(&p, G, G, G, 2 * G, &w));
}

/*
 *        1G               2G
 *  now:  |#=======|
 *  move: 1G -> 1G+512M, 1G -> 1G, misaligned or empty: the kernel says
 *  EINVAL (ranges overlap, not huge-page aligned, zero length) first
 */
static void refused_calls_do_not_hang(void)
{
	struct picture p = { 0 };
	struct km_hang w;

	map(&p, G, G, 0, 0, true, "rw-");
	page(&p, G, KM_PTE_OWN);
	CHECK(!hangs(&p, G, G, G, G, &w));
	CHECK(!hangs(&p, G, G, G, G + 512 * M, &w));
	CHECK(!hangs(&p, G, G, G, 2 * G + 4096, &w));
	CHECK(!hangs(&p, G, 0, G, 2 * G, &w));
	CHECK(!hangs(&p, 5 * G, G, G, 2 * G, &w));	/* nothing there */
}

/*
 *        1G               2G               3G
 *  now:  |#=======|
 *  move: 1G -> 2G+2M: the new VMA covers no whole 1 GiB; no sharing
 *  move: private mapping: no sharing either
 */
static void no_whole_pud_no_hang(void)
{
	struct picture p = { 0 }, q = { 0 };
	struct km_hang w;

	map(&p, G, G, 0, 0, true, "rw-");
	page(&p, G, KM_PTE_OWN);
	CHECK(!hangs(&p, G, G, G, 2 * G + 2 * M, &w));
	map(&q, G, G, 0, 0, false, "rw-");
	page(&q, G, KM_PTE_OWN);
	CHECK(!hangs(&q, G, G, G, 2 * G, &w));
}

/*
 *        1G               2G               3G
 *  now:  |#|                               |=#============|  f1[0, 1G)
 *        f0[0,12M)                         5G
 *  move: 1G 12M -> 5G: the destination's PUD keeps f1's table, since
 *  f1's VMA is left in that 1 GiB after [5G, 5G+12M) is unmapped, and
 *  a page of it is present: no huge_pmd_share(), no hang.
 */
static void populated_destination_no_hang(void)
{
	struct picture p = { 0 };
	struct km_hang w;

	map(&p, G, 12 * M, 0, 0, true, "rw-");
	map(&p, 5 * G, G, 1, 0, true, "rw-");
	page(&p, G, KM_PTE_OWN);
	page(&p, 5 * G + 8 * M, KM_PTE_OWN);
	CHECK(!hangs(&p, G, 12 * M, 12 * M, 5 * G, &w));

	/* Nothing present there: the PUD may be empty; the new VMA
	 * merges with what is left of f1's (contiguous offsets, same
	 * file): it covers the 1 GiB, and that hangs. */
	p.nr_pages = 1;
	p.maps[0].file = 1;
	CHECK(hangs(&p, G, 12 * M, 12 * M, 5 * G, &w));
	CHECK_EQ(w.pud, 5 * G);
}

/*
 *        1G               5G
 *  now:  |#|              |=============|   f1[12M, 1G+12M) at 5G+12M
 *  move: f0[0,12M) -> 5G: the neighbour is of another file, or its
 *  offset does not follow on, or its protection differs: no merge, the
 *  new VMA is 12 MiB, no whole 1 GiB, no hang
 */
static void merge_needs_same_file_and_offset(void)
{
	struct picture p = { 0 };
	struct km_hang w;

	map(&p, G, 12 * M, 0, 0, true, "rw-");
	map(&p, 5 * G + 12 * M, G - 12 * M, 1, 12 * M, true, "rw-");
	page(&p, G, KM_PTE_OWN);
	CHECK(!hangs(&p, G, 12 * M, 12 * M, 5 * G, &w));	/* file */
	p.maps[1].file = 0;
	CHECK(hangs(&p, G, 12 * M, 12 * M, 5 * G, &w));	/* merges */
	p.maps[1].pgoff = 0;
	CHECK(!hangs(&p, G, 12 * M, 12 * M, 5 * G, &w));	/* offset */
	p.maps[1].pgoff = 12 * M / 4096;
	p.maps[1].perms[1] = '-';
	CHECK(!hangs(&p, G, 12 * M, 12 * M, 5 * G, &w));	/* prot */
}

/*
 *        1G               2G               3G
 *  now:  |#======#========|                      f[0, 2G), pages at 1G
 *                                                and 2G-2M
 *  move: to 4G-2M: the new VMA is [4G-2M, 6G-2M).  Page 1G lands in
 *  [3G, 4G), which it does not cover whole: a table is allocated there,
 *  not shared.  Page 2G-2M lands in [4G, 5G), covered: it hangs there.
 *  Growing instead is EFAULT (hugetlb VMAs are VM_DONTEXPAND).
 */
static void hang_at_a_later_page(void)
{
	struct picture p = { 0 };
	struct km_hang w;

	map(&p, G, 2 * G, 0, 0, true, "rw-");
	page(&p, G, KM_PTE_OWN);
	page(&p, 2 * G - 2 * M, KM_PTE_OWN);
	CHECK(hangs(&p, G, 2 * G, 2 * G, 4 * G - 2 * M, &w));
	CHECK_EQ(w.page, 2 * G - 2 * M);
	CHECK_EQ(w.pud, 4 * G);
	CHECK(!hangs(&p, G, G, 2 * G, 4 * G - 2 * M, &w));
}

/*
 *  now:  |?=======|        a page that cannot be read: assume the worst
 */
static void unknown_counts_as_hang(void)
{
	struct picture p = { 0 };
	struct km_hang w;

	map(&p, G, G, 0, 0, true, "rw-");
	page(&p, G + 2 * M, KM_PTE_UNKNOWN);
	CHECK(hangs(&p, G, G, G, 3 * G + 2 * M, &w));
	CHECK(w.unknown);
	CHECK_EQ(w.page, G + 2 * M);
}

/*
 *        1G               2G               3G
 *  now:  |#|              |#==============|      a private f[0, 2M),
 *                                                a shared f[1G, 2G)
 *  move: [1G, 3G), both VMAs, to 5G, each to the same offset (6.17):
 *  the private one's page never shares; the shared one becomes
 *  [6G, 7G), whole, and its page hangs.  Without that page, no hang.
 *  A resize of several VMAs is EFAULT before anything moves.
 */
static void several_vmas_each_moved(void)
{
	struct picture p = { 0 };
	struct km_hang w;

	map(&p, G, 2 * M, 0, 0, false, "rw-");
	map(&p, 2 * G, G, 0, G, true, "rw-");
	page(&p, G, KM_PTE_OWN);
	page(&p, 2 * G, KM_PTE_OWN);
	CHECK(hangs(&p, G, 2 * G, 2 * G, 5 * G, &w));
	CHECK_EQ(w.page, 2 * G);
	CHECK_EQ(w.pud, 6 * G);
	CHECK(!hangs(&p, G, 2 * G, G, 5 * G, &w));
	p.nr_pages = 1;
	CHECK(!hangs(&p, G, 2 * G, 2 * G, 5 * G, &w));
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(reproducer_hangs),
		TAP_TEST(shared_table_unshares),
		TAP_TEST(refused_calls_do_not_hang),
		TAP_TEST(no_whole_pud_no_hang),
		TAP_TEST(populated_destination_no_hang),
		TAP_TEST(merge_needs_same_file_and_offset),
		TAP_TEST(hang_at_a_later_page),
		TAP_TEST(unknown_counts_as_hang),
		TAP_TEST(several_vmas_each_moved),
	};

	return tap_main(tests, sizeof(tests) / sizeof(tests[0]), 30);
}
