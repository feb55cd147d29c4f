/* SPDX-License-Identifier: MIT */
/* Shared helpers for the C tests: a booted system and small wrappers. */
#ifndef HW_TEST_HELPERS_H
#define HW_TEST_HELPERS_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hugewalk/hugewalk.h>

#include "tap.h"

#define K	(1ULL << 10)
#define M	(1ULL << 20)
#define G	(1ULL << 30)
#define HP	(2 * M)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static inline struct hw_system *boot(unsigned long pages, const char *policy)
{
	struct hw_system_opts o = { .nr_hugepages = pages, .policy = policy };
	struct hw_system *sys = hw_system_create(&o);

	CHECK_MSG(sys, "hw_system_create(%lu, %s) failed", pages, policy);
	return sys;
}

/* Print the PMD-table drawing as TAP comments. */
static inline void show(struct hw_system *sys, const char *step)
{
	char *buf = NULL, *line, *save;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	hw_draw(sys, f);
	fclose(f);
	printf("# %s\n", step);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		printf("# %s\n", line);
	free(buf);
	fflush(stdout);
}

static inline unsigned long faults(struct hw_mm *mm)
{
	struct hw_mm_stats st;

	hw_mm_stats(mm, &st);
	return st.minflt;
}

static inline unsigned long nr_pmds(struct hw_mm *mm)
{
	struct hw_mm_stats st;

	hw_mm_stats(mm, &st);
	return st.nr_pmds;
}

static inline struct hw_meminfo meminfo(struct hw_system *sys)
{
	struct hw_meminfo mi;

	hw_meminfo(sys, &mi);
	return mi;
}

/* Write @tag + i into page i of [addr, addr + n pages). */
static inline void write_pages(struct hw_mm *mm, uint64_t addr, int n,
			       uint64_t tag)
{
	int i;

	for (i = 0; i < n; i++) {
		uint64_t t = tag + i;

		CHECK_EQ(hw_access(mm, addr + i * HP, true, &t), 0);
	}
}

/* Read n pages and check they hold @tag + i. */
static inline void check_pages(struct hw_mm *mm, uint64_t addr, int n,
			       uint64_t tag)
{
	int i;

	for (i = 0; i < n; i++) {
		uint64_t t = ~0ULL;

		CHECK_EQ(hw_access(mm, addr + i * HP, false, &t), 0);
		CHECK_MSG(t == tag + i, "%s: page %#llx holds tag %#llx, want %#llx",
			  hw_mm_name(mm), (unsigned long long)(addr + i * HP),
			  (unsigned long long)t, (unsigned long long)(tag + i));
	}
}

static inline void check_invariants(struct hw_system *sys)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int broken;

	CHECK(f);
	broken = hw_check_invariants(sys, f);
	fclose(f);
	if (broken)
		tap_fail(__FILE__, __LINE__, "%d invariants broken:\n%s",
			 broken, buf);
	free(buf);
}

/*
 * expect_report() - run @fn in a child whose stderr goes to a file; it
 * must die by SIGABRT and its report must contain @needle.  Shows the
 * report as TAP comments.
 */
static inline void expect_report(void (*fn)(void), const char *needle)
{
	char path[] = "/tmp/hugewalk-report-XXXXXX", buf[8192];
	int fd = mkstemp(path), status;
	bool found;
	ssize_t n;
	pid_t pid;

	CHECK(fd >= 0);
	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		dup2(fd, 2);
		fn();
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	buf[n > 0 ? n : 0] = '\0';
	found = strstr(buf, needle) != NULL;
	for (char *save, *l = strtok_r(buf, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save))
		printf("#   | %s\n", l);
	CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		  "expected an abort with a report, got status %#x", status);
	CHECK_MSG(found, "the report does not say \"%s\"", needle);
}

#endif
