// SPDX-License-Identifier: MIT
/*
 * userfaultfd for hugetlb: MISSING-mode registration, the fault that
 * sleeps until a monitor resolves it, UFFDIO_COPY, UFFDIO_WAKE, and the
 * write-protect registration's effect on PMD sharing.
 *
 * The fault's side (fs/userfaultfd.c's handle_userfault(), reached from
 * hugetlb_no_page() through hugetlb_handle_userfault()):
 *
 *   hugetlb_no_page()            mmap_lock(R), fault mutex, vma lock(R)
 *     hugetlb_handle_userfault() drops the vma lock and the fault mutex
 *       handle_userfault()
 *         hugetlb_walk_begin()   what the policy gives the must-wait site
 *         queue the event        ctx lock
 *         userfaultfd_huge_must_wait()   the walk: is the entry still none?
 *         hugetlb_walk_end()
 *         up_read(mmap_lock)
 *         sleep until woken      (if it must wait)
 *       VM_FAULT_RETRY           the caller takes mmap_lock again, looks
 *                                the VMA up again and faults again
 *
 * The vma lock and the fault mutex are dropped before anything else: the
 * monitor's UFFDIO_COPY takes both, and a sleeper holding them would
 * never be resolved.  They are not taken back after the sleep, as kernels
 * before the vma lock took the fault mutex back for the caller's sake:
 * mmap_lock was dropped too, so the VMA may be gone, and the fault
 * returns straight up to be retried from the top.
 *
 * userfaultfd_huge_must_wait() is a call site of its own.  Linux 6.1
 * walked there holding only mmap_lock, as a task already marked not
 * running, which may not sleep on a lock; the merged series
 * ("mm/hugetlb: Make userfaultfd_huge_must_wait() safe to pmd unshare")
 * takes the vma lock before the task changes state, and the RFC walked
 * in an RCU read section.  hugetlb_walk_begin() takes what the policy
 * says, before the event is queued, for every policy: the model has no
 * task state to change, and queueing under RCU or the vma lock is
 * harmless.
 *
 * Invariants kept:
 *  - a waiter is on exactly one of the ctx's lists (pending: its event
 *    not read yet; fault: read) until it is woken, and whoever wakes it
 *    takes it off under the ctx lock; the waiter lives on the faulting
 *    task's stack, which does not return before it is off the lists;
 *  - a fault queues itself before it reads the entry, and a resolver
 *    sets the entry before it looks for waiters, both under the ctx
 *    lock, so either the fault sees the entry or the resolver sees the
 *    fault: no wake-up is lost;
 *  - VM_UFFD_MISSING and vm_uffd_ctx change together, under mmap_lock
 *    (write), the flags also under i_mmap_rwsem (write) because sharers
 *    in other mms compare them (page_table_shareable());
 *  - a sleeping fault holds a reference on the ctx, never on the VMA.
 */
#include <errno.h>
#include <stdlib.h>

#include "mm/internal.h"

/* struct userfaultfd_ctx */
struct hw_uffd {
	struct hw_mm *mm;
	atomic_t refs;
	bool released;			/* closed; READ_ONCE */
	/* fault_pending_wqh.lock: both lists and nr_pending */
	spinlock_t lock;
	struct list_head fault_pending;	/* events not read yet */
	struct list_head fault;		/* events read, not resolved */
	unsigned long nr_pending;	/* WRITE_ONCE under lock */
	struct wait_queue_head fault_wqh;	/* faulting tasks sleep here */
	struct wait_queue_head fd_wqh;		/* readers sleep here */
};

/* struct userfaultfd_wait_queue: one sleeping fault, on its stack. */
struct uffd_waiter {
	struct hw_uffd_msg msg;
	struct list_head entry;		/* ctx lock */
	bool pending;			/* on fault_pending: ctx lock */
	bool waken;			/* set under ctx lock; READ_ONCE */
};

static const struct lock_class uffd_lock_class = {
	"&ctx->fault_pending_wqh.lock", RANK_INNER
};

static void userfaultfd_ctx_get(struct hw_uffd *u)
{
	atomic_inc(&u->refs);
}

static void userfaultfd_ctx_put(struct hw_uffd *u)
{
	if (!atomic_dec_and_test(&u->refs))
		return;
	BUG_ON(!list_empty(&u->fault_pending) || !list_empty(&u->fault));
	spin_lock_destroy(&u->lock);
	destroy_waitqueue_head(&u->fault_wqh);
	destroy_waitqueue_head(&u->fd_wqh);
	free(u);
}

/**
 * hw_uffd_create() - userfaultfd(2): a ctx reporting @mm's faults.
 * Context: any task; takes no lock.
 * Return: the ctx with one reference (the file's), or NULL with errno.
 */
struct hw_uffd *hw_uffd_create(struct hw_mm *mm)
{
	struct hw_uffd *u = calloc(1, sizeof(*u));

	if (!u) {
		errno = ENOMEM;
		return NULL;
	}
	u->mm = mm;
	atomic_set(&u->refs, 1);
	spin_lock_init(&u->lock, &uffd_lock_class);
	INIT_LIST_HEAD(&u->fault_pending);
	INIT_LIST_HEAD(&u->fault);
	init_waitqueue_head(&u->fault_wqh);
	init_waitqueue_head(&u->fd_wqh);
	return u;
}

/* ---- waking ------------------------------------------------------------- */

static bool waiter_in_range(struct uffd_waiter *w, unsigned long start,
			    unsigned long len)
{
	return !len || (w->msg.address >= start &&
			w->msg.address - start < len);
}

/* Take @w off its list.  Context: ctx lock. */
static void waiter_dequeue(struct hw_uffd *u, struct uffd_waiter *w)
{
	lockdep_assert_held(&u->lock);
	if (w->pending)
		WRITE_ONCE(u->nr_pending, u->nr_pending - 1);
	w->pending = false;
	list_del_init(&w->entry);
}

static bool wake_list(struct hw_uffd *u, struct list_head *list,
		      unsigned long start, unsigned long len)
{
	struct uffd_waiter *w, *tmp;
	bool woke = false;

	list_for_each_entry_safe(w, tmp, list, entry) {
		if (!waiter_in_range(w, start, len))
			continue;
		waiter_dequeue(u, w);
		WRITE_ONCE(w->waken, true);
		woke = true;
	}
	return woke;
}

/*
 * __wake_userfault() - wake the faults in [start, start + len), or all of
 * them if @len is 0, whether or not their event was read.
 * Context: no spinlock held; the caller made what they wait for true.
 *
 * The kernel looks for waiters without the lock first (waitqueue_active()
 * after an smp_mb()); here the ctx lock is always taken, and it alone
 * orders the caller's entry update before the scan against a fault's
 * queueing before its must-wait walk.
 */
static void __wake_userfault(struct hw_uffd *u, unsigned long start,
			     unsigned long len)
{
	bool woke;

	spin_lock(&u->lock);
	woke = wake_list(u, &u->fault_pending, start, len);
	woke |= wake_list(u, &u->fault, start, len);
	spin_unlock(&u->lock);
	if (woke)
		wake_up_all(&u->fault_wqh);
}

/* ---- the fault ---------------------------------------------------------- */

/*
 * userfaultfd_huge_must_wait() - the call site SITE_UFFD_MUST_WAIT: is
 * the entry for @address still none, so that the fault must sleep?
 * Context: mmap_lock (read), and what the policy gives the site.
 */
static bool userfaultfd_huge_must_wait(struct vm_area_struct *vma,
				       unsigned long address)
{
	pte_t *ptep;

	lockdep_assert_held(&vma->vm_mm->mmap_lock);
	ptep = hugetlb_walk(vma, address, HPAGE_SIZE);
	if (!ptep)
		return true;
	return huge_pte_none(huge_ptep_get(ptep));
}

/*
 * handle_userfault() - report the fault at @address to the monitor and
 * sleep until it is resolved, the range unregistered or the ctx closed.
 * Context: mmap_lock (read); no hugetlb lock.
 * Return: VM_FAULT_RETRY; mmap_lock is dropped unless
 * FAULT_FLAG_RETRY_NOWAIT.
 */
static unsigned int handle_userfault(struct vm_area_struct *vma,
				     unsigned long address, unsigned int flags)
{
	struct hw_mm *mm = vma->vm_mm;
	struct hw_uffd *u = vma->vm_uffd_ctx;
	struct uffd_waiter uwq = {
		.msg = {
			.address = address,
			.write = flags & FAULT_FLAG_WRITE,
		},
	};
	unsigned int taken;
	bool must_wait;

	lockdep_assert_held_read(&mm->mmap_lock);
	BUG_ON(!u || !(flags & FAULT_FLAG_ALLOW_RETRY));
	/*
	 * Closing: its release is about to unregister the range, and waits
	 * for mmap_lock to do so.  The kernel returns VM_FAULT_NOPAGE and
	 * the task faults again from user space, dropping mmap_lock on its
	 * way out; the model's retry drops it here.
	 */
	if (READ_ONCE(u->released)) {
		if (!(flags & FAULT_FLAG_RETRY_NOWAIT))
			up_read(&mm->mmap_lock);
		return VM_FAULT_RETRY;
	}
	if (flags & FAULT_FLAG_RETRY_NOWAIT)
		return VM_FAULT_RETRY;

	/* Keeps the ctx, not the VMA, once mmap_lock is dropped. */
	userfaultfd_ctx_get(u);
	INIT_LIST_HEAD(&uwq.entry);

	taken = hugetlb_walk_begin(SITE_UFFD_MUST_WAIT, vma);
	spin_lock(&u->lock);
	list_add_tail(&uwq.entry, &u->fault_pending);
	uwq.pending = true;
	WRITE_ONCE(u->nr_pending, u->nr_pending + 1);
	spin_unlock(&u->lock);
	/*
	 * Queued before the walk: a resolver that installs the entry after
	 * our walk read it none finds us on the list (see __wake_userfault()).
	 */
	must_wait = userfaultfd_huge_must_wait(vma, address);
	hugetlb_walk_end(vma, taken);
	up_read(&mm->mmap_lock);	/* @vma is not ours any more */

	if (must_wait && !READ_ONCE(u->released)) {
		wake_up_all(&u->fd_wqh);	/* a reader may be waiting */
		wait_event(&u->fault_wqh,
			   READ_ONCE(uwq.waken) || READ_ONCE(u->released));
	}

	/* Not woken (no need to wait, or closed): leave the list. */
	spin_lock(&u->lock);
	if (!list_empty(&uwq.entry))
		waiter_dequeue(u, &uwq);
	spin_unlock(&u->lock);
	userfaultfd_ctx_put(u);
	return VM_FAULT_RETRY;
}

/**
 * hugetlb_handle_userfault() - hand a hugetlb fault to the monitor.
 * @vma: the faulting VMA, VM_UFFD_MISSING.
 * @address: the huge page faulted on.
 * @idx: its index in the file, which picks the fault mutex held.
 * @flags: FAULT_FLAG_*.
 *
 * Context: mmap_lock (read), the fault mutex of @idx, vma lock (read).
 * Return: VM_FAULT_RETRY with the fault mutex and the vma lock dropped,
 * and mmap_lock too unless FAULT_FLAG_RETRY_NOWAIT; or VM_FAULT_SIGBUS,
 * every lock still held, when the fault cannot wait (the caller passed
 * no FAULT_FLAG_ALLOW_RETRY: GUP that may not drop mmap_lock).
 */
unsigned int hugetlb_handle_userfault(struct vm_area_struct *vma,
				      unsigned long address, unsigned long idx,
				      unsigned int flags)
{
	struct hw_system *sys = vma->vm_mm->sys;
	unsigned long hash = hugetlb_fault_mutex_hash(vma_mapping(vma), idx);

	lockdep_assert_held(&vma->vm_mm->mmap_lock);
	lockdep_assert_held(&sys->fault_mutex_table[hash]);
	hugetlb_vma_assert_locked(vma);
	if (!vma->vm_uffd_ctx || !(flags & FAULT_FLAG_ALLOW_RETRY))
		return VM_FAULT_SIGBUS;
	hugetlb_vma_unlock_read(vma);
	mutex_unlock(&sys->fault_mutex_table[hash]);
	return handle_userfault(vma, address, flags);
}

/**
 * dup_userfaultfd() - fork's copy @new of a VMA: without
 * UFFD_FEATURE_EVENT_FORK (not modelled) the child's VMA is not
 * registered, and its faults allocate as usual.  mremap's new VMA is
 * treated the same (mremap_userfaultfd_prep() without
 * UFFD_FEATURE_EVENT_REMAP).  A write-protect registration, which has
 * no context here, goes too: in Linux it has one, and goes with it.
 * Context: the mm's mmap_lock (write); @new not yet in i_mmap.
 */
void dup_userfaultfd(struct vm_area_struct *new)
{
	new->vm_uffd_ctx = NULL;
	new->vm_flags &= ~(VM_UFFD_MISSING | VM_UFFD_WP);
}

/* ---- registration ------------------------------------------------------- */

/* validate_range() with hugetlb's alignment. */
static int uffd_validate_range(uint64_t start, uint64_t len)
{
	if (!len || (start & ~HPAGE_MASK) || (len & ~HPAGE_MASK))
		return -EINVAL;
	if (start >= TASK_SIZE || len > TASK_SIZE - start)
		return -EINVAL;
	return 0;
}

/*
 * The first VMA of [start, end), or -EINVAL if the range holds none, as
 * userfaultfd_register() and userfaultfd_unregister() answer since they
 * look with vma_find() (6.7).  Older kernels answered -ENOMEM when no VMA
 * ended above @start, which a real process, its stack on top, never
 * saw for an address below it.  Context: mmap_lock.
 */
static struct vm_area_struct *uffd_first_vma(struct hw_mm *mm,
					     unsigned long start,
					     unsigned long end, int *err)
{
	struct vm_area_struct *vma = find_vma(mm, start);

	*err = !vma || vma->vm_start >= end ? -EINVAL : 0;
	return *err ? NULL : vma;
}

/* Set @vma's uffd flags and ctx.  Context: mmap_lock (write). */
static void uffd_set_vma(struct vm_area_struct *vma, unsigned long flags,
			 struct hw_uffd *u)
{
	struct address_space *mapping = vma_mapping(vma);

	lockdep_assert_held_write(&vma->vm_mm->mmap_lock);
	i_mmap_lock_write(mapping);
	WRITE_ONCE(vma->vm_flags, flags);
	i_mmap_unlock_write(mapping);
	vma->vm_uffd_ctx = u;
}

/* Does (un)registration with @u, in modes @want, change @vma? */
typedef bool uffd_changes_fn(struct vm_area_struct *vma, struct hw_uffd *u,
			     unsigned long want);

/*
 * Split the VMA around @addr there, if @want says it changes.  A split
 * at an address that is not PUD-aligned unshares the PMD table around it
 * (hugetlb_split()), as with any other split.  Context: mmap_lock (write).
 */
static int uffd_split_at(struct hw_mm *mm, unsigned long addr,
			 uffd_changes_fn *changes, struct hw_uffd *u,
			 unsigned long want)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr);

	if (!vma || vma->vm_start == addr || !changes(vma, u, want))
		return 0;
	return __split_vma(vma, addr, 1);
}

/* The vm_flags of UFFDIO_REGISTER's modes. */
#define VM_UFFD_FLAGS	(VM_UFFD_MISSING | VM_UFFD_WP)

static unsigned long uffd_mode_flags(unsigned int mode)
{
	return (mode & HW_UFFDIO_REGISTER_MODE_MISSING ? VM_UFFD_MISSING : 0) |
	       (mode & HW_UFFDIO_REGISTER_MODE_WP ? VM_UFFD_WP : 0);
}

/*
 * Registration changes @vma unless it is registered with @u already, in
 * the modes of @want at least (userfaultfd_register_range() skips it,
 * unsplit).
 */
static bool register_changes(struct vm_area_struct *vma, struct hw_uffd *u,
			     unsigned long want)
{
	return !(vma->vm_uffd_ctx == u && (vma->vm_flags & want) == want);
}

/* Unregistration changes only @u's VMAs. */
static bool unregister_changes(struct vm_area_struct *vma, struct hw_uffd *u,
			       unsigned long want)
{
	(void)want;
	return vma->vm_uffd_ctx == u;
}

/*
 * userfaultfd_register_range(): register [start, end) of @mm with @u
 * (NULL: hw_uffd_register_wp()'s registration without an object) in the
 * modes of @want.  Each VMA of the range not registered so already is
 * split to the range and gets the modes in place of any it had; a mode
 * that forbids PMD sharing (uffd_disable_huge_pmd_share()) unshares its
 * tables.  Holes are skipped; the range needs one VMA.
 * Context: mmap_lock (write).
 */
static int uffd_register_range(struct hw_mm *mm, struct hw_uffd *u,
			       unsigned long start, unsigned long end,
			       unsigned long want)
{
	struct vm_area_struct *vma, *first;
	int err;

	lockdep_assert_held_write(&mm->mmap_lock);
	first = uffd_first_vma(mm, start, end, &err);
	if (!first)
		return err;
	/* Check every VMA before changing any. */
	for (vma = first; vma && vma->vm_start < end; vma = vma_next(vma))
		if (vma->vm_uffd_ctx && vma->vm_uffd_ctx != u)
			return -EBUSY;
	err = uffd_split_at(mm, start, register_changes, u, want);
	if (!err)
		err = uffd_split_at(mm, end, register_changes, u, want);
	if (err)
		return err;
	for (vma = find_vma(mm, start); vma && vma->vm_start < end;
	     vma = vma_next(vma)) {
		if (!register_changes(vma, u, want))
			continue;
		uffd_set_vma(vma, (vma->vm_flags & ~VM_UFFD_FLAGS) | want, u);
		if (uffd_disable_huge_pmd_share(vma))
			hugetlb_unshare_all_pmds(vma);
	}
	return 0;
}

/**
 * hw_uffd_register() - UFFDIO_REGISTER (userfaultfd_register()).
 * Context: takes @u's mm's mmap_lock for write.
 * Return: see <hugewalk/uffd.h>.
 */
int hw_uffd_register(struct hw_uffd *u, uint64_t addr, uint64_t len,
		     unsigned int mode)
{
	struct hw_mm *mm = u->mm;
	int err;

	if (!mode || (mode & ~(HW_UFFDIO_REGISTER_MODE_MISSING |
			       HW_UFFDIO_REGISTER_MODE_WP)))
		return -EINVAL;
	err = uffd_validate_range(addr, len);
	if (err)
		return err;
	down_write(&mm->mmap_lock);
	err = uffd_register_range(mm, u, addr, addr + len,
				  uffd_mode_flags(mode));
	up_write(&mm->mmap_lock);
	return err;
}

/**
 * hw_uffd_unregister() - UFFDIO_UNREGISTER (userfaultfd_unregister()):
 * VMAs of the range registered with @u are split off and unregistered,
 * and their waiters woken; other VMAs are left alone.
 * Context: takes @u's mm's mmap_lock for write.
 * Return: see <hugewalk/uffd.h>.
 */
int hw_uffd_unregister(struct hw_uffd *u, uint64_t addr, uint64_t len)
{
	unsigned long start = addr, end = addr + len;
	struct hw_mm *mm = u->mm;
	struct vm_area_struct *vma;
	int err;

	err = uffd_validate_range(addr, len);
	if (err)
		return err;
	down_write(&mm->mmap_lock);
	if (!uffd_first_vma(mm, start, end, &err))
		goto out_unlock;
	err = uffd_split_at(mm, start, unregister_changes, u, 0);
	if (!err)
		err = uffd_split_at(mm, end, unregister_changes, u, 0);
	if (err)
		goto out_unlock;
	for (vma = find_vma(mm, start); vma && vma->vm_start < end;
	     vma = vma_next(vma)) {
		if (!unregister_changes(vma, u, 0))
			continue;
		/*
		 * Their retry waits for our mmap_lock, then finds the range
		 * unregistered and allocates.
		 */
		__wake_userfault(u, vma->vm_start, vma->vm_end - vma->vm_start);
		uffd_set_vma(vma, vma->vm_flags & ~VM_UFFD_FLAGS, NULL);
	}
out_unlock:
	up_write(&mm->mmap_lock);
	return err;
}

/**
 * hw_uffd_close() - the release of the last file reference
 * (userfaultfd_release()).
 * Context: takes @u's mm's mmap_lock for write; no other call on @u in
 * flight or to come.
 */
void hw_uffd_close(struct hw_uffd *u)
{
	struct hw_mm *mm = u->mm;
	struct vm_area_struct *vma;

	/*
	 * Set before taking mmap_lock: a fault that reads it returns to be
	 * retried instead of queueing; one that queued already, holding
	 * mmap_lock, is woken below, after our down_write() waited for it.
	 */
	WRITE_ONCE(u->released, true);
	down_write(&mm->mmap_lock);
	list_for_each_entry(vma, &mm->mmap, vm_list)
		if (vma->vm_uffd_ctx == u)
			uffd_set_vma(vma, vma->vm_flags & ~VM_UFFD_FLAGS, NULL);
	up_write(&mm->mmap_lock);
	__wake_userfault(u, 0, 0);
	userfaultfd_ctx_put(u);
}

/* ---- the monitor -------------------------------------------------------- */

/**
 * hw_uffd_read() - read(2) of one struct uffd_msg (userfaultfd_ctx_read()):
 * the oldest event not read yet moves to the read list, where its fault
 * keeps waiting.
 * Context: may sleep; no lock held.
 * Return: see <hugewalk/uffd.h>.
 */
int hw_uffd_read(struct hw_uffd *u, struct hw_uffd_msg *msg, bool nonblock)
{
	struct uffd_waiter *w;

	for (;;) {
		spin_lock(&u->lock);
		if (!list_empty(&u->fault_pending)) {
			w = list_first_entry(&u->fault_pending,
					     struct uffd_waiter, entry);
			*msg = w->msg;
			waiter_dequeue(u, w);
			list_add_tail(&w->entry, &u->fault);
			spin_unlock(&u->lock);
			return 0;
		}
		spin_unlock(&u->lock);
		if (nonblock)
			return -EAGAIN;
		/* A fault queues, then wakes us (handle_userfault()). */
		wait_event(&u->fd_wqh, READ_ONCE(u->nr_pending));
	}
}

/*
 * hugetlb_mfill_atomic_pte() - UFFDIO_COPY of one huge page: a new folio
 * holding @tag, in the page cache if @vma is shared, mapped at @dst.
 * Context: mmap_lock (read); takes the fault mutex and the vma lock as a
 * fault does, and may share a PMD table (huge_pte_alloc()).
 * Return: 0, -EEXIST, -EFAULT (past EOF), -ENOMEM, or the page cache's
 * error.
 */
static int hugetlb_mfill_atomic_pte(struct vm_area_struct *vma,
				    unsigned long dst, uint64_t tag)
{
	struct hw_mm *mm = vma->vm_mm;
	struct hw_system *sys = mm->sys;
	struct address_space *mapping = vma_mapping(vma);
	unsigned long idx = vma_hugecache_offset(vma, dst), hash;
	bool shared = vma->vm_flags & VM_MAYSHARE, in_pagecache = false;
	struct folio *folio;
	spinlock_t *ptl;
	pte_t *ptep;
	int ret;

	lockdep_assert_held(&mm->mmap_lock);
	hash = hugetlb_fault_mutex_hash(mapping, idx);
	mutex_lock(&sys->fault_mutex_table[hash]);
	hugetlb_vma_lock_read(vma);
	site_enter(SITE_UNSHARER, "hugetlb_mfill_atomic_pte");

	ret = -ENOMEM;
	ptep = huge_pte_alloc(mm, vma, dst, HPAGE_SIZE);
	if (!ptep)
		goto out_unlock;
	ret = -EEXIST;
	if (!huge_pte_none(huge_ptep_get(ptep)))
		goto out_unlock;
	ret = -EFAULT;
	if (idx >= (READ_ONCE(vma->vm_file->i_size) >> HPAGE_SHIFT))
		goto out_unlock;
	ret = -ENOMEM;
	folio = alloc_hugetlb_folio(vma, dst);
	if (!folio)
		goto out_unlock;
	WRITE_ONCE(folio->tag, tag);		/* copy_folio_from_user() */

	if (shared) {
		/* Cached by a fault of another mm, or fallocate: -EEXIST. */
		ret = hugetlb_add_to_page_cache(folio, mapping, idx);
		if (ret)
			goto out_release_nounlock;
		in_pagecache = true;
	} else {
		folio->anon = true;
	}
	folio_lock(folio);
	ptl = huge_pte_lock(ptep);
	ret = -EFAULT;		/* truncated meanwhile: map nothing past EOF */
	if (idx >= (READ_ONCE(vma->vm_file->i_size) >> HPAGE_SHIFT))
		goto out_release_unlock;
	ret = -EEXIST;
	if (!huge_pte_none(huge_ptep_get(ptep)))
		goto out_release_unlock;
	if (!shared) {
		folio->restore_reserve = false;	/* consumed for good */
		vma->anon_vma = true;
	}
	set_huge_pte_at(ptep, pfn_huge_pte(folio->pfn,
					   vma->vm_flags & VM_WRITE));
	atomic_inc(&folio->_mapcount);	/* our reference is the entry's */
	atomic_long_inc(&mm->hugetlb_usage);
	spin_unlock(ptl);
	folio_unlock(folio);
	ret = 0;
	goto out_unlock;

out_release_unlock:
	spin_unlock(ptl);
	folio_unlock(folio);
out_release_nounlock:
	if (!in_pagecache)
		restore_reserve_on_error(vma, dst, folio);
	folio_put(folio);
out_unlock:
	site_exit();
	hugetlb_vma_unlock_read(vma);
	mutex_unlock(&sys->fault_mutex_table[hash]);
	return ret;
}

/**
 * hw_uffd_copy() - UFFDIO_COPY of one huge page (userfaultfd_copy(),
 * mfill_atomic() for hugetlb), then UFFDIO_WAKE of it.
 * Context: takes @u's mm's mmap_lock for read.
 * Return: see <hugewalk/uffd.h>.
 */
int hw_uffd_copy(struct hw_uffd *u, uint64_t dst, uint64_t tag,
		 unsigned int flags)
{
	struct hw_mm *mm = u->mm;
	struct vm_area_struct *vma;
	int ret;

	if (flags & ~HW_UFFDIO_COPY_MODE_DONTWAKE)
		return -EINVAL;
	ret = uffd_validate_range(dst, HPAGE_SIZE);
	if (ret)
		return ret;
	down_read(&mm->mmap_lock);
	vma = vma_lookup(mm, dst);
	ret = -ENOENT;
	if (vma && vma->vm_uffd_ctx == u)
		ret = hugetlb_mfill_atomic_pte(vma, dst, tag);
	up_read(&mm->mmap_lock);
	/* The entry is set: a fault queued from now on will not sleep. */
	if (!ret && !(flags & HW_UFFDIO_COPY_MODE_DONTWAKE))
		__wake_userfault(u, dst, HPAGE_SIZE);
	return ret;
}

/**
 * hw_uffd_wake() - UFFDIO_WAKE.
 * Context: no lock held.
 * Return: see <hugewalk/uffd.h>.
 */
int hw_uffd_wake(struct hw_uffd *u, uint64_t addr, uint64_t len)
{
	int err = uffd_validate_range(addr, len);

	if (!err)
		__wake_userfault(u, addr, len);
	return err;
}

/* ---- write-protect registration: no sharing ----------------------------- */

/**
 * hw_uffd_register_wp() - a range registered for write-protect tracking
 * must not share page tables, since the uffd-wp bits live in the entries
 * and are per mm (uffd_disable_huge_pmd_share()), so registration
 * unshares them all.  Registered without a userfaultfd object: only the
 * effect on page tables is modelled.
 * Context: takes @mm's mmap_lock for write.
 * Return: see <hugewalk/uffd.h>.
 */
int hw_uffd_register_wp(struct hw_mm *mm, uint64_t addr, uint64_t len)
{
	int err = uffd_validate_range(addr, len);

	if (err)
		return err;
	down_write(&mm->mmap_lock);
	err = uffd_register_range(mm, NULL, addr, addr + len, VM_UFFD_WP);
	up_write(&mm->mmap_lock);
	return err;
}
