/* SPDX-License-Identifier: MIT */
/*
 * Pinning user pages: get_user_pages (the slow path, which faults),
 * get_user_pages_fast (a lockless walk that falls back to the slow path),
 * follow_page of one address, and a process_vm_readv() of another
 * process built on them.
 *
 * A page here is a 2 MiB huge page: the model has no 4 KiB subpages, so
 * counts, addresses and pins are in huge pages (the kernel hands out each
 * 4 KiB subpage of the folio, with a reference on the folio).
 *
 * A pinned page is a struct hw_page *, opaque: it is the folio itself,
 * kept alive by the reference the pin took, whatever happens to the
 * mapping it was found through (munmap, hole punch, exit).  Every pin is
 * dropped with hw_unpin_user_pages(); the last reference frees the huge
 * page back to the pool.
 */
#ifndef HUGEWALK_GUP_H
#define HUGEWALK_GUP_H

#include <stdbool.h>
#include <stdint.h>

struct hw_mm;
struct hw_page;

/*
 * gup_flags:
 *  HW_FOLL_WRITE      FOLL_WRITE: the caller will write the pages; each
 *                     needs a writable entry, which breaks COW
 *  HW_FOLL_NOWAIT     FOLL_NOWAIT: stop, rather than sleep, at the first
 *                     page whose fault would sleep (a userfault)
 *  HW_FOLL_FAST_ONLY  get_user_pages_fast_only(): no slow-path fallback
 */
#define HW_FOLL_WRITE		0x1
#define HW_FOLL_NOWAIT		0x2
#define HW_FOLL_FAST_ONLY	0x4

/**
 * hw_get_user_pages() - get_user_pages_remote() of @nr_pages huge pages
 * of @mm from @start, under @mm's mmap_lock: each page is walked through
 * follow_hugetlb_page() and faulted in if absent (or read-only, for
 * HW_FOLL_WRITE, which breaks COW in a private mapping).
 * @mm: the process whose pages are pinned; any process.
 * @start: a huge-page-aligned address.
 * @nr_pages: how many huge pages.
 * @gup_flags: HW_FOLL_WRITE, HW_FOLL_NOWAIT.
 * @pages: where the pinned pages go; NULL to fault the range in without
 *	pinning anything (what MADV_POPULATE_* does).
 *
 * A page of a userfaultfd MISSING range that the file does not have
 * makes the call sleep, without @mm's mmap_lock, until the monitor
 * resolves it (the kernel's VM_FAULT_RETRY protocol).  HW_FOLL_NOWAIT:
 * there, return what was pinned so far (0 if none) instead of sleeping
 * (FAULT_FLAG_RETRY_NOWAIT); a fault that needs no sleep, to allocate a
 * page or break COW, is taken as usual.
 *
 * Context: a registered task that holds no lock of @mm's system.
 * Return: the number of pages pinned, which are the first ones of the
 * range; if none: -EFAULT (no mapping at @start, a mapping that forbids
 * the access, or the fault raised SIGBUS/SIGSEGV), -ENOMEM (no memory for
 * a page table), -EINVAL (misaligned @start, unknown flags), or 0 when
 * HW_FOLL_NOWAIT stopped at the first page.
 */
long hw_get_user_pages(struct hw_mm *mm, uint64_t start,
		       unsigned long nr_pages, unsigned int gup_flags,
		       struct hw_page **pages);

/**
 * hw_get_user_pages_fast() - get_user_pages_fast(): pin without the
 * mmap_lock through a lockless walk of @mm's page tables, as far as the
 * pages are present (and writable, for HW_FOLL_WRITE); the rest goes
 * through the slow path, which faults.
 * @gup_flags: HW_FOLL_WRITE, HW_FOLL_FAST_ONLY (no slow path).
 * @pages: where the pinned pages go; required.
 * @nr_fast: if not NULL, how many pages the lockless walk pinned: pages
 *	[0, *nr_fast) came from it, the others from the slow path.
 *
 * Context: as hw_get_user_pages().
 * Return: as hw_get_user_pages(); with HW_FOLL_FAST_ONLY, the pages the
 * lockless walk pinned (maybe 0), never an errno for the range's state.
 */
long hw_get_user_pages_fast(struct hw_mm *mm, uint64_t start,
			    unsigned long nr_pages, unsigned int gup_flags,
			    struct hw_page **pages, unsigned long *nr_fast);

/* unpin_user_pages(): drop the pins; a page may be freed by its last. */
void hw_unpin_user_pages(struct hw_page **pages, unsigned long npages);

/* The data tag a pinned page holds now. */
uint64_t hw_page_tag(const struct hw_page *page);

/* The page frame number of a pinned page's head (4 KiB units). */
unsigned long hw_page_pfn(const struct hw_page *page);

/* page_ref_count(): mappings, page cache and pins, together. */
int hw_page_refcount(const struct hw_page *page);

/* What hw_follow_page() found at an address. */
struct hw_page_info {
	bool present;		/* a huge page is mapped there */
	bool writable;		/* its entry allows a store: no COW due */
	unsigned long pfn;	/* its head page's pfn, or 0 */
	uint64_t tag;		/* its data, or 0 */
};

/**
 * hw_follow_page() - follow_page() of @addr in @mm, as move_pages(2)
 * looks a page up: what the page tables map there, without faulting.
 * @out: filled in; present is false if nothing is mapped at @addr yet.
 *
 * Context: as hw_get_user_pages().
 * Return: 0, or -EFAULT if no mapping covers @addr.
 */
int hw_follow_page(struct hw_mm *mm, uint64_t addr, struct hw_page_info *out);

/**
 * hw_process_vm_readv() - process_vm_readv(2) of @nr_pages huge pages of
 * @target from @addr: pin them with get_user_pages_remote() under
 * @target's mmap_lock (faulting in what is absent, sleeping in a
 * userfault), read each page's tag into @tags, unpin.
 *
 * Context: as hw_get_user_pages().
 * Return: the number of pages read, which are the first ones of the
 * range; -EFAULT if the first cannot be read; -EINVAL for a misaligned
 * @addr.
 */
long hw_process_vm_readv(struct hw_mm *target, uint64_t addr,
			 unsigned long nr_pages, uint64_t *tags);

/**
 * hw_process_vm_readv_from() - hw_process_vm_readv() called by a task of
 * @caller: the faults it takes in @target count as @caller's, as Linux
 * (since 5.9, mm_account_fault()) charges them to the calling task;
 * hw_process_vm_readv() counts them as @target's, as older kernels did
 * (get_user_pages_remote() took the target's task).
 *
 * Context: as hw_get_user_pages().
 * Return: as hw_process_vm_readv().
 */
long hw_process_vm_readv_from(struct hw_mm *caller, struct hw_mm *target,
			      uint64_t addr, unsigned long nr_pages,
			      uint64_t *tags);

#endif
