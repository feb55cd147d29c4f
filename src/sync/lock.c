// SPDX-License-Identifier: MIT
/*
 * Locks for the real build: pthread mutexes and rwlocks, with every
 * acquisition checked and recorded by the held-lock tracker (lockdep.c).
 *
 * Invariants kept:
 *  - a blocking acquisition is recorded only after it succeeds, and
 *    checked against the order before it blocks (lock_acquire());
 *  - rw semaphores prefer writers and do not allow a reader to recurse,
 *    like the kernel's rwsem: a task that read-locks twice can deadlock
 *    against a waiting writer, and the tracker reports it first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "sync/lockdep.h"

/* ---- spinlocks (the ptl) ------------------------------------------------ */

void spin_lock_init(spinlock_t *l, const struct lock_class *class)
{
	pthread_mutex_init(&l->m, NULL);
	l->class = class;
	WRITE_ONCE(l->magic, SPINLOCK_MAGIC);
}

/*
 * The destructor of a page table's ptl: the lock's memory stays, only its
 * magic dies, so that a later spin_lock() is caught as the kernel's
 * spinlock debugging would ("spinlock bad magic").
 */
void spin_lock_destroy(spinlock_t *l)
{
	WRITE_ONCE(l->magic, SPINLOCK_DEAD);
}

void __spin_lock(spinlock_t *l, int nested, const char *fn)
{
	if (READ_ONCE(l->magic) != SPINLOCK_MAGIC)
		spin_bug(l, "bad magic", fn);
	lock_acquire(l, l->class, nested, false, fn);
	pthread_mutex_lock(&l->m);
	lock_acquired(l, l->class, LOCK_EXCL, fn);
}

void __spin_unlock(spinlock_t *l)
{
	lock_release(l, l->class);
	pthread_mutex_unlock(&l->m);
}

/* ---- mutexes ------------------------------------------------------------ */

void mutex_init(struct mutex *m, const struct lock_class *class)
{
	pthread_mutex_init(&m->m, NULL);
	m->class = class;
}

void mutex_destroy(struct mutex *m)
{
	pthread_mutex_destroy(&m->m);
}

void __mutex_lock(struct mutex *m, int nested, const char *fn)
{
	lock_acquire(m, m->class, nested, false, fn);
	pthread_mutex_lock(&m->m);
	lock_acquired(m, m->class, LOCK_EXCL, fn);
}

void mutex_unlock(struct mutex *m)
{
	lock_release(m, m->class);
	pthread_mutex_unlock(&m->m);
}

/* ---- rw semaphores ------------------------------------------------------ */

void init_rwsem(struct rw_semaphore *s, const struct lock_class *class)
{
	pthread_rwlockattr_t a;

	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a,
			PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&s->rw, &a);
	pthread_rwlockattr_destroy(&a);
	s->class = class;
}

void destroy_rwsem(struct rw_semaphore *s)
{
	pthread_rwlock_destroy(&s->rw);
}

void __down_read(struct rw_semaphore *s, const char *fn)
{
	lock_acquire(s, s->class, false, false, fn);
	pthread_rwlock_rdlock(&s->rw);
	lock_acquired(s, s->class, LOCK_READ, fn);
}

void __down_write(struct rw_semaphore *s, int nested, const char *fn)
{
	lock_acquire(s, s->class, nested, false, fn);
	pthread_rwlock_wrlock(&s->rw);
	lock_acquired(s, s->class, LOCK_WRITE, fn);
}

bool __down_read_trylock(struct rw_semaphore *s, const char *fn)
{
	lock_acquire(s, s->class, false, true, fn);
	if (pthread_rwlock_tryrdlock(&s->rw))
		return false;
	lock_acquired(s, s->class, LOCK_READ, fn);
	return true;
}

bool __down_write_trylock(struct rw_semaphore *s, const char *fn)
{
	lock_acquire(s, s->class, false, true, fn);
	if (pthread_rwlock_trywrlock(&s->rw))
		return false;
	lock_acquired(s, s->class, LOCK_WRITE, fn);
	return true;
}

void up_read(struct rw_semaphore *s)
{
	lock_release(s, s->class);
	pthread_rwlock_unlock(&s->rw);
}

void up_write(struct rw_semaphore *s)
{
	lock_release(s, s->class);
	pthread_rwlock_unlock(&s->rw);
}
