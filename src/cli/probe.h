/* SPDX-License-Identifier: MIT */
/*
 * `hugewalk probe`: the races the explorer finds, run for a bounded time
 * on the machine's own kernel (probe.c).
 */
#ifndef HW_CLI_PROBE_H
#define HW_CLI_PROBE_H

#include <stdio.h>

struct probe_opts {
	double seconds;		/* how long each probe runs */
	const char *only;	/* one probe by name, or NULL for all */
	FILE *out;
	int kmsg;		/* set by hw_probe(): /dev/kmsg, or -1 */
};

/**
 * hw_probe() - run the probes: the series' reproducer on each call site
 * userspace reaches, each for @opts->seconds, checking data and the
 * kernel log.
 * @opts: how long, which, where the report goes.
 *
 * Context: root and a 2 MiB hugetlb pool (as the kernel backend).
 * Return: how many probes found something; -ENODEV if they cannot run
 * here (the reason is printed).
 */
int hw_probe(const struct probe_opts *opts);

/* The probes' names, for help and errors: "populate, pagemap, ...". */
const char *hw_probe_names(void);

#endif
