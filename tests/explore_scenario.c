// SPDX-License-Identifier: MIT
/*
 * Scenario files as harnesses of the race explorer (built against
 * build/explore): the background ops of a scenario are the tasks, every
 * interleaving of them is tried, and a failed `=>` is a finding with a
 * replay string that names the file and a hash of it.
 *
 * The series' reproducer, examples/race-reproducer.hw:
 *
 *            1G              2G              3G
 *  A:        |=== f[0,1G) ===|                      populate, dontneed
 *  B:                        |=== f[0,1G) ===|      munmap
 *            one PMD table, pt_share_count 1; page 0 mapped
 *
 *  A madvise 0x40000000 2M populate_write &   the GUP walker
 *  A madvise 0x40000000 2M dontneed &         A's PUD entry cleared
 *  B munmap 0x80000000 1G &                   B, the last user, frees it
 *
 * Run from the top of the tree (make check does): the examples are read
 * from examples/.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check/check.h"
#include "tap.h"

#define REPRODUCER	"examples/race-reproducer.hw"
#define DATA		"examples/race-data.hw"
#define RACE_BIN	"build/explore/hugewalk-race"

static char tmpdir[64];

/* Write @text to a new file in the test's directory; its path. */
static const char *write_scenario(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/hw-scn-XXXXXX");
		CHECK(mkdtemp(tmpdir));
	}
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	CHECK(f);
	CHECK(fputs(text, f) >= 0);
	CHECK(!fclose(f));
	return path;
}

static struct race_scenario *load(const char *path)
{
	char err[1024];
	struct race_scenario *s = race_scenario_load(path, err, sizeof(err));

	CHECK_MSG(s, "%s", err);
	return s;
}

/* Explore @s under @policy; the engine is kept in @keep if not NULL. */
static struct race_result explore(struct race_scenario *s,
				  const char *policy,
				  const struct race_limits *lim,
				  struct race_engine *keep)
{
	struct race_engine e;
	struct race_result r;
	int err = race_engine_init(&e, race_scenario_harness(s), policy,
				   false);

	CHECK_MSG(!err, "setup under %s: %s %s", policy, strerror(-err),
		  race_scenario_error(s));
	CHECK_EQ(race_explore(&e, lim, &r), 0);
	tap_diag("%s under %s: %s after %lu schedules (%.3fs) %s",
		 race_scenario_path(s), policy, race_finding_name(r.finding),
		 r.schedules, r.seconds, r.replay);
	if (keep)
		*keep = e;
	else
		race_engine_destroy(&e);
	return r;
}

static const struct race_limits dfs1 = {
	.strategy = RACE_DFS, .bound = 1, .max_seconds = 20,
};

/*
 * v6.1: the populating walker holds only A's mmap lock.  Preempted after
 * its read of A's PUD entry (one preemption), it meets the table that
 * A's dontneed left to B and B's munmap freed: its ptl died with it.
 */
static void reproducer_found_under_v61(void)
{
	struct race_scenario *s = load(REPRODUCER);
	struct race_result r = explore(s, "v6.1", &dfs1, NULL);

	CHECK_MSG(r.finding == HW_FINDING_BAD_LOCK ||
		  r.finding == HW_FINDING_UAF, "%s", r.title);
	CHECK_MSG(strstr(r.title, "follow_hugetlb_page"), "%s", r.title);
	CHECK_EQ(r.preemptions, 1);
	CHECK_MSG(!strncmp(r.replay, REPRODUCER "@", strlen(REPRODUCER) + 1),
		  "%s", r.replay);
	race_scenario_free(s);
}

/*
 * v6.3: the walker holds the vma lock, which the unshare and the munmap
 * take for write: every schedule within the bound is clean, and so are
 * the scenario's expectations after its `wait`.
 */
static void reproducer_clean_under_v63(void)
{
	struct race_scenario *s = load(REPRODUCER);
	struct race_result r = explore(s, "v6.3", &dfs1, NULL);

	CHECK_MSG(r.finding == HW_FINDING_NONE, "%s", r.title);
	CHECK(r.exhaustive);
	CHECK(r.schedules > 1000);
	race_scenario_free(s);
}

/*
 * The replay string names the file and its hash; run again, its
 * schedule gives the same report, byte for byte.
 */
static void replay_reproduces(void)
{
	struct race_scenario *s = load(REPRODUCER), *s2;
	struct race_result r = explore(s, "v6.1", &dfs1, NULL);
	struct race_replay rp;
	struct race_engine e;
	char err[1024], *first;
	int i;

	CHECK_EQ(race_replay_parse(r.replay, &rp), 0);
	CHECK(!strcmp(rp.policy, "v6.1"));
	s2 = race_scenario_from_replay(rp.harness, err, sizeof(err));
	CHECK_MSG(s2, "%s", err);
	CHECK_EQ(race_engine_init(&e, race_scenario_harness(s2), rp.policy,
				  false), 0);
	CHECK_EQ(race_replay_run(&e, &rp, NULL, NULL, false), r.finding);
	first = strdup(e.report_buf);
	CHECK_MSG(strstr(first, "A:madvise@"), "%s", first);
	for (i = 0; i < 2; i++) {
		CHECK_EQ(race_replay_run(&e, &rp, NULL, NULL, false),
			 r.finding);
		CHECK_MSG(!strcmp(first, e.report_buf), "replay %d differs", i);
	}
	free(first);
	race_replay_free(&rp);
	race_engine_destroy(&e);
	race_scenario_free(s2);
	race_scenario_free(s);
}

/*
 * An expectation that holds in the default order (A's write first) and
 * not in the other:
 *
 *            1G   1G+2M
 *  A, B:     |f[0,2M)|     one page, tag 1
 *
 *  A write tag=2 &
 *  B read & => tag=2       fails if B reads before A writes
 */
static const char order_text[] =
	"pool 1\nmemfd f\nftruncate f 2M\nspawn A\nspawn B\n"
	"A mmap 0x40000000 2M rw shared f 0\n"
	"B mmap 0x40000000 2M rw shared f 0\n"
	"A write 0x40000000 tag=1\n"
	"A write 0x40000000 tag=2 &\n"
	"B read 0x40000000 & => tag=2\n"
	"wait\n";

static void expectation_is_a_finding(void)
{
	const char *path = write_scenario("order.hw", order_text);
	struct race_scenario *s = load(path);
	struct race_result r = explore(s, "v6.3", &dfs1, NULL);
	char want[256];

	CHECK_EQ(r.finding, HW_FINDING_EXPECT);
	snprintf(want, sizeof(want), "BUG: %s:10: expectation failed: "
		 "B read tag=0x2, got 0x1", path);
	CHECK_MSG(!strncmp(r.title, want, strlen(want)), "%s", r.title);
	/* Not a preemption: B simply runs first. */
	CHECK_EQ(r.preemptions, 0);
	race_scenario_free(s);
}

/* A replay string of a file that changed since is refused. */
static void replay_checks_the_file(void)
{
	const char *path = write_scenario("changed.hw", order_text);
	struct race_scenario *s = load(path);
	struct race_result r = explore(s, "v6.3", &dfs1, NULL);
	struct race_replay rp;
	char err[1024];
	FILE *f;

	CHECK_EQ(race_replay_parse(r.replay, &rp), 0);
	f = fopen(path, "a");
	CHECK(f);
	fputs("# one line more\n", f);
	fclose(f);
	CHECK(!race_scenario_from_replay(rp.harness, err, sizeof(err)));
	CHECK_MSG(strstr(err, "changed since the replay string was made"),
		  "%s", err);
	CHECK(!race_scenario_from_replay("nohash.hw", err, sizeof(err)));
	CHECK(!race_scenario_from_replay("x.hw@1234567z", err, sizeof(err)));
	race_replay_free(&rp);
	race_scenario_free(s);
}

/*
 * The uffd monitor: ops of the scenario's own that run while a
 * background fault sleeps (task "main"), a background op after a wait
 * (it starts only when main reaches it), a uffd_read that sleeps until
 * the fault queues its event.
 *
 *            1G      1G+4M
 *  A:        |f[0,4M)|     MISSING-registered, empty
 */
static const char uffd_text[] =
	"pool 4\nmemfd f\nftruncate f 4M\nspawn A\n"
	"A mmap 0x40000000 4M rw shared f 0\n"
	"A uffd_register 0x40000000 4M missing\n"
	"A read 0x40000000 & => tag=0x22 faults=1\n"
	"A uffd_read => addr=0x40000000 write=0\n"
	"A uffd_copy 0x40000000 tag=0x22\n"
	"wait A\n"
	"A write 0x40200000 tag=0x33 &\n"
	"A uffd_read => addr=0x40200000 write=1\n"
	"A uffd_copy 0x40200000 tag=0x44\n"
	"wait\n"
	"A read 0x40200000 => tag=%s\n"
	"expect A rss=2\n";

static void uffd_monitor_and_phases(void)
{
	char text[sizeof(uffd_text) + 8];
	struct race_scenario *s;
	struct race_result r;
	const char *path;
	char want[256];

	snprintf(text, sizeof(text), uffd_text, "0x33");
	s = load(write_scenario("uffd.hw", text));
	r = explore(s, "v6.3", &dfs1, NULL);
	CHECK_MSG(r.finding == HW_FINDING_NONE, "%s", r.title);
	CHECK(r.exhaustive);
	race_scenario_free(s);

	/* The write stored its own tag over the monitor's: not 0x44. */
	snprintf(text, sizeof(text), uffd_text, "0x44");
	path = write_scenario("uffd-wrong.hw", text);
	s = load(path);
	r = explore(s, "v6.3", &dfs1, NULL);
	CHECK_EQ(r.finding, HW_FINDING_EXPECT);
	snprintf(want, sizeof(want), "BUG: %s:15: expectation failed: "
		 "A read tag=0x44, got 0x33", path);
	CHECK_MSG(!strncmp(r.title, want, strlen(want)), "%s", r.title);
	race_scenario_free(s);
}

/*
 * examples/race-data.hw: writers and readers in A and B while B
 * unshares; every read sees the file's data, in every interleaving.
 *
 *            1G              2G              3G
 *  A:        |=== f[0,1G) ===|                      write 2, read 1
 *  B:                        |=== f[0,1G) ===|      write 3, read 0,
 *            one PMD table, pages 0 and 1          dontneed (unshare)
 */
static void data_example_clean(void)
{
	struct race_scenario *s = load(DATA);
	struct race_result r = explore(s, "v6.1", &dfs1, NULL);

	CHECK_MSG(r.finding == HW_FINDING_NONE, "%s", r.title);
	CHECK(r.exhaustive);
	race_scenario_free(s);
}

/* A file the explorer cannot use: PATH:LINE:COL, as hugewalk run says. */
static void bad_files(void)
{
	static const char *const too_many =
		"spawn A\nA read 0 & => SIGSEGV\nA read 0 & => SIGSEGV\n"
		"A read 0 & => SIGSEGV\nA read 0 & => SIGSEGV\n"
		"A read 0 & => SIGSEGV\nA read 0 & => SIGSEGV\n"
		"A read 0 & => SIGSEGV\nA read 0 & => SIGSEGV\nwait\n";
	const char *path;
	char err[1024], want[256];

	path = write_scenario("bad.hw",
			      "spawn A\nmemfd f\n"
			      "A mmap 0x40000000 foo rw shared f 0\n");
	CHECK(!race_scenario_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:3:19: expected a size", path);
	CHECK_MSG(!strncmp(err, want, strlen(want)), "%s", err);

	path = write_scenario("quiet.hw", "spawn A\nmemfd f\n");
	CHECK(!race_scenario_load(path, err, sizeof(err)));
	CHECK_MSG(strstr(err, "no background op"), "%s", err);

	path = write_scenario("many.hw", too_many);
	CHECK(!race_scenario_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:9:10: the explorer runs at most 7 "
		 "tasks", path);
	CHECK_MSG(!strncmp(err, want, strlen(want)), "%s", err);

	path = write_scenario("policy.hw", "policy v2.4\nspawn A\n"
			      "A read 0 & => SIGSEGV\nwait\n");
	CHECK(!race_scenario_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:1:8: unknown policy 'v2.4'", path);
	CHECK_MSG(!strncmp(err, want, strlen(want)), "%s", err);
}

/* Run the command; its exit status, stdout and stderr in @out. */
static int run_race(const char *args, char *out, size_t len)
{
	char cmd[512];
	FILE *p;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), RACE_BIN " %s 2>&1", args);
	p = popen(cmd, "r");
	CHECK(p);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	st = pclose(p);
	CHECK(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/*
 * The command: a table row per policy, exit 1 when a schedule had a
 * finding; --replay of its string reproduces it; an error in the file
 * is FILE:LINE:COL and exit 1.
 */
static void command_line(void)
{
	char out[16384], args[600], replay[512];
	const char *path, *p;

	if (access(RACE_BIN, X_OK)) {
		tap_diag("no %s: skipped", RACE_BIN);
		return;
	}
	CHECK_EQ(run_race("-q --scenario " REPRODUCER " --policy v6.1",
			  out, sizeof(out)), 1);
	p = strstr(out, REPRODUCER "@");
	CHECK_MSG(p && strstr(out, "v6.1"), "%s", out);
	p = strstr(p + 1, REPRODUCER "@");
	CHECK_MSG(p && sscanf(p, "%511s", replay) == 1, "%s", out);

	snprintf(args, sizeof(args), "--replay %s", replay);
	CHECK_EQ(run_race(args, out, sizeof(out)), 1);
	CHECK_MSG(strstr(out, "BUG: spinlock bad magic") ||
		  strstr(out, "BUG: KASAN: use-after-free"), "%s", out);
	CHECK_MSG(strstr(out, "B:munmap@"), "%s", out);

	path = write_scenario("bad-cli.hw",
			      "spawn A\nA read 0x800000000000 &\n");
	snprintf(args, sizeof(args), "--scenario %s", path);
	CHECK_EQ(run_race(args, out, sizeof(out)), 1);
	CHECK_MSG(strstr(out, ":2:8: address 0x800000000000 is not below "
			 "2^47"), "%s", out);
}

static void cleanup(void)
{
	char cmd[128];

	if (!tmpdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		tap_diag("could not remove %s", tmpdir);
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(reproducer_found_under_v61),
		TAP_TEST(reproducer_clean_under_v63),
		TAP_TEST(replay_reproduces),
		TAP_TEST(expectation_is_a_finding),
		TAP_TEST(replay_checks_the_file),
		TAP_TEST(uffd_monitor_and_phases),
		TAP_TEST(data_example_clean),
		TAP_TEST(bad_files),
		TAP_TEST(command_line),
	};
	int ret;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hw-scn-XXXXXX");
	if (!mkdtemp(tmpdir))
		tmpdir[0] = '\0';
	ret = tap_main(tests, ARRAY_SIZE(tests), 60);
	cleanup();
	return ret;
}
