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
/*
 * The caller can take VM_FAULT_RETRY: the fault may drop mmap_lock and
 * sleep (a userfault), and the caller then takes mmap_lock again, looks
 * the VMA up again and retries with FAULT_FLAG_TRIED.  With
 * FAULT_FLAG_RETRY_NOWAIT too, the fault returns VM_FAULT_RETRY without
 * sleeping and with mmap_lock still held (FOLL_NOWAIT).
 */
#define FAULT_FLAG_ALLOW_RETRY	0x4
#define FAULT_FLAG_RETRY_NOWAIT	0x8
#define FAULT_FLAG_TRIED	0x20

/* vm_fault_t bits returned by hugetlb_fault() */
#define VM_FAULT_OOM		0x1
#define VM_FAULT_SIGBUS		0x2
#define VM_FAULT_SIGSEGV	0x4
#define VM_FAULT_ERROR	(VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV)
/* Not done: retry.  mmap_lock was dropped unless FAULT_FLAG_RETRY_NOWAIT;
 * the VMA may be gone, so do not touch it. */
#define VM_FAULT_RETRY		0x400

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
bool uffd_disable_huge_pmd_share(struct vm_area_struct *vma);
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
int vfs_fallocate(struct hw_file *file, int mode, uint64_t off, uint64_t len);
void vma_interval_tree_insert_after(struct vm_area_struct *vma,
				    struct vm_area_struct *prev,
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

/* ---- gup.c, gup_fast.c -------------------------------------------------- */
/* gup_flags: the public HW_FOLL_* bits under their kernel names. */
#define FOLL_WRITE	HW_FOLL_WRITE
#define FOLL_NOWAIT	HW_FOLL_NOWAIT
#define FOLL_FAST_ONLY	HW_FOLL_FAST_ONLY
#define FOLL_TRIED	0x100	/* internal: a retry after VM_FAULT_RETRY */

/*
 * struct hw_page is the model's struct page: a huge page's head page,
 * which is its folio.  Convert only with these two.
 */
static inline struct hw_page *folio_head_page(struct folio *folio)
{
	return (struct hw_page *)folio;
}

static inline struct folio *page_folio(const struct hw_page *page)
{
	return (struct folio *)page;
}

/* faultin_page_range() for MADV_POPULATE_*: Context: mmap_lock (read). */
long faultin_page_range(struct hw_mm *mm, unsigned long start,
			unsigned long end, bool write);
long follow_hugetlb_page(struct vm_area_struct *vma, struct hw_page **pages,
			 unsigned long *position, unsigned long *nr_pages,
			 long i, unsigned int flags, int *locked);
/* Context: mmap_lock (read).  Return: the folio, referenced, or NULL. */
struct folio *hugetlb_follow_page_mask(struct vm_area_struct *vma,
				       unsigned long address,
				       unsigned int flags, pte_t *entry);
/*
 * Context: mmap_lock of @mm (read); with @locked, it may be dropped (to
 * sleep in a userfault) and *@locked then says whether it is held.
 */
long get_user_pages_remote(struct hw_mm *mm, unsigned long start,
			   unsigned long nr_pages, unsigned int gup_flags,
			   struct hw_page **pages, int *locked);
void unpin_user_pages(struct hw_page **pages, unsigned long npages);
/* The lockless walk alone.  Context: no lock of @mm needed. */
unsigned long gup_fast(struct hw_mm *mm, unsigned long start,
		       unsigned long nr_pages, unsigned int gup_flags,
		       struct hw_page **pages);
/* Context: no lock held; takes @mm's mmap_lock for the slow path. */
long get_user_pages_fast(struct hw_mm *mm, unsigned long start,
			 unsigned long nr_pages, unsigned int gup_flags,
			 struct hw_page **pages, unsigned long *nr_fast);

/* ---- pagewalk.c: walk_page_range() and its hugetlb walker -------------- */
struct mm_walk;

/* The callbacks of a walk (include/linux/pagewalk.h); 0 goes on. */
struct mm_walk_ops {
	/*
	 * A huge page's entry, @pte (not NULL), for [addr, next) inside it.
	 * Context: inside the walk_hugetlb_range call site: what the
	 * policy gives it, so it must not sleep (the RFC: RCU).
	 */
	int (*hugetlb_entry)(pte_t *pte, unsigned long hmask,
			     unsigned long addr, unsigned long next,
			     struct mm_walk *walk);
	/*
	 * [addr, next) has no table (depth -1: the kernel's "unknown"),
	 * or, with walk->vma NULL, no VMA at all.
	 */
	int (*pte_hole)(unsigned long addr, unsigned long next, int depth,
			struct mm_walk *walk);
};

struct mm_walk {
	const struct mm_walk_ops *ops;
	struct hw_mm *mm;
	struct vm_area_struct *vma;	/* NULL in a hole between VMAs */
	void *private;
};

/*
 * walk_page_range() - call @ops for [start, end) of @mm, VMA by VMA and
 * hole by hole.  Context: mmap_lock (read).  Return: 0, or the first
 * non-zero value a callback returned.
 */
int walk_page_range(struct hw_mm *mm, unsigned long start, unsigned long end,
		    const struct mm_walk_ops *ops, void *private);

/* ---- rmap.c ------------------------------------------------------------- */
/* page_vma_mapped_walk() flag: find a migration entry, not a page. */
#define PVMW_MIGRATION	0x2

/*
 * struct page_vma_mapped_walk - where does @vma map the folio of @pfn
 * at @address?  page_vma_mapped_walk() returns true with @pte and its
 * @ptl held (and the call site's protection taken) for each mapping,
 * false when there is none left, everything dropped.  A caller that
 * stops early calls page_vma_mapped_walk_done().
 */
struct page_vma_mapped_walk {
	unsigned long pfn;
	struct vm_area_struct *vma;
	unsigned long address;
	unsigned int flags;
	pte_t *pte;
	spinlock_t *ptl;
	unsigned int taken;		/* hugetlb_walk_begin()'s mask */
	bool in_site;
};

/* Context: i_mmap_rwsem of the VMA's file (the rmap walk's). */
bool page_vma_mapped_walk(struct page_vma_mapped_walk *pvmw);
void page_vma_mapped_walk_done(struct page_vma_mapped_walk *pvmw);
/* Context: folio locked; i_mmap_rwsem of its mapping held for write. */
bool try_to_unmap(struct folio *folio);
void try_to_migrate(struct folio *folio);
/*
 * Context: mmap_lock (read), nothing else.  Return: how many of
 * @folio's mappings had been accessed since the last call (their
 * accessed bits are cleared).
 */
int folio_referenced(struct folio *folio, struct address_space *mapping);
/*
 * rmap_walk_locked() for a page-cache folio: call @rmap_one for every
 * VMA of @mapping that maps file page @folio->index, with the address
 * that maps it there, until it returns false.
 * Context: i_mmap_rwsem of @mapping.
 */
void rmap_walk_file_locked(struct folio *folio, struct address_space *mapping,
			   bool (*rmap_one)(struct folio *folio,
					    struct vm_area_struct *vma,
					    unsigned long addr, void *arg),
			   void *arg);

/* ---- migrate.c ---------------------------------------------------------- */
void migration_wq_init(struct hw_system *sys);
void migration_wq_exit(struct hw_system *sys);
/*
 * remove_migration_ptes() - replace @src's migration entries by entries
 * of @dst (@src itself when the migration failed).
 * Context: @src locked; i_mmap_rwsem of @mapping held for write.
 */
void remove_migration_ptes(struct address_space *mapping, struct folio *src,
			   struct folio *dst);
/*
 * unmap_and_move_huge_page() - migrate page-cache folio @src of
 * @mapping.  Context: mmap_lock (read); a reference on @src.
 * Return: 0, -EAGAIN (busy: retry), -ENOMEM (no free huge page).
 */
int unmap_and_move_huge_page(struct hw_system *sys,
			     struct address_space *mapping, struct folio *src);
/*
 * migration_entry_wait_huge() - a fault met a migration entry at @ptep
 * inside its call site's walk (@taken): end the walk and sleep until
 * the migration is over.  Context: mmap_lock (read); returns with only
 * that held.
 */
void migration_entry_wait_huge(struct vm_area_struct *vma, pte_t *ptep,
			       unsigned int taken);

/* ---- userfaultfd.c ------------------------------------------------------ */
/* Context: mmap_lock. */
static inline bool userfaultfd_missing(struct vm_area_struct *vma)
{
	return READ_ONCE(vma->vm_flags) & VM_UFFD_MISSING;
}
/*
 * hugetlb_handle_userfault() - hugetlb_no_page() found no page for a
 * VM_UFFD_MISSING VMA: hand the fault to the monitor.
 * Context: mmap_lock (read), the fault mutex of @idx, vma lock (read).
 * Return: VM_FAULT_RETRY with the fault mutex and the vma lock dropped,
 * and mmap_lock too unless FAULT_FLAG_RETRY_NOWAIT: the caller must not
 * touch @vma again; or VM_FAULT_SIGBUS (the fault cannot wait: no
 * FAULT_FLAG_ALLOW_RETRY) with every lock still held.
 */
unsigned int hugetlb_handle_userfault(struct vm_area_struct *vma,
				      unsigned long address, unsigned long idx,
				      unsigned int flags);
/* fork without UFFD_FEATURE_EVENT_FORK: the child's copy is unregistered. */
void dup_userfaultfd(struct vm_area_struct *new);

/* ---- report.c ----------------------------------------------------------- */
void report_walk_violation(struct vm_area_struct *vma);

#endif
