/* SPDX-License-Identifier: MIT */
#ifndef HUGEWALK_MM_H
#define HUGEWALK_MM_H

struct hw_system;
struct hw_mm;

/**
 * hw_mm_create() - a new process with an empty address space.
 * Return: the process, or NULL with errno set.
 */
struct hw_mm *hw_mm_create(struct hw_system *sys, const char *name);

/**
 * hw_fork() - fork(2).  Shared hugetlb mappings are not copied: the child
 * faults them in again and re-shares (vma_needs_copy()).  Private mappings
 * that hold anonymous pages are copied, both sides write-protected for COW.
 * Return: the child, or NULL with errno set.
 */
struct hw_mm *hw_fork(struct hw_mm *parent, const char *name);

/* exit(2): tear the address space down (exit_mmap()) and free @mm. */
void hw_exit(struct hw_mm *mm);

const char *hw_mm_name(const struct hw_mm *mm);
struct hw_system *hw_mm_system(const struct hw_mm *mm);

#endif
