/* SPDX-License-Identifier: MIT */
/*
 * Tasks: the threads that run the subsystem.  Each knows its name, the
 * locks it holds (for lockdep-style checks), its RCU read-side nesting and
 * the call site it is executing (for reports).
 */
#ifndef HW_SYNC_TASK_H
#define HW_SYNC_TASK_H

#include <stdbool.h>
#include <stdio.h>

#define HW_MAX_HELD	24
#define HW_MAX_SITES	8

struct lock_class;

enum lock_mode {
	LOCK_EXCL,		/* spinlock, mutex */
	LOCK_READ,		/* rw semaphore, shared */
	LOCK_WRITE,		/* rw semaphore, exclusive */
};

struct held_lock {
	const void *lock;
	const struct lock_class *class;
	enum lock_mode mode;
	const char *acquired_at;	/* function that took it */
};

/* Where reports go and what a walk-rule violation does; one per system. */
struct hw_report_sink {
	FILE *out;
	bool record;			/* count violations instead of abort() */
	unsigned long violations[32];	/* per call site id */
};

struct call_site {
	int id;
	const char *name;
};

struct task_struct {
	char comm[24];
	struct held_lock held[HW_MAX_HELD];
	int lockdep_depth;
	int rcu_read_depth;
	struct call_site sites[HW_MAX_SITES];
	int site_depth;
	struct hw_report_sink *sink;
	void *owner;			/* the system the task runs in */
	/*
	 * mm/: the mm whose fault counter this task's faults go to, when it
	 * works in another mm's address space (a remote GUP); NULL: the
	 * faulted mm's.  Linux charges the task: mm_account_fault().
	 */
	void *fault_mm;
};

struct task_struct *hw_current(void);
#define current (hw_current())

int task_register(const char *name, struct hw_report_sink *sink, void *owner);
void task_unregister(void);
void task_adopt(const char *name);

/*
 * site_enter() - the task starts executing a kernel path that walks page
 * tables; reports name it like a backtrace's first frame.
 */
static inline void site_enter(int id, const char *name)
{
	struct task_struct *t = current;

	if (t->site_depth < HW_MAX_SITES)
		t->sites[t->site_depth] = (struct call_site){ id, name };
	t->site_depth++;
}

static inline void site_exit(void)
{
	current->site_depth--;
}

static inline const struct call_site *current_site(void)
{
	struct task_struct *t = current;
	int d = t->site_depth;

	if (d <= 0)
		return NULL;
	return &t->sites[(d > HW_MAX_SITES ? HW_MAX_SITES : d) - 1];
}

/* Print the task's held locks, lockdep's "N locks held by T:" block. */
void lockdep_print_held_locks(FILE *out, struct task_struct *t);

#endif
