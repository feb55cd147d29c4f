// SPDX-License-Identifier: MIT
/*
 * Locks for the real build, and the held-lock tracker behind the
 * lockdep-style checks.
 *
 * Invariants kept:
 *  - current->held[0..lockdep_depth) lists exactly the locks this task
 *    holds, in acquisition order, each with its mode;
 *  - a blocking acquisition is recorded only after it succeeds, and
 *    checked against the order before it blocks, so a report names the
 *    inversion rather than hanging in it;
 *  - rw semaphores prefer writers and do not allow a reader to recurse,
 *    like the kernel's rwsem: a task that read-locks twice can deadlock
 *    against a waiting writer, and the tracker reports it first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "sync/sync.h"

static const char *mode_name(enum lock_mode m)
{
	switch (m) {
	case LOCK_READ:
		return "read";
	case LOCK_WRITE:
		return "write";
	default:
		return "excl";
	}
}

static FILE *report_out(struct task_struct *t)
{
	return t && t->sink && t->sink->out ? t->sink->out : stderr;
}

void lockdep_print_held_locks(FILE *out, struct task_struct *t)
{
	int i;

	fprintf(out, "%d lock%s held by %s:\n", t->lockdep_depth,
		t->lockdep_depth == 1 ? "" : "s", t->comm);
	for (i = 0; i < t->lockdep_depth; i++)
		fprintf(out, " #%d: %p (%s){%s}, at: %s\n", i,
			t->held[i].lock, t->held[i].class->name,
			mode_name(t->held[i].mode), t->held[i].acquired_at);
	if (t->rcu_read_depth)
		fprintf(out, " rcu_read_lock nesting %d\n", t->rcu_read_depth);
}

static void __attribute__((noreturn))
lockdep_die(struct task_struct *t, const char *title, const void *lock,
	    const struct lock_class *class, const char *fn)
{
	FILE *out = report_out(t);

	fprintf(out, "\n======================================================\n");
	fprintf(out, "WARNING: %s\n", title);
	fprintf(out, "------------------------------------------------------\n");
	fprintf(out, "%s is trying to acquire lock:\n", t->comm);
	fprintf(out, "%p (%s), at: %s\n\n", lock, class->name, fn);
	fprintf(out, "but task is already holding lock:\n");
	lockdep_print_held_locks(out, t);
	fflush(out);
	abort();
}

static void lock_acquire(const void *lock, const struct lock_class *class,
			 bool nested, bool trylock, const char *fn)
{
	struct task_struct *t = current;
	int i;

	for (i = 0; i < t->lockdep_depth; i++) {
		const struct held_lock *h = &t->held[i];

		if (h->lock == lock)
			lockdep_die(t, "possible recursive locking detected",
				    lock, class, fn);
		if (trylock)
			continue;
		if (h->class->rank > class->rank ||
		    (h->class->rank == class->rank && !nested))
			lockdep_die(t, "possible circular locking dependency detected",
				    lock, class, fn);
	}
	if (t->lockdep_depth >= HW_MAX_HELD)
		lockdep_die(t, "too many locks held", lock, class, fn);
}

static void lock_acquired(const void *lock, const struct lock_class *class,
			  enum lock_mode mode, const char *fn)
{
	struct task_struct *t = current;

	t->held[t->lockdep_depth++] = (struct held_lock){
		.lock = lock, .class = class, .mode = mode, .acquired_at = fn,
	};
}

static void lock_release(const void *lock, const struct lock_class *class)
{
	struct task_struct *t = current;
	int i;

	for (i = t->lockdep_depth - 1; i >= 0; i--) {
		if (t->held[i].lock != lock)
			continue;
		for (; i < t->lockdep_depth - 1; i++)
			t->held[i] = t->held[i + 1];
		t->lockdep_depth--;
		return;
	}
	lockdep_die(t, "bad unlock balance detected", lock, class, "unlock");
}

bool lockdep_is_held_type(const void *lock, enum lock_mode mode)
{
	struct task_struct *t = current;
	int i;

	for (i = 0; i < t->lockdep_depth; i++)
		if (t->held[i].lock == lock && t->held[i].mode == mode)
			return true;
	return false;
}

bool lockdep_is_held(const void *lock)
{
	struct task_struct *t = current;
	int i;

	for (i = 0; i < t->lockdep_depth; i++)
		if (t->held[i].lock == lock)
			return true;
	return false;
}

void __lockdep_assert_fail(const void *lock, const char *what,
			   const char *file, int line, const char *fn)
{
	struct task_struct *t = current;
	FILE *out = report_out(t);

	fprintf(out, "\nWARNING: lockdep_assert_held(%s) failed\n", what);
	fprintf(out, "at %s:%d in %s, task %s\n", file, line, fn, t->comm);
	lockdep_print_held_locks(out, t);
	fflush(out);
	abort();
}

void __hw_bug(const char *cond, const char *file, int line, const char *fn)
{
	fprintf(stderr, "\nkernel BUG at %s:%d!\nBUG_ON(%s) in %s\n",
		file, line, cond, fn);
	fflush(stderr);
	abort();
}

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

static void __attribute__((noreturn))
spin_bug(spinlock_t *l, const char *msg, const char *fn)
{
	struct task_struct *t = current;
	FILE *out = report_out(t);
	const struct call_site *site = current_site();

	fprintf(out, "\nBUG: spinlock %s on CPU#0, %s/%s\n", msg, t->comm,
		site ? site->name : fn);
	fprintf(out, " lock: %p, .magic: %08x, class: %s, at: %s\n", l,
		READ_ONCE(l->magic), l->class ? l->class->name : "?", fn);
	lockdep_print_held_locks(out, t);
	fflush(out);
	abort();
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
