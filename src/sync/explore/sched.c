// SPDX-License-Identifier: MIT
/*
 * The explore build's scheduler: tasks are coroutines on one OS thread,
 * switched by a hand-written x86-64 context switch (callee-saved
 * registers and the stack pointer; no system call), and every primitive
 * of the sync layer is a scheduling point where the explorer's chooser
 * decides which task runs next.
 *
 * Invariants kept:
 *  - exactly one context runs: a task (xs.cur) or the explorer (xs.cur
 *    NULL); a switch happens only inside hw_sched_point(), xs_block(),
 *    at a task's end and in hw_report_fatal(), so between two scheduling
 *    points a task runs alone, as if atomically;
 *  - bit i of xs.runnable is set iff task i is XS_RUNNABLE; the RCU task
 *    is runnable iff the oldest pending callback's grace period is over;
 *  - the chooser is asked only when two or more tasks can run; with one
 *    runnable task it simply runs, with none the schedule is over: done
 *    if every task but RCU's finished, a deadlock otherwise;
 *  - a schedule is a pure function of the arena's bytes at its start and
 *    of the chooser's answers: nothing else (time, addresses of other
 *    memory, randomness) reaches the tasks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sync/explore/xs.h"

#define XS_STACK_SIZE	(256 * 1024)
#define XS_GUARD	4096
/*
 * A schedule longer than this is a task retrying forever while the
 * chooser starves the one it waits for (a lock-free retry loop has no
 * fairness here): reported, not run on.
 */
#define XS_MAX_POINTS	(4UL << 20)

struct xs_sched xs;

/*
 * xs_switch() - save the callee-saved registers of the running context
 * on its stack, store its stack pointer in *@from, and resume the
 * context whose stack pointer is @to.  The SysV ABI makes every other
 * register the caller's to save, so this is a complete context switch
 * for code that calls it as a function.
 */
void xs_switch(void **from, void *to);
__asm__(
	"	.text\n"
	"	.globl	xs_switch\n"
	"	.type	xs_switch, @function\n"
	"xs_switch:\n"
	"	pushq	%rbp\n"
	"	pushq	%rbx\n"
	"	pushq	%r12\n"
	"	pushq	%r13\n"
	"	pushq	%r14\n"
	"	pushq	%r15\n"
	"	movq	%rsp, (%rdi)\n"
	"	movq	%rsi, %rsp\n"
	"	popq	%r15\n"
	"	popq	%r14\n"
	"	popq	%r13\n"
	"	popq	%r12\n"
	"	popq	%rbx\n"
	"	popq	%rbp\n"
	"	ret\n"
	"	.size	xs_switch, .-xs_switch\n");

static void *stacks[XS_MAX_TASKS];

static void xs_switch_to(struct xs_task *next)
{
	struct xs_task *prev = xs.cur;

	xs.cur = next;
	xs_switch(prev ? &prev->sp : &xs.main_sp, next->sp);
}

/* Back to the explorer: the schedule is over. */
static void __attribute__((noreturn)) xs_exit_to_main(void)
{
	struct xs_task *prev = xs.cur;
	void *dummy;

	xs.cur = NULL;
	xs_switch(prev ? &prev->sp : &dummy, xs.main_sp);
	__builtin_unreachable();
}

static void trace(struct xs_task *t, enum xs_event ev, enum hw_sched_op op,
		  const void *obj, int arg, const char *what, const char *fn)
{
	if (xs.ops->trace)
		xs.ops->trace(xs.ctx, t->idx, ev, op, obj, arg, what, fn);
}

/*
 * Pick and switch to another task: the current one (if any) cannot go
 * on.  Ends the schedule when nobody can run.
 */
static void xs_resched(void)
{
	unsigned int m = xs.runnable;
	int next;

	if (!m) {
		xs.finding = xs.live ? HW_FINDING_DEADLOCK : HW_FINDING_NONE;
		xs_exit_to_main();
	}
	if (m & (m - 1)) {
		xs.nr_decisions++;
		next = xs.ops->choose(xs.ctx, -1, m);
		BUG_ON(!(m & (1U << next)));
	} else {
		next = __builtin_ctz(m);
	}
	xs_switch_to(&xs.tasks[next]);
}

/* The first frame of every task. */
static void __attribute__((noreturn)) xs_entry(void)
{
	struct xs_task *t = xs.cur;

	t->fn(t->arg);
	BUG_ON(t->ts.lockdep_depth || t->ts.rcu_read_depth);
	t->state = XS_DONE;
	xs.runnable &= ~(1U << t->idx);
	xs.live &= ~(1U << t->idx);
	trace(t, XS_EV_EXIT, 0, NULL, 0, NULL, NULL);
	xs_resched();
	__builtin_unreachable();
}

static void __attribute__((noreturn)) xs_livelock(struct xs_task *t)
{
	FILE *out = t->ts.sink && t->ts.sink->out ? t->ts.sink->out : stderr;

	fprintf(out, "\nINFO: schedule exceeded %lu scheduling points: %s "
		"livelocked?\n", XS_MAX_POINTS, t->ts.comm);
	lockdep_print_held_locks(out, &t->ts);
	fflush(out);
	hw_report_fatal(HW_FINDING_LIVELOCK);
}

static bool op_traced_before_choice(enum hw_sched_op op)
{
	/* These points come after their operation took effect. */
	return op == SCHED_UNLOCK || op == SCHED_RCU_UNLOCK ||
	       op == SCHED_WAKE;
}

/**
 * xs_point() - a scheduling point: ask the chooser who runs next, and
 * switch to it.
 * @op: what the current task is about to do (or, for a release, did).
 * @obj: the object it does it to.
 * @arg: the level of a table, the mode of a lock, a share-count delta.
 * @what: the lock class or object name a trace shows, or NULL.
 * @fn: the function taking a lock, or NULL.
 *
 * Context: any; a no-op in the explorer's own context.  Returns when the
 * current task is chosen to run again.
 */
void xs_point(enum hw_sched_op op, const void *obj, int arg,
	      const char *what, const char *fn)
{
	struct xs_task *t = xs.cur;
	unsigned int m;
	int next;

	if (!t)
		return;
	if (unlikely(++xs.nr_points > XS_MAX_POINTS))
		xs_livelock(t);
	if (t->ts.site_depth > 0 && t->ts.site_depth <= HW_MAX_SITES &&
	    t->ts.sites[t->ts.site_depth - 1].id == xs.watch_site)
		xs.site_reached = true;
	if (op_traced_before_choice(op))
		trace(t, XS_EV_STEP, op, obj, arg, what, fn);
	m = xs.runnable;
	/*
	 * After a release there is no decision: switching here is the same
	 * interleaving, at the same preemption cost, as switching at the
	 * task's next point, since nothing it does in between is visible.
	 */
	if ((m & (m - 1)) && !op_traced_before_choice(op)) {
		xs.nr_decisions++;
		next = xs.ops->choose(xs.ctx, t->idx, m);
		BUG_ON(!(m & (1U << next)));
		if (next != t->idx)
			xs_switch_to(&xs.tasks[next]);
	}
	if (!op_traced_before_choice(op))
		trace(t, XS_EV_STEP, op, obj, arg, what, fn);
}

/**
 * hw_sched_point() - the scheduling point of src/mm (sync/sched.h).
 * @op: the operation about to be done.
 * @obj: its object.
 * @arg: see xs_point().
 *
 * Context: any.
 */
void hw_sched_point(enum hw_sched_op op, const void *obj, int arg)
{
	xs_point(op, obj, arg, NULL, NULL);
}

/**
 * xs_block() - the current task waits for @obj: it is not runnable until
 * xs_wake(@obj), and returns when it runs again (the caller rechecks).
 * @obj: the lock, wait queue or RCU state waited for.
 * @what: its name, for the trace and a deadlock report.
 * @fn: the function waiting.
 *
 * Context: a task of the schedule; the explorer's own context has nobody
 * to wait for and aborts.
 */
void xs_block(const void *obj, const char *what, const char *fn)
{
	struct xs_task *t = xs.cur;

	/* The explorer's own context has nobody to wait for. */
	if (!t) {
		fprintf(stderr, "hugewalk explore: the setup context would "
			"block on %s in %s\n", what ? what : "?",
			fn ? fn : "?");
		abort();
	}
	t->state = XS_BLOCKED;
	t->wait_on = obj;
	t->wait_what = what;
	t->wait_fn = fn;
	xs.runnable &= ~(1U << t->idx);
	/* The callback task waiting for work is not worth a line. */
	if (t->idx != xs.rcu_task)
		trace(t, XS_EV_BLOCK, 0, obj, 0, what, fn);
	xs_resched();
}

/**
 * xs_wake() - make every task blocked on @obj runnable.
 * @obj: what changed.
 *
 * Context: any.  Not a scheduling point by itself.
 */
void xs_wake(const void *obj)
{
	int i;

	for (i = 0; i < xs.nr_tasks; i++) {
		struct xs_task *t = &xs.tasks[i];

		if (t->state == XS_BLOCKED && t->wait_on == obj) {
			t->state = XS_RUNNABLE;
			t->wait_on = NULL;
			xs.runnable |= 1U << i;
		}
	}
}

/*
 * hw_report_fatal() - a checker reported: the schedule ends here and the
 * task is abandoned (its stack is reused by the next schedule, its heap
 * rolled back with the arena).  In the explorer's own context (setup,
 * the invariant census) a report is a bug of the harness: abort.
 */
void hw_report_fatal(enum hw_finding kind)
{
	const struct call_site *site;

	xs.finding = kind;
	if (!xs.cur)
		abort();
	site = current_site();
	xs.finding_site = site ? site->id : -1;
	xs_exit_to_main();
}

static int stacks_init(void)
{
	int i;

	for (i = 0; i < XS_MAX_TASKS; i++) {
		char *p;

		if (stacks[i])
			continue;
		p = mmap(NULL, XS_STACK_SIZE + XS_GUARD,
			 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		if (p == MAP_FAILED)
			return -1;
		/* A guard page below the stack: overflow faults. */
		mprotect(p, XS_GUARD, PROT_NONE);
		stacks[i] = p + XS_GUARD;
	}
	return 0;
}

/**
 * xs_reset() - forget the last schedule's tasks and RCU state.
 *
 * Context: the explorer's own context, no schedule running.
 */
void xs_reset(void)
{
	xs.nr_tasks = 0;
	xs.rcu_task = -1;
	xs.cur = NULL;
	xs.runnable = 0;
	xs.live = 0;
	xs.finding = HW_FINDING_NONE;
	xs.finding_site = -1;
	xs.site_reached = false;
	xs.nr_points = 0;
	xs.nr_decisions = 0;
	xs.cb_head = xs.cb_tail = 0;
}

/**
 * xs_spawn() - add a task to the next schedule.
 * @comm: its name.
 * @fn: its body, run as a coroutine with @arg.
 * @arg: the body's argument.
 * @sink: where its reports go (the system's).
 * @owner: the system it runs in.
 *
 * Context: the explorer's own context, after xs_reset().
 * Return: the task's number, or -1 if there are too many or no stack.
 */
int xs_spawn(const char *comm, void (*fn)(void *), void *arg,
	     struct hw_report_sink *sink, void *owner)
{
	struct xs_task *t;
	uintptr_t top;
	void **sp;
	int i;

	if (xs.nr_tasks >= XS_MAX_TASKS || stacks_init())
		return -1;
	i = xs.nr_tasks++;
	t = &xs.tasks[i];
	memset(&t->ts, 0, sizeof(t->ts));
	snprintf(t->ts.comm, sizeof(t->ts.comm), "%s", comm);
	t->ts.sink = sink;
	t->ts.owner = owner;
	t->idx = i;
	t->state = XS_RUNNABLE;
	t->wait_on = NULL;
	t->fn = fn;
	t->arg = arg;
	t->rcu_ended = 0;
	/*
	 * The initial frame, as xs_switch() pops it: six callee-saved
	 * registers, then the return address xs_entry, entered with the
	 * stack 8 bytes off 16-byte alignment, as after a call.
	 */
	top = ((uintptr_t)stacks[i] + XS_STACK_SIZE) & ~(uintptr_t)15;
	sp = (void **)top;
	*--sp = NULL;			/* xs_entry's own return address */
	*--sp = (void *)xs_entry;
	for (int r = 0; r < 6; r++)
		*--sp = NULL;
	t->sp = sp;
	xs.runnable |= 1U << i;
	xs.live |= 1U << i;
	return i;
}

/**
 * xs_task_gate() - start task @task blocked on @obj.
 * @task: a task xs_spawn() returned, not run yet.
 * @obj: what wakes it (xs_wake(), wake_up_all() of a wait queue).
 * @what: its name, for a deadlock report.
 *
 * Context: the explorer's own context, before xs_run().
 */
void xs_task_gate(int task, const void *obj, const char *what)
{
	struct xs_task *t = &xs.tasks[task];

	BUG_ON(task < 0 || task >= xs.nr_tasks || t->state != XS_RUNNABLE);
	t->state = XS_BLOCKED;
	t->wait_on = obj;
	t->wait_what = what;
	t->wait_fn = "its start";
	xs.runnable &= ~(1U << task);
}

static void print_deadlock(FILE *out)
{
	int i;

	fprintf(out, "\n============================================\n");
	fprintf(out, "WARNING: possible deadlock: no task can run\n");
	fprintf(out, "--------------------------------------------\n");
	for (i = 0; i < xs.nr_tasks; i++) {
		struct xs_task *t = &xs.tasks[i];

		if (t->state != XS_BLOCKED || i == xs.rcu_task)
			continue;
		fprintf(out, "task %s blocked on %p (%s) in %s\n", t->ts.comm,
			t->wait_on, t->wait_what ? t->wait_what : "?",
			t->wait_fn ? t->wait_fn : "?");
		lockdep_print_held_locks(out, &t->ts);
	}
	fflush(out);
}

/**
 * xs_run() - run the spawned tasks and the RCU callback task to the end
 * of the schedule, @ops choosing at each decision.
 * @ops: the chooser and the optional tracer.
 * @ctx: their argument.
 * @deadlock_out: where a deadlock is described, or NULL.
 *
 * Context: the explorer's own context.
 * Return: HW_FINDING_NONE if every task finished and every callback ran;
 * else the reporting checker's kind, or HW_FINDING_DEADLOCK.
 */
enum hw_finding xs_run(const struct xs_ops *ops, void *ctx,
		       FILE *deadlock_out)
{
	struct hw_report_sink *sink = xs.nr_tasks ? xs.tasks[0].ts.sink : NULL;
	void *owner = xs.nr_tasks ? xs.tasks[0].ts.owner : NULL;
	unsigned int m;
	int first;

	xs.ops = ops;
	xs.ctx = ctx;
	/* The RCU callback task: runnable only when a callback is ready. */
	xs.rcu_task = xs_spawn("rcu_callback", xs_rcu_task_body, NULL, sink,
			       owner);
	if (xs.rcu_task < 0)
		return HW_FINDING_BUG;
	xs.live &= ~(1U << xs.rcu_task);
	xs.runnable &= ~(1U << xs.rcu_task);
	xs.tasks[xs.rcu_task].state = XS_BLOCKED;
	xs.tasks[xs.rcu_task].wait_on = &xs.cbs;
	xs_rcu_update();

	m = xs.runnable;
	if (!m)
		return HW_FINDING_NONE;
	if (m & (m - 1)) {
		xs.nr_decisions++;
		first = ops->choose(ctx, -1, m);
	} else {
		first = __builtin_ctz(m);
	}
	xs_switch_to(&xs.tasks[first]);
	/* Back here when the schedule is over. */
	if (xs.finding == HW_FINDING_DEADLOCK && deadlock_out)
		print_deadlock(deadlock_out);
	return xs.finding;
}

int xs_nr_tasks(void)
{
	return xs.nr_tasks;
}

const char *xs_task_name(int task)
{
	return task >= 0 && task < xs.nr_tasks ? xs.tasks[task].ts.comm : "?";
}

unsigned long xs_nr_points(void)
{
	return xs.nr_points;
}

unsigned long xs_nr_decisions(void)
{
	return xs.nr_decisions;
}

int xs_finding_site(void)
{
	return xs.finding_site;
}

void xs_watch_site(int site)
{
	xs.watch_site = site;
}

bool xs_site_reached(void)
{
	return xs.site_reached;
}

void xs_set_broken_grace_period(bool broken)
{
	xs.broken_gp = broken;
}
