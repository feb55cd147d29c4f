/* SPDX-License-Identifier: MIT */
/*
 * `hugewalk diff`: run a scenario on the model and on the kernel and
 * compare every observable (diff.c); generate random scenarios and shrink
 * the ones that differ (diff_random.c).
 */
#ifndef HW_CLI_DIFF_H
#define HW_CLI_DIFF_H

#include "cli/scenario.h"

struct sc_diff_opts {
	FILE *out;		/* differences and summaries */
	bool print;		/* print each difference */
	bool verbose;		/* and both runs' traces */
};

/* What comparing one scenario found. */
struct sc_diff {
	unsigned int ndiffs;	/* observables that differ */
	int first_line;		/* the op of the first difference */
	char sig[96];		/* its kind: "read faults", "munmap result" */
	size_t compared;	/* ops compared */
	bool partial;		/* the kernel diverged at stop_line */
	int stop_line;
	bool not_run;		/* the kernel backend could not start */
	unsigned int skipped;	/* model-only items the kernel skipped */
	unsigned int timed;	/* observables skipped: scheduling-dependent */
	unsigned int timed_flight;	/* of them, while a background op ran */
	int race_line;		/* ops ran concurrently here; 0: never */
	char why[512];		/* why partial or not run */
};

/* Observables of an op that depend on scheduling (diff_timing.c). */
enum {
	SC_SKIP_FAULTS = 1,	/* its faults= */
	SC_SKIP_COUNTERS = 2,	/* the pool counters and rss after it */
	SC_SKIP_VALS = 4,	/* what an observer (pagemap, mincore) saw */
};

struct sc_timing {
	unsigned char *skip;	/* per op: SC_SKIP_* */
	size_t race_op;		/* the first op that raced another, or nops */
};

int sc_timing(const struct scenario *sc, struct sc_timing *t);
void sc_timing_free(struct sc_timing *t);

/**
 * sc_diff_run() - run @sc on the model and on the kernel and compare.
 * @sc: the scenario.
 * @o: where to print, and how much.
 * @d: what was found.
 *
 * Context: the kernel backend's requirements (root, a free hugetlb pool).
 * Return: 0 (the comparison is in @d, with d->not_run when the kernel
 * could not run it at all), or a negative errno.
 */
int sc_diff_run(const struct scenario *sc, const struct sc_diff_opts *o,
		struct sc_diff *d);

/**
 * sc_diff_compare() - compare two traces of @sc, op by op, up to the op
 * where either machine stopped; print each difference to @out (if not
 * NULL) under its op's line, and count them in @d.
 * @sc: the scenario both traces ran.
 * @m: the model's trace.
 * @k: the kernel's trace.
 * @out: where differences go, or NULL.
 * @d: zeroed by the caller; ndiffs, first_line, sig, compared, and
 *     partial/stop_line/why when an op ran on one machine only.
 */
void sc_diff_compare(const struct scenario *sc, const struct sc_trace *m,
		     const struct sc_trace *k, FILE *out, struct sc_diff *d);

/* "AGREE|DIFFER|PARTIAL|NOT RUN FILE (...)" and the reason, if any. */
void sc_diff_summary(const struct scenario *sc, const struct sc_diff *d,
		     FILE *out);

struct sc_random_opts {
	unsigned long count;	/* scenarios to generate */
	uint64_t seed;
	unsigned long max_pool;	/* the largest pool a scenario may ask */
	bool shrink;		/* shrink a differing scenario */
	bool keep_going;	/* go on after the first difference */
	const char *save_dir;	/* write differing scenarios there */
	FILE *out;
	bool verbose;
};

/**
 * sc_random_diff() - generate @o->count scenarios from @o->seed, diff
 * each, and print every one that differs, shrunk, as a scenario file.
 * Return: the number of scenarios that differed, or a negative errno
 * (-ENODEV when the kernel backend cannot run at all).
 */
long sc_random_diff(const struct sc_random_opts *o);

/**
 * sc_diff_report_shrunk() - print a scenario that differs, shrunk to the
 * fewest lines that still differ the same way (d->sig), as a file the
 * user can run again, then its differences.
 * @name: its name in messages (and the file's under @save_dir).
 * @text: the scenario.
 * @d: what diffing it found.
 * @do_shrink: shrink it, or print it whole.
 * @save_dir: write the result there too, if not NULL.
 * @out: where it goes.
 */
void sc_diff_report_shrunk(const char *name, const char *text,
			   const struct sc_diff *d, bool do_shrink,
			   const char *save_dir, FILE *out);

/**
 * sc_random_scenario() - the text of scenario @index of @seed, the same
 * on every machine.  Return: a malloc'd NUL-terminated string, or NULL.
 */
char *sc_random_scenario(uint64_t seed, unsigned long index,
			 unsigned long max_pool);

#endif
