// SPDX-License-Identifier: MIT
/*
 * Which observables of a scenario depend on scheduling, and so are not
 * compared by `hugewalk diff` (docs/differences.md, "Background ops").
 *
 * Decided from the text of the scenario alone, never from what a run
 * saw, so that a diff skips the same items on every run:
 *
 *  - While a background op of P is in flight, P's fault counter moves
 *    whenever that op's faults are taken: the faults of P's other ops
 *    (a uffd_copy that wakes the op's sleeping fault, say) are not
 *    compared, nor are those of the background op itself if another op
 *    of P that may fault ran during its life.
 *  - While any background op is in flight, the counters read after an
 *    op (HugePages_*, HugetlbPages) and what an observer counted
 *    (pagemap, mincore) are a snapshot of an op half done.
 *  - Once two ops that change page tables or the pool have run at the
 *    same time (a race: two background ops, or a background op and a
 *    foreground one), the state they leave depends on their order, from
 *    there to the end of the file: from that op on, fault counts,
 *    counters and observers' counts are not compared.  The monitor's
 *    side of userfaultfd (uffd_read, uffd_copy, uffd_wake,
 *    uffd_unregister, uffd_close) is no race: the access it serves
 *    waits for it.
 * Results (errno, signal) and the tags a read loaded are compared
 * everywhere: a race scenario asserts them with `=>`, and the explorer
 * checks that they hold in every order (docs/explorer.md).
 */
#include <errno.h>
#include <stdlib.h>

#include "cli/diff.h"

/*
 * Ops that make no race with a background op: those that change neither
 * page tables nor the pool, and the monitor's side of userfaultfd, which
 * does (UFFDIO_COPY allocates and maps a page) but only for the access
 * that waits for it.
 */
static bool settles(enum sc_kind kind)
{
	switch (kind) {
	case SC_UFFD_READ:
	case SC_UFFD_COPY:
	case SC_UFFD_WAKE:
	case SC_UFFD_UNREGISTER:
	case SC_UFFD_CLOSE:
	case SC_PAGEMAP:
	case SC_MINCORE:
	case SC_FOLLOW_PAGE:
	case SC_FOLIO_REFERENCED:
	case SC_EXPECT:
	case SC_WAIT:
	case SC_POLICY:
	case SC_VIOLATIONS:
	case SC_DRAW:
	case SC_CHECK:
		return true;
	default:
		return false;
	}
}

/* Ops whose call-site counts are a snapshot of the tables. */
static bool observes(enum sc_kind kind)
{
	return kind == SC_PAGEMAP || kind == SC_MINCORE ||
	       kind == SC_FOLLOW_PAGE || kind == SC_FOLIO_REFERENCED;
}

/* Does `wait` @w join background op @b? */
static bool joins(const struct sc_op *w, const struct sc_op *b)
{
	return w->proc < 0 || w->proc == b->proc;
}

/* Is background op @b joined by a wait before op @end? */
static bool joined_before(const struct scenario *sc, size_t b, size_t end)
{
	for (size_t w = b + 1; w < end; w++)
		if (sc->ops[w].kind == SC_WAIT &&
		    joins(&sc->ops[w], &sc->ops[b]))
			return true;
	return false;
}

/**
 * sc_timing() - which observables of each op of @sc depend on scheduling.
 * @sc: the scenario.
 * @t: filled: skip[i] is a mask of SC_SKIP_* for op i; race_op the first
 *     op that ran at the same time as another that changes state, or
 *     sc->nops.
 *
 * Return: 0 or -ENOMEM.
 */
int sc_timing(const struct scenario *sc, struct sc_timing *t)
{
	size_t *flight, nflight = 0, i, j, n;
	bool changer_in_flight;

	t->race_op = sc->nops;
	t->skip = calloc(sc->nops + 1, sizeof(*t->skip));
	flight = calloc(sc->nops + 1, sizeof(*flight));
	if (!t->skip || !flight) {
		free(flight);
		sc_timing_free(t);
		return -ENOMEM;
	}
	for (i = 0; i < sc->nops; i++) {
		const struct sc_op *op = &sc->ops[i];

		if (op->kind == SC_WAIT) {
			for (j = n = 0; j < nflight; j++)
				if (!joins(op, &sc->ops[flight[j]]))
					flight[n++] = flight[j];
			nflight = n;
			if (nflight)
				t->skip[i] |= SC_SKIP_COUNTERS;
			continue;
		}
		changer_in_flight = false;
		for (j = 0; j < nflight; j++) {
			const struct sc_op *b = &sc->ops[flight[j]];

			changer_in_flight |= !settles(b->kind);
			if (op->proc < 0 || b->proc != op->proc)
				continue;
			/* P's counter, shared with b: neither count is
			 * the op's own. */
			t->skip[i] |= SC_SKIP_FAULTS;
			if (!settles(op->kind))
				t->skip[flight[j]] |= SC_SKIP_FAULTS;
		}
		if (nflight && observes(op->kind))
			t->skip[i] |= SC_SKIP_VALS;
		if (changer_in_flight && !settles(op->kind) &&
		    t->race_op == sc->nops)
			t->race_op = i;
		if (op->background) {
			flight[nflight++] = i;
			if (observes(op->kind))
				t->skip[i] |= SC_SKIP_VALS;
		}
		if (nflight)
			t->skip[i] |= SC_SKIP_COUNTERS;
	}
	/* From the race on; and a background op alive at it. */
	for (i = 0; i < sc->nops; i++) {
		if (i >= t->race_op)
			t->skip[i] |= SC_SKIP_FAULTS | SC_SKIP_COUNTERS |
				      SC_SKIP_VALS;
		else if (sc->ops[i].background &&
			 !joined_before(sc, i, t->race_op))
			t->skip[i] |= SC_SKIP_FAULTS | SC_SKIP_VALS;
	}
	free(flight);
	return 0;
}

void sc_timing_free(struct sc_timing *t)
{
	free(t->skip);
	t->skip = NULL;
}
