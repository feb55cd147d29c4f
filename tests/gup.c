// SPDX-License-Identifier: MIT
/*
 * get_user_pages and its relatives, under every policy: the slow path
 * (follow_hugetlb_page), FOLL_WRITE and FOLL_NOWAIT, GUP-fast and its
 * fallback, follow_page, pins against a hole punch and an exit,
 * process_vm_readv of another mm, MADV_POPULATE_*, and which walks the
 * rule checker counts.
 *
 * Pictures: "f[0,1)" is the range of file f mapped there, in GiB; a
 * row of page cells shows huge pages 0.. of a mapping: P present,
 * . never touched, w present and writable by this mm alone (COW done).
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "helpers.h"

#define RW	(PROT_READ | PROT_WRITE)

#define for_each_policy(pol)						\
	for (const char *const *__p = hw_policy_names();		\
	     ((pol) = *__p) && (tap_diag("policy %s", (pol)), 1); __p++)

struct world {
	struct hw_system *sys;
	struct hw_file *f;
	struct hw_mm *a, *b;
};

/*
 *            1G            2G
 *  A:        |== f[0,1) ==|                 rw, shared
 *  B:                      |== f[0,1) ==|   rw, shared, not touched yet
 *  A:  |P P P P . . ...|    pages 0..3 written by A: tags 0x100 + i
 */
static struct world setup(const char *policy, enum hw_violation_mode mode)
{
	struct hw_system_opts o = { .nr_hugepages = 2048, .policy = policy,
				    .violations = mode };
	struct world w;

	w.sys = hw_system_create(&o);
	CHECK(w.sys);
	w.f = hw_memfd_create(w.sys, "f");
	CHECK(w.f && !hw_ftruncate(w.f, G));
	w.a = hw_mm_create(w.sys, "A");
	w.b = hw_mm_create(w.sys, "B");
	CHECK(w.a && w.b);
	CHECK_EQ(hw_mmap(w.a, G, G, RW, MAP_SHARED, w.f, 0), 0);
	CHECK_EQ(hw_mmap(w.b, 2 * G, G, RW, MAP_SHARED, w.f, 0), 0);
	write_pages(w.a, G, 4, 0x100);
	return w;
}

static void teardown(struct world *w)
{
	check_invariants(w->sys);
	hw_system_destroy(w->sys);
}

static struct hw_page_info follow(struct hw_mm *mm, uint64_t addr)
{
	struct hw_page_info info;

	CHECK_EQ(hw_follow_page(mm, addr, &info), 0);
	return info;
}

/* The pages pinned are those @mm maps at @addr.., with @tag + i. */
static void check_pinned(struct hw_mm *mm, uint64_t addr,
			 struct hw_page **pages, int n, uint64_t tag)
{
	int i;

	for (i = 0; i < n; i++) {
		struct hw_page_info info = follow(mm, addr + i * HP);

		CHECK(info.present);
		CHECK_EQ(hw_page_pfn(pages[i]), info.pfn);
		CHECK_EQ(hw_page_tag(pages[i]), tag + i);
	}
}

/*
 * The same picture.  GUP in A pins A's four pages; GUP in B, which has
 * never touched the file, takes one fault (sharing A's table) and pins
 * the very same folios.
 */
static void gup_pins_what_the_owner_maps(void)
{
	struct hw_page *pa[4], *pb[4];
	const char *pol;
	unsigned long fb;
	int i;

	for_each_policy(pol) {
		struct world w = setup(pol, HW_VIOLATION_RECORD);

		CHECK_EQ(hw_get_user_pages(w.a, G, 4, 0, pa), 4);
		check_pinned(w.a, G, pa, 4, 0x100);
		/* page cache + one entry + our pin */
		for (i = 0; i < 4; i++)
			CHECK_EQ(hw_page_refcount(pa[i]), 3);

		fb = faults(w.b);
		CHECK_EQ(hw_get_user_pages(w.b, 2 * G, 4, 0, pb), 4);
		show(w.sys, "B pinned 4 pages through A's table");
		CHECK_EQ(faults(w.b), fb + 1);
		CHECK_EQ(meminfo(w.sys).shared_pmds, 1);
		for (i = 0; i < 4; i++) {
			CHECK_EQ(hw_page_pfn(pb[i]), hw_page_pfn(pa[i]));
			/* the entry is in a shared table: it counts once */
			CHECK_EQ(hw_page_refcount(pb[i]), 4);
		}
		hw_unpin_user_pages(pa, 4);
		hw_unpin_user_pages(pb, 4);
		CHECK_EQ(hw_page_refcount(pa[0]), 2);
		teardown(&w);
	}
}

/*
 *            1G            2G
 *  A:        |== f[0,1) ==|                 rw, shared
 *  R:                                   |= g[0,4p) =|  r, at 3G
 *  N:                                                 at 4G, NORESERVE
 * Errors are those of get_user_pages(): -EFAULT for no mapping, for a
 * mapping that forbids the access, and for a fault that raises SIGBUS;
 * a range that runs off its mapping returns the pages before the end.
 */
static void gup_errors_and_partial_ranges(void)
{
	struct hw_page *p[4];
	const char *pol;

	for_each_policy(pol) {
		struct world w = setup(pol, HW_VIOLATION_RECORD);
		struct hw_file *g = hw_memfd_create(w.sys, "g");

		CHECK(g && !hw_ftruncate(g, 8 * HP));
		CHECK_EQ(hw_mmap(w.a, 3 * G, 4 * HP, PROT_READ, MAP_SHARED, g,
				 0), 0);

		CHECK_EQ(hw_get_user_pages(w.a, 5 * G, 1, 0, p), -EFAULT);
		CHECK_EQ(hw_get_user_pages(w.a, G + 4 * K, 1, 0, p), -EINVAL);
		CHECK_EQ(hw_get_user_pages(w.a, G, 1, 0x80, p), -EINVAL);
		CHECK_EQ(hw_get_user_pages(w.a, G, 0, 0, p), 0);
		CHECK_EQ(hw_get_user_pages(w.a, HW_TASK_SIZE - HP, 2, 0, p),
			 -EFAULT);

		/* A: |... P P| 2G: nothing */
		CHECK_EQ(hw_get_user_pages(w.a, 2 * G - 2 * HP, 4, 0, p), 2);
		hw_unpin_user_pages(p, 2);

		/* read-only mapping: reads pin, writes are refused */
		CHECK_EQ(hw_get_user_pages(w.a, 3 * G, 4, 0, p), 4);
		hw_unpin_user_pages(p, 4);
		CHECK_EQ(hw_get_user_pages(w.a, 3 * G, 1, HW_FOLL_WRITE, p),
			 -EFAULT);
		CHECK_EQ(hw_mprotect(w.a, 3 * G, 4 * HP, PROT_NONE), 0);
		CHECK_EQ(hw_get_user_pages(w.a, 3 * G, 1, 0, p), -EFAULT);
		teardown(&w);
	}
}

/*
 *  N:  |P P x .|   MAP_NORESERVE over a pool with two pages left
 * The third page cannot be allocated: the fault raises SIGBUS, which
 * GUP turns into a short count, or -EFAULT when nothing was pinned.
 */
static void gup_sigbus_is_efault(void)
{
	struct hw_page *p[4];
	const char *pol;

	for_each_policy(pol) {
		struct hw_system *sys = boot(2, pol);
		struct hw_file *f = hw_memfd_create(sys, "f");
		struct hw_mm *n = hw_mm_create(sys, "N");

		CHECK(f && !hw_ftruncate(f, 4 * HP));
		CHECK_EQ(hw_mmap(n, G, 4 * HP, RW,
				 MAP_SHARED | MAP_NORESERVE, f, 0), 0);
		CHECK_EQ(hw_get_user_pages(n, G, 4, HW_FOLL_WRITE, p), 2);
		CHECK_EQ(hw_get_user_pages(n, G + 2 * HP, 1, 0, p + 2),
			 -EFAULT);
		hw_unpin_user_pages(p, 2);
		check_invariants(sys);
		hw_system_destroy(sys);
	}
}

/*
 *            1G            2G
 *  A:        |== f[0,1) ==|                 rw, shared: writes the file
 *  P:                      |~ f[0,8p) ~|    rw, private
 *  P:  |P P . . . . . .|   P read pages 0, 1: the file's folios, read-only
 *  P:  |w P . . . . . .|   GUP(FOLL_WRITE) of page 0: P's own copy
 *  P:  |w P . . . w . .|   GUP(FOLL_WRITE|FOLL_NOWAIT) of page 5, a hole
 *                          in the file: a new private page
 */
static void foll_write_breaks_cow(void)
{
	struct hw_page_info pi, ai;
	struct hw_page *p[2];
	const char *pol;
	unsigned long fp;
	uint64_t t;

	for_each_policy(pol) {
		struct world w = setup(pol, HW_VIOLATION_RECORD);
		struct hw_mm *pm = hw_mm_create(w.sys, "P");

		CHECK(pm);
		CHECK_EQ(hw_mmap(pm, 2 * G, 8 * HP, RW,
				 MAP_PRIVATE, w.f, 0), 0);
		check_pages(pm, 2 * G, 2, 0x100);
		pi = follow(pm, 2 * G);
		ai = follow(w.a, G);
		CHECK(pi.present && !pi.writable);
		CHECK_EQ(pi.pfn, ai.pfn);

		/* a read pin takes the file's page as it is */
		CHECK_EQ(hw_get_user_pages(pm, 2 * G, 1, 0, p), 1);
		CHECK_EQ(hw_page_pfn(p[0]), ai.pfn);
		hw_unpin_user_pages(p, 1);

		/* a write pin copies it */
		fp = faults(pm);
		CHECK_EQ(hw_get_user_pages(pm, 2 * G, 1, HW_FOLL_WRITE, p), 1);
		CHECK_EQ(faults(pm), fp + 1);
		pi = follow(pm, 2 * G);
		CHECK(pi.present && pi.writable);
		CHECK_EQ(hw_page_pfn(p[0]), pi.pfn);
		CHECK(pi.pfn != ai.pfn);
		CHECK_EQ(hw_page_tag(p[0]), 0x100);
		CHECK_EQ(follow(w.a, G).pfn, ai.pfn);

		/* the pin is what P now writes; A's page is untouched */
		t = 0x555;
		CHECK_EQ(hw_access(pm, 2 * G, true, &t), 0);
		CHECK_EQ(hw_page_tag(p[0]), 0x555);
		check_pages(w.a, G, 1, 0x100);
		hw_unpin_user_pages(p, 1);

		/*
		 * page 5 never touched, nothing in the file: a new page; a
		 * fault that need not sleep is taken even under NOWAIT
		 */
		CHECK_EQ(hw_get_user_pages(pm, 2 * G + 5 * HP, 1, HW_FOLL_WRITE |
					   HW_FOLL_NOWAIT, p + 1), 1);
		CHECK_EQ(faults(pm), fp + 2);
		pi = follow(pm, 2 * G + 5 * HP);
		CHECK(pi.writable);
		CHECK_EQ(hw_page_pfn(p[1]), pi.pfn);
		CHECK_EQ(hw_page_tag(p[1]), 0);
		CHECK(!follow(w.a, G + 5 * HP).present);
		hw_unpin_user_pages(p + 1, 1);
		teardown(&w);
	}
}

/* ---- userfaults: sleeping in GUP, and FOLL_NOWAIT ---------------------- */

#define WAIT_MS		5000

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The next fault event of @u, failing after WAIT_MS without one. */
static struct hw_uffd_msg next_event(struct hw_uffd *u)
{
	struct hw_uffd_msg msg;
	int waited;

	for (waited = 0; hw_uffd_read(u, &msg, true) == -EAGAIN; waited++) {
		CHECK_MSG(waited < WAIT_MS, "no fault event in %d ms", WAIT_MS);
		sleep_ms(1);
	}
	return msg;
}

/* A task of A that pins, populates and reads pages of a MISSING range. */
struct sleeper {
	struct world *w;
	struct hw_page *page;
	long gup, readv;
	int populate;
	uint64_t tag;
	pthread_t thread;
};

static void *sleeper_fn(void *arg)
{
	struct sleeper *t = arg;
	struct hw_mm *a = t->w->a;

	CHECK_EQ(hw_task_enter(t->w->sys, "A-gup"), 0);
	t->gup = hw_get_user_pages(a, G + 4 * HP, 1, 0, &t->page);
	t->populate = hw_madvise(a, G + 5 * HP, HP, MADV_POPULATE_READ);
	t->readv = hw_process_vm_readv(a, G + 6 * HP, 1, &t->tag);
	hw_task_exit();
	return NULL;
}

/*
 *            1G            2G
 *  A:        |== f[0,1) ==|      registered MISSING with userfaultfd u
 *  A:  |P . P P u u u . ...|   page 1 dropped, still in the file; pages
 *                              4.. not in the file: a fault there is a
 *                              userfault, which sleeps until u answers
 * FOLL_NOWAIT faults page 1 back in (no sleep needed) and stops at page
 * 4 without queueing an event.  Without it, GUP of page 4 sleeps with
 * A's mmap_lock dropped, the monitor copies the page in, and GUP takes
 * the lock again and pins it; MADV_POPULATE_READ of page 5 and
 * process_vm_readv of page 6 likewise.
 */
static void foll_nowait_stops_where_a_fault_would_sleep(void)
{
	struct hw_uffd_msg msg;
	struct timespec dl;
	struct sleeper t;
	struct hw_page *p[6];
	struct hw_uffd *u;
	const char *pol;
	unsigned long fa;
	int k;

	for_each_policy(pol) {
		struct world w = setup(pol, HW_VIOLATION_RECORD);

		u = hw_uffd_create(w.a);
		CHECK(u);
		CHECK_EQ(hw_uffd_register(u, G, G,
					  HW_UFFDIO_REGISTER_MODE_MISSING), 0);
		CHECK_EQ(hw_madvise(w.a, G + HP, HP, MADV_DONTNEED), 0);
		CHECK(!follow(w.a, G + HP).present);
		fa = faults(w.a);

		CHECK_EQ(hw_get_user_pages(w.a, G, 6, HW_FOLL_NOWAIT, p), 4);
		CHECK_EQ(faults(w.a), fa + 1);
		check_pinned(w.a, G, p, 4, 0x100);
		hw_unpin_user_pages(p, 4);
		CHECK_EQ(hw_get_user_pages(w.a, G + 4 * HP, 2, HW_FOLL_NOWAIT,
					   p), 0);
		CHECK_EQ(hw_uffd_read(u, &msg, true), -EAGAIN);
		CHECK(!follow(w.a, G + 4 * HP).present);

		t = (struct sleeper){ .w = &w };
		CHECK(!pthread_create(&t.thread, NULL, sleeper_fn, &t));
		for (k = 0; k < 3; k++) {
			msg = next_event(u);
			CHECK_EQ(msg.address, G + (4 + k) * HP);
			CHECK_EQ(hw_uffd_copy(u, msg.address, 0x400 + k, 0), 0);
		}
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += WAIT_MS / 1000;
		CHECK_MSG(!pthread_timedjoin_np(t.thread, NULL, &dl),
			  "GUP still asleep after the copies");
		CHECK_EQ(t.gup, 1);
		CHECK_EQ(hw_page_tag(t.page), 0x400);
		CHECK_EQ(hw_page_pfn(t.page), follow(w.a, G + 4 * HP).pfn);
		hw_unpin_user_pages(&t.page, 1);
		CHECK_EQ(t.populate, 0);
		CHECK_EQ(follow(w.a, G + 5 * HP).tag, 0x401);
		CHECK_EQ(t.readv, 1);
		CHECK_EQ(t.tag, 0x402);
		/*
		 * A fault that answered VM_FAULT_RETRY is not counted, and
		 * the retry found the page that UFFDIO_COPY mapped.
		 */
		CHECK_EQ(faults(w.a), fa + 1);
		hw_uffd_close(u);
		teardown(&w);
	}
}

/*
 *  A:  |P P . P|    as above
 * GUP-fast pins 0 and 1 locklessly and stops at 2; the slow path
 * faults 2 in and pins 2 and 3.  FAST_ONLY stops at 2.  Once every page
 * is present, the lockless walk pins them all without a fault.
 */
static void gup_fast_pins_present_and_falls_back(void)
{
	struct hw_page *p[4];
	unsigned long fa, nr_fast;
	const char *pol;

	for_each_policy(pol) {
		struct world w = setup(pol, HW_VIOLATION_RECORD);

		CHECK_EQ(hw_madvise(w.a, G + 2 * HP, HP, MADV_DONTNEED), 0);
		fa = faults(w.a);

		CHECK_EQ(hw_get_user_pages_fast(w.a, G, 4, HW_FOLL_FAST_ONLY, p,
						&nr_fast), 2);
		CHECK_EQ(nr_fast, 2);
		CHECK_EQ(faults(w.a), fa);
		check_pinned(w.a, G, p, 2, 0x100);
		hw_unpin_user_pages(p, 2);

		CHECK_EQ(hw_get_user_pages_fast(w.a, G, 4, 0, p, &nr_fast), 4);
		CHECK_EQ(nr_fast, 2);
		CHECK_EQ(faults(w.a), fa + 1);
		check_pinned(w.a, G, p, 4, 0x100);
		hw_unpin_user_pages(p, 4);

		/* A: |P P P P| */
		CHECK_EQ(hw_get_user_pages_fast(w.a, G, 4, HW_FOLL_WRITE, p,
						&nr_fast), 4);
		CHECK_EQ(nr_fast, 4);
		CHECK_EQ(faults(w.a), fa + 1);
		check_pinned(w.a, G, p, 4, 0x100);
		hw_unpin_user_pages(p, 4);

		/* B has no table yet: nothing for the lockless walk */
		CHECK_EQ(hw_get_user_pages_fast(w.b, 2 * G, 4,
						HW_FOLL_FAST_ONLY, p, &nr_fast),
			 0);
		CHECK_EQ(hw_get_user_pages_fast(w.b, 2 * G, 4, 0, p, &nr_fast),
			 4);
		CHECK_EQ(nr_fast, 0);
		check_pinned(w.b, 2 * G, p, 4, 0x100);
		hw_unpin_user_pages(p, 4);

		/* errors come from the slow path */
		CHECK_EQ(hw_get_user_pages_fast(w.a, 5 * G, 1, 0, p, &nr_fast),
			 -EFAULT);
		CHECK_EQ(hw_get_user_pages_fast(w.a, G, 1, HW_FOLL_NOWAIT, p,
						NULL), -EINVAL);
		CHECK_EQ(hw_get_user_pages_fast(w.a, G, 1, 0, NULL, NULL),
			 -EINVAL);
		teardown(&w);
	}
}

/*
 *            1G            2G
 *  P:                      |~ f[0,4p) ~|    rw, private, page 0 read
 * GUP-fast wants a writable entry for FOLL_WRITE: the file's page mapped
 * read-only is left to the slow path, which breaks COW.
 */
static void gup_fast_write_leaves_cow_to_slow_path(void)
{
	unsigned long nr_fast;
	struct hw_page *p[1];
	const char *pol;

	for_each_policy(pol) {
		struct world w = setup(pol, HW_VIOLATION_RECORD);
		struct hw_mm *pm = hw_mm_create(w.sys, "P");

		CHECK_EQ(hw_mmap(pm, 2 * G, 4 * HP, RW,
				 MAP_PRIVATE, w.f, 0), 0);
		check_pages(pm, 2 * G, 1, 0x100);
		CHECK_EQ(hw_get_user_pages_fast(pm, 2 * G, 1, HW_FOLL_WRITE, p,
						&nr_fast), 1);
		CHECK_EQ(nr_fast, 0);
		CHECK(hw_page_pfn(p[0]) != follow(w.a, G).pfn);
		CHECK_EQ(hw_page_pfn(p[0]), follow(pm, 2 * G).pfn);
		hw_unpin_user_pages(p, 1);
		teardown(&w);
	}
}

/*
 *            1G            2G
 *  A:        |== f[0,1) ==|
 *  B:                      |== f[0,1) ==|   one table, shared
 *  f:  |P P P P|    page 2 pinned by A, then punched out of the file
 *  f:  |P P . P|    A and B no longer map it; the pin keeps the folio
 * The punched folio holds only the pin's reference; it goes back to the
 * pool when unpinned.
 */
static void pin_keeps_folio_across_punch(void)
{
	struct hw_page *p[1];
	unsigned long free0;
	const char *pol;
	uint64_t t;

	for_each_policy(pol) {
		struct world w = setup(pol, HW_VIOLATION_RECORD);

		check_pages(w.b, 2 * G, 4, 0x100);
		CHECK_EQ(meminfo(w.sys).shared_pmds, 1);
		CHECK_EQ(hw_get_user_pages(w.a, G + 2 * HP, 1, 0, p), 1);
		CHECK_EQ(hw_page_refcount(p[0]), 3);
		free0 = meminfo(w.sys).hugepages_free;

		CHECK_EQ(hw_fallocate(w.f, HW_FALLOC_PUNCH_HOLE |
				      HW_FALLOC_KEEP_SIZE, 2 * HP, HP), 0);
		show(w.sys, "page 2 punched while pinned");
		CHECK(!follow(w.a, G + 2 * HP).present);
		CHECK(!follow(w.b, 2 * G + 2 * HP).present);
		CHECK_EQ(hw_page_refcount(p[0]), 1);
		CHECK_EQ(hw_page_tag(p[0]), 0x102);
		CHECK_EQ(meminfo(w.sys).hugepages_free, free0);

		hw_unpin_user_pages(p, 1);
		CHECK_EQ(meminfo(w.sys).hugepages_free, free0 + 1);
		check_invariants(w.sys);

		/* the file's page 2 is a hole now: a new zeroed page */
		CHECK_EQ(hw_access(w.b, 2 * G + 2 * HP, false, &t), 0);
		CHECK_EQ(t, 0);
		CHECK_EQ(meminfo(w.sys).hugepages_free, free0);
		teardown(&w);
	}
}

/*
 *            1G
 *  P:        |~ f[0,4p) ~|   rw, private, NORESERVE: page 0 written
 * P exits; its copy would be freed with it, but a pin holds it.
 *
 * With a reservation (the second round), the owner's unmap gives page
 * 0's reservation back to the VMA and marks the folio to re-credit it
 * when freed (hugetlb_unmap_restore_reserve()); the VMA's close then
 * returns all four before the pinned folio is freed, and the kernel's
 * HugePages_Rsvd wraps below zero until the unpin.  The model keeps the
 * shortfall as a debt, and shows Rsvd as the kernel does: -1, wrapped
 * (the running kernel agrees: hugewalk diff); 0 again after the unpin.
 */
static void pin_keeps_private_page_across_exit(void)
{
	struct hw_system *sys;
	struct hw_page *p[1];
	unsigned long free0;
	const char *pol;
	int noreserve;

	for (noreserve = 0; noreserve < 2; noreserve++)
	for_each_policy(pol) {
		struct hw_file *f;
		struct hw_mm *pm;

		sys = boot(16, pol);
		f = hw_memfd_create(sys, "f");
		pm = hw_mm_create(sys, "P");
		CHECK(f && pm && !hw_ftruncate(f, 4 * HP));
		CHECK_EQ(hw_mmap(pm, G, 4 * HP, RW, MAP_PRIVATE |
				 (noreserve ? MAP_NORESERVE : 0), f, 0), 0);
		CHECK_EQ(meminfo(sys).hugepages_rsvd, noreserve ? 0 : 4);
		write_pages(pm, G, 1, 0x77);
		CHECK_EQ(hw_get_user_pages(pm, G, 1, HW_FOLL_WRITE, p), 1);
		CHECK_EQ(hw_page_refcount(p[0]), 2);
		free0 = meminfo(sys).hugepages_free;
		hw_exit(pm);
		CHECK_EQ(hw_page_refcount(p[0]), 1);
		CHECK_EQ(hw_page_tag(p[0]), 0x77);
		CHECK_EQ(meminfo(sys).hugepages_free, free0);
		CHECK_EQ(meminfo(sys).hugepages_rsvd,
			 noreserve ? 0 : (unsigned long)-1);
		hw_unpin_user_pages(p, 1);
		CHECK_EQ(meminfo(sys).hugepages_free, free0 + 1);
		CHECK_EQ(meminfo(sys).hugepages_rsvd, 0);
		check_invariants(sys);
		hw_system_destroy(sys);
	}
}

/*
 *            1G
 *  A:        |== f[0,2p) ==|   shared, page 0 faulted, then PROT_NONE
 * The entry stays (the page is mapped) but GUP-fast must not pin it,
 * and the slow path refuses the VMA.
 */
static void prot_none_is_not_pinned(void)
{
	struct hw_system *sys;
	struct hw_page *p[1];
	unsigned long nr_fast;
	const char *pol;

	for_each_policy(pol) {
		struct hw_file *f;
		struct hw_mm *a;

		sys = boot(16, pol);
		f = hw_memfd_create(sys, "f");
		a = hw_mm_create(sys, "A");
		CHECK(f && a && !hw_ftruncate(f, 2 * HP));
		CHECK_EQ(hw_mmap(a, G, 2 * HP, RW, MAP_SHARED, f, 0), 0);
		write_pages(a, G, 1, 0x55);
		CHECK_EQ(hw_mprotect(a, G, 2 * HP, PROT_NONE), 0);
		CHECK(hw_get_user_pages_fast(a, G, 1, HW_FOLL_FAST_ONLY, p,
					     &nr_fast) <= 0);
		CHECK(hw_get_user_pages(a, G, 1, 0, p) < 0);
		CHECK_EQ(hw_mprotect(a, G, 2 * HP, PROT_READ), 0);
		CHECK_EQ(hw_get_user_pages_fast(a, G, 1, HW_FOLL_FAST_ONLY, p,
						&nr_fast), 1);
		CHECK_EQ(hw_page_tag(p[0]), 0x55);
		hw_unpin_user_pages(p, 1);
		check_invariants(sys);
		hw_system_destroy(sys);
	}
}

/*
 *            1G            2G
 *  A:        |== f[0,1) ==|                 shared: tags 0x100 + i
 *  A:                                   |~ f[0,20p) ~|  3G, private
 *  A:  3G: |w w ... w|     A wrote its own copies: tags 0x900 + i
 * Another task reads A's memory: the shared pages, A's private copies
 * (not the file's), in batches, faulting in what A never touched.
 */
static void process_vm_readv_reads_another_mm(void)
{
	uint64_t tags[24];
	const char *pol;
	unsigned long fa, fb;
	int i;

	for_each_policy(pol) {
		struct world w = setup(pol, HW_VIOLATION_RECORD);

		CHECK_EQ(hw_mmap(w.a, 3 * G, 20 * HP, RW,
				 MAP_PRIVATE, w.f, 0), 0);
		write_pages(w.a, 3 * G, 20, 0x900);

		CHECK_EQ(hw_process_vm_readv(w.a, G, 4, tags), 4);
		for (i = 0; i < 4; i++)
			CHECK_EQ(tags[i], 0x100 + i);
		/* more than one batch of pins */
		CHECK_EQ(hw_process_vm_readv(w.a, 3 * G, 20, tags), 20);
		for (i = 0; i < 20; i++)
			CHECK_EQ(tags[i], 0x900 + i);
		/* B's view is the file's */
		CHECK_EQ(hw_process_vm_readv(w.b, 2 * G, 4, tags), 4);
		CHECK_EQ(tags[3], 0x103);

		/* page 4 of A never touched: faulted in for the read */
		fa = faults(w.a);
		CHECK_EQ(hw_process_vm_readv(w.a, G + 4 * HP, 1, tags), 1);
		CHECK_EQ(tags[0], 0);
		CHECK_EQ(faults(w.a), fa + 1);
		/*
		 * ... counted as A's by the plain call (pre-5.9 Linux), as
		 * the caller's by _from(), like mm_account_fault() now.
		 */
		fb = faults(w.b);
		CHECK_EQ(hw_process_vm_readv_from(w.b, w.a, G + 5 * HP, 1,
						  tags), 1);
		CHECK_EQ(faults(w.a), fa + 1);
		CHECK_EQ(faults(w.b), fb + 1);

		/* off the end: what was read; nothing read: -EFAULT */
		CHECK_EQ(hw_process_vm_readv(w.a, 3 * G + 18 * HP, 4, tags), 2);
		CHECK_EQ(tags[1], 0x900 + 19);
		CHECK_EQ(hw_process_vm_readv(w.a, 5 * G, 1, tags), -EFAULT);
		teardown(&w);
	}
}

/*
 *  A:  |P P P P . . . .|   MADV_POPULATE_* goes through GUP
 */
static void madv_populate_is_gup(void)
{
	const char *pol;
	unsigned long fa;

	for_each_policy(pol) {
		struct world w = setup(pol, HW_VIOLATION_RECORD);

		fa = faults(w.a);
		CHECK_EQ(hw_madvise(w.a, G, 8 * HP, MADV_POPULATE_WRITE), 0);
		CHECK_EQ(faults(w.a), fa + 4);
		CHECK(follow(w.a, G + 7 * HP).present);
		CHECK_EQ(hw_madvise(w.a, G, 8 * HP, MADV_POPULATE_READ), 0);
		CHECK_EQ(faults(w.a), fa + 4);
		/* a hole in the range; an access the mapping forbids */
		CHECK_EQ(hw_madvise(w.a, 2 * G - HP, 2 * HP,
				    MADV_POPULATE_READ), -ENOMEM);
		CHECK_EQ(hw_mprotect(w.a, G, HP, PROT_READ), 0);
		CHECK_EQ(hw_madvise(w.a, G, HP, MADV_POPULATE_WRITE), -EINVAL);
		CHECK_EQ(hw_madvise(w.a, G, HP, MADV_POPULATE_READ), 0);
		teardown(&w);
	}
}

/* How many unprotected walks hw_violations() lists for @site. */
static unsigned long site_count(struct hw_system *sys, const char *site)
{
	char *buf = NULL, *line, *save, name[64];
	unsigned long n, found = 0;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f);
	hw_violations(sys, f);
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%63s %lu", name, &n) == 2 &&
		    !strcmp(name, site))
			found = n;
	free(buf);
	return found;
}

static bool exposes_follow_sites(const char *pol)
{
	return !strcmp(pol, "v6.1") || !strcmp(pol, "unprotected");
}

/*
 *            1G            2G
 *  A:        |== f[0,1) ==|
 *  B:                      |== f[0,1) ==|   one table, shared
 *  A:  |P P P P . ...|
 * GUP of pages 0..4 walks five times at follow_hugetlb_page, plus once
 * more for page 4 after its fault; follow_page and move_pages walk once
 * each at hugetlb_follow_page_mask; GUP-fast never calls hugetlb_walk().
 * v6.1 and unprotected leave those sites bare: every walk is counted.
 * rfc, rfc-late-dtor, v6.3 and v6.16 protect them: none is.
 */
static void walk_rule_counts_exposed_gup_sites(void)
{
	unsigned long nr_fast;
	struct hw_page *p[5];
	const char *pol;
	bool exposed;

	for_each_policy(pol) {
		struct world w = setup(pol, HW_VIOLATION_RECORD);

		check_pages(w.b, 2 * G, 1, 0x100);
		CHECK_EQ(meminfo(w.sys).shared_pmds, 1);
		exposed = exposes_follow_sites(pol);
		CHECK_EQ(site_count(w.sys, "follow_hugetlb_page"), 0);
		CHECK_EQ(site_count(w.sys, "hugetlb_follow_page_mask"), 0);

		CHECK_EQ(hw_get_user_pages(w.a, G, 5, 0, p), 5);
		hw_unpin_user_pages(p, 5);
		CHECK_EQ(site_count(w.sys, "follow_hugetlb_page"),
			 exposed ? 6 : 0);

		CHECK_EQ(hw_get_user_pages_fast(w.a, G, 5, 0, p, &nr_fast), 5);
		CHECK_EQ(nr_fast, 5);
		hw_unpin_user_pages(p, 5);
		CHECK_EQ(site_count(w.sys, "gup_fast"), 0);
		CHECK_EQ(site_count(w.sys, "follow_hugetlb_page"),
			 exposed ? 6 : 0);

		follow(w.a, G);
		CHECK_EQ(hw_move_pages(w.a, G + HP), 0);
		CHECK_EQ(site_count(w.sys, "hugetlb_follow_page_mask"),
			 exposed ? 2 : 0);
		teardown(&w);
	}
}

/*
 *  A:  |P P P P|   move_pages(2) of page 1 finds it with follow_page:
 * the data moves to another folio, both A and B see it there.  While
 * page 1 is pinned it cannot move: the pin holder would keep using the
 * old folio.
 */
static void move_pages_finds_page_with_follow_page(void)
{
	struct hw_page_info before, after;
	struct hw_page *p[1];
	const char *pol;

	for_each_policy(pol) {
		struct world w = setup(pol, HW_VIOLATION_RECORD);

		check_pages(w.b, 2 * G, 4, 0x100);
		before = follow(w.a, G + HP);
		CHECK_EQ(hw_get_user_pages(w.a, G + HP, 1, 0, p), 1);
		CHECK(hw_move_pages(w.a, G + HP) < 0);
		/* rmap may have unshared A's table: A faults back in */
		check_pages(w.a, G, 4, 0x100);
		CHECK_EQ(follow(w.a, G + HP).pfn, before.pfn);
		CHECK_EQ(follow(w.b, 2 * G + HP).pfn, before.pfn);
		CHECK_EQ(hw_page_refcount(p[0]), 3);
		hw_unpin_user_pages(p, 1);
		check_invariants(w.sys);

		CHECK_EQ(hw_move_pages(w.a, G + HP), 0);
		check_pages(w.a, G, 4, 0x100);
		check_pages(w.b, 2 * G, 4, 0x100);
		after = follow(w.b, 2 * G + HP);
		CHECK(after.present);
		CHECK(after.pfn != before.pfn);
		CHECK_EQ(follow(w.a, G + HP).pfn, after.pfn);
		CHECK_EQ(hw_move_pages(w.a, G + 8 * HP), -ENOENT);
		CHECK_EQ(hw_follow_page(w.a, 5 * G, &after), -EFAULT);
		CHECK(!after.present);
		teardown(&w);
	}
}

/* ---- against unsharers, on real threads ---------------------------------- */

struct race {
	struct world w;
	bool slow;		/* the slow path is safe under this policy */
	int stop;
	unsigned long fast, pinned;
};

static bool race_stopped(struct race *r)
{
	return __atomic_load_n(&r->stop, __ATOMIC_RELAXED);
}

/* A's pinner: GUP-fast over pages 0..7, and the slow path if safe. */
static void *pinner_fn(void *arg)
{
	struct race *r = arg;
	unsigned long nr_fast;
	struct hw_page *p[8];
	int i;

	CHECK_EQ(hw_task_enter(r->w.sys, "A-gup"), 0);
	/* At least a few rounds, however late a loaded machine runs us. */
	while (!race_stopped(r) || r->pinned < 64) {
		CHECK_EQ(hw_get_user_pages_fast(r->w.a, G, 8, 0, p, &nr_fast),
			 8);
		for (i = 0; i < 8; i++)
			CHECK_EQ(hw_page_tag(p[i]), 0x100 + i);
		hw_unpin_user_pages(p, 8);
		r->fast += nr_fast;
		r->pinned += 8;
		if (!r->slow)
			continue;
		CHECK_EQ(hw_get_user_pages(r->w.a, G, 8, 0, p), 8);
		for (i = 0; i < 8; i++)
			CHECK_EQ(hw_page_tag(p[i]), 0x100 + i);
		hw_unpin_user_pages(p, 8);
	}
	hw_task_exit();
	return NULL;
}

/* A's other thread: MADV_DONTNEED, which unshares A's table. */
static void *dontneed_fn(void *arg)
{
	struct race *r = arg;
	int i = 0;

	CHECK_EQ(hw_task_enter(r->w.sys, "A-dontneed"), 0);
	while (!race_stopped(r))
		CHECK_EQ(hw_madvise(r->w.a, G + (i++ % 8) * HP, HP,
				    MADV_DONTNEED), 0);
	hw_task_exit();
	return NULL;
}

/*
 *            1G            2G
 *  A:        |== f[0,1) ==|      pinner: GUP-fast (+ slow) of pages 0..7
 *                                 dontneed: unshares A's table
 *  B:                      |== f[0,1) ==|   shares, then unmaps: when A
 *                                           has left, B frees the table
 * The series' reproducer with GUP as the walker, on real threads.
 * Tables are freed after a grace period and GUP-fast reads them in an
 * RCU section: it never meets a freed table (the accessors would report
 * KASAN) under any policy that frees through RCU; the slow path is run
 * too where the policy protects its walk and the ptl outlives it.
 * Every pin must hold the file's data.
 */
static void pins_race_with_unshare_and_free(void)
{
	static const char *const slow_ok[] = { "v6.3", "v6.16",
					       "rfc-late-dtor" };
	pthread_t th[2];
	const char *pol;
	unsigned int k;
	int i;

	for_each_policy(pol) {
		struct race r = { 0 };

		if (!strcmp(pol, "unprotected"))
			continue;	/* frees at once: exposed by design */
		r.w = setup(pol, HW_VIOLATION_RECORD);
		write_pages(r.w.a, G + 4 * HP, 4, 0x104);
		for (k = 0; k < ARRAY_SIZE(slow_ok); k++)
			r.slow |= !strcmp(pol, slow_ok[k]);
		CHECK(!pthread_create(&th[0], NULL, pinner_fn, &r));
		CHECK(!pthread_create(&th[1], NULL, dontneed_fn, &r));
		for (i = 0; i < 300; i++) {
			check_pages(r.w.b, 2 * G + (i % 8) * HP, 1,
				    0x100 + i % 8);
			CHECK_EQ(hw_munmap(r.w.b, 2 * G, G), 0);
			CHECK_EQ(hw_mmap(r.w.b, 2 * G, G, RW,
					 MAP_SHARED, r.w.f, 0), 0);
		}
		__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
		pthread_join(th[0], NULL);
		pthread_join(th[1], NULL);
		tap_diag("%s: %lu pages pinned, %lu by GUP-fast", pol,
			 r.pinned, r.fast);
		CHECK(r.pinned > 0);
		teardown(&r.w);
	}
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(gup_pins_what_the_owner_maps),
		TAP_TEST(gup_errors_and_partial_ranges),
		TAP_TEST(gup_sigbus_is_efault),
		TAP_TEST(foll_write_breaks_cow),
		TAP_TEST(foll_nowait_stops_where_a_fault_would_sleep),
		TAP_TEST(gup_fast_pins_present_and_falls_back),
		TAP_TEST(gup_fast_write_leaves_cow_to_slow_path),
		TAP_TEST(pin_keeps_folio_across_punch),
		TAP_TEST(pin_keeps_private_page_across_exit),
		TAP_TEST(process_vm_readv_reads_another_mm),
		TAP_TEST(madv_populate_is_gup),
		TAP_TEST(walk_rule_counts_exposed_gup_sites),
		TAP_TEST(move_pages_finds_page_with_follow_page),
		TAP_TEST(pins_race_with_unshare_and_free),
		TAP_TEST(prot_none_is_not_pinned),
	};

	return tap_main(tests, ARRAY_SIZE(tests), 60);
}
