// SPDX-License-Identifier: MIT
/*
 * userfaultfd in MISSING mode, with real threads: a task of A faults on
 * a page the file does not have and sleeps; a monitor task reads the
 * event and resolves it with UFFDIO_COPY; and the call site
 * userfaultfd_huge_must_wait() under every policy.
 *
 * Most tests start from the sharing picture:
 *
 *            1G            2G            3G
 *  A:        |== f[0,1) ==|                    registered MISSING
 *  B:                      |== f[0,1) ==|      not registered
 *            page 0 written by A, one PMD table, pt_share_count 1
 *
 * Every wait here is bounded: a faulter that does not finish, or an
 * event that does not come, within WAIT_MS fails the test.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "helpers.h"

#define WAIT_MS		5000
#define PAGE(base, i)	((base) + (uint64_t)(i) * HP)
#define RW		(PROT_READ | PROT_WRITE)
#define MISSING		HW_UFFDIO_REGISTER_MODE_MISSING

/* ---- threads and bounded waits ----------------------------------------- */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A task that makes one access and records how it ended. */
struct faulter {
	struct hw_system *sys;
	struct hw_mm *mm;
	uint64_t addr;
	bool write;
	uint64_t tag;		/* in: the tag a store writes; out: a load's */
	int sig;
	int done;		/* __atomic */
	pthread_t thread;
};

static void *faulter_fn(void *arg)
{
	struct faulter *f = arg;

	CHECK_EQ(hw_task_enter(f->sys, "faulter"), 0);
	f->sig = hw_access(f->mm, f->addr, f->write, &f->tag);
	hw_task_exit();
	__atomic_store_n(&f->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void start_faulter(struct faulter *f, struct hw_system *sys,
			  struct hw_mm *mm, uint64_t addr, bool write,
			  uint64_t tag)
{
	*f = (struct faulter){ .sys = sys, .mm = mm, .addr = addr,
			       .write = write, .tag = tag, .sig = -1 };
	CHECK_EQ(pthread_create(&f->thread, NULL, faulter_fn, f), 0);
}

static bool faulter_done(struct faulter *f)
{
	return __atomic_load_n(&f->done, __ATOMIC_ACQUIRE);
}

/* Join @f, failing if it has not finished within WAIT_MS. */
static void join_faulter(struct faulter *f)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += WAIT_MS / 1000;
	CHECK_MSG(!pthread_timedjoin_np(f->thread, NULL, &deadline),
		  "the faulter at %#llx is still blocked after %d ms",
		  (unsigned long long)f->addr, WAIT_MS);
}

/* hw_uffd_read() polled without blocking, for at most WAIT_MS. */
static int read_event(struct hw_uffd *u, struct hw_uffd_msg *msg)
{
	int i, err;

	for (i = 0; i < WAIT_MS; i++) {
		err = hw_uffd_read(u, msg, true);
		if (err != -EAGAIN)
			return err;
		sleep_ms(1);
	}
	return -ETIMEDOUT;
}

/* Read one event and check it names @addr's huge page and @write. */
static void expect_event(struct hw_uffd *u, uint64_t addr, bool write)
{
	struct hw_uffd_msg msg;

	CHECK_EQ(read_event(u, &msg), 0);
	printf("# event: %s fault at %#llx\n", msg.write ? "write" : "read",
	       (unsigned long long)msg.address);
	CHECK_EQ(msg.address, addr & ~(HP - 1));
	CHECK_EQ(msg.write, write);
}

/* No event is queued: a nonblocking read says so. */
static void expect_no_event(struct hw_uffd *u)
{
	struct hw_uffd_msg msg;

	CHECK_EQ(hw_uffd_read(u, &msg, true), -EAGAIN);
}

static uint64_t load(struct hw_mm *mm, uint64_t addr)
{
	uint64_t t = ~0ULL;

	CHECK_EQ(hw_access(mm, addr, false, &t), 0);
	return t;
}

/* ---- the sharing picture ----------------------------------------------- */

struct pair {
	struct hw_system *sys;
	struct hw_file *f;
	struct hw_mm *a, *b;
	struct hw_uffd *u;
};

static struct pair setup(const char *policy, enum hw_violation_mode mode)
{
	struct hw_system_opts o = { .nr_hugepages = 600, .policy = policy,
				    .violations = mode };
	struct pair p;

	printf("# policy %s\n", policy);
	p.sys = hw_system_create(&o);
	CHECK(p.sys);
	p.f = hw_memfd_create(p.sys, "f");
	CHECK(p.f);
	CHECK_EQ(hw_ftruncate(p.f, G), 0);
	p.a = hw_mm_create(p.sys, "A");
	p.b = hw_mm_create(p.sys, "B");
	CHECK(p.a && p.b);
	CHECK_EQ(hw_mmap(p.a, G, G, RW, MAP_SHARED, p.f, 0), 0);
	CHECK_EQ(hw_mmap(p.b, 2 * G, G, RW, MAP_SHARED, p.f, 0), 0);
	write_pages(p.a, G, 1, 0x100);
	check_pages(p.b, 2 * G, 1, 0x100);
	CHECK_EQ(meminfo(p.sys).shared_pmds, 1);

	/* MISSING mode does not unshare, unlike write-protect mode. */
	p.u = hw_uffd_create(p.a);
	CHECK(p.u);
	CHECK_EQ(hw_uffd_register(p.u, G, G, MISSING), 0);
	CHECK_EQ(meminfo(p.sys).shared_pmds, 1);
	CHECK_EQ(nr_pmds(p.a), 1);
	return p;
}

static void teardown(struct pair *p)
{
	if (p->u)
		hw_uffd_close(p->u);
	check_invariants(p->sys);
	hw_system_destroy(p->sys);
}

/* Run @fn once per policy, each in a system of its own. */
static void for_each_policy(void (*fn)(const char *policy))
{
	const char *const *pol;

	for (pol = hw_policy_names(); *pol; pol++)
		fn(*pol);
}

/* ---- the fault, the event, the copy ------------------------------------ */

/*
 *  A:        |== f[0,1) ==|   task reads page 3: not in the file, sleeps
 *  B:                      |== f[0,1) ==|
 * The monitor reads {page 3, read} and copies tag 0x3303 there; the page
 * goes into the page cache and into the table A and B share, so the
 * task resumes and sees it, and B sees it without a fault.
 */
static void copy_resolves(const char *policy)
{
	struct pair p = setup(policy, HW_VIOLATION_ABORT);
	unsigned long fa = faults(p.a), fb = faults(p.b);
	unsigned long free_before = meminfo(p.sys).hugepages_free;
	struct faulter f;

	show(p.sys, "A registered MISSING over [1G, 2G), still sharing with B");
	start_faulter(&f, p.sys, p.a, PAGE(G, 3), false, 0);
	expect_event(p.u, PAGE(G, 3), false);
	CHECK(!faulter_done(&f));
	CHECK_EQ(meminfo(p.sys).hugepages_free, free_before);
	CHECK_EQ(hw_uffd_copy(p.u, PAGE(G, 3), 0x3303, 0), 0);
	join_faulter(&f);
	CHECK_EQ(f.sig, 0);
	CHECK_EQ(f.tag, 0x3303);
	/* Not counted while it slept; once when retried (mm_account_fault). */
	CHECK_EQ(faults(p.a), fa + 1);
	show(p.sys, "page 3 copied in through A's userfaultfd");
	CHECK_EQ(load(p.b, PAGE(2 * G, 3)), 0x3303);
	CHECK_EQ(faults(p.b), fb);
	CHECK_EQ(meminfo(p.sys).hugepages_free, free_before - 1);
	expect_no_event(p.u);

	/*
	 *  A:        |== f[0,1) ==|   task stores 0x44 inside page 4
	 * The event names the huge page and a write; after the copy the
	 * store lands on the copied page, and B sees the store.
	 */
	start_faulter(&f, p.sys, p.a, PAGE(G, 4) + 0x1234, true, 0x44);
	expect_event(p.u, PAGE(G, 4), true);
	CHECK(!faulter_done(&f));
	CHECK_EQ(hw_uffd_copy(p.u, PAGE(G, 4), 0x4400, 0), 0);
	join_faulter(&f);
	CHECK_EQ(f.sig, 0);
	CHECK_EQ(load(p.a, PAGE(G, 4)), 0x44);
	CHECK_EQ(load(p.b, PAGE(2 * G, 4)), 0x44);
	CHECK_EQ(faults(p.b), fb);
	teardown(&p);
}

static void copy_resolves_fault(void)
{
	for_each_policy(copy_resolves);
}

/*
 *  A:        |== f[0,1) ==|   pages 0 (present), 6 (cached by C)
 *  C:        (another file offset: its own table, not sharing)
 * UFFDIO_COPY refuses what is there already, and bad arguments.
 */
static void copy_errors_one(const char *policy)
{
	struct pair p = setup(policy, HW_VIOLATION_ABORT);
	struct hw_mm *c = hw_mm_create(p.sys, "C");
	struct hw_file *g = hw_memfd_create(p.sys, "g");
	unsigned long free_before;
	uint64_t t = 0x66;

	CHECK(c && g);
	CHECK_EQ(hw_uffd_copy(p.u, G, 1, 0), -EEXIST);
	/*
	 *  C:   |=|== f[0,1) ==|   at 4G - 2M: misaligned, never shares
	 * C's fault puts page 6 in the page cache; A has no entry for it,
	 * but the copy must not replace a cached page.
	 */
	CHECK_EQ(hw_mmap(c, 4 * G - HP, G, RW, MAP_SHARED, p.f, 0), 0);
	CHECK_EQ(hw_access(c, 4 * G - HP + 6 * HP, true, &t), 0);
	free_before = meminfo(p.sys).hugepages_free;
	CHECK_EQ(hw_uffd_copy(p.u, PAGE(G, 6), 1, 0), -EEXIST);
	CHECK_EQ(meminfo(p.sys).hugepages_free, free_before);
	/* ... and A's fault there does not go to the monitor at all. */
	CHECK_EQ(load(p.a, PAGE(G, 6)), 0x66);
	expect_no_event(p.u);

	CHECK_EQ(hw_uffd_copy(p.u, PAGE(G, 7) + 4 * K, 1, 0), -EINVAL);
	CHECK_EQ(hw_uffd_copy(p.u, PAGE(G, 7), 1, 0x80), -EINVAL);
	CHECK_EQ(hw_uffd_copy(p.u, 5 * G, 1, 0), -ENOENT);	/* unmapped */

	/*
	 *  A:        |== f ==|      |= g =|   g is 2 pages long, mapped
	 *                           5G     4 pages read-only, registered
	 */
	CHECK_EQ(hw_ftruncate(g, 2 * HP), 0);
	CHECK_EQ(hw_mmap(p.a, 5 * G, 4 * HP, PROT_READ, MAP_SHARED, g, 0), 0);
	CHECK_EQ(hw_uffd_copy(p.u, PAGE(5 * G, 1), 1, 0), -ENOENT);
	CHECK_EQ(hw_uffd_register(p.u, 5 * G, 4 * HP, MISSING), 0);
	CHECK_EQ(hw_uffd_copy(p.u, PAGE(5 * G, 1), 0x5151, 0), 0);
	CHECK_EQ(load(p.a, PAGE(5 * G, 1)), 0x5151);
	CHECK_EQ(hw_uffd_copy(p.u, PAGE(5 * G, 3), 1, 0), -EFAULT);
	CHECK_EQ(hw_access(p.a, PAGE(5 * G, 3), false, &t), SIGBUS);

	CHECK_EQ(hw_uffd_wake(p.u, G + 4 * K, HP), -EINVAL);
	CHECK_EQ(hw_uffd_wake(p.u, G, 0), -EINVAL);
	hw_file_close(g);
	teardown(&p);
}

static void copy_errors(void)
{
	for_each_policy(copy_errors_one);
}

/*
 *  A:        |== f[0,1) ==|   task reads page 7 and sleeps
 * UFFDIO_COPY with DONTWAKE fills the page but leaves the task asleep;
 * UFFDIO_WAKE of the page wakes it.
 */
static void dontwake_one(const char *policy)
{
	struct pair p = setup(policy, HW_VIOLATION_ABORT);
	struct faulter f;

	start_faulter(&f, p.sys, p.a, PAGE(G, 7), false, 0);
	expect_event(p.u, PAGE(G, 7), false);
	CHECK_EQ(hw_uffd_copy(p.u, PAGE(G, 7), 0x77,
			      HW_UFFDIO_COPY_MODE_DONTWAKE), 0);
	CHECK_EQ(load(p.b, PAGE(2 * G, 7)), 0x77);
	sleep_ms(20);
	CHECK_MSG(!faulter_done(&f), "DONTWAKE woke the faulter");
	/* A wake of another page is not for it. */
	CHECK_EQ(hw_uffd_wake(p.u, PAGE(G, 8), HP), 0);
	sleep_ms(20);
	CHECK(!faulter_done(&f));
	CHECK_EQ(hw_uffd_wake(p.u, PAGE(G, 6), 2 * HP), 0);
	join_faulter(&f);
	CHECK_EQ(f.sig, 0);
	CHECK_EQ(f.tag, 0x77);
	teardown(&p);
}

static void dontwake_then_wake(void)
{
	for_each_policy(dontwake_one);
}

/*
 *  A:        |== f[0,1) ==|   task reads page 5 and sleeps
 *  B:                      |== f[0,1) ==|   B writes page 5: B is not
 *                                           registered, it allocates
 * B's page lands in the table A shares, but nobody wakes A's task: the
 * monitor's copy fails with -EEXIST, and it wakes the task itself.
 */
static void other_mm_fills_one(const char *policy)
{
	struct pair p = setup(policy, HW_VIOLATION_ABORT);
	struct faulter f;
	uint64_t t = 0x55;

	start_faulter(&f, p.sys, p.a, PAGE(G, 5), false, 0);
	expect_event(p.u, PAGE(G, 5), false);
	CHECK_EQ(hw_access(p.b, PAGE(2 * G, 5), true, &t), 0);
	show(p.sys, "B filled page 5 of the shared table");
	sleep_ms(20);
	CHECK_MSG(!faulter_done(&f), "a fault in another mm woke A's task");
	CHECK_EQ(hw_uffd_copy(p.u, PAGE(G, 5), 1, 0), -EEXIST);
	CHECK(!faulter_done(&f));
	CHECK_EQ(hw_uffd_wake(p.u, PAGE(G, 5), HP), 0);
	join_faulter(&f);
	CHECK_EQ(f.sig, 0);
	CHECK_EQ(f.tag, 0x55);
	teardown(&p);
}

static void eexist_then_wake(void)
{
	for_each_policy(other_mm_fills_one);
}

/* ---- unregister, close ------------------------------------------------- */

/*
 *  A:        |== f[0,1) ==|   task reads page 2 and sleeps
 *            UFFDIO_UNREGISTER of [1G, 2G)
 * The task is woken, faults again, finds the range unregistered and
 * allocates a page as usual (zero-filled); later faults do not block.
 */
static void unregister_one(const char *policy)
{
	struct pair p = setup(policy, HW_VIOLATION_ABORT);
	unsigned long free_before = meminfo(p.sys).hugepages_free;
	unsigned long fa = faults(p.a);
	struct faulter f;

	start_faulter(&f, p.sys, p.a, PAGE(G, 2), false, ~0ULL);
	expect_event(p.u, PAGE(G, 2), false);
	CHECK_EQ(hw_uffd_unregister(p.u, G, G), 0);
	join_faulter(&f);
	CHECK_EQ(f.sig, 0);
	CHECK_EQ(f.tag, 0);
	CHECK_EQ(faults(p.a), fa + 1);
	CHECK_EQ(meminfo(p.sys).hugepages_free, free_before - 1);
	CHECK_EQ(meminfo(p.sys).shared_pmds, 1);
	write_pages(p.a, PAGE(G, 9), 1, 0x99);
	expect_no_event(p.u);
	CHECK_EQ(hw_uffd_copy(p.u, PAGE(G, 10), 1, 0), -ENOENT);
	teardown(&p);
}

static void unregister_wakes_waiter(void)
{
	for_each_policy(unregister_one);
}

/* The same, with close(2) of the userfaultfd instead. */
static void close_one(const char *policy)
{
	struct pair p = setup(policy, HW_VIOLATION_ABORT);
	struct faulter f;

	start_faulter(&f, p.sys, p.a, PAGE(G, 2), true, 0x22);
	expect_event(p.u, PAGE(G, 2), true);
	hw_uffd_close(p.u);
	p.u = NULL;
	join_faulter(&f);
	CHECK_EQ(f.sig, 0);
	CHECK_EQ(load(p.b, PAGE(2 * G, 2)), 0x22);
	write_pages(p.a, PAGE(G, 9), 1, 0x99);
	teardown(&p);
}

static void close_wakes_waiter(void)
{
	for_each_policy(close_one);
}

/*
 *  A:        |== f[0,1) ==|   task reads page 8 and sleeps
 *            munmap of [1G, 2G) by another task of A
 * munmap does not wake it (no UFFD_FEATURE_EVENT_UNMAP): the sleeper
 * holds the ctx, not the VMA.  A wake sends it to fault again: SIGSEGV.
 */
static void munmap_one(const char *policy)
{
	struct pair p = setup(policy, HW_VIOLATION_ABORT);
	struct faulter f;

	start_faulter(&f, p.sys, p.a, PAGE(G, 8), false, 0);
	expect_event(p.u, PAGE(G, 8), false);
	CHECK_EQ(hw_munmap(p.a, G, G), 0);
	sleep_ms(20);
	CHECK(!faulter_done(&f));
	CHECK_EQ(hw_uffd_wake(p.u, G, G), 0);
	join_faulter(&f);
	CHECK_EQ(f.sig, SIGSEGV);
	teardown(&p);
}

static void munmap_under_waiter(void)
{
	for_each_policy(munmap_one);
}

/* ---- registration ------------------------------------------------------ */

/*
 *            1G  +4M  +8M             2G
 *  A:        |===|####|===============|   register [1G+4M, 1G+8M) only
 *  B:                                  |== f[0,1) ==|
 * The VMA is split at both ends; a split that is not PUD-aligned
 * unshares the table around it (hugetlb_split()), like any split.
 * Outside the range faults allocate; inside they go to the monitor.
 */
static void register_one(const char *policy)
{
	struct hw_system *sys = boot(600, policy);
	struct hw_file *f = hw_memfd_create(sys, "f");
	struct hw_mm *a = hw_mm_create(sys, "A"), *b = hw_mm_create(sys, "B");
	struct hw_uffd *u = hw_uffd_create(a);
	struct faulter fl;

	CHECK(f && a && b && u);
	CHECK_EQ(hw_ftruncate(f, G), 0);
	CHECK_EQ(hw_uffd_register(u, G, G, MISSING), -EINVAL);
	CHECK_EQ(hw_mmap(a, G, G, RW, MAP_SHARED, f, 0), 0);
	CHECK_EQ(hw_mmap(b, 2 * G, G, RW, MAP_SHARED, f, 0), 0);
	write_pages(a, G, 1, 0x100);
	check_pages(b, 2 * G, 1, 0x100);
	CHECK_EQ(meminfo(sys).shared_pmds, 1);

	CHECK_EQ(hw_uffd_register(u, G + 4 * K, HP, MISSING), -EINVAL);
	CHECK_EQ(hw_uffd_register(u, G, HP + 4 * K, MISSING), -EINVAL);
	CHECK_EQ(hw_uffd_register(u, G, 0, MISSING), -EINVAL);
	CHECK_EQ(hw_uffd_register(u, G, HP, 0x4), -EINVAL);
	CHECK_EQ(hw_uffd_register(u, G / 2, HP, MISSING), -EINVAL);
	CHECK_EQ(hw_uffd_register(u, 4 * G, HP, MISSING), -EINVAL);
	CHECK_EQ(meminfo(sys).shared_pmds, 1);

	CHECK_EQ(hw_uffd_register(u, G + 2 * HP, 2 * HP, MISSING), 0);
	show(sys, "A registered [1G+4M, 1G+8M): the split unshared");
	CHECK_EQ(meminfo(sys).shared_pmds, 0);

	write_pages(a, PAGE(G, 1), 1, 0x101);	/* outside: allocates */
	write_pages(a, PAGE(G, 4), 1, 0x104);
	expect_no_event(u);
	start_faulter(&fl, sys, a, PAGE(G, 3), false, 0);
	expect_event(u, PAGE(G, 3), false);
	CHECK_EQ(hw_uffd_copy(u, PAGE(G, 3), 0x303, 0), 0);
	join_faulter(&fl);
	CHECK_EQ(fl.tag, 0x303);
	CHECK_EQ(load(b, PAGE(2 * G, 3)), 0x303);
	CHECK_EQ(hw_uffd_copy(u, PAGE(G, 4), 1, 0), -ENOENT);

	/* Registering again is a no-op; unregistering a part splits. */
	CHECK_EQ(hw_uffd_register(u, G + 2 * HP, 2 * HP, MISSING), 0);
	CHECK_EQ(hw_uffd_unregister(u, G + 2 * HP, HP), 0);
	write_pages(a, PAGE(G, 2), 1, 0x102);
	expect_no_event(u);
	CHECK_EQ(hw_uffd_unregister(u, 4 * G, HP), -EINVAL);
	hw_uffd_close(u);
	check_invariants(sys);
	hw_system_destroy(sys);
}

static void register_splits(void)
{
	for_each_policy(register_one);
}

/* Two userfaultfds of one mm: the second cannot take the first's range. */
static void register_busy(void)
{
	struct hw_system *sys = boot(16, "v6.3");
	struct hw_file *f = hw_memfd_create(sys, "f");
	struct hw_mm *a = hw_mm_create(sys, "A");
	struct hw_uffd *u = hw_uffd_create(a), *v = hw_uffd_create(a);

	CHECK(f && a && u && v);
	CHECK_EQ(hw_ftruncate(f, 8 * HP), 0);
	CHECK_EQ(hw_mmap(a, G, 8 * HP, RW, MAP_SHARED, f, 0), 0);
	CHECK_EQ(hw_uffd_register(u, G, 4 * HP, MISSING), 0);
	CHECK_EQ(hw_uffd_register(v, G + 2 * HP, 4 * HP, MISSING), -EBUSY);
	CHECK_EQ(hw_uffd_register(v, G + 4 * HP, 4 * HP, MISSING), 0);
	/* v's unregister leaves u's pages alone. */
	CHECK_EQ(hw_uffd_unregister(v, G, 8 * HP), 0);
	CHECK_EQ(hw_uffd_copy(u, PAGE(G, 1), 0x11, 0), 0);
	CHECK_EQ(hw_uffd_copy(v, PAGE(G, 5), 0x11, 0), -ENOENT);
	hw_uffd_close(v);
	hw_uffd_close(u);
	check_invariants(sys);
	hw_system_destroy(sys);
}

/*
 *            1G            2G            3G            4G
 *  A:        |== f[0,1) ==|                                  MISSING (u)
 *  C:                      |== f[0,1) ==|                    MISSING (w)
 *  D:                                    |== f[0,1) ==|      plain
 * MISSING mode leaves sharing allowed (only WP and MINOR forbid it,
 * uffd_disable_huge_pmd_share()), but sharers compare vm_flags: C,
 * registered too, shares A's table; D, whose flags differ, does not.
 */
static void sharing_follows_flags(void)
{
	struct hw_system *sys = boot(600, "v6.3");
	struct hw_file *f = hw_memfd_create(sys, "f");
	struct hw_mm *a = hw_mm_create(sys, "A"), *c = hw_mm_create(sys, "C"),
		     *d = hw_mm_create(sys, "D");
	struct hw_uffd *u = hw_uffd_create(a), *w = hw_uffd_create(c);
	unsigned long fc, fd;

	CHECK(f && a && c && d && u && w);
	CHECK_EQ(hw_ftruncate(f, G), 0);
	CHECK_EQ(hw_mmap(a, G, G, RW, MAP_SHARED, f, 0), 0);
	CHECK_EQ(hw_mmap(c, 2 * G, G, RW, MAP_SHARED, f, 0), 0);
	CHECK_EQ(hw_mmap(d, 3 * G, G, RW, MAP_SHARED, f, 0), 0);
	CHECK_EQ(hw_uffd_register(u, G, G, MISSING), 0);
	CHECK_EQ(hw_uffd_register(w, 2 * G, G, MISSING), 0);
	CHECK_EQ(hw_uffd_copy(u, PAGE(G, 0), 0x10, 0), 0);
	CHECK_EQ(hw_uffd_copy(u, PAGE(G, 1), 0x11, 0), 0);

	fc = faults(c);
	fd = faults(d);
	check_pages(c, 2 * G, 2, 0x10);
	check_pages(d, 3 * G, 2, 0x10);
	show(sys, "C (registered) shares A's table; D (plain) has its own");
	CHECK_EQ(faults(c), fc + 1);
	CHECK_EQ(faults(d), fd + 2);
	CHECK_EQ(meminfo(sys).shared_pmds, 1);
	CHECK_EQ(nr_pmds(d), 1);
	/* A copy through C's table shows in A without a fault. */
	CHECK_EQ(hw_uffd_copy(w, PAGE(2 * G, 2), 0x12, 0), 0);
	fc = faults(a);
	CHECK_EQ(load(a, PAGE(G, 2)), 0x12);
	CHECK_EQ(faults(a), fc);
	hw_uffd_close(w);
	hw_uffd_close(u);
	check_invariants(sys);
	hw_system_destroy(sys);
}

/*
 *            1G            2G            3G
 *  A:        |== f[0,1) ==|                    u: WP, then unregistered
 *  B:                      |== f[0,1) ==|      plain
 *  C:                                    |== f[0,1) ==|  w: MISSING
 * One userfaultfd serves both modes.  A's WP registration unshares;
 * unregistering lets A share B's table again.  Registered WP again and
 * then MISSING, A's VMA trades WP for MISSING (userfaultfd_register()
 * replaces the modes), so its flags equal C's and it shares C's table.
 */
static void wp_mode_on_the_same_ctx(void)
{
	struct hw_system *sys = boot(600, "v6.3");
	struct hw_file *f = hw_memfd_create(sys, "f");
	struct hw_mm *a = hw_mm_create(sys, "A"), *b = hw_mm_create(sys, "B"),
		     *c = hw_mm_create(sys, "C");
	struct hw_uffd *u = hw_uffd_create(a), *w = hw_uffd_create(c);
	const unsigned int WP = HW_UFFDIO_REGISTER_MODE_WP;
	unsigned long fa;

	CHECK(f && a && b && c && u && w);
	CHECK_EQ(hw_ftruncate(f, G), 0);
	CHECK_EQ(hw_mmap(a, G, G, RW, MAP_SHARED, f, 0), 0);
	CHECK_EQ(hw_mmap(b, 2 * G, G, RW, MAP_SHARED, f, 0), 0);
	CHECK_EQ(hw_mmap(c, 3 * G, G, RW, MAP_SHARED, f, 0), 0);
	write_pages(b, 2 * G, 1, 0x10);
	check_pages(a, G, 1, 0x10);
	CHECK_EQ(meminfo(sys).shared_pmds, 1);

	CHECK_EQ(hw_uffd_register(u, G, G, WP), 0);
	show(sys, "A registered WP: unshared");
	CHECK_EQ(meminfo(sys).shared_pmds, 0);
	CHECK_EQ(nr_pmds(a), 0);
	CHECK_EQ(hw_uffd_unregister(u, G, G), 0);
	fa = faults(a);
	check_pages(a, G, 1, 0x10);
	CHECK_EQ(faults(a), fa + 1);
	CHECK_EQ(meminfo(sys).shared_pmds, 1);	/* B's table again */

	CHECK_EQ(hw_uffd_register(w, 3 * G, G, MISSING), 0);
	check_pages(c, 3 * G, 1, 0x10);		/* C: a table of its own */
	CHECK_EQ(hw_uffd_register(u, G, G, WP), 0);
	CHECK_EQ(hw_uffd_register(u, G, G, MISSING), 0);
	fa = faults(a);
	check_pages(a, G, 1, 0x10);
	show(sys, "A's WP traded for MISSING: it shares C's table");
	CHECK_EQ(faults(a), fa + 1);
	CHECK_EQ(meminfo(sys).shared_pmds, 1);
	CHECK_EQ(hw_uffd_register(u, G, G, 0x4), -EINVAL);
	hw_uffd_close(w);
	hw_uffd_close(u);
	check_invariants(sys);
	hw_system_destroy(sys);
}

/*
 *            1G            2G            3G
 *  A:        |== f[0,1) ==|                    page 0 written
 *  C:                      |== f[0,1) ==|      shares A's table
 * With quirk uffd-missing-no-share (a kernel where MISSING mode forbids
 * sharing as WP does), C's registration unshares C's PUD, and once A is
 * registered too, C's faults do not share A's table although their
 * flags are equal.  Without the quirk the same registrations leave the
 * table shared (setup() and sharing_follows_flags() check that).
 */
static void missing_no_share_quirk(void)
{
	struct hw_system *sys = boot(600, "v6.3");
	struct hw_file *f = hw_memfd_create(sys, "f");
	struct hw_mm *a = hw_mm_create(sys, "A"), *c = hw_mm_create(sys, "C");
	struct hw_uffd *u = hw_uffd_create(a), *w = hw_uffd_create(c);
	unsigned long fc;

	CHECK(f && a && c && u && w);
	CHECK_EQ(hw_system_set_quirk(sys, HW_NR_QUIRKS, true), -EINVAL);
	CHECK(!hw_system_quirk(sys, HW_QUIRK_UFFD_MISSING_NO_SHARE));
	CHECK_EQ(hw_system_set_quirk(sys, HW_QUIRK_UFFD_MISSING_NO_SHARE,
				     true), 0);
	CHECK(hw_system_quirk(sys, HW_QUIRK_UFFD_MISSING_NO_SHARE));
	CHECK_EQ(hw_quirk_lookup("uffd-missing-no-share"),
		 HW_QUIRK_UFFD_MISSING_NO_SHARE);
	CHECK_EQ(hw_quirk_lookup("nope"), -1);
	CHECK_EQ(hw_ftruncate(f, G), 0);
	CHECK_EQ(hw_mmap(a, G, G, RW, MAP_SHARED, f, 0), 0);
	CHECK_EQ(hw_mmap(c, 2 * G, G, RW, MAP_SHARED, f, 0), 0);
	write_pages(a, G, 1, 0x10);
	check_pages(c, 2 * G, 1, 0x10);
	CHECK_EQ(meminfo(sys).shared_pmds, 1);

	CHECK_EQ(hw_uffd_register(w, 2 * G, G, MISSING), 0);
	show(sys, "C registered: its PUD is cleared, the table is A's alone");
	CHECK_EQ(meminfo(sys).shared_pmds, 0);
	CHECK_EQ(nr_pmds(c), 0);
	CHECK_EQ(nr_pmds(a), 1);

	CHECK_EQ(hw_uffd_register(u, G, G, MISSING), 0);
	CHECK_EQ(hw_uffd_copy(u, PAGE(G, 1), 0x11, 0), 0);
	fc = faults(c);
	check_pages(c, 2 * G, 2, 0x10);
	show(sys, "both registered: C's faults build a table of C's own");
	CHECK_EQ(faults(c), fc + 2);
	CHECK_EQ(meminfo(sys).shared_pmds, 0);
	CHECK_EQ(nr_pmds(c), 1);
	hw_uffd_close(w);
	hw_uffd_close(u);
	check_invariants(sys);
	hw_system_destroy(sys);
}

/*
 *            1G            2G
 *  A:        |== f[0,1) ==|   MAP_PRIVATE, registered
 *  B:                      |== f[0,1) ==|   MAP_SHARED
 * A private range goes to the monitor when the file lacks the page; the
 * copy is A's own page, outside the page cache.  A page the file has is
 * mapped without an event.
 */
static void private_one(const char *policy)
{
	/* A private mapping reserves its own 512 pages. */
	struct hw_system *sys = boot(1100, policy);
	struct hw_file *f = hw_memfd_create(sys, "f");
	struct hw_mm *a = hw_mm_create(sys, "A"), *b = hw_mm_create(sys, "B");
	struct hw_uffd *u = hw_uffd_create(a);
	struct faulter fl;

	CHECK(f && a && b && u);
	CHECK_EQ(hw_ftruncate(f, G), 0);
	CHECK_EQ(hw_mmap(a, G, G, RW, MAP_PRIVATE, f, 0), 0);
	CHECK_EQ(hw_mmap(b, 2 * G, G, RW, MAP_SHARED, f, 0), 0);
	CHECK_EQ(hw_uffd_register(u, G, G, MISSING), 0);
	write_pages(b, 2 * G, 1, 0x200);
	CHECK_EQ(load(a, G), 0x200);
	expect_no_event(u);

	start_faulter(&fl, sys, a, PAGE(G, 1), true, 0x2a);
	expect_event(u, PAGE(G, 1), true);
	CHECK_EQ(hw_uffd_copy(u, PAGE(G, 1), 0x1a, 0), 0);
	join_faulter(&fl);
	CHECK_EQ(fl.sig, 0);
	CHECK_EQ(load(a, PAGE(G, 1)), 0x2a);
	CHECK_EQ(load(b, PAGE(2 * G, 1)), 0);	/* the file never saw it */
	CHECK_EQ(hw_uffd_copy(u, PAGE(G, 1), 1, 0), -EEXIST);
	hw_uffd_close(u);
	check_invariants(sys);
	hw_system_destroy(sys);
}

static void private_mapping(void)
{
	for_each_policy(private_one);
}

/*
 *            1G            2G
 *  A:        |== f[0,1) ==|   registered
 *  A':       |== f[0,1) ==|   fork of A: not registered
 *  B:                      |== f[0,1) ==|
 * fork without UFFD_FEATURE_EVENT_FORK: the child's copy of the range
 * is not registered, so its faults allocate as usual; with B's flags,
 * not A's, it shares B's table, which A shares too.
 */
static void fork_unregisters_child(void)
{
	struct pair p = setup("v6.3", HW_VIOLATION_ABORT);
	struct hw_mm *child = hw_fork(p.a, "A'");
	struct faulter f;

	CHECK(child);
	start_faulter(&f, p.sys, child, PAGE(G, 3), false, ~0ULL);
	join_faulter(&f);
	CHECK_EQ(f.sig, 0);
	CHECK_EQ(f.tag, 0);
	expect_no_event(p.u);
	show(p.sys, "the child allocated page 3 into the table A shares");
	/* The parent's range is still registered: punch page 3 away. */
	CHECK_EQ(hw_fallocate(p.f, HW_FALLOC_PUNCH_HOLE | HW_FALLOC_KEEP_SIZE,
			      3 * HP, HP), 0);
	start_faulter(&f, p.sys, p.a, PAGE(G, 3), false, 0);
	expect_event(p.u, PAGE(G, 3), false);
	CHECK_EQ(hw_uffd_copy(p.u, PAGE(G, 3), 0x33, 0), 0);
	join_faulter(&f);
	CHECK_EQ(f.tag, 0x33);
	teardown(&p);
}

/* ---- a monitor task ---------------------------------------------------- */

#define NR_FAULTERS	5

struct monitor {
	struct hw_system *sys;
	struct hw_uffd *u;
	struct faulter *f;
	int copied, woken;
};

/*
 * The monitor: resolves events until every faulter is done, copying
 * tag 0x1000 + page; an event for a page copied already (two tasks
 * faulted on it) gets -EEXIST, and a wake to be sure.
 */
static void *monitor_fn(void *arg)
{
	struct monitor *m = arg;
	struct hw_uffd_msg msg;
	int i, err, spins;

	CHECK_EQ(hw_task_enter(m->sys, "monitor"), 0);
	for (spins = 0; spins < WAIT_MS; spins++) {
		for (i = 0; i < NR_FAULTERS && faulter_done(&m->f[i]); i++)
			;
		if (i == NR_FAULTERS)
			break;
		err = hw_uffd_read(m->u, &msg, true);
		if (err == -EAGAIN) {
			sleep_ms(1);
			continue;
		}
		CHECK_EQ(err, 0);
		err = hw_uffd_copy(m->u, msg.address,
				   0x1000 + (msg.address - G) / HP, 0);
		if (err == -EEXIST) {
			CHECK_EQ(hw_uffd_wake(m->u, msg.address, HP), 0);
			m->woken++;
		} else {
			CHECK_EQ(err, 0);
			m->copied++;
		}
	}
	CHECK_MSG(spins < WAIT_MS, "faulters still blocked after %d ms",
		  WAIT_MS);
	hw_task_exit();
	return NULL;
}

/*
 *  A:        |== f[0,1) ==|   five tasks read pages 10, 11, 12, 13, 10
 *  B:                      |== f[0,1) ==|
 * One monitor task serves them all, in whatever order they come.
 */
static void monitor_one(const char *policy)
{
	static const int page[NR_FAULTERS] = { 10, 11, 12, 13, 10 };
	struct pair p = setup(policy, HW_VIOLATION_ABORT);
	struct faulter f[NR_FAULTERS];
	struct monitor m = { .sys = p.sys, .u = p.u, .f = f };
	pthread_t mt;
	int i;

	for (i = 0; i < NR_FAULTERS; i++)
		start_faulter(&f[i], p.sys, p.a, PAGE(G, page[i]), false, 0);
	CHECK_EQ(pthread_create(&mt, NULL, monitor_fn, &m), 0);
	for (i = 0; i < NR_FAULTERS; i++) {
		join_faulter(&f[i]);
		CHECK_EQ(f[i].sig, 0);
		CHECK_EQ(f[i].tag, 0x1000 + page[i]);
	}
	CHECK_EQ(pthread_join(mt, NULL), 0);
	printf("# %d copied, %d woken after -EEXIST\n", m.copied, m.woken);
	CHECK_EQ(m.copied, 4);
	for (i = 10; i <= 13; i++)
		CHECK_EQ(load(p.b, PAGE(2 * G, i)), 0x1000 + i);
	teardown(&p);
}

static void monitor_task_serves_faulters(void)
{
	for_each_policy(monitor_one);
}

/* ---- the walk rule at userfaultfd_huge_must_wait ------------------------ */

/* Walks recorded at @site, from hw_violations()'s table. */
static unsigned long violations_at(struct hw_system *sys, const char *site)
{
	char *buf = NULL, *line, *save;
	unsigned long n = 0;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f);
	hw_violations(sys, f);
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		printf("#   | %s\n", line);
		if (!strncmp(line, site, strlen(site)) &&
		    line[strlen(site)] == ' ')
			n = strtoul(line + strlen(site), NULL, 10);
	}
	free(buf);
	return n;
}

/*
 *  A:        |== f[0,1) ==|   task reads page 3, sleeps, is resolved
 *  B:                      |== f[0,1) ==|
 * One walk at userfaultfd_huge_must_wait of a shareable VMA: exposed
 * under v6.1 (task not running, nothing held) and unprotected; under
 * the vma lock (v6.3, v6.16) or in an RCU section (rfc, rfc-late-dtor)
 * it keeps the rule.
 */
static void rule_one(const char *policy)
{
	bool exposed = !strcmp(policy, "v6.1") ||
		       !strcmp(policy, "unprotected");
	struct pair p = setup(policy, HW_VIOLATION_RECORD);
	struct faulter f;

	CHECK_EQ(violations_at(p.sys, "userfaultfd_huge_must_wait"), 0);
	start_faulter(&f, p.sys, p.a, PAGE(G, 3), false, 0);
	expect_event(p.u, PAGE(G, 3), false);
	CHECK_EQ(hw_uffd_copy(p.u, PAGE(G, 3), 0x3303, 0), 0);
	join_faulter(&f);
	CHECK_EQ(f.tag, 0x3303);
	CHECK_EQ(violations_at(p.sys, "userfaultfd_huge_must_wait"),
		 exposed ? 1 : 0);
	teardown(&p);
}

static void must_wait_walk_rule(void)
{
	const char *const *pol;
	int n = 0;

	for (pol = hw_policy_names(); *pol; pol++, n++)
		rule_one(*pol);
	CHECK(n >= 6);
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(copy_resolves_fault),
		TAP_TEST(copy_errors),
		TAP_TEST(dontwake_then_wake),
		TAP_TEST(eexist_then_wake),
		TAP_TEST(unregister_wakes_waiter),
		TAP_TEST(close_wakes_waiter),
		TAP_TEST(munmap_under_waiter),
		TAP_TEST(register_splits),
		TAP_TEST(register_busy),
		TAP_TEST(sharing_follows_flags),
		TAP_TEST(missing_no_share_quirk),
		TAP_TEST(wp_mode_on_the_same_ctx),
		TAP_TEST(private_mapping),
		TAP_TEST(fork_unregisters_child),
		TAP_TEST(monitor_task_serves_faulters),
		TAP_TEST(must_wait_walk_rule),
	};

	return tap_main(tests, ARRAY_SIZE(tests), 30);
}
