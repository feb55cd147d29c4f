// SPDX-License-Identifier: MIT
/*
 * Real concurrency: four processes share one 1 GiB file, one thread
 * each, plus two reader threads; they fault, write, read, MADV_DONTNEED,
 * mprotect, munmap and map again, punch holes and populate, all at once,
 * for a few thousand operations each.  Then the invariants must hold.
 *
 *            1G            2G            3G            4G            5G
 *  P0:       |== f[0,1) ==|
 *  P1:                     |== f[0,1) ==|
 *  P2:                                   |== f[0,1) ==|
 *  P3:                                                 |== f[0,1) ==|
 *
 * Pages 0..383 hold data: page p belongs to thread p % 4, which alone
 * writes it, and must read back the last tag it wrote, whatever the
 * others did to the tables meanwhile.  Pages 384..511 are punched and
 * refaulted at will; nothing is promised about their contents.
 */
#include <errno.h>
#include <pthread.h>

#include "helpers.h"

#define NR_PROCS	4
#define DATA_PAGES	384
#define FILE_PAGES	512
#define OPS		20000

struct stress {
	struct hw_system *sys;
	struct hw_file *f;
	struct hw_mm *mm[NR_PROCS];
	volatile int stop;
};

struct worker {
	struct stress *s;
	int id;
	uint64_t seed;
	uint64_t last[DATA_PAGES];	/* tags this worker wrote */
	unsigned long ops[8];
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t base(int id)
{
	return (uint64_t)(id + 1) * G;
}

static int own_page(struct worker *w)
{
	return (int)(rnd(&w->seed) % (DATA_PAGES / NR_PROCS)) * NR_PROCS + w->id;
}

static int punch_page(struct worker *w)
{
	return DATA_PAGES + (int)(rnd(&w->seed) % (FILE_PAGES - DATA_PAGES));
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->s;
	struct hw_mm *mm = s->mm[w->id];
	uint64_t b = base(w->id), t;
	char name[16];
	int i, p, r;

	snprintf(name, sizeof(name), "worker%d", w->id);
	CHECK_EQ(hw_task_enter(s->sys, name), 0);
	for (i = 0; i < OPS; i++) {
		unsigned int op = rnd(&w->seed) % 100;

		if (op < 30) {			/* write an own page */
			p = own_page(w);
			t = (uint64_t)w->id << 56 | (uint64_t)i << 16 | p;
			CHECK_EQ(hw_access(mm, b + p * HP, true, &t), 0);
			w->last[p] = t;
			w->ops[0]++;
		} else if (op < 60) {		/* read one back */
			p = own_page(w);
			CHECK_EQ(hw_access(mm, b + p * HP, false, &t), 0);
			CHECK_MSG(t == w->last[p], "worker %d page %d: tag %#llx, last written %#llx",
				  w->id, p, (unsigned long long)t,
				  (unsigned long long)w->last[p]);
			w->ops[1]++;
		} else if (op < 70) {		/* MADV_DONTNEED: unshares */
			p = (int)(rnd(&w->seed) % FILE_PAGES);
			CHECK_EQ(hw_madvise(mm, b + p * HP, HP, MADV_DONTNEED), 0);
			w->ops[2]++;
		} else if (op < 74) {		/* mprotect there and back */
			CHECK_EQ(hw_mprotect(mm, b, G, PROT_READ), 0);
			CHECK_EQ(hw_mprotect(mm, b, G, PROT_READ | PROT_WRITE), 0);
			w->ops[3]++;
		} else if (op < 77) {		/* munmap all, map again */
			CHECK_EQ(hw_munmap(mm, b, G), 0);
			CHECK_EQ(hw_mmap(mm, b, G, PROT_READ | PROT_WRITE,
					 MAP_SHARED, s->f, 0), 0);
			w->ops[4]++;
		} else if (op < 87) {		/* punch a scratch page */
			p = punch_page(w);
			CHECK_EQ(hw_fallocate(s->f, HW_FALLOC_PUNCH_HOLE |
					      HW_FALLOC_KEEP_SIZE,
					      (uint64_t)p * HP, HP), 0);
			w->ops[5]++;
		} else if (op < 95) {		/* touch a scratch page */
			p = punch_page(w);
			t = p;
			r = hw_access(mm, b + p * HP, op & 1, &t);
			CHECK_MSG(r == 0, "scratch access: signal %d", r);
			w->ops[6]++;
		} else {			/* GUP over a few pages */
			p = punch_page(w);
			CHECK_EQ(hw_madvise(mm, b + p * HP, HP, MADV_POPULATE_WRITE), 0);
			w->ops[7]++;
		}
	}
	hw_task_exit();
	return NULL;
}

/* A thread of P0 or P1 reading scratch pages through GUP and loads. */
static void *reader_fn(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->s;
	struct hw_mm *mm = s->mm[w->id];
	uint64_t t;
	int p, r;

	CHECK_EQ(hw_task_enter(s->sys, "reader"), 0);
	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		p = punch_page(w);
		r = hw_madvise(mm, base(w->id) + p * HP, HP, MADV_POPULATE_READ);
		/* The worker of this mm may have it unmapped just now. */
		CHECK_MSG(r == 0 || r == -ENOMEM, "populate: %d", r);
		r = hw_access(mm, base(w->id) + p * HP, false, &t);
		CHECK_MSG(r == 0 || r == SIGSEGV, "read: signal %d", r);
		w->ops[0]++;
	}
	hw_task_exit();
	return NULL;
}

static void run(const char *policy)
{
	struct stress s = { 0 };
	struct worker w[NR_PROCS], rd[2];
	pthread_t th[NR_PROCS], rth[2];
	struct hw_meminfo mi;
	int i;

	s.sys = boot(1024, policy);
	s.f = hw_memfd_create(s.sys, "f");
	CHECK(s.f && !hw_ftruncate(s.f, G));
	for (i = 0; i < NR_PROCS; i++) {
		char name[4] = { 'P', '0' + i, 0 };

		s.mm[i] = hw_mm_create(s.sys, name);
		CHECK_EQ(hw_mmap(s.mm[i], base(i), G, PROT_READ | PROT_WRITE,
				 MAP_SHARED, s.f, 0), 0);
	}
	for (i = 0; i < NR_PROCS; i++) {
		w[i] = (struct worker){ .s = &s, .id = i, .seed = 0x9e3779b9 * (i + 1) };
		CHECK(!pthread_create(&th[i], NULL, worker_fn, &w[i]));
	}
	for (i = 0; i < 2; i++) {
		rd[i] = (struct worker){ .s = &s, .id = i, .seed = 77 + i };
		CHECK(!pthread_create(&rth[i], NULL, reader_fn, &rd[i]));
	}
	for (i = 0; i < NR_PROCS; i++)
		pthread_join(th[i], NULL);
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++)
		pthread_join(rth[i], NULL);

	tap_diag("%s: worker 0 did %lu writes, %lu reads, %lu dontneed, %lu mprotect, "
		 "%lu remaps, %lu punches; readers %lu + %lu", policy,
		 w[0].ops[0], w[0].ops[1], w[0].ops[2], w[0].ops[3],
		 w[0].ops[4], w[0].ops[5], rd[0].ops[0], rd[1].ops[0]);
	show(s.sys, "after the storm");
	check_invariants(s.sys);

	/* Everything written is still there, through every process. */
	for (i = 0; i < DATA_PAGES; i++)
		if (w[i % NR_PROCS].last[i])
			check_pages(s.mm[(i + 1) % NR_PROCS],
				    base((i + 1) % NR_PROCS) + i * HP, 1,
				    w[i % NR_PROCS].last[i]);

	for (i = 0; i < NR_PROCS; i++)
		hw_exit(s.mm[i]);
	hw_file_close(s.f);
	mi = meminfo(s.sys);
	CHECK_EQ(mi.pagetables, 0);
	CHECK_EQ(mi.shared_pmds, 0);
	CHECK_EQ(mi.hugepages_free, mi.hugepages_total);
	CHECK_EQ(mi.hugepages_rsvd, 0);
	hw_system_destroy(s.sys);
}

static void stress_v6_3(void)
{
	run("v6.3");
}

static void stress_v6_16(void)
{
	run("v6.16");
}

static void stress_rfc_late_dtor(void)
{
	run("rfc-late-dtor");
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(stress_v6_3),
		TAP_TEST(stress_v6_16),
		TAP_TEST(stress_rfc_late_dtor),
	};

	return tap_main(tests, ARRAY_SIZE(tests), 120);
}
