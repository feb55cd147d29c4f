// SPDX-License-Identifier: MIT
/*
 * The engine: one harness under one policy, set up once and snapshotted,
 * then run schedule after schedule from the snapshot.
 *
 * Invariants kept:
 *  - every schedule starts from the same arena bytes (the snapshot taken
 *    after setup and after every RCU callback of the setup ran), with no
 *    task holding anything, so a schedule depends only on the choices
 *    made during it: replaying them reproduces it exactly;
 *  - a schedule that ends without a checker's report is checked once
 *    more, whole: hw_check_invariants() on the quiescent system;
 *  - the checkers write into one memory buffer, rewound before each
 *    schedule, so a finding's report is at hand without a file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"

struct task_arg {
	void (*body)(struct race_ctx *ctx);
	struct race_ctx *ctx;
};

static struct task_arg task_args[RACE_MAX_TASKS];

static void task_trampoline(void *arg)
{
	struct task_arg *a = arg;

	a->body(a->ctx);
}

/**
 * race_engine_init() - set @h up under @policy and snapshot it.
 * @mutant: grace periods that do not wait for readers.
 * Context: the explorer's thread; no schedule running.  Resets the
 * arena: an engine set up before stays usable (its snapshot is its own),
 * but the main task now belongs to this one's system.
 * Return: 0, -EINVAL for an unknown policy, or the setup's error.
 */
int race_engine_init(struct race_engine *e, const struct race_harness *h,
		     const char *policy, bool mutant)
{
	int err, i;

	memset(e, 0, sizeof(*e));
	if (!h || !hw_policy_lookup(policy))
		return -EINVAL;
	e->h = h;
	e->policy = policy;
	e->mutant = mutant;
	e->report_buf = calloc(1, RACE_REPORT_SIZE);
	if (!e->report_buf)
		return -ENOMEM;
	e->report = fmemopen(e->report_buf, RACE_REPORT_SIZE, "w");
	if (!e->report) {
		free(e->report_buf);
		return -errno;
	}
	setvbuf(e->report, NULL, _IONBF, 0);
	for (i = 0; i < RACE_MAX_TASKS && h->tasks[i].name; i++)
		;
	e->nr_tasks = i;

	/* A fresh heap, and the main task of the new system. */
	xs_reset();
	task_unregister();
	xs_arena_reset();
	e->ctx.report = e->report;
	e->ctx.harness = h;
	err = h->setup(&e->ctx, policy);
	if (err)
		goto fail;
	/* Callbacks of the setup run now: the snapshot has none pending. */
	rcu_barrier();
	err = xs_arena_snapshot(&e->snap);
	if (err)
		goto fail;
	return 0;
fail:
	fclose(e->report);
	free(e->report_buf);
	e->report = NULL;
	return err;
}

void race_engine_destroy(struct race_engine *e)
{
	if (e->report)
		fclose(e->report);
	free(e->report_buf);
	xs_snapshot_free(&e->snap);
	memset(e, 0, sizeof(*e));
}

/**
 * race_run_one() - one schedule of @e's harness.
 * @e: the engine, set up.
 * @ops: the chooser (and tracer).
 * @ctx: its state.
 *
 * Restores the snapshot, spawns the harness's tasks, runs them, and
 * checks the invariants if no checker reported.
 *
 * Context: the explorer's own context.
 * Return: the finding, HW_FINDING_NONE for a clean schedule.
 */
enum hw_finding race_run_one(struct race_engine *e, const struct xs_ops *ops,
			     void *ctx)
{
	enum hw_finding f;
	int i;

	xs_arena_restore(&e->snap);
	rewind(e->report);
	e->report_buf[0] = '\0';
	xs_reset();
	xs_set_broken_grace_period(e->mutant);
	xs_watch_site(e->h->site);
	for (i = 0; i < e->nr_tasks; i++) {
		struct wait_queue_head *gate;
		int t;

		task_args[i].body = e->h->tasks[i].body;
		task_args[i].ctx = &e->ctx;
		t = xs_spawn(e->h->tasks[i].name, task_trampoline,
			     &task_args[i], &e->ctx.sys->sink, e->ctx.sys);
		gate = e->h->gate ? e->h->gate(&e->ctx, i) : NULL;
		if (t >= 0 && gate)
			xs_task_gate(t, gate, "wait queue");
	}
	f = xs_run(ops, ctx, e->report);
	if (f == HW_FINDING_NONE &&
	    hw_check_invariants(e->ctx.sys, e->report) > 0)
		f = HW_FINDING_INVARIANT;
	fflush(e->report);
	e->schedules++;
	e->points += xs_nr_points();
	e->reached += xs_site_reached();
	return f;
}

/**
 * race_at_site() - is finding @f of the last schedule @e's call site's?
 * @e: the engine that ran it.
 * @f: its finding.
 *
 * Context: right after the schedule.
 * Return: true for a report about a table from the harness's site, and
 * for reports that are every harness's (deadlock, BUG_ON, invariants).
 */
bool race_at_site(const struct race_engine *e, enum hw_finding f)
{
	/* A harness of no one site (a scenario's): every report is its. */
	if (e->h->site >= NR_SITES)
		return true;
	switch (f) {
	case HW_FINDING_UAF:
	case HW_FINDING_BAD_LOCK:
	case HW_FINDING_ISOLATION:
	case HW_FINDING_WALK_RULE:
		return xs_finding_site() == (int)e->h->site;
	default:
		return true;
	}
}

/**
 * race_report_title() - the first line of the last report that names the
 * bug ("BUG: KASAN: use-after-free in hugetlb_fault").
 * @e: the engine.
 * @buf: where it goes.
 * @len: its size.
 *
 * Context: any.  Leaves "" if there was no report.
 */
void race_report_title(const struct race_engine *e, char *buf, size_t len)
{
	static const char *const starts[] = {
		"BUG:", "WARNING:", "kernel BUG", "invariant", "INFO:",
	};
	const char *p = e->report_buf, *end;
	size_t i, n;

	buf[0] = '\0';
	while (p && *p) {
		for (i = 0; i < ARRAY_SIZE(starts); i++) {
			if (strncmp(p, starts[i], strlen(starts[i])))
				continue;
			end = strchr(p, '\n');
			n = end ? (size_t)(end - p) : strlen(p);
			if (n >= len)
				n = len - 1;
			memcpy(buf, p, n);
			buf[n] = '\0';
			return;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
}

/**
 * race_finding_name() - the short name of a finding, as the table and
 * JSON print it ("use-after-free", "destroyed-lock", ...).
 * @f: the finding.
 *
 * Return: a static string.
 */
const char *race_finding_name(enum hw_finding f)
{
	static const char *const names[NR_HW_FINDINGS] = {
		[HW_FINDING_NONE] = "clean",
		[HW_FINDING_UAF] = "use-after-free",
		[HW_FINDING_BAD_LOCK] = "destroyed-lock",
		[HW_FINDING_LOCKDEP] = "lockdep",
		[HW_FINDING_WALK_RULE] = "walk-rule",
		[HW_FINDING_ASSERT] = "lockdep-assert",
		[HW_FINDING_SLEEP] = "sleep-in-atomic",
		[HW_FINDING_BUG] = "BUG",
		[HW_FINDING_DEADLOCK] = "deadlock",
		[HW_FINDING_INVARIANT] = "invariant",
		[HW_FINDING_ISOLATION] = "isolation",
		[HW_FINDING_LIVELOCK] = "livelock",
		[HW_FINDING_EXPECT] = "expectation",
	};

	return f < NR_HW_FINDINGS ? names[f] : "?";
}
