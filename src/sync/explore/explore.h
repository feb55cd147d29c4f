/* SPDX-License-Identifier: MIT */
/*
 * The explore build's scheduler, as the race explorer (src/check) drives
 * it.  Tasks are coroutines on the calling thread; at every scheduling
 * point with more than one task runnable the explorer's chooser picks
 * who runs next.  The subsystem's memory lives in an arena that can be
 * snapshotted after a harness's setup and restored before each schedule,
 * so that every schedule starts from the same bytes at the same
 * addresses.
 *
 *	xs_reset();
 *	xs_spawn("walker", body, arg, &sys->sink, sys);  ...
 *	finding = xs_run(&ops, ctx);
 */
#ifndef HW_SYNC_EXPLORE_H
#define HW_SYNC_EXPLORE_H

#include <stdbool.h>
#include <stddef.h>

#include "sync/sync.h"

#define XS_MAX_TASKS	8	/* including the RCU callback task */
#define XS_MAX_CBS	256	/* RCU callbacks pending at once */

/* How a step appears in the interleaving. */
enum xs_event {
	XS_EV_STEP,		/* the task performs the operation */
	XS_EV_BLOCK,		/* the task blocks on the object */
	XS_EV_EXIT,		/* the task's body returned */
	XS_EV_CALLBACK,		/* the RCU task runs a callback */
};

struct xs_ops {
	/*
	 * choose() - a decision: two or more tasks may run (bit i of
	 * @runnable: task i).  @cur is the task that reached a scheduling
	 * point and may go on, or -1 if it blocked or finished.
	 * Return: the task to run; it must be in @runnable.
	 */
	int (*choose)(void *ctx, int cur, unsigned int runnable);
	/*
	 * trace() - optional: every step of every task, in execution
	 * order.  @what names the lock class or callback, @fn the function
	 * that took a lock; either may be NULL.
	 */
	void (*trace)(void *ctx, int task, enum xs_event ev,
		      enum hw_sched_op op, const void *obj, int arg,
		      const char *what, const char *fn);
};

/* Start a new schedule: no tasks, no RCU readers or callbacks. */
void xs_reset(void);

/*
 * xs_spawn() - add a task that will run @fn(@arg) as a coroutine.
 * Return: its number (0, 1, ...), or -1 if there are too many.
 */
int xs_spawn(const char *comm, void (*fn)(void *), void *arg,
	     struct hw_report_sink *sink, void *owner);

/*
 * xs_task_gate() - task @task, spawned and not run yet, starts blocked:
 * it is not runnable until xs_wake(@obj), which wake_up_all() of the
 * wait queue @obj does.  For a task whose first step would be to sleep
 * there: the explorer does not try the orders in which such tasks go
 * to sleep, which are all the same.
 */
void xs_task_gate(int task, const void *obj, const char *what);

/*
 * xs_run() - run the spawned tasks, plus the RCU callback task (the
 * last number), until all have finished and every callback has run, or
 * a checker reported, or no task can run while some are blocked.
 * Return: HW_FINDING_NONE, the reporting checker's kind, or
 * HW_FINDING_DEADLOCK (described on @deadlock_out, if not NULL).
 */
enum hw_finding xs_run(const struct xs_ops *ops, void *ctx,
		       FILE *deadlock_out);

/* Task names, valid until the next xs_reset(); the RCU task last. */
int xs_nr_tasks(void);
const char *xs_task_name(int task);

/* The call site (enum hw_site) the last finding was reported in, or -1. */
int xs_finding_site(void);

/*
 * Coverage: whether the last schedule reached a scheduling point inside
 * call site @site (an enum hw_site; -1 watches nothing).
 */
void xs_watch_site(int site);
bool xs_site_reached(void);

/* Scheduling points and decisions of the last (or current) run. */
unsigned long xs_nr_points(void);
unsigned long xs_nr_decisions(void);

/*
 * The mutant: a grace period that does not wait for readers, so that
 * call_rcu() callbacks may run, and synchronize_rcu() returns, while a
 * reader that began before them is still inside its section.
 */
void xs_set_broken_grace_period(bool broken);

/* ---- the arena ----------------------------------------------------------- */

struct xs_snapshot {
	void *bytes;
	size_t len, cap;
	size_t low;		/* bytes of the lower half, first */
};

/* The allocator src/mm's malloc family is routed to (alloc.h). */
void *xs_malloc(size_t size);
void *xs_calloc(size_t n, size_t size);
void *xs_realloc(void *p, size_t size);
void *xs_aligned_alloc(size_t align, size_t size);
void xs_free(void *p);

/* Forget everything allocated: the next system starts from nothing. */
void xs_arena_reset(void);
/* Copy the arena's used bytes into @s (grown as needed). */
int xs_arena_snapshot(struct xs_snapshot *s);
/* Put the arena back as it was at xs_arena_snapshot(@s). */
void xs_arena_restore(const struct xs_snapshot *s);
void xs_snapshot_free(struct xs_snapshot *s);
size_t xs_arena_used(void);

#endif
