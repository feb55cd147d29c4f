// SPDX-License-Identifier: MIT
/*
 * Replay strings, shrinking, and the interleaving of a finding.
 *
 * A schedule is written as the decisions where it departs from the
 * default rule (the running task goes on; when it blocks or ends, the
 * lowest numbered runnable task runs):
 *
 *	follow_hugetlb_page/v6.1/4:1,39:2
 *
 * reads "harness follow_hugetlb_page under v6.1; at decision 4 run task
 * 1, at decision 39 task 2, else the default".  "+broken-gp" after the
 * policy selects the mutant grace period.  Because a schedule depends
 * only on its choices (engine.c), the string reproduces it exactly.
 *
 * Shrinking removes one deviation at a time, preemptions first, keeping
 * a removal whenever the same report (kind and title) still comes out,
 * until no single removal keeps it: a schedule with few preemptions is
 * one a person can follow.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "check/strategy.h"

#define SHRINK_MAX_RUNS	4000

/* ---- the trace of one run ---------------------------------------------- */

struct step {
	short task;
	signed char ev, op;
	int arg;
	const void *obj;
	const char *what, *fn, *site;
};

struct tracer {
	struct chooser c;		/* first: choose() gets this pointer */
	struct step *steps;
	unsigned long nr, cap;
};

static void trace(void *ctx, int task, enum xs_event ev, enum hw_sched_op op,
		  const void *obj, int arg, const char *what, const char *fn)
{
	struct tracer *t = ctx;
	const struct call_site *site = current_site();
	struct step *st;

	if (t->nr == t->cap) {
		unsigned long cap = t->cap ? 2 * t->cap : 4096;
		void *p = realloc(t->steps, cap * sizeof(*st));

		if (!p)
			return;
		t->steps = p;
		t->cap = cap;
	}
	st = &t->steps[t->nr++];
	*st = (struct step){
		.task = task, .ev = ev, .op = op, .arg = arg, .obj = obj,
		.what = what, .fn = fn, .site = site ? site->name : NULL,
	};
}

static int choose_traced(void *ctx, int cur, unsigned int runnable)
{
	return race_choose_ops.choose(ctx, cur, runnable);
}

static const struct xs_ops traced_ops = {
	.choose = choose_traced,
	.trace = trace,
};

static const char *level_name(int level)
{
	switch (level) {
	case PT_PGD:
		return "PGD";
	case PT_PUD:
		return "PUD";
	case PT_PMD:
		return "PMD";
	default:
		return "?";
	}
}

static void step_label(char *buf, size_t n, const struct step *st)
{
	/* By operation, then by enum lock_mode. */
	static const char *const lock_ops[3][3] = {
		{ "lock", "down_read", "down_write" },
		{ "trylock", "down_read_trylock", "down_write_trylock" },
		{ "unlock", "up_read", "up_write" },
	};
	uintptr_t p = (uintptr_t)st->obj;
	const char *what = st->what ? st->what : "?";

	switch (st->ev) {
	case XS_EV_BLOCK:
		snprintf(buf, n, "blocks on %s", what);
		return;
	case XS_EV_EXIT:
		snprintf(buf, n, "returns");
		return;
	case XS_EV_CALLBACK:
		snprintf(buf, n, "runs an RCU callback (its grace period is over)");
		return;
	}
	switch (st->op) {
	case SCHED_PT_READ:
	case SCHED_PT_WRITE:
		snprintf(buf, n, "%s %s[%lu] of table %#lx",
			 st->op == SCHED_PT_READ ? "read" : "write",
			 level_name(st->arg),
			 (unsigned long)((p & ~PAGE_MASK) / 8),
			 (unsigned long)(p & PAGE_MASK));
		return;
	case SCHED_PT_SHARE:
		snprintf(buf, n, "pt_share_count %+d of PMD table %#lx",
			 st->arg, (unsigned long)(p - PAGE_SIZE));
		return;
	case SCHED_PT_DTOR:
		snprintf(buf, n, "pagetable_dtor(): ptl of %s table %#lx dies",
			 level_name(st->arg), (unsigned long)(p - PAGE_SIZE));
		return;
	case SCHED_PT_FREE:
		snprintf(buf, n, "pagetable_free(): %s table %#lx freed",
			 level_name(st->arg), (unsigned long)(p - PAGE_SIZE));
		return;
	case SCHED_LOCK:
	case SCHED_TRYLOCK:
	case SCHED_UNLOCK:
		snprintf(buf, n, "%s %s",
			 lock_ops[st->op - SCHED_LOCK][st->arg % 3], what);
		return;
	case SCHED_RCU_LOCK:
		snprintf(buf, n, "rcu_read_lock()");
		return;
	case SCHED_RCU_UNLOCK:
		snprintf(buf, n, "rcu_read_unlock()");
		return;
	case SCHED_SYNC_RCU:
		snprintf(buf, n, "synchronize_rcu()");
		return;
	case SCHED_CALL_RCU:
		snprintf(buf, n, "call_rcu()");
		return;
	case SCHED_RCU_BARRIER:
		snprintf(buf, n, "rcu_barrier()");
		return;
	case SCHED_WAIT:
		snprintf(buf, n, "wait_event() tests its condition");
		return;
	case SCHED_WAKE:
		snprintf(buf, n, "wake_up_all()");
		return;
	default:
		snprintf(buf, n, "op %d", st->op);
	}
}

static void print_step(FILE *out, unsigned long i, const struct step *st)
{
	char label[160];

	step_label(label, sizeof(label), st);
	fprintf(out, " %5lu  %-16s %-28s %s\n", i, xs_task_name(st->task),
		st->site ? st->site : (st->fn ? st->fn : "-"), label);
}

/*
 * Notable steps are never elided: what frees, unshares, publishes or
 * waits for a grace period, and every block and exit.
 */
static bool notable(const struct step *st)
{
	if (st->ev != XS_EV_STEP)
		return true;
	switch (st->op) {
	case SCHED_PT_SHARE:
	case SCHED_PT_DTOR:
	case SCHED_PT_FREE:
	case SCHED_RCU_LOCK:
	case SCHED_RCU_UNLOCK:
	case SCHED_SYNC_RCU:
	case SCHED_CALL_RCU:
	case SCHED_RCU_BARRIER:
	case SCHED_WAIT:
	case SCHED_WAKE:
		return true;
	case SCHED_PT_WRITE:
		return true;
	default:
		return false;
	}
}

/*
 * Print the interleaving: one line per step (task, site, operation).
 * Unless @full, a long run of one task shows its first and last few
 * steps and its notable ones; the others are counted.
 */
static void print_trace(FILE *out, const struct tracer *t, bool full)
{
	const unsigned long keep = 4;
	unsigned long i = 0, j, k, hidden;

	fprintf(out, "Interleaving (%lu steps; step, task, site, operation):\n",
		t->nr);
	while (i < t->nr) {
		/* [i, j) is one task's run of steps. */
		for (j = i; j < t->nr && t->steps[j].task == t->steps[i].task;)
			j++;
		hidden = 0;
		for (k = i; k < j; k++) {
			const struct step *st = &t->steps[k];

			if (!full && k >= i + keep && k + keep < j &&
			    !notable(st)) {
				hidden++;
				continue;
			}
			if (hidden == 1)
				print_step(out, k - 1, st - 1);
			else if (hidden)
				fprintf(out, " %5s  %-16s ... %lu steps\n", "",
					xs_task_name(st->task), hidden);
			hidden = 0;
			print_step(out, k, st);
		}
		i = j;
	}
}

/* ---- replay strings ----------------------------------------------------- */
/*
 * Invariants kept: a replay string lists decisions in increasing order;
 * format_replay() of a schedule's deviations, parsed and run, makes the
 * same choices at every decision (engine.c's determinism), so the
 * schedule, its report and its trace come out the same.
 */

static const char mutant_suffix[] = "+broken-gp";

/**
 * race_replay_parse() - read a replay string.
 * @s: "HARNESS/POLICY[+broken-gp]/AT:TASK,..." or ".../-".  HARNESS may
 *	hold '/' (a scenario's "PATH@HASH"): the last two '/' split.
 * @r: filled in; race_replay_free() it.
 *
 * Harness and policy are not looked up here.
 * Return: 0, or -EINVAL for a malformed string (decisions must grow).
 */
int race_replay_parse(const char *s, struct race_replay *r)
{
	const char *p1 = NULL, *p2 = NULL, *p;
	size_t n;
	char *end;

	memset(r, 0, sizeof(*r));
	for (p = s; *p; p++) {
		if (*p != '/')
			continue;
		p1 = p2;
		p2 = p;
	}
	if (!p1 || !p2 || p1 == s || (size_t)(p1 - s) >= sizeof(r->harness))
		return -EINVAL;
	memcpy(r->harness, s, p1 - s);
	n = p2 - p1 - 1;
	if (n >= sizeof(r->policy))
		return -EINVAL;
	memcpy(r->policy, p1 + 1, n);
	n = strlen(r->policy);
	if (n > strlen(mutant_suffix) &&
	    !strcmp(r->policy + n - strlen(mutant_suffix), mutant_suffix)) {
		r->mutant = true;
		r->policy[n - strlen(mutant_suffix)] = '\0';
	}
	p = p2 + 1;
	if (!strcmp(p, "-") || !*p)
		return 0;
	while (*p) {
		unsigned long at = strtoul(p, &end, 10);
		long task;
		void *q;

		if (end == p || *end != ':')
			goto bad;
		p = end + 1;
		task = strtol(p, &end, 10);
		if (end == p || task < 0 || task >= XS_MAX_TASKS ||
		    (*end && *end != ','))
			goto bad;
		if (r->nr_devs && at <= r->devs[r->nr_devs - 1].at)
			goto bad;
		q = realloc(r->devs, (r->nr_devs + 1) * sizeof(*r->devs));
		if (!q)
			goto bad;
		r->devs = q;
		r->devs[r->nr_devs++] = (struct race_dev){ at, (int)task };
		p = *end ? end + 1 : end;
	}
	return 0;
bad:
	race_replay_free(r);
	return -EINVAL;
}

void race_replay_free(struct race_replay *r)
{
	free(r->devs);
	r->devs = NULL;
	r->nr_devs = 0;
}

static void format_replay(char *buf, size_t len, const struct race_engine *e,
			  const struct race_dev *devs, int nr)
{
	size_t off;
	int i;

	off = snprintf(buf, len, "%s/%s%s/", e->h->name, e->policy,
		       e->mutant ? mutant_suffix : "");
	if (!nr && off < len)
		off += snprintf(buf + off, len - off, "-");
	for (i = 0; i < nr && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%lu:%d",
				i ? "," : "", devs[i].at, devs[i].task);
}

static enum hw_finding run_devs(struct race_engine *e,
				const struct race_dev *devs, int nr,
				struct race_sched *s, struct tracer *t)
{
	struct tracer local = { 0 };
	enum hw_finding f;

	if (!t)
		t = &local;
	chooser_init(&t->c, CH_REPLAY, s);
	t->c.devs = devs;
	t->c.nr_devs = nr;
	f = race_run_one(e, t == &local ? &race_choose_ops : &traced_ops,
			 &t->c);
	s->len = t->c.n;
	return f;
}

/**
 * race_replay_run() - run the schedule of @r on @e (which must be set up
 * for @r's harness, policy and mutant) once.
 * @s: where to record the schedule, or NULL.
 * @trace_out: where to print the interleaving, or NULL.
 * Return: the finding.
 */
enum hw_finding race_replay_run(struct race_engine *e,
				const struct race_replay *r,
				struct race_sched *s, FILE *trace_out,
				bool full_trace)
{
	struct race_sched local = { 0 };
	struct tracer t = { 0 };
	enum hw_finding f;

	if (!s)
		s = &local;
	if (race_sched_reserve(s, 4096))
		return HW_FINDING_BUG;
	f = run_devs(e, r->devs, r->nr_devs, s, trace_out ? &t : NULL);
	if (trace_out) {
		if (t.c.diverged)
			fprintf(trace_out, "note: %d choices of the replay "
				"string could not be made\n", t.c.diverged);
		print_trace(trace_out, &t, full_trace);
	}
	free(t.steps);
	race_sched_free(&local);
	return f;
}

/* Preemptive deviations first, later ones first among equals. */
static int removal_order(const struct race_sched *s,
			 const struct race_dev *devs, int nr, int k)
{
	int i, seen = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (i = nr - 1; i >= 0; i--) {
			bool pre = s->cur[devs[i].at] >= 0;

			if (pre != (pass == 0))
				continue;
			if (seen++ == k)
				return i;
		}
	}
	return -1;
}

/**
 * race_shrink() - shrink failing schedule @s of @e toward fewer
 * preemptions, keeping its report, and fill @res's replay string.
 * @e: the engine whose last schedule was @s.
 * @s: the failing schedule; left describing the shrunk one.
 * @res: its finding in; title, preemptions, steps and replay out.
 *
 * Context: right after the failing schedule.  Leaves the shrunk
 * schedule's report in @e's buffer.
 * Return: 0, or -ENOMEM.
 */
int race_shrink(struct race_engine *e, struct race_sched *s,
		struct race_result *res)
{
	struct race_sched t = { 0 };
	struct race_dev *devs = NULL, *trial = NULL;
	char title[sizeof(res->title)], want[sizeof(res->title)];
	int nr, pre, k, runs = 0, err = -ENOMEM;
	int want_site = xs_finding_site();
	enum hw_finding f;

	race_report_title(e, want, sizeof(want));
	nr = race_sched_devs(s, s->len, &devs, &pre);
	if (nr < 0 || race_sched_reserve(&t, 4096))
		goto out;
	trial = malloc((nr + 1) * sizeof(*trial));
	if (!trial)
		goto out;
	for (k = 0; k < nr && runs < SHRINK_MAX_RUNS; k++) {
		int j = removal_order(s, devs, nr, k), m;
		struct race_dev *nd;
		int nnr;

		memcpy(trial, devs, j * sizeof(*trial));
		memcpy(trial + j, devs + j + 1, (nr - j - 1) * sizeof(*trial));
		f = run_devs(e, trial, nr - 1, &t, NULL);
		runs++;
		if (f != res->finding || xs_finding_site() != want_site)
			continue;
		race_report_title(e, title, sizeof(title));
		if (strcmp(title, want))
			continue;
		/* Kept: what actually ran is the new schedule. */
		nnr = race_sched_devs(&t, t.len, &nd, &m);
		if (nnr < 0)
			goto out;
		free(devs);
		devs = nd;
		nr = nnr;
		pre = m;
		/* s now describes the shorter schedule. */
		if (race_sched_reserve(s, t.len))
			goto out;
		memcpy(s->chosen, t.chosen, t.len * sizeof(*s->chosen));
		memcpy(s->cur, t.cur, t.len * sizeof(*s->cur));
		memcpy(s->runnable, t.runnable, t.len * sizeof(*s->runnable));
		s->len = t.len;
		k = -1;		/* start over */
	}
	/* Leave the report of the shrunk schedule in the buffer. */
	f = run_devs(e, devs, nr, &t, NULL);
	res->finding = f;
	race_report_title(e, res->title, sizeof(res->title));
	res->preemptions = pre;
	res->steps = t.len;
	format_replay(res->replay, sizeof(res->replay), e, devs, nr);
	err = 0;
out:
	free(devs);
	free(trial);
	race_sched_free(&t);
	return err;
}
