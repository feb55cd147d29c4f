// SPDX-License-Identifier: MIT
/*
 * Which kernel behaviours (enum hw_quirk) the running kernel has, found
 * by trying each once (one probe per quirk, the table at the end), so
 * that `hugewalk diff` compares the kernel with a model of that kernel
 * rather than of another one.
 *
 * Invariants:
 *  - A probe runs in processes of its own (the controller's address
 *    space stays as it was), tracked for the kernel backend's clean-up,
 *    and is given up, killed, after PROBE_TIMEOUT_MS.
 *  - A probe that cannot tell (no userfaultfd, no PMD sharing to begin
 *    with, an unexpected error) leaves its quirk off and says why: the
 *    model's default is upstream's behaviour.
 *  - The result is cached: every scenario of one command is compared
 *    with the same model.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hugewalk/system.h>

#include "cli/kernel.h"
#include "cli/scenario.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB	0x0004U
#endif

#define PROBE_TIMEOUT_MS	10000
#define PUD_SZ			(1UL << 30)

/* How a probe process ends: the quirk's verdict, or why it cannot tell. */
enum {
	PROBE_ABSENT = 10,	/* the kernel does what upstream does */
	PROBE_PRESENT,		/* the kernel has the quirk */
	PROBE_NO_SHARE,		/* the table was not shared to begin with */
	PROBE_NO_UFFD,		/* userfaultfd() or UFFDIO_REGISTER refused */
	PROBE_SETUP,		/* memfd, mmap or fork failed */
	PROBE_ODD_COUNT,	/* a fault count that says neither */
};

/* Is @addr present in this process's page tables? */
static bool present(volatile uint64_t *addr)
{
	uint64_t e;

	return !ks_pagemap_entry(getpid(), (uintptr_t)addr, &e) && e >> 63;
}

/*
 * The second process of the uffd-missing-no-share probe: it shares the
 * first's PMD table by faulting page 0 (the first process faulted it),
 * then registers the whole range for MISSING faults.  If page 0 is no
 * longer present in its tables, the registration unshared them.
 */
static int probe_missing_sharer(volatile uint64_t *a)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { (uintptr_t)a, PUD_SZ },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	unsigned long before, after;
	int uffd;

	if (ks_hugetlb_pages(getpid(), &before))
		return PROBE_SETUP;
	(void)*a;
	/* A fault that shared the table found the entry: no page counted. */
	if (ks_hugetlb_pages(getpid(), &after) || after != before ||
	    !present(a))
		return PROBE_NO_SHARE;
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) ||
	    ioctl(uffd, UFFDIO_REGISTER, &reg))
		return PROBE_NO_UFFD;
	return present(a) ? PROBE_ABSENT : PROBE_PRESENT;
}

/* The first process: a 1 GiB-aligned shared mapping with page 0 in. */
static int probe_missing_owner(void)
{
	void *space, *a;
	uintptr_t at;
	pid_t pid;
	int fd, status;

	fd = memfd_create("hw:quirk-probe", MFD_HUGETLB | MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, PUD_SZ))
		return PROBE_SETUP;
	space = mmap(NULL, 2 * PUD_SZ, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (space == MAP_FAILED)
		return PROBE_SETUP;
	at = ((uintptr_t)space + PUD_SZ - 1) & ~(PUD_SZ - 1);
	a = mmap((void *)at, PUD_SZ, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_NORESERVE | MAP_FIXED, fd, 0);
	if (a == MAP_FAILED)
		return PROBE_SETUP;
	*(volatile uint64_t *)a = 1;
	pid = fork();
	if (pid < 0)
		return PROBE_SETUP;
	if (!pid)
		_exit(probe_missing_sharer(a));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return PROBE_SETUP;
	return WEXITSTATUS(status);
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/*
 * The cow-steal-refault probe, in a pool of exactly two pages: a private
 * 4 MiB mapping (the owner: both pages reserved, then faulted), a
 * MAP_NORESERVE private mapping of the same file pages, and a fork child
 * that keeps the pages mapped.  The owner's store to page 0 must copy,
 * finds no free page, and takes the page back from the child and from
 * its own second mapping (unmap_ref_private()); count its faults.
 */
static int probe_cow_steal(void)
{
	unsigned long total, free, rsvd;
	volatile uint64_t *a;
	void *b;
	int fd, pipefd[2], status;
	long f0, f1;
	char c = 0;
	pid_t pid;

	fd = memfd_create("hw:quirk-probe", MFD_HUGETLB | MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 2 * KS_HPAGE))
		return PROBE_SETUP;
	a = mmap(NULL, 2 * KS_HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		 fd, 0);
	b = mmap(NULL, 2 * KS_HPAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_NORESERVE, fd, 0);
	if (a == MAP_FAILED || b == MAP_FAILED || pipe(pipefd))
		return PROBE_SETUP;
	a[0] = 1;
	a[KS_HPAGE / sizeof(*a)] = 1;
	if (ks_pool_counters(&total, &free, &rsvd) || free)
		return PROBE_SETUP;	/* a copy would not have to steal */
	pid = fork();
	if (pid < 0)
		return PROBE_SETUP;
	if (!pid) {
		/* Keep the pages mapped until the owner has written. */
		if (read(pipefd[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	/*
	 * Fork made our stack copy-on-write: break it first, or
	 * getrusage()'s own stores would count in the window.
	 */
	minflt();
	minflt();
	f0 = minflt();
	a[0] = 2;
	f1 = minflt();
	if (write(pipefd[1], &c, 1) != 1 || waitpid(pid, &status, 0) != pid)
		return PROBE_SETUP;
	return f1 - f0 == 2 ? PROBE_PRESENT :
	       f1 - f0 == 1 ? PROBE_ABSENT : PROBE_ODD_COUNT;
}

/* Run @fn in a process of its own, within PROBE_TIMEOUT_MS. */
static int probe_run(int (*fn)(void))
{
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	int status, waited = 0;
	pid_t pid, got;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		/* Its own process group, so that a kill takes the sharer. */
		setpgid(0, 0);
		_exit(fn());
	}
	setpgid(pid, pid);
	ks_track_pid(pid, true);
	while ((got = waitpid(pid, &status, WNOHANG)) == 0 &&
	       waited < PROBE_TIMEOUT_MS) {
		nanosleep(&nap, NULL);
		waited += 10;
	}
	if (got == 0) {
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
		status = -1;
	}
	ks_untrack_pid(pid);
	if (status == -1)
		return -ETIMEDOUT;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -EIO;
}

static const char *probe_verdict(int ret)
{
	switch (ret) {
	case PROBE_NO_SHARE:
		return "the probe's table was not shared to begin with";
	case PROBE_NO_UFFD:
		return "userfaultfd MISSING registration was refused";
	case PROBE_SETUP:
		return "the probe could not set its machine up as it needs";
	case PROBE_ODD_COUNT:
		return "the store took neither one fault nor two";
	case -ETIMEDOUT:
		return "the probe did not finish in time";
	default:
		return "the probe ended abnormally";
	}
}

/* Each quirk's probe; each runs in a pool of PROBE_POOL free pages. */
#define PROBE_POOL	2
#define PROBE_TRIES	3

static const struct {
	enum hw_quirk quirk;
	int (*probe)(void);
} probes[] = {
	{ HW_QUIRK_UFFD_MISSING_NO_SHARE, probe_missing_owner },
	{ HW_QUIRK_COW_STEAL_REFAULT, probe_cow_steal },
};

/*
 * Wait, at most a second, until the pool has @nr free pages again: the
 * pages of a probe that has exited may go back to the pool a little
 * later (freeing can be deferred to a worker).
 */
static void wait_pool_free(unsigned long nr)
{
	struct timespec nap = { 0, 5 * 1000 * 1000 };
	unsigned long total, free, rsvd;

	for (int i = 0; i < 200; i++) {
		if (ks_pool_counters(&total, &free, &rsvd) ||
		    (free == nr && !rsvd))
			return;
		nanosleep(&nap, NULL);
	}
}

int sc_kernel_quirks(unsigned long *quirks, char *why, size_t size)
{
	static bool probed;
	static unsigned long found;
	static char note[512];
	unsigned long now;
	size_t i, len = 0;
	int err, ret;

	if (probed)
		goto out;
	err = ks_acquire(why, size);
	if (err)
		return err;
	err = ks_set_pool(PROBE_POOL, &now, why, size);
	if (err) {
		ks_release();
		return err;
	}
	for (i = 0; i < ARRAY_SIZE(probes); i++) {
		/*
		 * A spurious fault now and then (the kernel's, not ours)
		 * makes a count that says neither: try again, a few times.
		 */
		for (int tries = 0; tries < PROBE_TRIES; tries++) {
			wait_pool_free(PROBE_POOL);
			ret = probe_run(probes[i].probe);
			if (ret == PROBE_PRESENT || ret == PROBE_ABSENT)
				break;
		}
		if (ret == PROBE_PRESENT)
			found |= 1UL << probes[i].quirk;
		else if (ret != PROBE_ABSENT && len < sizeof(note))
			len += snprintf(note + len, sizeof(note) - len,
					"%s%s: cannot tell (%s); assumed off",
					len ? "; " : "",
					hw_quirk_name(probes[i].quirk),
					probe_verdict(ret));
	}
	ks_set_pool(0, &now, why, size);
	ks_release();
	probed = true;
out:
	*quirks = found;
	snprintf(why, size, "%s", note);
	return 0;
}
