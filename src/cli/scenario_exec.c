// SPDX-License-Identifier: MIT
/*
 * Scenario executor, the ops that may run on a thread of their own: the
 * accesses, the walkers' call sites (GUP, GUP-fast, follow_page,
 * process_vm_readv, pagemap, mincore, folio_referenced) and userfaultfd.
 *
 * sc_exec_op() calls the backend and writes what it saw into a struct
 * sc_exec, and nothing else: of the runner it reads only what stays the
 * same for the whole run (the backend, its machine, the time limit), so
 * it runs on the main thread or on a job's thread (scenario_bg.c) alike.
 * The checks and the trace line come after, on the main thread
 * (sc_report_exec() in scenario_check.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hugewalk/system.h>

#include "cli/scenario_runner.h"

/**
 * sc_has_hook() - does @be have what @kind needs?  A machine may lack a
 * system call, a call site or userfaultfd.
 * @be: the backend.
 * @kind: an op's kind.
 *
 * Context: any thread.
 * Return: true if the op can be run; false also for kinds without a hook.
 */
bool sc_has_hook(const struct sc_backend *be, enum sc_kind kind)
{
	switch (kind) {
	case SC_POOL:		return be->set_pool;
	case SC_MEMFD:		return be->memfd;
	case SC_FTRUNCATE:	return be->ftruncate;
	case SC_FALLOCATE:	return be->fallocate;
	case SC_CLOSE:		return be->close_file;
	case SC_SPAWN:		return be->spawn;
	case SC_FORK:		return be->fork;
	case SC_EXIT:		return be->exit;
	case SC_MMAP:		return be->mmap;
	case SC_MUNMAP:		return be->munmap;
	case SC_MPROTECT:	return be->mprotect;
	case SC_MADVISE:	return be->madvise;
	case SC_MREMAP:		return be->mremap;
	case SC_UFFD_WP:	return be->uffd_wp;
	case SC_MOVE_PAGES:	return be->move_pages;
	case SC_WRITE:
	case SC_READ:		return be->access;
	case SC_GUP:		return be->gup;
	case SC_GUP_FAST:	return be->gup_fast;
	case SC_FOLLOW_PAGE:	return be->follow_page;
	case SC_PROCESS_VM_READV: return be->process_vm_readv;
	case SC_PAGEMAP:	return be->pagemap;
	case SC_MINCORE:	return be->mincore;
	case SC_FOLIO_REFERENCED: return be->folio_referenced;
	case SC_UFFD_REGISTER:	return be->uffd_register;
	case SC_UFFD_UNREGISTER: return be->uffd_unregister;
	case SC_UFFD_READ:	return be->uffd_read;
	case SC_UFFD_COPY:	return be->uffd_copy;
	case SC_UFFD_WAKE:	return be->uffd_wake;
	case SC_UFFD_CLOSE:	return be->uffd_close;
	default:		return false;
	}
}

/**
 * sc_is_exec_kind() - does sc_exec_op() run ops of @kind?  The others
 * (files, processes, mappings) are scenario_run.c's, on the main thread.
 * @kind: an op's kind.
 *
 * Return: true for accesses, madvise, the call sites and userfaultfd.
 */
bool sc_is_exec_kind(enum sc_kind kind)
{
	switch (kind) {
	case SC_READ:
	case SC_WRITE:
	case SC_MADVISE:
	case SC_GUP:
	case SC_GUP_FAST:
	case SC_FOLLOW_PAGE:
	case SC_PROCESS_VM_READV:
	case SC_PAGEMAP:
	case SC_MINCORE:
	case SC_FOLIO_REFERENCED:
	case SC_UFFD_REGISTER:
	case SC_UFFD_UNREGISTER:
	case SC_UFFD_READ:
	case SC_UFFD_COPY:
	case SC_UFFD_WAKE:
	case SC_UFFD_CLOSE:
		return true;
	default:
		return false;
	}
}

/**
 * sc_fault_subject() - whose faults an op's faults= counts.
 * @op: the op.
 *
 * Return: the acting process.  A process_vm_readv faults in the peer's
 * address space, but Linux charges the faults to the task that calls it
 * (mm_account_fault(), since 5.9), and so does the model.
 */
int sc_fault_subject(const struct sc_op *op)
{
	return op->proc;
}

/*
 * P write/read ADDR [N]: one access per huge page, stopping at the first
 * signal (the scenario's process survives it, as if it had a handler).
 */
static void exec_access(struct runner *r, const struct sc_op *op,
			struct sc_exec *x)
{
	bool write = op->kind == SC_WRITE;

	if (!write) {
		x->tags = calloc(op->count, sizeof(*x->tags));
		if (!x->tags) {
			x->ret = -ENOMEM;
			return;
		}
	}
	for (uint64_t i = 0; i < op->count; i++) {
		uint64_t addr = op->addr + i * HW_HPAGE_SIZE;
		uint64_t tag = op->tag;

		x->ret = r->be->access(r->m, op->proc, addr, write, &tag);
		if (x->ret) {
			x->at = addr;
			return;
		}
		if (!write)
			x->tags[x->ntags++] = tag;
	}
}

/* gup, gup_fast, process_vm_readv: a count of pages and their tags. */
static void exec_pages(struct runner *r, const struct sc_op *op,
		       struct sc_exec *x)
{
	const struct sc_backend *be = r->be;
	long n;

	x->tags = calloc(op->count, sizeof(*x->tags));
	if (!x->tags) {
		x->ret = -ENOMEM;
		return;
	}
	if (op->kind == SC_GUP)
		n = be->gup(r->m, op->proc, op->addr, op->count, op->opts,
			    x->tags);
	else if (op->kind == SC_GUP_FAST)
		n = be->gup_fast(r->m, op->proc, op->addr, op->count,
				 op->opts, x->tags, &x->nr_fast);
	else
		n = be->process_vm_readv(r->m, op->proc, op->peer, op->addr,
					 op->count, x->tags);
	if (n < 0) {
		x->ret = (int)n;
		return;
	}
	x->count = n;
	x->ntags = (unsigned int)n;
}

/* pagemap ADDR [N]: the first entry of each huge page, bits counted. */
static void exec_pagemap(struct runner *r, const struct sc_op *op,
			 struct sc_exec *x)
{
	for (uint64_t i = 0; i < op->count; i++) {
		uint64_t e = 0;

		x->ret = r->be->pagemap(r->m, op->proc,
					op->addr + i * HW_HPAGE_SIZE, &e);
		if (x->ret)
			return;
		if (!i)
			x->pfn = e & SC_PM_PFN_MASK;
		x->npages++;
		x->present += !!(e & SC_PM_PRESENT);
		x->exclusive += !!(e & SC_PM_EXCLUSIVE);
		x->file += !!(e & SC_PM_FILE);
	}
}

#define MINCORE_CHUNK	(1ULL << 30)	/* bytes asked for at once */

/*
 * mincore ADDR LEN: each 2 MiB from ADDR is resident when every byte
 * mincore gave for it is, partly when some are.  Asked for one GiB at a
 * time, so that the vector stays small; mincore(2) does not promise that
 * a range is looked at in one go either.
 */
static void exec_mincore(struct runner *r, const struct sc_op *op,
			 struct sc_exec *x)
{
	const uint64_t ppb = HW_HPAGE_SIZE / HW_PAGE_SIZE;
	uint64_t done = 0, chunk = op->len < MINCORE_CHUNK ? op->len :
				   MINCORE_CHUNK;
	unsigned char *vec = malloc(chunk / HW_PAGE_SIZE + 1);

	if (!vec) {
		x->ret = -ENOMEM;
		return;
	}
	do {
		uint64_t len = op->len - done < chunk ? op->len - done : chunk;
		uint64_t nvec = (len + HW_PAGE_SIZE - 1) / HW_PAGE_SIZE;

		x->ret = r->be->mincore(r->m, op->proc, op->addr + done, len,
					vec);
		if (x->ret)
			break;
		for (uint64_t i = 0; i < nvec; i += ppb) {
			uint64_t n = nvec - i < ppb ? nvec - i : ppb, in = 0;

			for (uint64_t j = 0; j < n; j++)
				in += vec[i + j] & 1;
			x->hpages++;
			x->resident += in == n;
			x->partial += in && in < n;
		}
		done += len;
	} while (done < op->len);
	free(vec);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * uffd_read: the next event, waiting for one at most the run's time
 * limit (the backend's read never blocks: a fault is queued by another
 * thread, which this one polls for).  -EAGAIN if none came.
 */
static void exec_uffd_read(struct runner *r, const struct sc_op *op,
			   struct sc_exec *x)
{
	uint64_t deadline = now_ms() + r->timeout_ms;
	const struct timespec tick = { 0, 1000 * 1000 };

	for (;;) {
		x->ret = r->be->uffd_read(r->m, op->proc, &x->msg);
		if (x->ret != -EAGAIN || (op->opts & SC_OPT_NONBLOCK) ||
		    now_ms() >= deadline)
			return;
		nanosleep(&tick, NULL);
	}
}

/**
 * sc_exec_op() - run @op on the backend, into @x.
 * @r: the run; only its constant parts are read.
 * @op: an op of a kind sc_is_exec_kind() accepts, or a background op
 *	(munmap, mprotect, mremap, uffd_wp and move_pages run here then).
 * @x: zeroed by the caller; x->ran stays false when @r's backend has no
 *	hook for @op.
 *
 * Context: the main thread, or a job's thread registered with the
 * backend's thread_enter.  May sleep in a userfault.
 */
void sc_exec_op(struct runner *r, const struct sc_op *op, struct sc_exec *x)
{
	const struct sc_backend *be = r->be;
	void *m = r->m;
	int n;

	if (!sc_has_hook(be, op->kind))
		return;
	x->ran = true;
	switch (op->kind) {
	case SC_READ:
	case SC_WRITE:
		exec_access(r, op, x);
		break;
	case SC_MADVISE:
		x->ret = be->madvise(m, op->proc, op->addr, op->len,
				     op->advice);
		break;
	/* The unsharers, run here only in the background (`&`). */
	case SC_MUNMAP:
		x->ret = be->munmap(m, op->proc, op->addr, op->len);
		break;
	case SC_MPROTECT:
		x->ret = be->mprotect(m, op->proc, op->addr, op->len,
				      op->prot);
		break;
	case SC_MREMAP:
		x->ret = be->mremap(m, op->proc, op->addr, op->len,
				    op->new_len, op->new_addr);
		break;
	case SC_UFFD_WP:
		x->ret = be->uffd_wp(m, op->proc, op->addr, op->len);
		break;
	case SC_MOVE_PAGES:
		x->ret = be->move_pages(m, op->proc, op->addr);
		break;
	case SC_GUP:
	case SC_GUP_FAST:
	case SC_PROCESS_VM_READV:
		exec_pages(r, op, x);
		break;
	case SC_FOLLOW_PAGE:
		x->ret = be->follow_page(m, op->proc, op->addr, &x->page);
		if (x->ret || !x->page.present)
			break;
		x->tags = malloc(sizeof(*x->tags));
		if (!x->tags)
			break;
		x->tags[0] = x->page.tag;
		x->ntags = 1;
		break;
	case SC_PAGEMAP:
		exec_pagemap(r, op, x);
		break;
	case SC_MINCORE:
		exec_mincore(r, op, x);
		break;
	case SC_FOLIO_REFERENCED:
		n = be->folio_referenced(m, op->proc, op->addr);
		x->ret = n < 0 ? n : 0;
		x->count = n < 0 ? 0 : n;
		break;
	case SC_UFFD_REGISTER:
		x->ret = be->uffd_register(m, op->proc, op->addr, op->len,
					   op->opts);
		break;
	case SC_UFFD_UNREGISTER:
		x->ret = be->uffd_unregister(m, op->proc, op->addr, op->len);
		break;
	case SC_UFFD_READ:
		exec_uffd_read(r, op, x);
		break;
	case SC_UFFD_COPY:
		x->ret = be->uffd_copy(m, op->proc, op->addr, op->tag,
				       op->opts);
		break;
	case SC_UFFD_WAKE:
		x->ret = be->uffd_wake(m, op->proc, op->addr, op->len);
		break;
	case SC_UFFD_CLOSE:
		x->ret = be->uffd_close(m, op->proc);
		break;
	default:
		x->ran = false;
		break;
	}
}

/**
 * sc_call_syscall() - call the backend for one of the ops that manage
 * files, processes and mappings (pool, memfd, ftruncate, fallocate, close,
 * spawn, fork, exit, mmap, munmap, mprotect, mremap, uffd_wp, move_pages),
 * keeping r->alive up to date.  Shared by `hugewalk run` and the race
 * explorer's scenario harness.
 * @pool_now: for SC_POOL, where the pool size after the op goes.
 * Return: 0 or -errno; -EINVAL for an op of another kind.
 */
int sc_call_syscall(struct runner *r, const struct sc_op *op,
		    unsigned long *pool_now)
{
	const struct sc_backend *be = r->be;
	const char *name;
	void *m = r->m;
	int ret;

	switch (op->kind) {
	case SC_POOL:
		return be->set_pool(m, op->len, pool_now);
	case SC_MEMFD:
		name = r->sc->names[op->target].name;
		ret = be->memfd(m, op->target, name);
		r->alive[op->target] = !ret;
		return ret;
	case SC_FTRUNCATE:
		return be->ftruncate(m, op->file, op->len);
	case SC_FALLOCATE:
		return be->fallocate(m, op->file, op->mode, op->off, op->len);
	case SC_CLOSE:
		r->alive[op->file] = false;
		return be->close_file(m, op->file);
	case SC_SPAWN:
		name = r->sc->names[op->target].name;
		ret = be->spawn(m, op->target, name);
		r->alive[op->target] = !ret;
		return ret;
	case SC_FORK:
		name = r->sc->names[op->target].name;
		ret = be->fork(m, op->proc, op->target, name);
		r->alive[op->target] = !ret;
		return ret;
	case SC_EXIT:
		r->alive[op->proc] = false;
		return be->exit(m, op->proc);
	case SC_MMAP:
		return be->mmap(m, op->proc, op->addr, op->len, op->prot,
				op->flags, op->file, op->off);
	case SC_MUNMAP:
		return be->munmap(m, op->proc, op->addr, op->len);
	case SC_MPROTECT:
		return be->mprotect(m, op->proc, op->addr, op->len, op->prot);
	case SC_MREMAP:
		return be->mremap(m, op->proc, op->addr, op->len, op->new_len,
				  op->new_addr);
	case SC_UFFD_WP:
		return be->uffd_wp(m, op->proc, op->addr, op->len);
	case SC_MOVE_PAGES:
		return be->move_pages(m, op->proc, op->addr);
	default:
		return -EINVAL;
	}
}

/**
 * sc_obs_record() - what @x saw, into the trace's @obs: the result, the
 * faults and the call site's counts (the tags are handed over by the
 * caller, after sc_report_exec()).
 * @obs: the op's observables.
 * @x: what sc_exec_op() filled, on whichever thread.
 *
 * Context: the main thread.
 */
void sc_obs_record(struct sc_obs *obs, const struct sc_exec *x)
{
	obs->ran = x->ran;
	obs->ret = x->ret;
	obs->at = x->at;
	obs->measured = x->measured;
	obs->faults = x->faults;
	obs->vals[SC_OBS_COUNT] = (unsigned long)x->count;
	obs->vals[SC_OBS_FAST] = x->nr_fast;
	obs->vals[SC_OBS_PRESENT] = x->present;
	obs->vals[SC_OBS_EXCLUSIVE] = x->exclusive;
	obs->vals[SC_OBS_FILE] = x->file;
	obs->vals[SC_OBS_RESIDENT] = x->resident;
	obs->vals[SC_OBS_PARTIAL] = x->partial;
	obs->vals[SC_OBS_UFFD_ADDR] = x->msg.addr;
	obs->vals[SC_OBS_UFFD_WRITE] = x->msg.write;
}

/*
 * sc_faults_begin()/sc_faults_end() - measure the faults @op causes in
 * the process it faults in, around its execution (which may run on
 * another thread than the begin).
 */
void sc_faults_begin(struct runner *r, const struct sc_op *op,
		     struct sc_exec *x)
{
	x->measured = !sc_stat_of(r, sc_fault_subject(op), SC_KEY_FAULTS,
				  &x->f0);
}

void sc_faults_end(struct runner *r, const struct sc_op *op,
		   struct sc_exec *x)
{
	unsigned long f1;

	if (x->measured)
		x->measured = !sc_stat_of(r, sc_fault_subject(op),
					  SC_KEY_FAULTS, &f1);
	if (x->measured)
		x->faults = f1 - x->f0;
}

/*
 * A name the op uses whose spawn, fork or memfd failed: the backend has no
 * handle for it.  Returns the name's index, or -1.
 */
int sc_name_missing(const struct runner *r, const struct sc_op *op)
{
	if (op->proc >= 0 && !r->alive[op->proc])
		return op->proc;
	if (op->peer >= 0 && !r->alive[op->peer])
		return op->peer;
	if (op->kind != SC_MEMFD && op->file >= 0 && !r->alive[op->file])
		return op->file;
	return -1;
}
