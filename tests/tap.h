/* SPDX-License-Identifier: MIT */
/*
 * A small TAP harness for the tests, run by prove.
 *
 * Two styles:
 *  - fork-per-test: tap_main() runs each test function in its own child
 *    process and prints one "ok N - name" line for it.  CHECK*() may be
 *    used from any thread of the test: a failure writes its diagnostic
 *    with one write(2) and ends the child at once with _exit(), so no
 *    lock, buffer or other thread can hide or garble it.  A test that
 *    crashes, aborts (lockdep, KASAN, BUG_ON reports) or hangs past its
 *    time limit is reported "not ok" with the reason.
 *  - in-process: plan(), ok(), is_int(), done_testing(), for pure,
 *    single-threaded checks such as the parser's.
 */
#ifndef HW_TAP_H
#define HW_TAP_H

#include <stdbool.h>

struct tap_test {
	const char *name;
	void (*fn)(void);
};

#define TAP_TEST(f)	{ #f, f }

/* Run every test in a child; exit status 0 iff all passed. */
int tap_main(const struct tap_test *tests, int n, int timeout_sec);

void tap_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CHECK(cond) do {						\
	if (!(cond))							\
		tap_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond);\
} while (0)

#define CHECK_MSG(cond, ...) do {					\
	if (!(cond))							\
		tap_fail(__FILE__, __LINE__, __VA_ARGS__);		\
} while (0)

#define CHECK_EQ(got, want) do {					\
	long long __g = (long long)(got), __w = (long long)(want);	\
	if (__g != __w)							\
		tap_fail(__FILE__, __LINE__, "%s == %lld, want %s == %lld", \
			 #got, __g, #want, __w);			\
} while (0)

/* In-process style. */
void plan(int n);
bool ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool is_int(long long got, long long want, const char *name);
int done_testing(void);

#endif
