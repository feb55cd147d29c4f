/* SPDX-License-Identifier: MIT */
/*
 * The objects of the subsystem, named as in the kernel: the system (with
 * its struct hstate: one huge page size, 2 MiB), folios, hugetlbfs inodes
 * and their address_space, mm_struct, vm_area_struct, the hugetlb vma
 * lock and reservation maps.
 *
 * Which lock guards what is written beside each field.
 */
#ifndef HW_MM_TYPES_H
#define HW_MM_TYPES_H

#include <stdint.h>

#include <hugewalk/hugewalk.h>

#include "sync/sync.h"
#include "mm/list.h"
#include "mm/pgtable.h"
#include "mm/policy.h"

/* ---- folios: the huge pages of the pool --------------------------------- */

enum folio_state {
	FOLIO_ABSENT,	/* not part of the pool (pool shrunk) */
	FOLIO_FREE,	/* on hstate free list, refcount 0 */
	FOLIO_INUSE,
};

struct address_space;

struct folio {
	unsigned long pfn;		/* of its head page: index << 9 */
	int state;			/* hugetlb_lock */
	atomic_t _refcount;
	atomic_t _mapcount;		/* huge ptes mapping it; an entry in
					 * a shared PMD table counts once */
	struct mutex lock;		/* PG_locked */
	struct address_space *mapping;	/* page cache owner; NULL if anon */
	unsigned long index;		/* huge page index in the file */
	bool anon;			/* private copy (MAP_PRIVATE) */
	bool restore_reserve;		/* HPageRestoreReserve */
	uint64_t tag;			/* the page's data, READ/WRITE_ONCE */
	/*
	 * Migration entries may point at it: set and cleared by the
	 * migrator under the folio lock, read (acquire) by the faults
	 * that sleep in migration_entry_wait_huge() (the kernel's
	 * waiters sleep on PG_locked instead).
	 */
	bool migrating;
	struct list_head lru;		/* hstate free list: hugetlb_lock */
};

#define FOLIO_CHUNK_SHIFT	10
#define FOLIO_CHUNK		(1UL << FOLIO_CHUNK_SHIFT)
#define FOLIO_MAX_CHUNKS	1024	/* 1M huge pages: 2 TiB */

/*
 * struct hstate - the pool of 2 MiB pages; counters as in
 * /sys/kernel/mm/hugepages/hugepages-2048kB.
 */
struct hstate {
	spinlock_t hugetlb_lock;
	unsigned long nr_huge_pages;	/* HugePages_Total */
	unsigned long free_huge_pages;	/* HugePages_Free */
	unsigned long resv_huge_pages;	/* HugePages_Rsvd */
	unsigned long resv_debt;	/* see hugetlb_acct_memory() */
	unsigned long nr_folios;	/* folio structs ever made */
	struct list_head hugepage_freelist;
	/* pfn_to_folio(): chunk pointers published with release order */
	struct folio *chunks[FOLIO_MAX_CHUNKS];
};

/* ---- reservation maps --------------------------------------------------- */

/* A half-open range [from, to) of huge page indices. */
struct file_region {
	unsigned long from, to;
};

/*
 * struct resv_map - for a shared mapping it hangs off the inode and holds
 * the indices that are reserved or instantiated; for a private mapping it
 * hangs off the VMA that owns the reservation and holds the indices whose
 * reservation was consumed (the kernel's inverted sense).
 */
struct resv_map {
	spinlock_t lock;
	struct file_region *regions;	/* sorted, disjoint, not adjacent */
	int nr, cap;
	atomic_t refs;
};

/* ---- hugetlbfs inodes --------------------------------------------------- */

struct vm_area_struct;

struct address_space {
	struct hw_file *host;
	/* i_mmap: VMAs mapping this file; a list standing for the
	 * interval tree, walked with vma_interval_tree_foreach(). */
	struct rw_semaphore i_mmap_rwsem;
	struct list_head i_mmap;
	/* The page cache: huge page index -> folio (i_pages lock). */
	spinlock_t i_pages_lock;
	struct folio ****i_pages;	/* [idx >> 18][(idx >> 9) & 511][idx & 511] */
	unsigned long nrpages;
};

/* struct hw_file is the inode (and its one open file) of hugetlbfs. */
struct hw_file {
	char name[32];
	struct hw_system *sys;
	struct rw_semaphore i_rwsem;	/* inode_lock() */
	uint64_t i_size;		/* READ_ONCE; changed under i_rwsem */
	struct address_space i_data;
	struct resv_map *resv_map;	/* shared reservations */
	atomic_t refs;			/* open fd + one per VMA */
	bool open;			/* the fd is not closed yet */
	struct list_head list;		/* sys->files: sys->lists_lock */
};

/* ---- address spaces ----------------------------------------------------- */

#define VM_READ		0x00000001UL
#define VM_WRITE	0x00000002UL
#define VM_EXEC		0x00000004UL
#define VM_SHARED	0x00000008UL
#define VM_MAYREAD	0x00000010UL
#define VM_MAYWRITE	0x00000020UL
#define VM_MAYEXEC	0x00000040UL
#define VM_MAYSHARE	0x00000080UL
#define VM_UFFD_MISSING	0x00000200UL
#define VM_UFFD_WP	0x00001000UL
#define VM_LOCKED	0x00002000UL
#define VM_NORESERVE	0x00200000UL
#define VM_HUGETLB	0x00400000UL
#define VM_LOCKED_MASK	VM_LOCKED

/*
 * struct hugetlb_vma_lock - hung off vm_private_data of each shareable
 * hugetlb VMA.  Refcounted so that a task that found the VMA through
 * rmap can wait for the lock after dropping i_mmap_rwsem, and then see
 * (vma == NULL) that the VMA went away meanwhile.
 */
struct hugetlb_vma_lock {
	atomic_t refs;
	struct rw_semaphore rw_sema;
	struct vm_area_struct *vma;	/* NULL once the VMA is torn down */
};

struct vm_area_struct {
	struct hw_mm *vm_mm;
	unsigned long vm_start, vm_end;	/* changed under mmap_lock (write)
					 * and, if in i_mmap, i_mmap_rwsem */
	unsigned long vm_flags;
	unsigned long vm_pgoff;		/* in PAGE_SIZE units */
	struct hw_file *vm_file;
	/* Shareable VMAs: the hugetlb_vma_lock, or NULL once torn down. */
	void *vm_private_data;
	/* Private VMAs: the reservation map, if this VMA owns it. */
	struct resv_map *resv;
	bool anon_vma;			/* holds anonymous (COW) folios */
	/*
	 * HPAGE_RESV_UNMAPPED: the owner of the private reservation took a
	 * page back from this (child's) VMA to copy on write: a fault here
	 * now gets SIGBUS rather than a page that lost the fork's data.
	 */
	bool resv_unmapped;
	/* vm_userfaultfd_ctx: where its uffd faults go; mmap_lock */
	struct hw_uffd *vm_uffd_ctx;
	struct list_head vm_list;	/* mm->mmap, sorted: mmap_lock */
	struct list_head shared;	/* mapping->i_mmap: i_mmap_rwsem */
};

struct hw_mm {
	char name[24];
	struct hw_system *sys;
	struct rw_semaphore mmap_lock;
	spinlock_t page_table_lock;	/* populating PGD and PUD entries */
	pgd_t *pgd;
	struct list_head mmap;		/* VMAs by address: mmap_lock */
	atomic_long_t nr_pmds;		/* mm_inc_nr_pmds() */
	atomic_long_t minflt;		/* faults taken by its tasks */
	atomic_long_t hugetlb_usage;	/* huge pages mapped */
	struct list_head list;		/* sys->mms: sys->lists_lock */
};

/* ---- the system ---------------------------------------------------------- */

#define NUM_FAULT_MUTEXES	64
/* Wait queues of faults waiting out a migration, hashed by pfn. */
#define MIGRATION_WQ_BITS	6

struct pt_allocator {
	struct mutex lock;
	struct list_head quarantine;	/* freed, poisoned, FIFO */
	struct list_head free;		/* reusable */
	struct list_head all;
	unsigned long nr_quarantined, quarantine_max;
};

struct hw_system {
	struct hstate hstate;
	const struct hw_policy *policy;
	int pt_free_override;		/* enum pt_free_mode + 1, or 0 */
	unsigned long quirks;		/* 1 << enum hw_quirk */
	struct mutex fault_mutex_table[NUM_FAULT_MUTEXES];
	struct wait_queue_head migration_wq[1 << MIGRATION_WQ_BITS];
	atomic_long_t nr_migration_waits;	/* faults that slept on one */
	struct pt_allocator pta;
	atomic_long_t nr_pagetables;	/* NR_PAGETABLE */
	atomic_long_t nr_shared_pmds;	/* tables with pt_share_count > 0 */
	struct mutex lists_lock;
	struct list_head mms, files;
	struct hw_report_sink sink;
	atomic_t nr_tasks;
};

/* Lock classes (sync/lock.h ranks). */
extern const struct lock_class mmap_lock_class, page_table_lock_class,
	ptl_class, fault_mutex_class, vma_lock_class, i_mmap_class,
	i_rwsem_class, folio_lock_class, hugetlb_lock_class, i_pages_class,
	resv_map_class, pta_class, lists_class;

static inline struct hstate *hstate_sys(struct hw_system *sys)
{
	return &sys->hstate;
}

static inline struct folio *pfn_to_folio(struct hw_system *sys,
					 unsigned long pfn)
{
	unsigned long idx = pfn >> (PMD_SHIFT - PAGE_SHIFT);
	struct folio *chunk;

	chunk = smp_load_acquire(&sys->hstate.chunks[idx >> FOLIO_CHUNK_SHIFT]);
	BUG_ON(!chunk);
	return &chunk[idx & (FOLIO_CHUNK - 1)];
}

static inline bool is_vm_hugetlb_page(const struct vm_area_struct *vma)
{
	return vma->vm_flags & VM_HUGETLB;
}

static inline struct address_space *vma_mapping(struct vm_area_struct *vma)
{
	return &vma->vm_file->i_data;
}

/* The huge page index in the file of @addr inside @vma. */
static inline unsigned long vma_hugecache_offset(struct vm_area_struct *vma,
						 unsigned long addr)
{
	return ((addr - vma->vm_start) >> HPAGE_SHIFT) +
	       (vma->vm_pgoff >> (HPAGE_SHIFT - PAGE_SHIFT));
}

static inline bool range_in_vma(struct vm_area_struct *vma,
				unsigned long start, unsigned long end)
{
	return vma && vma->vm_start <= start && end <= vma->vm_end;
}

#endif
