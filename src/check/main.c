// SPDX-License-Identifier: MIT
/*
 * hugewalk-race: the race explorer's command (`hugewalk race` execs it).
 * For each call site's harness and each policy it explores schedules
 * until a checker reports or the strategy is exhausted, and prints the
 * table; --replay reproduces one schedule with its report and
 * interleaving.
 *
 * Exit status: 0 the table was printed (findings are results, not
 * errors); 1 --replay reproduced a finding, or the mutant check was not
 * caught; 2 a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check/check.h"

#define EXIT_USAGE	2

static const char usage_text[] =
"Usage: hugewalk race [OPTION]... [SITE]...\n"
"       hugewalk race --replay STRING [--full-trace]\n"
"\n"
"Explore the interleavings of each call site's harness (a walker in mm A\n"
"through the site, an unsharer in A, the last sharer in B unmapping) under\n"
"each protection policy, and report whether a use-after-free of a page\n"
"table, a destroyed ptl or another checker's report can happen.  Tasks are\n"
"coroutines; every lock, RCU operation, page-table entry access, share\n"
"count change and table free is a scheduling point.\n"
"\n"
"Options:\n"
"  --policy LIST      policies, comma-separated (default: all)\n"
"  --strategy S       dfs (preemption-bounded, default), pct or random\n"
"  --bound N          dfs: explore preemption bounds 0..N (default 2)\n"
"  --depth D          pct: bug depth (default 3)\n"
"  --seed N           pct, random: seed (default 1)\n"
"  --schedules N      at most N schedules per site and policy\n"
"                     (default 200000; 0: no limit)\n"
"  --time SEC         at most SEC seconds per site and policy (default 10)\n"
"  --no-mutant        skip the mutant check (a grace period that does not\n"
"                     wait for readers must be caught)\n"
"  --replay STRING    run one schedule, print its report and interleaving\n"
"  --full-trace       with --replay or -v: every step, none elided\n"
"  -v, --verbose      print each finding's report and interleaving\n"
"  --json             print the results as JSON\n"
"  --list             list the sites (harnesses) and exit\n"
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
	const char *replay;
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
	for (p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		if (!hw_policy_lookup(p)) {
			fprintf(stderr, "hugewalk race: unknown policy '%s'\n", p);
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
			const struct race_result *r, bool first)
{
	fprintf(out, "%s\n    {\"site\": ", first ? "" : ",");
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
		"\"bound_done\": %d",
		r->schedules, r->seconds,
		r->seconds > 0 ? r->schedules / r->seconds : 0.0,
		r->exhaustive ? "true" : "false", r->bound_done);
	if (r->finding != HW_FINDING_NONE) {
		fprintf(out, ", \"preemptions\": %d, \"decisions\": %lu, "
			"\"replay\": ", r->preemptions, r->steps);
		json_str(out, r->replay);
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

/* Explore one cell of the table and print its line. */
static int run_cell(const struct opts *o, const struct race_harness *h,
		    const char *policy, bool mutant, bool *first,
		    struct race_result *out)
{
	struct race_engine e;
	struct race_result r;
	char what[64], pol[48];
	int err;

	err = race_engine_init(&e, h, policy, mutant);
	if (err) {
		fprintf(stderr, "hugewalk race: %s under %s: setup failed: %s\n",
			h->name, policy, strerror(-err));
		return err;
	}
	err = race_explore(&e, &o->lim, &r);
	progress_clear();
	if (err) {
		race_engine_destroy(&e);
		return err;
	}
	if (o->json) {
		json_result(stdout, &e, &r, *first);
	} else {
		what[0] = '\0';
		describe(what, sizeof(what), &o->lim, &r);
		snprintf(pol, sizeof(pol), "%s%s", policy,
			 mutant ? "+broken-gp" : "");
		printf("%-26s %-14s %-30s %9lu %8.3fs", h->name, pol, what,
		       r.schedules, r.seconds);
		if (r.finding != HW_FINDING_NONE)
			printf("  %s", r.replay);
		printf("\n");
		if (o->verbose && r.finding != HW_FINDING_NONE) {
			struct race_replay rp;

			printf("\n%s", e.report_buf);
			if (!race_replay_parse(r.replay, &rp)) {
				race_replay_run(&e, &rp, NULL, stdout,
						o->full_trace);
				race_replay_free(&rp);
			}
			printf("\n");
		}
		fflush(stdout);
	}
	*first = false;
	if (out)
		*out = r;
	race_engine_destroy(&e);
	return 0;
}

static int do_replay(const struct opts *o)
{
	struct race_replay r;
	struct race_engine e;
	const struct race_harness *h;
	enum hw_finding f;
	char title[160];
	int err;

	if (race_replay_parse(o->replay, &r)) {
		fprintf(stderr, "hugewalk race: bad replay string '%s'\n",
			o->replay);
		return EXIT_USAGE;
	}
	h = race_harness_find(r.harness);
	if (!h || !hw_policy_lookup(r.policy)) {
		fprintf(stderr, "hugewalk race: unknown site or policy in '%s'\n",
			o->replay);
		race_replay_free(&r);
		return EXIT_USAGE;
	}
	err = race_engine_init(&e, h, hw_policy_lookup(r.policy)->name,
			       r.mutant);
	if (err) {
		fprintf(stderr, "hugewalk race: setup failed: %s\n",
			strerror(-err));
		race_replay_free(&r);
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
	return f != HW_FINDING_NONE;
}

static const char *strategy_name(enum race_strategy s)
{
	return s == RACE_DFS ? "dfs" : s == RACE_PCT ? "pct" : "random";
}

int main(int argc, char **argv)
{
	enum { OPT_POLICY = 256, OPT_STRATEGY, OPT_BOUND, OPT_DEPTH,
	       OPT_SEED, OPT_SCHEDULES, OPT_TIME, OPT_NO_MUTANT, OPT_REPLAY,
	       OPT_FULL, OPT_JSON, OPT_LIST };
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
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = {
		.lim = { .strategy = RACE_DFS, .bound = 2, .depth = 3,
			 .seed = 1, .max_schedules = 200000,
			 .max_seconds = 10 },
		.mutant = true,
	};
	const char *const *names = hw_policy_names();
	struct race_result mr;
	bool first = true;
	int c, i, j, status = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "vqh", longopts, NULL)) != -1) {
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
		case OPT_LIST:
			for (i = 0; i < nr_race_harnesses; i++)
				printf("%-26s %s\n", race_harnesses[i].name,
				       race_harnesses[i].walker);
			return 0;
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
	if (!o.quiet && !o.json && isatty(2))
		o.lim.progress = progress;

	if (o.json) {
		printf("{\"strategy\": \"%s\", \"bound\": %d, \"depth\": %d, "
		       "\"seed\": %llu, \"results\": [",
		       strategy_name(o.lim.strategy), o.lim.bound,
		       o.lim.depth, (unsigned long long)o.lim.seed);
	} else {
		printf("hugewalk race: %d site%s x %d polic%s, strategy %s",
		       o.nr_sites, o.nr_sites == 1 ? "" : "s", o.nr_policies,
		       o.nr_policies == 1 ? "y" : "ies",
		       strategy_name(o.lim.strategy));
		if (o.lim.strategy == RACE_DFS)
			printf(" (preemption bound 0..%d)", o.lim.bound);
		else if (o.lim.strategy == RACE_PCT)
			printf(" (depth %d, seed %llu)", o.lim.depth,
			       (unsigned long long)o.lim.seed);
		printf("\n\n%-26s %-14s %-30s %9s %9s  %s\n", "site", "policy",
		       "finding", "schedules", "time", "replay");
	}
	for (i = 0; i < o.nr_sites; i++) {
		for (j = 0; j < o.nr_policies; j++)
			if (run_cell(&o, o.sites[i], o.policies[j], false,
				     &first, NULL))
				status = 1;
		if (!o.json && o.nr_policies > 1 && i + 1 < o.nr_sites)
			printf("\n");
	}
	if (o.mutant) {
		/*
		 * The oracle must be able to fire: the RFC's protection,
		 * clean with a real grace period, with one that does not
		 * wait for readers.
		 */
		if (o.json)
			printf("],\n  \"mutant\": [");
		else
			printf("\nmutant check (grace period that does not "
			       "wait for readers):\n");
		first = true;
		if (run_cell(&o, race_harness_find("follow_hugetlb_page"),
			     "rfc-late-dtor", true, &first, &mr) ||
		    (mr.finding != HW_FINDING_UAF &&
		     mr.finding != HW_FINDING_BAD_LOCK)) {
			status = 1;
			if (!o.json)
				printf("MUTANT NOT CAUGHT: the oracle cannot "
				       "see a broken grace period\n");
		} else if (!o.json) {
			printf("caught: a table (or its ptl) died under an RCU "
			       "reader\n");
		}
	}
	if (o.json)
		printf("]}\n");
	return status;
usage:
	fputs("Try 'hugewalk race --help'.\n", stderr);
	return EXIT_USAGE;
}
