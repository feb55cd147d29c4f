/* SPDX-License-Identifier: MIT */
/*
 * Looking at a process's page tables from outside: /proc/PID/pagemap,
 * mincore(2), and rmap's folio_referenced().  The first two walk through
 * walk_hugetlb_range(), one of the call sites under study (the policy
 * says what the walker holds); the last walks every mapping of a page
 * through page_vma_mapped_walk(), under the file's i_mmap_rwsem.
 *
 * Addresses and lengths here are in 4 KiB pages, as the kernel's
 * interfaces are: a 2 MiB huge page is 512 of them.
 */
#ifndef HUGEWALK_PAGEWALK_H
#define HUGEWALK_PAGEWALK_H

#include <stdint.h>

struct hw_mm;

/*
 * The bits of a pagemap entry (Documentation/admin-guide/mm/pagemap.rst).
 * Only these are produced.  Not modelled: bit 55 (soft-dirty; a live
 * kernel sets it on every page of a new VMA), bit 57 (uffd-wp), bit 58
 * (PAGE_IS_GUARD), bit 62 (swapped: hugetlb pages never are, and
 * pagemap_hugetlb_range() reports a migration entry as an absent page).
 * Compare with a live kernel under HW_PM_MODELLED.
 */
#define HW_PM_PFN_MASK		((1ULL << 55) - 1)	/* bits 0-54 */
#define HW_PM_MMAP_EXCLUSIVE	(1ULL << 56)
#define HW_PM_FILE		(1ULL << 61)	/* page cache, not anon */
#define HW_PM_PRESENT		(1ULL << 63)
#define HW_PM_MODELLED		(HW_PM_PFN_MASK | HW_PM_MMAP_EXCLUSIVE | \
				 HW_PM_FILE | HW_PM_PRESENT)

/**
 * hw_pagemap() - read @nr entries of /proc/PID/pagemap of @mm from @addr:
 * one 64-bit entry per 4 KiB page.
 * @mm: the process.
 * @addr: a 4 KiB-aligned address.
 * @nr: how many 4 KiB pages (entries).
 * @out: where the @nr entries go.
 *
 * A page of a present huge page reads as HW_PM_PRESENT, the pfn of that
 * 4 KiB page (the folio's head pfn plus its offset in the huge page; as
 * root sees it: the kernel shows 0 to others), HW_PM_FILE for a
 * page-cache page, and HW_PM_MMAP_EXCLUSIVE if the huge page's mapcount
 * is 1 and its entry is not in a shared PMD table.  An entry in a shared
 * table counts once in the mapcount, but the table's sharing is checked
 * on its own (hugetlb_pmd_shared(), Linux 6.10 on): a page that two
 * processes map through one shared table reads as exclusive in neither,
 * nor does a page mapped through two tables.  Anything else reads as 0:
 * no mapping, no table, an empty entry, a migration entry.
 *
 * As the kernel's pagemap_read(), the range is walked one 2 MiB chunk at
 * a time, each under a fresh hold of mmap_lock: what a reader sees is
 * consistent within a huge page, not across the range.
 *
 * Context: a registered task holding no lock of the system.
 * Return: 0; -EINVAL if @addr is not 4 KiB-aligned or the range passes
 * the top of user space.
 */
int hw_pagemap(struct hw_mm *mm, uint64_t addr, unsigned long nr,
	       uint64_t *out);

/**
 * hw_mincore() - mincore(2): one byte per 4 KiB page of [addr, addr+len),
 * 1 if resident.
 * @mm: the process.
 * @addr: a 4 KiB-aligned address.
 * @len: length in bytes, rounded up to 4 KiB.
 * @vec: (len + 4095) / 4096 bytes.
 *
 * For a huge page whose PMD table exists, 1 iff its entry is not empty
 * (mincore_hugetlb(): a migration entry counts as resident).  Where no
 * PMD table is reachable (never faulted in this process, or unshared
 * since), the kernel's walk reports a hole, and mincore answers from the
 * page cache of the file: 1 iff the file page is cached, as Linux 6.7+
 * does (earlier kernels index the hugetlbfs page cache wrongly there).
 * So an empty entry in a table reads 0 while a missing table reads 1 for
 * the same cached page.
 *
 * Context: a registered task holding no lock of the system.
 * Return: 0; -EINVAL if @addr is not aligned; -ENOMEM if part of the
 * range is not mapped (the pages before the gap are filled in).
 */
int hw_mincore(struct hw_mm *mm, uint64_t addr, uint64_t len,
	       unsigned char *vec);

/**
 * hw_folio_referenced() - folio_referenced() of the huge page mapped at
 * @addr in @mm: walk every VMA of every process that maps its file page
 * (rmap), and count the mappings whose accessed bit is set, clearing it.
 * hw_access() sets the bit again.
 * @mm: the process.
 * @addr: any address in the huge page.
 *
 * As the kernel, the walk stops once it has met as many mappings as the
 * folio's mapcount: a shared PMD table's entry counts once, so only the
 * first process met through a shared table is looked at.
 *
 * Context: a registered task holding no lock of the system.
 * Return: the number of referenced mappings; -EFAULT if @addr is not
 * mapped; -ENOENT if no page is mapped there; -EINVAL for an anonymous
 * (private copy-on-write) page, whose rmap the model does not keep.
 */
int hw_folio_referenced(struct hw_mm *mm, uint64_t addr);

#endif
