// SPDX-License-Identifier: MIT
/*
 * Scenario executor, ops on threads of their own.
 *
 * `P read ADDR &` starts the access on a new thread, registered with the
 * machine as a task of its own, and the run goes on at once: that is how
 * a scenario lets a fault sleep in a userfaultfd range while the monitor
 * (the ops that follow, on the main thread) reads the event and resolves
 * it.  `wait P` joins P's background ops, oldest first, prints a trace
 * line for each and checks its expectations there.
 *
 * Nothing waits without a bound:
 *  - `wait` gives the jobs the run's time limit (5 s, run --timeout);
 *  - in a scenario that registers a userfaultfd, a foreground op that can
 *    sleep in a fault runs as a job too, joined at once with that limit,
 *    so that a fault nobody resolves is an error, not a hang;
 *  - uffd_read polls for its event within the limit (scenario_exec.c).
 * When a job outlives the limit, the backend's unblock closes every
 * userfaultfd, which wakes every sleeping fault; the jobs get the limit
 * once more, and the run stops there.  A job that still does not come
 * back (a bug of the machine) cannot be taken back: the command reports
 * it and exits rather than destroy the machine under it
 * (scenario_run()).
 *
 * Invariants:
 *  - a job is on runner.jobs from its start until it is joined; its
 *    struct sc_exec is written by its thread only, until done is set
 *    under job_lock, and read by the main thread only after it saw done
 *    under job_lock (the lock orders the two);
 *  - a job only calls hooks the backend allows from another thread
 *    (struct sc_backend, "Background ops"), on its own process and, for
 *    process_vm_readv, its peer, neither of which can exit before the
 *    job is joined (the parser refuses the exit).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/scenario_runner.h"

/**
 * sc_jobs_init() - set up @r's job list lock and its condition, which
 * waits on CLOCK_MONOTONIC.
 * @r: the run, before any op.
 *
 * Context: the main thread.
 * Return: 0 or a negative errno.
 */
int sc_jobs_init(struct runner *r)
{
	pthread_condattr_t attr;
	int ret;

	ret = pthread_condattr_init(&attr);
	if (ret)
		return -ret;
	ret = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!ret)
		ret = pthread_cond_init(&r->job_cond, &attr);
	pthread_condattr_destroy(&attr);
	if (ret)
		return -ret;
	ret = pthread_mutex_init(&r->job_lock, NULL);
	if (ret) {
		pthread_cond_destroy(&r->job_cond);
		return -ret;
	}
	return 0;
}

/**
 * sc_print_line() - print "TEXT   -> NOTE", the note being the current
 * op's r->buf, unless the run is quiet.
 * @r: the run.
 * @indent: what goes before @text.
 * @text: the op's text.
 *
 * Context: the main thread.
 */
void sc_print_line(struct runner *r, const char *indent, const char *text)
{
	int w = (int)(strlen(indent) + strlen(text));

	if (r->o->quiet)
		return;
	fprintf(r->o->out, "%s%s%*s -> %.*s\n", indent, text,
		w < 46 ? 46 - w : 0, "", (int)r->len, r->buf);
}

/**
 * sc_on_thread() - should @op run on a thread of its own?
 * @r: the run.
 * @op: an op that sc_is_exec_kind() accepts.
 *
 * Return: true when the machine lets other threads in (thread_enter) and
 * can do @op, and @op is a background op, or an op that may sleep in a
 * userfault (the scenario registers one) that only a later op could
 * resolve.
 */
bool sc_on_thread(const struct runner *r, const struct sc_op *op)
{
	if (!r->be->thread_enter || !sc_has_hook(r->be, op->kind))
		return false;
	if (op->background)
		return true;
	switch (op->kind) {
	case SC_READ:
	case SC_WRITE:
	case SC_MADVISE:
	case SC_GUP:
	case SC_GUP_FAST:
	case SC_PROCESS_VM_READV:
		return r->uffd_used;
	default:
		return false;
	}
}

static void *job_main(void *arg)
{
	struct sc_job *j = arg;
	struct runner *r = j->r;
	const struct sc_op *op = j->op;
	char name[64];
	int ret;

	snprintf(name, sizeof(name), "%s@%d", sc_proc_name(r, op->proc),
		 op->pos.line);
	ret = r->be->thread_enter(r->m, name);
	if (ret) {
		j->x.ran = true;
		j->x.ret = ret;
	} else {
		sc_exec_op(r, op, &j->x);
		sc_faults_end(r, op, &j->x);
		r->be->thread_exit(r->m);
	}
	pthread_mutex_lock(&r->job_lock);
	j->done = true;
	pthread_cond_broadcast(&r->job_cond);
	pthread_mutex_unlock(&r->job_lock);
	return NULL;
}

/* Start @op on a new thread, appended to r->jobs.  0 or -errno. */
static int job_start(struct runner *r, const struct sc_op *op,
		     struct sc_job **out)
{
	struct sc_job *j = calloc(1, sizeof(*j)), **tail;
	int ret;

	if (!j)
		return -ENOMEM;
	j->r = r;
	j->op = op;
	/* Counted from here: the faults of whatever runs meanwhile too. */
	sc_faults_begin(r, op, &j->x);
	ret = pthread_create(&j->thread, NULL, job_main, j);
	if (ret) {
		free(j);
		return -ret;
	}
	for (tail = &r->jobs; *tail; tail = &(*tail)->next)
		;
	*tail = j;
	*out = j;
	return 0;
}

static void deadline_in(struct timespec *ts, unsigned int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* Wait for @j until @deadline; join it if it is done.  True if joined. */
static bool job_join(struct runner *r, struct sc_job *j,
		     const struct timespec *deadline)
{
	bool done;

	if (j->joined)
		return true;
	pthread_mutex_lock(&r->job_lock);
	while (!j->done &&
	       pthread_cond_timedwait(&r->job_cond, &r->job_lock,
				      deadline) != ETIMEDOUT)
		;
	done = j->done;
	pthread_mutex_unlock(&r->job_lock);
	if (done)
		pthread_join(j->thread, NULL);
	j->joined = done;
	return done;
}

static void job_unlink(struct runner *r, struct sc_job *j)
{
	struct sc_job **pp;

	for (pp = &r->jobs; *pp; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	}
}

/* The trace of a joined job: its observables, then its line and checks. */
static void job_report(struct runner *r, struct sc_job *j, const char *indent)
{
	const struct sc_op *op = j->op;
	struct sc_obs *obs = NULL;
	char text[320];

	if (r->o->trace)
		obs = &r->o->trace->obs[op - r->sc->ops];
	r->len = 0;
	if (obs)
		sc_obs_record(obs, &j->x);
	sc_report_exec(r, op, &j->x);
	if (obs) {
		obs->tags = j->x.tags;
		obs->ntags = j->x.ntags;
		j->x.tags = NULL;
	}
	snprintf(text, sizeof(text), "line %d: %s", op->pos.line, op->text);
	if (*indent)
		sc_print_line(r, indent, text);
	sc_flush_diags(r);
	free(j->x.tags);
	free(j);
}

/*
 * Some job did not come back within the limit: release every sleeping
 * fault and give the jobs the limit once more.  The run stops here.
 * Returns true if every job came back.
 */
static bool unblock_all(struct runner *r, const struct sc_op *op)
{
	struct timespec deadline;
	struct sc_job *j;
	bool all = true;

	if (r->be->unblock)
		r->be->unblock(r->m);
	deadline_in(&deadline, r->timeout_ms);
	for (j = r->jobs; j; j = j->next)
		all &= job_join(r, j, &deadline);
	r->stopped = true;
	r->res->stopped_line = op->pos.line;
	snprintf(r->res->stopped, sizeof(r->res->stopped),
		 "an op did not come back within %u ms", r->timeout_ms);
	if (!all)
		r->wedged = true;
	return all;
}

/* Why a job may not have come back, for the diagnostic. */
static const char *stuck_hint(const struct runner *r)
{
	return r->uffd_used ?
	       "it sleeps in a userfault nobody resolved: read the event with 'uffd_read' and resolve it with 'uffd_copy', or unregister the range" :
	       "it sleeps";
}

/*
 * After unblock_all(): what came back was forced back, its results mean
 * nothing; free it.  What did not stays for sc_jobs_cleanup().
 */
static void discard_joined(struct runner *r)
{
	struct sc_job *j, *next;

	for (j = r->jobs; j; j = next) {
		next = j->next;
		if (!j->joined)
			continue;
		job_unlink(r, j);
		free(j->x.tags);
		free(j);
	}
}

/**
 * sc_run_on_thread() - run @op on a thread of its own: a background op
 * starts and the run goes on; any other is joined at once, within the
 * time limit, and reported as if it had run here.  One that does not
 * come back fails, releases every sleeping fault and stops the run.
 * @r: the run.
 * @op: an op for which sc_on_thread() holds.
 *
 * Context: the main thread.
 */
void sc_run_on_thread(struct runner *r, const struct sc_op *op)
{
	struct timespec deadline;
	struct sc_job *j;
	int ret;

	ret = job_start(r, op, &j);
	if (ret) {
		r->res->failed++;
		sc_note(r, "not run");
		sc_diag(r, op, "cannot start a thread for it: %s",
			strerror(-ret));
		return;
	}
	if (op->background) {
		sc_note(r, "started in the background");
		return;
	}
	deadline_in(&deadline, r->timeout_ms);
	if (!job_join(r, j, &deadline)) {
		r->res->failed++;
		sc_note(r, "did not come back within %u ms", r->timeout_ms);
		sc_diag(r, op, "'%s' did not come back within %u ms: %s",
			op->text, r->timeout_ms, r->uffd_used ?
			"it sleeps in a userfault, which only another op can resolve: run it in the background with '&', then 'uffd_read' the event, 'uffd_copy' the page and 'wait'" :
			"it sleeps");
		unblock_all(r, op);
		discard_joined(r);
		return;
	}
	job_unlink(r, j);
	if (r->cur)
		sc_obs_record(r->cur, &j->x);
	sc_report_exec(r, op, &j->x);
	if (r->cur) {
		r->cur->tags = j->x.tags;
		r->cur->ntags = j->x.ntags;
		j->x.tags = NULL;
	}
	free(j->x.tags);
	free(j);
}

/**
 * sc_run_wait() - `wait [P]`: join P's background ops, or all, oldest
 * first, within the time limit; print the line, then one line per op
 * joined, with its checks.  If one does not come back, release every
 * sleeping fault and stop the run.
 * @r: the run.
 * @op: the wait.
 *
 * Context: the main thread.
 */
void sc_run_wait(struct runner *r, const struct sc_op *op)
{
	struct timespec deadline;
	struct sc_job *j, *next;
	unsigned int joined = 0, late = 0;

	deadline_in(&deadline, r->timeout_ms);
	for (j = r->jobs; j; j = j->next) {
		if (op->proc >= 0 && j->op->proc != op->proc)
			continue;
		if (job_join(r, j, &deadline)) {
			joined++;
			continue;
		}
		late++;
		r->res->failed++;
		sc_diag(r, j->op, "'%s' still running %u ms after 'wait' at line %d: %s",
			j->op->text, r->timeout_ms, op->pos.line,
			stuck_hint(r));
	}
	if (late)
		sc_note(r, "FAILED, %u background op%s still running", late,
			late == 1 ? "" : "s");
	else if (!joined)
		sc_note(r, "nothing to join (skipped on this machine)");
	else
		sc_note(r, "ok, %u joined", joined);
	sc_print_line(r, "  ", op->text);
	sc_flush_diags(r);
	for (j = r->jobs; j; j = next) {
		next = j->next;
		if (!j->joined || (op->proc >= 0 && j->op->proc != op->proc))
			continue;
		job_unlink(r, j);
		job_report(r, j, "      ");
	}
	if (late) {
		unblock_all(r, op);
		discard_joined(r);
	}
	r->len = 0;
}

/**
 * sc_jobs_cleanup() - at the end of a run, release and join the jobs
 * left, which only a stopped run has.
 * @r: the run.
 *
 * Context: the main thread.
 * Return: false if a task never came back (now or earlier); then the
 * machine must not be destroyed under it.
 */
bool sc_jobs_cleanup(struct runner *r)
{
	struct timespec deadline;
	struct sc_job *j, *next;
	bool all = true;

	if (!r->jobs)
		return !r->wedged;
	if (r->be->unblock)
		r->be->unblock(r->m);
	deadline_in(&deadline, r->timeout_ms);
	for (j = r->jobs; j; j = next) {
		next = j->next;
		if (!job_join(r, j, &deadline)) {
			all = false;
			continue;
		}
		job_unlink(r, j);
		free(j->x.tags);
		free(j);
	}
	if (!all)
		r->wedged = true;
	return all;
}
