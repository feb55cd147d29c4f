// SPDX-License-Identifier: MIT
/*
 * The hugetlb vma lock: a reference-counted rw semaphore hung off
 * vm_private_data of each shareable hugetlb VMA.
 *
 * Invariants kept:
 *  - a fault holds it for read from before huge_pte_alloc() until the
 *    entry is set; every path that may unshare a PMD table in the VMA
 *    holds it for write (and i_mmap_rwsem for write), so a reader never
 *    sees its table vanish;
 *  - the lock object lives while anyone holds a reference: the VMA holds
 *    one, and a task that found the VMA through rmap takes one before it
 *    drops i_mmap_rwsem to sleep on the lock;
 *  - the lock is detached from its VMA (vma_lock->vma = NULL,
 *    vm_private_data = NULL) only at the VMA's final unmap or teardown,
 *    never by MADV_DONTNEED: freeing it there let a fault use it after
 *    free (syzbot, 2022; fixed by "hugetlb: don't delete vma_lock in
 *    hugetlb MADV_DONTNEED processing");
 *  - a VMA without a lock cannot share: page_table_shareable() and
 *    want_pmd_share() require one, so a VMA being torn down can no longer
 *    hand its table to another mm.
 */
#include <errno.h>
#include <stdlib.h>

#include "mm/internal.h"

bool __vma_shareable_lock(struct vm_area_struct *vma)
{
	return (vma->vm_flags & VM_MAYSHARE) && READ_ONCE(vma->vm_private_data);
}

static struct hugetlb_vma_lock *vma_lock_of(struct vm_area_struct *vma)
{
	return (vma->vm_flags & VM_MAYSHARE) ? READ_ONCE(vma->vm_private_data)
					     : NULL;
}

/**
 * hugetlb_vma_lock_alloc() - give a shareable VMA its lock.
 * Context: mmap_lock (write); @vma not yet visible in i_mmap.
 * Return: 0 or -ENOMEM.
 */
int hugetlb_vma_lock_alloc(struct vm_area_struct *vma)
{
	struct hugetlb_vma_lock *vma_lock;

	if (!(vma->vm_flags & VM_MAYSHARE))
		return 0;
	BUG_ON(vma->vm_private_data);
	vma_lock = calloc(1, sizeof(*vma_lock));
	if (!vma_lock)
		return -ENOMEM;
	atomic_set(&vma_lock->refs, 1);
	init_rwsem(&vma_lock->rw_sema, &vma_lock_class);
	vma_lock->vma = vma;
	WRITE_ONCE(vma->vm_private_data, vma_lock);
	return 0;
}

/* Drop a reference; the last one frees the object. */
void hugetlb_vma_lock_release(struct hugetlb_vma_lock *vma_lock)
{
	if (!atomic_dec_and_test(&vma_lock->refs))
		return;
	destroy_rwsem(&vma_lock->rw_sema);
	free(vma_lock);
}

/*
 * __hugetlb_vma_unlock_write_free() - the final unmap holds the lock for
 * write and detaches it: from now on the VMA cannot share.
 * Context: vma lock (write), i_mmap_rwsem (write).
 */
void __hugetlb_vma_unlock_write_free(struct vm_area_struct *vma)
{
	struct hugetlb_vma_lock *vma_lock = vma_lock_of(vma);

	if (!vma_lock)
		return;
	lockdep_assert_held_write(&vma_lock->rw_sema);
	i_mmap_assert_write_locked(vma_mapping(vma));
	vma_lock->vma = NULL;
	WRITE_ONCE(vma->vm_private_data, NULL);
	up_write(&vma_lock->rw_sema);
	hugetlb_vma_lock_release(vma_lock);
}

/**
 * hugetlb_vma_lock_free() - teardown of a VMA whose lock is still
 * attached (no final unmap ran, e.g. a VMA that failed to be set up).
 * Context: mmap_lock (write).
 */
void hugetlb_vma_lock_free(struct vm_area_struct *vma)
{
	struct hugetlb_vma_lock *vma_lock = vma_lock_of(vma);

	if (!vma_lock)
		return;
	/* Serialise with rmap walkers that hold a reference and wait. */
	down_write(&vma_lock->rw_sema);
	vma_lock->vma = NULL;
	WRITE_ONCE(vma->vm_private_data, NULL);
	up_write(&vma_lock->rw_sema);
	hugetlb_vma_lock_release(vma_lock);
}

void hugetlb_vma_lock_read(struct vm_area_struct *vma)
{
	struct hugetlb_vma_lock *vma_lock = vma_lock_of(vma);

	if (vma_lock)
		down_read(&vma_lock->rw_sema);
}

void hugetlb_vma_unlock_read(struct vm_area_struct *vma)
{
	struct hugetlb_vma_lock *vma_lock = vma_lock_of(vma);

	if (vma_lock)
		up_read(&vma_lock->rw_sema);
}

void hugetlb_vma_lock_write(struct vm_area_struct *vma)
{
	struct hugetlb_vma_lock *vma_lock = vma_lock_of(vma);

	if (vma_lock)
		down_write(&vma_lock->rw_sema);
}

void hugetlb_vma_unlock_write(struct vm_area_struct *vma)
{
	struct hugetlb_vma_lock *vma_lock = vma_lock_of(vma);

	if (vma_lock)
		up_write(&vma_lock->rw_sema);
}

/* Return: 1 if taken, or if the VMA has no lock to take; else 0. */
int hugetlb_vma_trylock_write(struct vm_area_struct *vma)
{
	struct hugetlb_vma_lock *vma_lock = vma_lock_of(vma);

	if (!vma_lock)
		return 1;
	return down_write_trylock(&vma_lock->rw_sema);
}

void hugetlb_vma_assert_locked(struct vm_area_struct *vma)
{
	struct hugetlb_vma_lock *vma_lock = vma_lock_of(vma);

	if (vma_lock)
		lockdep_assert_held(&vma_lock->rw_sema);
}
