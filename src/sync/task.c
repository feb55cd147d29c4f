// SPDX-License-Identifier: MIT
/*
 * Task registration for the real build: one task per pthread, registered
 * with liburcu so that it may enter read-side critical sections.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE
#endif
#include <urcu/urcu-memb.h>

#include "sync/sync.h"

static __thread struct task_struct *current_task;

struct task_struct *hw_current(void)
{
	struct task_struct *t = current_task;

	if (unlikely(!t)) {
		fprintf(stderr, "hugewalk: a thread called into the library "
			"without hw_task_enter()\n");
		abort();
	}
	return t;
}

/*
 * task_adopt() - make the current thread a task without registering it
 * with liburcu: for liburcu's own call_rcu worker, which runs our
 * callbacks and is registered already.
 */
void task_adopt(const char *name)
{
	struct task_struct *t;

	if (current_task)
		return;
	t = calloc(1, sizeof(*t));
	if (!t)
		abort();
	snprintf(t->comm, sizeof(t->comm), "%s", name);
	current_task = t;
}

int task_register(const char *name, struct hw_report_sink *sink, void *owner)
{
	struct task_struct *t;

	if (current_task)
		return -EBUSY;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	snprintf(t->comm, sizeof(t->comm), "%s", name ? name : "task");
	t->sink = sink;
	t->owner = owner;
	current_task = t;
	urcu_memb_register_thread();
	return 0;
}

/* The real build ends a run at the first report, as panic_on_warn. */
void hw_report_fatal(enum hw_finding kind)
{
	abort();
}

void task_unregister(void)
{
	struct task_struct *t = current_task;

	if (!t)
		return;
	BUG_ON(t->lockdep_depth != 0);
	BUG_ON(t->rcu_read_depth != 0);
	urcu_memb_unregister_thread();
	current_task = NULL;
	free(t);
}
