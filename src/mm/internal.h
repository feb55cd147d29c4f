/* SPDX-License-Identifier: MIT */
/*
 * Functions shared between the files of src/mm, grouped by the file that
 * defines them.  Kernel names throughout; "Context:" says which locks the
 * caller holds.
 */
#ifndef HW_MM_INTERNAL_H
#define HW_MM_INTERNAL_H

#include "mm/mm_types.h"

/* zap_flags of __unmap_hugepage_range() */
#define ZAP_FLAG_DROP_MARKER	0x1
#define ZAP_FLAG_UNMAP		0x2	/* final unmap: the VMA goes away */

/* fault flags */
#define FAULT_FLAG_WRITE	0x1
#define FAULT_FLAG_GUP		0x2	/* from get_user_pages */

/* vm_fault_t bits returned by hugetlb_fault() */
#define VM_FAULT_OOM		0x1
#define VM_FAULT_SIGBUS		0x2
#define VM_FAULT_SIGSEGV	0x4
#define VM_FAULT_ERROR	(VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV)

/* ---- pgtable.c: page-table pages, populate and free paths --------------- */
int pt_allocator_init(struct hw_system *sys);
void pt_allocator_exit(struct hw_system *sys);
pgd_t *pgd_alloc(struct hw_mm *mm);
void pgd_free(struct hw_mm *mm);
pud_t *pud_alloc(struct hw_mm *mm, pgd_t *pgd, unsigned long addr);
pmd_t *pmd_alloc(struct hw_mm *mm, pud_t *pud, unsigned long addr);
/* pmd_free_tlb(): free a PMD table the way the policy frees tables. */
void pmd_free_tlb(struct hw_mm *mm, struct ptdesc *pt);
void free_pgtables(struct hw_mm *mm, unsigned long start, unsigned long end,
		   unsigned long floor, unsigned long ceiling);

/* ---- hugetlb.c: allocate, share, unshare, walk -------------------------- */
pte_t *huge_pte_offset(struct hw_mm *mm, unsigned long addr, unsigned long sz);
pte_t *hugetlb_walk(struct vm_area_struct *vma, unsigned long addr,
		    unsigned long sz);
pte_t *huge_pte_alloc(struct hw_mm *mm, struct vm_area_struct *vma,
		      unsigned long addr, unsigned long sz);
bool want_pmd_share(struct vm_area_struct *vma, unsigned long addr);
unsigned long page_table_shareable(struct vm_area_struct *svma,
				   struct vm_area_struct *vma,
				   unsigned long addr, unsigned long idx);
pte_t *huge_pmd_share(struct hw_mm *mm, struct vm_area_struct *vma,
		      unsigned long addr, pud_t *pud);
int huge_pmd_unshare(struct hw_mm *mm, struct vm_area_struct *vma,
		     unsigned long addr, pte_t *ptep);
void hugetlb_unshare_pmds(struct vm_area_struct *vma, unsigned long start,
			  unsigned long end, bool take_locks);
void hugetlb_unshare_all_pmds(struct vm_area_struct *vma);
void hugetlb_split(struct vm_area_struct *vma, unsigned long addr);

/* ---- hugetlb_vma_lock.c ------------------------------------------------- */
bool __vma_shareable_lock(struct vm_area_struct *vma);
int hugetlb_vma_lock_alloc(struct vm_area_struct *vma);
void hugetlb_vma_lock_free(struct vm_area_struct *vma);
void hugetlb_vma_lock_read(struct vm_area_struct *vma);
void hugetlb_vma_unlock_read(struct vm_area_struct *vma);
void hugetlb_vma_lock_write(struct vm_area_struct *vma);
void hugetlb_vma_unlock_write(struct vm_area_struct *vma);
int hugetlb_vma_trylock_write(struct vm_area_struct *vma);
void hugetlb_vma_assert_locked(struct vm_area_struct *vma);
void hugetlb_vma_lock_release(struct hugetlb_vma_lock *vma_lock);
/* Final unmap: detach the lock so the VMA can no longer share. */
void __hugetlb_vma_unlock_write_free(struct vm_area_struct *vma);

/* ---- hugetlb_fault.c ---------------------------------------------------- */
unsigned int hugetlb_fault(struct hw_mm *mm, struct vm_area_struct *vma,
			   unsigned long address, unsigned int flags);
/* handle_mm_fault() with the access checks: 0 or VM_FAULT_* */
unsigned int handle_mm_fault(struct vm_area_struct *vma, unsigned long addr,
			     unsigned int flags);
unsigned long hugetlb_fault_mutex_hash(struct address_space *mapping,
				       unsigned long idx);

/* ---- hugetlb_unmap.c: the paths that unshare ---------------------------- */
void __unmap_hugepage_range(struct vm_area_struct *vma, unsigned long start,
			    unsigned long end, struct folio *ref_folio,
			    unsigned int zap_flags);
void unmap_hugepage_range(struct vm_area_struct *vma, unsigned long start,
			  unsigned long end, struct folio *ref_folio,
			  unsigned int zap_flags);
/* zap_page_range_single() for hugetlb: takes the vma lock and i_mmap. */
void hugetlb_zap_range(struct vm_area_struct *vma, unsigned long start,
		       unsigned long end, unsigned int zap_flags);
long hugetlb_change_protection(struct vm_area_struct *vma,
			       unsigned long start, unsigned long end,
			       unsigned long newflags);
int move_hugetlb_page_tables(struct vm_area_struct *vma,
			     struct vm_area_struct *new_vma,
			     unsigned long old_addr, unsigned long new_addr,
			     unsigned long len);
int copy_hugetlb_page_range(struct hw_mm *dst, struct hw_mm *src,
			    struct vm_area_struct *dst_vma,
			    struct vm_area_struct *src_vma);

/* ---- hugetlb_pool.c: the pool, folios, reservations --------------------- */
int hugetlb_pool_init(struct hw_system *sys, unsigned long nr);
void hugetlb_pool_exit(struct hw_system *sys);
unsigned long set_max_huge_pages(struct hw_system *sys, unsigned long nr);
/*
 * alloc_hugetlb_folio() - a folio for @addr in @vma, consuming the
 * reservation that covers it if any.  Return: the folio, refcount 1,
 * unlocked, tag 0; NULL when the pool cannot supply one (-> SIGBUS).
 */
struct folio *alloc_hugetlb_folio(struct vm_area_struct *vma,
				  unsigned long addr);
void folio_get(struct folio *folio);
void folio_put(struct folio *folio);
void folio_lock(struct folio *folio);
void folio_unlock(struct folio *folio);
static inline bool folio_mapped(struct folio *folio)
{
	return atomic_read(&folio->_mapcount) > 0;
}
struct resv_map *resv_map_alloc(void);
void resv_map_put(struct resv_map *resv);
long region_add(struct resv_map *resv, long f, long t);
long region_chg(struct resv_map *resv, long f, long t);
long region_del(struct resv_map *resv, long f, long t);
long region_count(struct resv_map *resv, long f, long t);
/* Context: mmap_lock (write).  Return: 0 or -ENOMEM. */
int hugetlb_reserve_pages(struct hw_file *inode, long from, long to,
			  struct vm_area_struct *vma, unsigned long vm_flags);
void hugetlb_unreserve_pages(struct hw_file *inode, long start, long end,
			     long freed);
/* hugetlb_vm_op_open/close: a VMA copy takes, a VMA going gives back. */
void hugetlb_vm_op_open(struct vm_area_struct *vma);
void hugetlb_vm_op_close(struct vm_area_struct *vma);
/*
 * A folio from alloc_hugetlb_folio() that will not be instantiated (error
 * or race with truncate): fix the reservation map before folio_put().
 */
void restore_reserve_on_error(struct vm_area_struct *vma, unsigned long addr,
			      struct folio *folio);
/*
 * An entry mapping an anonymous folio of a private owner VMA was cleared:
 * the reservation goes back to the VMA (Linux 6.8+).  Context: after the
 * ptl is dropped, before folio_put().
 */
void hugetlb_unmap_restore_reserve(struct vm_area_struct *vma,
				   unsigned long addr, struct folio *folio);

/* ---- hugetlbfs.c: inodes, page cache, i_mmap, punch and truncate -------- */
void i_mmap_lock_read(struct address_space *mapping);
void i_mmap_unlock_read(struct address_space *mapping);
void i_mmap_lock_write(struct address_space *mapping);
void i_mmap_unlock_write(struct address_space *mapping);
void i_mmap_assert_write_locked(struct address_space *mapping);
void i_mmap_assert_locked(struct address_space *mapping);
/* Context: i_mmap_rwsem (write). */
void vma_interval_tree_insert(struct vm_area_struct *vma,
			      struct address_space *mapping);
void vma_interval_tree_remove(struct vm_area_struct *vma,
			      struct address_space *mapping);
/* VMAs of @mapping mapping any page offset in [first, last] (PAGE units).
 * Context: i_mmap_rwsem. */
#define vma_interval_tree_foreach(vma, mapping, first, last)		\
	list_for_each_entry(vma, &(mapping)->i_mmap, shared)		\
		if ((vma)->vm_pgoff <= (last) &&			\
		    (vma)->vm_pgoff + (((vma)->vm_end - (vma)->vm_start) \
				       >> PAGE_SHIFT) - 1 >= (first))
/* Locked and referenced, or NULL. */
struct folio *filemap_lock_hugetlb_folio(struct address_space *mapping,
					 unsigned long idx);
/* Referenced (not locked), or NULL. */
struct folio *filemap_get_hugetlb_folio(struct address_space *mapping,
					unsigned long idx);
/*
 * A file holds at most HUGETLBFS_MAX_INDEX huge pages (s_maxbytes of the
 * model: three levels of 512-entry page-cache tables).
 */
#define HUGETLBFS_MAX_INDEX	(1UL << 27)
#define HUGETLBFS_MAXBYTES	(HUGETLBFS_MAX_INDEX << HPAGE_SHIFT)
/*
 * Takes the page cache's reference and clears restore_reserve; the folio
 * stays unlocked.  Return: 0, -EEXIST, -EFBIG (idx too large), -ENOMEM.
 */
int hugetlb_add_to_page_cache(struct folio *folio,
			      struct address_space *mapping,
			      unsigned long idx);
/* Migration: @new takes @old's place in the page cache, with the
 * cache's reference.  Context: fault mutex, @old locked. */
void hugetlb_replace_page_cache_folio(struct address_space *mapping,
				      struct folio *old, struct folio *new);
bool hugetlb_vma_maps_page(struct vm_area_struct *vma, unsigned long addr,
			   struct folio *folio);
int hugetlbfs_punch_hole(struct hw_file *inode, uint64_t off, uint64_t len);
void file_get(struct hw_file *file);
void file_put(struct hw_file *file);
/* Context: folio lock; the caller holds a reference besides the cache's. */
void hugetlb_delete_from_page_cache(struct folio *folio);

/* ---- mmap.c: address spaces and VMAs ------------------------------------ */
struct vm_area_struct *find_vma(struct hw_mm *mm, unsigned long addr);
struct vm_area_struct *vma_lookup(struct hw_mm *mm, unsigned long addr);
struct vm_area_struct *vma_next(struct vm_area_struct *vma);
/* Split VMAs so that [start, end) is made of whole VMAs. */
int split_range(struct hw_mm *mm, unsigned long start, unsigned long end);
/* Is every page of [start, end) mapped?  Context: mmap_lock. */
bool range_fully_mapped(struct hw_mm *mm, unsigned long start,
			unsigned long end);
int __split_vma(struct vm_area_struct *vma, unsigned long addr, int new_below);
void exit_mmap(struct hw_mm *mm);

/* ---- gup.c -------------------------------------------------------------- */
/* faultin_page_range() for MADV_POPULATE_*: Context: mmap_lock (read). */
long faultin_page_range(struct hw_mm *mm, unsigned long start,
			unsigned long end, bool write);

/* ---- rmap.c ------------------------------------------------------------- */
bool try_to_unmap(struct folio *folio);
int migrate_hugetlb_folio(struct hw_system *sys,
			  struct address_space *mapping, struct folio *folio);

/* ---- report.c ----------------------------------------------------------- */
void report_walk_violation(struct vm_area_struct *vma);

#endif
