/* SPDX-License-Identifier: MIT */
#ifndef HUGEWALK_OPS_H
#define HUGEWALK_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>

struct hw_mm;
struct hw_file;

/*
 * Operations take the system-call constants of <sys/mman.h>: PROT_READ,
 * PROT_WRITE, PROT_NONE; MAP_SHARED, MAP_PRIVATE, MAP_NORESERVE;
 * MADV_DONTNEED, MADV_REMOVE, MADV_POPULATE_READ, MADV_POPULATE_WRITE.
 * Every mapping is a hugetlb mapping of a hw_file at a fixed address, as
 * with MAP_FIXED_NOREPLACE.  Return values are 0 or a negative errno, as
 * the system call would return.
 */

/**
 * hw_mmap() - map @len bytes of @file at @off, at exactly @addr.
 * Return: 0; -EINVAL for a misaligned address, length or offset, or bad
 * flags; -EEXIST if the range overlaps a mapping; -ENOMEM when the pages
 * cannot be reserved.
 */
int hw_mmap(struct hw_mm *mm, uint64_t addr, uint64_t len, int prot,
	    int flags, struct hw_file *file, uint64_t off);
int hw_munmap(struct hw_mm *mm, uint64_t addr, uint64_t len);
int hw_mprotect(struct hw_mm *mm, uint64_t addr, uint64_t len, int prot);
int hw_madvise(struct hw_mm *mm, uint64_t addr, uint64_t len, int advice);

/**
 * hw_mremap() - mremap(old, old_len, new_len, MREMAP_MAYMOVE|MREMAP_FIXED,
 * new_addr).  hugetlb mappings may move and shrink, never grow.  A move
 * that keeps the size may span several mappings and gaps after the
 * first (Linux 6.17): each moves to the same offset in the new range,
 * except that a mapping armed with userfaultfd ends it with -EFAULT.
 */
int hw_mremap(struct hw_mm *mm, uint64_t old_addr, uint64_t old_len,
	      uint64_t new_len, uint64_t new_addr);

/* userfaultfd registration: see <hugewalk/uffd.h>. */

/**
 * hw_move_pages() - migrate the huge page mapped at @addr (move_pages(2)
 * to the same node): replace every mapping of it by a migration entry
 * through rmap (unsharing shared tables on the way, as the kernel does),
 * copy it, put the copy in the page cache, and map the copy where the
 * migration entries were.  A fault that meets a migration entry sleeps
 * until the migration is over.
 * Return: 0; -EFAULT if no mapping holds @addr; -ENOENT if no page is
 * mapped there; -EINVAL for an anonymous (copy-on-write) page, which the
 * model does not migrate; -ENOMEM if the pool has no free page; -EAGAIN
 * if the page stayed busy for ten tries (pinned by GUP, or a lock held).
 */
int hw_move_pages(struct hw_mm *mm, uint64_t addr);

/**
 * hw_access() - a CPU load or store of the huge page at @addr.
 * @tag: for a store, the tag written into the page; for a load, where the
 *       page's tag is returned (0 for a page never written).
 *
 * Return: 0, or the signal the access raises: SIGSEGV (no mapping, or
 * against its protection) or SIGBUS (no huge page for it).
 */
int hw_access(struct hw_mm *mm, uint64_t addr, bool write, uint64_t *tag);

#endif
