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

/**
 * lock_acquire() - check an acquisition of @lock before it may block.
 * @lock: the lock.
 * @class: its class (name and rank).
 * @nested: an annotated acquisition of a second lock of the same rank.
 * @trylock: a trylock, which cannot deadlock: only recursion is checked.
 * @fn: the function acquiring it, for the report.
 *
 * Context: the current task; reports recursion or a breach of the rank
 * order as lockdep would and ends the run (hw_report_fatal()).
 */
void lock_acquire(const void *lock, const struct lock_class *class,
		  bool nested, bool trylock, const char *fn);
/**
 * lock_acquired() - the acquisition succeeded: record it.
 * @lock: the lock.
 * @class: its class.
 * @mode: exclusive, read or write.
 * @fn: the function that took it.
 *
 * Context: the current task, which now holds @lock.
 */
void lock_acquired(const void *lock, const struct lock_class *class,
		   enum lock_mode mode, const char *fn);
/**
 * lock_release() - forget @lock.
 * @lock: the lock.
 * @class: its class.
 *
 * Context: the current task; a release of a lock it does not hold is
 * reported ("bad unlock balance") and ends the run.
 */
void lock_release(const void *lock, const struct lock_class *class);

/* spin_bug() - "BUG: spinlock @msg on CPU#0": a destroyed lock. */
void spin_bug(spinlock_t *l, const char *msg, const char *fn)
	__attribute__((noreturn));

#endif
