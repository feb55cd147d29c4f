// SPDX-License-Identifier: MIT
/*
 * `hugewalk diff` without a kernel: the comparison of two traces
 * (sc_diff_compare()) on traces made by hand, and the random scenario
 * generator (every scenario parses, the same seed gives the same text).
 * What the kernel backend itself does is tests/live.sh's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/diff.h"
#include "tap.h"

static struct scenario *parse(const char *text)
{
	struct scenario *sc = NULL;
	struct sc_error err;

	CHECK_MSG(!scenario_parse("t.hw", text, strlen(text), &sc, &err),
		  "parse: %s", err.msg);
	return sc;
}

/* A trace of @sc where every op ran and returned 0, counters all 0. */
static void trace_init(const struct scenario *sc, struct sc_trace *t)
{
	memset(t, 0, sizeof(*t));
	t->nops = sc->nops;
	t->stop = sc->nops;
	t->obs = calloc(sc->nops + 1, sizeof(*t->obs));
	CHECK(t->obs);
	for (size_t i = 0; i < sc->nops; i++) {
		t->obs[i].ran = !sc->ops[i].model_only &&
				sc->ops[i].kind != SC_EXPECT;
		t->obs[i].measured = true;
		t->obs[i].rss = calloc(sc->nnames + 1, sizeof(unsigned long));
		CHECK(t->obs[i].rss);
	}
}

/* Compare, with the printed differences in @text (free it). */
static void compare(const struct scenario *sc, const struct sc_trace *m,
		    const struct sc_trace *k, struct sc_diff *d, char **text)
{
	size_t len = 0;
	FILE *out = open_memstream(text, &len);

	CHECK(out);
	memset(d, 0, sizeof(*d));
	sc_diff_compare(sc, m, k, out, d);
	fclose(out);
	for (const char *l = *text, *e; *l; l = *e ? e + 1 : e) {
		e = strchr(l, '\n');
		if (!e)
			e = l + strlen(l);
		printf("# %.*s\n", (int)(e - l), l);
	}
	fflush(stdout);
}

static const char two_procs[] =
	"pool 16\n"				/* 1 */
	"memfd f\n"				/* 2 */
	"ftruncate f 1G\n"			/* 3 */
	"spawn A\n"				/* 4 */
	"spawn B\n"				/* 5 */
	"A mmap 0x40000000 1G rw shared f 0\n"	/* 6 */
	"B mmap 0x40000000 1G rw shared f 0\n"	/* 7 */
	"A write 0x40000000 2 tag=1\n"		/* 8 */
	"B read 0x40000000 2\n"			/* 9 */
	"draw\n"				/* 10 */
	"expect B faults=1\n"			/* 11 */
	"B munmap 0x40000000 1G\n";		/* 12 */

/*
 *  A: |== f ==|   B: |== f ==|   the same trace twice: nothing to say.
 */
static void same_traces_agree(void)
{
	struct scenario *sc = parse(two_procs);
	struct sc_trace m, k;
	struct sc_diff d;
	char *text;

	trace_init(sc, &m);
	trace_init(sc, &k);
	compare(sc, &m, &k, &d, &text);
	CHECK_EQ(d.ndiffs, 0);
	CHECK_EQ(d.partial, false);
	CHECK_EQ(d.compared, sc->nops);
	CHECK_EQ(strlen(text), 0);
	free(text);
	sc_trace_free(&m);
	sc_trace_free(&k);
	scenario_free(sc);
}

/*
 * B's read: the model says one fault and tags 1, 1; the kernel two faults
 * and a second tag 0.  Each observable is one difference, under the op's
 * line; the first names the op and the observable.
 */
static void op_differences_are_reported_under_the_op(void)
{
	struct scenario *sc = parse(two_procs);
	struct sc_trace m, k;
	uint64_t mt[2] = { 1, 1 }, kt[2] = { 1, 0 };
	struct sc_diff d;
	char *text;

	trace_init(sc, &m);
	trace_init(sc, &k);
	m.obs[8].faults = 1;
	k.obs[8].faults = 2;
	m.obs[8].tags = malloc(sizeof(mt));
	k.obs[8].tags = malloc(sizeof(kt));
	memcpy(m.obs[8].tags, mt, sizeof(mt));
	memcpy(k.obs[8].tags, kt, sizeof(kt));
	m.obs[8].ntags = k.obs[8].ntags = 2;
	k.obs[11].ret = -EINVAL;
	compare(sc, &m, &k, &d, &text);
	CHECK_EQ(d.ndiffs, 3);
	CHECK_EQ(d.first_line, 9);
	CHECK(!strcmp(d.sig, "read faults"));
	CHECK(strstr(text, "t.hw:9: B read 0x40000000 2\n"
			   "    faults: model 1, kernel 2\n"
			   "    tag: at 0x40200000 model 0x1, kernel 0x0 (1 of 2 pages differ)\n"));
	CHECK(strstr(text, "t.hw:12: B munmap 0x40000000 1G\n"
			   "    result: model ok, kernel EINVAL\n"));
	free(text);
	sc_trace_free(&m);
	sc_trace_free(&k);
	scenario_free(sc);
}

/*
 * HugePages_Free is one less on the kernel from A's write on: said once,
 * at the write, not after every op that carries it along; said again
 * where the gap changes; not when it closes.
 */
static void counters_are_reported_where_they_change(void)
{
	struct scenario *sc = parse(two_procs);
	struct sc_trace m, k;
	struct sc_diff d;
	char *text;
	size_t i;

	trace_init(sc, &m);
	trace_init(sc, &k);
	for (i = 7; i < sc->nops; i++) {
		m.obs[i].sys[SC_OBS_FREE] = 14;
		k.obs[i].sys[SC_OBS_FREE] = 13;
	}
	k.obs[10].sys[SC_OBS_FREE] = 12;	/* the expect line */
	k.obs[11].sys[SC_OBS_FREE] = 14;	/* closes again */
	m.obs[8].rss[2] = 2;		/* B's rss: names are f, A, B */
	compare(sc, &m, &k, &d, &text);
	CHECK_EQ(d.ndiffs, 3);
	CHECK(strstr(text, "t.hw:8: A write 0x40000000 2 tag=1\n"
			   "    HugePages_Free: after it, model 14, kernel 13\n"));
	CHECK(strstr(text, "t.hw:9: B read 0x40000000 2\n"
			   "    B HugetlbPages: after it, model 2, kernel 0 pages\n"));
	CHECK(strstr(text, "t.hw:11: expect B faults=1\n"
			   "    HugePages_Free: after it, model 14, kernel 12\n"));
	CHECK(!strstr(text, "t.hw:12:"));
	free(text);
	sc_trace_free(&m);
	sc_trace_free(&k);
	scenario_free(sc);
}

/*
 * An op only the model can run (gup: no system call does it) ends the
 * comparison there, as "compared in part", without a difference; a
 * model-only op (draw) and an op that changes nothing (pagemap) do not.
 */
static void one_sided_ops_end_the_comparison(void)
{
	static const char text_in[] =
		"spawn A\n"
		"draw\n"
		"A pagemap 0x40000000\n"
		"A read 0x40000000 => SIGSEGV\n"
		"A gup 0x40000000 => EFAULT\n"
		"A read 0x40000000 => SIGSEGV\n";
	struct scenario *sc = parse(text_in);
	struct sc_trace m, k;
	struct sc_diff d;
	char *text;

	trace_init(sc, &m);
	trace_init(sc, &k);
	k.obs[1].ran = false;		/* draw: model-only anyway */
	k.obs[2].ran = false;		/* pagemap: nothing changes */
	k.obs[4].ran = false;		/* gup: the kernel cannot */
	k.obs[5].ret = SIGBUS;		/* never looked at */
	compare(sc, &m, &k, &d, &text);
	CHECK_EQ(d.ndiffs, 0);
	CHECK_EQ(d.partial, true);
	CHECK_EQ(d.stop_line, 5);
	CHECK_EQ(d.compared, 4);
	CHECK(strstr(d.why, "gup: the kernel backend cannot do it"));
	free(text);
	sc_trace_free(&m);
	sc_trace_free(&k);
	scenario_free(sc);
}

/*
 * A `check` that fails on the model is a difference even though the
 * kernel has no check to compare with; the kernel stopping (diverged)
 * ends the comparison before that op.
 */
static void model_invariants_and_kernel_stop(void)
{
	struct scenario *sc = parse("spawn A\ncheck\nspawn B\ncheck\n");
	struct sc_trace m, k;
	struct sc_diff d;
	char *text;

	trace_init(sc, &m);
	trace_init(sc, &k);
	m.obs[1].ret = 2;
	m.obs[3].ret = 1;
	k.stop = 3;
	compare(sc, &m, &k, &d, &text);
	CHECK_EQ(d.ndiffs, 1);
	CHECK_EQ(d.compared, 3);
	CHECK(!strcmp(d.sig, "check model invariants"));
	CHECK(strstr(text, "t.hw:2: check\n    model invariants: 2 broken"));
	free(text);
	sc_trace_free(&m);
	sc_trace_free(&k);
	scenario_free(sc);
}

/*
 * A's read sleeps in a userfault until A's uffd_copy; meanwhile A's fault
 * counter moves when the woken fault finishes, and the counters are those
 * of a fault half done.  Those are skipped (and counted); the background
 * read's own faults, at its wait, and every result are compared, and so
 * is everything after the wait.
 *
 *   line 7  A read &  ----sleeps----.---- done
 *   line 8  A uffd_read             |
 *   line 9  A uffd_copy ------------' wakes it
 *   line 10 wait A
 */
static void in_flight_observables_are_skipped(void)
{
	static const char text_in[] =
		"pool 16\n"					/* 1 */
		"memfd f\n"					/* 2 */
		"ftruncate f 1G\n"				/* 3 */
		"spawn A\n"					/* 4 */
		"A mmap 0x40000000 1G rw shared f 0\n"		/* 5 */
		"A uffd_register 0x40000000 1G missing\n"	/* 6 */
		"A read 0x40200000 & => faults=1\n"		/* 7 */
		"A uffd_read\n"					/* 8 */
		"A uffd_copy 0x40200000 tag=2\n"		/* 9 */
		"wait A\n"					/* 10 */
		"A read 0x40200000\n";				/* 11 */
	struct scenario *sc = parse(text_in);
	struct sc_trace m, k;
	struct sc_diff d;
	char *text;

	trace_init(sc, &m);
	trace_init(sc, &k);
	m.obs[8].faults = 1;		/* the woken fault, in time */
	m.obs[7].sys[SC_OBS_FREE] = 15;	/* allocated already, or not */
	m.obs[8].sys[SC_OBS_FREE] = 15;
	k.obs[8].rss[1] = 1;
	k.obs[6].faults = 2;		/* the background read's own */
	k.obs[10].faults = 3;		/* after the wait */
	k.obs[8].ret = -EAGAIN;		/* a result: always compared */
	compare(sc, &m, &k, &d, &text);
	CHECK_EQ(d.ndiffs, 3);
	CHECK_EQ(d.first_line, 7);
	CHECK(strstr(text, "t.hw:7: A read 0x40200000 &"));
	CHECK(strstr(text, "t.hw:9: A uffd_copy"));
	CHECK(strstr(text, "t.hw:11: A read 0x40200000\n    faults: model 0, kernel 3"));
	CHECK(!strstr(text, "HugePages_Free"));
	CHECK(!strstr(text, "HugetlbPages"));
	/* Counters after 7, 8, 9; faults of 8 and 9. */
	CHECK_EQ(d.timed, 5);
	CHECK_EQ(d.timed_flight, 5);
	CHECK_EQ(d.race_line, 0);
	free(text);
	sc_trace_free(&m);
	sc_trace_free(&k);
	scenario_free(sc);
}

/*
 * Two writes at once, by A and B, that change page tables: what they
 * leave depends on their order.  From the second on, fault counts and
 * counters are skipped to the end, and so are the first's faults;
 * results and tags are still compared.
 */
static void a_race_skips_state_to_the_end(void)
{
	static const char text_in[] =
		"pool 16\n"					/* 1 */
		"memfd f\n"					/* 2 */
		"ftruncate f 1G\n"				/* 3 */
		"spawn A\n"					/* 4 */
		"spawn B\n"					/* 5 */
		"A mmap 0x40000000 1G rw shared f 0\n"		/* 6 */
		"B mmap 0x40000000 1G rw shared f 0\n"		/* 7 */
		"A write 0x40000000 tag=1 &\n"			/* 8 */
		"B write 0x40200000 tag=2 &\n"			/* 9 */
		"wait\n"					/* 10 */
		"A read 0x40200000\n";				/* 11 */
	struct scenario *sc = parse(text_in);
	struct sc_trace m, k;
	uint64_t mt = 2, kt = 3;
	struct sc_diff d;
	char *text;

	trace_init(sc, &m);
	trace_init(sc, &k);
	m.obs[7].faults = 1;		/* A's write shared B's table, or not */
	m.obs[9].sys[SC_OBS_FREE] = 14;
	k.obs[10].faults = 1;
	k.obs[10].rss[1] = 2;
	m.obs[10].tags = malloc(sizeof(mt));
	k.obs[10].tags = malloc(sizeof(kt));
	memcpy(m.obs[10].tags, &mt, sizeof(mt));
	memcpy(k.obs[10].tags, &kt, sizeof(kt));
	m.obs[10].ntags = k.obs[10].ntags = 1;
	compare(sc, &m, &k, &d, &text);
	CHECK_EQ(d.ndiffs, 1);
	CHECK(!strcmp(d.sig, "read tag"));
	CHECK_EQ(d.race_line, 9);
	CHECK(d.timed > d.timed_flight);
	free(text);
	sc_trace_free(&m);
	sc_trace_free(&k);
	scenario_free(sc);
}

/* Scenario I of seed S: the same text each time, and it parses. */
static void random_scenarios_parse_and_repeat(void)
{
	for (unsigned long i = 0; i < 300; i++) {
		char *a = sc_random_scenario(7, i, 520);
		char *b = sc_random_scenario(7, i, 520);
		char *small = sc_random_scenario(7, i, 24);
		struct scenario *sc;

		CHECK(a && b && small);
		CHECK_MSG(!strcmp(a, b), "scenario %lu differs between calls",
			  i);
		sc = parse(a);
		CHECK(sc->nops > 5);
		scenario_free(sc);
		/* A small pool bound is kept. */
		sc = parse(small);
		CHECK_EQ(sc->ops[0].kind, SC_POOL);
		CHECK(sc->ops[0].len <= 24);
		scenario_free(sc);
		free(a);
		free(b);
		free(small);
	}
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(same_traces_agree),
		TAP_TEST(op_differences_are_reported_under_the_op),
		TAP_TEST(counters_are_reported_where_they_change),
		TAP_TEST(one_sided_ops_end_the_comparison),
		TAP_TEST(model_invariants_and_kernel_stop),
		TAP_TEST(in_flight_observables_are_skipped),
		TAP_TEST(a_race_skips_state_to_the_end),
		TAP_TEST(random_scenarios_parse_and_repeat),
	};

	return tap_main(tests, sizeof(tests) / sizeof(tests[0]), 20);
}
