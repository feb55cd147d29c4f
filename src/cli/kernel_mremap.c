// SPDX-License-Identifier: MIT
/*
 * Would this mremap() hang the running kernel?
 *
 * move_hugetlb_page_tables() holds the file's i_mmap_rwsem for write
 * while it allocates each destination entry with huge_pte_alloc(); when
 * the destination's PUD entry is empty and the new VMA may share
 * (want_pmd_share(): shared, with a vma lock, covering the whole 1 GiB
 * around the address), that calls huge_pmd_share(), which takes
 * i_mmap_rwsem for read: the task waits on itself, uninterruptibly, for
 * ever (seen on 6.18; docs/differences.md).  The kernel backend must not
 * make such a call, and should make every other one, so that a diff is
 * not cut short for nothing.
 *
 * The walk follows the kernel's order, and keeps these invariants:
 *  - A call the kernel refuses before moving anything (misaligned, the
 *    old and new ranges overlapping, growing a hugetlb VMA, which is
 *    VM_DONTEXPAND, a resize of several VMAs) does not hang.
 *  - A page is moved only if present; a present page in a shared table
 *    unshares that table instead (huge_pmd_unshare()) and the rest of its
 *    1 GiB is skipped; the first page of an own table that lands in a
 *    1 GiB whose PUD entry is empty, and which the new VMA covers whole,
 *    hangs.
 *  - A destination PUD entry counts as populated only when it certainly
 *    is: a page of an own table is present in that 1 GiB and a VMA
 *    still overlaps it once the destination and a shrunk tail are
 *    unmapped (free_pgtables() frees a PMD table only when no VMA is
 *    left in its 1 GiB), or an earlier page of this call allocated it,
 *    or it is the table this call is moving pages out of.  Anything
 *    else counts as empty.
 *  - The new VMA covers what it may after merging with a neighbour of
 *    the same file, sharing, protection and contiguous offset
 *    (vma_merge_new_range()); flags /proc/self/maps does not show
 *    (MAP_NORESERVE, userfaultfd) are taken as equal.
 *  - A page whose state cannot be read hangs.
 * Every doubt thus errs towards "hangs": a call skipped for nothing
 * costs a shorter comparison; a call made wrongly costs the machine.
 */
#include <stddef.h>

#include "cli/kernel_mremap.h"

#define KM_HPAGE	(2ULL << 20)
#define KM_PUD		(1ULL << 30)
#define KM_MAX_SLOTS	64

static uint64_t pud_of(uint64_t addr)
{
	return addr & ~(KM_PUD - 1);
}

static bool overlaps(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	return a < d && c < b;
}

/* The state of the destination's PUD entries, by 1 GiB slot. */
struct km_slots {
	uint64_t pud[KM_MAX_SLOTS];
	bool populated[KM_MAX_SLOTS];
	int nr;
};

static bool *slot_find(struct km_slots *s, uint64_t pud)
{
	for (int i = 0; i < s->nr; i++)
		if (s->pud[i] == pud)
			return &s->populated[i];
	return NULL;
}

/* The slot of @pud, made with @initial if new; NULL if none is left. */
static bool *slot_add(struct km_slots *s, uint64_t pud, bool initial)
{
	if (s->nr == KM_MAX_SLOTS)
		return NULL;
	s->pud[s->nr] = pud;
	s->populated[s->nr] = initial;
	return &s->populated[s->nr++];
}

struct km_call {
	const struct km_map *maps;
	int nr;
	uint64_t old, len, new_len, dst;
	km_pte_fn pte;
	void *arg;
};

/* Is some mapping left in [pud, pud + 1G) once the call has unmapped? */
static bool vma_left_in(const struct km_call *c, uint64_t pud)
{
	uint64_t tail = c->old + c->new_len, tail_end = c->old + c->len;

	for (int i = 0; i < c->nr; i++) {
		uint64_t s = c->maps[i].start, e = c->maps[i].end;

		if (!overlaps(s, e, pud, pud + KM_PUD))
			continue;
		/* What is left of it: outside the destination and tail. */
		for (uint64_t a = s > pud ? s : pud;
		     a < e && a < pud + KM_PUD; a += KM_HPAGE)
			if (!(a >= c->dst && a < c->dst + c->new_len) &&
			    !(c->new_len < c->len && a >= tail && a < tail_end))
				return true;
	}
	return false;
}

/*
 * Before the move: does the PUD entry of @pud certainly hold a table
 * once the destination (and a shrunk tail) are unmapped?
 */
static bool populated_before(const struct km_call *c, uint64_t pud)
{
	bool own = false;

	for (int i = 0; i < c->nr && !own; i++) {
		const struct km_map *m = &c->maps[i];

		uint64_t a = m->start > pud ? m->start : pud;

		for (; a < m->end && a < pud + KM_PUD; a += KM_HPAGE) {
			if (c->pte(a, c->arg) == KM_PTE_OWN) {
				own = true;
				break;
			}
		}
	}
	return own && vma_left_in(c, pud);
}

/*
 * The new VMA [ns, ne), of file offset @pgoff, merges with the part
 * [s, e) of @m that the unmapping of the destination leaves, if the two
 * touch and have the same file, sharing, protection and contiguous
 * offsets: widen [*lo, *hi) to it.
 */
static void merge_part(const struct km_map *m, const struct km_map *src,
		       uint64_t s, uint64_t e, uint64_t ns, uint64_t ne,
		       uint64_t pgoff, uint64_t *lo, uint64_t *hi)
{
	uint64_t mpgoff = m->pgoff + (s - m->start) / 4096;

	if (s >= e || m->file != src->file || m->shared != src->shared ||
	    m->perms[0] != src->perms[0] || m->perms[1] != src->perms[1] ||
	    m->perms[2] != src->perms[2])
		return;
	if (e == ns && mpgoff + (e - s) / 4096 == pgoff)
		*lo = s;
	if (s == ne && pgoff + (ne - ns) / 4096 == mpgoff)
		*hi = e;
}

/*
 * Does the VMA that the piece at @s of @src becomes at [ns, ne) cover
 * the whole of [pud, pud + 1G), merged with what neighbours it may?
 */
static bool new_vma_covers(const struct km_call *c, const struct km_map *src,
			   uint64_t s, uint64_t ns, uint64_t ne, uint64_t pud)
{
	uint64_t lo = ns, hi = ne, pgoff = src->pgoff + (s - src->start) / 4096;
	uint64_t d = c->dst, de = c->dst + c->new_len;

	for (int i = 0; i < c->nr; i++) {
		const struct km_map *m = &c->maps[i];

		if (m == src)
			continue;
		merge_part(m, src, m->start, m->end < d ? m->end : d, ns, ne,
			   pgoff, &lo, &hi);
		merge_part(m, src, m->start > de ? m->start : de, m->end, ns,
			   ne, pgoff, &lo, &hi);
	}
	return lo <= pud && pud + KM_PUD <= hi;
}

/* Move the pages of [s, e) of @src to [ns, ...): does one hang? */
static bool move_piece(const struct km_call *c, const struct km_map *src,
		       uint64_t s, uint64_t e, uint64_t ns,
		       struct km_slots *slots, struct km_hang *where)
{
	uint64_t ne = ns + (e - s);

	for (uint64_t a = s; a < e; a += KM_HPAGE) {
		uint64_t to = ns + (a - s), d = pud_of(to);
		enum km_pte p = c->pte(a, c->arg);
		bool *dst_pop, *src_pop;

		if (p == KM_PTE_NONE)
			continue;
		if (p == KM_PTE_UNKNOWN) {
			*where = (struct km_hang){ a, d, true };
			return true;
		}
		src_pop = slot_find(slots, pud_of(a)) ?:
			  slot_add(slots, pud_of(a), false);
		if (p == KM_PTE_SHARED) {
			/* Unshared: the PUD entry is cleared, its 1 GiB skipped. */
			if (src_pop)
				*src_pop = false;
			a = pud_of(a) + KM_PUD - KM_HPAGE;
			continue;
		}
		if (src_pop)
			*src_pop = true;	/* it holds the table moved from */
		dst_pop = slot_find(slots, d) ?:
			  slot_add(slots, d, populated_before(c, d));
		if (dst_pop && *dst_pop)
			continue;
		if (!src->shared || !new_vma_covers(c, src, s, ns, ne, d)) {
			if (dst_pop)
				*dst_pop = true;	/* allocated, not shared */
			continue;
		}
		*where = (struct km_hang){ a, d, false };
		return true;
	}
	return false;
}

bool km_mremap_hangs(const struct km_map *maps, int nr, uint64_t old,
		     uint64_t len, uint64_t new_len, uint64_t dst,
		     km_pte_fn pte, void *arg, struct km_hang *where)
{
	struct km_call c = { maps, nr, old, len, new_len, dst, pte, arg };
	uint64_t moved = new_len < len ? new_len : len, a = old;
	struct km_slots slots = { .nr = 0 };
	const struct km_map *first = NULL;
	bool hang = false;

	if ((old | len | new_len | dst) & (KM_HPAGE - 1) || !len || !new_len)
		return false;			/* EINVAL */
	if (overlaps(old, old + len, dst, dst + new_len))
		return false;			/* EINVAL */
	for (int i = 0; i < nr; i++)
		if (maps[i].start <= old && old < maps[i].end)
			first = &maps[i];
	if (!first)
		return false;			/* EFAULT */
	if (new_len > len)
		return false;			/* EFAULT: VM_DONTEXPAND */
	if (len != new_len && old + moved > first->end)
		return false;			/* EFAULT: a resize of several */

	/* Each VMA of the range moves to the same offset (6.17 and on). */
	while (a < old + moved && !hang) {
		const struct km_map *m = NULL;
		uint64_t e;

		for (int i = 0; i < nr; i++)
			if (maps[i].start <= a && a < maps[i].end)
				m = &maps[i];
		if (!m) {
			uint64_t next = old + moved;

			for (int i = 0; i < nr; i++)
				if (maps[i].start > a && maps[i].start < next)
					next = maps[i].start;
			a = next;
			continue;
		}
		e = m->end < old + moved ? m->end : old + moved;
		hang = move_piece(&c, m, a, e, dst + (a - old), &slots, where);
		a = e;
	}
	return hang;
}
