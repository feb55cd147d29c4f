// SPDX-License-Identifier: MIT
/*
 * The kernel backend's hold on the machine: the 2 MiB hugetlb pool is
 * raised for a run and given back afterwards, whatever happens; and what
 * it reads of the machine and its processes (pool counters, memory
 * nodes, a process's pagemap entries and HugetlbPages).
 *
 * Invariants:
 *  - While a run holds the machine, it holds an exclusive flock() on
 *    KS_LOCK, so two runs never fight over the pool, and KS_STATE holds
 *    the values to restore (nr_hugepages, nr_overcommit_hugepages) and
 *    the holder's pid.
 *  - The values are restored by ks_release(), by an atexit() handler, by
 *    a handler of every fatal signal that can be caught (after killing
 *    the drivers and closing the memfds, so that their pages go back to
 *    the pool first), and, after a SIGKILL, by the next run, which finds
 *    KS_STATE with its lock free.
 *  - The signal path uses only async-signal-safe calls on data prepared
 *    beforehand: kill, waitpid, close, open, write, unlink.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/kernel.h"
#include "cli/scenario.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB	0x0004U
#endif

#define KS_NR		KS_HSTATE "/nr_hugepages"
#define KS_OVER		KS_HSTATE "/nr_overcommit_hugepages"
#define KS_LOCK		"/run/hugewalk-kernel.lock"
#define KS_STATE	"/run/hugewalk-kernel.state"
#define KS_LOCK_TMP	"/tmp/hugewalk-kernel.lock"
#define KS_STATE_TMP	"/tmp/hugewalk-kernel.state"
#define KS_MAX_PIDS	256
#define KS_MAX_FDS	256
#define KS_LOCK_WAIT	300	/* seconds to wait for another run */

static struct {
	bool held;
	int lock_fd;
	const char *state;	/* KS_STATE or KS_STATE_TMP */
	char old_nr[24];	/* what to write back, ready for a handler */
	char old_over[24];
	/*
	 * Pages other programs use (in use, reserved) when the run began:
	 * the pool is raised by as many, and the counters shown without
	 * them, so that a scenario sees a pool of its own.
	 */
	unsigned long base_used;
	unsigned long base_rsvd;
	pid_t pids[KS_MAX_PIDS];
	bool direct[KS_MAX_PIDS];
	int fds[KS_MAX_FDS];
	bool handlers;
} ks = { .lock_fd = -1 };

static const int ks_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT, SIGSEGV, SIGBUS, SIGFPE,
	SIGILL, SIGXCPU, SIGXFSZ, SIGALRM, SIGUSR1, SIGUSR2,
};

static void why_set(char *why, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
}

/* Write @s to @path: async-signal-safe. */
static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

static int write_ulong(const char *path, unsigned long v)
{
	char s[24];

	snprintf(s, sizeof(s), "%lu\n", v);
	return write_str(path, s);
}

static int read_ulong(const char *path, unsigned long *v)
{
	char s[32];
	FILE *f = fopen(path, "re");
	int ok;

	if (!f)
		return -errno;
	ok = fgets(s, sizeof(s), f) && sscanf(s, "%lu", v) == 1;
	fclose(f);
	return ok ? 0 : -EIO;
}

/* The kernel's counters, others' pages included. */
static int raw_counters(unsigned long *total, unsigned long *free,
			unsigned long *rsvd)
{
	/* nr_hugepages in sysfs is HugePages_Total, surplus included. */
	return read_ulong(KS_HSTATE "/nr_hugepages", total) ?:
	       read_ulong(KS_HSTATE "/free_hugepages", free) ?:
	       read_ulong(KS_HSTATE "/resv_hugepages", rsvd);
}

int ks_pool_counters(unsigned long *total, unsigned long *free,
		     unsigned long *rsvd)
{
	int err = raw_counters(total, free, rsvd);

	/* What other programs held when the run began is not ours. */
	*total -= *total >= ks.base_used + ks.base_rsvd ?
		  ks.base_used + ks.base_rsvd : *total;
	*free -= *free >= ks.base_rsvd ? ks.base_rsvd : *free;
	*rsvd -= *rsvd >= ks.base_rsvd ? ks.base_rsvd : *rsvd;
	return err;
}

unsigned long ks_foreign_pages(void)
{
	return ks.base_used + ks.base_rsvd;
}

/* /proc/meminfo's KEY in kB, or 0. */
static unsigned long meminfo_kb(const char *key)
{
	unsigned long v = 0;
	size_t len = strlen(key);
	char line[128];
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':') {
			sscanf(line + len + 1, "%lu", &v);
			break;
		}
	fclose(f);
	return v;
}

/* ---- the clean-up paths ---------------------------------------------- */

/* Kill the drivers, close the memfds, give the pool back. */
static void ks_emergency(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int left, i, tries;

	if (!ks.held)
		return;
	for (i = 0; i < KS_MAX_PIDS; i++)
		if (ks.pids[i] > 0)
			kill(ks.pids[i], SIGKILL);
	for (tries = 0; tries < 100; tries++) {
		left = 0;
		for (i = 0; i < KS_MAX_PIDS; i++) {
			if (ks.pids[i] <= 0 || !ks.direct[i])
				continue;
			if (waitpid(ks.pids[i], NULL, WNOHANG) == 0)
				left++;
			else
				ks.pids[i] = 0;
		}
		if (!left)
			break;
		nanosleep(&ts, NULL);
	}
	for (i = 0; i < KS_MAX_FDS; i++)
		if (ks.fds[i] > 0) {
			close(ks.fds[i]);
			ks.fds[i] = 0;
		}
	/* Pages still in use become surplus, freed with their last user. */
	write_str(KS_OVER, ks.old_over);
	write_str(KS_NR, ks.old_nr);
	unlink(ks.state);
	ks.held = false;
}

static void ks_on_signal(int sig)
{
	int saved = errno;

	ks_emergency();
	signal(sig, SIG_DFL);
	errno = saved;
	raise(sig);
}

static void ks_at_exit(void)
{
	ks_emergency();
}

static void ks_install_handlers(void)
{
	struct sigaction sa = { .sa_handler = ks_on_signal }, old;

	if (ks.handlers)
		return;
	ks.handlers = true;
	atexit(ks_at_exit);
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(ks_signals) / sizeof(ks_signals[0]);
	     i++) {
		int sig = ks_signals[i];

		/* Leave a handler someone else installed (ASan's) alone. */
		if (sigaction(sig, NULL, &old) || old.sa_handler != SIG_DFL ||
		    (old.sa_flags & SA_SIGINFO))
			continue;
		sigaction(sig, &sa, NULL);
	}
	/* A driver that dies must not kill us through its socket. */
	signal(SIGPIPE, SIG_IGN);
}

void ks_track_pid(pid_t pid, bool direct)
{
	for (int i = 0; i < KS_MAX_PIDS; i++)
		if (ks.pids[i] <= 0) {
			ks.direct[i] = direct;
			ks.pids[i] = pid;
			return;
		}
}

void ks_untrack_pid(pid_t pid)
{
	for (int i = 0; i < KS_MAX_PIDS; i++)
		if (ks.pids[i] == pid)
			ks.pids[i] = 0;
}

void ks_track_fd(int fd)
{
	for (int i = 0; i < KS_MAX_FDS; i++)
		if (ks.fds[i] <= 0) {
			ks.fds[i] = fd;
			return;
		}
}

void ks_untrack_fd(int fd)
{
	for (int i = 0; i < KS_MAX_FDS; i++)
		if (ks.fds[i] == fd)
			ks.fds[i] = 0;
}

/* ---- taking and giving back ------------------------------------------ */

static bool said_waiting;	/* once per process is enough */

static int take_lock(char *why, size_t size)
{
	const char *path = KS_LOCK;
	int fd, waited = 0;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ks.state = KS_STATE;
	if (fd < 0) {
		path = KS_LOCK_TMP;
		ks.state = KS_STATE_TMP;
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			  0600);
	}
	if (fd < 0) {
		why_set(why, size, "cannot open the lock %s: %s", path,
			strerror(errno));
		return -errno;
	}
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK || waited >= KS_LOCK_WAIT * 10) {
			why_set(why, size, "another hugewalk run holds the hugetlb pool (lock %s)",
				path);
			close(fd);
			return -EBUSY;
		}
		if (!waited && !said_waiting) {
			fprintf(stderr, "hugewalk: waiting for another run on the kernel to finish (lock %s)\n",
				path);
			said_waiting = true;
		}
		usleep(100 * 1000);
		waited++;
	}
	ks.lock_fd = fd;
	return 0;
}

/* A run killed by SIGKILL left the pool raised: put it back. */
static void restore_stale(void)
{
	unsigned long nr, over;
	long pid;
	FILE *f = fopen(ks.state, "re");

	if (!f)
		return;
	if (fscanf(f, "%lu %lu %ld", &nr, &over, &pid) == 3) {
		write_ulong(KS_OVER, over);
		write_ulong(KS_NR, nr);
		fprintf(stderr, "hugewalk: restored nr_hugepages=%lu, nr_overcommit_hugepages=%lu left by hugewalk (pid %ld), which did not finish\n",
			nr, over, pid);
	}
	fclose(f);
	unlink(ks.state);
}

static int save_state(unsigned long nr, unsigned long over)
{
	FILE *f = fopen(ks.state, "we");

	snprintf(ks.old_nr, sizeof(ks.old_nr), "%lu\n", nr);
	snprintf(ks.old_over, sizeof(ks.old_over), "%lu\n", over);
	if (!f)
		return -errno;
	fprintf(f, "%lu %lu %ld\n", nr, over, (long)getpid());
	return fclose(f) ? -errno : 0;
}

static void drop_lock(void)
{
	if (ks.lock_fd >= 0)
		close(ks.lock_fd);
	ks.lock_fd = -1;
}

/* The checks that change nothing, shared with sc_kernel_available(). */
static int check_machine(char *why, size_t size)
{
	unsigned long total, free, rsvd;
	int fd;

	if (geteuid() != 0) {
		why_set(why, size, "the kernel backend needs root: it sets the hugetlb pool (%s)",
			KS_NR);
		return -EPERM;
	}
	if (access(KS_HSTATE, F_OK)) {
		why_set(why, size, "this kernel has no 2 MiB hugetlb pool (%s is missing: CONFIG_HUGETLBFS?)",
			KS_HSTATE);
		return -ENOENT;
	}
	fd = memfd_create(KD_MEMFD_PREFIX "probe", MFD_HUGETLB | MFD_CLOEXEC);
	if (fd < 0) {
		why_set(why, size, "memfd_create(MFD_HUGETLB) fails: %s",
			strerror(errno));
		return -errno;
	}
	close(fd);
	if (raw_counters(&total, &free, &rsvd)) {
		why_set(why, size, "cannot read the pool counters in %s",
			KS_HSTATE);
		return -EIO;
	}
	return 0;
}

bool sc_kernel_available(char *why, size_t size)
{
	return !check_machine(why, size);
}

int ks_acquire(char *why, size_t size)
{
	unsigned long nr, over, surplus, now, total, free, rsvd;
	int err;

	if (ks.held)
		return 0;
	if (geteuid() != 0)
		return check_machine(why, size);
	err = take_lock(why, size);
	if (err)
		return err;
	restore_stale();
	err = check_machine(why, size);
	if (err)
		goto out_unlock;
	err = read_ulong(KS_NR, &nr) ?: read_ulong(KS_OVER, &over) ?:
	      read_ulong(KS_HSTATE "/surplus_hugepages", &surplus);
	if (err) {
		why_set(why, size, "cannot read %s", KS_NR);
		goto out_unlock;
	}
	/*
	 * nr_hugepages reads the whole pool, surplus pages included; what
	 * was set, and what goes back, is the persistent part.  Pages in
	 * use then beyond it become surplus again, freed with their user.
	 */
	err = save_state(nr - (surplus <= nr ? surplus : nr), over);
	if (err) {
		why_set(why, size, "cannot write %s: %s", ks.state,
			strerror(-err));
		goto out_unlock;
	}
	ks.held = true;
	ks_install_handlers();

	/*
	 * The model's pool starts empty and never overcommits.  Pages
	 * others hold stay theirs: free pages beyond them go, and are
	 * counted out of what the scenario sees.
	 */
	err = write_ulong(KS_OVER, 0);
	if (!err && !raw_counters(&total, &free, &rsvd)) {
		ks.base_used = total - free;
		ks.base_rsvd = rsvd;
		err = write_ulong(KS_NR, ks.base_used + ks.base_rsvd);
	}
	if (err) {
		why_set(why, size, "cannot write %s: %s", KS_NR, strerror(-err));
		goto out_release;
	}
	if (ks_set_pool(1, &now, why, size)) {
		why_set(why, size, "the hugetlb pool cannot grow: writing to %s did not add a page (no free memory?)",
			KS_NR);
		err = -ENOSPC;
		goto out_release;
	}
	ks_set_pool(0, &now, why, size);
	return 0;

out_release:
	ks_release();
	return err;
out_unlock:
	drop_lock();
	return err;
}

void ks_release(void)
{
	if (!ks.held)
		return;
	ks.base_used = ks.base_rsvd = 0;
	write_str(KS_OVER, ks.old_over);
	write_str(KS_NR, ks.old_nr);
	unlink(ks.state);
	ks.held = false;
	drop_lock();
}

int ks_set_pool(unsigned long nr, unsigned long *now, char *why,
		size_t size)
{
	unsigned long total, free, rsvd, avail, need, keep;

	*now = 0;
	if (ks_pool_counters(&total, &free, &rsvd))
		return -EIO;
	*now = total;
	if (nr > total) {
		/* Raising the pool must not push the machine into reclaim. */
		avail = meminfo_kb("MemAvailable") / 1024;
		keep = meminfo_kb("MemTotal") / 1024 / 8;
		need = (nr - total) * (KS_HPAGE >> 20);
		if (keep < 256)
			keep = 256;
		if (need + keep > avail) {
			why_set(why, size, "pool %lu needs %lu MiB more, and this machine has %lu MiB available (keeping %lu MiB free)",
				nr, need, avail, keep);
			return -ENOMEM;
		}
	}
	if (write_ulong(KS_NR, nr + ks.base_used + ks.base_rsvd) ||
	    ks_pool_counters(now, &free, &rsvd))
		return -EIO;
	if (*now < nr) {
		why_set(why, size, "pool %lu: the kernel could only grow the pool to %lu pages",
			nr, *now);
		return -ENOMEM;
	}
	return 0;
}

int ks_memory_nodes(int *nodes, int max)
{
	char buf[256], *p = buf, *end;
	FILE *f = fopen("/sys/devices/system/node/has_memory", "re");
	int n = 0;

	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		nodes[0] = 0;
		return 1;
	}
	fclose(f);
	while (*p && *p != '\n' && n < max) {
		long a = strtol(p, &end, 10), b = a;

		if (end == p)
			break;
		p = end;
		if (*p == '-')
			b = strtol(p + 1, &p, 10);
		for (long i = a; i <= b && n < max; i++)
			nodes[n++] = (int)i;
		if (*p == ',')
			p++;
	}
	return n ? n : (nodes[0] = 0, 1);
}

int ks_pagemap_entry(pid_t pid, uint64_t addr, uint64_t *entry)
{
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, entry, sizeof(*entry),
		  (off_t)(addr / 4096 * sizeof(*entry))) != sizeof(*entry))
		ret = -EIO;
	close(fd);
	return ret;
}

int ks_hugetlb_pages(pid_t pid, unsigned long *pages)
{
	char path[64], line[256];
	unsigned long kb;
	FILE *f;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugetlbPages: %lu kB", &kb) == 1) {
			/*
			 * The kernel prints the counter unsigned, and it can
			 * go below zero: an mm that zaps, through a shared
			 * PMD table, pages another mm faulted in is charged
			 * for them.  Keep the sign, as the model does.
			 */
			*pages = (unsigned long)((long)kb /
						 (long)(KS_HPAGE >> 10));
			ret = 0;
			break;
		}
	fclose(f);
	return ret;
}
