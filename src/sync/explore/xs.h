/* SPDX-License-Identifier: MIT */
/*
 * Internals of the explore build's sync layer, shared by its files
 * (sched.c, lock.c, rcu.c, wait.c, task.c).  Nothing outside
 * src/sync/explore includes this.
 */
#ifndef HW_SYNC_EXPLORE_XS_H
#define HW_SYNC_EXPLORE_XS_H

#include "sync/explore/explore.h"

enum xs_state {
	XS_RUNNABLE = 1,
	XS_BLOCKED,
	XS_DONE,
};

struct xs_task {
	struct task_struct ts;		/* what current points at */
	void *sp;			/* saved stack pointer */
	void *stack;
	int idx;
	int state;
	const void *wait_on;		/* the object it is blocked on */
	const char *wait_what;		/* its class, for the report */
	const char *wait_fn;
	void (*fn)(void *arg);
	void *arg;
	unsigned long rcu_ended;	/* outermost read sections ended */
};

/* A call_rcu() callback and the readers its grace period waits for. */
struct xs_cb {
	struct hw_rcu_head *head;
	unsigned long need[XS_MAX_TASKS];	/* rcu_ended to reach */
};

struct xs_sched {
	struct xs_task tasks[XS_MAX_TASKS];
	int nr_tasks;
	int rcu_task;			/* number of the callback task */
	struct xs_task *cur;		/* NULL: the explorer's own context */
	unsigned int runnable;		/* bit per task */
	unsigned int live;		/* tasks other than RCU's not done */
	void *main_sp;
	enum hw_finding finding;
	int finding_site;		/* call site of the report, or -1 */
	const struct xs_ops *ops;
	void *ctx;
	unsigned long nr_points, nr_decisions;
	bool broken_gp;
	int watch_site;			/* enum hw_site to notice, or -1 */
	bool site_reached;		/* a point was met inside it */
	/* RCU: a FIFO of callbacks; readiness is monotonic along it. */
	struct xs_cb cbs[XS_MAX_CBS];
	unsigned long cb_head, cb_tail;	/* run so far, queued so far */
};

extern struct xs_sched xs;

/* Owner value of a lock taken in the explorer's own context. */
#define XS_MAIN_OWNER	(XS_MAX_TASKS + 1)

static inline int xs_self(void)
{
	return xs.cur ? xs.cur->idx + 1 : XS_MAIN_OWNER;
}

/* A scheduling point with the names a trace shows. */
void xs_point(enum hw_sched_op op, const void *obj, int arg,
	      const char *what, const char *fn);
/*
 * xs_block() - the current task cannot go on until @obj changes: it is
 * not runnable until xs_wake(@obj).  Returns when it runs again; the
 * caller then rechecks its condition.
 */
void xs_block(const void *obj, const char *what, const char *fn);
/* Make every task blocked on @obj runnable. */
void xs_wake(const void *obj);

/* RCU (rcu.c): readiness of the callback queue after a change. */
void xs_rcu_update(void);
void xs_rcu_task_body(void *arg);

#endif
