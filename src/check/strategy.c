// SPDX-License-Identifier: MIT
/*
 * Strategies: which schedules to run, and in what order.
 *
 *  - DFS with preemption bounding (Musuvathi and Qadeer, "Iterative
 *    context bounding", PLDI 2007): every schedule with at most b
 *    preemptions, for b = 0, 1, 2, ...; a preemption is a switch away
 *    from a task that could have gone on.  Switches at a task's block
 *    or end are free.  Stateless: each schedule is rerun from the
 *    snapshot with the prefix of choices to keep, then the default rule.
 *  - PCT (Burckhardt et al., ASPLOS 2010): random task priorities, and
 *    d - 1 random points where the running task drops to the bottom; a
 *    bug of depth d is found with probability at least 1/(n k^(d-1)).
 *  - uniform random choice at every decision.
 *
 * Invariants kept:
 *  - the default rule (the running task goes on; else the lowest
 *    numbered runnable) is the same everywhere: DFS's continuation,
 *    replay's choice between deviations, and what a replay string omits;
 *  - DFS: tried[i] holds every task already explored at decision i under
 *    the current prefix; pre[i] is the number of preemptions before i,
 *    so an alternative at i is explored iff pre[i] plus its own cost is
 *    within the bound; every schedule within the bound is run once per
 *    bound (schedules of lower bounds run again at higher ones).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check/check.h"
#include "check/strategy.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/**
 * race_sched_reserve() - room for @n decisions in @s.
 * @s: the schedule.
 * @n: decisions.
 *
 * Return: 0, or -ENOMEM.
 */
int race_sched_reserve(struct race_sched *s, unsigned long n)
{
	unsigned long cap = s->cap ? s->cap : 1024;
	void *p;

	if (n <= s->cap)
		return 0;
	while (cap < n)
		cap *= 2;
#define GROW(field) do {						\
		p = realloc(s->field, cap * sizeof(*s->field));		\
		if (!p)							\
			return -ENOMEM;					\
		s->field = p;						\
	} while (0)
	GROW(chosen);
	GROW(cur);
	GROW(runnable);
	GROW(tried);
	GROW(pre);
#undef GROW
	s->cap = cap;
	return 0;
}

void race_sched_free(struct race_sched *s)
{
	free(s->chosen);
	free(s->cur);
	free(s->runnable);
	free(s->tried);
	free(s->pre);
	memset(s, 0, sizeof(*s));
}

static inline int default_choice(int cur, unsigned int runnable)
{
	return cur >= 0 ? cur : __builtin_ctz(runnable);
}

/* xorshift64*: small, seedable, the same on every machine. */
uint64_t race_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* PCT: the runnable task of highest priority. */
static int top_priority(const struct chooser *c, unsigned int runnable)
{
	int t, best = -1;

	for (t = 0; t < XS_MAX_TASKS; t++)
		if ((runnable & (1U << t)) &&
		    (best < 0 || c->prio[t] > c->prio[best]))
			best = t;
	return best;
}

static int choose(void *ctx, int cur, unsigned int runnable)
{
	struct chooser *c = ctx;
	struct race_sched *s = c->rec;
	unsigned long i = c->n++;
	int t, j;

	if (i >= s->cap && race_sched_reserve(s, i + 1))
		abort();
	switch (c->kind) {
	case CH_DFS:
		if (i >= c->prefix_len) {
			t = default_choice(cur, runnable);
			break;
		}
		/*
		 * Replaying the prefix: the same choices must meet the same
		 * decisions, or the schedule depends on something outside
		 * the arena and nothing explored is what it claims.
		 */
		if (s->runnable[i] != runnable || s->cur[i] != cur) {
			fprintf(stderr, "hugewalk race: schedule not "
				"deterministic at decision %lu\n", i);
			abort();
		}
		t = s->chosen[i];
		break;
	case CH_REPLAY:
		t = default_choice(cur, runnable);
		while (c->next_dev < c->nr_devs && c->devs[c->next_dev].at < i)
			c->next_dev++;
		if (c->next_dev < c->nr_devs && c->devs[c->next_dev].at == i) {
			int want = c->devs[c->next_dev++].task;

			if (want >= 0 && want < 32 && (runnable & (1U << want)))
				t = want;
			else
				c->diverged++;
		}
		break;
	case CH_PCT:
		/* At a change point the task that would run drops down. */
		for (j = 0; j < c->nr_change; j++) {
			if (c->change[j] != i)
				continue;
			t = cur >= 0 ? cur : top_priority(c, runnable);
			c->prio[t] = j;	/* below every initial priority */
		}
		t = top_priority(c, runnable);
		break;
	default: {
		int k = race_rand(&c->rng) % __builtin_popcount(runnable);

		for (t = 0; ; t++)
			if ((runnable & (1U << t)) && k-- == 0)
				break;
		break;
	}
	}
	s->chosen[i] = t;
	s->cur[i] = cur;
	s->runnable[i] = runnable;
	return t;
}

const struct xs_ops race_choose_ops = { .choose = choose };

void chooser_init(struct chooser *c, enum chooser_kind kind,
		  struct race_sched *rec)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->rec = rec;
}

/**
 * race_sched_devs() - the decisions of recorded schedule @s that depart
 * from the default rule: what a replay string lists.
 * @s: the schedule.
 * @len: its decisions.
 * @devs: set to a malloc'd array of them (NULL if none).
 * @preemptions: if not NULL, set to how many of them are preemptions.
 *
 * Return: their number, or -ENOMEM.
 */
int race_sched_devs(const struct race_sched *s, unsigned long len,
		    struct race_dev **devs, int *preemptions)
{
	unsigned long i;
	int n = 0, pre = 0;
	struct race_dev *d = NULL;

	for (i = 0; i < len; i++) {
		if (s->chosen[i] == default_choice(s->cur[i], s->runnable[i]))
			continue;
		if (!(n & 15)) {
			void *p = realloc(d, (n + 16) * sizeof(*d));

			if (!p) {
				free(d);
				return -ENOMEM;
			}
			d = p;
		}
		d[n++] = (struct race_dev){ .at = i, .task = s->chosen[i] };
		if (s->cur[i] >= 0)
			pre++;
	}
	*devs = d;
	if (preemptions)
		*preemptions = pre;
	return n;
}

/* ---- the exploration loop ---------------------------------------------- */

struct budget {
	const struct race_limits *lim;
	double start, last_progress;
	unsigned long start_schedules, start_reached;
};

static bool over_budget(struct budget *b, struct race_engine *e, int bound)
{
	unsigned long done = e->schedules - b->start_schedules;
	double t;

	if (b->lim->max_schedules && done >= b->lim->max_schedules)
		return true;
	if ((done & 63) != 0)
		return false;
	t = now();
	if (b->lim->progress && t - b->last_progress > 0.25) {
		b->last_progress = t;
		b->lim->progress(e, bound, t - b->start);
	}
	return b->lim->max_seconds && t - b->start >= b->lim->max_seconds;
}

/*
 * A finding of run @f: the harness's (true), or one at another call site,
 * noted in @res the first time, after which the exploration goes on.
 */
static bool finding_counts(struct race_engine *e, enum hw_finding f,
			   struct budget *b, struct race_result *res)
{
	if (f == HW_FINDING_NONE)
		return false;
	if (race_at_site(e, f))
		return true;
	if (res->other == HW_FINDING_NONE) {
		res->other = f;
		race_report_title(e, res->other_title,
				  sizeof(res->other_title));
		res->other_after = e->schedules - b->start_schedules;
	}
	return false;
}

enum dfs_end { DFS_FOUND, DFS_EXHAUSTED, DFS_BUDGET };

static enum dfs_end dfs(struct race_engine *e, int bound, struct budget *b,
			struct race_sched *s, enum hw_finding *found,
			struct race_result *res)
{
	struct chooser c;
	unsigned long n, prefix_len = 0;
	long i;
	enum hw_finding f;

	for (;;) {
		chooser_init(&c, CH_DFS, s);
		c.prefix_len = prefix_len;
		f = race_run_one(e, &race_choose_ops, &c);
		n = c.n;
		s->len = n;
		for (i = prefix_len; i < (long)n; i++)
			s->tried[i] = 1U << s->chosen[i];
		s->pre[0] = 0;
		for (i = 0; i + 1 < (long)n; i++)
			s->pre[i + 1] = s->pre[i] +
				(s->cur[i] >= 0 && s->chosen[i] != s->cur[i]);
		if (finding_counts(e, f, b, res)) {
			*found = f;
			return DFS_FOUND;
		}
		if (over_budget(b, e, bound))
			return DFS_BUDGET;
		/* Backtrack to the deepest decision with an alternative. */
		for (i = (long)n - 1; i >= 0; i--) {
			unsigned int cand = s->runnable[i] & ~s->tried[i];

			while (cand) {
				int t = __builtin_ctz(cand);
				int cost = s->cur[i] >= 0 && t != s->cur[i];

				cand &= cand - 1;
				s->tried[i] |= 1U << t;
				if (s->pre[i] + cost <= bound) {
					s->chosen[i] = t;
					prefix_len = i + 1;
					goto next;
				}
			}
		}
		return DFS_EXHAUSTED;
next:
		;
	}
}

static void pct_setup(struct chooser *c, int nr_tasks, int depth,
		      unsigned long k, uint64_t *rng)
{
	int i, j, perm[XS_MAX_TASKS];

	for (i = 0; i < nr_tasks; i++)
		perm[i] = i;
	for (i = nr_tasks - 1; i > 0; i--) {
		int r = race_rand(rng) % (i + 1), tmp = perm[i];

		perm[i] = perm[r];
		perm[r] = tmp;
	}
	for (i = 0; i < XS_MAX_TASKS; i++)
		c->prio[i] = i < nr_tasks ? depth + perm[i] : -1;
	c->nr_change = depth > 1 ? depth - 1 : 0;
	if (c->nr_change > PCT_MAX_DEPTH)
		c->nr_change = PCT_MAX_DEPTH;
	for (j = 0; j < c->nr_change; j++)
		c->change[j] = k ? race_rand(rng) % k : 0;
}

/**
 * race_explore() - explore @e's harness with @lim's strategy until a
 * finding, exhaustion (DFS) or the budget.  A finding's schedule is
 * shrunk and its replay string put in @res.
 * Return: 0, or a negative errno.
 */
int race_explore(struct race_engine *e, const struct race_limits *lim,
		 struct race_result *res)
{
	struct race_sched s = { 0 };
	struct budget b = { .lim = lim };
	enum hw_finding found = HW_FINDING_NONE;
	uint64_t rng = lim->seed ? lim->seed : 0x9e3779b97f4a7c15ULL;
	unsigned long k = 0;
	struct chooser c;
	int bound, err = 0;

	memset(res, 0, sizeof(*res));
	res->bound_done = -1;
	b.start = b.last_progress = now();
	b.start_schedules = e->schedules;
	b.start_reached = e->reached;
	if (race_sched_reserve(&s, 4096))
		return -ENOMEM;

	switch (lim->strategy) {
	case RACE_DFS:
		for (bound = 0; bound <= lim->bound; bound++) {
			enum dfs_end end = dfs(e, bound, &b, &s, &found, res);

			if (end == DFS_FOUND)
				break;
			if (end == DFS_BUDGET)
				break;
			res->bound_done = bound;
			if (bound == lim->bound)
				res->exhaustive = true;
		}
		break;
	case RACE_PCT:
	case RACE_RANDOM:
		/* PCT draws its change points over one default run's length. */
		chooser_init(&c, CH_DFS, &s);
		found = race_run_one(e, &race_choose_ops, &c);
		k = c.n;
		s.len = c.n;
		if (!finding_counts(e, found, &b, res))
			found = HW_FINDING_NONE;
		while (found == HW_FINDING_NONE && !over_budget(&b, e, 0)) {
			chooser_init(&c, lim->strategy == RACE_PCT ? CH_PCT
								  : CH_RANDOM,
				     &s);
			c.rng = race_rand(&rng) | 1;
			if (lim->strategy == RACE_PCT)
				pct_setup(&c, e->nr_tasks + 1, lim->depth,
					  k, &c.rng);
			found = race_run_one(e, &race_choose_ops, &c);
			s.len = c.n;
			if (!finding_counts(e, found, &b, res))
				found = HW_FINDING_NONE;
		}
		break;
	}
	res->finding = found;
	res->schedules = e->schedules - b.start_schedules;
	res->reached = e->reached - b.start_reached;
	res->seconds = now() - b.start;
	if (found != HW_FINDING_NONE)
		err = race_shrink(e, &s, res);
	race_sched_free(&s);
	return err;
}
