/* SPDX-License-Identifier: MIT */
/*
 * x86-64 page-table geometry, entry formats and accessors.
 *
 * Levels PGD -> PUD -> PMD (P4D folded).  A PMD-level entry of a hugetlb
 * mapping is a "huge pte" (hugetlb code uses pte_t * for it, as the
 * kernel does).  Entries are 64-bit words read and written only through
 * the accessors below, each of which first checks that the table holding
 * the entry is alive (pt_check()), so that a walker that touches a freed
 * table is reported like KASAN would.
 *
 * Table entries hold the table's address; huge ptes hold a pfn, which
 * names a folio of the system's huge page pool (pfn_to_folio()).
 */
#ifndef HW_MM_PGTABLE_H
#define HW_MM_PGTABLE_H

#include <stdint.h>

#include "sync/sync.h"
#include "mm/list.h"

#define PAGE_SHIFT	12
#define PMD_SHIFT	21
#define PUD_SHIFT	30
#define PGDIR_SHIFT	39
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PMD_SIZE	(1UL << PMD_SHIFT)
#define PUD_SIZE	(1UL << PUD_SHIFT)
#define PGDIR_SIZE	(1UL << PGDIR_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#define PMD_MASK	(~(PMD_SIZE - 1))
#define PUD_MASK	(~(PUD_SIZE - 1))
#define PGDIR_MASK	(~(PGDIR_SIZE - 1))
#define PTRS_PER_PGD	512
#define PTRS_PER_PUD	512
#define PTRS_PER_PMD	512
#define TASK_SIZE	(1UL << 47)

#define HPAGE_SHIFT	PMD_SHIFT
#define HPAGE_SIZE	PMD_SIZE
#define HPAGE_MASK	PMD_MASK
#define HPAGE_PMD_NR	(1UL << (PMD_SHIFT - PAGE_SHIFT))

/* Entry bits, as on x86. */
#define _PAGE_PRESENT	(1UL << 0)
#define _PAGE_RW	(1UL << 1)
#define _PAGE_USER	(1UL << 2)
#define _PAGE_ACCESSED	(1UL << 5)
#define _PAGE_DIRTY	(1UL << 6)
#define _PAGE_PSE	(1UL << 7)	/* a huge page, not a table */
#define _PAGE_PROTNONE	(1UL << 8)	/* PROT_NONE: mapped, not accessible */
#define _PAGE_SPECIAL	(1UL << 9)	/* software: migration entry */
#define _PAGE_TABLE	(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | \
			 _PAGE_ACCESSED | _PAGE_DIRTY)
#define PTE_PFN_MASK	(((1UL << 52) - 1) & PAGE_MASK)

typedef struct { uint64_t pgd; } pgd_t;
typedef struct { uint64_t pud; } pud_t;
typedef struct { uint64_t pmd; } pmd_t;
typedef struct { uint64_t pte; } pte_t;	/* a huge pte: a PMD slot */

struct hw_mm;
struct hw_system;

enum pt_level { PT_PGD = 1, PT_PUD, PT_PMD };

enum pt_state {
	PT_LIVE = 1,	/* in use */
	PT_FREED,	/* freed, in quarantine, poisoned */
	PT_FREE,	/* out of quarantine, may be handed out again */
};

/*
 * struct ptdesc - what the kernel keeps in struct page for a page table.
 * It sits in the 4 KiB after the table itself, so that virt_to_ptdesc()
 * is an address computation and stays valid after the table is freed
 * (table pages are never returned to libc before the system goes).
 */
struct ptdesc {
	enum pt_level pt_level;
	int pt_state;			/* enum pt_state, READ_ONCE */
	/*
	 * pt_share_count: how many more mms than one map this PMD table
	 * (0: not shared).  Kept apart from any refcount: CVE-2024-57883.
	 */
	atomic_t pt_share_count;
	spinlock_t ptl;			/* split PMD lock */
	unsigned long generation;	/* bumped each time it is reused */
	struct hw_system *sys;
	/* Who allocated and who freed it, for reports. */
	char alloc_task[24];
	const char *alloc_fn;
	char free_task[24];
	const char *free_fn;
	const char *free_site;
	struct hw_rcu_head rcu;
	struct list_head lru;		/* quarantine or free list */
	struct list_head all;		/* every table ever made */
};

#define PT_ALLOC_ALIGN	(2 * PAGE_SIZE)

static inline struct ptdesc *virt_to_ptdesc(const void *p)
{
	return (struct ptdesc *)(((uintptr_t)p & PAGE_MASK) + PAGE_SIZE);
}

static inline void *ptdesc_address(const struct ptdesc *pt)
{
	return (void *)((uintptr_t)pt - PAGE_SIZE);
}

/*
 * pt_check() - the KASAN check in every accessor: the table holding @p
 * must be alive.  Reports (report.c) name the current call site, the
 * access, and the task and function that freed the table.
 */
void pt_bad_access(const void *p, struct ptdesc *pt, bool write);

static inline void pt_check(const void *p, bool write)
{
	struct ptdesc *pt = virt_to_ptdesc(p);

	/* The explorer may switch tasks before any entry access. */
	hw_sched_point(write ? SCHED_PT_WRITE : SCHED_PT_READ, p,
		       pt->pt_level);
	if (unlikely(READ_ONCE(pt->pt_state) != PT_LIVE))
		pt_bad_access(p, pt, write);
}

/* ---- indices ------------------------------------------------------------ */

static inline unsigned long pgd_index(unsigned long a)
{
	return (a >> PGDIR_SHIFT) & (PTRS_PER_PGD - 1);
}

static inline unsigned long pud_index(unsigned long a)
{
	return (a >> PUD_SHIFT) & (PTRS_PER_PUD - 1);
}

static inline unsigned long pmd_index(unsigned long a)
{
	return (a >> PMD_SHIFT) & (PTRS_PER_PMD - 1);
}

/* ---- entry accessors ---------------------------------------------------- */

/*
 * Upper entries are read with acquire order, C11's spelling of the
 * address dependency READ_ONCE() gives the kernel: it pairs with the
 * release in pgd_populate()/pud_populate(), so a walker that finds a
 * new table sees it zeroed and its descriptor initialised.
 */
static inline pgd_t pgdp_get(pgd_t *p)
{
	pt_check(p, false);
	return (pgd_t){ __atomic_load_n(&p->pgd, __ATOMIC_ACQUIRE) };
}

static inline pud_t pudp_get(pud_t *p)
{
	pt_check(p, false);
	return (pud_t){ __atomic_load_n(&p->pud, __ATOMIC_ACQUIRE) };
}

static inline pmd_t pmdp_get(pmd_t *p)
{
	pt_check(p, false);
	return (pmd_t){ READ_ONCE(p->pmd) };
}

/*
 * A huge pte names a folio that lockless walkers (pagemap, GUP-fast) read
 * without the ptl: acquire here pairs with the release in
 * set_huge_pte_at(), C11's spelling of the kernel's address dependency
 * from the entry to the struct page it names, so a walker that finds an
 * entry sees the folio as it was set up before being mapped.
 */
static inline pte_t huge_ptep_get(pte_t *p)
{
	pt_check(p, false);
	return (pte_t){ __atomic_load_n(&p->pte, __ATOMIC_ACQUIRE) };
}

static inline void set_pgd(pgd_t *p, pgd_t v)
{
	pt_check(p, true);
	WRITE_ONCE(p->pgd, v.pgd);
}

static inline void set_pud(pud_t *p, pud_t v)
{
	pt_check(p, true);
	WRITE_ONCE(p->pud, v.pud);
}

/* Publish a new table: pairs with the acquire in pgdp_get(). */
static inline void pgd_populate(pgd_t *p, void *table)
{
	pt_check(p, true);
	__atomic_store_n(&p->pgd, (uintptr_t)table | _PAGE_TABLE,
			 __ATOMIC_RELEASE);
}

/* Publish a PMD table, new or shared: pairs with pudp_get(). */
static inline void pud_populate(pud_t *p, void *table)
{
	pt_check(p, true);
	__atomic_store_n(&p->pud, (uintptr_t)table | _PAGE_TABLE,
			 __ATOMIC_RELEASE);
}

static inline void pud_clear(pud_t *p)
{
	set_pud(p, (pud_t){ 0 });
}

/*
 * Caller holds the ptl of the table that holds @p.  Release: pairs with
 * the acquire in huge_ptep_get() (the folio's set-up before its entry).
 */
static inline void set_huge_pte_at(pte_t *p, pte_t v)
{
	pt_check(p, true);
	__atomic_store_n(&p->pte, v.pte, __ATOMIC_RELEASE);
}

static inline pte_t huge_ptep_get_and_clear(pte_t *p)
{
	pte_t old;

	pt_check(p, true);
	old.pte = __atomic_exchange_n(&p->pte, 0, __ATOMIC_RELAXED);
	return old;
}

static inline bool pgd_none(pgd_t e) { return e.pgd == 0; }
static inline bool pud_none(pud_t e) { return e.pud == 0; }
static inline bool pmd_none(pmd_t e) { return e.pmd == 0; }
static inline bool huge_pte_none(pte_t e) { return e.pte == 0; }
static inline bool pud_present(pud_t e) { return e.pud & _PAGE_PRESENT; }
/* As on x86, a PROT_NONE entry still maps its page: it is "present". */
static inline bool pte_present(pte_t e)
{
	return e.pte & (_PAGE_PRESENT | _PAGE_PROTNONE);
}

static inline bool pte_protnone(pte_t e)
{
	return (e.pte & (_PAGE_PRESENT | _PAGE_PROTNONE)) == _PAGE_PROTNONE;
}
static inline bool huge_pte_write(pte_t e) { return e.pte & _PAGE_RW; }
static inline bool huge_pte_dirty(pte_t e) { return e.pte & _PAGE_DIRTY; }
static inline unsigned long pte_pfn(pte_t e)
{
	return (e.pte & PTE_PFN_MASK) >> PAGE_SHIFT;
}

/* The table a PGD or PUD entry points to. */
static inline pud_t *pgd_pgtable(pgd_t e)
{
	return (pud_t *)(uintptr_t)(e.pgd & PTE_PFN_MASK);
}

static inline pmd_t *pud_pgtable(pud_t e)
{
	return (pmd_t *)(uintptr_t)(e.pud & PTE_PFN_MASK);
}

static inline pud_t *pud_offset(pgd_t *pgdp, unsigned long addr)
{
	return pgd_pgtable(pgdp_get(pgdp)) + pud_index(addr);
}

static inline pmd_t *pmd_offset(pud_t *pudp, unsigned long addr)
{
	return pud_pgtable(pudp_get(pudp)) + pmd_index(addr);
}

static inline pte_t huge_pte_wrprotect(pte_t e)
{
	return (pte_t){ e.pte & ~_PAGE_RW };
}

static inline pte_t huge_pte_mkwrite(pte_t e)
{
	return (pte_t){ e.pte | _PAGE_RW | _PAGE_DIRTY };
}

static inline pte_t pfn_huge_pte(unsigned long pfn, bool writable)
{
	return (pte_t){ (pfn << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_USER |
			_PAGE_PSE | _PAGE_ACCESSED |
			(writable ? _PAGE_RW | _PAGE_DIRTY : 0) };
}

/* The accessed ("young") bit: set by the CPU, cleared by rmap's aging. */
static inline bool huge_pte_young(pte_t e) { return e.pte & _PAGE_ACCESSED; }

static inline pte_t huge_pte_mkyoung(pte_t e)
{
	return (pte_t){ e.pte | _PAGE_ACCESSED };
}

static inline pte_t huge_pte_mkold(pte_t e)
{
	return (pte_t){ e.pte & ~_PAGE_ACCESSED };
}

/*
 * Migration entries.  While a folio migrates, each entry mapping it is
 * replaced by one of these: not present, _PAGE_SPECIAL set, the folio's
 * pfn where a present entry keeps it, and two software bits remembering
 * whether the mapping was writable and young, so that the entry of the
 * new folio is made alike (the kernel's writable and readable migration
 * swap entries; young since 6.1, "mm: remember young/dirty bit for page
 * migrations").  A migration entry holds no reference and no mapcount on
 * the folio.
 */
#define _PAGE_SWP_MIG_WRITE	(1UL << 10)	/* software */
#define _PAGE_SWP_MIG_YOUNG	(1UL << 11)	/* software */

static inline pte_t make_migration_entry(unsigned long pfn, bool writable,
					 bool young)
{
	return (pte_t){ (pfn << PAGE_SHIFT) | _PAGE_SPECIAL |
			(writable ? _PAGE_SWP_MIG_WRITE : 0) |
			(young ? _PAGE_SWP_MIG_YOUNG : 0) };
}

/* is_hugetlb_entry_migration() in the kernel. */
static inline bool is_hugetlb_migration_entry(pte_t e)
{
	return !(e.pte & _PAGE_PRESENT) && (e.pte & _PAGE_SPECIAL);
}

static inline bool is_writable_migration_entry(pte_t e)
{
	return is_hugetlb_migration_entry(e) && (e.pte & _PAGE_SWP_MIG_WRITE);
}

static inline bool is_migration_entry_young(pte_t e)
{
	return is_hugetlb_migration_entry(e) && (e.pte & _PAGE_SWP_MIG_YOUNG);
}

/* The same entry, no longer writable (mprotect, COW at fork). */
static inline pte_t make_readable_migration_entry(pte_t e)
{
	return (pte_t){ e.pte & ~_PAGE_SWP_MIG_WRITE };
}

/* The pfn a migration entry keeps: pfn_swap_entry_to_page(). */
static inline unsigned long migration_entry_pfn(pte_t e)
{
	return pte_pfn(e);
}

/* ---- tables: allocation and freeing (pgtable.c) ------------------------- */

struct ptdesc *pagetable_alloc(struct hw_system *sys, enum pt_level level);
void pagetable_dtor(struct ptdesc *pt);
void pagetable_free(struct ptdesc *pt);

/* Shared PMD tables: the share count (mm/hugetlb.c uses these). */
static inline void ptdesc_pmd_pts_inc(struct ptdesc *pt);
static inline void ptdesc_pmd_pts_dec(struct ptdesc *pt);
static inline int ptdesc_pmd_pts_count(struct ptdesc *pt)
{
	return atomic_read(&pt->pt_share_count);
}

static inline bool ptdesc_pmd_is_shared(struct ptdesc *pt)
{
	return ptdesc_pmd_pts_count(pt) > 0;
}

void pt_share_count_changed(struct ptdesc *pt, int old, int new);

static inline void ptdesc_pmd_pts_inc(struct ptdesc *pt)
{
	int n;

	hw_sched_point(SCHED_PT_SHARE, pt, 1);
	n = atomic_add_return(1, &pt->pt_share_count);

	pt_share_count_changed(pt, n - 1, n);
}

static inline void ptdesc_pmd_pts_dec(struct ptdesc *pt)
{
	int n;

	hw_sched_point(SCHED_PT_SHARE, pt, -1);
	n = atomic_add_return(-1, &pt->pt_share_count);

	BUG_ON(n < 0);
	pt_share_count_changed(pt, n + 1, n);
}

/* The split PMD lock of the table holding @pte (huge_pte_lockptr()). */
static inline spinlock_t *huge_pte_lockptr(pte_t *pte)
{
	return &virt_to_ptdesc(pte)->ptl;
}

static inline spinlock_t *huge_pte_lock(pte_t *pte)
{
	spinlock_t *ptl = huge_pte_lockptr(pte);

	spin_lock(ptl);
	return ptl;
}

#endif
