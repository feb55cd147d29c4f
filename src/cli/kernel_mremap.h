/* SPDX-License-Identifier: MIT */
#ifndef HUGEWALK_CLI_KERNEL_MREMAP_H
#define HUGEWALK_CLI_KERNEL_MREMAP_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Whether an mremap() of a hugetlb mapping would hang the running kernel
 * (docs/differences.md, "mremap hangs in huge_pmd_share()"), decided from
 * what a process can see of itself: its mappings and, page by page, what
 * its page tables hold.  Pure logic: the driver (kernel_driver.c) feeds
 * it /proc/self/maps and /proc/self/pagemap; tests/mremap_hang.c feeds it
 * pictures drawn by hand.
 */

/* One mapping of a scenario file, as /proc/self/maps shows it. */
struct km_map {
	uint64_t start, end;
	uint64_t pgoff;		/* file offset, in 4 KiB pages */
	int file;		/* which file: equal numbers, same file */
	bool shared;		/* MAP_SHARED ('s') */
	char perms[4];		/* "rw-", as maps shows them, for merging */
};

/* What a process's page tables hold for one huge page. */
enum km_pte {
	KM_PTE_NONE,		/* nothing mapped there */
	KM_PTE_OWN,		/* an entry in a PMD table of this mm alone */
	KM_PTE_SHARED,		/* an entry in a shared PMD table */
	KM_PTE_UNKNOWN,		/* cannot tell */
};

typedef enum km_pte (*km_pte_fn)(uint64_t addr, void *arg);

/* Where the move would hang: the page, and the 1 GiB it would land in. */
struct km_hang {
	uint64_t page;
	uint64_t pud;
	bool unknown;		/* because a page could not be read */
};

/**
 * km_mremap_hangs() - would mremap(@old, @len, @new_len, MREMAP_MAYMOVE |
 * MREMAP_FIXED, @dst) of this process hang in move_hugetlb_page_tables()?
 * @maps: the process's scenario mappings, before the call, any order.
 * @nr: how many.
 * @old: @len: @new_len: @dst: the call's arguments, huge-page aligned.
 * @pte: tells what the page tables hold at an address.
 * @arg: for @pte.
 * @where: filled in when the answer is yes.
 *
 * Return: true if the kernel would hang, or cannot be shown not to.
 */
bool km_mremap_hangs(const struct km_map *maps, int nr, uint64_t old,
		     uint64_t len, uint64_t new_len, uint64_t dst,
		     km_pte_fn pte, void *arg, struct km_hang *where);

#endif
