/* SPDX-License-Identifier: MIT */
/* The chooser behind every strategy, for strategy.c and replay.c only. */
#ifndef HW_CHECK_STRATEGY_H
#define HW_CHECK_STRATEGY_H

#include "check/check.h"

#define PCT_MAX_DEPTH	8

enum chooser_kind { CH_DFS, CH_REPLAY, CH_PCT, CH_RANDOM };

struct chooser {
	enum chooser_kind kind;
	struct race_sched *rec;		/* every decision is recorded here */
	unsigned long n;		/* decisions so far */
	unsigned long prefix_len;	/* DFS: rec->chosen[0..) is forced */
	const struct race_dev *devs;	/* replay: forced deviations */
	int nr_devs, next_dev;
	int diverged;			/* replay: forced task not runnable */
	int prio[XS_MAX_TASKS];		/* PCT */
	unsigned long change[PCT_MAX_DEPTH];
	int nr_change;
	uint64_t rng;
};

extern const struct xs_ops race_choose_ops;

void chooser_init(struct chooser *c, enum chooser_kind kind,
		  struct race_sched *rec);
int race_sched_reserve(struct race_sched *s, unsigned long n);
void race_sched_free(struct race_sched *s);
int race_sched_devs(const struct race_sched *s, unsigned long len,
		    struct race_dev **devs, int *preemptions);
uint64_t race_rand(uint64_t *state);
/* Shrink the failing schedule @s of @e; fill @res's replay fields. */
int race_shrink(struct race_engine *e, struct race_sched *s,
		struct race_result *res);

#endif
