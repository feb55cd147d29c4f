// SPDX-License-Identifier: MIT
/*
 * The model backend: a scenario runs on a fresh struct hw_system, through
 * the public API only.  Processes and files are the scenario's name
 * indexes mapped to hw_mm and hw_file handles; each process has at most
 * one userfaultfd, opened by its first uffd_register or uffd_wp and
 * closed by uffd_close or its exit.
 *
 * Background ops run on threads registered with hw_task_enter(); the
 * hooks they call (access, madvise, GUP, process_vm_readv, stat) touch
 * only their process's entry of the tables below, which the main thread
 * does not change while they run (the parser forbids the exit).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <hugewalk/hugewalk.h>

#include "cli/scenario.h"

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE	0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE	0x02
#endif

struct model {
	struct hw_system *sys;
	size_t nr;
	struct hw_mm **mm;
	struct hw_file **file;
	struct hw_uffd **uffd;	/* by process: its userfaultfd, or NULL */
};

static void *model_open(size_t nr_names, const char *policy, FILE *report,
			int *err)
{
	struct hw_system_opts opts = {
		.nr_hugepages = 0,
		.policy = policy,
		/* A scenario runs one op at a time: a violation is a finding
		 * to report at the end, not a reason to abort the run. */
		.violations = HW_VIOLATION_RECORD,
		.report = report,
	};
	struct model *m;

	*err = -ENOMEM;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->nr = nr_names;
	m->mm = calloc(nr_names + 1, sizeof(*m->mm));
	m->file = calloc(nr_names + 1, sizeof(*m->file));
	m->uffd = calloc(nr_names + 1, sizeof(*m->uffd));
	if (!m->mm || !m->file || !m->uffd)
		goto fail;
	errno = 0;
	m->sys = hw_system_create(&opts);
	if (!m->sys) {
		*err = errno ? -errno : -ENOMEM;
		goto fail;
	}
	*err = 0;
	return m;

fail:
	free(m->mm);
	free(m->file);
	free(m->uffd);
	free(m);
	return NULL;
}

/* Release every task sleeping in a userfault: close every userfaultfd. */
static void model_unblock(void *be)
{
	struct model *m = be;

	for (size_t i = 0; i < m->nr; i++) {
		if (!m->uffd[i])
			continue;
		hw_uffd_close(m->uffd[i]);
		m->uffd[i] = NULL;
	}
}

static void model_close(void *be)
{
	struct model *m = be;

	/* A userfaultfd goes before its mm; hw_system_destroy() exits the
	 * processes and closes the files. */
	model_unblock(m);
	hw_system_destroy(m->sys);
	free(m->mm);
	free(m->file);
	free(m->uffd);
	free(m);
}

static int model_set_pool(void *be, unsigned long nr, unsigned long *now)
{
	struct model *m = be;

	*now = hw_set_nr_hugepages(m->sys, nr);
	return 0;
}

static int model_set_policy(void *be, const char *name)
{
	return hw_system_set_policy(((struct model *)be)->sys, name);
}

static int model_set_quirk(void *be, int quirk)
{
	return hw_system_set_quirk(((struct model *)be)->sys, quirk, true);
}

static bool model_policy_known(void *be, const char *name)
{
	return hw_policy_describe(name) != NULL;
}

static const char *model_policy(void *be)
{
	return hw_system_policy(((struct model *)be)->sys);
}

static int model_memfd(void *be, int file, const char *name)
{
	struct model *m = be;

	m->file[file] = hw_memfd_create(m->sys, name);
	return m->file[file] ? 0 : (errno ? -errno : -ENOMEM);
}

static int model_ftruncate(void *be, int file, uint64_t size)
{
	return hw_ftruncate(((struct model *)be)->file[file], size);
}

static int model_fallocate(void *be, int file, int mode, uint64_t off,
			   uint64_t len)
{
	int hw_mode = 0;

	if (mode & FALLOC_FL_KEEP_SIZE)
		hw_mode |= HW_FALLOC_KEEP_SIZE;
	if (mode & FALLOC_FL_PUNCH_HOLE)
		hw_mode |= HW_FALLOC_PUNCH_HOLE;
	return hw_fallocate(((struct model *)be)->file[file], hw_mode, off,
			    len);
}

static int model_close_file(void *be, int file)
{
	struct model *m = be;

	hw_file_close(m->file[file]);
	m->file[file] = NULL;
	return 0;
}

static int model_spawn(void *be, int proc, const char *name)
{
	struct model *m = be;

	m->mm[proc] = hw_mm_create(m->sys, name);
	return m->mm[proc] ? 0 : (errno ? -errno : -ENOMEM);
}

static int model_fork(void *be, int parent, int child, const char *name)
{
	struct model *m = be;

	m->mm[child] = hw_fork(m->mm[parent], name);
	return m->mm[child] ? 0 : (errno ? -errno : -ENOMEM);
}

static int model_exit(void *be, int proc)
{
	struct model *m = be;

	if (m->uffd[proc])
		hw_uffd_close(m->uffd[proc]);
	m->uffd[proc] = NULL;
	hw_exit(m->mm[proc]);
	m->mm[proc] = NULL;
	return 0;
}

static int model_mmap(void *be, int proc, uint64_t addr, uint64_t len,
		      int prot, int flags, int file, uint64_t off)
{
	struct model *m = be;

	return hw_mmap(m->mm[proc], addr, len, prot, flags, m->file[file], off);
}

static int model_munmap(void *be, int proc, uint64_t addr, uint64_t len)
{
	return hw_munmap(((struct model *)be)->mm[proc], addr, len);
}

static int model_mprotect(void *be, int proc, uint64_t addr, uint64_t len,
			  int prot)
{
	return hw_mprotect(((struct model *)be)->mm[proc], addr, len, prot);
}

static int model_madvise(void *be, int proc, uint64_t addr, uint64_t len,
			 int advice)
{
	return hw_madvise(((struct model *)be)->mm[proc], addr, len, advice);
}

static int model_mremap(void *be, int proc, uint64_t old_addr,
			uint64_t old_len, uint64_t new_len, uint64_t new_addr)
{
	return hw_mremap(((struct model *)be)->mm[proc], old_addr, old_len,
			 new_len, new_addr);
}

static int model_move_pages(void *be, int proc, uint64_t addr)
{
	return hw_move_pages(((struct model *)be)->mm[proc], addr);
}

static int model_access(void *be, int proc, uint64_t addr, bool write,
			uint64_t *tag)
{
	return hw_access(((struct model *)be)->mm[proc], addr, write, tag);
}

/* ---- the walkers' call sites ------------------------------------------- */

static unsigned int foll_flags(unsigned int opts)
{
	return (opts & SC_OPT_WRITE ? HW_FOLL_WRITE : 0) |
	       (opts & SC_OPT_NOWAIT ? HW_FOLL_NOWAIT : 0) |
	       (opts & SC_OPT_FAST_ONLY ? HW_FOLL_FAST_ONLY : 0);
}

/* Read the pinned pages' tags, then drop the pins. */
static long unpin_tags(struct hw_page **pages, long n, uint64_t *tags)
{
	for (long i = 0; i < n; i++)
		tags[i] = hw_page_tag(pages[i]);
	if (n > 0)
		hw_unpin_user_pages(pages, n);
	free(pages);
	return n;
}

static long model_gup(void *be, int proc, uint64_t addr, unsigned long nr,
		      unsigned int opts, uint64_t *tags)
{
	struct hw_page **pages = calloc(nr, sizeof(*pages));
	long n;

	if (!pages)
		return -ENOMEM;
	n = hw_get_user_pages(((struct model *)be)->mm[proc], addr, nr,
			      foll_flags(opts), pages);
	return unpin_tags(pages, n, tags);
}

static long model_gup_fast(void *be, int proc, uint64_t addr,
			   unsigned long nr, unsigned int opts, uint64_t *tags,
			   unsigned long *nr_fast)
{
	struct hw_page **pages = calloc(nr, sizeof(*pages));
	long n;

	if (!pages)
		return -ENOMEM;
	*nr_fast = 0;
	n = hw_get_user_pages_fast(((struct model *)be)->mm[proc], addr, nr,
				   foll_flags(opts), pages, nr_fast);
	return unpin_tags(pages, n, tags);
}

static int model_follow_page(void *be, int proc, uint64_t addr,
			     struct sc_page *out)
{
	struct hw_page_info info = { 0 };
	int ret;

	ret = hw_follow_page(((struct model *)be)->mm[proc], addr, &info);
	*out = (struct sc_page){
		.present = info.present,
		.writable = info.writable,
		.tag = info.tag,
		.pfn = info.pfn,
	};
	return ret;
}

/* The model's process_vm_readv() needs only the process read. */
static long model_process_vm_readv(void *be, int proc, int target,
				   uint64_t addr, unsigned long nr,
				   uint64_t *tags)
{
	struct model *m = be;

	return hw_process_vm_readv_from(m->mm[proc], m->mm[target], addr, nr,
					tags);
}

static int model_pagemap(void *be, int proc, uint64_t addr, uint64_t *entry)
{
	uint64_t e = 0;
	int ret;

	ret = hw_pagemap(((struct model *)be)->mm[proc], addr, 1, &e);
	*entry = (e & HW_PM_PFN_MASK) |
		 (e & HW_PM_MMAP_EXCLUSIVE ? SC_PM_EXCLUSIVE : 0) |
		 (e & HW_PM_FILE ? SC_PM_FILE : 0) |
		 (e & HW_PM_PRESENT ? SC_PM_PRESENT : 0);
	return ret;
}

static int model_mincore(void *be, int proc, uint64_t addr, uint64_t len,
			 unsigned char *vec)
{
	return hw_mincore(((struct model *)be)->mm[proc], addr, len, vec);
}

static int model_folio_referenced(void *be, int proc, uint64_t addr)
{
	return hw_folio_referenced(((struct model *)be)->mm[proc], addr);
}

/* ---- userfaultfd --------------------------------------------------------- */

/*
 * UFFDIO_REGISTER on P's userfaultfd, opened by P's first registration,
 * in either mode: a process has one, as the kernel backend's drivers do.
 */
static int model_register(struct model *m, int proc, uint64_t addr,
			  uint64_t len, unsigned int mode)
{
	bool opened = false;
	int ret;

	if (!m->uffd[proc]) {
		m->uffd[proc] = hw_uffd_create(m->mm[proc]);
		if (!m->uffd[proc])
			return errno ? -errno : -ENOMEM;
		opened = true;
	}
	ret = hw_uffd_register(m->uffd[proc], addr, len, mode);
	if (ret && opened) {
		/* userfaultfd() and a failed UFFDIO_REGISTER: as if the
		 * program had closed the descriptor again. */
		hw_uffd_close(m->uffd[proc]);
		m->uffd[proc] = NULL;
	}
	return ret;
}

static int model_uffd_register(void *be, int proc, uint64_t addr,
			       uint64_t len, unsigned int opts)
{
	return model_register(be, proc, addr, len,
			      opts & SC_OPT_MISSING ?
			      HW_UFFDIO_REGISTER_MODE_MISSING : 0);
}

static int model_uffd_wp(void *be, int proc, uint64_t addr, uint64_t len)
{
	return model_register(be, proc, addr, len, HW_UFFDIO_REGISTER_MODE_WP);
}

/* P's userfaultfd; NULL when P has none (the op fails with EBADF). */
static struct hw_uffd *uffd_of(void *be, int proc)
{
	return ((struct model *)be)->uffd[proc];
}

static int model_uffd_unregister(void *be, int proc, uint64_t addr,
				 uint64_t len)
{
	struct hw_uffd *u = uffd_of(be, proc);

	return u ? hw_uffd_unregister(u, addr, len) : -EBADF;
}

static int model_uffd_read(void *be, int proc, struct sc_uffd_msg *msg)
{
	struct hw_uffd *u = uffd_of(be, proc);
	struct hw_uffd_msg hm;
	int ret;

	if (!u)
		return -EBADF;
	ret = hw_uffd_read(u, &hm, true);
	if (!ret)
		*msg = (struct sc_uffd_msg){ hm.address, hm.write };
	return ret;
}

static int model_uffd_copy(void *be, int proc, uint64_t addr, uint64_t tag,
			   unsigned int opts)
{
	struct hw_uffd *u = uffd_of(be, proc);

	return u ? hw_uffd_copy(u, addr, tag, opts & SC_OPT_DONTWAKE ?
				HW_UFFDIO_COPY_MODE_DONTWAKE : 0) : -EBADF;
}

static int model_uffd_wake(void *be, int proc, uint64_t addr, uint64_t len)
{
	struct hw_uffd *u = uffd_of(be, proc);

	return u ? hw_uffd_wake(u, addr, len) : -EBADF;
}

static int model_uffd_close(void *be, int proc)
{
	struct model *m = be;

	if (!m->uffd[proc])
		return -EBADF;
	hw_uffd_close(m->uffd[proc]);
	m->uffd[proc] = NULL;
	return 0;
}

static int model_thread_enter(void *be, const char *name)
{
	return hw_task_enter(((struct model *)be)->sys, name);
}

static void model_thread_exit(void *be)
{
	hw_task_exit();
}

static int model_stat(void *be, int proc, enum sc_key key, unsigned long *val)
{
	struct model *m = be;
	struct hw_mm_stats st;
	struct hw_meminfo mi;

	if (proc >= 0) {
		hw_mm_stats(m->mm[proc], &st);
		switch (key) {
		case SC_KEY_FAULTS:
			*val = st.minflt;
			return 0;
		case SC_KEY_NR_PMDS:
			*val = st.nr_pmds;
			return 0;
		case SC_KEY_RSS:
			*val = st.hugetlb_rss;
			return 0;
		default:
			return -EOPNOTSUPP;
		}
	}
	hw_meminfo(m->sys, &mi);
	switch (key) {
	case SC_KEY_TOTAL:
		*val = mi.hugepages_total;
		return 0;
	case SC_KEY_FREE:
		*val = mi.hugepages_free;
		return 0;
	case SC_KEY_RSVD:
		*val = mi.hugepages_rsvd;
		return 0;
	case SC_KEY_PAGETABLES:
		*val = mi.pagetables;
		return 0;
	case SC_KEY_SHARED:
		*val = mi.shared_pmds;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static void model_draw(void *be, FILE *out)
{
	hw_draw(((struct model *)be)->sys, out);
}

static int model_check(void *be, FILE *out)
{
	return hw_check_invariants(((struct model *)be)->sys, out);
}

static unsigned long model_violations(void *be, FILE *out)
{
	return hw_violations(((struct model *)be)->sys, out);
}

/*
 * The violations at @site: hw_violations() lists them one site a line,
 * "NAME   N unprotected walk(s)", which is read back here.  -EIO if a
 * line does not read so.
 */
static int model_violations_at(void *be, const char *site, unsigned long *n)
{
	struct model *m = be;
	long v = hw_violations_at(m->sys, site);

	if (v < 0)
		return -EINVAL;
	*n = v;
	return 0;
}

/* ---- for the race explorer (src/check/scenario.c) ----------------------- */

/**
 * sc_model_system() - the system a model machine runs.
 * @be: the machine, from sc_model_backend.open.
 *
 * Return: its struct hw_system.
 */
struct hw_system *sc_model_system(void *be)
{
	return ((struct model *)be)->sys;
}

/**
 * sc_model_uffd() - the userfaultfd of process @proc, for a read that
 * blocks (the explorer's tasks sleep in hw_uffd_read() instead of
 * polling, which would spin under its scheduler).
 * @be: the machine.
 * @proc: the process's name index.
 *
 * Return: the userfaultfd, or NULL if @proc has none.
 */
struct hw_uffd *sc_model_uffd(void *be, int proc)
{
	return uffd_of(be, proc);
}

const struct sc_backend sc_model_backend = {
	.name = "model",
	.open = model_open,
	.close = model_close,
	.set_pool = model_set_pool,
	.set_policy = model_set_policy,
	.set_quirk = model_set_quirk,
	.policy_known = model_policy_known,
	.policy = model_policy,
	.memfd = model_memfd,
	.ftruncate = model_ftruncate,
	.fallocate = model_fallocate,
	.close_file = model_close_file,
	.spawn = model_spawn,
	.fork = model_fork,
	.exit = model_exit,
	.mmap = model_mmap,
	.munmap = model_munmap,
	.mprotect = model_mprotect,
	.madvise = model_madvise,
	.mremap = model_mremap,
	.uffd_wp = model_uffd_wp,
	.move_pages = model_move_pages,
	.access = model_access,
	.gup = model_gup,
	.gup_fast = model_gup_fast,
	.follow_page = model_follow_page,
	.process_vm_readv = model_process_vm_readv,
	.pagemap = model_pagemap,
	.mincore = model_mincore,
	.folio_referenced = model_folio_referenced,
	.uffd_register = model_uffd_register,
	.uffd_unregister = model_uffd_unregister,
	.uffd_read = model_uffd_read,
	.uffd_copy = model_uffd_copy,
	.uffd_wake = model_uffd_wake,
	.uffd_close = model_uffd_close,
	.thread_enter = model_thread_enter,
	.thread_exit = model_thread_exit,
	.unblock = model_unblock,
	.stat = model_stat,
	.draw = model_draw,
	.check = model_check,
	.violations = model_violations,
	.violations_at = model_violations_at,
};
