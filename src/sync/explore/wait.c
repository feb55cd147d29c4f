// SPDX-License-Identifier: MIT
/*
 * Wait queues for the explore build: a sequence count; a sleeper blocks
 * in the explorer until a wake-up moves it.
 *
 * Invariant, as in the real build: a waiter samples seq before testing
 * its condition and sleeps only while seq is unchanged; a waker changes
 * the condition before bumping seq, so no wake-up is lost.  The test of
 * the condition is a scheduling point, so the explorer tries wake-ups
 * between the test and the sleep.
 */
#include "sync/explore/xs.h"

void init_waitqueue_head(struct wait_queue_head *wq)
{
	wq->seq = 0;
}

void destroy_waitqueue_head(struct wait_queue_head *wq)
{
}

unsigned long __wait_prepare(struct wait_queue_head *wq, const char *fn)
{
	__might_sleep(fn);
	xs_point(SCHED_WAIT, wq, 0, "wait queue", fn);
	return wq->seq;
}

void __wait_sleep(struct wait_queue_head *wq, unsigned long seq)
{
	while (wq->seq == seq)
		xs_block(wq, "wait queue", "wait_event");
}

void wake_up_all(struct wait_queue_head *wq)
{
	wq->seq++;
	xs_wake(wq);
	xs_point(SCHED_WAKE, wq, 0, "wait queue", NULL);
}
