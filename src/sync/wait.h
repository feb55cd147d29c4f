/* SPDX-License-Identifier: MIT */
/*
 * Wait queues: how a task sleeps until another wakes it (a fault that
 * meets a migration entry, a userfaultfd fault waiting for its monitor).
 *
 *	wait_event(&wq, cond);	sleeps until cond is true
 *	wake_up_all(&wq);	after making cond true
 *
 * Sleeping inside an RCU read-side section or with a spinlock held is
 * reported as the kernel's might_sleep() does, and aborts.
 */
#ifndef HW_SYNC_WAIT_H
#define HW_SYNC_WAIT_H

#include <pthread.h>

#ifndef HW_EXPLORE
struct wait_queue_head {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned long seq;	/* bumped by every wake-up */
};
#else
/* Explore build: a sleeper blocks in the explorer until seq moves. */
struct wait_queue_head {
	unsigned long seq;	/* bumped by every wake-up */
};
#endif

void init_waitqueue_head(struct wait_queue_head *wq);
void destroy_waitqueue_head(struct wait_queue_head *wq);
void wake_up_all(struct wait_queue_head *wq);

/* Internals of wait_event(). */
unsigned long __wait_prepare(struct wait_queue_head *wq, const char *fn);
void __wait_sleep(struct wait_queue_head *wq, unsigned long seq);

/* Sleep until @cond holds; @cond is re-evaluated after every wake-up. */
#define wait_event(wq, cond) do {					\
	for (;;) {							\
		unsigned long __seq = __wait_prepare((wq), __func__);	\
		if (cond)						\
			break;						\
		__wait_sleep((wq), __seq);				\
	}								\
} while (0)

/* might_sleep(): abort if the current task may not sleep here. */
void __might_sleep(const char *fn);
#define might_sleep()	__might_sleep(__func__)

#endif
