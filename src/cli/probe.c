// SPDX-License-Identifier: MIT
/*
 * `hugewalk probe`: the races the model explores, run for real on the
 * machine's kernel for a bounded time, as a regression check of kernels.
 *
 * Every probe has the shape of the series' reproducer: a memfd of 1 GiB
 * (MFD_HUGETLB) mapped MAP_SHARED at a 1 GiB-aligned address by two
 * processes, which then share one PMD table.  In process 1 a walker
 * thread goes through one call site in a loop while an unsharer thread
 * loops MADV_DONTNEED (huge_pmd_unshare() of process 1's PUD entry);
 * process 2 loops munmap()/mmap() and a touch, so that it is the last
 * user of the table, which it then frees, and shares it again.  The
 * walkers: MADV_POPULATE_WRITE (GUP, follow_hugetlb_page()), reads of
 * /proc/self/pagemap (walk_hugetlb_range()), process_vm_readv() of
 * process 1 by a third process (GUP of another mm), a userfaultfd
 * MISSING fault resolved by a monitor (userfaultfd_huge_must_wait()), and
 * a hole punch of a page process 1 keeps faulting back
 * (hugetlb_vma_maps_page(), remove_inode_hugepages()).
 *
 * Invariants the probes check:
 *  - data: the pages hold known tags (page i: PROBE_TAG + i) that only
 *    the punch probe changes (a punched page reads 0 until it is written
 *    again), and every read, through any path, must see them;
 *  - the kernel log from the start of the probe (/dev/kmsg) has no BUG,
 *    WARNING, Oops, KASAN, lockdep or hung-task line;
 *  - each process and thread keeps going: a stop flag ends them, and one
 *    that does not end within the grace time is reported (and killed).
 * Memory is bounded: MAP_NORESERVE mappings, PROBE_PAGES pages touched,
 * a pool of that many more pages than others hold, given back at the end
 * (kernel_setup.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/kernel.h"
#include "cli/probe.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB		0x0004U
#endif
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB		(21U << 26)
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif

#define PROBE_ADDR	(1ULL << 30)	/* 1 GiB-aligned, in each process */
#define PROBE_LEN	(1ULL << 30)
#define PROBE_PAGES	8		/* huge pages touched */
#define PROBE_TAG	0x5eed0000ULL
#define PROBE_GRACE_MS	5000

enum probe_kind {
	PROBE_POPULATE,
	PROBE_PAGEMAP,
	PROBE_PVM,
	PROBE_UFFD,
	PROBE_PUNCH,
	NR_PROBES
};

static const struct {
	const char *name;
	const char *site;
} probes[NR_PROBES] = {
	[PROBE_POPULATE] = { "populate", "MADV_POPULATE_WRITE: follow_hugetlb_page()" },
	[PROBE_PAGEMAP] = { "pagemap", "/proc/self/pagemap: walk_hugetlb_range()" },
	[PROBE_PVM] = { "process_vm_readv", "process_vm_readv() of process 1: follow_hugetlb_page() of another mm" },
	[PROBE_UFFD] = { "uffd", "userfaultfd MISSING: userfaultfd_huge_must_wait()" },
	[PROBE_PUNCH] = { "punch", "hole punch: hugetlb_vma_maps_page(), remove_inode_hugepages()" },
};

/* Shared by every process of a probe (MAP_SHARED | MAP_ANONYMOUS). */
struct probe_shared {
	int stop;
	unsigned long walks;		/* the walker's loops */
	unsigned long unshares;		/* process 1's MADV_DONTNEED */
	unsigned long remaps;		/* process 2's munmap + mmap */
	unsigned long bad;		/* reads that saw a wrong tag */
	uint64_t bad_addr, bad_got, bad_want;
	int error;			/* errno of a call that should work */
	char what[128];			/* which call */
};

struct probe_ctx {
	struct probe_shared *sh;
	int fd;
	enum probe_kind kind;
	int uffd;
	pid_t p1;
	int walker_done;	/* process 1: the monitor may stop now */
};

static bool stopped(struct probe_shared *sh)
{
	return __atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE);
}

static void count(unsigned long *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

static void fail_call(struct probe_shared *sh, const char *what)
{
	int expected = 0;

	if (__atomic_compare_exchange_n(&sh->error, &expected, errno, false,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		snprintf(sh->what, sizeof(sh->what), "%s", what);
}

/* A tag seen at @addr: it must be @want (or 0 where @zero_ok). */
static void check_tag(struct probe_shared *sh, uint64_t addr, uint64_t got,
		      uint64_t want, bool zero_ok)
{
	if (got == want || (zero_ok && !got))
		return;
	if (!__atomic_fetch_add(&sh->bad, 1, __ATOMIC_RELAXED)) {
		sh->bad_addr = addr;
		sh->bad_got = got;
		sh->bad_want = want;
	}
}

static uint64_t page_addr(int i)
{
	return PROBE_ADDR + (uint64_t)i * KS_HPAGE;
}

static int map_fixed(int fd)
{
	void *p = mmap((void *)(uintptr_t)PROBE_ADDR, PROBE_LEN,
		       PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_NORESERVE | MAP_FIXED_NOREPLACE, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	if ((uintptr_t)p != PROBE_ADDR) {
		munmap(p, PROBE_LEN);
		return -EEXIST;
	}
	return 0;
}

/* ---- process 2: the last user, freeing and re-sharing the table ------- */

static void run_remapper(struct probe_ctx *c)
{
	struct probe_shared *sh = c->sh;
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)PROBE_ADDR;
	uint64_t v;

	while (!stopped(sh)) {
		if (munmap((void *)(uintptr_t)PROBE_ADDR, PROBE_LEN)) {
			fail_call(sh, "process 2: munmap");
			break;
		}
		if (map_fixed(c->fd)) {
			fail_call(sh, "process 2: mmap");
			break;
		}
		v = p[0];	/* a fault: share process 1's table again */
		if (c->kind != PROBE_PUNCH)
			check_tag(sh, PROBE_ADDR, v, PROBE_TAG, false);
		count(&sh->remaps);
	}
}

/* ---- process 1: the unsharer thread ------------------------------------- */

static void *unsharer(void *arg)
{
	struct probe_ctx *c = arg;

	while (!stopped(c->sh)) {
		if (madvise((void *)(uintptr_t)PROBE_ADDR, KS_HPAGE,
			    MADV_DONTNEED)) {
			fail_call(c->sh, "process 1: MADV_DONTNEED");
			break;
		}
		count(&c->sh->unshares);
		sched_yield();
	}
	return NULL;
}

/* ---- process 1: the walkers ---------------------------------------------- */

static void walk_populate(struct probe_ctx *c)
{
	volatile uint64_t *p;

	if (madvise((void *)(uintptr_t)PROBE_ADDR, PROBE_PAGES * KS_HPAGE,
		    MADV_POPULATE_WRITE)) {
		fail_call(c->sh, "process 1: MADV_POPULATE_WRITE");
		return;
	}
	for (int i = 0; i < PROBE_PAGES; i++) {
		p = (volatile uint64_t *)(uintptr_t)page_addr(i);
		check_tag(c->sh, page_addr(i), *p, PROBE_TAG + i, false);
	}
}

/* The pfn of each present page stays what it was: the page cache's. */
static void walk_pagemap(struct probe_ctx *c, int pm, uint64_t *pfn0)
{
	uint64_t e;

	for (int i = 0; i < PROBE_PAGES; i++) {
		if (pread(pm, &e, sizeof(e),
			  (off_t)(page_addr(i) / 4096 * sizeof(e))) != 8) {
			fail_call(c->sh, "process 1: pread /proc/self/pagemap");
			return;
		}
		if (!(e >> 63))
			continue;
		e &= (1ULL << 55) - 1;
		if (!pfn0[i])
			pfn0[i] = e;
		check_tag(c->sh, page_addr(i), e, pfn0[i], false);
	}
}

/* A third process reads process 1's pages with GUP of another mm. */
static void run_reader(struct probe_ctx *c)
{
	uint64_t tags[PROBE_PAGES];
	struct iovec l[PROBE_PAGES], r[PROBE_PAGES];
	ssize_t n;

	while (!stopped(c->sh)) {
		for (int i = 0; i < PROBE_PAGES; i++) {
			l[i] = (struct iovec){ &tags[i], sizeof(tags[i]) };
			r[i] = (struct iovec){ (void *)(uintptr_t)page_addr(i),
					       sizeof(tags[i]) };
		}
		n = process_vm_readv(c->p1, l, PROBE_PAGES, r, PROBE_PAGES, 0);
		if (n < 0) {
			fail_call(c->sh, "process 3: process_vm_readv");
			return;
		}
		for (int i = 0; i < n / 8; i++)
			check_tag(c->sh, page_addr(i), tags[i], PROBE_TAG + i,
				  false);
		count(&c->sh->walks);
	}
}

/*
 * userfaultfd MISSING: the last page is punched out of the file, so a
 * touch of it faults MISSING; the monitor thread copies the tag back in
 * with UFFDIO_COPY and the toucher checks it.
 */
static void *uffd_monitor(void *arg)
{
	struct probe_ctx *c = arg;
	struct pollfd pfd = { .fd = c->uffd, .events = POLLIN };
	struct uffd_msg msg;
	struct uffdio_copy cp;
	char *page;

	page = mmap(NULL, KS_HPAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		fail_call(c->sh, "process 1: mmap of the monitor's buffer");
		return NULL;
	}
	/* Until the walker is done: it may sleep in a fault till then. */
	while (!__atomic_load_n(&c->walker_done, __ATOMIC_ACQUIRE)) {
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		if (read(c->uffd, &msg, sizeof(msg)) != sizeof(msg) ||
		    msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		memset(page, 0, 64);
		*(uint64_t *)page = PROBE_TAG + PROBE_PAGES - 1;
		cp = (struct uffdio_copy){
			.dst = msg.arg.pagefault.address & ~(KS_HPAGE - 1),
			.src = (uintptr_t)page, .len = KS_HPAGE,
		};
		if (ioctl(c->uffd, UFFDIO_COPY, &cp) && errno != EEXIST)
			fail_call(c->sh, "process 1: UFFDIO_COPY");
	}
	munmap(page, KS_HPAGE);
	return NULL;
}

static int uffd_setup(struct probe_ctx *c)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = PROBE_ADDR, .len = PROBE_LEN },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	c->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (c->uffd < 0 || ioctl(c->uffd, UFFDIO_API, &api) ||
	    ioctl(c->uffd, UFFDIO_REGISTER, &reg))
		return -errno;
	return 0;
}

static void walk_uffd(struct probe_ctx *c)
{
	int last = PROBE_PAGES - 1;
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)page_addr(last);

	if (fallocate(c->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)last * KS_HPAGE, KS_HPAGE)) {
		fail_call(c->sh, "process 1: fallocate(PUNCH_HOLE)");
		return;
	}
	check_tag(c->sh, page_addr(last), *p, PROBE_TAG + last, false);
}

/* The punch: page 0 goes and comes back, tag written again. */
static void walk_punch(struct probe_ctx *c)
{
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)PROBE_ADDR;

	if (fallocate(c->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		      KS_HPAGE)) {
		fail_call(c->sh, "process 1: fallocate(PUNCH_HOLE)");
		return;
	}
	check_tag(c->sh, PROBE_ADDR, *p, PROBE_TAG, true);
	*p = PROBE_TAG;
	for (int i = 1; i < PROBE_PAGES; i++)
		check_tag(c->sh, page_addr(i),
			  *(volatile uint64_t *)(uintptr_t)page_addr(i),
			  PROBE_TAG + i, false);
}

static void run_walker(struct probe_ctx *c)
{
	uint64_t pfn0[PROBE_PAGES] = { 0 };
	pthread_t unshare_th, monitor_th;
	bool monitor = false;
	int pm = -1;

	if (c->kind == PROBE_UFFD) {
		if (uffd_setup(c)) {
			fail_call(c->sh, "process 1: userfaultfd MISSING registration");
			return;
		}
		monitor = !pthread_create(&monitor_th, NULL, uffd_monitor, c);
	}
	if (c->kind == PROBE_PAGEMAP)
		pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pthread_create(&unshare_th, NULL, unsharer, c)) {
		fail_call(c->sh, "process 1: pthread_create");
		return;
	}
	while (!stopped(c->sh)) {
		switch (c->kind) {
		case PROBE_POPULATE:
			walk_populate(c);
			break;
		case PROBE_PAGEMAP:
			walk_pagemap(c, pm, pfn0);
			break;
		case PROBE_UFFD:
			walk_uffd(c);
			break;
		case PROBE_PUNCH:
			walk_punch(c);
			break;
		default:	/* PVM: process 1 only unshares */
			usleep(1000);
			continue;
		}
		count(&c->sh->walks);
	}
	__atomic_store_n(&c->walker_done, 1, __ATOMIC_RELEASE);
	pthread_join(unshare_th, NULL);
	if (monitor)
		pthread_join(monitor_th, NULL);
	if (pm >= 0)
		close(pm);
}

/* ---- the controller ------------------------------------------------ */

static pid_t start(struct probe_ctx *c, void (*fn)(struct probe_ctx *),
		   bool map)
{
	pid_t pid = fork();
	int err;

	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	if (map) {
		err = map_fixed(c->fd);
		if (err) {
			errno = -err;
			fail_call(c->sh, "mmap at 1 GiB (the address is taken in this process)");
			_exit(1);
		}
	}
	fn(c);
	_exit(0);
}

/*
 * Wait for @pid at most @ms; kill it if it does not end.  Return: 0 if
 * it exited, the signal that killed it, or -1 if it had to be killed.
 */
static int finish(pid_t pid, int ms)
{
	int st;

	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
		usleep(10 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static int report_end(FILE *out, const char *who, int how)
{
	if (!how)
		return 0;
	if (how < 0)
		fprintf(out, "    FOUND: %s did not stop within %d ms (killed)\n",
			who, PROBE_GRACE_MS);
	else
		fprintf(out, "    FOUND: %s died of signal %d (%s)\n", who,
			how, strsignal(how));
	return 1;
}

/* Write the pages' tags into the page cache: page i holds TAG + i. */
static int fill(int fd)
{
	char *p = mmap(NULL, PROBE_PAGES * KS_HPAGE, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_NORESERVE, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	for (int i = 0; i < PROBE_PAGES; i++)
		*(volatile uint64_t *)(p + i * KS_HPAGE) = PROBE_TAG + i;
	munmap(p, PROBE_PAGES * KS_HPAGE);
	return 0;
}

/* The kernel log's lines since @kmsg was opened that speak of trouble. */
static unsigned int kernel_log(int kmsg, FILE *out)
{
	static const char *const bad[] = {
		"BUG:", "WARNING:", "Oops", "KASAN", "general protection",
		"possible recursive locking", "possible circular locking",
		"blocked for more than", "Kernel panic", "list_del corruption",
		"bad page state", "Bad page", "killed due to inadequate",
	};
	char rec[8192];
	unsigned int n = 0;
	ssize_t len;

	if (kmsg < 0)
		return 0;
	while ((len = read(kmsg, rec, sizeof(rec) - 1)) > 0 ||
	       (len < 0 && errno == EPIPE)) {
		char *text;

		if (len <= 0)
			continue;	/* EPIPE: records overwritten */
		rec[len] = '\0';
		text = strchr(rec, ';');
		text = text ? text + 1 : rec;
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (strstr(text, bad[i])) {
				fprintf(out, "    kernel: %s", text);
				if (!strchr(text, '\n'))
					fputc('\n', out);
				n++;
				break;
			}
	}
	return n;
}

static int run_probe(enum probe_kind kind, int fd, const struct probe_opts *o,
		     unsigned int *log_lines)
{
	struct probe_shared *sh;
	struct probe_ctx c = { .fd = fd, .kind = kind, .uffd = -1 };
	pid_t p1, p2, p3 = 0;
	int end1, end2, end3 = 0;
	int found = 0;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -errno;
	c.sh = sh;
	if (fill(fd)) {
		munmap(sh, sizeof(*sh));
		return -ENOMEM;
	}
	p1 = start(&c, run_walker, true);
	c.p1 = p1;
	p2 = start(&c, run_remapper, true);
	if (kind == PROBE_PVM)
		p3 = start(&c, run_reader, false);
	if (p1 > 0)
		ks_track_pid(p1, true);
	if (p2 > 0)
		ks_track_pid(p2, true);
	if (p3 > 0)
		ks_track_pid(p3, true);
	usleep((useconds_t)(o->seconds * 1e6));
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	end1 = finish(p1, PROBE_GRACE_MS);
	end2 = finish(p2, PROBE_GRACE_MS);
	if (p3 > 0)
		end3 = finish(p3, PROBE_GRACE_MS);
	ks_untrack_pid(p1);
	ks_untrack_pid(p2);
	if (p3 > 0)
		ks_untrack_pid(p3);

	fprintf(o->out, "%-17s %s\n", probes[kind].name, probes[kind].site);
	fprintf(o->out, "    ran %.1f s: %lu walks, %lu unshares (MADV_DONTNEED), %lu munmap/mmap of the last sharer\n",
		o->seconds, sh->walks, sh->unshares, sh->remaps);
	if (sh->bad) {
		fprintf(o->out, "    FOUND: %lu reads saw a wrong value, first at 0x%llx: 0x%llx, not 0x%llx\n",
			sh->bad, (unsigned long long)sh->bad_addr,
			(unsigned long long)sh->bad_got,
			(unsigned long long)sh->bad_want);
		found++;
	}
	if (sh->error) {
		fprintf(o->out, "    FOUND: %s failed: %s\n", sh->what,
			strerror(sh->error));
		found++;
	}
	found += report_end(o->out, "process 1", end1);
	found += report_end(o->out, "process 2", end2);
	found += report_end(o->out, "process 3", end3);
	*log_lines = kernel_log(o->kmsg, o->out);
	found += *log_lines ? 1 : 0;
	fprintf(o->out, "    %s\n", found ? "FOUND" : "clean: data intact, nothing in the kernel log");
	munmap(sh, sizeof(*sh));
	return found;
}

int hw_probe(const struct probe_opts *opts)
{
	struct probe_opts o = *opts;
	unsigned long now;
	char why[512];
	unsigned int lines = 0, total = 0;
	int fd, ret, found = 0;

	ret = ks_acquire(why, sizeof(why));
	if (ret) {
		fprintf(o.out, "NOT RUN: %s\n", why);
		return -ENODEV;
	}
	ret = ks_set_pool(PROBE_PAGES + 2, &now, why, sizeof(why));
	if (ret) {
		fprintf(o.out, "NOT RUN: %s\n", why);
		ks_release();
		return -ENODEV;
	}
	fd = memfd_create(KD_MEMFD_PREFIX "probe",
			  MFD_HUGETLB | MFD_HUGE_2MB | MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, PROBE_LEN)) {
		fprintf(o.out, "NOT RUN: memfd_create(MFD_HUGETLB): %s\n",
			strerror(errno));
		ks_release();
		return -ENODEV;
	}
	ks_track_fd(fd);
	o.kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (o.kmsg >= 0)
		lseek(o.kmsg, 0, SEEK_END);
	fprintf(o.out, "hugewalk probe: a 1 GiB memfd (MFD_HUGETLB) shared by two processes at 0x%llx, %d huge pages in use; %.1f s per probe; kernel log %s\n",
		(unsigned long long)PROBE_ADDR, PROBE_PAGES, o.seconds,
		o.kmsg >= 0 ? "from /dev/kmsg" : "unreadable (no /dev/kmsg)");
	for (int k = 0; k < NR_PROBES; k++) {
		if (o.only && strcmp(o.only, probes[k].name))
			continue;
		ret = run_probe(k, fd, &o, &lines);
		if (ret < 0) {
			fprintf(o.out, "%s: cannot run: %s\n", probes[k].name,
				strerror(-ret));
			found++;
			continue;
		}
		found += ret > 0;
		total += lines;
	}
	if (o.kmsg >= 0)
		close(o.kmsg);
	ks_untrack_fd(fd);
	close(fd);
	ks_release();
	fprintf(o.out, "%s: %d probe%s found something%s\n",
		found ? "FOUND" : "CLEAN", found, found == 1 ? "" : "s",
		total ? " (kernel log lines above)" : "");
	return found;
}

const char *hw_probe_names(void)
{
	return "populate, pagemap, process_vm_readv, uffd, punch";
}
