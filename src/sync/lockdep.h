/* SPDX-License-Identifier: MIT */
/*
 * The held-lock tracker, for the implementations of the locks only
 * (sync/lock.c in the real build, sync/explore/lock.c in the explore
 * build): both record acquisitions the same way, so lockdep's reports
 * read the same whichever build found them.
 */
#ifndef HW_SYNC_LOCKDEP_H
#define HW_SYNC_LOCKDEP_H

#include "sync/sync.h"

/*
 * lock_acquire() - check an acquisition of @lock before it may block:
 * recursion, and (unless @trylock) the rank order.  Reports and ends
 * the run on a breach.
 */
void lock_acquire(const void *lock, const struct lock_class *class,
		  bool nested, bool trylock, const char *fn);
/* lock_acquired() - the acquisition succeeded: record it. */
void lock_acquired(const void *lock, const struct lock_class *class,
		   enum lock_mode mode, const char *fn);
/* lock_release() - forget @lock; reports a release of a lock not held. */
void lock_release(const void *lock, const struct lock_class *class);

/* spin_bug() - "BUG: spinlock @msg on CPU#0": a destroyed lock. */
void spin_bug(spinlock_t *l, const char *msg, const char *fn)
	__attribute__((noreturn));

#endif
