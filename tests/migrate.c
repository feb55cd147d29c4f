// SPDX-License-Identifier: MIT
/*
 * rmap's page_vma_mapped_walk and its users (migration, try_to_unmap,
 * folio_referenced), and the fault that meets a migration entry, under
 * every policy.  "f[a,b)" is the range of file f mapped there, in GiB.
 *
 * The picture most tests start from:
 *
 *            1G            2G
 *  A:        |== f[0,1) ==|
 *  B:                      |== f[0,1) ==|    one table, pt_share_count 1
 *            pages 0..7 written by A with tags 0x100 + i
 *
 * The rmap walk meets the VMAs in i_mmap order, A (mapped first) then B:
 * A is unshared, and B, the table's last user, gets the migration entry.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "mm/internal.h"
#include "helpers.h"

struct pair {
	struct hw_system *sys;
	struct hw_file *f;
	struct hw_mm *a, *b;
};

static struct pair setup(const char *policy)
{
	struct hw_system_opts o = { .nr_hugepages = 1024, .policy = policy,
				    .violations = HW_VIOLATION_RECORD };
	struct pair p;

	printf("# policy %s\n", policy);
	p.sys = hw_system_create(&o);
	CHECK(p.sys);
	p.f = hw_memfd_create(p.sys, "f");
	CHECK(p.f && !hw_ftruncate(p.f, G));
	p.a = hw_mm_create(p.sys, "A");
	p.b = hw_mm_create(p.sys, "B");
	CHECK_EQ(hw_mmap(p.a, G, G, PROT_READ | PROT_WRITE, MAP_SHARED, p.f, 0), 0);
	CHECK_EQ(hw_mmap(p.b, 2 * G, G, PROT_READ | PROT_WRITE, MAP_SHARED, p.f, 0), 0);
	write_pages(p.a, G, 8, 0x100);
	check_pages(p.b, 2 * G, 8, 0x100);
	CHECK_EQ(meminfo(p.sys).shared_pmds, 1);
	return p;
}

static void teardown(struct pair *p)
{
	check_invariants(p->sys);
	hw_system_destroy(p->sys);
}

#define for_each_policy(pol) \
	for (const char *const *__p = hw_policy_names(); ((pol) = *__p); __p++)

static uint64_t pm(struct hw_mm *mm, uint64_t addr)
{
	uint64_t e = ~0ULL;

	CHECK_EQ(hw_pagemap(mm, addr, 1, &e), 0);
	return e;
}

static uint64_t pfn_at(struct hw_mm *mm, uint64_t addr)
{
	uint64_t e = pm(mm, addr);

	CHECK_MSG(e & HW_PM_PRESENT, "%s: %#llx not present",
		  hw_mm_name(mm), (unsigned long long)addr);
	return e & HW_PM_PFN_MASK;
}

/*
 * move_pages of page 1 through A.  Before, both see folio X; after, A is
 * unshared, B maps the copy Y in the same table, the page cache holds
 * Y, X is free again.  A's next read re-shares B's table: both read the
 * data through Y.
 */
static void migration_moves_data(void)
{
	const char *pol;

	for_each_policy(pol) {
		struct pair p = setup(pol);
		unsigned long free = meminfo(p.sys).hugepages_free;
		uint64_t x = pfn_at(p.a, G + HP), y;

		CHECK_EQ(pfn_at(p.b, 2 * G + HP), x);
		CHECK_EQ(hw_move_pages(p.a, G + HP), 0);
		show(p.sys, "page 1 migrated: A unshared, B maps the copy");
		CHECK_EQ(nr_pmds(p.a), 0);
		CHECK_EQ(nr_pmds(p.b), 1);
		y = pfn_at(p.b, 2 * G + HP);
		CHECK(y != x);
		/* Still a page-cache page, mapped once. */
		CHECK_EQ(pm(p.b, 2 * G + HP) & ~HW_PM_PFN_MASK,
			 HW_PM_PRESENT | HW_PM_FILE | HW_PM_MMAP_EXCLUSIVE);
		/* Only page 1 moved. */
		CHECK_EQ(meminfo(p.sys).hugepages_free, free);
		check_invariants(p.sys);

		check_pages(p.a, G, 8, 0x100);
		show(p.sys, "A read its pages again and re-shared");
		CHECK_EQ(meminfo(p.sys).shared_pmds, 1);
		CHECK_EQ(pfn_at(p.a, G + HP), y);
		check_pages(p.b, 2 * G, 8, 0x100);

		/* Writes go to the copy, and both see them. */
		write_pages(p.b, 2 * G + HP, 1, 0x777);
		check_pages(p.a, G + HP, 1, 0x777);
		/* Not mapped: nothing to migrate. */
		CHECK_EQ(hw_move_pages(p.a, G + 100 * HP), -ENOENT);
		CHECK_EQ(hw_move_pages(p.a, 5 * G), -EFAULT);
		teardown(&p);
	}
}

/*
 *            1G            2G            3G
 *  A:        |== f[0,1) ==|
 *  B:                      |== f[0,1) ==|
 *  D:                                    |f[0,16M) private|  reads page 1
 * D's read-only entry of the page-cache folio is migrated too, and stays
 * read-only: D's write still copies, and only D sees it.
 */
static void migration_of_a_private_mapping(void)
{
	const char *pol;

	for_each_policy(pol) {
		struct pair p = setup(pol);
		struct hw_mm *d = hw_mm_create(p.sys, "D");
		uint64_t x, y, t = 0x555;

		CHECK_EQ(hw_mmap(d, 3 * G, 16 * M, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE, p.f, 0), 0);
		check_pages(d, 3 * G + HP, 1, 0x101);
		x = pfn_at(d, 3 * G + HP);
		CHECK_EQ(pfn_at(p.b, 2 * G + HP), x);
		CHECK_EQ(hw_move_pages(d, 3 * G + HP), 0);
		y = pfn_at(d, 3 * G + HP);
		CHECK(y != x);
		CHECK_EQ(pfn_at(p.b, 2 * G + HP), y);
		CHECK_EQ(pm(d, 3 * G + HP) & ~HW_PM_PFN_MASK,
			 HW_PM_PRESENT | HW_PM_FILE);
		check_pages(d, 3 * G + HP, 1, 0x101);
		check_invariants(p.sys);

		CHECK_EQ(hw_access(d, 3 * G + HP, true, &t), 0);
		CHECK(pfn_at(d, 3 * G + HP) != y);
		check_pages(p.b, 2 * G + HP, 1, 0x101);
		/* D's own copy is anonymous: move_pages does not model it. */
		CHECK_EQ(hw_move_pages(d, 3 * G + HP), -EINVAL);
		teardown(&p);
	}
}

/*
 * A GUP pin holds page 1: the migration must not move it (the pinner
 * would go on using the old folio), so after unmapping it puts the
 * entries back and fails.  Unpinned, it succeeds.
 */
static void pinned_page_does_not_migrate(void)
{
	const char *pol;

	for_each_policy(pol) {
		struct pair p = setup(pol);
		uint64_t x = pfn_at(p.b, 2 * G + HP);
		struct hw_page *page;

		CHECK_EQ(hw_get_user_pages(p.b, 2 * G + HP, 1, 0, &page), 1);
		CHECK_EQ(hw_page_pfn(page), x);
		CHECK_EQ(hw_move_pages(p.a, G + HP), -EAGAIN);
		show(p.sys, "migration of a pinned page failed");
		/* B's entry is back, with the same folio. */
		CHECK_EQ(pfn_at(p.b, 2 * G + HP), x);
		CHECK_EQ(hw_page_refcount(page), 3);
		hw_unpin_user_pages(&page, 1);
		check_invariants(p.sys);
		/* A was unshared on the way: move it through B. */
		CHECK_EQ(hw_move_pages(p.a, G + HP), -ENOENT);
		CHECK_EQ(hw_move_pages(p.b, 2 * G + HP), 0);
		CHECK(pfn_at(p.b, 2 * G + HP) != x);
		check_pages(p.a, G, 8, 0x100);
		teardown(&p);
	}
}

/*
 * try_to_unmap() of page 1 (the kernel's memory-failure path uses it
 * on hugetlb): A unshared, B's entry cleared; the page stays in the
 * page cache, so the next reads fault the same folio back in.
 */
static void try_to_unmap_everywhere(void)
{
	const char *pol;

	for_each_policy(pol) {
		struct pair p = setup(pol);
		struct address_space *mapping = &p.f->i_data;
		uint64_t x = pfn_at(p.a, G + HP);
		struct folio *folio = pfn_to_folio(p.sys, x);
		unsigned long fb = faults(p.b);

		folio_get(folio);
		folio_lock(folio);
		/* i_mmap_rwsem nests outside the folio lock: trylock. */
		CHECK(down_write_trylock(&mapping->i_mmap_rwsem));
		CHECK(try_to_unmap(folio));
		i_mmap_unlock_write(mapping);
		folio_unlock(folio);
		folio_put(folio);
		show(p.sys, "page 1 unmapped everywhere");
		CHECK_EQ(nr_pmds(p.a), 0);
		CHECK_EQ(pm(p.b, 2 * G + HP), 0);
		CHECK(pm(p.b, 2 * G) & HW_PM_PRESENT);
		check_invariants(p.sys);
		check_pages(p.b, 2 * G + HP, 1, 0x101);
		CHECK_EQ(faults(p.b), fb + 1);
		CHECK_EQ(pfn_at(p.b, 2 * G + HP), x);
		teardown(&p);
	}
}

/*
 *            1G            2G            3G 3G+2M
 *  A:        |== f[0,1) ==|
 *  B:                      |== f[0,1) ==|              one table with A
 *  C:                                    |== f[0,1) ==|  its own table
 * folio_referenced() of page 1 counts the mappings whose accessed bit is
 * set and clears them; an access sets it again.
 */
static void folio_referenced_counts_mappings(void)
{
	const char *pol;

	for_each_policy(pol) {
		struct pair p = setup(pol);
		struct hw_mm *c = hw_mm_create(p.sys, "C");

		/* One entry in the shared table: one mapping. */
		CHECK_EQ(hw_folio_referenced(p.a, G + HP), 1);
		CHECK_EQ(hw_folio_referenced(p.b, 2 * G + HP), 0);
		check_pages(p.b, 2 * G + HP, 1, 0x101);
		CHECK_EQ(hw_folio_referenced(p.a, G + HP), 1);
		CHECK_EQ(hw_folio_referenced(p.a, G + HP), 0);

		/* Two entries: two mappings, each counted, each cleared. */
		CHECK_EQ(hw_mmap(c, 3 * G + HP, G, PROT_READ | PROT_WRITE,
				 MAP_SHARED, p.f, 0), 0);
		check_pages(c, 3 * G + 2 * HP, 1, 0x101);
		CHECK_EQ(hw_munmap(p.b, 2 * G, G), 0);
		show(p.sys, "A and C map page 1 through two tables");
		check_pages(p.a, G + HP, 1, 0x101);
		CHECK_EQ(hw_folio_referenced(c, 3 * G + 2 * HP), 2);
		CHECK_EQ(hw_folio_referenced(c, 3 * G + 2 * HP), 0);
		check_pages(c, 3 * G + 2 * HP, 1, 0x101);
		CHECK_EQ(hw_folio_referenced(p.a, G + HP), 1);

		/* Migration keeps the accessed bit: still clear. */
		CHECK_EQ(hw_move_pages(p.a, G + HP), 0);
		CHECK_EQ(hw_folio_referenced(p.a, G + HP), 0);
		check_pages(p.a, G + HP, 1, 0x101);
		CHECK_EQ(hw_folio_referenced(c, 3 * G + 2 * HP), 1);

		CHECK_EQ(hw_folio_referenced(p.a, G + 100 * HP), -ENOENT);
		CHECK_EQ(hw_folio_referenced(p.a, 6 * G), -EFAULT);
		teardown(&p);
	}
}

/*
 *            1G            2G            3G 3G+2M
 *  A:        |== f[0,1) ==|                 (mapped first)
 *  B:                      |== f[0,1) ==|   one table with A
 *  C:                                    |== f[0,1) ==|  its own table
 * Page 1's mapcount is 2 (the shared entry once, C's entry once).  The
 * rmap walk meets A, then B, both through the shared entry, and stops
 * there, its mapcount used up: C's accessed bit is never looked at.
 * The kernel's folio_referenced() has the same blind spot.
 */
static void folio_referenced_stops_at_mapcount(void)
{
	const char *pol;

	for_each_policy(pol) {
		struct pair p = setup(pol);
		struct hw_mm *c = hw_mm_create(p.sys, "C");

		CHECK_EQ(hw_mmap(c, 3 * G + HP, G, PROT_READ | PROT_WRITE,
				 MAP_SHARED, p.f, 0), 0);
		check_pages(c, 3 * G + 2 * HP, 1, 0x101);
		CHECK_EQ(hw_folio_referenced(c, 3 * G + 2 * HP), 1);
		/* C was referenced, and stays so, unseen. */
		CHECK_EQ(hw_folio_referenced(c, 3 * G + 2 * HP), 0);
		teardown(&p);
	}
}

/* ---- a fault racing a migration ----------------------------------------- */

/*
 * Test-only: a gate that holds the file's i_pages lock, so that a
 * migration that has installed its migration entries stops where it
 * swaps the page-cache slot (hugetlb_replace_page_cache_folio()), and
 * stays there, entries installed, until the test opens the gate.
 */
struct gate {
	struct hw_system *sys;
	spinlock_t *lock;
	pthread_mutex_t m;
	pthread_cond_t c;
	int state;		/* 0 start, 1 closed, 2 open */
};

static void gate_set(struct gate *g, int state)
{
	pthread_mutex_lock(&g->m);
	g->state = state;
	pthread_cond_broadcast(&g->c);
	pthread_mutex_unlock(&g->m);
}

static void gate_wait(struct gate *g, int state)
{
	pthread_mutex_lock(&g->m);
	while (g->state != state)
		pthread_cond_wait(&g->c, &g->m);
	pthread_mutex_unlock(&g->m);
}

static void *gate_fn(void *arg)
{
	struct gate *g = arg;

	CHECK_EQ(hw_task_enter(g->sys, "gate"), 0);
	spin_lock(g->lock);
	gate_set(g, 1);
	gate_wait(g, 2);
	spin_unlock(g->lock);
	hw_task_exit();
	return NULL;
}

struct op {
	struct hw_system *sys;
	struct hw_mm *mm;
	uint64_t addr;
	int ret;
	uint64_t tag;
	int done;
};

static void *migrate_fn(void *arg)
{
	struct op *op = arg;

	CHECK_EQ(hw_task_enter(op->sys, "migrate"), 0);
	op->ret = hw_move_pages(op->mm, op->addr);
	hw_task_exit();
	return NULL;
}

static void *fault_fn(void *arg)
{
	struct op *op = arg;

	CHECK_EQ(hw_task_enter(op->sys, "fault"), 0);
	op->ret = hw_access(op->mm, op->addr, false, &op->tag);
	__atomic_store_n(&op->done, 1, __ATOMIC_RELEASE);
	hw_task_exit();
	return NULL;
}

/* Test-only peek, no lock: is there a migration entry at @addr? */
static bool migration_entry_at(struct hw_mm *mm, uint64_t addr)
{
	pte_t *ptep = huge_pte_offset(mm, addr, HPAGE_SIZE);

	return ptep && is_hugetlb_migration_entry(huge_ptep_get(ptep));
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * 1. the migrator (a thread, move_pages through A) unshares A and puts
 *    a migration entry in B's table, then stops at the closed gate;
 *                1G            2G
 *      A:        |  (no table) |
 *      B:                      |== f[0,1) ==|  page 1: migration entry
 * 2. pagemap shows page 1 absent in B, mincore resident;
 * 3. B's thread reads page 1: its fault meets the migration entry and
 *    sleeps; it has not returned 200 ms later;
 * 4. the gate opens: the migration ends and wakes the fault, which
 *    returns; the read retries and finds the copy, with the data.
 */
static void fault_waits_for_migration(void)
{
	const char *pol;

	for_each_policy(pol) {
		struct pair p = setup(pol);
		struct gate g = {
			.sys = p.sys, .lock = &p.f->i_data.i_pages_lock,
			.m = PTHREAD_MUTEX_INITIALIZER,
			.c = PTHREAD_COND_INITIALIZER,
		};
		struct op mig = { .sys = p.sys, .mm = p.a, .addr = G + HP };
		struct op flt = { .sys = p.sys, .mm = p.b, .addr = 2 * G + HP };
		uint64_t x = pfn_at(p.b, 2 * G + HP), y;
		unsigned long fb = faults(p.b);
		pthread_t tg, tm, tf;
		unsigned char vec;
		int i;

		CHECK(!pthread_create(&tg, NULL, gate_fn, &g));
		gate_wait(&g, 1);
		CHECK(!pthread_create(&tm, NULL, migrate_fn, &mig));
		for (i = 0; !migration_entry_at(p.b, 2 * G + HP); i++) {
			CHECK_MSG(i < 10000, "no migration entry after 10 s");
			sleep_ms(1);
		}
		CHECK_EQ(nr_pmds(p.a), 0);
		CHECK_EQ(pm(p.b, 2 * G + HP), 0);
		CHECK_EQ(hw_mincore(p.b, 2 * G + HP, 4 * K, &vec), 0);
		CHECK_EQ(vec, 1);

		CHECK(!pthread_create(&tf, NULL, fault_fn, &flt));
		sleep_ms(200);
		CHECK_MSG(!__atomic_load_n(&flt.done, __ATOMIC_ACQUIRE),
			  "the fault did not wait for the migration");
		CHECK_EQ(faults(p.b), fb);
		/* It sleeps in migration_entry_wait_huge(), not on a lock. */
		CHECK_EQ(atomic_long_read(&p.sys->nr_migration_waits), 1);

		gate_set(&g, 2);
		CHECK(!pthread_join(tg, NULL));
		CHECK(!pthread_join(tm, NULL));
		CHECK(!pthread_join(tf, NULL));
		CHECK_EQ(mig.ret, 0);
		CHECK_EQ(flt.ret, 0);
		CHECK_EQ(flt.tag, 0x101);
		/* One fault, which slept, then the retried read hit. */
		CHECK_EQ(faults(p.b), fb + 1);
		CHECK_EQ(atomic_long_read(&p.sys->nr_migration_waits), 1);
		y = pfn_at(p.b, 2 * G + HP);
		CHECK(y != x);
		show(p.sys, "after the migration");
		check_pages(p.a, G, 8, 0x100);
		CHECK_EQ(pfn_at(p.a, G + HP), y);
		CHECK_EQ(hw_violations(p.sys, NULL) > 0,
			 !strcmp(pol, "unprotected") || !strcmp(pol, "v6.1"));
		teardown(&p);
	}
}

/* ---- everything at once -------------------------------------------------- */

/*
 *            1G            2G            3G 3G+2M       5G
 *  A:        |== f[0,1) ==|
 *  B:                      |== f[0,1) ==|              one table with A
 *  C:                                    |== f[0,1) ==|   own table
 *  P:                                                    |f[0,64M) priv|
 * Owners in A and B write and read back their pages (0..23: even pages
 * A's, odd B's) while they unshare (MADV_DONTNEED, mprotect); a migrator
 * moves random pages through any process; a walker reads pagemap,
 * mincore and folio_referenced; C is unmapped and mapped again, scratch
 * pages 24..31 are punched, P reads file pages privately, copies page 0
 * and forks children that read and exit.  Every owner must read back
 * what it wrote; then the invariants must hold.
 */
#define ST_DATA		24
#define ST_PAGES	32
#define ST_OPS		20000

struct storm {
	struct hw_system *sys;
	struct hw_file *f;
	struct hw_mm *mm[3], *p;
	int stop;
	unsigned long moved, busy, walks, forks;
};

struct owner {
	struct storm *s;
	int id;
	uint64_t seed, last[ST_DATA];
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static bool stopped(struct storm *s)
{
	return __atomic_load_n(&s->stop, __ATOMIC_RELAXED);
}

static uint64_t st_base(int i)
{
	return i < 2 ? (uint64_t)(i + 1) * G : 3 * G + HP;
}

static void *owner_fn(void *arg)
{
	struct owner *o = arg;
	struct hw_mm *mm = o->s->mm[o->id];
	uint64_t b = st_base(o->id), t;
	int i, pg;

	CHECK_EQ(hw_task_enter(o->s->sys, o->id ? "ownerB" : "ownerA"), 0);
	for (i = 0; i < ST_OPS; i++) {
		unsigned int op = rnd(&o->seed) % 100;

		pg = (int)(rnd(&o->seed) % (ST_DATA / 2)) * 2 + o->id;
		if (op < 35) {
			t = (uint64_t)o->id << 48 | (uint64_t)i << 8 | pg;
			CHECK_EQ(hw_access(mm, b + pg * HP, true, &t), 0);
			o->last[pg] = t;
		} else if (op < 85) {
			CHECK_EQ(hw_access(mm, b + pg * HP, false, &t), 0);
			CHECK_MSG(t == o->last[pg], "owner %d page %d: %#llx, wrote %#llx",
				  o->id, pg, (unsigned long long)t,
				  (unsigned long long)o->last[pg]);
		} else if (op < 95) {
			CHECK_EQ(hw_madvise(mm, b + pg * HP, HP, MADV_DONTNEED), 0);
		} else {
			CHECK_EQ(hw_mprotect(mm, b, G, PROT_READ), 0);
			CHECK_EQ(hw_mprotect(mm, b, G, PROT_READ | PROT_WRITE), 0);
		}
	}
	hw_task_exit();
	return NULL;
}

static struct hw_mm *st_pick(struct storm *s, uint64_t *seed, uint64_t *base)
{
	unsigned int i = rnd(seed) % 4;

	*base = i < 3 ? st_base(i) : 5 * G;
	return i < 3 ? s->mm[i] : s->p;
}

static void *migrator_fn(void *arg)
{
	struct storm *s = arg;
	uint64_t seed = 0x1234567, b;
	struct hw_mm *mm;
	int r;

	CHECK_EQ(hw_task_enter(s->sys, "migrator"), 0);
	while (!stopped(s)) {
		mm = st_pick(s, &seed, &b);
		r = hw_move_pages(mm, b + (rnd(&seed) % ST_PAGES) * HP);
		CHECK_MSG(r == 0 || r == -EAGAIN || r == -ENOENT ||
			  r == -EFAULT || r == -EINVAL, "move_pages: %d", r);
		s->moved += !r;
		s->busy += r == -EAGAIN;
	}
	hw_task_exit();
	return NULL;
}

static void *walker_fn(void *arg)
{
	static uint64_t e[512];
	static unsigned char vec[512];
	struct storm *s = arg;
	uint64_t seed = 0x7654321, b, a;
	struct hw_mm *mm;
	int r, i;

	CHECK_EQ(hw_task_enter(s->sys, "walker"), 0);
	while (!stopped(s)) {
		mm = st_pick(s, &seed, &b);
		a = b + (rnd(&seed) % ST_PAGES) * HP;
		CHECK_EQ(hw_pagemap(mm, a, 512, e), 0);
		for (i = 0; i < 512; i++)
			CHECK_MSG(!e[i] || (e[i] & HW_PM_PRESENT), "pagemap %#llx",
				  (unsigned long long)e[i]);
		r = hw_mincore(mm, a, HP, vec);
		CHECK_MSG(!r || r == -ENOMEM, "mincore: %d", r);
		for (i = 0; !r && i < 512; i++)
			CHECK(vec[i] <= 1);
		r = hw_folio_referenced(mm, a);
		CHECK_MSG(r >= 0 || r == -ENOENT || r == -EFAULT ||
			  r == -EINVAL, "folio_referenced: %d", r);
		s->walks++;
	}
	hw_task_exit();
	return NULL;
}

static void *chaos_fn(void *arg)
{
	struct storm *s = arg;
	uint64_t seed = 0xabcdef, t;
	struct hw_mm *child;
	int pg;

	CHECK_EQ(hw_task_enter(s->sys, "chaos"), 0);
	while (!stopped(s)) {
		unsigned int op = rnd(&seed) % 100;

		pg = (int)(rnd(&seed) % ST_PAGES);
		if (op < 10) {
			CHECK_EQ(hw_munmap(s->mm[2], st_base(2), G), 0);
			CHECK_EQ(hw_mmap(s->mm[2], st_base(2), G,
					 PROT_READ | PROT_WRITE, MAP_SHARED,
					 s->f, 0), 0);
		} else if (op < 40) {
			CHECK_EQ(hw_access(s->mm[2], st_base(2) + pg * HP,
					   false, &t), 0);
		} else if (op < 55) {
			pg = ST_DATA + pg % (ST_PAGES - ST_DATA);
			CHECK_EQ(hw_fallocate(s->f, HW_FALLOC_PUNCH_HOLE |
					      HW_FALLOC_KEEP_SIZE,
					      (uint64_t)pg * HP, HP), 0);
		} else if (op < 85) {
			CHECK_EQ(hw_access(s->p, 5 * G + pg * HP, false, &t), 0);
		} else if (op < 95) {
			t = 0xc0;
			CHECK_EQ(hw_access(s->p, 5 * G, true, &t), 0);
		} else {
			child = hw_fork(s->p, "child");
			CHECK(child);
			CHECK_EQ(hw_access(child, 5 * G + pg * HP, false, &t), 0);
			hw_exit(child);
			s->forks++;
		}
	}
	hw_task_exit();
	return NULL;
}

static void storm(const char *policy)
{
	struct storm s = { 0 };
	struct owner o[2];
	pthread_t to[2], tm, tw, tc;
	int i, pg;

	s.sys = boot(1024, policy);
	s.f = hw_memfd_create(s.sys, "f");
	CHECK(s.f && !hw_ftruncate(s.f, G));
	for (i = 0; i < 3; i++) {
		char name[2] = { 'A' + i, 0 };

		s.mm[i] = hw_mm_create(s.sys, name);
		CHECK_EQ(hw_mmap(s.mm[i], st_base(i), G, PROT_READ | PROT_WRITE,
				 MAP_SHARED, s.f, 0), 0);
	}
	s.p = hw_mm_create(s.sys, "P");
	CHECK_EQ(hw_mmap(s.p, 5 * G, ST_PAGES * HP, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE, s.f, 0), 0);
	for (i = 0; i < 2; i++) {
		o[i] = (struct owner){ .s = &s, .id = i, .seed = 99 + i };
		CHECK(!pthread_create(&to[i], NULL, owner_fn, &o[i]));
	}
	CHECK(!pthread_create(&tm, NULL, migrator_fn, &s));
	CHECK(!pthread_create(&tw, NULL, walker_fn, &s));
	CHECK(!pthread_create(&tc, NULL, chaos_fn, &s));
	for (i = 0; i < 2; i++)
		CHECK(!pthread_join(to[i], NULL));
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
	CHECK(!pthread_join(tm, NULL));
	CHECK(!pthread_join(tw, NULL));
	CHECK(!pthread_join(tc, NULL));
	tap_diag("%s: %lu pages migrated, %lu busy, %lu walks, %lu forks, "
		 "%ld faults slept on a migration entry", policy, s.moved,
		 s.busy, s.walks, s.forks,
		 atomic_long_read(&s.sys->nr_migration_waits));
	CHECK(s.moved > 0);
	check_invariants(s.sys);
	for (pg = 0; pg < ST_DATA; pg++) {
		if (!o[pg % 2].last[pg])
			continue;
		check_pages(s.mm[0], G + pg * HP, 1, o[pg % 2].last[pg]);
		check_pages(s.mm[1], 2 * G + pg * HP, 1, o[pg % 2].last[pg]);
	}
	check_invariants(s.sys);
	hw_system_destroy(s.sys);
}

/* The policies that keep every walker safe. */
static void migration_under_stress(void)
{
	storm("v6.3");
	storm("v6.16");
	storm("rfc-late-dtor");
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(migration_moves_data),
		TAP_TEST(migration_of_a_private_mapping),
		TAP_TEST(pinned_page_does_not_migrate),
		TAP_TEST(try_to_unmap_everywhere),
		TAP_TEST(folio_referenced_counts_mappings),
		TAP_TEST(folio_referenced_stops_at_mapcount),
		TAP_TEST(fault_waits_for_migration),
		TAP_TEST(migration_under_stress),
	};

	return tap_main(tests, ARRAY_SIZE(tests), 60);
}
