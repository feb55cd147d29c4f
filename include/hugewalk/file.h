/* SPDX-License-Identifier: MIT */
#ifndef HUGEWALK_FILE_H
#define HUGEWALK_FILE_H

#include <stdint.h>

struct hw_system;
struct hw_file;

#define HW_FALLOC_KEEP_SIZE	0x01	/* FALLOC_FL_KEEP_SIZE */
#define HW_FALLOC_PUNCH_HOLE	0x02	/* FALLOC_FL_PUNCH_HOLE */

/**
 * hw_memfd_create() - memfd_create(name, MFD_HUGETLB): an empty file.
 * Return: the file (holding one open reference), or NULL with errno set.
 */
struct hw_file *hw_memfd_create(struct hw_system *sys, const char *name);

/**
 * hw_ftruncate() - set the size; shrinking unmaps and frees the pages past
 * it from every mapping (hugetlb_vmtruncate()).
 * Return: 0, -EINVAL if @size is not a multiple of the huge page size.
 */
int hw_ftruncate(struct hw_file *file, uint64_t size);

/**
 * hw_fallocate() - fallocate(2) on a hugetlbfs file.
 * @mode: 0 or HW_FALLOC_KEEP_SIZE to allocate pages into the page cache,
 *        HW_FALLOC_PUNCH_HOLE | HW_FALLOC_KEEP_SIZE to punch a hole.
 * Return: 0; -EOPNOTSUPP for another mode (as hugetlbfs); -EINVAL for
 * a bad range; -EFBIG past the maximum file size; -ENOSPC when the pool
 * is exhausted (pages allocated so far stay).
 */
int hw_fallocate(struct hw_file *file, int mode, uint64_t off, uint64_t len);

/* close(2): drop the open reference; the file lives on while mapped. */
void hw_file_close(struct hw_file *file);

uint64_t hw_file_size(struct hw_file *file);
const char *hw_file_name(const struct hw_file *file);

#endif
