// SPDX-License-Identifier: MIT
/*
 * The arena: the heap of the subsystem in the explore build (alloc.h
 * routes src/mm's malloc family here), so that a booted system can be
 * snapshotted once and restored, at the same addresses, before each
 * schedule.
 *
 * One region, reserved at a fixed address when the kernel allows it, in
 * two halves:
 *  - small blocks bump up from the start, each after a 16-byte header
 *    naming its size class and alignment;
 *  - page-aligned blocks (page tables, folio chunks) bump up from the
 *    middle, aligned to their own power-of-two size, with their classes
 *    in a byte map in the header, so no header pushes them off
 *    alignment and no padding sits between them.
 * The header (bump pointers, free lists, the map) heads the lower half.
 *
 * Invariants kept:
 *  - the allocator's whole state is inside the region: [base, base +
 *    bump) and [base + HALF, base + HALF + abump) are all there is to
 *    snapshot and restore, allocator included;
 *  - a freed block goes to the list of exactly its class and alignment
 *    and is reused only by a request of that pair;
 *  - a pointer from outside the region (libc's) is passed to libc.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sync/explore/explore.h"

#define ARENA_SIZE	(1UL << 30)		/* reserved, not committed */
#define ARENA_HINT	((void *)0x5e0000000000UL)
#define HALF		(ARENA_SIZE / 2)
#define MIN_SHIFT	4
#define MAX_SHIFT	28
#define NR_CLASSES	(MAX_SHIFT - MIN_SHIFT + 1)
#define PAGE_SHIFT_A	12			/* upper half: page blocks */
#define NR_ALIGNS	(PAGE_SHIFT_A - MIN_SHIFT)
#define UPPER_PAGES	4096			/* 16 MiB of page blocks */
#define UPPER_LIMIT	(UPPER_PAGES << PAGE_SHIFT_A)
#define BLOCK_MAGIC	0x6172656e61UL		/* "arena" */

struct arena_hdr {
	size_t bump;			/* lower half: first unused offset */
	size_t abump;			/* upper half: the same */
	void *free[NR_CLASSES][NR_ALIGNS];	/* small blocks */
	void *page_free[NR_CLASSES];		/* page blocks */
	unsigned char page_map[UPPER_PAGES];	/* class by upper page */
};

struct block_hdr {
	uint32_t cls;			/* size 1 << cls */
	uint32_t align;			/* 1 << align */
	uint64_t magic;
};

static char *base;

static struct arena_hdr *hdr(void)
{
	return (struct arena_hdr *)base;
}

/* The class of each page block, by page of the upper half (0: none). */
static unsigned char *page_map(void)
{
	return hdr()->page_map;
}

static void arena_init(void)
{
	char *p;

	p = mmap(ARENA_HINT, ARENA_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		 MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		p = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		perror("hugewalk explore: arena");
		abort();
	}
	base = p;
	xs_arena_reset();
}

static bool in_arena(const void *p)
{
	return base && (const char *)p >= base &&
	       (const char *)p < base + ARENA_SIZE;
}

static unsigned int shift_of(size_t n)
{
	unsigned int s = MIN_SHIFT;

	while ((1UL << s) < n)
		s++;
	return s;
}

/* A block of 1 << @cls bytes aligned to its size, from the upper half. */
static void *page_alloc(unsigned int cls)
{
	uintptr_t start = (uintptr_t)base + HALF, p;
	void **head = &hdr()->page_free[cls - MIN_SHIFT];

	if (*head) {
		void *blk = *head;

		*head = *(void **)blk;
		return blk;
	}
	p = (start + hdr()->abump + (1UL << cls) - 1) & ~((1UL << cls) - 1);
	if (p + (1UL << cls) > start + UPPER_LIMIT) {
		errno = ENOMEM;
		return NULL;
	}
	page_map()[(p - start) >> PAGE_SHIFT_A] = cls;
	hdr()->abump = p + (1UL << cls) - start;
	return (void *)p;
}

static void *arena_alloc(size_t size, size_t align)
{
	unsigned int cls, al;
	struct block_hdr *b;
	uintptr_t p;
	void **head;

	if (!base)
		arena_init();
	cls = shift_of(size ? size : 1);
	al = shift_of(align);
	if (cls > MAX_SHIFT || al > MAX_SHIFT) {
		errno = ENOMEM;
		return NULL;
	}
	if (al >= PAGE_SHIFT_A)
		return page_alloc(cls > al ? cls : al);

	head = &hdr()->free[cls - MIN_SHIFT][al - MIN_SHIFT];
	if (*head) {
		void *blk = *head;

		*head = *(void **)blk;
		return blk;
	}
	p = (uintptr_t)base + hdr()->bump + sizeof(struct block_hdr);
	p = (p + (1UL << al) - 1) & ~((1UL << al) - 1);
	if (p + (1UL << cls) > (uintptr_t)base + HALF) {
		errno = ENOMEM;
		return NULL;
	}
	b = (struct block_hdr *)p - 1;
	b->cls = cls;
	b->align = al;
	b->magic = BLOCK_MAGIC;
	hdr()->bump = p + (1UL << cls) - (uintptr_t)base;
	return (void *)p;
}

void *xs_malloc(size_t size)
{
	return arena_alloc(size, 16);
}

void *xs_calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	p = arena_alloc(n * size, 16);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void *xs_aligned_alloc(size_t align, size_t size)
{
	return arena_alloc(size, align < 16 ? 16 : align);
}

/* The size of block @p. */
static size_t block_size(void *p, unsigned int *cls, unsigned int *al)
{
	struct block_hdr *b;

	if ((char *)p >= base + HALF) {
		*cls = page_map()[((char *)p - base - HALF) >> PAGE_SHIFT_A];
		*al = *cls;
		if (*cls >= PAGE_SHIFT_A)
			return 1UL << *cls;
	} else {
		b = (struct block_hdr *)p - 1;
		*cls = b->cls;
		*al = b->align;
		if (b->magic == BLOCK_MAGIC)
			return 1UL << *cls;
	}
	fprintf(stderr, "hugewalk explore: %p is not an arena block\n", p);
	abort();
}

void xs_free(void *p)
{
	unsigned int cls, al;
	void **head;

	if (!p)
		return;
	if (!in_arena(p)) {
		free(p);
		return;
	}
	block_size(p, &cls, &al);
	if (al >= PAGE_SHIFT_A)
		head = &hdr()->page_free[cls - MIN_SHIFT];
	else
		head = &hdr()->free[cls - MIN_SHIFT][al - MIN_SHIFT];
	*(void **)p = *head;
	*head = p;
}

void *xs_realloc(void *p, size_t size)
{
	unsigned int cls, al;
	size_t old;
	void *n;

	if (!p)
		return xs_malloc(size);
	if (!in_arena(p))
		return realloc(p, size);
	old = block_size(p, &cls, &al);
	if (size <= old)
		return p;
	n = arena_alloc(size, 1UL << al);
	if (!n)
		return NULL;
	memcpy(n, p, old);
	xs_free(p);
	return n;
}

/**
 * xs_arena_reset() - empty the arena: every block is forgotten.
 *
 * Context: no system in the arena is used any more.
 */
void xs_arena_reset(void)
{
	if (!base) {
		arena_init();
		return;
	}
	memset(hdr(), 0, sizeof(struct arena_hdr));
	hdr()->bump = sizeof(struct arena_hdr);
	hdr()->abump = 0;
}

size_t xs_arena_used(void)
{
	return base ? hdr()->bump + hdr()->abump : 0;
}

/**
 * xs_arena_snapshot() - copy the arena's used bytes into @s.
 * @s: the snapshot, grown as needed.
 *
 * Context: no schedule running.
 * Return: 0, or -ENOMEM.
 */
int xs_arena_snapshot(struct xs_snapshot *s)
{
	size_t len = xs_arena_used();

	if (len > s->cap) {
		void *b = realloc(s->bytes, len);

		if (!b)
			return -ENOMEM;
		s->bytes = b;
		s->cap = len;
	}
	s->low = hdr()->bump;
	memcpy(s->bytes, base, s->low);
	memcpy((char *)s->bytes + s->low, base + HALF, len - s->low);
	s->len = len;
	return 0;
}

/**
 * xs_arena_restore() - put the arena back as it was at the snapshot.
 * @s: a snapshot of this arena.
 *
 * Context: no schedule running; pointers into blocks allocated since the
 * snapshot are dangling afterwards.
 */
void xs_arena_restore(const struct xs_snapshot *s)
{
	memcpy(base, s->bytes, s->low);
	memcpy(base + HALF, (char *)s->bytes + s->low, s->len - s->low);
}

void xs_snapshot_free(struct xs_snapshot *s)
{
	free(s->bytes);
	s->bytes = NULL;
	s->len = s->cap = s->low = 0;
}
