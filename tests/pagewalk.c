// SPDX-License-Identifier: MIT
/*
 * The pagewalk call site (walk_hugetlb_range) and its two users,
 * /proc/PID/pagemap and mincore(2), under every policy.  "f[a,b)" is the
 * range of file f mapped there, in GiB; pages are 2 MiB huge pages, each
 * 512 pagemap entries or mincore bytes of 4 KiB.
 */
#include <errno.h>

#include "helpers.h"

#define PAGES_PER_HP	(HP / (4 * K))

static struct hw_system *boot_rec(const char *policy)
{
	struct hw_system_opts o = { .nr_hugepages = 1024, .policy = policy,
				    .violations = HW_VIOLATION_RECORD };
	struct hw_system *sys = hw_system_create(&o);

	CHECK_MSG(sys, "hw_system_create(%s) failed", policy);
	return sys;
}

static struct hw_file *memfd(struct hw_system *sys, uint64_t size)
{
	struct hw_file *f = hw_memfd_create(sys, "f");

	CHECK(f);
	CHECK_EQ(hw_ftruncate(f, size), 0);
	return f;
}

static struct hw_mm *map(struct hw_system *sys, const char *name,
			 uint64_t addr, uint64_t len, int flags,
			 struct hw_file *f)
{
	struct hw_mm *mm = hw_mm_create(sys, name);

	CHECK(mm);
	CHECK_EQ(hw_mmap(mm, addr, len, PROT_READ | PROT_WRITE, flags, f, 0), 0);
	return mm;
}

/* The pagemap entry of the 4 KiB page at @addr. */
static uint64_t pm(struct hw_mm *mm, uint64_t addr)
{
	uint64_t e = ~0ULL;

	CHECK_EQ(hw_pagemap(mm, addr, 1, &e), 0);
	return e;
}

static uint64_t pfn_of(uint64_t e)
{
	return e & HW_PM_PFN_MASK;
}

static void read_page(struct hw_mm *mm, uint64_t addr)
{
	uint64_t t;

	CHECK_EQ(hw_access(mm, addr, false, &t), 0);
}

static void write_page(struct hw_mm *mm, uint64_t addr, uint64_t tag)
{
	CHECK_EQ(hw_access(mm, addr, true, &tag), 0);
}

#define FILE_PAGE	(HW_PM_PRESENT | HW_PM_FILE)

/*
 *            1G            2G            3G 3G+2M
 *  A:        |== f[0,1) ==|
 *  B:                      |== f[0,1) ==|            one table with A
 *  C:                                    |== f[0,1) ==|  its own table
 *  D:  (5G) |f[0,16M) private|
 * pages 0..3 written by A; B reads page 0 through the shared table.
 */
static void pagemap_contents_one(const char *policy)
{
	struct hw_system *sys = boot_rec(policy);
	struct hw_file *f = memfd(sys, G);
	struct hw_mm *a = map(sys, "A", G, G, MAP_SHARED, f);
	struct hw_mm *b = map(sys, "B", 2 * G, G, MAP_SHARED, f);
	uint64_t e0, e[4], p3;
	int i;

	printf("# policy %s\n", policy);
	for (i = 0; i < 4; i++)
		write_page(a, G + i * HP, 0x10 + i);
	read_page(b, 2 * G);
	CHECK_EQ(faults(b), 1);
	show(sys, "A wrote pages 0-3, B shares A's table");

	/*
	 * Present and file, and not exclusive in either mm although the
	 * mapcount is 1: the entry is in a shared table (the kernel checks
	 * hugetlb_pmd_shared() too, since 6.10).
	 */
	e0 = pm(a, G);
	CHECK_MSG((e0 & ~HW_PM_PFN_MASK) == FILE_PAGE, "A page 0: %#llx",
		  (unsigned long long)e0);
	CHECK_EQ(pm(b, 2 * G), e0);
	/* Each 4 KiB page has its own pfn, from the folio's head pfn on. */
	CHECK_EQ(pfn_of(e0) % PAGES_PER_HP, 0);
	CHECK_EQ(pfn_of(pm(a, G + 4 * K)), pfn_of(e0) + 1);
	CHECK_EQ(pfn_of(pm(b, 2 * G + HP - 4 * K)),
		 pfn_of(e0) + PAGES_PER_HP - 1);
	/* Pages 1-3 are other folios. */
	for (i = 1; i < 4; i++)
		CHECK(pfn_of(pm(a, G + i * HP)) != pfn_of(e0));
	/* Page 4 was never faulted: an empty entry in the table. */
	CHECK_EQ(pm(a, G + 4 * HP), 0);

	/* One read across the end of page 3: two present, two empty. */
	CHECK_EQ(hw_pagemap(a, G + 4 * HP - 2 * 4 * K, 4, e), 0);
	p3 = pm(a, G + 3 * HP);
	CHECK_EQ(pfn_of(e[0]), pfn_of(p3) + PAGES_PER_HP - 2);
	CHECK_EQ(pfn_of(e[1]), pfn_of(p3) + PAGES_PER_HP - 1);
	CHECK(e[1] & HW_PM_PRESENT);
	CHECK_EQ(e[2], 0);
	CHECK_EQ(e[3], 0);

	/*
	 * C (3G + 2M) covers no whole PUD: its own table, its own entry
	 * for page 0, so page 0's mapcount is 2: exclusive nowhere now.
	 */
	{
		struct hw_mm *c = map(sys, "C", 3 * G + HP, G, MAP_SHARED, f);

		read_page(c, 3 * G + HP);
		show(sys, "C maps page 0 through its own table");
		CHECK_EQ(pm(c, 3 * G + HP), e0 & ~HW_PM_MMAP_EXCLUSIVE);
		CHECK_EQ(pm(a, G), e0 & ~HW_PM_MMAP_EXCLUSIVE);
		CHECK_EQ(pm(b, 2 * G), e0 & ~HW_PM_MMAP_EXCLUSIVE);
		/* Page 1: mapcount 1, but in the table A and B share. */
		CHECK(!(pm(a, G + HP) & HW_PM_MMAP_EXCLUSIVE));
	}

	/*
	 * D maps the file privately: reading page 2 maps the page-cache
	 * folio (file, mapcount 2); writing page 3 copies it (anonymous,
	 * exclusive, another pfn); A's page 3 is untouched (mapcount 1, in
	 * the shared table: not exclusive).
	 */
	{
		struct hw_mm *d = map(sys, "D", 5 * G, 16 * M, MAP_PRIVATE, f);
		uint64_t d2, d3;

		read_page(d, 5 * G + 2 * HP);
		write_page(d, 5 * G + 3 * HP, 0x99);
		d2 = pm(d, 5 * G + 2 * HP);
		d3 = pm(d, 5 * G + 3 * HP);
		CHECK_EQ(d2, pm(a, G + 2 * HP) & ~HW_PM_MMAP_EXCLUSIVE);
		CHECK_EQ(d2 & ~HW_PM_PFN_MASK, FILE_PAGE);
		CHECK_EQ(d3 & ~HW_PM_PFN_MASK,
			 HW_PM_PRESENT | HW_PM_MMAP_EXCLUSIVE);
		CHECK(pfn_of(d3) != pfn_of(p3));
		CHECK_EQ(pm(a, G + 3 * HP), p3);
		CHECK(!(p3 & HW_PM_MMAP_EXCLUSIVE));
	}

	/*
	 *            1G            2G
	 *  A:        |== f[0,1) ==|
	 *  B:                      |   unmapped   |    the table is A's alone
	 * B's munmap unshares: A's pages 1-3 (mapcount 1, a table of A's
	 * own) are exclusive again; page 0 is still mapped by C and D too.
	 */
	CHECK_EQ(hw_munmap(b, 2 * G, G), 0);
	show(sys, "B unmapped: A's table is its own");
	CHECK_EQ(pm(a, G + 3 * HP), p3 | HW_PM_MMAP_EXCLUSIVE);
	CHECK(pm(a, G + HP) & HW_PM_MMAP_EXCLUSIVE);
	CHECK(!(pm(a, G) & HW_PM_MMAP_EXCLUSIVE));
	check_invariants(sys);
	hw_system_destroy(sys);
}

static void pagemap_contents(void)
{
	const char *const *p;

	for (p = hw_policy_names(); *p; p++)
		pagemap_contents_one(*p);
}

/*
 *            1G            2G
 *  A:        |== f[0,1) ==|            MADV_DONTNEED of page 0
 *  B:                      |== f[0,1) ==|
 * DONTNEED unshares A's whole PUD: A has no table, every page absent;
 * B keeps the table and the pages.  Outside any VMA: absent.
 */
static void pagemap_absent_one(const char *policy)
{
	struct hw_system *sys = boot_rec(policy);
	struct hw_file *f = memfd(sys, G);
	struct hw_mm *a = map(sys, "A", G, G, MAP_SHARED, f);
	struct hw_mm *b = map(sys, "B", 2 * G, G, MAP_SHARED, f);
	uint64_t e[PAGES_PER_HP * 2];
	unsigned long i;

	printf("# policy %s\n", policy);
	write_pages(a, G, 2, 0x10);
	read_page(b, 2 * G);
	CHECK(pm(a, G) & HW_PM_PRESENT);
	CHECK_EQ(hw_madvise(a, G, HP, MADV_DONTNEED), 0);
	show(sys, "A unshared by MADV_DONTNEED");
	CHECK_EQ(nr_pmds(a), 0);
	CHECK_EQ(hw_pagemap(a, G, ARRAY_SIZE(e), e), 0);
	for (i = 0; i < ARRAY_SIZE(e); i++)
		CHECK_EQ(e[i], 0);
	CHECK(pm(b, 2 * G + HP) & HW_PM_PRESENT);
	/* Below, between and above the VMAs. */
	CHECK_EQ(pm(a, G / 2), 0);
	CHECK_EQ(pm(b, G + HP), 0);
	CHECK_EQ(pm(b, 3 * G), 0);
	CHECK_EQ(hw_pagemap(a, G + 8, 1, e), -EINVAL);
	CHECK_EQ(hw_pagemap(a, (1ULL << 47) - 4 * K, 2, e), -EINVAL);
	check_invariants(sys);
	hw_system_destroy(sys);
}

static void pagemap_absent(void)
{
	const char *const *p;

	for (p = hw_policy_names(); *p; p++)
		pagemap_absent_one(*p);
}

/* Check @n bytes of @vec from @from are all @want. */
static void vec_is(const unsigned char *vec, unsigned long from,
		   unsigned long n, unsigned char want, const char *what)
{
	unsigned long i;

	for (i = from; i < from + n; i++)
		CHECK_MSG(vec[i] == want, "%s: byte %lu is %u, want %u", what,
			  i, vec[i], want);
}

/*
 *            1G            2G            3G
 *  A:        |== f[0,1) ==|
 *  B:                      |== f[0,1) ==|       one table with A
 *  E:                                    |== f[0,1) ==|   never touched
 * A writes pages 0-3; page 5 is allocated by fallocate, mapped nowhere.
 */
static void mincore_one(const char *policy)
{
	static unsigned char vec[8 * PAGES_PER_HP];
	struct hw_system *sys = boot_rec(policy);
	struct hw_file *f = memfd(sys, G);
	struct hw_mm *a = map(sys, "A", G, G, MAP_SHARED, f);
	struct hw_mm *b = map(sys, "B", 2 * G, G, MAP_SHARED, f);
	struct hw_mm *e = map(sys, "E", 3 * G, G, MAP_SHARED, f);

	printf("# policy %s\n", policy);
	write_pages(a, G, 4, 0x10);
	read_page(b, 2 * G);
	CHECK_EQ(hw_fallocate(f, HW_FALLOC_KEEP_SIZE, 5 * HP, HP), 0);
	show(sys, "A wrote pages 0-3, B shares, page 5 cached");

	/* A's table: present entries 1, empty entries 0 (even page 5). */
	memset(vec, 7, sizeof(vec));
	CHECK_EQ(hw_mincore(a, G, 8 * HP, vec), 0);
	vec_is(vec, 0, 4 * PAGES_PER_HP, 1, "A 0-3");
	vec_is(vec, 4 * PAGES_PER_HP, 4 * PAGES_PER_HP, 0, "A 4-7");
	memset(vec, 7, sizeof(vec));
	CHECK_EQ(hw_mincore(b, 2 * G, 8 * HP, vec), 0);
	vec_is(vec, 0, 4 * PAGES_PER_HP, 1, "B 0-3");
	vec_is(vec, 4 * PAGES_PER_HP, 4 * PAGES_PER_HP, 0, "B 4-7");

	/*
	 * E has no table: the walk sees a hole, and mincore asks the page
	 * cache, which holds pages 0-3 and 5.
	 */
	memset(vec, 7, sizeof(vec));
	CHECK_EQ(hw_mincore(e, 3 * G, 8 * HP, vec), 0);
	vec_is(vec, 0, 4 * PAGES_PER_HP, 1, "E 0-3");
	vec_is(vec, 4 * PAGES_PER_HP, PAGES_PER_HP, 0, "E 4");
	vec_is(vec, 5 * PAGES_PER_HP, PAGES_PER_HP, 1, "E 5");
	vec_is(vec, 6 * PAGES_PER_HP, 2 * PAGES_PER_HP, 0, "E 6-7");
	CHECK_EQ(nr_pmds(e), 0);

	/* Unshared, A reads page 5 as cached too. */
	CHECK_EQ(hw_madvise(a, G, HP, MADV_DONTNEED), 0);
	memset(vec, 7, sizeof(vec));
	CHECK_EQ(hw_mincore(a, G + 5 * HP, HP, vec), 0);
	vec_is(vec, 0, PAGES_PER_HP, 1, "A 5 unshared");
	vec_is(vec, PAGES_PER_HP, 1, 7, "past the end");

	/* A length that is not a multiple of 4 KiB: rounded up. */
	memset(vec, 7, sizeof(vec));
	CHECK_EQ(hw_mincore(b, 2 * G + HP - 4 * K, 4 * K + 1, vec), 0);
	vec_is(vec, 0, 2, 1, "B across pages 0-1");
	vec_is(vec, 2, 1, 7, "past the end");

	/* Past the end of the VMA: -ENOMEM, the mapped part filled. */
	memset(vec, 7, sizeof(vec));
	CHECK_EQ(hw_mincore(b, 3 * G - HP, 2 * HP, vec), -ENOMEM);
	vec_is(vec, 0, PAGES_PER_HP, 0, "B 511");
	CHECK_EQ(hw_mincore(b, 2 * G + 1, 4 * K, vec), -EINVAL);
	CHECK_EQ(hw_mincore(b, 2 * G, 0, vec), 0);
	check_invariants(sys);
	hw_system_destroy(sys);
}

static void mincore_residency(void)
{
	const char *const *p;

	for (p = hw_policy_names(); *p; p++)
		mincore_one(*p);
}

/* The walk_hugetlb_range line of hw_violations(), or 0. */
static unsigned long pagewalk_violations(struct hw_system *sys)
{
	char *buf = NULL, *line;
	unsigned long n = 0;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f);
	hw_violations(sys, f);
	fclose(f);
	line = strstr(buf, "walk_hugetlb_range ");
	if (line)
		CHECK(sscanf(line, "walk_hugetlb_range %lu", &n) == 1);
	free(buf);
	return n;
}

/*
 *            1G            2G            3G
 *  A:        |== f[0,1) ==|
 *  B:                      |== f[0,1) ==|       one table with A
 *  P:                                    |f[0,16M) private|
 * pagemap and mincore of 8 huge pages of A: one hugetlb_walk() per huge
 * page.  Only v6.1 and unprotected leave them exposed: 16 walks; no
 * other policy lets one through.  Private P has no vma lock and cannot
 * share: its walks are never checked.
 */
static void walk_rule_one(const char *policy, bool exposed)
{
	static uint64_t e[8 * PAGES_PER_HP];
	static unsigned char vec[8 * PAGES_PER_HP];
	struct hw_system *sys = boot_rec(policy);
	struct hw_file *f = memfd(sys, G);
	struct hw_mm *a = map(sys, "A", G, G, MAP_SHARED, f);
	struct hw_mm *b = map(sys, "B", 2 * G, G, MAP_SHARED, f);
	struct hw_mm *p = map(sys, "P", 3 * G, 16 * M, MAP_PRIVATE, f);

	write_pages(a, G, 8, 0x10);
	check_pages(b, 2 * G, 8, 0x10);
	check_pages(p, 3 * G, 8, 0x10);
	CHECK_EQ(pagewalk_violations(sys), 0);
	CHECK_EQ(hw_pagemap(p, 3 * G, ARRAY_SIZE(e), e), 0);
	CHECK_EQ(hw_mincore(p, 3 * G, 8 * HP, vec), 0);
	CHECK_EQ(pagewalk_violations(sys), 0);
	CHECK_EQ(hw_pagemap(a, G, ARRAY_SIZE(e), e), 0);
	CHECK(e[7 * PAGES_PER_HP] & HW_PM_PRESENT);
	CHECK_EQ(hw_mincore(a, G, 8 * HP, vec), 0);
	CHECK_EQ(vec[7 * PAGES_PER_HP], 1);
	printf("# %-14s walk_hugetlb_range: %lu unprotected walks\n", policy,
	       pagewalk_violations(sys));
	CHECK_EQ(pagewalk_violations(sys), exposed ? 16 : 0);
	hw_system_destroy(sys);
}

static void walk_rule_follows_policy(void)
{
	static const char *const exposed[] = { "unprotected", "v6.1" };
	const char *const *p;
	unsigned int i;
	bool is_exposed;

	for (p = hw_policy_names(); *p; p++) {
		is_exposed = false;
		for (i = 0; i < ARRAY_SIZE(exposed); i++)
			is_exposed |= !strcmp(*p, exposed[i]);
		walk_rule_one(*p, is_exposed);
	}
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(pagemap_contents),
		TAP_TEST(pagemap_absent),
		TAP_TEST(mincore_residency),
		TAP_TEST(walk_rule_follows_policy),
	};

	return tap_main(tests, ARRAY_SIZE(tests), 60);
}
