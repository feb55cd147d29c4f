// SPDX-License-Identifier: MIT
/*
 * RCU for the real build: liburcu, memb flavour (memory-barrier readers,
 * no signals), with _LGPL_SOURCE so that read_lock/unlock are inlined.
 *
 * The task's rcu_read_depth mirrors liburcu's own nesting count; it is
 * what rcu_read_lock_held() answers from, as lockdep's rcu_lock_map does.
 */
#include <stddef.h>

#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE
#endif
#include <urcu/urcu-memb.h>

#include "sync/sync.h"

_Static_assert(sizeof(struct rcu_head) <= sizeof(((struct hw_rcu_head *)0)->urcu_node),
	       "hw_rcu_head too small for liburcu's rcu_head");

void rcu_read_lock(void)
{
	urcu_memb_read_lock();
	current->rcu_read_depth++;
}

void rcu_read_unlock(void)
{
	struct task_struct *t = current;

	BUG_ON(t->rcu_read_depth <= 0);
	t->rcu_read_depth--;
	urcu_memb_read_unlock();
}

bool rcu_read_lock_held(void)
{
	return current->rcu_read_depth > 0;
}

void synchronize_rcu(void)
{
	/* Waiting for a grace period inside a read section never ends. */
	BUG_ON(current->rcu_read_depth > 0);
	urcu_memb_synchronize_rcu();
}

static void hw_rcu_trampoline(struct rcu_head *rh)
{
	struct hw_rcu_head *head = (struct hw_rcu_head *)rh;

	task_adopt("rcu_callback");
	head->func(head);
}

void call_rcu(struct hw_rcu_head *head, void (*func)(struct hw_rcu_head *))
{
	head->func = func;
	urcu_memb_call_rcu((struct rcu_head *)head, hw_rcu_trampoline);
}

void rcu_barrier(void)
{
	urcu_memb_barrier();
}
