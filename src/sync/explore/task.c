// SPDX-License-Identifier: MIT
/*
 * Tasks for the explore build.  The explorer's coroutines are tasks from
 * birth (xs_spawn()); the explorer's own context, which sets a harness
 * up and checks the invariants afterwards, is the "main" task that
 * hw_system_create() registers, as in the real build.
 *
 * Invariant: current is the running coroutine's task, or the main task
 * outside a schedule; never NULL once a system was created.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/explore/xs.h"

static struct task_struct main_task;
static bool main_registered;

struct task_struct *hw_current(void)
{
	if (likely(xs.cur))
		return &xs.cur->ts;
	if (unlikely(!main_registered)) {
		fprintf(stderr, "hugewalk: the explorer called into the "
			"library without a task\n");
		abort();
	}
	return &main_task;
}

void task_adopt(const char *name)
{
}

int task_register(const char *name, struct hw_report_sink *sink, void *owner)
{
	if (xs.cur || main_registered)
		return -EBUSY;
	memset(&main_task, 0, sizeof(main_task));
	snprintf(main_task.comm, sizeof(main_task.comm), "%s",
		 name ? name : "task");
	main_task.sink = sink;
	main_task.owner = owner;
	main_registered = true;
	return 0;
}

void task_unregister(void)
{
	if (xs.cur)
		return;		/* a coroutine ends when its body returns */
	BUG_ON(main_task.lockdep_depth != 0);
	BUG_ON(main_task.rcu_read_depth != 0);
	main_registered = false;
}
