/* SPDX-License-Identifier: MIT */
/*
 * The race explorer: harnesses (one per call site, in the shape of the
 * series' reproducer), the engine that runs one schedule of a harness
 * from its snapshot, the strategies that choose schedules, and the
 * report of a finding with its interleaving and replay string.
 *
 *	struct race_engine e;
 *	race_engine_init(&e, race_harness_find("follow_hugetlb_page"),
 *			 "v6.1", false);
 *	race_explore(&e, &(struct race_limits){ .strategy = RACE_DFS },
 *		     &result);
 */
#ifndef HW_CHECK_CHECK_H
#define HW_CHECK_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mm/internal.h"
#include "sync/explore/explore.h"

/* ---- harnesses (harness.c) ---------------------------------------------- */

/*
 * What a harness's setup builds.  Task bodies only read it: everything
 * they change lives in the arena, restored before each schedule.
 */
struct race_ctx {
	const struct race_harness *harness;	/* the one set up */
	struct hw_system *sys;
	struct hw_file *f;
	struct hw_file *g;		/* another file, for table reuse */
	struct hw_mm *a, *b, *c;
	struct folio *folio;		/* page 0, referenced by setup */
	struct hw_uffd *uffd;		/* A's userfaultfd, if registered */
	void *priv;			/* a harness's state, in the arena */
	FILE *report;			/* where the checkers write */
};

struct race_task {
	const char *name;		/* comm: "A:walker", ... */
	void (*body)(struct race_ctx *ctx);
};

#define RACE_MAX_TASKS	(XS_MAX_TASKS - 1)	/* RCU's is the last */

/*
 * struct race_harness - one call site's race, as a table entry: the site
 * a walker task goes through, how the system is set up (a shared PMD
 * table between mms A and B, say), and the task bodies that run
 * concurrently from there.
 */
struct race_harness {
	const char *name;		/* the call site, as reports name it */
	enum hw_site site;		/* NR_SITES: none (a scenario) */
	const char *walker;		/* what reaches the site, one line */
	int (*setup)(struct race_ctx *ctx, const char *policy);
	struct race_task tasks[RACE_MAX_TASKS];	/* ends at a NULL name */
	/*
	 * Optional: the wait queue task @i sleeps on before its first
	 * step, until another task wakes it, or NULL: it then starts
	 * blocked there (xs_task_gate()).
	 */
	struct wait_queue_head *(*gate)(struct race_ctx *ctx, int i);
};

extern const struct race_harness race_harnesses[];
extern const int nr_race_harnesses;
/* The explorer's own cost: a tiny harness, for --bench. */
extern const struct race_harness race_micro_harness;
const struct race_harness *race_harness_find(const char *name);

/* ---- the engine (engine.c) ---------------------------------------------- */

#define RACE_REPORT_SIZE	(64 * 1024)

struct race_engine {
	const struct race_harness *h;
	const char *policy;
	bool mutant;			/* grace periods do not wait */
	struct race_ctx ctx;
	struct xs_snapshot snap;
	int nr_tasks;			/* the harness's, without RCU's */
	char *report_buf;
	FILE *report;
	unsigned long schedules;	/* run so far */
	unsigned long points;		/* scheduling points, summed */
	unsigned long reached;		/* schedules that reached the site */
};

int race_engine_init(struct race_engine *e, const struct race_harness *h,
		     const char *policy, bool mutant);
void race_engine_destroy(struct race_engine *e);
/*
 * race_run_one() - restore the snapshot, spawn the harness's tasks, run
 * them with @ops choosing, then check the invariants.
 * Return: the finding (HW_FINDING_NONE for a clean schedule).
 */
enum hw_finding race_run_one(struct race_engine *e, const struct xs_ops *ops,
			     void *ctx);
/*
 * race_at_site() - does finding @f of the last run belong to @e's call
 * site?  A report of a dead table or a stale one (use-after-free,
 * destroyed lock, isolation break, walk rule) belongs to the site the
 * reporting task was in; deadlocks, BUG_ON, lockdep and invariants
 * belong to every harness, and every report to a harness of no one site
 * (site NR_SITES: a scenario's).
 */
bool race_at_site(const struct race_engine *e, enum hw_finding f);
/* The report's title ("BUG: KASAN: use-after-free in ..."), or "". */
void race_report_title(const struct race_engine *e, char *buf, size_t len);

/* ---- schedules and strategies (strategy.c) ------------------------------ */

/* A schedule: the task chosen at each decision, and what was possible. */
struct race_sched {
	int *chosen;
	signed char *cur;		/* task that could go on, or -1 */
	unsigned int *runnable;
	unsigned int *tried;		/* DFS: alternatives explored */
	int *pre;			/* DFS: preemptions before */
	unsigned long len, cap;
};

/* A deviation from the default rule (go on; else the lowest runnable). */
struct race_dev {
	unsigned long at;		/* decision number */
	int task;
};

struct race_replay {
	char harness[512];		/* a name, or a scenario's PATH@HASH */
	char policy[32];
	bool mutant;
	struct race_dev *devs;
	int nr_devs;
};

enum race_strategy {
	RACE_DFS,		/* preemption-bounded, exhaustive per bound */
	RACE_PCT,		/* probabilistic concurrency testing */
	RACE_RANDOM,		/* uniform choice at each decision */
};

struct race_limits {
	enum race_strategy strategy;
	int bound;			/* DFS: largest preemption bound */
	int depth;			/* PCT: bug depth d */
	uint64_t seed;
	unsigned long max_schedules;	/* 0: no limit */
	double max_seconds;		/* 0: no limit */
	void (*progress)(const struct race_engine *e, int bound,
			 double seconds);
};

struct race_result {
	enum hw_finding finding;	/* at the harness's call site */
	char title[160];
	/*
	 * The first report from another call site (the fault's early
	 * check, on the way to the site under test, say): noted, and the
	 * exploration went on.
	 */
	enum hw_finding other;
	char other_title[160];
	unsigned long other_after;	/* schedules until it */
	unsigned long schedules;	/* until the finding, or in all */
	unsigned long reached;		/* of them, reaching the site */
	double seconds;
	bool exhaustive;		/* DFS explored every schedule */
	int bound_done;			/* DFS: bounds explored completely */
	int preemptions;		/* of the (shrunk) failing schedule */
	unsigned long steps;		/* decisions in it */
	char replay[4096];
};

/* Explore @e's harness until a finding or the limits. */
int race_explore(struct race_engine *e, const struct race_limits *lim,
		 struct race_result *res);

/* Replay strings: "HARNESS/POLICY[+broken-gp]/AT:TASK,AT:TASK..." */
int race_replay_parse(const char *s, struct race_replay *r);
void race_replay_free(struct race_replay *r);
/* Run @r's schedule once; record it in @s if not NULL. */
enum hw_finding race_replay_run(struct race_engine *e,
				const struct race_replay *r,
				struct race_sched *s, FILE *trace_out,
				bool full_trace);

const char *race_finding_name(enum hw_finding f);

/* ---- scenario files as harnesses (scenario.c) --------------------------- */

/*
 * A scenario file (docs/scenario.md) whose background ops (`P op ... &`)
 * are the tasks of a harness: the ops before the first one are its
 * setup, and a task "main" runs the ops around them.  Its name, and the
 * first part of its replay strings, is "PATH@HASH": the file and a hash
 * of its bytes.
 */
struct race_scenario;

struct race_scenario *race_scenario_load(const char *path, char *err,
					 size_t len);
struct race_scenario *race_scenario_from_replay(const char *harness,
						char *err, size_t len);
void race_scenario_free(struct race_scenario *s);
const struct race_harness *race_scenario_harness(const struct race_scenario *s);
/* The policy of the file's first `policy` line, or NULL. */
const char *race_scenario_policy(const struct race_scenario *s);
const char *race_scenario_path(const struct race_scenario *s);
/* Why the last setup failed: "PATH:LINE: ..." lines, or "". */
const char *race_scenario_error(const struct race_scenario *s);
bool race_harness_is_scenario(const struct race_harness *h);
struct race_scenario *race_harness_scenario(const struct race_harness *h);

#endif
