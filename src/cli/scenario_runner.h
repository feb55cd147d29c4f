/* SPDX-License-Identifier: MIT */
/*
 * The executor's state while it runs one scenario, shared by
 * scenario_run.c (the ops) and scenario_check.c (expectations, output).
 */
#ifndef HW_CLI_SCENARIO_RUNNER_H
#define HW_CLI_SCENARIO_RUNNER_H

#include "cli/scenario.h"

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

/* -v and --draw output. */
void sc_print_counters(struct runner *r);
void sc_draw(struct runner *r, bool always, bool silent);

#endif
