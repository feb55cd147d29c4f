// SPDX-License-Identifier: MIT
/*
 * RCU for the explore build: a model, not liburcu.
 *
 * A grace period that starts at some step waits exactly for the read
 * sections in progress at that step: for each task then inside a
 * section, until that task's count of ended outermost sections has
 * moved.  Sections that begin later do not hold it up.  call_rcu()
 * records that set with the callback; the callback task (xs.rcu_task)
 * becomes runnable when the oldest callback's readers are all gone, and
 * the explorer chooses when it runs, like any task.
 *
 * Invariants kept:
 *  - a callback never runs, and synchronize_rcu() never returns, while a
 *    reader that was inside its section when it was queued (or called)
 *    is still inside that same section; unless the mutant is on
 *    (xs_set_broken_grace_period()), which is how the explorer proves
 *    that its oracles catch a broken grace period;
 *  - callbacks run in the order queued; needs grow along the queue, so
 *    the oldest is the first to become ready;
 *  - current->rcu_read_depth is the nesting, as rcu_read_lock_held()
 *    and the walk-rule checker read it in both builds.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sync/explore/xs.h"

/* Wait objects: what synchronize_rcu() and rcu_barrier() block on. */
static char gp_waiters, barrier_waiters;

/* Record, per task, the section count that ends the current readers. */
static void snapshot_readers(unsigned long need[XS_MAX_TASKS])
{
	int i;

	for (i = 0; i < XS_MAX_TASKS; i++) {
		struct xs_task *t = &xs.tasks[i];

		need[i] = (i < xs.nr_tasks && t->ts.rcu_read_depth > 0 &&
			   !xs.broken_gp) ? t->rcu_ended + 1 : 0;
	}
}

static bool readers_gone(const unsigned long need[XS_MAX_TASKS])
{
	int i;

	for (i = 0; i < xs.nr_tasks; i++)
		if (xs.tasks[i].rcu_ended < need[i])
			return false;
	return true;
}

static bool head_ready(void)
{
	return xs.cb_head != xs.cb_tail &&
	       readers_gone(xs.cbs[xs.cb_head % XS_MAX_CBS].need);
}

/**
 * xs_rcu_update() - after a reader left or a callback was queued: wake
 * whoever that may let go on (synchronize_rcu() callers, the callback
 * task).
 *
 * Context: any.
 */
void xs_rcu_update(void)
{
	struct xs_task *r;

	xs_wake(&gp_waiters);
	if (xs.rcu_task < 0)
		return;
	r = &xs.tasks[xs.rcu_task];
	if (r->state == XS_BLOCKED && head_ready())
		xs_wake(&xs.cbs);
}

/* The callback task: runs each callback once its grace period is over. */
void xs_rcu_task_body(void *arg)
{
	struct xs_cb *cb;

	for (;;) {
		while (!head_ready())
			xs_block(&xs.cbs, "rcu callbacks", "rcu_do_batch");
		cb = &xs.cbs[xs.cb_head % XS_MAX_CBS];
		if (xs.ops->trace)
			xs.ops->trace(xs.ctx, xs.cur->idx, XS_EV_CALLBACK,
				      SCHED_CALL_RCU, cb->head, 0, NULL, NULL);
		cb->head->func(cb->head);
		xs.cb_head++;
		xs_wake(&barrier_waiters);
	}
}

void rcu_read_lock(void)
{
	struct task_struct *t = current;

	xs_point(SCHED_RCU_LOCK, NULL, 0, NULL, NULL);
	t->rcu_read_depth++;
}

void rcu_read_unlock(void)
{
	struct task_struct *t = current;

	BUG_ON(t->rcu_read_depth <= 0);
	if (--t->rcu_read_depth == 0 && xs.cur) {
		xs.cur->rcu_ended++;
		xs_rcu_update();
	}
	xs_point(SCHED_RCU_UNLOCK, NULL, 0, NULL, NULL);
}

bool rcu_read_lock_held(void)
{
	return current->rcu_read_depth > 0;
}

void synchronize_rcu(void)
{
	unsigned long need[XS_MAX_TASKS];

	/* Waiting for a grace period inside a read section never ends. */
	BUG_ON(current->rcu_read_depth > 0);
	xs_point(SCHED_SYNC_RCU, NULL, 0, NULL, NULL);
	if (!xs.cur)
		return;		/* the setup context: no readers */
	snapshot_readers(need);
	while (!readers_gone(need))
		xs_block(&gp_waiters, "synchronize_rcu", "synchronize_rcu");
}

/* Outside a schedule (setup): no readers; run the queue at once. */
static void run_callbacks_inline(void)
{
	while (xs.cb_head != xs.cb_tail) {
		struct xs_cb *cb = &xs.cbs[xs.cb_head % XS_MAX_CBS];

		cb->head->func(cb->head);
		xs.cb_head++;
	}
}

void call_rcu(struct hw_rcu_head *head, void (*func)(struct hw_rcu_head *))
{
	struct xs_cb *cb;

	xs_point(SCHED_CALL_RCU, head, 0, NULL, NULL);
	head->func = func;
	if (xs.cb_tail - xs.cb_head >= XS_MAX_CBS) {
		fprintf(stderr, "hugewalk explore: more than %d RCU callbacks "
			"pending\n", XS_MAX_CBS);
		abort();
	}
	cb = &xs.cbs[xs.cb_tail % XS_MAX_CBS];
	cb->head = head;
	snapshot_readers(cb->need);
	xs.cb_tail++;
	xs_rcu_update();
}

void rcu_barrier(void)
{
	unsigned long ticket = xs.cb_tail;

	xs_point(SCHED_RCU_BARRIER, NULL, 0, NULL, NULL);
	if (!xs.cur) {
		run_callbacks_inline();
		return;
	}
	while (xs.cb_head < ticket)
		xs_block(&barrier_waiters, "rcu_barrier", "rcu_barrier");
}
