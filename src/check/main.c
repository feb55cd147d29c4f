// SPDX-License-Identifier: MIT
/*
 * hugewalk-race: the race explorer's command (`hugewalk race` execs it).
 * For each call site's harness and each policy it explores schedules
 * until a checker reports or the strategy is exhausted, and prints the
 * table; --replay reproduces one schedule with its report and
 * interleaving.
 *
 * With --scenario FILE the harness is a scenario file's: its background
 * ops are the tasks (src/check/scenario.c), one row per policy.
 *
 * Exit status: 0 the table was printed (findings are results, not
 * errors); 1 --replay reproduced a finding, or the mutant check was not
 * caught, or (--scenario) a schedule of the scenario had a finding, or
 * the file has an error; 2 a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check/check.h"

#define EXIT_USAGE	2

static const char usage_text[] =
"Usage: hugewalk race [OPTION]... [SITE]...\n"
"       hugewalk race --scenario FILE [OPTION]...\n"
"       hugewalk race --replay STRING [--full-trace]\n"
"\n"
"Explore the interleavings of each call site's harness (a walker in mm A\n"
"through the site, an unsharer in A, the last sharer in B unmapping) under\n"
"each protection policy, and report whether a use-after-free of a page\n"
"table, a destroyed ptl or another checker's report can happen.  Tasks are\n"
"coroutines; every lock, RCU operation, page-table entry access, share\n"
"count change and table free is a scheduling point.\n"
"\n"
"With --scenario, the harness is a scenario file (docs/scenario.md): the ops\n"
"before its first background op ('P op ... &') set the machine up, each\n"
"background op is a task, the file's other ops run in order around them,\n"
"and a failed '=>' or 'expect' is a finding like the checkers'.  Its\n"
"replay strings name the file and a hash of it (FILE@HASH/POLICY/...).\n"
"\n"
"Options:\n"
"  --scenario FILE    explore the background ops of scenario FILE (default\n"
"                     policies: the file's 'policy' line, else all; no\n"
"                     mutant check); exit 1 if any schedule had a finding\n"
"  --policy LIST      policies, comma-separated (default: all)\n"
"  --strategy S       dfs (preemption-bounded, default), pct or random\n"
"  --bound N          dfs: explore preemption bounds 0..N (default 1)\n"
"  --depth D          pct: bug depth (default 3)\n"
"  --seed N           pct, random: seed (default 1)\n"
"  --schedules N      at most N schedules per site and policy (default:\n"
"                     no limit)\n"
"  --time SEC         at most SEC seconds per site and policy (default 5;\n"
"                     0: no limit)\n"
"  -j, --jobs N       explore N cells at once (default: the CPUs)\n"
"  --no-mutant        skip the mutant check (a grace period that does not\n"
"                     wait for readers must be caught)\n"
"  --replay STRING    run one schedule, print its report and interleaving\n"
"  --full-trace       with --replay or -v: every step, none elided\n"
"  -v, --verbose      print each finding's report and interleaving\n"
"  --json             print the results as JSON\n"
"  --list             list the sites (harnesses) and exit\n"
"  --bench            measure the explorer: schedules per second per\n"
"                     harness, time to the first finding under v6.1\n"
"  --json-out FILE    with --bench: also write the results as JSON\n"
"  -q, --quiet        no progress line\n"
"  -h, --help         show this help\n"
"\n"
"Sites: see --list.  A '-reuse' harness has B reuse the table for another\n"
"file after A unshared it (CVE-2025-38085): a walker of A that meets B's\n"
"page there is an isolation break.\n"
"\n"
"Each finding prints a replay string; 'hugewalk race --replay STRING'\n"
"reproduces that schedule exactly.\n";

struct opts {
	const char *policies[16];
	int nr_policies;
	const struct race_harness *sites[32];
	int nr_sites;
	struct race_limits lim;
	bool json, verbose, quiet, full_trace, mutant;
	int jobs;
	const char *replay;
	bool bench;
	const char *json_out;		/* --bench: JSON written here */
	const char *scenario;		/* --scenario FILE */
	int name_w;			/* width of the first column */
};

static bool progress_shown;

static void progress(const struct race_engine *e, int bound, double secs)
{
	fprintf(stderr, "\r  %s / %s%s: bound %d, %lu schedules, %.1fs   ",
		e->h->name, e->policy, e->mutant ? "+broken-gp" : "", bound,
		e->schedules, secs);
	progress_shown = true;
}

static void progress_clear(void)
{
	if (progress_shown)
		fprintf(stderr, "\r%78s\r", "");
	progress_shown = false;
}

static int parse_policies(struct opts *o, char *list)
{
	char *save, *p;

	o->nr_policies = 0;
	for (p = strtok_r(list, ",", &save); p;
	     p = strtok_r(NULL, ",", &save)) {
		if (!hw_policy_lookup(p)) {
			fprintf(stderr, "hugewalk race: unknown policy '%s'\n",
				p);
			return -EINVAL;
		}
		if (o->nr_policies < (int)ARRAY_SIZE(o->policies))
			o->policies[o->nr_policies++] = p;
	}
	return o->nr_policies ? 0 : -EINVAL;
}

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(out, "\\u%04x", *s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

static void json_result(FILE *out, const struct race_engine *e,
			const struct race_result *r)
{
	fprintf(out, "{\"site\": ");
	json_str(out, e->h->name);
	fprintf(out, ", \"policy\": ");
	json_str(out, e->policy);
	fprintf(out, ", \"mutant\": %s, \"finding\": ",
		e->mutant ? "true" : "false");
	json_str(out, race_finding_name(r->finding));
	fprintf(out, ", \"title\": ");
	json_str(out, r->title);
	fprintf(out, ", \"schedules\": %lu, \"seconds\": %.6f, "
		"\"schedules_per_second\": %.0f, \"exhaustive\": %s, "
		"\"bound_done\": %d, \"site_reached\": %lu",
		r->schedules, r->seconds,
		r->seconds > 0 ? r->schedules / r->seconds : 0.0,
		r->exhaustive ? "true" : "false", r->bound_done, r->reached);
	if (r->finding != HW_FINDING_NONE) {
		fprintf(out, ", \"preemptions\": %d, \"decisions\": %lu, "
			"\"replay\": ", r->preemptions, r->steps);
		json_str(out, r->replay);
	}
	if (r->other != HW_FINDING_NONE) {
		fprintf(out, ", \"elsewhere\": ");
		json_str(out, race_finding_name(r->other));
		fprintf(out, ", \"elsewhere_title\": ");
		json_str(out, r->other_title);
		fprintf(out, ", \"elsewhere_after\": %lu", r->other_after);
	}
	fputc('}', out);
}

static void describe(char *buf, size_t n, const struct race_limits *lim,
		     const struct race_result *r)
{
	if (r->finding != HW_FINDING_NONE) {
		snprintf(buf, n, "%s", race_finding_name(r->finding));
		return;
	}
	if (lim->strategy != RACE_DFS)
		snprintf(buf, n, "none found");
	else if (r->exhaustive)
		snprintf(buf, n, "none (exhaustive, bound %d)", r->bound_done);
	else if (r->bound_done >= 0)
		snprintf(buf, n, "none (budget; bound %d done)",
			 r->bound_done);
	else
		snprintf(buf, n, "none (budget)");
}

/* One cell of the table: a harness under a policy. */
struct cell {
	const struct race_harness *h;
	const char *policy;
	bool mutant;
	FILE *out;			/* the worker's output */
	pid_t pid;
	int status;			/* CELL_* */
	bool done;
};

enum { CELL_OK, CELL_ERROR, CELL_MUTANT_MISSED, CELL_FINDING };

/* What run_table() returns: bits. */
#define TABLE_FAILED	1	/* a cell failed, or a mutant was missed */
#define TABLE_FOUND	2	/* a cell had a finding */

static int cell_status(int status)
{
	return status == CELL_FINDING ? TABLE_FOUND :
	       status != CELL_OK ? TABLE_FAILED : 0;
}

/*
 * Explore one cell and print its line (or JSON object, without the comma
 * between objects) to @out.  Return: a CELL_* status.
 */
static int run_cell(const struct opts *o, const struct cell *c, FILE *out)
{
	struct race_engine e;
	struct race_result r;
	char what[64], pol[48];
	int err;

	err = race_engine_init(&e, c->h, c->policy, c->mutant);
	if (err) {
		fprintf(stderr, "hugewalk race: %s under %s: setup failed: %s\n",
			c->h->name, c->policy, strerror(-err));
		if (race_harness_is_scenario(c->h))
			fputs(race_scenario_error(race_harness_scenario(c->h)),
			      stderr);
		return CELL_ERROR;
	}
	err = race_explore(&e, &o->lim, &r);
	progress_clear();
	if (err) {
		race_engine_destroy(&e);
		return CELL_ERROR;
	}
	if (o->json) {
		json_result(out, &e, &r);
	} else {
		describe(what, sizeof(what), &o->lim, &r);
		snprintf(pol, sizeof(pol), "%s%s", c->policy,
			 c->mutant ? "+broken-gp" : "");
		fprintf(out, "%-*s %-23s %-27s %9lu %8.3fs", o->name_w,
			c->h->name, pol, what, r.schedules, r.seconds);
		if (r.finding != HW_FINDING_NONE)
			fprintf(out, "  %s", r.replay);
		else if (!r.reached && c->h->site < NR_SITES)
			fprintf(out, "  (the site was never reached)");
		else if (r.other != HW_FINDING_NONE)
			fprintf(out, "  (elsewhere: %s)", r.other_title);
		if (o->verbose && r.finding == HW_FINDING_NONE &&
		    c->h->site < NR_SITES)
			fprintf(out, "  [site reached in %lu of %lu schedules]",
				r.reached, r.schedules);
		fprintf(out, "\n");
		if (o->verbose && r.finding != HW_FINDING_NONE) {
			struct race_replay rp;

			fprintf(out, "\n%s", e.report_buf);
			if (!race_replay_parse(r.replay, &rp)) {
				race_replay_run(&e, &rp, NULL, out,
						o->full_trace);
				race_replay_free(&rp);
			}
			fprintf(out, "\n");
		}
	}
	fflush(out);
	race_engine_destroy(&e);
	/* The mutant must be caught: a table (or its ptl) died under RCU. */
	if (c->mutant && r.finding != HW_FINDING_UAF &&
	    r.finding != HW_FINDING_BAD_LOCK)
		return CELL_MUTANT_MISSED;
	return r.finding != HW_FINDING_NONE ? CELL_FINDING : CELL_OK;
}

/* After the mutant's line: whether the oracle fired. */
static void mutant_verdict(const struct opts *o, const struct cell *c)
{
	if (o->json || !c->mutant)
		return;
	if (c->status == CELL_FINDING)
		printf("caught: a table (or its ptl) died under an RCU "
		       "reader\n");
	else
		printf("MUTANT NOT CAUGHT: the oracle cannot see a broken "
		       "grace period\n");
}

static void copy_out(FILE *from, FILE *to)
{
	char buf[8192];
	size_t n;

	rewind(from);
	while ((n = fread(buf, 1, sizeof(buf), from)) > 0)
		fwrite(buf, 1, n, to);
	fclose(from);
}

/* Print cell @i's output, with what goes between cells. */
static void print_cell(const struct opts *o, const struct cell *cells,
		       int i, int nr_table)
{
	const struct cell *c = &cells[i];

	if (o->json) {
		if (i == nr_table)
			printf("],\n  \"mutant\": [");
		printf("%s\n    ", i && i != nr_table ? "," : "");
	} else if (i == nr_table) {
		printf("\nmutant check (grace period that does not wait for "
		       "readers):\n");
	} else if (i && cells[i - 1].h != c->h) {
		printf("\n");
	}
	fflush(stdout);
	if (c->out)
		copy_out(c->out, stdout);
	if (c->done)
		mutant_verdict(o, c);
	fflush(stdout);
}

/*
 * Run every cell, @o->jobs at a time in worker processes (each cell is
 * independent: its own system, snapshot and arena), printing them in
 * order as they complete.  Return: TABLE_* bits.
 */
static int run_table(const struct opts *o, struct cell *cells, int nr,
		     int nr_table)
{
	int next_start = 0, next_print = 0, running = 0, status = 0, i;
	bool tty = !o->quiet && !o->json && isatty(2);

	if (o->jobs <= 1) {
		for (i = 0; i < nr; i++) {
			print_cell(o, cells, i, nr_table);
			cells[i].status = run_cell(o, &cells[i], stdout);
			cells[i].done = true;
			mutant_verdict(o, &cells[i]);
			status |= cell_status(cells[i].status);
		}
		return status;
	}
	while (next_print < nr) {
		if (next_start < nr && running < o->jobs) {
			struct cell *c = &cells[next_start++];

			fflush(stdout);
			c->out = tmpfile();
			c->pid = c->out ? fork() : -1;
			if (c->pid == 0)
				_exit(run_cell(o, c, c->out));
			if (c->pid < 0) {
				perror("hugewalk race: worker");
				return TABLE_FAILED;
			}
			running++;
			continue;
		}
		if (running) {
			int st;
			pid_t pid = wait(&st);

			for (i = 0; pid > 0 && i < nr; i++) {
				if (cells[i].pid != pid)
					continue;
				cells[i].done = true;
				cells[i].status = WIFEXITED(st) ?
					WEXITSTATUS(st) : CELL_ERROR;
				running--;
			}
		}
		while (next_print < nr && cells[next_print].done) {
			if (tty)
				fprintf(stderr, "\r%40s\r", "");
			print_cell(o, cells, next_print, nr_table);
			status |= cell_status(cells[next_print].status);
			next_print++;
		}
		if (tty && next_print < nr)
			fprintf(stderr, "\r  %d of %d cells done, %d running ",
				next_print, nr, running);
	}
	if (tty)
		fprintf(stderr, "\r%40s\r", "");
	return status;
}

/* Explore @h under @policy with @lim; Return: 0 or -errno. */
static int bench_one(const struct race_harness *h, const char *policy,
		     const struct race_limits *lim, struct race_result *r,
		     unsigned long *points, size_t *snap)
{
	struct race_engine e;
	int err = race_engine_init(&e, h, policy, false);

	if (err)
		return err;
	err = race_explore(&e, lim, r);
	if (points)
		*points = e.points;
	if (snap)
		*snap = e.snap.len;
	race_engine_destroy(&e);
	return err;
}

/*
 * --bench: what the explorer costs.  Per harness: schedules per second
 * (random schedules under v6.3, for a second), scheduling points per
 * schedule, the
 * cost of a point, the snapshot restored before each schedule; and the
 * time to the first finding under v6.1, by DFS and by PCT (depth 2).
 * The micro harness measures the fixed cost of a schedule.
 */
static int do_bench(const struct opts *o)
{
	/* Random schedules for the rate: DFS may exhaust a small harness. */
	struct race_limits rate = { .strategy = RACE_RANDOM, .seed = 1,
				    .max_seconds = 1 };
	struct race_limits dfs = { .strategy = RACE_DFS, .bound = 1,
				   .max_seconds = 3 };
	struct race_limits pct = { .strategy = RACE_PCT, .depth = 2,
				   .seed = 1, .max_seconds = 3 };
	FILE *js = NULL;
	int i;

	if (o->json_out) {
		js = fopen(o->json_out, "w");
		if (!js) {
			perror(o->json_out);
			return 1;
		}
		fprintf(js, "{\"bench\": \"race\", \"harnesses\": [");
	}
	printf("%-26s %10s %8s %8s %7s  %-22s %-22s\n", "harness", "sched/s",
	       "points", "ns/pt", "snap", "v6.1 DFS first", "v6.1 PCT first");
	for (i = -1; i < nr_race_harnesses; i++) {
		const struct race_harness *h = i < 0 ? &race_micro_harness :
					       &race_harnesses[i];
		struct race_result r, rd = { 0 }, rp = { 0 };
		unsigned long points;
		double sps, pps, ns;
		char fd[32] = "-", fp[32] = "-";
		size_t snap;

		if (bench_one(h, "v6.3", &rate, &r, &points, &snap))
			return 1;
		sps = r.seconds > 0 ? r.schedules / r.seconds : 0;
		pps = r.schedules ? (double)points / r.schedules : 0;
		ns = points ? r.seconds * 1e9 / points : 0;
		if (i >= 0) {
			if (bench_one(h, "v6.1", &dfs, &rd, NULL, NULL) ||
			    bench_one(h, "v6.1", &pct, &rp, NULL, NULL))
				return 1;
			if (rd.finding != HW_FINDING_NONE)
				snprintf(fd, sizeof(fd), "%lu in %.3fs",
					 rd.schedules, rd.seconds);
			if (rp.finding != HW_FINDING_NONE)
				snprintf(fp, sizeof(fp), "%lu in %.3fs",
					 rp.schedules, rp.seconds);
		}
		printf("%-26s %10.0f %8.0f %8.1f %6zuK  %-22s %-22s\n",
		       h->name, sps, pps, ns, snap >> 10, fd, fp);
		fflush(stdout);
		if (!js)
			continue;
		fprintf(js, "%s\n    {\"harness\": ", i < 0 ? "" : ",");
		json_str(js, h->name);
		fprintf(js, ", \"schedules_per_second\": %.0f, "
			"\"points_per_schedule\": %.1f, \"ns_per_point\": %.2f, "
			"\"snapshot_bytes\": %zu", sps, pps, ns, snap);
		if (i >= 0)
			fprintf(js, ", \"v61_dfs_finding\": \"%s\", "
				"\"v61_dfs_schedules\": %lu, "
				"\"v61_dfs_seconds\": %.6f, "
				"\"v61_pct_finding\": \"%s\", "
				"\"v61_pct_schedules\": %lu, "
				"\"v61_pct_seconds\": %.6f",
				race_finding_name(rd.finding), rd.schedules,
				rd.seconds, race_finding_name(rp.finding),
				rp.schedules, rp.seconds);
		fprintf(js, "}");
	}
	if (js) {
		fprintf(js, "\n]}\n");
		fclose(js);
	}
	return 0;
}

static int do_replay(const struct opts *o)
{
	struct race_scenario *scn = NULL;
	struct race_replay r;
	struct race_engine e;
	const struct race_harness *h;
	enum hw_finding f;
	char title[160], why[1024];
	int err;

	if (race_replay_parse(o->replay, &r)) {
		fprintf(stderr, "hugewalk race: bad replay string '%s'\n",
			o->replay);
		return EXIT_USAGE;
	}
	h = race_harness_find(r.harness);
	/* "PATH@HASH/...": a scenario's, the file must be the same. */
	if (!h && strchr(r.harness, '@')) {
		scn = race_scenario_from_replay(r.harness, why, sizeof(why));
		if (!scn) {
			fprintf(stderr, "hugewalk race: %s\n", why);
			race_replay_free(&r);
			return 1;
		}
		h = race_scenario_harness(scn);
	}
	if (!h || !hw_policy_lookup(r.policy)) {
		fprintf(stderr, "hugewalk race: unknown site or policy in '%s'\n",
			o->replay);
		race_replay_free(&r);
		race_scenario_free(scn);
		return EXIT_USAGE;
	}
	err = race_engine_init(&e, h, hw_policy_lookup(r.policy)->name,
			       r.mutant);
	if (err) {
		fprintf(stderr, "hugewalk race: setup failed: %s\n%s",
			strerror(-err), scn ? race_scenario_error(scn) : "");
		race_replay_free(&r);
		race_scenario_free(scn);
		return 1;
	}
	printf("Replaying %s: %s under %s%s\n", o->replay, h->walker,
	       r.policy, r.mutant ? " with the broken grace period" : "");
	f = race_replay_run(&e, &r, NULL, NULL, false);
	race_report_title(&e, title, sizeof(title));
	printf("Result: %s%s%s\n", race_finding_name(f), *title ? ": " : "",
	       title);
	if (f != HW_FINDING_NONE)
		printf("\n%s\n", e.report_buf);
	/* Again, traced: the same schedule, step by step. */
	race_replay_run(&e, &r, NULL, stdout, o->full_trace);
	race_replay_free(&r);
	race_engine_destroy(&e);
	race_scenario_free(scn);
	return f != HW_FINDING_NONE;
}

/*
 * --scenario FILE: load it, and set it up once here, under the first
 * policy, so that an error in it is printed once, not by every worker.
 * Return: the scenario, or NULL after printing why.
 */
static struct race_scenario *load_scenario(struct opts *o)
{
	struct race_scenario *s;
	struct race_engine e;
	char why[1024];
	int err;

	s = race_scenario_load(o->scenario, why, sizeof(why));
	if (!s) {
		fprintf(stderr, "%s\n", why);
		return NULL;
	}
	if (!o->nr_policies && race_scenario_policy(s)) {
		o->policies[0] = race_scenario_policy(s);
		o->nr_policies = 1;
	}
	err = race_engine_init(&e, race_scenario_harness(s),
			       o->nr_policies ? o->policies[0] : "v6.3",
			       false);
	if (err) {
		fprintf(stderr, "%s", race_scenario_error(s));
		if (!*race_scenario_error(s))
			fprintf(stderr, "%s: setup failed: %s\n", o->scenario,
				strerror(-err));
		race_scenario_free(s);
		return NULL;
	}
	race_engine_destroy(&e);
	return s;
}

static const char *strategy_name(enum race_strategy s)
{
	return s == RACE_DFS ? "dfs" : s == RACE_PCT ? "pct" : "random";
}

int main(int argc, char **argv)
{
	enum { OPT_POLICY = 256, OPT_STRATEGY, OPT_BOUND, OPT_DEPTH,
	       OPT_SEED, OPT_SCHEDULES, OPT_TIME, OPT_NO_MUTANT, OPT_REPLAY,
	       OPT_FULL, OPT_JSON, OPT_LIST, OPT_BENCH, OPT_JSON_OUT,
	       OPT_SCENARIO };
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "strategy", required_argument, NULL, OPT_STRATEGY },
		{ "bound", required_argument, NULL, OPT_BOUND },
		{ "depth", required_argument, NULL, OPT_DEPTH },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "schedules", required_argument, NULL, OPT_SCHEDULES },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "no-mutant", no_argument, NULL, OPT_NO_MUTANT },
		{ "replay", required_argument, NULL, OPT_REPLAY },
		{ "full-trace", no_argument, NULL, OPT_FULL },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "bench", no_argument, NULL, OPT_BENCH },
		{ "json-out", required_argument, NULL, OPT_JSON_OUT },
		{ "scenario", required_argument, NULL, OPT_SCENARIO },
		{ "jobs", required_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = {
		.lim = { .strategy = RACE_DFS, .bound = 1, .depth = 3,
			 .seed = 1, .max_seconds = 5 },
		.mutant = true,
	};
	const char *const *names = hw_policy_names();
	struct race_scenario *scn = NULL;
	struct cell *cells;
	int c, i, j, nr, nr_table, status = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "j:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_POLICY:
			if (parse_policies(&o, optarg))
				return EXIT_USAGE;
			break;
		case OPT_STRATEGY:
			if (!strcmp(optarg, "dfs"))
				o.lim.strategy = RACE_DFS;
			else if (!strcmp(optarg, "pct"))
				o.lim.strategy = RACE_PCT;
			else if (!strcmp(optarg, "random"))
				o.lim.strategy = RACE_RANDOM;
			else
				goto usage;
			break;
		case OPT_BOUND:
			o.lim.bound = strtol(optarg, &end, 10);
			if (*end || o.lim.bound < 0)
				goto usage;
			break;
		case OPT_DEPTH:
			o.lim.depth = strtol(optarg, &end, 10);
			if (*end || o.lim.depth < 1 || o.lim.depth > 9)
				goto usage;
			break;
		case OPT_SEED:
			o.lim.seed = strtoull(optarg, &end, 0);
			if (*end)
				goto usage;
			break;
		case OPT_SCHEDULES:
			o.lim.max_schedules = strtoul(optarg, &end, 10);
			if (*end)
				goto usage;
			break;
		case OPT_TIME:
			o.lim.max_seconds = strtod(optarg, &end);
			if (*end || o.lim.max_seconds < 0)
				goto usage;
			break;
		case OPT_NO_MUTANT:
			o.mutant = false;
			break;
		case OPT_REPLAY:
			o.replay = optarg;
			break;
		case OPT_FULL:
			o.full_trace = true;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_BENCH:
			o.bench = true;
			break;
		case OPT_JSON_OUT:
			o.json_out = optarg;
			break;
		case OPT_SCENARIO:
			o.scenario = optarg;
			break;
		case OPT_LIST:
			for (i = 0; i < nr_race_harnesses; i++)
				printf("%-26s %s\n", race_harnesses[i].name,
				       race_harnesses[i].walker);
			return 0;
		case 'j':
			o.jobs = strtol(optarg, &end, 10);
			if (*end || o.jobs < 1)
				goto usage;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (o.replay)
		return do_replay(&o);
	if (o.bench)
		return do_bench(&o);
	if (o.scenario && optind < argc) {
		fprintf(stderr, "hugewalk race: --scenario explores the file's "
			"background ops, not sites ('%s')\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (o.scenario) {
		scn = load_scenario(&o);
		if (!scn)
			return 1;
		o.sites[o.nr_sites++] = race_scenario_harness(scn);
		o.mutant = false;
	}
	for (i = optind; i < argc; i++) {
		const struct race_harness *h = race_harness_find(argv[i]);

		if (!h) {
			fprintf(stderr, "hugewalk race: no harness for site '%s'"
				" (--list)\n", argv[i]);
			return EXIT_USAGE;
		}
		if (o.nr_sites < (int)ARRAY_SIZE(o.sites))
			o.sites[o.nr_sites++] = h;
	}
	if (!o.nr_sites)
		for (i = 0; i < nr_race_harnesses && i < 32; i++)
			o.sites[o.nr_sites++] = &race_harnesses[i];
	if (!o.nr_policies)
		for (i = 0; names[i] && i < 16; i++)
			o.policies[o.nr_policies++] = names[i];
	if (!o.jobs)
		o.jobs = sysconf(_SC_NPROCESSORS_ONLN) > 0 ?
			 sysconf(_SC_NPROCESSORS_ONLN) : 1;
	o.name_w = 26;
	for (i = 0; i < o.nr_sites; i++)
		if ((int)strlen(o.sites[i]->name) > o.name_w)
			o.name_w = strlen(o.sites[i]->name);
	/* A progress line per cell only when cells run one at a time. */
	if (!o.quiet && !o.json && o.jobs <= 1 && isatty(2))
		o.lim.progress = progress;

	nr = 0;
	cells = calloc(o.nr_sites * o.nr_policies + 1, sizeof(*cells));
	if (!cells)
		return 1;
	for (i = 0; i < o.nr_sites; i++)
		for (j = 0; j < o.nr_policies; j++)
			cells[nr++] = (struct cell){
				.h = o.sites[i], .policy = o.policies[j],
			};
	nr_table = nr;
	/*
	 * The oracle must be able to fire: the RFC's protection, clean with
	 * a real grace period, with one that does not wait for readers.
	 */
	if (o.mutant)
		cells[nr++] = (struct cell){
			.h = race_harness_find("follow_hugetlb_page"),
			.policy = "rfc-late-dtor", .mutant = true,
		};

	if (o.json) {
		printf("{");
		if (scn) {
			printf("\"scenario\": ");
			json_str(stdout, race_scenario_path(scn));
			printf(", ");
		}
		printf("\"strategy\": \"%s\", \"bound\": %d, \"depth\": %d, "
		       "\"seed\": %llu, \"results\": [",
		       strategy_name(o.lim.strategy), o.lim.bound,
		       o.lim.depth, (unsigned long long)o.lim.seed);
	} else {
		if (scn)
			printf("hugewalk race: %s\n",
			       race_scenario_harness(scn)->walker);
		printf("hugewalk race: %d %s x %d polic%s, strategy %s",
		       o.nr_sites, scn ? "scenario" : o.nr_sites == 1 ?
		       "site" : "sites", o.nr_policies,
		       o.nr_policies == 1 ? "y" : "ies",
		       strategy_name(o.lim.strategy));
		if (o.lim.strategy == RACE_DFS)
			printf(" (preemption bound 0..%d)", o.lim.bound);
		else if (o.lim.strategy == RACE_PCT)
			printf(" (depth %d, seed %llu)", o.lim.depth,
			       (unsigned long long)o.lim.seed);
		printf(", budget per cell:");
		if (o.lim.max_schedules)
			printf(" %lu schedules", o.lim.max_schedules);
		if (o.lim.max_seconds)
			printf(" %gs", o.lim.max_seconds);
		if (!o.lim.max_schedules && !o.lim.max_seconds)
			printf(" none");
		printf("\n\n%-*s %-23s %-27s %9s %9s  %s\n", o.name_w,
		       scn ? "scenario" : "site", "policy", "finding",
		       "schedules", "time", "replay");
	}
	status = run_table(&o, cells, nr, nr_table);
	if (o.json)
		printf("%s]}\n", nr == nr_table ? "],\n  \"mutant\": [" : "");
	free(cells);
	race_scenario_free(scn);
	/* A scenario's findings are failures: its expectations did not hold. */
	return (status & TABLE_FAILED) || (scn && (status & TABLE_FOUND));
usage:
	fputs("Try 'hugewalk race --help'.\n", stderr);
	return EXIT_USAGE;
}
