/* SPDX-License-Identifier: MIT */
/*
 * Scenarios: a line-oriented text format (docs/scenario.md) that drives a
 * hugetlb machine through system calls and memory accesses across named
 * processes and files, and states what must be observed.
 *
 * The parser turns a file into a list of struct sc_op.  Operations stay at
 * the system-call level (addresses, lengths, PROT_*, MAP_*, MADV_*,
 * FALLOC_FL_*), so the same list can run on another machine than the model:
 * the executor talks to a struct sc_backend.  What only the model can do
 * or observe (the walk policy, drawings, invariant checks, the number of
 * shared PMD tables, page-table pages, nr_pmds) is flagged model_only, and
 * a backend that cannot do it leaves the hook NULL: the executor then skips
 * the op or the expectation and says so.
 */
#ifndef HW_CLI_SCENARIO_H
#define HW_CLI_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Limits the parser enforces (see docs/scenario.md). */
#define SC_ADDR_LIMIT	(1ULL << 47)	/* addresses below TASK_SIZE */
#define SC_MAX_PAGES	(1UL << 18)	/* pages one read/write touches */
#define SC_MAX_POOL	(1UL << 20)	/* huge pages in the pool */
#define SC_MAX_CHECKS	12		/* expectations on one line */
#define SC_MAX_LINE	4096		/* bytes on one line */
#define SC_MAX_FILE	(4UL << 20)	/* bytes in one scenario file */
#define SC_MAX_NAME	31		/* characters in a name */

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

enum sc_kind {
	/* system */
	SC_POOL,		/* pool N */
	SC_POLICY,		/* policy NAME (model-only) */
	/* files */
	SC_MEMFD,		/* memfd F */
	SC_FTRUNCATE,		/* ftruncate F SIZE */
	SC_FALLOCATE,		/* fallocate F [keep_size|punch] OFF LEN */
	SC_CLOSE,		/* close F */
	/* processes */
	SC_SPAWN,		/* spawn P */
	SC_MMAP,		/* P mmap ADDR LEN PROT FLAGS F [OFF] */
	SC_MUNMAP,		/* P munmap ADDR LEN */
	SC_MPROTECT,		/* P mprotect ADDR LEN PROT */
	SC_MADVISE,		/* P madvise ADDR LEN ADVICE */
	SC_MREMAP,		/* P mremap OLD OLDLEN NEWLEN NEWADDR */
	SC_UFFD_WP,		/* P uffd_wp ADDR LEN */
	SC_MOVE_PAGES,		/* P move_pages ADDR */
	SC_WRITE,		/* P write ADDR [N] tag=T [&] */
	SC_READ,		/* P read ADDR [N] [&] */
	/* call sites: GUP, pagewalk, rmap */
	SC_GUP,			/* P gup ADDR [N] [write] [nowait] [&] */
	SC_GUP_FAST,		/* P gup_fast ADDR [N] [write] [fast_only] */
	SC_FOLLOW_PAGE,		/* P follow_page ADDR */
	SC_PROCESS_VM_READV,	/* P process_vm_readv Q ADDR [N] [&] */
	SC_PAGEMAP,		/* P pagemap ADDR [N] */
	SC_MINCORE,		/* P mincore ADDR LEN */
	SC_FOLIO_REFERENCED,	/* P folio_referenced ADDR (model-only) */
	/* userfaultfd, MISSING mode: P's own userfaultfd */
	SC_UFFD_REGISTER,	/* P uffd_register ADDR LEN missing */
	SC_UFFD_UNREGISTER,	/* P uffd_unregister ADDR LEN */
	SC_UFFD_READ,		/* P uffd_read [nonblock] */
	SC_UFFD_COPY,		/* P uffd_copy ADDR tag=T [dontwake] */
	SC_UFFD_WAKE,		/* P uffd_wake ADDR LEN */
	SC_UFFD_CLOSE,		/* P uffd_close */
	SC_FORK,		/* P fork CHILD */
	SC_EXIT,		/* P exit */
	/* observations */
	SC_EXPECT,		/* expect [meminfo|P|violations] KEY=VALUE... */
	SC_WAIT,		/* wait [P]: join background ops */
	SC_VIOLATIONS,		/* violations record (model-only) */
	SC_DRAW,		/* draw (model-only) */
	SC_CHECK,		/* check (model-only) */
	SC_NR_KINDS
};

/* Option words of an op (sc_op.opts). */
#define SC_OPT_WRITE		0x01	/* gup, gup_fast: FOLL_WRITE */
#define SC_OPT_NOWAIT		0x02	/* gup: FOLL_NOWAIT */
#define SC_OPT_FAST_ONLY	0x04	/* gup_fast: no slow-path fallback */
#define SC_OPT_MISSING		0x08	/* uffd_register: MODE_MISSING */
#define SC_OPT_NONBLOCK		0x10	/* uffd_read: O_NONBLOCK */
#define SC_OPT_DONTWAKE		0x20	/* uffd_copy: MODE_DONTWAKE */

/* What an expectation measures. */
enum sc_key {
	/* per process */
	SC_KEY_FAULTS,		/* minor faults: of the op, or since birth */
	SC_KEY_NR_PMDS,		/* PUD entries pointing at PMD tables (model) */
	SC_KEY_RSS,		/* huge pages mapped (HugetlbPages) */
	/* per system */
	SC_KEY_TOTAL,		/* HugePages_Total */
	SC_KEY_FREE,		/* HugePages_Free */
	SC_KEY_RSVD,		/* HugePages_Rsvd */
	SC_KEY_PAGETABLES,	/* page-table pages (model) */
	SC_KEY_SHARED,		/* PMD tables with a share count (model) */
	SC_KEY_VIOLATIONS,	/* walk-rule violations, of a site (model) */
	/* per op */
	SC_KEY_TAG,		/* every page read carries this tag */
	SC_KEY_PINNED,		/* gup, gup_fast: pages pinned */
	SC_KEY_FAST,		/* gup_fast: pinned by the lockless walk */
	SC_KEY_PAGES,		/* process_vm_readv: pages read */
	SC_KEY_PRESENT,		/* follow_page, pagemap: 0 or 1 */
	SC_KEY_WRITABLE,	/* follow_page: 0 or 1 */
	SC_KEY_EXCLUSIVE,	/* pagemap: PM_MMAP_EXCLUSIVE, 0 or 1 */
	SC_KEY_FILE,		/* pagemap: PM_FILE, 0 or 1 */
	SC_KEY_RESIDENT,	/* mincore: huge pages resident */
	SC_KEY_REFERENCED,	/* folio_referenced: mappings referenced */
	SC_KEY_ADDR,		/* uffd_read: the fault's address */
	SC_KEY_WRITE,		/* uffd_read: a write fault, 0 or 1 */
	SC_NR_KEYS
};

/*
 * The call sites of huge_pte_offset() that `expect violations SITE=N`
 * names: the kernel functions, in the order of docs/policies.md.
 */
#define SC_NR_SITES	10

/* What the op itself must return: the `=> 0|EXXX|SIGXXX` item. */
enum sc_want {
	SC_WANT_SUCCESS,	/* no `=>` result given: must succeed */
	SC_WANT_OK,		/* `=> 0` or `=> ok` */
	SC_WANT_ERRNO,		/* `=> EINVAL`: the call fails with it */
	SC_WANT_SIGNAL,		/* `=> SIGSEGV`: the access raises it */
};

struct sc_pos {
	int line;
	int col;		/* 1-based byte column */
};

struct sc_check {
	enum sc_key key;
	int site;		/* violations: a site index, -1 for all */
	uint64_t value;
	struct sc_pos pos;
};

struct sc_op {
	enum sc_kind kind;
	struct sc_pos pos;
	char *text;		/* the line, comment cut, blanks squeezed */
	bool model_only;	/* the whole op only makes sense on the model */

	int proc;		/* name index of the acting process, or -1 */
	int file;		/* name index of the file argument, or -1 */
	int target;		/* name index spawn/fork/memfd declares */
	int peer;		/* process_vm_readv: the process read */

	/* Arguments; which ones are used depends on kind. */
	uint64_t addr;		/* ADDR, OLD */
	uint64_t len;		/* LEN, OLDLEN, SIZE, pool N */
	uint64_t new_len;	/* mremap NEWLEN */
	uint64_t new_addr;	/* mremap NEWADDR */
	uint64_t off;		/* mmap OFF, fallocate OFF */
	uint64_t count;		/* pages a read/write touches */
	uint64_t tag;		/* tag a write stores */
	int prot;		/* PROT_* */
	int flags;		/* MAP_* */
	int advice;		/* MADV_* */
	int mode;		/* FALLOC_FL_* */
	unsigned int opts;	/* SC_OPT_* */
	bool background;	/* `&`: runs on a thread of its own */
	struct sc_pos bg_pos;	/* where the `&` is */
	char *name;		/* policy name */
	struct sc_pos name_pos;

	/* Expectations. */
	enum sc_want want;
	int want_value;		/* errno or signal number */
	struct sc_pos want_pos;
	int subject;		/* expect: process index, -1 for the system */
	int nchecks;
	struct sc_check checks[SC_MAX_CHECKS];
};

enum sc_name_kind { SC_NAME_PROC, SC_NAME_FILE };

struct sc_name {
	char *name;
	enum sc_name_kind kind;
	int decl_line;		/* where it was declared */
	int end_line;		/* where it exited/was closed; 0 if alive */
};

struct scenario {
	char *path;
	struct sc_op *ops;
	size_t nops;
	struct sc_name *names;
	size_t nnames;
};

/* The first error found, formatted "path:line:col: message". */
struct sc_error {
	int line;
	int col;
	char msg[512];
};

/**
 * scenario_parse() - parse a scenario held in memory.
 * @path: the name used in messages.
 * @text: the file's bytes (need not be NUL-terminated).
 * @len: their number.
 * @out: where the scenario goes; free it with scenario_free().
 * @err: where the first error goes.
 *
 * Return: 0; -EINVAL for a syntax or name error, described in @err;
 * -ENOMEM.
 */
int scenario_parse(const char *path, const char *text, size_t len,
		   struct scenario **out, struct sc_error *err);

/**
 * scenario_load() - read and parse a scenario file.
 * @path: the file.
 * @out: where the scenario goes.
 * @err: where the first error goes.
 *
 * Return: 0, -EINVAL (see scenario_parse()), or the negative errno of
 * reading the file (also described in @err, with line and column 0).
 */
int scenario_load(const char *path, struct scenario **out,
		  struct sc_error *err);

void scenario_free(struct scenario *sc);

/* Names for messages and the op trace. */
const char *sc_kind_name(enum sc_kind kind);
const char *sc_key_name(enum sc_key key);
bool sc_key_model_only(enum sc_key key);
const char *sc_errno_name(int err);	/* "EINVAL", or NULL */
const char *sc_signal_name(int sig);	/* "SIGSEGV", or NULL */
const char *sc_site_name(int site);	/* "follow_hugetlb_page", or "?" */

/* ---- backends ---------------------------------------------------------- */

/* What follow_page found at an address. */
struct sc_page {
	bool present;		/* a huge page is mapped there */
	bool writable;		/* its entry allows a store */
	uint64_t tag;		/* its data */
	unsigned long pfn;	/* its head page frame, 0 if unknown */
};

/* One userfaultfd fault event. */
struct sc_uffd_msg {
	uint64_t addr;		/* the huge page that faulted */
	bool write;		/* UFFD_PAGEFAULT_FLAG_WRITE */
};

/* The bits of a /proc/PID/pagemap entry that pagemap expectations read. */
#define SC_PM_PFN_MASK		((1ULL << 55) - 1)
#define SC_PM_EXCLUSIVE		(1ULL << 56)
#define SC_PM_FILE		(1ULL << 61)
#define SC_PM_PRESENT		(1ULL << 63)

/*
 * A machine the scenario runs on.  Processes and files are named by their
 * index in scenario->names; the backend keeps its own handle per index.
 * Every hook returns 0 or a negative errno, like the system call would;
 * access() returns 0 or the signal number the access raises.
 * Hooks marked model-only may be NULL.
 */
struct sc_backend {
	const char *name;

	void *(*open)(size_t nr_names, const char *policy, FILE *report,
		      int *err);
	void (*close)(void *be);

	int (*set_pool)(void *be, unsigned long nr, unsigned long *now);
	int (*set_policy)(void *be, const char *name);		/* model-only */
	int (*set_quirk)(void *be, int quirk);			/* model-only */
	bool (*policy_known)(void *be, const char *name);	/* model-only */
	const char *(*policy)(void *be);			/* model-only */

	int (*memfd)(void *be, int file, const char *name);
	int (*ftruncate)(void *be, int file, uint64_t size);
	int (*fallocate)(void *be, int file, int mode, uint64_t off,
			 uint64_t len);
	int (*close_file)(void *be, int file);

	int (*spawn)(void *be, int proc, const char *name);
	int (*fork)(void *be, int parent, int child, const char *name);
	int (*exit)(void *be, int proc);
	int (*mmap)(void *be, int proc, uint64_t addr, uint64_t len, int prot,
		    int flags, int file, uint64_t off);
	int (*munmap)(void *be, int proc, uint64_t addr, uint64_t len);
	int (*mprotect)(void *be, int proc, uint64_t addr, uint64_t len,
			int prot);
	int (*madvise)(void *be, int proc, uint64_t addr, uint64_t len,
		       int advice);
	int (*mremap)(void *be, int proc, uint64_t old_addr, uint64_t old_len,
		      uint64_t new_len, uint64_t new_addr);
	int (*uffd_wp)(void *be, int proc, uint64_t addr, uint64_t len);
	int (*move_pages)(void *be, int proc, uint64_t addr);
	int (*access)(void *be, int proc, uint64_t addr, bool write,
		      uint64_t *tag);

	/*
	 * The walkers' call sites and userfaultfd.  Each is optional: a
	 * NULL hook means this machine cannot do the op, and the executor
	 * skips it and counts it as skipped.  Pages are huge pages; @opts
	 * are SC_OPT_*.  A hook returning a count returns it or -errno.
	 */
	/* get_user_pages(): pin, store each pinned page's tag, unpin. */
	long (*gup)(void *be, int proc, uint64_t addr, unsigned long nr,
		    unsigned int opts, uint64_t *tags);
	/* get_user_pages_fast(): as gup; *nr_fast from the lockless walk */
	long (*gup_fast)(void *be, int proc, uint64_t addr, unsigned long nr,
			 unsigned int opts, uint64_t *tags,
			 unsigned long *nr_fast);
	/* follow_page() of one address, without faulting */
	int (*follow_page)(void *be, int proc, uint64_t addr,
			   struct sc_page *out);
	/* process_vm_readv() by @proc of @target's pages into @tags */
	long (*process_vm_readv)(void *be, int proc, int target, uint64_t addr,
				 unsigned long nr, uint64_t *tags);
	/* the pagemap entry of the first 4 KiB page at @addr (SC_PM_*) */
	int (*pagemap)(void *be, int proc, uint64_t addr, uint64_t *entry);
	/* mincore(): one byte per 4 KiB page of [addr, addr + len) */
	int (*mincore)(void *be, int proc, uint64_t addr, uint64_t len,
		       unsigned char *vec);
	/* folio_referenced() of the page at @addr: a count or -errno */
	int (*folio_referenced)(void *be, int proc, uint64_t addr);
								/* model-only */
	/* @proc's userfaultfd, opened by its first uffd_register */
	int (*uffd_register)(void *be, int proc, uint64_t addr, uint64_t len,
			     unsigned int opts);
	int (*uffd_unregister)(void *be, int proc, uint64_t addr,
			       uint64_t len);
	/* read() without blocking: 0, or -EAGAIN when no event is queued */
	int (*uffd_read)(void *be, int proc, struct sc_uffd_msg *msg);
	int (*uffd_copy)(void *be, int proc, uint64_t addr, uint64_t tag,
			 unsigned int opts);
	int (*uffd_wake)(void *be, int proc, uint64_t addr, uint64_t len);
	int (*uffd_close)(void *be, int proc);

	/*
	 * Background ops (`&`).  A machine that has thread_enter lets the
	 * executor call access, madvise, munmap, mprotect, mremap,
	 * uffd_wp, move_pages, the call-site hooks and stat from another
	 * thread, registered with thread_enter and released with
	 * thread_exit, while its main thread goes on with the other ops;
	 * without it, background ops are skipped.  An op
	 * that may sleep in a userfault (an access, GUP) runs that way
	 * even in the foreground, so that no wait is unbounded.  unblock
	 * releases every task sleeping in a userfault (it closes every
	 * userfaultfd); the executor calls it when a wait times out.
	 * abandon, if set, is called when a task never came back even so,
	 * just before the command exits without closing the machine: it
	 * releases what outlives the process (the kernel's drivers and
	 * huge page pool), and frees nothing.
	 */
	int (*thread_enter)(void *be, const char *name);
	void (*thread_exit)(void *be);
	void (*unblock)(void *be);
	void (*abandon)(void *be);

	/* One observable: @proc for per-process keys, -1 for system keys.
	 * -EOPNOTSUPP when this backend cannot measure @key. */
	int (*stat)(void *be, int proc, enum sc_key key, unsigned long *val);

	/*
	 * Why this machine stopped running the scenario as written, from
	 * the op just run on (an address it cannot use, a pool it cannot
	 * grow, an op it cannot reproduce), or NULL.  The executor stops
	 * there.  May be NULL: the machine never diverges.
	 */
	const char *(*diverged)(void *be);

	void (*draw)(void *be, FILE *out);			/* model-only */
	int (*check)(void *be, FILE *out);			/* model-only */
	unsigned long (*violations)(void *be, FILE *out);	/* model-only */
	/* walk-rule violations so far at @site, or at all sites if NULL */
	int (*violations_at)(void *be, const char *site, unsigned long *n);
								/* model-only */
};

extern const struct sc_backend sc_model_backend;

/* The model machine's handles, for the race explorer (backend_model.c). */
struct hw_system;
struct hw_uffd;
struct hw_system *sc_model_system(void *be);
struct hw_uffd *sc_model_uffd(void *be, int proc);
extern const struct sc_backend sc_kernel_backend;

/* Why the kernel backend's last open failed ("" if it did not). */
const char *sc_kernel_last_error(void);

/**
 * sc_kernel_available() - can the kernel backend run on this machine?
 * @why: where the reason goes when it cannot.
 * @size: its size.
 *
 * Checks without changing anything: root, a 2 MiB hugetlb pool,
 * memfd_create(MFD_HUGETLB).  Whether the pool can grow is known only by
 * growing it, which the backend's open does.
 *
 * Return: true, or false with the reason in @why.
 */
bool sc_kernel_available(char *why, size_t size);

/**
 * sc_kernel_quirks() - which kernel behaviours of enum hw_quirk the
 * running kernel has (kernel_quirks.c), probed on the first call and
 * remembered.
 * @quirks: set to a mask of 1 << quirk.
 * @why: a note on a quirk the probe could not tell ("" if none), or
 *       why the machine could not be taken.
 * @size: its size.
 *
 * Context: root; takes the machine (ks_acquire()) for the probe and
 * gives it back, so no kernel run may hold it.
 * Return: 0, or a negative errno when the machine cannot be taken.
 */
int sc_kernel_quirks(unsigned long *quirks, char *why, size_t size);

/* ---- what a run observed, for comparing two backends -------------------- */

/* The system counters a trace records after every op. */
enum { SC_OBS_TOTAL, SC_OBS_FREE, SC_OBS_RSVD, SC_OBS_NR_SYS };
#define SC_OBS_NONE	((unsigned long)-1)	/* not measurable */

/* What the call sites' ops counted (struct sc_obs.vals). */
enum {
	SC_OBS_COUNT,		/* pages pinned or read, mappings referenced */
	SC_OBS_FAST,		/* gup_fast: by the lockless walk */
	SC_OBS_PRESENT,		/* pagemap: entries with each bit */
	SC_OBS_EXCLUSIVE,
	SC_OBS_FILE,
	SC_OBS_RESIDENT,	/* mincore: huge pages wholly resident */
	SC_OBS_PARTIAL,		/* mincore: huge pages partly resident */
	SC_OBS_UFFD_ADDR,	/* uffd_read: the event */
	SC_OBS_UFFD_WRITE,
	SC_OBS_NR_VALS
};

/* What one op showed on one backend. */
struct sc_obs {
	bool ran;		/* the backend was called for it */
	int ret;		/* 0, -errno, or (accesses) a signal */
	uint64_t at;		/* where the signal was raised */
	bool measured;		/* its faults were measured */
	unsigned long faults;	/* faults of the acting process during it */
	unsigned long vals[SC_OBS_NR_VALS];	/* what a call site counted */
	uint64_t *tags;		/* read: each page's tag, in order */
	unsigned int ntags;
	unsigned long sys[SC_OBS_NR_SYS];	/* after it, or SC_OBS_NONE */
	unsigned long *rss;	/* after it, by name index, or SC_OBS_NONE */
};

struct sc_trace {
	size_t nops;
	struct sc_obs *obs;	/* one per op of the scenario */
	size_t stop;		/* the op the machine diverged at, or nops */
	char why[512];		/* why it diverged */
};

void sc_trace_free(struct sc_trace *t);

/* ---- the executor ------------------------------------------------------ */

struct sc_run_opts {
	const char *policy;	/* overrides the file's `policy`; NULL: none */
	unsigned long quirks;	/* 1 << enum hw_quirk the model follows */
	bool draw;		/* draw after every op that changes tables */
	bool verbose;		/* counters after every op */
	bool quiet;		/* only diagnostics and the summary */
	FILE *out;		/* the trace */
	FILE *err;		/* diagnostics */
	struct sc_trace *trace;	/* if not NULL: record every observable */
	unsigned int timeout_ms;	/* bound of every wait; 0: 5000 */
};

struct sc_result {
	unsigned int ops;		/* ops run */
	unsigned int expectations;	/* expectations checked */
	unsigned int failed;		/* expectations or ops that failed */
	unsigned int skipped;		/* model-only items skipped */
	int stopped_line;		/* the machine diverged here; 0: no */
	char stopped[512];		/* why (sc_backend.diverged) */
};

/**
 * scenario_run() - run a scenario on a fresh machine of @be.
 * @sc: the parsed scenario.
 * @be: the backend.
 * @opts: output and overrides.
 * @res: counts of what ran and failed.
 *
 * Runs to the end even when expectations fail.
 *
 * Return: 0 when everything passed, 1 when something failed, or a
 * negative errno when the machine could not be set up.
 */
int scenario_run(const struct scenario *sc, const struct sc_backend *be,
		 const struct sc_run_opts *opts, struct sc_result *res);

#endif
