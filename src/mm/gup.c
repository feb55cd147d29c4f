// SPDX-License-Identifier: MIT
/*
 * get_user_pages for hugetlb VMAs, structured as Linux 6.3 structures it:
 * __get_user_pages() finds each VMA and hands hugetlb ones to
 * follow_hugetlb_page(), which walks, pins or faults one huge page at a
 * time.  Also here: follow_page of one address
 * (hugetlb_follow_page_mask()), MADV_POPULATE_* (faultin_page_range())
 * and process_vm_readv() of another mm.  The lockless GUP-fast is in
 * gup_fast.c.
 *
 * Units: a page is a huge page.  The kernel counts 4 KiB pages and hands
 * out every subpage of a folio, taking one folio reference per subpage
 * (try_grab_folio(refs)); the model has no subpages, so it counts,
 * returns and references 2 MiB pages, and requires aligned addresses.
 *
 * Pins are plain references (FOLL_GET): a pin is a folio_get() that the
 * caller drops with unpin_user_pages().  FOLL_PIN's separate pin count,
 * and the R/O-pin unsharing of possibly shared anonymous pages
 * (FAULT_FLAG_UNSHARE), are not modelled.
 *
 * Invariants kept:
 *  - every walk of a table goes through hugetlb_walk() between
 *    hugetlb_walk_begin() and hugetlb_walk_end() of its call site
 *    (SITE_FOLLOW_HUGETLB_PAGE or SITE_FOLLOW_PAGE_MASK), for one page at
 *    a time: the policy decides what protects it, and the walk rule is
 *    checked on each (under 6.3: the vma lock per iteration);
 *  - a walker faults with nothing of its walk held: the fault takes the
 *    fault mutex, which ranks outside the vma lock, and then the vma lock
 *    itself; the ptl is a spinlock;
 *  - a folio is handed out only with a reference taken under the ptl of
 *    the table whose entry maps it, while that entry is present (and
 *    writable, for FOLL_WRITE): the entry holds a reference, the ptl
 *    holds the entry, so the folio cannot reach the free pool between
 *    the check and the reference;
 *  - the pages handed out are the first ones of the range, in order; a
 *    call returns how many, and an errno only if there are none;
 *  - a caller that passes @locked lets a fault drop mmap_lock to sleep
 *    (a userfault, VM_FAULT_RETRY): nothing found under the lock (VMA,
 *    entry) is used after that; GUP takes the lock again, looks the VMA
 *    up again and goes on from the page that faulted, with FOLL_TRIED.
 *    Without @locked the lock is never dropped, and such a fault fails.
 */
#include <errno.h>

#include "mm/internal.h"

/* process_vm_rw_single_vec() pins at most this many pages per batch. */
#define PVM_MAX_PP_ARRAY_COUNT	16

/*
 * check_vma_flags() - may GUP with @gup_flags use @vma at all?  Without
 * FOLL_FORCE (not modelled) a write needs VM_WRITE, a read VM_READ.
 */
static int check_vma_flags(struct vm_area_struct *vma, unsigned int gup_flags)
{
	unsigned long vm_flags = READ_ONCE(vma->vm_flags);

	if (gup_flags & FOLL_WRITE)
		return (vm_flags & VM_WRITE) ? 0 : -EFAULT;
	return (vm_flags & VM_READ) ? 0 : -EFAULT;
}

/* vm_fault_to_errno(): what a failed fault means to a GUP caller. */
static int vm_fault_to_errno(unsigned int ret)
{
	if (ret & VM_FAULT_OOM)
		return -ENOMEM;
	if (ret & (VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV))
		return -EFAULT;
	return 0;
}

/*
 * __follow_hugetlb_must_fault(): the entry cannot be used as it is:
 * empty, not a present page (a migration entry, which the fault waits
 * out), or read-only for a write (the fault breaks COW, or makes a
 * shared page writable).
 */
static bool follow_hugetlb_must_fault(pte_t pte, unsigned int flags)
{
	if (!pte_present(pte))
		return true;
	return (flags & FOLL_WRITE) && !huge_pte_write(pte);
}

/**
 * follow_hugetlb_page() - the GUP slow path through one hugetlb VMA.
 * @vma: the VMA, which maps *@position.
 * @pages: where the pages go, each with a reference the caller drops; or
 *	NULL to fault the pages in without referencing them.
 * @position: in, the first address to do; out, the first one not done.
 * @nr_pages: in, how many pages are wanted; out, how many are still
 *	wanted past this VMA, or 0 if the caller must stop (an error, or a
 *	fault answered VM_FAULT_RETRY).
 * @i: how many pages the caller has already stored in @pages.
 * @flags: FOLL_WRITE, FOLL_NOWAIT, FOLL_TRIED.
 * @locked: NULL if the caller cannot have mmap_lock dropped; else set to
 *	0 when a fault dropped it (and @vma may be gone).
 *
 * For each page: walk under what the policy gives the follow_hugetlb_page
 * site and take the ptl; if the entry is usable, reference its folio and
 * move on; if not, drop the ptl and the walk's protection, fault, and
 * walk the same page again.
 *
 * FOLL_NOWAIT tells the fault not to sleep (FAULT_FLAG_RETRY_NOWAIT): a
 * page whose fault would (a userfault in a MISSING range) ends the call
 * there, with mmap_lock held.  A fault that need not sleep (allocate a
 * page, break COW) is taken as usual.  A migration entry is waited out
 * even so, as in the kernel (migration_entry_wait_huge()).
 *
 * Context: mmap_lock of @vma's mm (read), still held on return unless
 * *@locked was cleared; takes and drops, per page, what the policy says
 * and the ptl; may sleep in the fault.
 * Return: @i plus the pages done here; if that is 0, a negative errno:
 * -EFAULT if the fault raised SIGBUS or SIGSEGV, -ENOMEM if it ran out
 * of memory for a page table; or 0 after VM_FAULT_RETRY.
 */
long follow_hugetlb_page(struct vm_area_struct *vma, struct hw_page **pages,
			 unsigned long *position, unsigned long *nr_pages,
			 long i, unsigned int flags, int *locked)
{
	struct hw_mm *mm = vma->vm_mm;
	unsigned long vaddr = *position, remainder = *nr_pages;
	unsigned int taken, fault_flags;
	unsigned int ret;
	struct folio *folio;
	spinlock_t *ptl;
	pte_t *ptep, pte;
	int err = 0;

	lockdep_assert_held(&mm->mmap_lock);
	BUG_ON(!is_vm_hugetlb_page(vma));
	BUG_ON(vaddr & ~HPAGE_MASK);
	BUG_ON(vaddr < vma->vm_start);

	while (vaddr < vma->vm_end && remainder) {
		taken = hugetlb_walk_begin(SITE_FOLLOW_HUGETLB_PAGE, vma);
		ptep = hugetlb_walk(vma, vaddr, HPAGE_SIZE);
		ptl = NULL;
		pte.pte = 0;
		if (ptep) {
			ptl = huge_pte_lock(ptep);
			pte = huge_ptep_get(ptep);
		}

		if (follow_hugetlb_must_fault(pte, flags)) {
			/* Nothing of the walk may be held into the fault. */
			if (ptl)
				spin_unlock(ptl);
			hugetlb_walk_end(vma, taken);
			fault_flags = FAULT_FLAG_GUP;
			if (flags & FOLL_WRITE)
				fault_flags |= FAULT_FLAG_WRITE;
			if (locked)
				fault_flags |= FAULT_FLAG_ALLOW_RETRY;
			if (flags & FOLL_NOWAIT)
				fault_flags |= FAULT_FLAG_ALLOW_RETRY |
					       FAULT_FLAG_RETRY_NOWAIT;
			if (flags & FOLL_TRIED)
				fault_flags |= FAULT_FLAG_TRIED;
			ret = handle_mm_fault(vma, vaddr, fault_flags);
			if (ret & VM_FAULT_ERROR) {
				err = vm_fault_to_errno(ret);
				remainder = 0;
				break;
			}
			if (ret & VM_FAULT_RETRY) {
				/* Not an error: the caller retries, or not. */
				if (locked &&
				    !(fault_flags & FAULT_FLAG_RETRY_NOWAIT))
					*locked = 0;
				*nr_pages = 0;
				return i;	/* @vma may be gone */
			}
			continue;	/* walk the same page again */
		}

		if (pages) {
			folio = pfn_to_folio(mm->sys, pte_pfn(pte));
			/* The entry's reference keeps it; the ptl the entry. */
			folio_get(folio);
			pages[i] = folio_head_page(folio);
		}
		spin_unlock(ptl);
		hugetlb_walk_end(vma, taken);
		vaddr += HPAGE_SIZE;
		remainder--;
		i++;
	}
	*nr_pages = remainder;
	*position = vaddr;
	return i ? i : err;
}

/*
 * __get_user_pages() - one pass over the range, VMA by VMA, until done,
 * an error, or a fault that answered VM_FAULT_RETRY.
 * Return: the pages done; if none, a negative errno, or 0 after
 * VM_FAULT_RETRY (*@locked tells whether mmap_lock was dropped).
 */
static long __get_user_pages(struct hw_mm *mm, unsigned long start,
			     unsigned long nr_pages, unsigned int gup_flags,
			     struct hw_page **pages, int *locked)
{
	struct vm_area_struct *vma;
	long i = 0;
	int err = 0;

	lockdep_assert_held(&mm->mmap_lock);
	while (nr_pages) {
		vma = vma_lookup(mm, start);
		if (!vma) {
			err = -EFAULT;
			break;
		}
		err = check_vma_flags(vma, gup_flags);
		if (err)
			break;
		i = follow_hugetlb_page(vma, pages, &start, &nr_pages, i,
					gup_flags, locked);
		if (i <= 0)
			return i;
	}
	return i ? i : err;
}

/*
 * __get_user_pages_locked() - __get_user_pages(), and after a fault that
 * slept without mmap_lock, take it again and go on from the page that
 * faulted, telling the fault it is a retry (FOLL_TRIED).
 * Return: as get_user_pages_remote().
 */
static long __get_user_pages_locked(struct hw_mm *mm, unsigned long start,
				    unsigned long nr_pages,
				    unsigned int flags,
				    struct hw_page **pages, int *locked)
{
	bool must_unlock = false;
	long ret, pages_done = 0;

	if (!locked)
		return __get_user_pages(mm, start, nr_pages, flags, pages,
					NULL);
	BUG_ON(!*locked);
	for (;;) {
		ret = __get_user_pages(mm, start, nr_pages, flags, pages,
				       locked);
		if (*locked) {
			/* Done, failed, or stopped by FOLL_NOWAIT. */
			if (ret >= 0)
				pages_done += ret;
			else if (!pages_done)
				pages_done = ret;
			break;
		}
		/* A fault slept after @ret pages, with mmap_lock dropped. */
		BUG_ON(ret < 0 || (unsigned long)ret >= nr_pages);
		pages_done += ret;
		nr_pages -= ret;
		start += (unsigned long)ret << HPAGE_SHIFT;
		if (pages)
			pages += ret;
		flags |= FOLL_TRIED;
		must_unlock = true;
		down_read(&mm->mmap_lock);
		*locked = 1;
	}
	/* Taken again here: the caller did not expect it held. */
	if (must_unlock && *locked) {
		up_read(&mm->mmap_lock);
		*locked = 0;
	}
	return pages_done;
}

/**
 * get_user_pages_remote() - reference the huge pages of @mm from @start,
 * faulting in what is needed.
 * @mm: any mm; the caller holds its mmap_lock.
 * @start: huge-page aligned.
 * @nr_pages: how many.
 * @gup_flags: FOLL_WRITE, FOLL_NOWAIT.
 * @pages: where they go, or NULL to fault them in only.
 * @locked: NULL: mmap_lock stays held throughout, and a fault that would
 *	sleep without it (a userfault) fails.  Else *@locked is 1 on entry,
 *	and such a fault sleeps with the lock dropped; GUP then takes it
 *	again and goes on.  On return *@locked says whether it is held: if
 *	it was ever dropped, it is not.
 *
 * Context: mmap_lock of @mm (read); may sleep.
 * Return: the number of pages done, the first ones of the range; if
 * none, -EFAULT (no VMA at @start, a VMA that forbids the access, or
 * SIGBUS/SIGSEGV from the fault), -ENOMEM, or 0 when FOLL_NOWAIT stopped
 * at the first page.
 */
long get_user_pages_remote(struct hw_mm *mm, unsigned long start,
			   unsigned long nr_pages, unsigned int gup_flags,
			   struct hw_page **pages, int *locked)
{
	lockdep_assert_held(&mm->mmap_lock);
	BUG_ON(gup_flags & ~(FOLL_WRITE | FOLL_NOWAIT));
	BUG_ON(start & ~HPAGE_MASK);
	if (!nr_pages)
		return 0;
	return __get_user_pages_locked(mm, start, nr_pages, gup_flags, pages,
				       locked);
}

/**
 * unpin_user_pages() - drop the references GUP took.
 * @pages: the pages.
 * @npages: how many.
 *
 * Context: no spinlock held: the last reference frees the huge page.
 */
void unpin_user_pages(struct hw_page **pages, unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++)
		folio_put(page_folio(pages[i]));
}

/**
 * hugetlb_follow_page_mask() - follow_page() of @address in hugetlb
 * @vma: the folio mapped there, referenced.  Never faults.
 * @vma: the VMA mapping @address.
 * @address: any address in the huge page.
 * @flags: FOLL_WRITE to want the folio only if its entry is writable.
 * @entry: if not NULL, the entry as read under the ptl (0 if none).
 *
 * Context: mmap_lock (read); takes and drops what the policy gives the
 * hugetlb_follow_page_mask site (6.3: the vma lock) and the ptl.
 * Return: the folio, with a reference the caller drops, or NULL.
 */
struct folio *hugetlb_follow_page_mask(struct vm_area_struct *vma,
				       unsigned long address,
				       unsigned int flags, pte_t *entry)
{
	struct folio *folio = NULL;
	unsigned int taken;
	pte_t *ptep, pte = { 0 };
	spinlock_t *ptl;

	lockdep_assert_held(&vma->vm_mm->mmap_lock);
	BUG_ON(!is_vm_hugetlb_page(vma));

	taken = hugetlb_walk_begin(SITE_FOLLOW_PAGE_MASK, vma);
	ptep = hugetlb_walk(vma, address & HPAGE_MASK, HPAGE_SIZE);
	if (ptep) {
		ptl = huge_pte_lock(ptep);
		pte = huge_ptep_get(ptep);
		if (pte_present(pte) &&
		    (!(flags & FOLL_WRITE) || huge_pte_write(pte))) {
			folio = pfn_to_folio(vma->vm_mm->sys, pte_pfn(pte));
			folio_get(folio);
		}
		spin_unlock(ptl);
	}
	hugetlb_walk_end(vma, taken);
	if (entry)
		*entry = pte;
	return folio;
}

/**
 * faultin_page_range() - MADV_POPULATE_READ/WRITE of [start, end): fault
 * every huge page in through GUP, without keeping references.  A fault
 * may sleep in a userfault with mmap_lock dropped; it is taken again.
 * Context: mmap_lock (read), held again on return.
 * Return: 0; -ENOMEM if part of the range is not mapped; -EINVAL if a
 * mapping forbids the access (madvise(2): "insufficient permissions");
 * -EFAULT if a fault raised SIGBUS; -ENOMEM if out of memory.
 */
long faultin_page_range(struct hw_mm *mm, unsigned long start,
			unsigned long end, bool write)
{
	unsigned int gup_flags = write ? FOLL_WRITE : 0;
	struct vm_area_struct *vma;
	unsigned long vm_end;
	int locked = 1;
	long done = 0;

	lockdep_assert_held(&mm->mmap_lock);
	start &= HPAGE_MASK;
	while (start < end) {
		if (!locked) {
			down_read(&mm->mmap_lock);
			locked = 1;
		}
		vma = vma_lookup(mm, start);
		if (!vma) {
			done = -ENOMEM;
			break;
		}
		/* faultin_vma_page_range() reports -EINVAL, not -EFAULT. */
		if (check_vma_flags(vma, gup_flags)) {
			done = -EINVAL;
			break;
		}
		vm_end = end < vma->vm_end ? end : vma->vm_end;
		done = get_user_pages_remote(mm, start,
					     (vm_end - start + HPAGE_SIZE - 1)
					     >> HPAGE_SHIFT, gup_flags, NULL,
					     &locked);
		if (done < 0)
			break;
		/* Without FOLL_NOWAIT: at least a page, or an error. */
		BUG_ON(!done);
		start += (unsigned long)done << HPAGE_SHIFT;
	}
	if (!locked)
		down_read(&mm->mmap_lock);
	return done < 0 ? done : 0;
}

/* ---- the public API ------------------------------------------------------ */

/* Is [start, start + nr_pages huge pages) a valid user range? */
static int gup_check_range(uint64_t start, unsigned long nr_pages)
{
	if (start & ~HPAGE_MASK)
		return -EINVAL;
	if (start >= TASK_SIZE || nr_pages > (TASK_SIZE - start) >> HPAGE_SHIFT)
		return -EFAULT;
	return 0;
}

long hw_get_user_pages(struct hw_mm *mm, uint64_t start,
		       unsigned long nr_pages, unsigned int gup_flags,
		       struct hw_page **pages)
{
	int locked = 1;
	long ret;

	if (gup_flags & ~(HW_FOLL_WRITE | HW_FOLL_NOWAIT))
		return -EINVAL;
	if (!nr_pages)
		return 0;
	ret = gup_check_range(start, nr_pages);
	if (ret)
		return ret;
	down_read(&mm->mmap_lock);
	ret = get_user_pages_remote(mm, start, nr_pages, gup_flags, pages,
				    &locked);
	if (locked)
		up_read(&mm->mmap_lock);
	return ret;
}

long hw_get_user_pages_fast(struct hw_mm *mm, uint64_t start,
			    unsigned long nr_pages, unsigned int gup_flags,
			    struct hw_page **pages, unsigned long *nr_fast)
{
	long ret;

	if (nr_fast)
		*nr_fast = 0;
	if ((gup_flags & ~(HW_FOLL_WRITE | HW_FOLL_FAST_ONLY)) || !pages)
		return -EINVAL;
	if (!nr_pages)
		return 0;
	ret = gup_check_range(start, nr_pages);
	if (ret)
		return ret;
	return get_user_pages_fast(mm, start, nr_pages, gup_flags, pages,
				   nr_fast);
}

void hw_unpin_user_pages(struct hw_page **pages, unsigned long npages)
{
	unpin_user_pages(pages, npages);
}

uint64_t hw_page_tag(const struct hw_page *page)
{
	return READ_ONCE(page_folio(page)->tag);
}

unsigned long hw_page_pfn(const struct hw_page *page)
{
	return page_folio(page)->pfn;
}

int hw_page_refcount(const struct hw_page *page)
{
	return atomic_read(&page_folio(page)->_refcount);
}

int hw_follow_page(struct hw_mm *mm, uint64_t addr, struct hw_page_info *out)
{
	struct vm_area_struct *vma;
	struct folio *folio;
	pte_t entry;
	int err = 0;

	*out = (struct hw_page_info){ 0 };
	down_read(&mm->mmap_lock);
	vma = addr < TASK_SIZE ? vma_lookup(mm, addr) : NULL;
	if (!vma) {
		err = -EFAULT;
		goto out;
	}
	folio = hugetlb_follow_page_mask(vma, addr, 0, &entry);
	if (folio) {
		out->present = true;
		out->writable = huge_pte_write(entry);
		out->pfn = folio->pfn;
		out->tag = READ_ONCE(folio->tag);
		folio_put(folio);
	}
out:
	up_read(&mm->mmap_lock);
	return err;
}

/*
 * As process_vm_rw_single_vec(): pin a batch under the target's
 * mmap_lock, drop the lock, copy out of the pinned pages, unpin; stop at
 * the first batch that pins nothing.
 */
long hw_process_vm_readv(struct hw_mm *target, uint64_t addr,
			 unsigned long nr_pages, uint64_t *tags)
{
	struct hw_page *pp[PVM_MAX_PP_ARRAY_COUNT];
	unsigned long done = 0, n;
	long pinned, k;
	int err, locked;

	if (!nr_pages)
		return 0;
	err = gup_check_range(addr, nr_pages);
	if (err)
		return err;
	while (done < nr_pages) {
		n = nr_pages - done;
		if (n > PVM_MAX_PP_ARRAY_COUNT)
			n = PVM_MAX_PP_ARRAY_COUNT;
		down_read(&target->mmap_lock);
		locked = 1;
		pinned = get_user_pages_remote(target, addr + done * HPAGE_SIZE,
					       n, 0, pp, &locked);
		if (locked)
			up_read(&target->mmap_lock);
		if (pinned <= 0)
			break;
		/* The pins, not the lock, keep the pages while we copy. */
		for (k = 0; k < pinned; k++)
			tags[done + k] = READ_ONCE(page_folio(pp[k])->tag);
		unpin_user_pages(pp, pinned);
		done += pinned;
	}
	return done ? (long)done : -EFAULT;
}

long hw_process_vm_readv_from(struct hw_mm *caller, struct hw_mm *target,
			      uint64_t addr, unsigned long nr_pages,
			      uint64_t *tags)
{
	struct task_struct *t = current;
	void *saved = t->fault_mm;
	long ret;

	t->fault_mm = caller;
	ret = hw_process_vm_readv(target, addr, nr_pages, tags);
	t->fault_mm = saved;
	return ret;
}
