// SPDX-License-Identifier: MIT
/*
 * The race explorer (built against build/explore): its scheduler, RCU
 * model and strategies on small programs of its own, then the call-site
 * harnesses, each in the shape of the series' reproducer:
 *
 *            1G              2G              3G
 *  A:        |=== f[0,1G) ===|                      walker, unsharer
 *  B:                        |=== f[0,1G) ===|      last sharer
 *            one PMD table, pt_share_count 1; page 0 mapped
 *
 *  A:walker    goes through the call site
 *  A:unsharer  MADV_DONTNEED of page 0    A's PUD entry cleared
 *  B:munmap    munmap of B's 1G           B, the last user, frees it
 *
 * A use-after-free needs the walker to be preempted between its read
 * of A's PUD entry and its use of the table, the unshare and the free
 * to happen meanwhile, and (with RCU table freeing) the grace period to
 * end: one preemption.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check/check.h"
#include "tap.h"

static struct race_limits dfs_limits(int bound)
{
	return (struct race_limits){
		.strategy = RACE_DFS, .bound = bound, .max_seconds = 20,
	};
}

/* Explore @site under @policy; return the result. */
static struct race_result explore(const char *site, const char *policy,
				  bool mutant, const struct race_limits *lim)
{
	const struct race_harness *h = race_harness_find(site);
	struct race_engine e;
	struct race_result r;

	CHECK_MSG(h, "no harness %s", site);
	CHECK_EQ(race_engine_init(&e, h, policy, mutant), 0);
	CHECK_EQ(race_explore(&e, lim, &r), 0);
	tap_diag("%s under %s%s: %s after %lu schedules (%.3fs) %s", site,
		 policy, mutant ? "+broken-gp" : "",
		 race_finding_name(r.finding), r.schedules, r.seconds,
		 r.replay);
	race_engine_destroy(&e);
	return r;
}

/*
 * Run @fn(@i) for i < @n in child processes, as many at once as there
 * are CPUs: the cells of a table are independent.  A CHECK that fails in
 * a child ends it with status 1 and its diagnostic on stdout.
 */
static void in_parallel(void (*fn)(unsigned int i), unsigned int n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int i, running = 0, failed = 0;
	int status;

	fflush(stdout);
	for (i = 0; i < n || running; ) {
		if (i < n && running < (cpus > 0 ? cpus : 1)) {
			pid_t pid = fork();

			CHECK(pid >= 0);
			if (!pid) {
				fn(i);
				fflush(stdout);
				_exit(0);
			}
			running++;
			i++;
			continue;
		}
		CHECK(wait(&status) > 0);
		running--;
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	}
	CHECK_EQ(failed, 0);
}

/* ---- small programs: the scheduler itself ------------------------------- */

struct shared {
	struct mutex m;
	struct wait_queue_head wq;
	int x, done;
	/* RCU: readers follow ptr; the writer retires *ptr after a GP. */
	struct obj { int dead; struct hw_rcu_head rcu; } a, b, *ptr;
};

static const struct lock_class test_class = { "test_mutex", RANK_LEAF };

static int setup_shared(struct race_ctx *c, const char *policy)
{
	struct hw_system_opts o = { .policy = policy, .report = c->report };
	struct shared *s;

	c->sys = hw_system_create(&o);
	if (!c->sys)
		return -errno;
	/* Task state lives in the arena: every schedule starts afresh. */
	s = xs_calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	mutex_init(&s->m, &test_class);
	init_waitqueue_head(&s->wq);
	s->ptr = &s->a;
	c->priv = s;
	return 0;
}

/* x++ in two critical sections: a lost update needs one preemption. */
static void racy_inc(struct race_ctx *c)
{
	struct shared *s = c->priv;
	int v;

	mutex_lock(&s->m);
	v = s->x;
	mutex_unlock(&s->m);
	mutex_lock(&s->m);
	s->x = v + 1;
	BUG_ON(++s->done == 2 && s->x != 2);
	mutex_unlock(&s->m);
}

static const struct race_harness lost_update = {
	.name = "lost_update", .walker = "two tasks: x++ in two steps",
	.setup = setup_shared,
	.tasks = { { "inc1", racy_inc }, { "inc2", racy_inc } },
};

static struct race_result explore_h(const struct race_harness *h,
				    bool mutant, const struct race_limits *lim,
				    struct race_engine *keep)
{
	struct race_engine e;
	struct race_result r;

	CHECK_EQ(race_engine_init(&e, h, "v6.3", mutant), 0);
	CHECK_EQ(race_explore(&e, lim, &r), 0);
	tap_diag("%s%s: %s after %lu schedules, %d preemption(s) %s",
		 h->name, mutant ? " (broken gp)" : "",
		 race_finding_name(r.finding), r.schedules, r.preemptions,
		 r.replay);
	if (keep)
		*keep = e;
	else
		race_engine_destroy(&e);
	return r;
}

/*
 * Bound 0 runs each task to its end: no lost update.  Bound 1 finds it,
 * and the shrunk schedule has exactly one preemption.
 */
static void preemption_bound_finds_lost_update(void)
{
	struct race_limits lim = dfs_limits(0);
	struct race_engine e;
	struct race_replay rp;
	struct race_result r;

	r = explore_h(&lost_update, false, &lim, NULL);
	CHECK_EQ(r.finding, HW_FINDING_NONE);
	CHECK(r.exhaustive);
	lim.bound = 1;
	r = explore_h(&lost_update, false, &lim, &e);
	CHECK_EQ(r.finding, HW_FINDING_BUG);
	CHECK_EQ(r.preemptions, 1);
	CHECK_MSG(strstr(r.title, "kernel BUG"), "title: %s", r.title);
	/* The replay string reproduces it. */
	CHECK_EQ(race_replay_parse(r.replay, &rp), 0);
	CHECK_EQ(race_replay_run(&e, &rp, NULL, NULL, false), HW_FINDING_BUG);
	race_replay_free(&rp);
	race_engine_destroy(&e);
}

/* A wait that nobody ends: no task can run, one is blocked. */
static void wait_forever(struct race_ctx *c)
{
	struct shared *s = c->priv;

	wait_event(&s->wq, READ_ONCE(s->done));
}

static void do_nothing(struct race_ctx *c)
{
}

static const struct race_harness never_woken = {
	.name = "never_woken", .walker = "a wait_event() nobody wakes",
	.setup = setup_shared,
	.tasks = { { "sleeper", wait_forever }, { "idle", do_nothing } },
};

static void deadlock_detected(void)
{
	struct race_limits lim = dfs_limits(0);
	struct race_engine e;
	struct race_result r;

	r = explore_h(&never_woken, false, &lim, &e);
	CHECK_EQ(r.finding, HW_FINDING_DEADLOCK);
	CHECK_MSG(strstr(e.report_buf, "possible deadlock") &&
		  strstr(e.report_buf, "sleeper"), "%s", e.report_buf);
	race_engine_destroy(&e);
}

/*
 * RCU: a reader picks the object up inside its section and uses it; a
 * writer unpublishes it and retires it after a grace period, by
 * synchronize_rcu() or by call_rcu().  No schedule may show the reader a
 * retired object, unless the grace period is the mutant's.
 */
static void rcu_reader(struct race_ctx *c)
{
	struct shared *s = c->priv;
	struct obj *p;

	rcu_read_lock();
	p = READ_ONCE(s->ptr);
	hw_sched_point(SCHED_PT_READ, p, 0);	/* room to be preempted */
	BUG_ON(READ_ONCE(p->dead));
	rcu_read_unlock();
}

static void rcu_sync_writer(struct race_ctx *c)
{
	struct shared *s = c->priv;

	WRITE_ONCE(s->ptr, &s->b);
	synchronize_rcu();
	WRITE_ONCE(s->a.dead, 1);
}

static void retire(struct hw_rcu_head *head)
{
	WRITE_ONCE(container_of(head, struct obj, rcu)->dead, 1);
}

static void rcu_async_writer(struct race_ctx *c)
{
	struct shared *s = c->priv;

	WRITE_ONCE(s->ptr, &s->b);
	call_rcu(&s->a.rcu, retire);
}

static const struct race_harness rcu_sync = {
	.name = "rcu_sync", .walker = "reader vs synchronize_rcu()",
	.setup = setup_shared,
	.tasks = { { "reader", rcu_reader }, { "writer", rcu_sync_writer },
		   { "reader2", rcu_reader } },
};

static const struct race_harness rcu_async = {
	.name = "rcu_async", .walker = "reader vs call_rcu()",
	.setup = setup_shared,
	.tasks = { { "reader", rcu_reader }, { "writer", rcu_async_writer },
		   { "reader2", rcu_reader } },
};

static void grace_period_waits_for_readers(void)
{
	struct race_limits lim = dfs_limits(3);
	struct race_result r;

	r = explore_h(&rcu_sync, false, &lim, NULL);
	CHECK_EQ(r.finding, HW_FINDING_NONE);
	CHECK(r.exhaustive);
	r = explore_h(&rcu_async, false, &lim, NULL);
	CHECK_EQ(r.finding, HW_FINDING_NONE);
	CHECK(r.exhaustive);
	/* The mutant: the oracle sees the broken grace period. */
	r = explore_h(&rcu_sync, true, &lim, NULL);
	CHECK_EQ(r.finding, HW_FINDING_BUG);
	r = explore_h(&rcu_async, true, &lim, NULL);
	CHECK_EQ(r.finding, HW_FINDING_BUG);
}

/* ---- the call sites ------------------------------------------------------ */

static bool table_died(enum hw_finding f)
{
	return f == HW_FINDING_UAF || f == HW_FINDING_BAD_LOCK;
}

/*
 * Under unprotected and v6.1 the walker of each exposed site holds only
 * A's mmap_lock: the table is freed under it.  The report names the site.
 */
static const char *const exposed[] = {
	"hugetlb_fault", "follow_hugetlb_page", "hugetlb_follow_page_mask",
	"walk_hugetlb_range", "userfaultfd_huge_must_wait",
};
static const char *const exposing[] = { "unprotected", "v6.1" };

static void exposed_cell(unsigned int i)
{
	const char *site = exposed[i / 2], *policy = exposing[i % 2];
	struct race_limits lim = dfs_limits(1);
	struct race_result r = explore(site, policy, false, &lim);

	CHECK_MSG(table_died(r.finding), "%s/%s: %s", site, policy,
		  race_finding_name(r.finding));
	CHECK_MSG(strstr(r.title, site), "title: %s", r.title);
	CHECK_EQ(r.preemptions, 1);
	/* The early check reads an entry of the freed table: KASAN. */
	if (!strcmp(site, "hugetlb_fault"))
		CHECK_EQ(r.finding, HW_FINDING_UAF);
}

static void exposed_sites_found(void)
{
	in_parallel(exposed_cell, 2 * ARRAY_SIZE(exposed));
}

/*
 * The RFC's flaw: RCU keeps the table's memory, but its ptl died at
 * pmd_free() time; the sites that take the ptl after their RCU walk take
 * a destroyed lock.  The early fault check takes no ptl: clean.
 */
static void rfc_destroyed_ptl(void)
{
	struct race_limits lim = dfs_limits(1);
	struct race_result r;

	r = explore("follow_hugetlb_page", "rfc", false, &lim);
	CHECK_EQ(r.finding, HW_FINDING_BAD_LOCK);
	CHECK_MSG(strstr(r.title, "spinlock bad magic"), "%s", r.title);
	r = explore("hugetlb_follow_page_mask", "rfc", false, &lim);
	CHECK_EQ(r.finding, HW_FINDING_BAD_LOCK);
	r = explore("hugetlb_fault", "rfc", false, &lim);
	CHECK_EQ(r.finding, HW_FINDING_NONE);
	CHECK(r.exhaustive);
}

/*
 * What closes the race: the vma lock (v6.3), the destructor after the
 * grace period (rfc-late-dtor); i_mmap_rwsem, which the rmap, punch and
 * share walkers hold by structure under every policy.  Every schedule
 * with at most one preemption is clean.
 */
static const struct { const char *site, *policy; } safe[] = {
	{ "follow_hugetlb_page", "v6.3" },
	{ "follow_hugetlb_page", "rfc-late-dtor" },
	{ "hugetlb_fault", "v6.3" },
	{ "hugetlb_follow_page_mask", "v6.16" },
	{ "walk_hugetlb_range", "rfc-late-dtor" },
	{ "page_vma_mapped_walk", "v6.1" },
	{ "hugetlb_vma_maps_page", "v6.1" },
	{ "huge_pmd_share", "v6.1" },
};

static void safe_cell(unsigned int i)
{
	struct race_limits lim = dfs_limits(1);
	struct race_result r = explore(safe[i].site, safe[i].policy, false,
				       &lim);

	CHECK_MSG(r.finding == HW_FINDING_NONE, "%s/%s: %s %s", safe[i].site,
		  safe[i].policy, r.title, r.replay);
	CHECK(r.exhaustive);
	CHECK(r.schedules > 1000);
	/* Clean because the walker was there and safe, not absent. */
	CHECK_MSG(r.reached > 0, "%s never reached", safe[i].site);
	tap_diag("%s reached in %lu of %lu schedules", safe[i].site,
		 r.reached, r.schedules);
}

static void safe_policies_clean(void)
{
	in_parallel(safe_cell, ARRAY_SIZE(safe));
}

/*
 * The stale, reused table (CVE-2025-38085): after A unshared, B is the
 * table's last user and puts file g's page in slot 0:
 *
 *            1G              2G   2G+2M          3G
 *  A:        |=== f[0,1G) ===|                        PUD entry cleared
 *  B:                        |g|== f[2M,1G) ==|       same table, slot 0
 *                                                     now maps g
 *
 * A GUP-fast walker still inside the table pins g's page for A's
 * address.  RCU keeps a table from being freed, not from being reused:
 * the RFC's RCU walkers meet it too.  v6.16's unshare waits out GUP-fast;
 * v6.3's vma lock keeps the slow walker's table from being unshared.
 */
static void stale_table_isolation(void)
{
	struct race_limits lim = dfs_limits(1);
	struct race_result r;

	r = explore("gup_fast-reuse", "v6.3", false, &lim);
	CHECK_EQ(r.finding, HW_FINDING_ISOLATION);
	CHECK_MSG(strstr(r.title, "isolation break in gup_fast"), "%s",
		  r.title);
	r = explore("gup_fast-reuse", "v6.16", false, &lim);
	CHECK_EQ(r.finding, HW_FINDING_NONE);
	CHECK(r.exhaustive);
	r = explore("follow_hugetlb_page-reuse", "rfc", false, &lim);
	CHECK_EQ(r.finding, HW_FINDING_ISOLATION);
	r = explore("follow_hugetlb_page-reuse", "rfc-late-dtor", false, &lim);
	CHECK_EQ(r.finding, HW_FINDING_ISOLATION);
	r = explore("follow_hugetlb_page-reuse", "v6.3", false, &lim);
	CHECK_EQ(r.finding, HW_FINDING_NONE);
	CHECK(r.exhaustive);
	/* With the table freed at once, GUP-fast's RCU is no protection. */
	r = explore("gup_fast", "unprotected", false, &lim);
	CHECK_EQ(r.finding, HW_FINDING_UAF);
}

/* A replay string reproduces its schedule: same report, byte for byte. */
static void replay_reproduces(void)
{
	struct race_limits lim = dfs_limits(1);
	struct race_result r = explore("hugetlb_fault", "v6.1", false, &lim);
	struct race_engine e;
	struct race_replay rp;
	char *first;
	int i;

	CHECK_EQ(r.finding, HW_FINDING_UAF);
	CHECK_EQ(race_replay_parse(r.replay, &rp), 0);
	CHECK(!strcmp(rp.harness, "hugetlb_fault") &&
	      !strcmp(rp.policy, "v6.1") && !rp.mutant);
	CHECK_EQ(race_engine_init(&e, race_harness_find(rp.harness),
				  rp.policy, rp.mutant), 0);
	CHECK_EQ(race_replay_run(&e, &rp, NULL, NULL, false), HW_FINDING_UAF);
	first = strdup(e.report_buf);
	CHECK_MSG(strstr(first, "BUG: KASAN: use-after-free in hugetlb_fault"),
		  "%s", first);
	for (i = 0; i < 3; i++) {
		CHECK_EQ(race_replay_run(&e, &rp, NULL, NULL, false),
			 HW_FINDING_UAF);
		CHECK_MSG(!strcmp(first, e.report_buf), "replay %d differs", i);
	}
	free(first);
	race_replay_free(&rp);
	race_engine_destroy(&e);
}

static void replay_strings_checked(void)
{
	static const char *const bad[] = {
		"", "x", "a/b", "a/b/1:", "a/b/1:2,1:3", "a/b/3:1,2:1",
		"a/b/1:99", "a/b/1;2",
	};
	struct race_replay r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_MSG(race_replay_parse(bad[i], &r) == -EINVAL, "'%s'",
			  bad[i]);
	CHECK_EQ(race_replay_parse("hugetlb_fault/rfc+broken-gp/-", &r), 0);
	CHECK(r.mutant && !strcmp(r.policy, "rfc") && r.nr_devs == 0);
	CHECK_EQ(race_replay_parse("s/v6.1/4:1,15:2", &r), 0);
	CHECK(r.nr_devs == 2 && r.devs[1].at == 15 && r.devs[1].task == 2);
	race_replay_free(&r);
}

/*
 * The mutant grace period frees the table while the RFC's RCU walker is
 * still inside its section: the checkers must see it.
 */
static void mutant_caught(void)
{
	struct race_limits lim = dfs_limits(1);

	CHECK_EQ(explore("hugetlb_fault", "rfc", true, &lim).finding,
		 HW_FINDING_UAF);
	CHECK(table_died(explore("follow_hugetlb_page", "rfc-late-dtor", true,
				 &lim).finding));
}

/* PCT reaches the one-preemption race quickly, with a fixed seed. */
static void pct_finds_race(void)
{
	struct race_limits lim = {
		.strategy = RACE_PCT, .depth = 2, .seed = 1,
		.max_schedules = 20000,
	};
	struct race_result r = explore("hugetlb_fault", "unprotected", false,
				       &lim);

	CHECK_EQ(r.finding, HW_FINDING_UAF);
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(preemption_bound_finds_lost_update),
		TAP_TEST(deadlock_detected),
		TAP_TEST(grace_period_waits_for_readers),
		TAP_TEST(exposed_sites_found),
		TAP_TEST(rfc_destroyed_ptl),
		TAP_TEST(safe_policies_clean),
		TAP_TEST(stale_table_isolation),
		TAP_TEST(replay_reproduces),
		TAP_TEST(replay_strings_checked),
		TAP_TEST(mutant_caught),
		TAP_TEST(pct_finds_race),
	};

	return tap_main(tests, ARRAY_SIZE(tests), 60);
}
