// SPDX-License-Identifier: MIT
/*
 * Wait queues for the real build: a sequence count under a mutex and a
 * condition variable.
 *
 * Invariant: a waiter samples seq before testing its condition, and
 * sleeps only while seq is unchanged; a waker changes the condition
 * before bumping seq.  So a wake-up between the test and the sleep is
 * never lost.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sync/sync.h"
#include "sync/wait.h"

void init_waitqueue_head(struct wait_queue_head *wq)
{
	pthread_mutex_init(&wq->lock, NULL);
	pthread_cond_init(&wq->cond, NULL);
	wq->seq = 0;
}

void destroy_waitqueue_head(struct wait_queue_head *wq)
{
	pthread_cond_destroy(&wq->cond);
	pthread_mutex_destroy(&wq->lock);
}

/* __might_sleep() is the tracker's (lockdep.c): both builds share it. */

unsigned long __wait_prepare(struct wait_queue_head *wq, const char *fn)
{
	unsigned long seq;

	__might_sleep(fn);
	pthread_mutex_lock(&wq->lock);
	seq = wq->seq;
	pthread_mutex_unlock(&wq->lock);
	return seq;
}

void __wait_sleep(struct wait_queue_head *wq, unsigned long seq)
{
	pthread_mutex_lock(&wq->lock);
	while (wq->seq == seq)
		pthread_cond_wait(&wq->cond, &wq->lock);
	pthread_mutex_unlock(&wq->lock);
}

void wake_up_all(struct wait_queue_head *wq)
{
	pthread_mutex_lock(&wq->lock);
	wq->seq++;
	pthread_cond_broadcast(&wq->cond);
	pthread_mutex_unlock(&wq->lock);
}
