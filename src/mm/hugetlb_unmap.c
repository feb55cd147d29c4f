// SPDX-License-Identifier: MIT
/*
 * The paths that change or remove hugetlb mappings, and so unshare:
 * unmapping (munmap, exit, MADV_DONTNEED, truncate, hole punch),
 * mprotect, mremap, and fork's copy of private mappings.
 *
 * Invariants kept:
 *  - each holds the VMA's lock and its file's i_mmap_rwsem for write
 *    around its walk, as huge_pmd_unshare() demands;
 *  - meeting a shared table, each unshares the whole PUD_SIZE range in
 *    this mm and moves on: the entries stay, for the other sharers, and
 *    this mm's view of the range is gone (a later fault re-shares or
 *    allocates);
 *  - an entry is cleared under its table's ptl, and the folio loses the
 *    entry's mapcount and reference.
 */
#include <errno.h>

#include "mm/internal.h"

/* The last huge page address of the PUD_SIZE range holding @addr. */
static unsigned long pud_last_hpage(unsigned long addr)
{
	return (addr & PUD_MASK) + PUD_SIZE - HPAGE_SIZE;
}

/**
 * __unmap_hugepage_range() - clear the entries of [start, end) in @vma,
 * unsharing shared tables on the way.
 * @ref_folio: if set, unmap only this folio.
 * Context: vma lock and i_mmap_rwsem for write.
 */
void __unmap_hugepage_range(struct vm_area_struct *vma, unsigned long start,
			    unsigned long end, struct folio *ref_folio,
			    unsigned int zap_flags)
{
	struct hw_mm *mm = vma->vm_mm;
	unsigned long address;
	struct folio *folio;
	spinlock_t *ptl;
	pte_t *ptep, pte;

	BUG_ON(start & ~HPAGE_MASK);
	BUG_ON(end & ~HPAGE_MASK);
	i_mmap_assert_write_locked(vma_mapping(vma));
	hugetlb_vma_assert_locked(vma);

	site_enter(SITE_UNSHARER, "__unmap_hugepage_range");
	for (address = start; address < end; address += HPAGE_SIZE) {
		ptep = hugetlb_walk(vma, address, HPAGE_SIZE);
		if (!ptep) {
			address = pud_last_hpage(address);
			continue;
		}
		ptl = huge_pte_lock(ptep);
		if (huge_pmd_unshare(mm, vma, address, ptep)) {
			spin_unlock(ptl);
			address = pud_last_hpage(address);
			continue;
		}
		pte = huge_ptep_get(ptep);
		if (huge_pte_none(pte)) {
			spin_unlock(ptl);
			continue;
		}
		if (!pte_present(pte)) {
			/* a migration entry: nothing mapped to drop */
			huge_ptep_get_and_clear(ptep);
			spin_unlock(ptl);
			continue;
		}
		folio = pfn_to_folio(mm->sys, pte_pfn(pte));
		if (ref_folio && folio != ref_folio) {
			spin_unlock(ptl);
			continue;
		}
		/* unmap_ref_private(): this VMA's later faults get SIGBUS. */
		if (ref_folio)
			WRITE_ONCE(vma->resv_unmapped, true);
		huge_ptep_get_and_clear(ptep);
		atomic_long_dec(&mm->hugetlb_usage);
		atomic_dec(&folio->_mapcount);
		spin_unlock(ptl);
		/*
		 * An anonymous folio of a private mapping gives its
		 * reservation back to the VMA, so that the next fault there
		 * cannot find the pool stolen (Linux 6.8+, "mm/hugetlb:
		 * restore the reservation if needed").
		 */
		if (folio->anon)
			hugetlb_unmap_restore_reserve(vma, address, folio);
		folio_put(folio);
		if (ref_folio)
			break;
	}
	site_exit();
}

void unmap_hugepage_range(struct vm_area_struct *vma, unsigned long start,
			  unsigned long end, struct folio *ref_folio,
			  unsigned int zap_flags)
{
	__unmap_hugepage_range(vma, start, end, ref_folio, zap_flags);
}

/**
 * hugetlb_zap_range() - unmap [start, end) of @vma taking the locks
 * (hugetlb_zap_begin()/hugetlb_zap_end()).  With ZAP_FLAG_UNMAP (munmap,
 * exit) the VMA is going: its lock is detached before i_mmap_rwsem is
 * dropped, so from then on no other mm can share its tables.
 * Context: mmap_lock.
 */
void hugetlb_zap_range(struct vm_area_struct *vma, unsigned long start,
		       unsigned long end, unsigned int zap_flags)
{
	struct address_space *mapping = vma_mapping(vma);

	lockdep_assert_held(&vma->vm_mm->mmap_lock);
	hugetlb_vma_lock_write(vma);
	i_mmap_lock_write(mapping);
	__unmap_hugepage_range(vma, start, end, NULL, zap_flags);
	if (zap_flags & ZAP_FLAG_UNMAP)
		__hugetlb_vma_unlock_write_free(vma);
	else
		hugetlb_vma_unlock_write(vma);
	i_mmap_unlock_write(mapping);
}

/*
 * huge_pte_modify() - @pte with the protection of @newflags.  Private
 * mappings stay read-only (a write copies); PROT_NONE keeps the page
 * mapped but not accessible (_PAGE_PROTNONE, as x86 does).
 */
static pte_t huge_pte_modify(pte_t pte, unsigned long newflags)
{
	bool writable = (newflags & VM_SHARED) && (newflags & VM_WRITE);

	if (!(newflags & (VM_READ | VM_WRITE | VM_EXEC)))
		return (pte_t){ (pte.pte & ~(_PAGE_PRESENT | _PAGE_RW)) |
				_PAGE_PROTNONE };
	pte.pte = (pte.pte & ~_PAGE_PROTNONE) | _PAGE_PRESENT;
	return writable ? huge_pte_mkwrite(pte) : huge_pte_wrprotect(pte);
}

/**
 * hugetlb_change_protection() - apply @newflags' protection to the
 * entries of [start, end), unsharing shared tables.
 * Context: mmap_lock (write); vm_flags already updated.
 * Return: the number of entries changed or unshared.
 */
long hugetlb_change_protection(struct vm_area_struct *vma,
			       unsigned long start, unsigned long end,
			       unsigned long newflags)
{
	struct hw_mm *mm = vma->vm_mm;
	struct address_space *mapping = vma_mapping(vma);
	unsigned long address;
	long pages = 0;
	spinlock_t *ptl;
	pte_t *ptep, pte;

	lockdep_assert_held_write(&mm->mmap_lock);
	hugetlb_vma_lock_write(vma);
	i_mmap_lock_write(mapping);
	site_enter(SITE_UNSHARER, "hugetlb_change_protection");
	for (address = start; address < end; address += HPAGE_SIZE) {
		ptep = hugetlb_walk(vma, address, HPAGE_SIZE);
		if (!ptep) {
			address = pud_last_hpage(address);
			continue;
		}
		ptl = huge_pte_lock(ptep);
		if (huge_pmd_unshare(mm, vma, address, ptep)) {
			pages++;
			spin_unlock(ptl);
			address = pud_last_hpage(address);
			continue;
		}
		pte = huge_ptep_get(ptep);
		if (pte_present(pte)) {
			set_huge_pte_at(ptep, huge_pte_modify(pte, newflags));
			pages++;
		}
		spin_unlock(ptl);
	}
	site_exit();
	i_mmap_unlock_write(mapping);
	hugetlb_vma_unlock_write(vma);
	return pages;
}

static void move_huge_pte(pte_t *src_pte, pte_t *dst_pte)
{
	spinlock_t *src_ptl = huge_pte_lock(src_pte);
	spinlock_t *dst_ptl = huge_pte_lockptr(dst_pte);
	pte_t pte;

	if (dst_ptl != src_ptl)
		spin_lock_nested(dst_ptl, 1);
	pte = huge_ptep_get_and_clear(src_pte);
	set_huge_pte_at(dst_pte, pte);
	if (dst_ptl != src_ptl)
		spin_unlock(dst_ptl);
	spin_unlock(src_ptl);
}

/**
 * move_hugetlb_page_tables() - mremap's move of [old_addr, +len) of @vma
 * to @new_addr in @new_vma.  Entries in shared tables are not moved: the
 * table is unshared and the new range faults again.
 * Context: mmap_lock (write).
 * Return: the bytes moved or skipped: @len unless out of memory.
 */
int move_hugetlb_page_tables(struct vm_area_struct *vma,
			     struct vm_area_struct *new_vma,
			     unsigned long old_addr, unsigned long new_addr,
			     unsigned long len)
{
	struct hw_mm *mm = vma->vm_mm;
	struct address_space *mapping = vma_mapping(vma);
	unsigned long old_end = old_addr + len;
	pte_t *src_pte, *dst_pte;
	pgd_t *pgd;
	pud_t *pud;
	int ret = 0;

	lockdep_assert_held_write(&mm->mmap_lock);
	hugetlb_vma_lock_write(vma);
	i_mmap_lock_write(mapping);
	site_enter(SITE_UNSHARER, "move_hugetlb_page_tables");
	for (; old_addr < old_end; old_addr += HPAGE_SIZE,
				   new_addr += HPAGE_SIZE) {
		src_pte = hugetlb_walk(vma, old_addr, HPAGE_SIZE);
		if (!src_pte) {
			new_addr += pud_last_hpage(old_addr) - old_addr;
			old_addr = pud_last_hpage(old_addr);
			continue;
		}
		if (huge_pte_none(huge_ptep_get(src_pte)))
			continue;
		if (huge_pmd_unshare(mm, vma, old_addr, src_pte)) {
			new_addr += pud_last_hpage(old_addr) - old_addr;
			old_addr = pud_last_hpage(old_addr);
			continue;
		}
		/*
		 * The destination never shares here: sharing would take
		 * i_mmap_rwsem, which this path holds for write.  The moved
		 * range can share again at its next fault once it is
		 * unshared or empty.
		 */
		pgd = mm->pgd + pgd_index(new_addr);
		pud = pud_alloc(mm, pgd, new_addr);
		dst_pte = pud ? (pte_t *)pmd_alloc(mm, pud, new_addr) : NULL;
		if (!dst_pte) {
			ret = -ENOMEM;
			break;
		}
		move_huge_pte(src_pte, dst_pte);
	}
	site_exit();
	i_mmap_unlock_write(mapping);
	hugetlb_vma_unlock_write(vma);
	return ret;
}

/**
 * copy_hugetlb_page_range() - fork's copy of a private mapping's entries:
 * both sides write-protected, so that the first write copies.
 * Context: mmap_lock of both mms, for write.
 * Return: 0 or -ENOMEM.
 */
int copy_hugetlb_page_range(struct hw_mm *dst, struct hw_mm *src,
			    struct vm_area_struct *dst_vma,
			    struct vm_area_struct *src_vma)
{
	unsigned long addr;
	struct folio *folio;
	spinlock_t *src_ptl, *dst_ptl;
	pte_t *src_pte, *dst_pte, pte;

	BUG_ON(src_vma->vm_flags & VM_MAYSHARE);
	lockdep_assert_held_write(&src->mmap_lock);
	lockdep_assert_held_write(&dst->mmap_lock);
	for (addr = src_vma->vm_start; addr < src_vma->vm_end;
	     addr += HPAGE_SIZE) {
		src_pte = huge_pte_offset(src, addr, HPAGE_SIZE);
		if (!src_pte) {
			addr = pud_last_hpage(addr);
			continue;
		}
		if (huge_pte_none(huge_ptep_get(src_pte)))
			continue;
		dst_pte = huge_pte_alloc(dst, dst_vma, addr, HPAGE_SIZE);
		if (!dst_pte)
			return -ENOMEM;
		src_ptl = huge_pte_lock(src_pte);
		dst_ptl = huge_pte_lockptr(dst_pte);
		spin_lock_nested(dst_ptl, 1);
		pte = huge_ptep_get(src_pte);
		if (pte_present(pte)) {
			pte = huge_pte_wrprotect(pte);
			set_huge_pte_at(src_pte, pte);
			set_huge_pte_at(dst_pte, pte);
			folio = pfn_to_folio(src->sys, pte_pfn(pte));
			folio_get(folio);
			atomic_inc(&folio->_mapcount);
			atomic_long_inc(&dst->hugetlb_usage);
		} else if (is_hugetlb_migration_entry(pte)) {
			/*
			 * A migration of the file page began after vma_link()
			 * put the child's VMA in i_mmap: copy the entry (it
			 * holds no reference), and remove_migration_ptes()
			 * will find it in both.  Neither side stays writable.
			 */
			if (is_writable_migration_entry(pte)) {
				pte = make_readable_migration_entry(pte);
				set_huge_pte_at(src_pte, pte);
			}
			set_huge_pte_at(dst_pte, pte);
		}
		spin_unlock(dst_ptl);
		spin_unlock(src_ptl);
	}
	return 0;
}
