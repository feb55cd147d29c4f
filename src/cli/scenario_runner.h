/* SPDX-License-Identifier: MIT */
/*
 * The executor's state while it runs one scenario, shared by
 * scenario_run.c (the ops) and scenario_check.c (expectations, output).
 */
#ifndef HW_CLI_SCENARIO_RUNNER_H
#define HW_CLI_SCENARIO_RUNNER_H

#include <pthread.h>

#include "cli/scenario.h"

#define SC_TIMEOUT_MS	5000	/* default bound of every wait */

/*
 * What one op did, filled by sc_exec_op() on whichever thread ran it and
 * read by sc_report_exec() on the main thread.
 */
struct sc_exec {
	bool ran;		/* the backend was called */
	int ret;		/* 0, -errno, or the signal of an access */
	uint64_t at;		/* where the signal was raised */
	long count;		/* pages pinned or read; mappings referenced */
	unsigned long nr_fast;	/* gup_fast: pinned by the lockless walk */
	uint64_t *tags;		/* each page read or pinned, in order */
	unsigned int ntags;
	unsigned long npages;	/* pagemap: entries read */
	unsigned long present, exclusive, file;	/* pagemap: with the bit */
	unsigned long pfn;	/* pagemap: the first page's frame */
	unsigned long resident;	/* mincore: huge pages wholly resident */
	unsigned long partial;	/* mincore: huge pages partly resident */
	unsigned long hpages;	/* mincore: huge pages looked at */
	struct sc_page page;	/* follow_page */
	struct sc_uffd_msg msg;	/* uffd_read */
	bool measured;		/* faults is meaningful */
	unsigned long faults;	/* of the faulting process, during the op */
	unsigned long f0;	/* its count before the op */
};

/* An op on a thread of its own: `&`, or one that may sleep in a fault. */
struct sc_job {
	struct runner *r;
	const struct sc_op *op;
	struct sc_exec x;
	pthread_t thread;
	bool done;		/* under runner.job_lock */
	bool joined;		/* main thread only: pthread_join() done */
	struct sc_job *next;
};

struct runner {
	const struct scenario *sc;
	const struct sc_backend *be;
	const struct sc_run_opts *o;
	struct sc_result *res;
	void *m;
	bool *alive;		/* per name: a live process, an open file */
	char buf[512];		/* the trace text of the current op */
	size_t len;
	char detail[256];	/* what the op saw, noted by call() */
	char dbuf[4096];	/* its diagnostics */
	size_t dlen;
	char *last_draw;	/* the drawing printed last */
	struct sc_obs *cur;	/* the current op's observables, or NULL */
	bool stopped;		/* the machine diverged: run no more ops */

	unsigned int timeout_ms;	/* bound of every wait */
	bool uffd_used;		/* the scenario registers a userfaultfd */
	struct sc_job *jobs;	/* background ops not joined, oldest first */
	pthread_mutex_t job_lock;
	pthread_cond_t job_cond;	/* a job is done; CLOCK_MONOTONIC */
	bool wedged;		/* a task never came back */
};

/* The trace line of the current op: its result, then what it saw. */
void sc_note(struct runner *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sc_detail(struct runner *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "path:line: ...", printed after the op's trace line. */
void sc_diag(struct runner *r, const struct sc_op *op, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void sc_flush_diags(struct runner *r);

/* Names for results: "EINVAL", "SIGSEGV", "ok", else a number. */
const char *sc_errname(int err, char *buf, size_t size);
const char *sc_outcome(int ret, bool access, char *buf, size_t size);
const char *sc_proc_name(struct runner *r, int idx);

int sc_stat_of(struct runner *r, int proc, enum sc_key key,
	       unsigned long *v);
const struct sc_check *sc_find_check(const struct sc_op *op,
				     enum sc_key key);

/* Expectations: the op's result, its faults=, an `expect` line. */
void sc_check_result(struct runner *r, const struct sc_op *op, int ret,
		     bool access, uint64_t sig_addr);
void sc_check_faults(struct runner *r, const struct sc_op *op,
		     bool measured, unsigned long delta);
void sc_run_expect(struct runner *r, const struct sc_op *op);

/* scenario_exec.c: the ops that may run on another thread. */
bool sc_has_hook(const struct sc_backend *be, enum sc_kind kind);
bool sc_is_exec_kind(enum sc_kind kind);
int sc_fault_subject(const struct sc_op *op);
void sc_exec_op(struct runner *r, const struct sc_op *op, struct sc_exec *x);
void sc_faults_begin(struct runner *r, const struct sc_op *op,
		     struct sc_exec *x);
void sc_faults_end(struct runner *r, const struct sc_op *op,
		   struct sc_exec *x);
void sc_report_exec(struct runner *r, const struct sc_op *op,
		    struct sc_exec *x);
void sc_obs_record(struct sc_obs *obs, const struct sc_exec *x);

/* scenario_bg.c: background ops, `wait`, and bounded foreground ops. */
int sc_jobs_init(struct runner *r);
bool sc_on_thread(const struct runner *r, const struct sc_op *op);
void sc_run_on_thread(struct runner *r, const struct sc_op *op);
void sc_run_wait(struct runner *r, const struct sc_op *op);
bool sc_jobs_cleanup(struct runner *r);
void sc_print_line(struct runner *r, const char *indent, const char *text);

/* -v and --draw output. */
void sc_print_counters(struct runner *r);
void sc_draw(struct runner *r, bool always, bool silent);

int sc_name_missing(const struct runner *r, const struct sc_op *op);
int sc_call_syscall(struct runner *r, const struct sc_op *op,
		    unsigned long *pool_now);

#endif
