// SPDX-License-Identifier: MIT
/*
 * The hugetlb fault path, and the CPU's own loads and stores.
 *
 * Invariants kept:
 *  - faults on one file page are serialised by its hugetlb fault mutex,
 *    so one page-cache page exists per index and one entry is set;
 *  - the fault holds the vma lock (read) from huge_pte_alloc() until its
 *    entry is set, so the table it installs into cannot be unshared
 *    under it;
 *  - a folio's refcount is its page-cache reference plus one per entry
 *    mapping it (_mapcount); an entry in a shared table counts once;
 *  - a private mapping never writes a page-cache folio: a write makes an
 *    anonymous copy (hugetlb_wp()), or reuses an anonymous folio that
 *    only this entry maps.
 */
#include <errno.h>
#include <signal.h>

#include "mm/internal.h"

static void set_pte_locked(pte_t *ptep, struct folio *folio, bool writable)
{
	lockdep_assert_held(huge_pte_lockptr(ptep));
	set_huge_pte_at(ptep, pfn_huge_pte(folio->pfn, writable));
}

/*
 * unmap_ref_private() - the owner of a private mapping's reservation
 * cannot copy @folio on write for want of a free page: take the page away
 * from every fork child that maps it (VMAs of the file at that index,
 * private, not owners), so that the owner can write it in place.  Those
 * VMAs are marked: their next fault gets SIGBUS ("killed due to
 * inadequate hugepage pool").
 * Context: mmap_lock (read) and the fault mutex; takes i_mmap_rwsem.
 * Return: whether one of those VMAs was of @vma's own mm (another
 * private, non-owner mapping of the same file page, MAP_NORESERVE).
 */
static bool unmap_ref_private(struct vm_area_struct *vma, struct folio *folio,
			      unsigned long address)
{
	struct address_space *mapping = vma_mapping(vma);
	unsigned long pgoff = ((address - vma->vm_start) >> PAGE_SHIFT) +
			      vma->vm_pgoff;
	struct vm_area_struct *iter;
	unsigned long addr;
	bool own_mm = false;

	i_mmap_lock_write(mapping);
	vma_interval_tree_foreach(iter, mapping, pgoff, pgoff) {
		if (iter == vma || (iter->vm_flags & VM_MAYSHARE) ||
		    iter->resv)
			continue;
		addr = iter->vm_start +
		       ((pgoff - iter->vm_pgoff) << PAGE_SHIFT);
		unmap_hugepage_range(iter, addr, addr + HPAGE_SIZE, folio, 0);
		own_mm |= iter->vm_mm == vma->vm_mm;
	}
	i_mmap_unlock_write(mapping);
	return own_mm;
}

/*
 * hugetlb_wp() - copy on write in a private mapping.
 * Context: ptl held, and held again on return; may drop it to allocate.
 */
static unsigned int hugetlb_wp(struct hw_mm *mm, struct vm_area_struct *vma,
			       unsigned long address, pte_t *ptep,
			       spinlock_t *ptl)
{
	struct hw_system *sys = mm->sys;
	pte_t pte = huge_ptep_get(ptep);
	struct folio *old = pfn_to_folio(sys, pte_pfn(pte)), *new;
	bool took_back = false, own_mm;

	lockdep_assert_held(ptl);
retry:
	if (vma->vm_flags & VM_MAYSHARE) {
		set_huge_pte_at(ptep, huge_pte_mkwrite(pte));
		return 0;
	}
	/* The only mapper of an anonymous folio writes it in place. */
	if (old->anon && atomic_read(&old->_mapcount) == 1) {
		set_huge_pte_at(ptep, huge_pte_mkwrite(pte));
		return 0;
	}

	folio_get(old);
	spin_unlock(ptl);
	new = alloc_hugetlb_folio(vma, address);
	spin_lock(ptl);
	if (!new && vma->resv && old->anon && !took_back) {
		/*
		 * The owner of the reservation copies an anonymous page
		 * that a fork child maps too, and the pool is empty: the
		 * child loses the page, and the owner keeps it (Linux's
		 * hugetlb_wp(), cow_from_owner), writing it in place.  Under
		 * quirk cow-steal-refault, when a VMA of the owner's own mm
		 * was among those unmapped, the fault ends there instead and
		 * the access faults again, two faults in all, as a 6.18.44
		 * build counts them (docs/differences.md).  Once: if the
		 * entry changed meanwhile, someone else resolved the fault.
		 */
		spin_unlock(ptl);
		own_mm = unmap_ref_private(vma, old, address);
		folio_put(old);
		spin_lock(ptl);
		took_back = true;
		if ((own_mm && hw_system_quirk(sys,
					       HW_QUIRK_COW_STEAL_REFAULT)) ||
		    huge_ptep_get(ptep).pte != pte.pte)
			return 0;
		goto retry;
	}
	if (!new) {
		folio_put(old);
		return VM_FAULT_SIGBUS;
	}
	new->anon = true;
	WRITE_ONCE(new->tag, READ_ONCE(old->tag));
	if (huge_ptep_get(ptep).pte == pte.pte) {
		/* Mapped: its reservation is consumed for good. */
		new->restore_reserve = false;
		set_pte_locked(ptep, new, true);
		atomic_inc(&new->_mapcount);
		vma->anon_vma = true;
		atomic_dec(&old->_mapcount);
		folio_put(old);		/* the entry's reference */
	} else {
		/* Raced: someone changed the entry. */
		restore_reserve_on_error(vma, address, new);
		folio_put(new);
	}
	folio_put(old);
	return 0;
}

/*
 * hugetlb_no_page() - the entry is empty: find or allocate the folio and
 * map it.
 * Context: mmap_lock (read), fault mutex, vma lock (read); on
 * VM_FAULT_RETRY (a userfault) it dropped the fault mutex and the vma
 * lock, and mmap_lock unless FAULT_FLAG_RETRY_NOWAIT.
 */
static unsigned int hugetlb_no_page(struct hw_mm *mm,
				    struct vm_area_struct *vma,
				    unsigned long address, pte_t *ptep,
				    unsigned int flags)
{
	struct address_space *mapping = vma_mapping(vma);
	unsigned long idx = vma_hugecache_offset(vma, address);
	bool write = flags & FAULT_FLAG_WRITE;
	bool shared = vma->vm_flags & VM_MAYSHARE;
	bool new_anon = false, writable;
	unsigned int ret = 0;
	struct folio *folio;
	spinlock_t *ptl;

	/* The owner took a page of this VMA back: no more faults here. */
	if (READ_ONCE(vma->resv_unmapped))
		return VM_FAULT_SIGBUS;
	if (idx >= (READ_ONCE(vma->vm_file->i_size) >> HPAGE_SHIFT))
		return VM_FAULT_SIGBUS;	/* beyond EOF */

	folio = filemap_lock_hugetlb_folio(mapping, idx);
	if (!folio) {
		/* The monitor provides the missing page: it may sleep. */
		if (userfaultfd_missing(vma))
			return hugetlb_handle_userfault(vma, address, idx,
							flags);
		/*
		 * vmf_anon_prepare(): a private VMA gets its anon_vma before
		 * the allocation, which may fail; fork copies the tables of
		 * a VMA that has one, page-cache entries and all.
		 */
		if (!shared)
			vma->anon_vma = true;
		folio = alloc_hugetlb_folio(vma, address);
		if (!folio)
			return VM_FAULT_SIGBUS;
		if (shared) {
			/* The fault mutex excludes another adder. */
			BUG_ON(hugetlb_add_to_page_cache(folio, mapping, idx));
		} else {
			folio->anon = true;
			folio->restore_reserve = false;
			new_anon = true;
		}
		folio_lock(folio);
	}

	ptl = huge_pte_lock(ptep);
	if (!huge_pte_none(huge_ptep_get(ptep))) {
		spin_unlock(ptl);
		folio_unlock(folio);
		folio_put(folio);
		return 0;
	}
	writable = shared ? (vma->vm_flags & VM_WRITE) : (new_anon && write);
	set_pte_locked(ptep, folio, writable);
	atomic_inc(&folio->_mapcount);	/* our reference is the entry's now */
	atomic_long_inc(&mm->hugetlb_usage);
	if (new_anon)
		vma->anon_vma = true;
	/* A write to a page-cache page in a private mapping: COW at once. */
	if (write && !shared && !new_anon)
		ret = hugetlb_wp(mm, vma, address, ptep, ptl);
	spin_unlock(ptl);
	folio_unlock(folio);
	return ret;
}

/**
 * hugetlb_fault() - resolve a fault at @address in hugetlb @vma.
 * Context: mmap_lock (read).
 * Return: 0 or VM_FAULT_* error bits.
 */
unsigned int hugetlb_fault(struct hw_mm *mm, struct vm_area_struct *vma,
			   unsigned long address, unsigned int flags)
{
	struct hw_system *sys = mm->sys;
	struct address_space *mapping = vma_mapping(vma);
	unsigned long idx, hash;
	unsigned int ret = 0, taken;
	spinlock_t *ptl;
	pte_t *ptep, entry;

	lockdep_assert_held(&mm->mmap_lock);
	address &= HPAGE_MASK;
	idx = vma_hugecache_offset(vma, address);

	/*
	 * The early look at the entry (for a migration entry, before 6.3
	 * without the vma lock): call site SITE_HUGETLB_FAULT.  A fault
	 * that meets a migration entry sleeps until the migration is over
	 * and returns: the access is retried, and finds the new folio.
	 */
	taken = hugetlb_walk_begin(SITE_HUGETLB_FAULT, vma);
	ptep = hugetlb_walk(vma, address, HPAGE_SIZE);
	if (ptep) {
		entry = huge_ptep_get(ptep);
		if (unlikely(is_hugetlb_migration_entry(entry))) {
			/* Ends the walk: drops what the policy took. */
			migration_entry_wait_huge(vma, ptep, taken);
			return 0;
		}
	}
	hugetlb_walk_end(vma, taken);

	hash = hugetlb_fault_mutex_hash(mapping, idx);
	mutex_lock(&sys->fault_mutex_table[hash]);
	hugetlb_vma_lock_read(vma);

	site_enter(SITE_HUGETLB_FAULT, "hugetlb_fault");
	ptep = huge_pte_alloc(mm, vma, address, HPAGE_SIZE);
	if (!ptep) {
		ret = VM_FAULT_OOM;
		goto out_unlock;
	}
	entry = huge_ptep_get(ptep);
	if (huge_pte_none(entry)) {
		ret = hugetlb_no_page(mm, vma, address, ptep, flags);
		if (ret & VM_FAULT_RETRY) {
			/* A userfault dropped our locks; @vma may be gone. */
			site_exit();
			return ret;
		}
		goto out_unlock;
	}
	/*
	 * The migrator holds this fault mutex from its first migration
	 * entry to its last (migrate.c), so none can be seen here.
	 */
	VM_BUG_ON(is_hugetlb_migration_entry(entry));
	if ((flags & FAULT_FLAG_WRITE) && !huge_pte_write(entry)) {
		ptl = huge_pte_lock(ptep);
		if (huge_ptep_get(ptep).pte == entry.pte)
			ret = hugetlb_wp(mm, vma, address, ptep, ptl);
		spin_unlock(ptl);
	}
out_unlock:
	site_exit();
	hugetlb_vma_unlock_read(vma);
	mutex_unlock(&sys->fault_mutex_table[hash]);
	return ret;
}

/**
 * handle_mm_fault() - a fault at @addr in @vma, counted as the task's
 * minor fault.
 * Context: mmap_lock (read).
 */
unsigned int handle_mm_fault(struct vm_area_struct *vma, unsigned long addr,
			     unsigned int flags)
{
	struct hw_mm *acct = current->fault_mm ?: vma->vm_mm;
	unsigned int ret = hugetlb_fault(vma->vm_mm, vma, addr, flags);

	/*
	 * mm_account_fault(): errors are not counted, GUP faults are; a
	 * fault to be retried counts once, when retried (and its @vma may
	 * be gone by now).  The fault is the faulting task's (current's,
	 * since Linux 5.9): a remote GUP's go to the caller's counter.
	 */
	if (!(ret & (VM_FAULT_ERROR | VM_FAULT_RETRY)))
		atomic_long_inc(&acct->minflt);
	return ret;
}

/*
 * cpu_access() - what the MMU does for a load or store: walk the tables
 * and use the entry if it allows the access.  Walked under the vma lock:
 * hardware cannot meet a freed table (the shootdown before a free waits
 * for it), and it is not one of the call sites under study.
 * Return: true if the access completed.
 */
static bool cpu_access(struct vm_area_struct *vma, unsigned long addr,
		       bool write, uint64_t *tag)
{
	struct folio *folio = NULL;
	spinlock_t *ptl;
	pte_t *ptep, pte;

	hugetlb_vma_lock_read(vma);
	site_enter(SITE_CPU_ACCESS, "cpu access");
	ptep = hugetlb_walk(vma, addr, HPAGE_SIZE);
	if (ptep) {
		ptl = huge_pte_lock(ptep);
		pte = huge_ptep_get(ptep);
		if (pte_present(pte) && !pte_protnone(pte) &&
		    (!write || huge_pte_write(pte))) {
			folio = pfn_to_folio(vma->vm_mm->sys, pte_pfn(pte));
			folio_get(folio);
			/* The MMU sets the accessed bit rmap's aging clears. */
			if (!huge_pte_young(pte))
				set_huge_pte_at(ptep, huge_pte_mkyoung(pte));
		}
		spin_unlock(ptl);
	}
	site_exit();
	hugetlb_vma_unlock_read(vma);
	if (!folio)
		return false;
	if (write)
		WRITE_ONCE(folio->tag, *tag);
	else
		*tag = READ_ONCE(folio->tag);
	folio_put(folio);
	return true;
}

/*
 * do_user_fault() - the arch fault handler's loop (do_user_addr_fault()):
 * a fault that returns VM_FAULT_RETRY dropped mmap_lock (a userfault
 * slept); take it again, look the VMA up again, and fault again with
 * FAULT_FLAG_TRIED.
 * Context: mmap_lock (read), held again on return.
 * Return: handle_mm_fault()'s result, or VM_FAULT_SIGSEGV if the VMA
 * went away or lost the access meanwhile.
 */
static unsigned int do_user_fault(struct hw_mm *mm,
				  struct vm_area_struct **vmap,
				  unsigned long addr, bool write)
{
	unsigned long need = write ? VM_WRITE : VM_READ;
	unsigned int flags = FAULT_FLAG_ALLOW_RETRY |
			     (write ? FAULT_FLAG_WRITE : 0);
	unsigned int ret;

	for (;;) {
		ret = handle_mm_fault(*vmap, addr, flags);
		if (!(ret & VM_FAULT_RETRY))
			return ret;
		flags |= FAULT_FLAG_TRIED;
		down_read(&mm->mmap_lock);
		*vmap = vma_lookup(mm, addr);
		if (!*vmap || !((*vmap)->vm_flags & need))
			return VM_FAULT_SIGSEGV;
	}
}

int hw_access(struct hw_mm *mm, uint64_t addr, bool write, uint64_t *tag)
{
	struct vm_area_struct *vma;
	unsigned int ret;
	int sig = 0, tries;

	down_read(&mm->mmap_lock);
	vma = vma_lookup(mm, addr);
	if (!vma || !(vma->vm_flags & (write ? VM_WRITE : VM_READ))) {
		sig = SIGSEGV;
		goto out;
	}
	for (tries = 0; !cpu_access(vma, addr, write, tag); tries++) {
		/* Others may unmap what we fault in, never forever. */
		BUG_ON(tries > 100000);
		ret = do_user_fault(mm, &vma, addr, write);
		if (ret & VM_FAULT_SIGBUS) {
			sig = SIGBUS;
			break;
		}
		if (ret & VM_FAULT_ERROR) {
			sig = SIGSEGV;
			break;
		}
	}
out:
	up_read(&mm->mmap_lock);
	return sig;
}
