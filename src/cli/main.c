// SPDX-License-Identifier: MIT
/*
 * hugewalk: the command.  `hugewalk run FILE...` runs scenario files on the
 * model; `hugewalk policies` lists the walk protections.  Subcommands are
 * a table, so that later ones slot in beside these.
 *
 * Exit status: 0 success, 1 a scenario failed, 2 a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hugewalk/hugewalk.h>

#include "cli/diff.h"
#include "cli/probe.h"
#include "cli/scenario.h"

#ifndef HW_VERSION
#define HW_VERSION "0.1.0"
#endif

#define EXIT_USAGE 2

static const char usage_text[] =
"Usage: hugewalk COMMAND [OPTION]... [ARG]...\n"
"       hugewalk --help | --version\n"
"\n"
"hugewalk models Linux hugetlb PMD sharing (shared page tables) in user\n"
"space: processes mapping the same hugetlbfs file share PMD tables, and\n"
"the model shows every share, unshare, fault and pool counter.\n"
"\n"
"Commands:\n"
"  run [OPTION]... FILE...  run scenario files on a fresh model machine each\n"
"                           (or, --backend=kernel, on this machine's kernel)\n"
"  diff [OPTION]... FILE... run each file on the model and on the running\n"
"                           kernel and print every observable that differs\n"
"  diff --random N [--seed S]\n"
"                           the same for N generated scenarios; one that\n"
"                           differs is shrunk and printed as a file\n"
"  probe [--time S] [--only NAME]\n"
"                           the series' reproducer on the running kernel,\n"
"                           through each call site userspace reaches\n"
"                           (populate, pagemap, process_vm_readv, uffd,\n"
"                           punch): S seconds each (2), data and kernel\n"
"                           log checked (root)\n"
"  race [OPTION]...         explore the interleavings of each call site's\n"
"                           race with an unshare and a free, under each\n"
"                           policy, or of a scenario file's background ops\n"
"                           (--scenario FILE); 'hugewalk race --help'\n"
"  policies                 list the walk-protection policies\n"
"  help                     show this help\n"
"\n"
"Options of run:\n"
"  --backend NAME  model (the default) or kernel: real system calls in one\n"
"                  real process per scenario process, on this machine's\n"
"                  kernel (root; the hugetlb pool is raised for the run\n"
"                  and given back; model-only items are skipped; see\n"
"                  docs/live.md)\n"
"  --policy NAME   run under this policy, overriding the files' 'policy'\n"
"                  lines (see 'hugewalk policies'; default v6.3)\n"
"  --quirk NAME    the model follows this behaviour of some kernels\n"
"                  (repeatable): uffd-missing-no-share (MISSING-mode\n"
"                  userfaultfd registration unshares and stops PMD\n"
"                  sharing, as WP does), cow-steal-refault (a copy on\n"
"                  write that takes its page back from a mapping of the\n"
"                  owner's own mm faults twice); diff probes the running\n"
"                  kernel for each and sets them itself\n"
"  --draw          draw the page tables (which process's PUD slots point\n"
"                  at which PMD tables, with share counts) after every\n"
"                  operation that changed them\n"
"  -v, --verbose   print the counters (meminfo, each process) after every\n"
"                  operation\n"
"  -q, --quiet     print only the PASS/FAIL lines and diagnostics\n"
"  --timeout SECONDS\n"
"                  how long any wait may take: a background op at 'wait',\n"
"                  an event at 'uffd_read', an op sleeping in a userfault\n"
"                  (default 5; then the run stops with an error)\n"
"  -h, --help      show this help\n"
"\n"
"Options of diff:\n"
"  --random N      generate N scenarios instead of reading files\n"
"  --seed S        their seed (default 1): scenario I of seed S is the same\n"
"                  text everywhere\n"
"  --keep-going    go on after a scenario that differs (random)\n"
"  --no-shrink     print a differing random scenario whole\n"
"  --shrink        shrink differing files too\n"
"  --save DIR      write each shrunk scenario into DIR\n"
"  --max-pool N    the largest pool a random scenario asks for (520)\n"
"  -q, --quiet     only the verdict lines: AGREE, DIFFER, PARTIAL (the\n"
"                  kernel could not run it all: compared up to there, with\n"
"                  the reason), NOT RUN (the kernel backend cannot run\n"
"                  here, with the reason)\n"
"  -v, --verbose   also both runs' traces\n"
"diff first probes the running kernel for the behaviours in which kernels\n"
"differ (quirks, see run --quirk) and runs the model with those it has,\n"
"saying so unless -q.\n"
"\n"
"run prints each file's name, one line per operation with its result, any\n"
"failed expectation as 'FILE:LINE: expectation failed: ...' on stderr, then\n"
"'PASS FILE (N ops, M expectations)' or 'FAIL FILE (...)', and at the end\n"
"'N passed, M failed'.  Errors in a file are reported as FILE:LINE:COL.\n"
"\n"
"Scenario files (docs/scenario.md has the whole language):\n"
"  pool 512                           # HugePages_Total\n"
"  memfd f                            # memfd_create(MFD_HUGETLB)\n"
"  ftruncate f 1G\n"
"  spawn A\n"
"  spawn B\n"
"  A mmap 0x40000000 1G rw shared f 0\n"
"  B mmap 0x40000000 1G rw shared f 0\n"
"  A write 0x40000000 8 tag=0x11 => faults=8\n"
"  B read 0x40000000 8 => faults=1 tag=0x11   # shares A's PMD table\n"
"  expect shared=1\n"
"  expect meminfo total=512 free=504 rsvd=504\n"
"  expect B nr_pmds=1 faults=1\n"
"\n"
"The walkers' call sites, userfaultfd, and the walk-rule checker:\n"
"  B gup 0x40000000 8 write => pinned=8 tag=0x11   # pin, check, unpin\n"
"  B gup_fast 0x40000000 8 => pinned=8 fast=8      # lockless walk first\n"
"  B follow_page 0x40000000 => present=1 tag=0x11\n"
"  B process_vm_readv A 0x40000000 8 => tag=0x11   # B reads A's pages\n"
"  A pagemap 0x40000000 8 => present=1 exclusive=0 file=1  # table shared\n"
"  A mincore 0x40000000 16M => resident=8\n"
"  A folio_referenced 0x40000000 => referenced=1\n"
"  A uffd_register 0x40000000 1G missing\n"
"  A read 0x41000000 &              # in the background: sleeps in the fault\n"
"  A uffd_read => addr=0x41000000   # the monitor reads the event\n"
"  A uffd_copy 0x41000000 tag=0x22  # fills the page, wakes the fault\n"
"  wait A                           # joins it, checks its '=>' items\n"
"  violations record                # count unprotected walks, then:\n"
"  expect violations follow_hugetlb_page=1\n"
"\n"
"Examples:\n"
"  hugewalk run examples/share.hw\n"
"  hugewalk run --draw examples/unshare-munmap.hw\n"
"  hugewalk run -q examples/*.hw\n"
"  hugewalk run --policy unprotected -v examples/share.hw\n"
"  hugewalk run examples/sites-*.hw\n"
"  hugewalk policies\n"
"  hugewalk run --backend=kernel examples/share.hw\n"
"  hugewalk diff examples/*.hw\n"
"  hugewalk diff --random 1000 --seed 7 --keep-going\n"
"  hugewalk probe --time 10\n"
"\n"
"Exit status: 0 if every file passed (diff: no difference), 1 if one\n"
"failed (diff: differed; probe: found something), 2 on a usage error,\n"
"3 if diff or probe could not run on the kernel at all (not root, no\n"
"hugetlb pool, a pool that cannot grow).\n";

static void usage_hint(void)
{
	fputs("Try 'hugewalk --help'.\n", stderr);
}

static void print_policy_list(FILE *out)
{
	const char *const *names = hw_policy_names();

	for (size_t i = 0; names && names[i]; i++)
		fprintf(out, "%s%s", i ? ", " : "", names[i]);
	fputc('\n', out);
}

/* ---- run --------------------------------------------------------------- */

static const struct sc_backend *backend_named(const char *name)
{
	if (!strcmp(name, "model"))
		return &sc_model_backend;
	if (!strcmp(name, "kernel"))
		return &sc_kernel_backend;
	return NULL;
}

static int run_file(const char *path, const struct sc_run_opts *o,
		    const struct sc_backend *be)
{
	struct scenario *sc;
	struct sc_result res;
	struct sc_error err;
	int ret;

	ret = scenario_load(path, &sc, &err);
	if (ret) {
		fflush(o->out);
		fprintf(stderr, "%s\n", err.msg);
		fprintf(o->out, "FAIL %s (%s)\n", path,
			ret == -EINVAL ? "error in the file" :
			"cannot read it");
		return 1;
	}
	ret = scenario_run(sc, be, o, &res);
	if (ret < 0) {
		fprintf(o->out, "FAIL %s (not run)\n", path);
		scenario_free(sc);
		return 1;
	}
	fprintf(o->out, "%s %s (%u op%s, %u expectation%s",
		ret ? "FAIL" : "PASS", path, res.ops, res.ops == 1 ? "" : "s",
		res.expectations, res.expectations == 1 ? "" : "s");
	if (res.stopped_line)
		fprintf(o->out, ", stopped at line %d", res.stopped_line);
	if (res.failed)
		fprintf(o->out, ", %u failed", res.failed);
	if (res.skipped)
		fprintf(o->out, ", %u skipped", res.skipped);
	fprintf(o->out, ")\n");
	fflush(o->out);
	scenario_free(sc);
	return ret;
}

/*
 * Say which quirks of the running kernel the model follows in a diff,
 * and what the probe could not tell; nothing on an upstream-like kernel.
 */
static void print_kernel_quirks(FILE *out)
{
	unsigned long quirks;
	char note[256];

	if (!out || sc_kernel_quirks(&quirks, note, sizeof(note)))
		return;
	for (int q = 0; q < HW_NR_QUIRKS; q++)
		if (quirks & (1UL << q))
			fprintf(out, "the running kernel has quirk %s: the model follows it (see docs/live.md)\n",
				hw_quirk_name(q));
	if (note[0])
		fprintf(out, "quirk probe: %s\n", note);
}

/* Parse --quirk NAME into @quirks; false (after saying why) if unknown. */
static bool parse_quirk(const char *name, unsigned long *quirks)
{
	int q = hw_quirk_lookup(name);

	if (q >= 0) {
		*quirks |= 1UL << q;
		return true;
	}
	fprintf(stderr, "hugewalk run: unknown quirk '%s'; known:", name);
	for (q = 0; q < HW_NR_QUIRKS; q++)
		fprintf(stderr, " %s", hw_quirk_name(q));
	fputc('\n', stderr);
	return false;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "quirk", required_argument, NULL, 'Q' },
		{ "backend", required_argument, NULL, 'b' },
		{ "draw", no_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sc_run_opts o = { .out = stdout, .err = stderr };
	double secs;
	char *end;
	const struct sc_backend *be = &sc_model_backend;
	unsigned int passed = 0, failed = 0;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.policy = optarg;
			break;
		case 'Q':
			if (!parse_quirk(optarg, &o.quirks))
				return EXIT_USAGE;
			break;
		case 'b':
			be = backend_named(optarg);
			if (!be) {
				fprintf(stderr, "hugewalk run: unknown backend '%s' (model or kernel)\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'd':
			o.draw = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 't':
			secs = strtod(optarg, &end);
			if (end == optarg || *end || !(secs >= 0.001) ||
			    secs > 3600) {
				fprintf(stderr, "hugewalk run: --timeout wants seconds from 0.001 to 3600, got '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			o.timeout_ms = (unsigned int)(secs * 1000 + 0.5);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case ':':
			fprintf(stderr, "hugewalk run: option '%s' needs an argument\n",
				argv[optind - 1]);
			usage_hint();
			return EXIT_USAGE;
		default:
			if (optopt)
				fprintf(stderr, "hugewalk run: unknown option '-%c'\n",
					optopt);
			else
				fprintf(stderr, "hugewalk run: unknown option '%s'\n",
					argv[optind - 1]);
			usage_hint();
			return EXIT_USAGE;
		}
	}
	if (o.policy && !hw_policy_describe(o.policy)) {
		fprintf(stderr, "hugewalk run: unknown policy '%s'; known: ",
			o.policy);
		print_policy_list(stderr);
		return EXIT_USAGE;
	}
	if (o.quiet && (o.verbose || o.draw)) {
		fprintf(stderr, "hugewalk run: -q cannot be combined with %s\n",
			o.verbose ? "-v" : "--draw");
		return EXIT_USAGE;
	}
	if (optind == argc) {
		fprintf(stderr, "hugewalk run: no scenario file given\n");
		usage_hint();
		return EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		if (!o.quiet && i > optind)
			fputc('\n', stdout);
		if (run_file(argv[i], &o, be))
			failed++;
		else
			passed++;
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}

/* ---- diff -------------------------------------------------------------- */

#define EXIT_NOT_RUN 3

/* A whole file, NUL-terminated; NULL if it cannot be read. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0;
	FILE *mem;
	int c;

	if (!f)
		return NULL;
	mem = open_memstream(&text, &len);
	while (mem && (c = getc(f)) != EOF)
		putc(c, mem);
	fclose(f);
	if (mem)
		fclose(mem);
	return text;
}

static int diff_file(const char *path, const struct sc_diff_opts *o,
		     const struct sc_random_opts *ro, struct sc_diff *d)
{
	struct scenario *sc;
	struct sc_error err;
	int ret;

	memset(d, 0, sizeof(*d));
	ret = scenario_load(path, &sc, &err);
	if (ret) {
		fflush(o->out);
		fprintf(stderr, "%s\n", err.msg);
		return ret;
	}
	ret = sc_diff_run(sc, o, d);
	if (!ret)
		sc_diff_summary(sc, d, o->out);
	if (!ret && d->ndiffs && ro->shrink) {
		char *text = read_text(path);

		if (text)
			sc_diff_report_shrunk(path, text, d, true,
					      ro->save_dir, o->out);
		free(text);
	}
	fflush(o->out);
	scenario_free(sc);
	return ret;
}

static bool parse_ulong(const char *s, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 0);
	return !errno && *s && !*end && s[0] != '-';
}

static int cmd_diff(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "random", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "max-pool", required_argument, NULL, 'm' },
		{ "no-shrink", no_argument, NULL, 'n' },
		{ "shrink", no_argument, NULL, 'x' },
		{ "keep-going", no_argument, NULL, 'k' },
		{ "save", required_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sc_diff_opts o = { .out = stdout, .print = true };
	struct sc_random_opts ro = {
		.seed = 1, .max_pool = 520, .shrink = true, .out = stdout,
	};
	unsigned int agree = 0, differ = 0, partial = 0, not_run = 0, bad = 0;
	bool random = false, shrink_files = false;
	struct sc_diff d;
	char why[512];
	long n;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			random = true;
			if (!parse_ulong(optarg, &ro.count))
				goto bad_number;
			break;
		case 's':
			if (!parse_ulong(optarg, (unsigned long *)&ro.seed))
				goto bad_number;
			break;
		case 'm':
			if (!parse_ulong(optarg, &ro.max_pool) ||
			    ro.max_pool < 8)
				goto bad_number;
			break;
		case 'n':
			ro.shrink = false;
			break;
		case 'x':
			shrink_files = true;
			break;
		case 'k':
			ro.keep_going = true;
			break;
		case 'S':
			ro.save_dir = optarg;
			break;
		case 'v':
			o.verbose = ro.verbose = true;
			break;
		case 'q':
			o.print = false;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case ':':
			fprintf(stderr, "hugewalk diff: option '%s' needs an argument\n",
				argv[optind - 1]);
			usage_hint();
			return EXIT_USAGE;
		default:
			fprintf(stderr, "hugewalk diff: unknown option '%s'\n",
				argv[optind - 1]);
			usage_hint();
			return EXIT_USAGE;
		}
	}
	if (random == (optind < argc)) {
		fprintf(stderr, "hugewalk diff: give scenario files or --random N, not %s\n",
			random ? "both" : "neither");
		usage_hint();
		return EXIT_USAGE;
	}
	if (!random)
		ro.shrink = shrink_files;
	if (!sc_kernel_available(why, sizeof(why))) {
		printf("NOT RUN: %s\n", why);
		return EXIT_NOT_RUN;
	}
	print_kernel_quirks(o.print ? stdout : NULL);
	if (random) {
		n = sc_random_diff(&ro);
		if (n == -ENODEV)
			return EXIT_NOT_RUN;
		return n ? 1 : 0;
	}
	for (int i = optind; i < argc; i++) {
		if (diff_file(argv[i], &o, &ro, &d)) {
			bad++;
			continue;
		}
		if (d.not_run)
			not_run++;
		else if (d.ndiffs)
			differ++;
		else if (d.partial)
			partial++;
		else
			agree++;
	}
	printf("%u agree, %u differ, %u compared in part, %u not run",
	       agree, differ, partial, not_run);
	if (bad)
		printf(", %u with errors", bad);
	printf("\n");
	if (differ || bad)
		return 1;
	return not_run ? EXIT_NOT_RUN : 0;

bad_number:
	fprintf(stderr, "hugewalk diff: '%s' is not a valid number for %s\n",
		optarg, argv[optind - 1]);
	return EXIT_USAGE;
}

/* ---- probe ------------------------------------------------------------- */

static int cmd_probe(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "time", required_argument, NULL, 't' },
		{ "only", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct probe_opts o = { .seconds = 2, .out = stdout, .kmsg = -1 };
	char *end;
	int c, n;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o.seconds = strtod(optarg, &end);
			if (end == optarg || *end || !(o.seconds >= 0.1) ||
			    o.seconds > 600) {
				fprintf(stderr, "hugewalk probe: --time wants seconds from 0.1 to 600, got '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'o':
			if (!strstr(hw_probe_names(), optarg)) {
				fprintf(stderr, "hugewalk probe: unknown probe '%s' (%s)\n",
					optarg, hw_probe_names());
				return EXIT_USAGE;
			}
			o.only = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case ':':
			fprintf(stderr, "hugewalk probe: option '%s' needs an argument\n",
				argv[optind - 1]);
			usage_hint();
			return EXIT_USAGE;
		default:
			fprintf(stderr, "hugewalk probe: unknown option '%s'\n",
				argv[optind - 1]);
			usage_hint();
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hugewalk probe: unexpected argument '%s'\n",
			argv[optind]);
		usage_hint();
		return EXIT_USAGE;
	}
	n = hw_probe(&o);
	if (n == -ENODEV)
		return EXIT_NOT_RUN;
	return n ? 1 : 0;
}

/* ---- policies ---------------------------------------------------------- */

static int cmd_policies(int argc, char **argv)
{
	const char *const *names = hw_policy_names();

	if (argc > 1) {
		if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
			fputs("Usage: hugewalk policies\n"
			      "List the walk-protection policies a scenario or --policy can name.\n",
			      stdout);
			return 0;
		}
		fprintf(stderr, "hugewalk policies: unexpected argument '%s'\n",
			argv[1]);
		usage_hint();
		return EXIT_USAGE;
	}
	for (size_t i = 0; names && names[i]; i++)
		printf("%-14s %s\n", names[i], hw_policy_describe(names[i]) ?: "");
	return 0;
}

static int cmd_help(int argc, char **argv)
{
	fputs(usage_text, stdout);
	return 0;
}

/*
 * `hugewalk race ARGS` runs the race explorer, a separate program because
 * it links the explore build of src/mm (coroutines, modelled RCU) where
 * this one links the real build: next to this executable when installed,
 * in build/explore/ in the source tree, or $HUGEWALK_RACE, or $PATH.
 */
static int cmd_race(int argc, char **argv)
{
	static const char *const rel[] = {
		"hugewalk-race", "build/explore/hugewalk-race",
		"../explore/hugewalk-race",
	};
	char dir[4096], path[4200];
	const char *env = getenv("HUGEWALK_RACE");
	ssize_t n;
	size_t i;

	argv[0] = "hugewalk-race";
	if (env && *env) {
		execv(env, argv);
		fprintf(stderr, "hugewalk: %s: %s\n", env, strerror(errno));
		return 1;
	}
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n > 0) {
		dir[n] = '\0';
		*strrchr(dir, '/') = '\0';
		for (i = 0; i < ARRAY_SIZE(rel); i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, rel[i]);
			execv(path, argv);
		}
	}
	execvp("hugewalk-race", argv);
	fprintf(stderr, "hugewalk: cannot run hugewalk-race (make hugewalk "
		"builds it): %s\n", strerror(errno));
	return 1;
}

/* ---- dispatch ---------------------------------------------------------- */

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "run", cmd_run },
	{ "diff", cmd_diff },
	{ "probe", cmd_probe },
	{ "race", cmd_race },
	{ "policies", cmd_policies },
	{ "help", cmd_help },
};

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
		return cmd_help(argc - 1, argv + 1);
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("hugewalk %s\n", HW_VERSION);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	if (cmd[0] == '-')
		fprintf(stderr, "hugewalk: unknown option '%s'\n", cmd);
	else
		fprintf(stderr, "hugewalk: unknown command '%s' (commands: run, diff, probe, race, policies, help)\n",
			cmd);
	usage_hint();
	return EXIT_USAGE;
}
