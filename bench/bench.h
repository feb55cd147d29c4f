/* SPDX-License-Identifier: MIT */
/* What the benchmarks share: a clock and a way to give up. */
#ifndef HW_BENCH_H
#define HW_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "bench: %s failed\n", what);
	exit(1);
}

#endif
