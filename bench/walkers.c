// SPDX-License-Identifier: MIT
/*
 * make bench: what each protection costs the walkers.  For each policy
 * and each walker call site, 1 and 2 threads of mm A walk one shared
 * VMA as fast as they can for a fixed time, while a thread of mm C maps
 * the same file and unshares and re-shares its table in a loop
 * (MADV_DONTNEED of a page, then a read).  Then the cost of the last
 * user's munmap of a shared 1 GiB range when tables are freed at once,
 * through call_rcu(), or after synchronize_rcu().
 *
 * The question is the series reviewers': what does taking the vma lock
 * on every walk cost, against an RCU read section?  Throughputs are
 * also given as a ratio to the unprotected walk measured in this run.
 * Writes build/bench-walkers.json.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hugewalk/hugewalk.h>

#include "bench.h"

#define G		(1ULL << 30)
#define HP		(2ULL << 20)
#define PAGES		64		/* pages the walkers touch */
#define RUN_SEC		0.25
#define MAX_POLICIES	8

enum site { S_GUP, S_FOLLOW, S_GUP_FAST, S_PAGEMAP, S_RMAP, NR_S };

static const char *const site_names[NR_S] = {
	"follow_hugetlb_page", "hugetlb_follow_page_mask", "gup_fast",
	"walk_hugetlb_range", "page_vma_mapped_walk",
};

struct run {
	struct hw_system *sys;
	struct hw_mm *a, *c;
	enum site site;
	volatile int stop;
	unsigned long ops[2];
};

struct arg {
	struct run *r;
	int id;
};

static void walk_once(struct run *r, unsigned long i)
{
	uint64_t addr = G + (i % PAGES) * HP, pm[1];
	struct hw_page *p[1];
	struct hw_page_info info;
	unsigned long nr_fast;

	switch (r->site) {
	case S_GUP:
		if (hw_get_user_pages(r->a, addr, 1, 0, p) != 1)
			die("gup");
		hw_unpin_user_pages(p, 1);
		break;
	case S_FOLLOW:
		if (hw_follow_page(r->a, addr, &info))
			die("follow_page");
		break;
	case S_GUP_FAST:
		if (hw_get_user_pages_fast(r->a, addr, 1, 0, p, &nr_fast) != 1)
			die("gup_fast");
		hw_unpin_user_pages(p, 1);
		break;
	case S_PAGEMAP:
		if (hw_pagemap(r->a, addr, 1, pm) < 0)
			die("pagemap");
		break;
	case S_RMAP:
		if (hw_folio_referenced(r->a, addr) < 0)
			die("folio_referenced");
		break;
	default:
		break;
	}
}

static void *walker(void *p)
{
	struct arg *a = p;
	struct run *r = a->r;
	unsigned long i = a->id * 7;

	if (hw_task_enter(r->sys, "walker"))
		die("hw_task_enter");
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED))
		walk_once(r, i++);
	r->ops[a->id] = i - a->id * 7;
	hw_task_exit();
	return NULL;
}

static void *unsharer(void *p)
{
	struct run *r = p;
	uint64_t t;

	if (hw_task_enter(r->sys, "unsharer"))
		die("hw_task_enter");
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		hw_madvise(r->c, 3 * G, HP, MADV_DONTNEED);
		hw_access(r->c, 3 * G, false, &t);
	}
	hw_task_exit();
	return NULL;
}

/* Walks per second of @site under @policy with @threads walkers. */
static double walk_rate(const char *policy, enum site site, int threads)
{
	struct hw_system_opts o = { .nr_hugepages = 1024, .policy = policy,
				    .violations = HW_VIOLATION_RECORD };
	struct run r = { .site = site };
	struct arg args[2] = { { &r, 0 }, { &r, 1 } };
	pthread_t w[2], u;
	struct hw_file *f;
	uint64_t t = 1;
	double t0, dt;
	int i;

	r.sys = hw_system_create(&o);
	if (!r.sys)
		die("hw_system_create");
	f = hw_memfd_create(r.sys, "f");
	r.a = hw_mm_create(r.sys, "A");
	r.c = hw_mm_create(r.sys, "C");
	if (!f || !r.a || !r.c || hw_ftruncate(f, G) ||
	    hw_mmap(r.a, G, G, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0) ||
	    hw_mmap(r.c, 3 * G, G, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0))
		die("setup");
	for (i = 0; i < PAGES; i++)
		if (hw_access(r.a, G + i * HP, true, &t))
			die("fault");
	if (hw_access(r.c, 3 * G, false, &t))
		die("share");

	pthread_create(&u, NULL, unsharer, &r);
	t0 = now();
	for (i = 0; i < threads; i++)
		pthread_create(&w[i], NULL, walker, &args[i]);
	while (now() - t0 < RUN_SEC)
		;
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < threads; i++)
		pthread_join(w[i], NULL);
	dt = now() - t0;
	pthread_join(u, NULL);
	hw_system_destroy(r.sys);
	return (r.ops[0] + (threads > 1 ? r.ops[1] : 0)) / dt;
}

/* ns for the last user's munmap of a shared 1 GiB range. */
static double munmap_cost(const char *mode)
{
	struct hw_system_opts o = { .nr_hugepages = 1024, .policy = "v6.3" };
	struct hw_system *sys = hw_system_create(&o);
	struct hw_file *f = sys ? hw_memfd_create(sys, "f") : NULL;
	struct hw_mm *a, *b;
	double total = 0, t0;
	uint64_t t = 1;
	int i, rounds = 30;

	if (!f || hw_ftruncate(f, G) || hw_system_set_table_free(sys, mode))
		die("munmap setup");
	for (i = 0; i < rounds; i++) {
		a = hw_mm_create(sys, "A");
		b = hw_mm_create(sys, "B");
		if (hw_mmap(a, G, G, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0) ||
		    hw_mmap(b, 2 * G, G, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0) ||
		    hw_access(a, G, true, &t) || hw_access(b, 2 * G, false, &t))
			die("munmap share");
		hw_munmap(a, G, G);
		t0 = now();
		hw_munmap(b, 2 * G, G);
		total += now() - t0;
		hw_exit(a);
		hw_exit(b);
	}
	hw_system_destroy(sys);
	return total / rounds * 1e9;
}

int main(void)
{
	const char *const *pol = hw_policy_names();
	static double rate[MAX_POLICIES][NR_S][2];
	static const char *const modes[] = { "now", "rcu", "sync" };
	double cost[3];
	int np, p, s, t;
	FILE *json;

	for (np = 0; pol[np] && np < MAX_POLICIES; np++)
		;
	printf("Walks per second on one shared VMA while another mm unshares and\n"
	       "re-shares in a loop (%.2f s a cell); x = ratio to unprotected\n\n",
	       RUN_SEC);
	printf("%-26s %-14s %14s %14s\n", "site", "policy", "1 thread", "2 threads");
	for (s = 0; s < NR_S; s++) {
		for (p = 0; p < np; p++) {
			for (t = 0; t < 2; t++)
				rate[p][s][t] = walk_rate(pol[p], s, t + 1);
			printf("%-26s %-14s %8.0fk %4.2fx %8.0fk %4.2fx\n",
			       p ? "" : site_names[s], pol[p],
			       rate[p][s][0] / 1e3, rate[p][s][0] / rate[0][s][0],
			       rate[p][s][1] / 1e3, rate[p][s][1] / rate[0][s][1]);
		}
	}
	printf("\nLast user's munmap of a shared 1 GiB range (v6.3 locking):\n");
	for (t = 0; t < 3; t++) {
		cost[t] = munmap_cost(modes[t]);
		printf("  tables freed %-5s %9.0f ns  %5.2fx\n", modes[t], cost[t],
		       cost[t] / cost[0]);
	}

	json = fopen("build/bench-walkers.json", "w");
	if (!json)
		die("writing build/bench-walkers.json");
	fprintf(json, "{\n  \"benchmark\": \"walkers\",\n  \"seconds_per_cell\": %.2f,\n  \"walks_per_second\": [\n",
		RUN_SEC);
	for (s = 0; s < NR_S; s++)
		for (p = 0; p < np; p++)
			fprintf(json, "    {\"site\": \"%s\", \"policy\": \"%s\", \"threads_1\": %.0f, \"threads_2\": %.0f}%s\n",
				site_names[s], pol[p], rate[p][s][0], rate[p][s][1],
				s == NR_S - 1 && p == np - 1 ? "" : ",");
	fprintf(json, "  ],\n  \"last_munmap_ns\": {\"now\": %.0f, \"call_rcu\": %.0f, \"synchronize_rcu\": %.0f}\n}\n",
		cost[0], cost[1], cost[2]);
	fclose(json);
	printf("\nwrote build/bench-walkers.json\n");
	return 0;
}
