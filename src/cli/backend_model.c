// SPDX-License-Identifier: MIT
/*
 * The model backend: a scenario runs on a fresh struct hw_system, through
 * the public API only.  Processes and files are the scenario's name
 * indexes mapped to hw_mm and hw_file handles.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

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
	if (!m->mm || !m->file)
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
	free(m);
	return NULL;
}

static void model_close(void *be)
{
	struct model *m = be;

	/* hw_system_destroy() exits the processes and closes the files. */
	hw_system_destroy(m->sys);
	free(m->mm);
	free(m->file);
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

static int model_uffd_wp(void *be, int proc, uint64_t addr, uint64_t len)
{
	return hw_uffd_register_wp(((struct model *)be)->mm[proc], addr, len);
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

const struct sc_backend sc_model_backend = {
	.name = "model",
	.open = model_open,
	.close = model_close,
	.set_pool = model_set_pool,
	.set_policy = model_set_policy,
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
	.stat = model_stat,
	.draw = model_draw,
	.check = model_check,
	.violations = model_violations,
};
