// SPDX-License-Identifier: MIT
/*
 * Locks for the explore build.  A lock is the number of its holder (or
 * its readers and writer); a task that finds it taken blocks in the
 * explorer, not runnable until a release wakes it, and then tries again.
 * Every acquisition and release is a scheduling point, and each is
 * checked and recorded by the same held-lock tracker as the real build
 * (lockdep.c).
 *
 * Invariants kept:
 *  - owner (writer) is 0 or the holder's number; readers counts the
 *    holders of a read lock; never both a writer and readers;
 *  - rw semaphores prefer writers, as the real build's pthread rwlock
 *    (PREFER_WRITER_NONRECURSIVE) and the kernel's rwsem do: a reader
 *    blocks while a writer waits, so a reader that recurses can
 *    deadlock against a waiting writer, and the explorer finds it;
 *  - the scheduling point of an acquisition comes before it, that of a
 *    release after it, so that a waiter woken by the release may be the
 *    next to run.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sync/lockdep.h"
#include "sync/explore/xs.h"

/* ---- spinlocks (the ptl) ------------------------------------------------ */

void spin_lock_init(spinlock_t *l, const struct lock_class *class)
{
	l->owner = 0;
	l->class = class;
	WRITE_ONCE(l->magic, SPINLOCK_MAGIC);
}

/* The ptl destructor: only the magic dies ("spinlock bad magic"). */
void spin_lock_destroy(spinlock_t *l)
{
	WRITE_ONCE(l->magic, SPINLOCK_DEAD);
}

void __spin_lock(spinlock_t *l, int nested, const char *fn)
{
	xs_point(SCHED_LOCK, l, LOCK_EXCL, l->class ? l->class->name : NULL,
		 fn);
	if (READ_ONCE(l->magic) != SPINLOCK_MAGIC)
		spin_bug(l, "bad magic", fn);
	lock_acquire(l, l->class, nested, false, fn);
	while (l->owner)
		xs_block(l, l->class->name, fn);
	l->owner = xs_self();
	lock_acquired(l, l->class, LOCK_EXCL, fn);
}

void __spin_unlock(spinlock_t *l)
{
	lock_release(l, l->class);
	l->owner = 0;
	xs_wake(l);
	xs_point(SCHED_UNLOCK, l, LOCK_EXCL, l->class->name, NULL);
}

/* ---- mutexes ------------------------------------------------------------ */

void mutex_init(struct mutex *m, const struct lock_class *class)
{
	m->owner = 0;
	m->class = class;
}

void mutex_destroy(struct mutex *m)
{
}

void __mutex_lock(struct mutex *m, int nested, const char *fn)
{
	xs_point(SCHED_LOCK, m, LOCK_EXCL, m->class->name, fn);
	lock_acquire(m, m->class, nested, false, fn);
	while (m->owner)
		xs_block(m, m->class->name, fn);
	m->owner = xs_self();
	lock_acquired(m, m->class, LOCK_EXCL, fn);
}

void mutex_unlock(struct mutex *m)
{
	lock_release(m, m->class);
	m->owner = 0;
	xs_wake(m);
	xs_point(SCHED_UNLOCK, m, LOCK_EXCL, m->class->name, NULL);
}

/* ---- rw semaphores ------------------------------------------------------ */

void init_rwsem(struct rw_semaphore *s, const struct lock_class *class)
{
	s->writer = 0;
	s->readers = 0;
	s->writers_waiting = 0;
	s->class = class;
}

void destroy_rwsem(struct rw_semaphore *s)
{
}

void __down_read(struct rw_semaphore *s, const char *fn)
{
	xs_point(SCHED_LOCK, s, LOCK_READ, s->class->name, fn);
	lock_acquire(s, s->class, false, false, fn);
	while (s->writer || s->writers_waiting)
		xs_block(s, s->class->name, fn);
	s->readers++;
	lock_acquired(s, s->class, LOCK_READ, fn);
}

void __down_write(struct rw_semaphore *s, int nested, const char *fn)
{
	xs_point(SCHED_LOCK, s, LOCK_WRITE, s->class->name, fn);
	lock_acquire(s, s->class, nested, false, fn);
	while (s->writer || s->readers) {
		s->writers_waiting++;
		xs_block(s, s->class->name, fn);
		s->writers_waiting--;
	}
	s->writer = xs_self();
	lock_acquired(s, s->class, LOCK_WRITE, fn);
}

bool __down_read_trylock(struct rw_semaphore *s, const char *fn)
{
	xs_point(SCHED_TRYLOCK, s, LOCK_READ, s->class->name, fn);
	lock_acquire(s, s->class, false, true, fn);
	/* Like down_read_trylock(): a holding or waiting writer wins. */
	if (s->writer || s->writers_waiting)
		return false;
	s->readers++;
	lock_acquired(s, s->class, LOCK_READ, fn);
	return true;
}

bool __down_write_trylock(struct rw_semaphore *s, const char *fn)
{
	xs_point(SCHED_TRYLOCK, s, LOCK_WRITE, s->class->name, fn);
	lock_acquire(s, s->class, false, true, fn);
	if (s->writer || s->readers)
		return false;
	s->writer = xs_self();
	lock_acquired(s, s->class, LOCK_WRITE, fn);
	return true;
}

void up_read(struct rw_semaphore *s)
{
	lock_release(s, s->class);
	BUG_ON(s->readers <= 0);
	if (--s->readers == 0)
		xs_wake(s);
	xs_point(SCHED_UNLOCK, s, LOCK_READ, s->class->name, NULL);
}

void up_write(struct rw_semaphore *s)
{
	lock_release(s, s->class);
	BUG_ON(!s->writer);
	s->writer = 0;
	xs_wake(s);
	xs_point(SCHED_UNLOCK, s, LOCK_WRITE, s->class->name, NULL);
}
