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

/*
 * ThreadSanitizer cannot see liburcu's grace periods (liburcu is not
 * instrumented): tell it that every read-side section ends before any
 * later grace period ends, and that call_rcu() happens before its
 * callback.  Without this, every RCU-deferred free looks like a race.
 */
#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
static char rcu_gp_clock, rcu_cb_clock;
#define tsan_acquire(a)	__tsan_acquire(a)
#define tsan_release(a)	__tsan_release(a)
#else
#define tsan_acquire(a)	do { } while (0)
#define tsan_release(a)	do { } while (0)
#endif

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
	tsan_release(&rcu_gp_clock);
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
	tsan_acquire(&rcu_gp_clock);
}

static void hw_rcu_trampoline(struct rcu_head *rh)
{
	struct hw_rcu_head *head = (struct hw_rcu_head *)rh;

	task_adopt("rcu_callback");
	tsan_acquire(head);
	tsan_acquire(&rcu_gp_clock);
	head->func(head);
	tsan_release(&rcu_cb_clock);
}

void call_rcu(struct hw_rcu_head *head, void (*func)(struct hw_rcu_head *))
{
	head->func = func;
	tsan_release(head);
	urcu_memb_call_rcu((struct rcu_head *)head, hw_rcu_trampoline);
}

void rcu_barrier(void)
{
	urcu_memb_barrier();
	tsan_acquire(&rcu_gp_clock);
	tsan_acquire(&rcu_cb_clock);
}
