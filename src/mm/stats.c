// SPDX-License-Identifier: MIT
/*
 * What can be observed: meminfo and per-mm counters, the drawing of who
 * shares which PMD table, and the invariant checker.
 *
 * hw_draw() and hw_check_invariants() read every mm's tables without
 * locks: they are for a quiescent system (no operation in flight).
 */
#include <stdlib.h>
#include <string.h>

#include "mm/internal.h"

void hw_meminfo(struct hw_system *sys, struct hw_meminfo *mi)
{
	struct hstate *h = hstate_sys(sys);

	spin_lock(&h->hugetlb_lock);
	mi->hugepages_total = h->nr_huge_pages;
	mi->hugepages_free = h->free_huge_pages;
	/*
	 * What /proc/meminfo shows: the kernel's counter wraps below zero
	 * while a reservation given back waits for its folio's free (the
	 * model keeps that shortfall as resv_debt), so HugePages_Rsvd reads
	 * as a huge number then.  Seen on 6.18 after a fork and the
	 * parent's munmap of a private mapping (docs/differences.md).
	 */
	mi->hugepages_rsvd = h->resv_huge_pages - h->resv_debt;
	spin_unlock(&h->hugetlb_lock);
	mi->pagetables = atomic_long_read(&sys->nr_pagetables);
	mi->shared_pmds = atomic_long_read(&sys->nr_shared_pmds);
}

void hw_mm_stats(struct hw_mm *mm, struct hw_mm_stats *st)
{
	st->minflt = atomic_long_read(&mm->minflt);
	st->nr_pmds = atomic_long_read(&mm->nr_pmds);
	st->hugetlb_rss = atomic_long_read(&mm->hugetlb_usage);
}

/* ---- a census of the PMD tables reachable from all mms ----------------- */

struct pud_user {
	struct hw_mm *mm;
	unsigned long addr;	/* start of the PUD slot */
};

struct table_census {
	struct ptdesc *pt;
	int nr_users;
	struct pud_user users[16];
	int more_users;		/* beyond the array */
};

struct census {
	struct table_census *t;
	int nr, cap;
	unsigned long nr_upper;	/* PGD and PUD tables */
};

static struct table_census *census_find(struct census *c, struct ptdesc *pt)
{
	int i;

	for (i = 0; i < c->nr; i++)
		if (c->t[i].pt == pt)
			return &c->t[i];
	if (c->nr == c->cap) {
		int cap = c->cap ? 2 * c->cap : 16;
		struct table_census *t = realloc(c->t, cap * sizeof(*t));

		if (!t)
			return NULL;
		c->t = t;
		c->cap = cap;
	}
	memset(&c->t[c->nr], 0, sizeof(c->t[0]));
	c->t[c->nr].pt = pt;
	return &c->t[c->nr++];
}

/* Visit every present PUD entry of @mm; count upper tables. */
static int census_mm(struct census *c, struct hw_mm *mm, unsigned long *pmds)
{
	unsigned long i, j;
	struct table_census *tc;
	pgd_t pgd;
	pud_t *pud_table, pud;

	*pmds = 0;
	c->nr_upper++;			/* the PGD */
	for (i = 0; i < PTRS_PER_PGD; i++) {
		pgd = pgdp_get(mm->pgd + i);
		if (pgd_none(pgd))
			continue;
		c->nr_upper++;
		pud_table = pgd_pgtable(pgd);
		for (j = 0; j < PTRS_PER_PUD; j++) {
			pud = pudp_get(pud_table + j);
			if (pud_none(pud))
				continue;
			(*pmds)++;
			tc = census_find(c, virt_to_ptdesc(pud_pgtable(pud)));
			if (!tc)
				return -1;
			if (tc->nr_users < (int)ARRAY_SIZE(tc->users))
				tc->users[tc->nr_users] = (struct pud_user){
					mm, (i << PGDIR_SHIFT) | (j << PUD_SHIFT) };
			else
				tc->more_users++;
			tc->nr_users++;
		}
	}
	return 0;
}

static int census_take(struct hw_system *sys, struct census *c)
{
	struct hw_mm *mm;
	unsigned long pmds;

	memset(c, 0, sizeof(*c));
	list_for_each_entry(mm, &sys->mms, list)
		if (census_mm(c, mm, &pmds))
			return -1;
	return 0;
}

static int mapped_entries(struct ptdesc *pt, char *bar, int width)
{
	pmd_t *e = ptdesc_address(pt);
	int i, n = 0, per = PTRS_PER_PMD / width, in_col = 0;

	for (i = 0; i < PTRS_PER_PMD; i++) {
		bool present = !pmd_none(pmdp_get(e + i));

		n += present;
		in_col += present;
		if ((i + 1) % per == 0) {
			bar[i / per] = !in_col ? '.' : in_col == per ? '#' : '+';
			in_col = 0;
		}
	}
	bar[width] = '\0';
	return n;
}

void hw_draw(struct hw_system *sys, FILE *out)
{
	struct census c;
	char bar[65];
	int i, u, n;

	if (census_take(sys, &c)) {
		fprintf(out, "  (out of memory drawing the tables)\n");
		free(c.t);
		return;
	}
	if (!c.nr)
		fprintf(out, "  no PMD tables\n");
	for (i = 0; i < c.nr; i++) {
		struct table_census *tc = &c.t[i];
		int share = ptdesc_pmd_pts_count(tc->pt);

		n = mapped_entries(tc->pt, bar, 64);
		fprintf(out, "  pmd#%-3d %s  %3d/512 mapped  [%s]\n", i + 1,
			share ? "shared " : "private", n, bar);
		fprintf(out, "           pt_share_count=%d\n", share);
		for (u = 0; u < tc->nr_users && u < (int)ARRAY_SIZE(tc->users); u++)
			fprintf(out, "    %s─ %-8s PUD [%#014lx, %#014lx)\n",
				u == tc->nr_users - 1 ? "└" : "├",
				tc->users[u].mm->name, tc->users[u].addr,
				tc->users[u].addr + PUD_SIZE);
		if (tc->more_users)
			fprintf(out, "    └─ ... %d more\n", tc->more_users);
	}
	free(c.t);
}

/* ---- invariants --------------------------------------------------------- */

#define BROKEN(...) do { nr++; if (out) fprintf(out, "invariant: " __VA_ARGS__); } while (0)

static int check_tables(struct hw_system *sys, struct census *c, FILE *out)
{
	unsigned long pmds, shared = 0;
	struct hw_mm *mm;
	int i, nr = 0;

	list_for_each_entry(mm, &sys->mms, list) {
		struct census one = { 0 };

		if (census_mm(&one, mm, &pmds))
			BROKEN("out of memory\n");
		free(one.t);
		if (pmds != (unsigned long)atomic_long_read(&mm->nr_pmds))
			BROKEN("mm %s: nr_pmds %ld, but %lu PUD entries point at PMD tables\n",
			       mm->name, atomic_long_read(&mm->nr_pmds), pmds);
	}
	for (i = 0; i < c->nr; i++) {
		struct ptdesc *pt = c->t[i].pt;
		int share = ptdesc_pmd_pts_count(pt);

		if (READ_ONCE(pt->pt_state) != PT_LIVE)
			BROKEN("a PUD entry points at a freed PMD table\n");
		if (share != c->t[i].nr_users - 1)
			BROKEN("pmd#%d: pt_share_count %d, but %d PUD entries point at it\n",
			       i + 1, share, c->t[i].nr_users);
		shared += share > 0;
	}
	if (shared != (unsigned long)atomic_long_read(&sys->nr_shared_pmds))
		BROKEN("%ld tables counted shared, %lu are\n",
		       atomic_long_read(&sys->nr_shared_pmds), shared);
	if (c->nr + c->nr_upper != (unsigned long)atomic_long_read(&sys->nr_pagetables))
		BROKEN("PageTables %ld, but %lu tables are reachable\n",
		       atomic_long_read(&sys->nr_pagetables),
		       c->nr + c->nr_upper);
	return nr;
}

static int check_folios(struct hw_system *sys, struct census *c, FILE *out)
{
	struct hstate *h = hstate_sys(sys);
	unsigned long i, nfree = 0, nused = 0, *maps;
	int t, e, nr = 0;

	maps = calloc(h->nr_folios + 1, sizeof(*maps));
	if (!maps)
		return 1;
	for (t = 0; t < c->nr; t++) {
		pte_t *ptes = ptdesc_address(c->t[t].pt);

		for (e = 0; e < PTRS_PER_PMD; e++) {
			pte_t pte = huge_ptep_get(ptes + e);

			if (is_hugetlb_migration_entry(pte))
				BROKEN("pmd#%d entry %d: a migration entry on a quiescent system\n",
				       t + 1, e);
			if (!pte_present(pte))
				continue;
			i = pte_pfn(pte) >> (PMD_SHIFT - PAGE_SHIFT);
			if (i >= h->nr_folios)
				BROKEN("an entry maps pfn %#lx outside the pool\n",
				       pte_pfn(pte));
			else
				maps[i]++;
		}
	}
	for (i = 0; i < h->nr_folios; i++) {
		struct folio *f = pfn_to_folio(sys, i << (PMD_SHIFT - PAGE_SHIFT));
		int ref = atomic_read(&f->_refcount);
		int map = atomic_read(&f->_mapcount);

		if (f->state == FOLIO_FREE) {
			nfree++;
			if (ref || maps[i])
				BROKEN("free folio %lu has refcount %d, %lu entries\n",
				       i, ref, maps[i]);
			continue;
		}
		if (f->state != FOLIO_INUSE)
			continue;
		if (READ_ONCE(f->migrating))
			BROKEN("folio %lu still marked migrating\n", i);
		nused++;
		if ((unsigned long)map != maps[i])
			BROKEN("folio %lu: mapcount %d, but %lu entries map it\n",
			       i, map, maps[i]);
		/* Pins (GUP) are references beyond these. */
		if (ref < map + (f->mapping ? 1 : 0) || ref == 0)
			BROKEN("folio %lu: refcount %d, mapcount %d, %s\n", i,
			       ref, map, f->mapping ? "in page cache" : "anon");
	}
	free(maps);
	if (nfree != h->free_huge_pages)
		BROKEN("HugePages_Free %lu, but %lu folios are free\n",
		       h->free_huge_pages, nfree);
	if (nfree + nused != h->nr_huge_pages)
		BROKEN("HugePages_Total %lu, but %lu free + %lu in use\n",
		       h->nr_huge_pages, nfree, nused);
	if (h->resv_huge_pages > h->free_huge_pages)
		BROKEN("HugePages_Rsvd %lu exceeds HugePages_Free %lu\n",
		       h->resv_huge_pages, h->free_huge_pages);
	return nr;
}

static int check_reservations(struct hw_system *sys, FILE *out)
{
	unsigned long want = 0;
	struct hw_file *file;
	struct vm_area_struct *vma;
	struct hw_mm *mm;
	long from, to;
	int nr = 0;

	struct hstate *h = hstate_sys(sys);
	unsigned long pending = 0, i;

	/*
	 * A folio unmapped by the owner of a private reservation while
	 * another mm still maps it (a fork child) has given its index back
	 * to the map already; the count comes back when it is freed
	 * (restore_reserve).  Until then the counter lags the maps by one
	 * per such folio, and may owe (resv_debt) what it could not lag.
	 */
	for (i = 0; i < h->nr_folios; i++) {
		struct folio *f = pfn_to_folio(sys,
					       i << (PMD_SHIFT - PAGE_SHIFT));

		if (f->state == FOLIO_INUSE && f->restore_reserve)
			pending++;
	}
	list_for_each_entry(file, &sys->files, list)
		want += region_count(file->resv_map, 0, 1L << 40) -
			file->i_data.nrpages;
	list_for_each_entry(mm, &sys->mms, list) {
		list_for_each_entry(vma, &mm->mmap, vm_list) {
			if ((vma->vm_flags & VM_MAYSHARE) || !vma->resv)
				continue;
			from = vma_hugecache_offset(vma, vma->vm_start);
			to = vma_hugecache_offset(vma, vma->vm_end);
			want += (to - from) - region_count(vma->resv, from, to);
		}
	}
	if (want != h->resv_huge_pages + pending - h->resv_debt)
		BROKEN("HugePages_Rsvd %lu (%lu to come back with folios still mapped, %lu owed), but mappings and files hold %lu reservations\n",
		       h->resv_huge_pages, pending, h->resv_debt, want);
	return nr;
}

int hw_check_invariants(struct hw_system *sys, FILE *out)
{
	struct census c;
	int nr;

	if (census_take(sys, &c)) {
		free(c.t);
		if (out)
			fprintf(out, "invariant: out of memory\n");
		return 1;
	}
	nr = check_tables(sys, &c, out);
	nr += check_folios(sys, &c, out);
	nr += check_reservations(sys, out);
	free(c.t);
	return nr;
}
