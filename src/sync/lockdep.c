// SPDX-License-Identifier: MIT
/*
 * The held-lock tracker behind the lockdep-style checks, and the other
 * checks of a task's context (might_sleep(), BUG_ON()).  Shared by the
 * real and the explore build: only how a lock blocks differs between
 * them, not what is recorded or reported.
 *
 * Invariants kept:
 *  - current->held[0..lockdep_depth) lists exactly the locks this task
 *    holds, in acquisition order, each with its mode;
 *  - a blocking acquisition is recorded only after it succeeds, and
 *    checked against the order before it blocks, so a report names the
 *    inversion rather than hanging in it;
 *  - every report ends in hw_report_fatal(): abort() in the real build,
 *    the end of the schedule in the explore build.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sync/lockdep.h"

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
	hw_report_fatal(HW_FINDING_LOCKDEP);
}

void lock_acquire(const void *lock, const struct lock_class *class,
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

void lock_acquired(const void *lock, const struct lock_class *class,
		   enum lock_mode mode, const char *fn)
{
	struct task_struct *t = current;

	t->held[t->lockdep_depth++] = (struct held_lock){
		.lock = lock, .class = class, .mode = mode, .acquired_at = fn,
	};
}

void lock_release(const void *lock, const struct lock_class *class)
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
	hw_report_fatal(HW_FINDING_ASSERT);
}

void __hw_bug(const char *cond, const char *file, int line, const char *fn)
{
#ifdef HW_EXPLORE
	/* A schedule's report goes with the others, to the explorer. */
	FILE *out = report_out(current);
#else
	FILE *out = stderr;
#endif

	fprintf(out, "\nkernel BUG at %s:%d!\nBUG_ON(%s) in %s\n",
		file, line, cond, fn);
	fflush(out);
	hw_report_fatal(HW_FINDING_BUG);
}

void spin_bug(spinlock_t *l, const char *msg, const char *fn)
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
	hw_report_fatal(HW_FINDING_BAD_LOCK);
}

/*
 * __might_sleep() - report a sleep in atomic context: inside an RCU
 * read-side section, or with a spinning lock (ptl rank or inner) held.
 */
void __might_sleep(const char *fn)
{
	struct task_struct *t = current;
	FILE *out = report_out(t);
	int i;
	bool atomic = t->rcu_read_depth > 0;

	for (i = 0; i < t->lockdep_depth; i++)
		if (t->held[i].class->rank >= RANK_PTL)
			atomic = true;
	if (!atomic)
		return;
	fprintf(out, "\nBUG: sleeping function called from invalid context at %s\n",
		fn);
	fprintf(out, "in_atomic(): 1, rcu nesting: %d, name: %s\n",
		t->rcu_read_depth, t->comm);
	lockdep_print_held_locks(out, t);
	fflush(out);
	hw_report_fatal(HW_FINDING_SLEEP);
}
