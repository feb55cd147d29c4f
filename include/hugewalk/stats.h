/* SPDX-License-Identifier: MIT */
#ifndef HUGEWALK_STATS_H
#define HUGEWALK_STATS_H

#include <stdio.h>

struct hw_system;
struct hw_mm;

/* The hugetlb lines of /proc/meminfo, plus what only the model can see. */
struct hw_meminfo {
	unsigned long hugepages_total;
	unsigned long hugepages_free;
	unsigned long hugepages_rsvd;
	unsigned long pagetables;	/* page-table pages (PGD, PUD, PMD) */
	unsigned long shared_pmds;	/* PMD tables with pt_share_count > 0 */
};

struct hw_mm_stats {
	unsigned long minflt;		/* faults taken, like ru_minflt */
	unsigned long nr_pmds;		/* PUD entries pointing at PMD tables */
	unsigned long hugetlb_rss;	/* huge pages mapped (HugetlbPages) */
};

void hw_meminfo(struct hw_system *sys, struct hw_meminfo *mi);
void hw_mm_stats(struct hw_mm *mm, struct hw_mm_stats *st);

/* Count of walk-rule violations recorded at each site, printed to @out. */
unsigned long hw_violations(struct hw_system *sys, FILE *out);

/*
 * hw_violations_at() - the violations recorded at call site @site (named
 * as the kernel function: "follow_hugetlb_page", ...), or all of them if
 * @site is NULL.  Return: the count, or -1 for an unknown site name.
 */
long hw_violations_at(struct hw_system *sys, const char *site);

/**
 * hw_draw() - draw which PUD slots of which mm point at which PMD table,
 * with each table's share count and mapped pages.
 */
void hw_draw(struct hw_system *sys, FILE *out);

/**
 * hw_check_invariants() - check, on a quiescent system, that every share
 * count equals the PUD entries pointing at the table less one, that pool
 * counters and reservations agree, that mapcounts match the entries.
 * Return: the number of broken invariants, each described on @out.
 */
int hw_check_invariants(struct hw_system *sys, FILE *out);

#endif
