// SPDX-License-Identifier: MIT
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= n;
	}
}

void tap_fail(const char *file, int line, const char *fmt, ...)
{
	char buf[1024];
	int n;
	va_list ap;

	n = snprintf(buf, sizeof(buf), "# %s:%d: ", file, line);
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n - 2, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	fflush(stdout);
	write_all(2, buf, n);
	_exit(1);
}

void tap_diag(const char *fmt, ...)
{
	char buf[1024];
	int n;
	va_list ap;

	buf[0] = '#';
	buf[1] = ' ';
	va_start(ap, fmt);
	n = 2 + vsnprintf(buf + 2, sizeof(buf) - 3, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	buf[n++] = '\n';
	fflush(stdout);
	write_all(1, buf, n);
}

static int run_one(const struct tap_test *t, int timeout_sec)
{
	int status;
	pid_t pid, w;
	time_t start = time(NULL);

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		alarm(timeout_sec);	/* a hang is a failure, not a stall */
		t->fn();
		fflush(stdout);
		_exit(0);
	}
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (w < 0)
		return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		tap_diag("%s: killed by signal %d (%s) after %lds", t->name,
			 WTERMSIG(status), strsignal(WTERMSIG(status)),
			 (long)(time(NULL) - start));
	return 1;
}

int tap_main(const struct tap_test *tests, int n, int timeout_sec)
{
	int i, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%d\n", n);
	for (i = 0; i < n; i++) {
		int r = run_one(&tests[i], timeout_sec);

		printf("%sok %d - %s\n", r ? "not " : "", i + 1, tests[i].name);
		failed += r != 0;
	}
	return failed ? 1 : 0;
}

/* ---- in-process style ---------------------------------------------------- */

static int tap_planned, tap_run, tap_failed;

void plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
}

bool ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	tap_run++;
	printf("%sok %d - ", cond ? "" : "not ", tap_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	return cond;
}

bool is_int(long long got, long long want, const char *name)
{
	bool r = ok(got == want, "%s", name);

	if (!r)
		tap_diag("got %lld, want %lld", got, want);
	return r;
}

int done_testing(void)
{
	if (!tap_planned)
		printf("1..%d\n", tap_run);
	else if (tap_planned != tap_run)
		tap_diag("planned %d tests, ran %d", tap_planned, tap_run);
	return tap_failed || (tap_planned && tap_planned != tap_run) ? 1 : 0;
}
