/* SPDX-License-Identifier: MIT */
/*
 * The explore build compiles src/mm with this header forced in
 * (-include): the subsystem's heap comes from the explorer's arena, so
 * that the whole state of a booted system can be snapshotted once and
 * restored before every schedule, at the same addresses.  The real build
 * never sees it.
 */
#ifndef HW_SYNC_EXPLORE_ALLOC_H
#define HW_SYNC_EXPLORE_ALLOC_H

#include <stdlib.h>

void *xs_malloc(size_t size);
void *xs_calloc(size_t n, size_t size);
void *xs_realloc(void *p, size_t size);
void *xs_aligned_alloc(size_t align, size_t size);
void xs_free(void *p);

#define malloc(n)		xs_malloc(n)
#define calloc(n, s)		xs_calloc((n), (s))
#define realloc(p, n)		xs_realloc((p), (n))
#define aligned_alloc(a, n)	xs_aligned_alloc((a), (n))
#define free(p)			xs_free(p)

#endif
