// SPDX-License-Identifier: MIT
/*
 * The kernel backend's driver: the program each scenario process runs.  A
 * driver is a clone of the hugewalk process (the controller) or of another
 * driver, on a stack of its own; it reads one request at a time from its
 * socket, performs it with the real system call or memory access, and
 * answers with the result and the faults the op took.
 *
 * A driver has a main thread, which serves the controller's socket, and,
 * for the ops the scenario runs in the background, worker threads, each
 * serving a socket of its own (kernel_thread.c).  An op's faults are
 * ru_minflt + ru_majflt of the thread that runs it, from
 * getrusage(RUSAGE_THREAD), read just before and just after the op: a
 * "window".  The process's count is the sum of its threads' windows.
 * For the count to be the scenario's alone, a driver keeps these
 * invariants:
 *
 *  - Inside a window a thread writes only to memory that is already
 *    present and writable in its page tables: its own stack (prefaulted
 *    whole) and its struct kd_ctx (the main thread's is in the kd state,
 *    prefaulted after every fork; a worker's, its stack and its thread
 *    area are in a mapping of its own, prefaulted when the worker starts
 *    and MADV_DONTFORK, so that no fork makes it copy-on-write: a worker
 *    may be in a window, asleep in a userfault, while the main thread
 *    forks).  A store to a page that fork
 *    made copy-on-write would be a fault of the driver, not of the
 *    scenario; so would a load from a text page that fork did not copy
 *    (file mappings without anonymous pages are faulted in lazily: see
 *    vma_needs_copy()), which is why every fork is followed by
 *    MADV_POPULATE_READ of the driver's own file mappings.
 *  - The parent of a scenario fork runs the fork's window on a stack that
 *    fork does not copy (MADV_DONTFORK for the duration), so that nothing
 *    it touches between clone() and the second getrusage() is shared
 *    copy-on-write with the child.  The child starts on a new stack.
 *  - No malloc and no stdio: a driver is cloned from a controller that may
 *    have other threads (liburcu's call_rcu worker, the executor's job
 *    threads), whose libc locks the clone inherits in whatever state they
 *    were.  For the same reason a worker is a bare clone(), not a
 *    pthread.
 *  - The threads share the fault count (kd.faults) and the userfaultfd
 *    (kd.uffd) only, through atomics, outside windows (kd.uffd is read
 *    inside one: a load of a present page).
 *  - It never touches memory outside the scenario's mappings on behalf of
 *    the scenario: each op's range is first checked against the driver's
 *    own mappings in /proc/self/maps, and a range that overlaps one is
 *    refused and reported (the conflict), never run.
 *  - Before each access (a load or store of the scenario's), it has the
 *    kernel flush its TLB (kd_flush_tlb()): an entry the CPU cached
 *    read-only before another path made the page writable (a GUP such
 *    as MADV_POPULATE_WRITE's, which x86 does not flush for) would
 *    cost the store a spurious fault, counted, that the model, which
 *    has no TLB, never takes; whether the entry survives until then
 *    depends on scheduling.
 *  - It exits when its socket reports end of file: a dead controller
 *    leaves no driver behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#endif
#endif

#include "cli/kernel_driver.h"
#include "cli/kernel_mremap.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#endif
#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE		(1 << 1)
#endif

#define KD_RUSAGE	RUSAGE_THREAD	/* a window counts its thread only */

static struct kd_state {
	char altstack[KD_ALTSTACK];	/* where SIGSEGV/SIGBUS are handled */
	struct kd_ctx ctx;		/* the main thread's */
	uint64_t faults;		/* since this process began; atomic */
	char *stack;			/* the stack this driver runs on */
	char *tlb_area;			/* kd_flush_tlb()'s, or MAP_FAILED */
	int uffd;			/* the process's userfaultfd, or -1; atomic */
	/* Handed from parent to child across clone(). */
	int child_sock;
	char *child_stack;
	char child_name[32];
} kd;

__thread struct kd_ctx *kd_self;

/* A new stack or thread area: mapped, written whole; -errno in errno. */
KD_FN void *kd_map_area(size_t len, bool dontfork)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	int err;

	if (p == MAP_FAILED)
		return p;
	if (dontfork && madvise(p, len, MADV_DONTFORK)) {
		err = errno;
		munmap(p, len);
		errno = err;
		return MAP_FAILED;
	}
	kd_touch(p, len);
	return p;
}

KD_FN void kd_touch(void *p, size_t len)
{
	volatile char *c = p;

	for (size_t i = 0; i < len; i += KD_PAGE)
		c[i] = c[i];
	if (len)
		c[len - 1] = c[len - 1];
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif

/*
 * One line of /proc/self/maps: make its pages present for what a window
 * does with them.  Read: the file mappings (text, read-only data).
 * Written: the driver's private data (the binary's and the libraries'
 * .data and .bss, small anonymous mappings), and the thread's own area
 * around the thread pointer (errno, and struct pthread, which
 * siglongjmp() writes): after a fork, each is copy-on-write.
 */
static void kd_prefault_line(const char *line, uintptr_t tp)
{
	unsigned long a, b, lo, hi;
	char perms[8];

	if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) != 3 ||
	    perms[0] != 'r' || strstr(line, "/memfd:"))
		return;
	if (perms[1] == 'w' && perms[3] == 'p') {
		if (strchr(line, '/') || b - a <= (1UL << 20))
			madvise((void *)a, b - a, MADV_POPULATE_WRITE);
		if (a <= tp && tp < b) {
			lo = tp - a > (64UL << 10) ? tp - (64UL << 10) : a;
			hi = b - tp > (64UL << 10) ? tp + (64UL << 10) : b;
			kd_touch((void *)lo, hi - lo);
		}
	} else if (strchr(line, '/') || strstr(line, "[vdso]")) {
		madvise((void *)a, b - a, MADV_POPULATE_READ);
	}
}

/*
 * Bind every libc function a window calls, so that lazy binding does not
 * write the GOT inside one: each is called once, to no effect.
 */
static void kd_warm_up(void)
{
	static volatile int once;
	struct rusage ru;
	sigjmp_buf jb;
	void *p;

	getrusage(KD_RUSAGE, &ru);
	p = mmap(NULL, 0, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	(void)p;
	munmap(NULL, 0);
	mprotect(NULL, 0, PROT_NONE);
	madvise(NULL, 0, MADV_DONTNEED);
	p = mremap(NULL, 0, 0, 0);
	mincore(NULL, 0, kd_self->vec);
	process_vm_readv(getpid(), NULL, 0, NULL, 0, 0);
	syscall(SYS_getpid);
	ioctl(-1, 0);
	once = 0;
	if (!sigsetjmp(jb, 1) && !once++)
		siglongjmp(jb, 1);
}

/*
 * kd_maps_foreach() - call @fn on each line of /proc/self/maps, read in
 * pieces through kd_self->maps (no allocation), until @fn returns false.
 * Return: 0, or -1 if the file cannot be opened.
 */
KD_FN static int kd_maps_foreach(bool (*fn)(char *line, void *arg),
				 void *arg)
{
	char *line, *end;
	bool more = true;
	size_t have = 0;
	ssize_t n;
	int fd;

	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (more) {
		n = read(fd, kd_self->maps + have, sizeof(kd_self->maps) - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		kd_self->maps[have] = '\0';
		line = kd_self->maps;
		while (more && (end = strchr(line, '\n'))) {
			*end = '\0';
			more = fn(line, arg);
			line = end + 1;
		}
		have = strlen(line);
		memmove(kd_self->maps, line, have);
	}
	close(fd);
	return 0;
}

KD_FN static bool kd_prefault_each(char *line, void *tp)
{
	kd_prefault_line(line, *(uintptr_t *)tp);
	return true;
}

/*
 * Make every page a window may touch present: the kd state and the stack
 * (written, to break copy-on-write), the private data of the binary and
 * of libc, and the driver's file mappings (read).
 */
KD_FN static void kd_prefault(void)
{
	uintptr_t tp = (uintptr_t)__builtin_thread_pointer();

	errno = errno;
	kd_touch(&kd, sizeof(kd));
	kd_touch(kd.stack, KD_STACK_SIZE);
	kd_maps_foreach(kd_prefault_each, &tp);
}

struct kd_mapping_arg {
	uintptr_t addr, start, end;
};

static bool kd_mapping_each(char *line, void *arg)
{
	struct kd_mapping_arg *m = arg;
	unsigned long a, b;

	if (sscanf(line, "%lx-%lx", &a, &b) != 2 || m->addr < a ||
	    m->addr >= b)
		return true;
	m->start = a;
	m->end = b;
	return false;
}

int kd_mapping_of(uintptr_t addr, uintptr_t *start, uintptr_t *end)
{
	struct kd_mapping_arg m = { addr, 0, 0 };

	if (kd_maps_foreach(kd_mapping_each, &m) || !m.end)
		return -ENOENT;
	*start = m.start;
	*end = m.end;
	return 0;
}

/*
 * Does [a, b) overlap a mapping of the driver's own (anything that is not
 * a scenario memfd)?  Then say which, in kd_self->resp.msg.
 */
struct kd_conflict_arg {
	uint64_t a, b;
	bool hit;
};

KD_FN static bool kd_conflict_each(char *line, void *arg)
{
	struct kd_conflict_arg *c = arg;
	unsigned long s, e;

	if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s < c->b && c->a < e &&
	    !strstr(line, "/memfd:" KD_MEMFD_PREFIX)) {
		snprintf(kd_self->resp.msg, sizeof(kd_self->resp.msg),
			 "0x%llx-0x%llx overlaps the driver's own mapping %.160s",
			 (unsigned long long)c->a, (unsigned long long)c->b,
			 line);
		c->hit = true;
	}
	return !c->hit;
}

KD_FN static bool kd_conflict(uint64_t a, uint64_t b)
{
	struct kd_conflict_arg c = { a, b > a ? b : a + 1, false };

	kd_maps_foreach(kd_conflict_each, &c);
	return c.hit;
}

/*
 * The scenario mappings of /proc/self/maps, in kd_self->ranges: where,
 * which file (by inode), at which offset, shared or not, protection.
 */
static bool kd_scenario_range(char *line, void *arg)
{
	int *nr = arg;
	unsigned long a, b, off, ino;
	char perms[8], dev[16];

	if (*nr < KD_MAX_RANGES &&
	    sscanf(line, "%lx-%lx %7s %lx %15s %lu", &a, &b, perms, &off, dev,
		   &ino) == 6 &&
	    strstr(line, "/memfd:" KD_MEMFD_PREFIX))
		kd_self->ranges[(*nr)++] = (struct km_map){
			a, b, off / KD_PAGE, (int)ino, perms[3] == 's',
			{ perms[0], perms[1], perms[2], '\0' },
		};
	return true;
}

static int kd_scenario_ranges(void)
{
	int nr = 0;

	if (kd_maps_foreach(kd_scenario_range, &nr))
		return -1;
	return nr;
}

struct kd_pte_files {
	int pagemap, kpagecount;
};

/*
 * What this process's page tables hold at @addr.  A table is shared
 * when the page is not exclusive (PM_MMAP_EXCLUSIVE clear) although
 * /proc/kpagecount counts one mapping of it, which only a table mapped
 * by several mms explains; anything less certain counts as a table of
 * our own, which km_mremap_hangs() treats as the more dangerous.
 */
static enum km_pte kd_pte(uint64_t addr, void *arg)
{
	struct kd_pte_files *f = arg;
	uint64_t e, pfn, count;

	if (f->pagemap < 0 ||
	    pread(f->pagemap, &e, sizeof(e), (off_t)(addr / KD_PAGE * 8)) != 8)
		return KM_PTE_UNKNOWN;
	if (!(e >> 62))		/* neither present nor swapped */
		return KM_PTE_NONE;
	pfn = e & ((1ULL << 55) - 1);
	if (!(e & (1ULL << 56)) && (e >> 63) && pfn && f->kpagecount >= 0 &&
	    pread(f->kpagecount, &count, sizeof(count), (off_t)(pfn * 8)) ==
		    8 &&
	    count == 1)
		return KM_PTE_SHARED;
	return KM_PTE_OWN;
}

/*
 * Would this mremap hang the kernel in huge_pmd_share(), under
 * move_hugetlb_page_tables()'s own i_mmap_rwsem (seen on 6.18)?
 * km_mremap_hangs() decides, from our mappings and page tables; when it
 * says so, the reason goes into the response.
 */
static bool kd_mremap_hangs(uint64_t old, uint64_t len, uint64_t new_len,
			    uint64_t dst)
{
	struct kd_pte_files f;
	struct km_hang w;
	int nr = kd_scenario_ranges();
	bool hang;

	if (nr < 0)
		nr = 0;
	f.pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	f.kpagecount = open("/proc/kpagecount", O_RDONLY | O_CLOEXEC);
	hang = km_mremap_hangs(kd_self->ranges, nr, old, len, new_len, dst,
			       kd_pte, &f, &w);
	if (hang)
		snprintf(kd_self->resp.msg, sizeof(kd_self->resp.msg),
			 "mremap 0x%llx -> 0x%llx would hang the running kernel: move_hugetlb_page_tables() holds i_mmap_rwsem for write, and moving the page at 0x%llx (%s) into the 1 GiB at 0x%llx, which the new mapping covers whole and whose PUD entry may be empty, its huge_pte_alloc() calls huge_pmd_share(), which takes i_mmap_rwsem again; not run (docs/differences.md)",
			 (unsigned long long)old, (unsigned long long)dst,
			 (unsigned long long)w.page,
			 w.unknown ? "whose table could not be read" :
				     "in a PMD table not shared",
			 (unsigned long long)w.pud);
	if (f.pagemap >= 0)
		close(f.pagemap);
	if (f.kpagecount >= 0)
		close(f.kpagecount);
	return hang;
}

KD_FN static unsigned long kd_delta(const struct rusage *r0,
				    const struct rusage *r1)
{
	return (unsigned long)(r1->ru_minflt - r0->ru_minflt) +
	       (unsigned long)(r1->ru_majflt - r0->ru_majflt);
}

/* One system call in a window: its result as 0 or -errno. */
#define KD_WINDOW(call) ({						\
	struct rusage __r0, __r1;					\
	long __ret;							\
									\
	getrusage(KD_RUSAGE, &__r0);					\
	__ret = (long)(call);						\
	getrusage(KD_RUSAGE, &__r1);					\
	kd_self->resp.faults = kd_delta(&__r0, &__r1);			\
	__ret;								\
})

static int kd_err(long ret)
{
	return ret < 0 ? -errno : 0;
}

KD_FN static void kd_on_fault(int sig, siginfo_t *si, void *uc)
{
	if (!kd_self->armed) {
		/* Not the scenario's access: die of it, as without us. */
		signal(sig, SIG_DFL);
		return;
	}
	kd_self->sig = sig;
	kd_self->sig_addr = (uintptr_t)si->si_addr;
	siglongjmp(kd_self->jb, 1);
}

/* A load or store of the tag word at @addr; 0 or the signal it raised. */
/*
 * Make the kernel flush this process's TLB everywhere: take write
 * permission from KD_TLB_PAGES present pages of our own and give it
 * back.  More pages than x86's single-page flush ceiling (33) makes
 * flush_tlb_mm_range() flush the whole mm, on every CPU that ran it.
 * Outside any window: the area is never written after it is made.
 */
#define KD_TLB_PAGES	64

static void kd_flush_tlb(void)
{
	if (kd.tlb_area == MAP_FAILED)
		return;
	mprotect(kd.tlb_area, KD_TLB_PAGES * KD_PAGE, PROT_READ);
	mprotect(kd.tlb_area, KD_TLB_PAGES * KD_PAGE, PROT_READ | PROT_WRITE);
}

KD_FN static int kd_access(uint64_t addr, bool write, uint64_t *tag)
{
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)addr;
	struct rusage r0, r1;
	volatile uint64_t val = *tag;
	volatile int sig = 0;

	kd_self->sig = 0;
	getrusage(KD_RUSAGE, &r0);
	if (!sigsetjmp(kd_self->jb, 1)) {
		kd_self->armed = 1;
		if (write)
			*p = val;
		else
			val = *p;
		kd_self->armed = 0;
	} else {
		kd_self->armed = 0;
		sig = kd_self->sig;
	}
	getrusage(KD_RUSAGE, &r1);
	kd_self->resp.faults = kd_delta(&r0, &r1);
	kd_self->resp.sig_addr = kd_self->sig_addr;
	*tag = val;
	return sig;
}

/*
 * The process's userfaultfd is opened, and closed, by whichever thread
 * registers or closes; kd_uffd_lock orders them.  The ops that use it
 * take a copy of the descriptor (a close that races with them is the
 * scenario's race, as in a program).
 */
static int kd_uffd_lock;

static void kd_uffd_take(void)
{
	while (__atomic_exchange_n(&kd_uffd_lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void kd_uffd_drop(void)
{
	__atomic_store_n(&kd_uffd_lock, 0, __ATOMIC_RELEASE);
}

KD_FN static int kd_uffd_fd(void)
{
	return __atomic_load_n(&kd.uffd, __ATOMIC_ACQUIRE);
}

/* Close the process's userfaultfd: -EBADF when it has none. */
static int kd_uffd_close(void)
{
	int fd = __atomic_exchange_n(&kd.uffd, -1, __ATOMIC_ACQ_REL);

	if (fd < 0)
		return -EBADF;
	close(fd);
	return 0;
}

/*
 * The process's userfaultfd, opened by its first registration: kernel
 * faults too (GUP, process_vm_readv) when the caller may have them (root,
 * or vm.unprivileged_userfaultfd), user faults only otherwise.
 * Context: kd_uffd_lock held.
 */
static int kd_uffd_open(bool *opened)
{
	struct uffdio_api api = { .api = UFFD_API };
	int flags = O_CLOEXEC | O_NONBLOCK, fd;

	*opened = false;
	if (kd_uffd_fd() >= 0)
		return 0;
	fd = (int)syscall(SYS_userfaultfd, flags);
	if (fd < 0 && errno == EPERM)
		fd = (int)syscall(SYS_userfaultfd, flags | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api)) {
		int err = -errno;

		close(fd);
		return err;
	}
	__atomic_store_n(&kd.uffd, fd, __ATOMIC_RELEASE);
	*opened = true;
	return 0;
}

KD_FN static int kd_uffd_register(uint64_t addr, uint64_t len, int mode)
{
	struct uffdio_register reg = {
		.range = { .start = addr, .len = len },
		.mode = (uint64_t)mode,
	};
	bool opened;
	int err;

	kd_uffd_take();
	err = kd_uffd_open(&opened);
	if (!err)
		err = kd_err(KD_WINDOW(ioctl(kd_uffd_fd(), UFFDIO_REGISTER,
					     &reg)));
	if (err && opened)
		kd_uffd_close();	/* as if the program closed it (the model) */
	kd_uffd_drop();
	return err;
}

KD_FN static int kd_uffd_wp(uint64_t addr, uint64_t len)
{
	return kd_uffd_register(addr, len, UFFDIO_REGISTER_MODE_WP);
}

/* One queued event, without blocking: -EAGAIN when there is none. */
static int kd_uffd_read(void)
{
	struct uffd_msg msg;
	ssize_t n;

	if (kd_uffd_fd() < 0)
		return -EBADF;
	do {
		n = read(kd_uffd_fd(), &msg, sizeof(msg));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n != (ssize_t)sizeof(msg) || msg.event != UFFD_EVENT_PAGEFAULT)
		return -EPROTO;
	kd_self->resp.tag = msg.arg.pagefault.address & ~(KS_HPAGE - 1);
	kd_self->resp.count = !!(msg.arg.pagefault.flags &
			   UFFD_PAGEFAULT_FLAG_WRITE);
	return 0;
}

/* UFFDIO_COPY of a huge page whose first word is @tag. */
static int kd_uffd_copy(uint64_t addr, uint64_t tag, int mode)
{
	struct uffdio_copy copy = {
		.dst = addr, .len = KS_HPAGE, .mode = (uint64_t)mode,
	};
	void *src;
	int err;

	if (kd_uffd_fd() < 0)
		return -EBADF;
	/* Populated: the copy's window must not count faults on it. */
	src = mmap(NULL, KS_HPAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (src == MAP_FAILED)
		return -errno;
	memcpy(src, &tag, sizeof(tag));
	copy.src = (uintptr_t)src;
	err = kd_err(KD_WINDOW(ioctl(kd_uffd_fd(), UFFDIO_COPY, &copy)));
	munmap(src, KS_HPAGE);
	return err;
}

/* UFFDIO_UNREGISTER or UFFDIO_WAKE of a range. */
static int kd_uffd_range(unsigned long cmd, uint64_t addr, uint64_t len)
{
	struct uffdio_range range = { .start = addr, .len = len };

	if (kd_uffd_fd() < 0)
		return -EBADF;
	return kd_err(KD_WINDOW(ioctl(kd_uffd_fd(), cmd, &range)));
}

KD_FN static int kd_move_pages(uint64_t addr, int node)
{
	void *page = (void *)(uintptr_t)addr;
	int status = 0;
	long ret;

	/* A negative node asks where the page is (nodes == NULL). */
	ret = KD_WINDOW(syscall(SYS_move_pages, 0, 1UL, &page,
				node < 0 ? NULL : &node, &status,
				MPOL_MF_MOVE));
	if (ret < 0)
		return -errno;
	kd_self->resp.node = status;
	return status < 0 ? status : 0;
}

/* mincore() of up to 1 GiB, summed up per huge page. */
static int kd_mincore(uint64_t addr, uint64_t len)
{
	const uint64_t per = KS_HPAGE / KD_PAGE;
	uint64_t nvec = (len + KD_PAGE - 1) / KD_PAGE, i, j, in;
	long ret;

	if (nvec > sizeof(kd_self->vec))
		return -EINVAL;
	ret = KD_WINDOW(mincore((void *)(uintptr_t)addr, len, kd_self->vec));
	if (ret)
		return -errno;
	for (i = 0; i < nvec; i += per) {
		for (in = 0, j = i; j < nvec && j < i + per; j++)
			in += kd_self->vec[j] & 1;
		kd_self->resp.vec[i / per] = !in ? KD_MC_NONE :
				       in == j - i ? KD_MC_ALL : KD_MC_SOME;
	}
	return 0;
}

/*
 * process_vm_readv() of the tag word of @n huge pages of @pid from
 * @addr: pages read, or -errno when not even the first could be.
 */
static int kd_pvm_readv(pid_t pid, uint64_t addr, uint32_t n)
{
	ssize_t got;

	if (n > KD_MAX_PAGES)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		kd_self->liov[i].iov_base = &kd_self->tags[i];
		kd_self->liov[i].iov_len = sizeof(uint64_t);
		kd_self->riov[i].iov_base = (void *)(uintptr_t)(addr + i * KS_HPAGE);
		kd_self->riov[i].iov_len = sizeof(uint64_t);
	}
	got = KD_WINDOW(process_vm_readv(pid, kd_self->liov, n, kd_self->riov, n, 0));
	if (got < 0)
		return -errno;
	kd_self->resp.count = (uint32_t)(got / (ssize_t)sizeof(uint64_t));
	memcpy(kd_self->resp.tags, kd_self->tags, kd_self->resp.count * sizeof(uint64_t));
	return 0;
}

static void kd_loop(void) __attribute__((noreturn));
static int kd_child_main(void *arg);

/*
 * A scenario fork: clone() onto a fresh stack while this driver's own
 * stack is not copied, so that the parent's side of the window touches
 * nothing copy-on-write.
 */
KD_FN static int kd_fork(int sock)
{
	struct rusage r0, r1;
	char *stk;
	pid_t pid;

	stk = kd_map_area(KD_STACK_SIZE, false);
	if (stk == MAP_FAILED)
		return -errno;
	kd.child_sock = sock;
	kd.child_stack = stk;
	memcpy(kd.child_name, kd_self->req.name, sizeof(kd.child_name));
	kd.child_name[sizeof(kd.child_name) - 1] = '\0';
	madvise(kd.stack, KD_STACK_SIZE, MADV_DONTFORK);
	getrusage(KD_RUSAGE, &r0);
	pid = clone(kd_child_main, stk + KD_STACK_SIZE, SIGCHLD, NULL);
	getrusage(KD_RUSAGE, &r1);
	if (pid < 0)
		pid = -errno;
	madvise(kd.stack, KD_STACK_SIZE, MADV_DOFORK);
	munmap(stk, KD_STACK_SIZE);
	kd_prefault();
	kd_self->resp.faults = kd_delta(&r0, &r1);
	kd_self->resp.pid = pid > 0 ? pid : 0;
	return pid < 0 ? pid : 0;
}

static bool kd_check(uint64_t a, uint64_t len)
{
	if (!kd_conflict(a, a + len))
		return true;
	kd_self->resp.conflict = KD_CONFLICT_ADDR;
	kd_self->resp.ret = -EADDRINUSE;
	return false;
}

/* Ops that only the main thread serves: they change the whole process. */
static bool kd_process_op(uint32_t op)
{
	return op == KD_MMAP || op == KD_FORK || op == KD_EXIT ||
	       op == KD_THREAD || op == KD_UFFD_REGISTER ||
	       op == KD_UFFD_UNREGISTER || op == KD_UFFD_CLOSE;
}

KD_FN void kd_serve(int *fdp, bool worker)
{
	struct kd_req *q = &kd_self->req;
	struct kd_resp *r = &kd_self->resp;
	void *a = (void *)(uintptr_t)q->addr;
	int fd = *fdp;
	void *p;

	if (worker && kd_process_op(q->op)) {
		r->ret = -EINVAL;
		return;
	}
	switch (q->op) {
	case KD_MMAP:
		if (!kd_check(q->addr, q->len))
			break;
		p = (void *)KD_WINDOW(mmap(a, q->len, q->prot,
					   q->flags | MAP_FIXED_NOREPLACE, fd,
					   q->off));
		if (p == MAP_FAILED) {
			r->ret = -errno;
		} else if ((uintptr_t)p != q->addr) {
			/* A kernel older than MAP_FIXED_NOREPLACE: a hint. */
			munmap(p, q->len);
			r->ret = -EEXIST;
		}
		break;
	case KD_MUNMAP:
		if (kd_check(q->addr, q->len))
			r->ret = kd_err(KD_WINDOW(munmap(a, q->len)));
		break;
	case KD_MPROTECT:
		if (kd_check(q->addr, q->len))
			r->ret = kd_err(KD_WINDOW(mprotect(a, q->len,
							   q->prot)));
		break;
	case KD_MADVISE:
		if (kd_check(q->addr, q->len))
			r->ret = kd_err(KD_WINDOW(madvise(a, q->len,
							  q->advice)));
		break;
	case KD_MREMAP:
		if (!kd_check(q->addr, q->len) ||
		    !kd_check(q->new_addr, q->new_len))
			break;
		if (kd_mremap_hangs(q->addr, q->len, q->new_len,
				    q->new_addr)) {
			r->conflict = KD_CONFLICT_HANG;
			r->ret = -EDEADLK;
			break;
		}
		p = (void *)KD_WINDOW(mremap(a, q->len, q->new_len,
					     MREMAP_MAYMOVE | MREMAP_FIXED,
					     (void *)(uintptr_t)q->new_addr));
		r->ret = p == MAP_FAILED ? -errno : 0;
		break;
	case KD_UFFD_WP:
		if (kd_check(q->addr, q->len))
			r->ret = kd_uffd_wp(q->addr, q->len);
		break;
	case KD_MOVE_PAGES:
		if (kd_check(q->addr, KS_HPAGE))
			r->ret = kd_move_pages(q->addr, q->node);
		break;
	case KD_ACCESS:
		r->tag = q->tag;
		if (kd_check(q->addr, sizeof(uint64_t))) {
			kd_flush_tlb();
			r->ret = kd_access(q->addr, q->write, &r->tag);
		}
		break;
	case KD_FORK:
		r->ret = fd < 0 ? -EBADF : kd_fork(fd);
		break;
	case KD_THREAD:
		r->ret = fd < 0 ? -EBADF : kd_thread_start(fd);
		if (!r->ret)
			*fdp = -1;	/* the worker's now */
		break;
	case KD_FAULTS:
		break;
	case KD_MINCORE:
		if (kd_check(q->addr, q->len))
			r->ret = kd_mincore(q->addr, q->len);
		break;
	case KD_PVM_READV:
		r->ret = kd_pvm_readv(q->pid, q->addr, q->count);
		break;
	case KD_UFFD_REGISTER:
		if (kd_check(q->addr, q->len))
			r->ret = kd_uffd_register(q->addr, q->len, q->flags);
		break;
	case KD_UFFD_UNREGISTER:
		if (kd_check(q->addr, q->len))
			r->ret = kd_uffd_range(UFFDIO_UNREGISTER, q->addr,
					       q->len);
		break;
	case KD_UFFD_READ:
		r->ret = kd_uffd_read();
		break;
	case KD_UFFD_COPY:
		if (kd_check(q->addr, KS_HPAGE))
			r->ret = kd_uffd_copy(q->addr, q->tag, q->flags);
		break;
	case KD_UFFD_WAKE:
		if (kd_check(q->addr, q->len))
			r->ret = kd_uffd_range(UFFDIO_WAKE, q->addr, q->len);
		break;
	case KD_UFFD_CLOSE:
		kd_uffd_take();
		r->ret = kd_uffd_close();
		kd_uffd_drop();
		break;
	default:
		r->ret = -EINVAL;
	}
	/* After the window: the sum of every thread's windows. */
	if (q->op == KD_FAULTS)
		r->faults = __atomic_load_n(&kd.faults, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(&kd.faults, r->faults, __ATOMIC_RELAXED);
}

ssize_t kd_recv(int sock, struct kd_req *q, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = q, .iov_len = sizeof(*q) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return n;
}

static void kd_loop(void)
{
	struct kd_req *q = &kd_self->req;
	int fd;

	for (;;) {
		ssize_t n = kd_recv(KD_SOCK, q, &fd);

		if (n <= 0)
			_exit(0);	/* the controller is gone */
		if (q->op == KD_EXIT)
			_exit(0);
		memset(&kd_self->resp, 0, sizeof(kd_self->resp));
		if (n != (ssize_t)sizeof(*q))
			kd_self->resp.ret = -EPROTO;
		else
			kd_serve(&fd, false);
		if (fd >= 0)
			close(fd);
		if (send(KD_SOCK, &kd_self->resp, sizeof(kd_self->resp),
			 MSG_NOSIGNAL) < 0)
			_exit(1);
	}
}

/*
 * The kernel writes a thread's rseq area (its cpu_id) on the way back to
 * user space after a preemption or a migration.  After a fork that page
 * is copy-on-write in the parent, and the kernel's store is a fault of
 * the parent's, in whatever window is open: the fork's own, whenever the
 * child runs first.  A driver needs no rseq: it unregisters it, and its
 * forks inherit that.
 */
static void kd_no_rseq(void)
{
#if defined(RSEQ_SIG) && defined(SYS_rseq)
	void *area;

	if (!__rseq_size)
		return;
	area = (char *)__builtin_thread_pointer() + __rseq_offset;
	/* The length registered: glibc's 32, or the size it reports. */
	if (syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG))
		syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER,
			RSEQ_SIG);
#endif
}

static int kd_close_from(unsigned int first)
{
#ifdef SYS_close_range
	if (!syscall(SYS_close_range, first, ~0U, 0))
		return 0;
#endif
	for (unsigned int fd = first; fd < 4096; fd++)
		close((int)fd);
	return 0;
}

/*
 * What every driver does when it starts, in the new process: its socket
 * at KD_SOCK and no other descriptor (a memfd held here would outlive the
 * scenario's close), the fault handlers, a clean count.
 */
static void kd_start(int sock, char *stack)
{
	char comm[16];

	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	/* Hold no pipe of the controller's: a stuck driver would keep it
	 * open, and whoever reads the other end would wait for ever. */
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		if (fd != sock && fd != null)
			dup2(null, fd);
	if (sock != KD_SOCK) {
		dup2(sock, KD_SOCK);
		close(sock);
	}
	kd_close_from(KD_SOCK + 1);
	kd_self = &kd.ctx;
	kd.uffd = -1;
	kd_uffd_lock = 0;	/* a fork child's: no worker of its own yet */
	kd.stack = stack;
	kd.faults = 0;
	kd_self->armed = 0;
	/* Not inherited (MADV_DONTFORK): each driver makes its own. */
	kd.tlb_area = kd_map_area(KD_TLB_PAGES * KD_PAGE, true);
	kd_warm_up();
	snprintf(comm, sizeof(comm), "hw:%.12s", kd.child_name);
	prctl(PR_SET_NAME, comm);
	kd_prefault();
	kd_loop();
}

/* A scenario fork's child: the parent's state, a new socket and stack. */
static int kd_child_main(void *arg)
{
	kd_start(kd.child_sock, kd.child_stack);
	return 0;
}

static pid_t kd_controller;

/* A spawned driver: a child of the controller. */
static int kd_spawn_main(void *arg)
{
	struct sigaction sa = { .sa_flags = SA_SIGINFO | SA_ONSTACK };
	stack_t ss = { .ss_sp = kd.altstack, .ss_size = sizeof(kd.altstack) };
	sigset_t none;

	/* The controller's handlers clean up the controller: not ours. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	signal(SIGCHLD, SIG_IGN);	/* scenario forks reap themselves */
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != kd_controller)
		_exit(1);
	sigaltstack(&ss, NULL);
	sa.sa_sigaction = kd_on_fault;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	kd_no_rseq();
	kd_start(kd.child_sock, kd.child_stack);
	return 0;
}

pid_t kd_spawn(int sock, const char *name)
{
	char *stk;
	pid_t pid;
	int err;

	stk = mmap(NULL, KD_STACK_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stk == MAP_FAILED)
		return -errno;
	kd_controller = getpid();
	kd.child_sock = sock;
	kd.child_stack = stk;
	snprintf(kd.child_name, sizeof(kd.child_name), "%s", name);
	pid = clone(kd_spawn_main, stk + KD_STACK_SIZE, SIGCHLD, NULL);
	err = errno;
	munmap(stk, KD_STACK_SIZE);
	return pid < 0 ? -err : pid;
}
