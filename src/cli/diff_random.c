// SPDX-License-Identifier: MIT
/*
 * `hugewalk diff --random N --seed S`: scenarios generated from a seed,
 * each run on the model and on the kernel; one that differs is shrunk to
 * a short scenario that still differs in the same way, and printed as a
 * file the user can run again.
 *
 * Invariants:
 *  - Scenario I of seed S is the same text on every machine and every
 *    run (its generator is seeded from S and I alone), except that
 *    move_pages is generated only where the kernel can migrate (two
 *    memory nodes or more).
 *  - Every scenario fits a pool of at most max_pool huge pages: a 1 GiB
 *    MAP_SHARED mapping reserves 512 pages, so scenarios with such
 *    mappings either map them MAP_NORESERVE (small pools) or ask for a
 *    pool of 520 pages (one in four, when max_pool allows).
 *  - Shrinking keeps a candidate only if it parses and its first
 *    difference is of the same kind (op and observable) as the
 *    original's: it converges on one cause instead of wandering.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/diff.h"
#include "cli/kernel.h"

#define G_SLOTS		6	/* 1 GiB slots at 1G..6G */
#define G_MAX_PROCS	6
#define G_MAX_MAPS	6
#define G_MAX_OPS	28
#define G_MB		(1ULL << 20)
#define G_GB		(1ULL << 30)
#define SHRINK_MAX_TRIES 600

struct gmap {
	uint64_t addr, len;
	int file;
};

struct gproc {
	bool alive;
	int nmaps;
	struct gmap maps[G_MAX_MAPS];
};

struct gen {
	uint64_t rng;
	char *buf;
	size_t len, cap;
	bool oom;
	bool big;		/* a pool that holds 1 GiB reservations */
	bool migrate;		/* move_pages can migrate here */
	int nprocs, nfiles;
	struct gproc procs[G_MAX_PROCS];
	bool file_open[2];
	uint64_t file_size[2];
};

static uint64_t rnd(struct gen *g)
{
	/* splitmix64 */
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned int below(struct gen *g, unsigned int n)
{
	return n ? (unsigned int)(rnd(g) % n) : 0;
}

static bool chance(struct gen *g, unsigned int percent)
{
	return below(g, 100) < percent;
}

static void emit(struct gen *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void emit(struct gen *g, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (g->oom)
		return;
	if (g->cap - g->len < 256) {
		char *nb = realloc(g->buf, g->cap * 2 + 1024);

		if (!nb) {
			g->oom = true;
			return;
		}
		g->buf = nb;
		g->cap = g->cap * 2 + 1024;
	}
	va_start(ap, fmt);
	n = vsnprintf(g->buf + g->len, g->cap - g->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		g->len += (size_t)n;
}

/* Sizes as the scenario language writes them. */
static const char *sz(uint64_t v, char *b)
{
	if (v && !(v % G_GB))
		sprintf(b, "%lluG", (unsigned long long)(v / G_GB));
	else if (v && !(v % G_MB))
		sprintf(b, "%lluM", (unsigned long long)(v / G_MB));
	else
		sprintf(b, "0x%llx", (unsigned long long)v);
	return b;
}

static int pick_proc(struct gen *g)
{
	int alive[G_MAX_PROCS], n = 0;

	for (int i = 0; i < g->nprocs; i++)
		if (g->procs[i].alive)
			alive[n++] = i;
	return n ? alive[below(g, (unsigned int)n)] : -1;
}

static struct gmap *pick_map(struct gen *g, int p)
{
	struct gproc *pr = &g->procs[p];

	return pr->nmaps ? &pr->maps[below(g, (unsigned int)pr->nmaps)] : NULL;
}

static int pick_file(struct gen *g)
{
	int f = (int)below(g, (unsigned int)g->nfiles);

	if (!g->file_open[f])
		f = !f;
	return f < g->nfiles && g->file_open[f] ? f : -1;
}

/* A 1 GiB slot's address, aligned or 2 MiB past the boundary. */
static uint64_t slot_addr(struct gen *g)
{
	uint64_t a = (1 + below(g, G_SLOTS)) * G_GB;

	return chance(g, 20) ? a + 2 * G_MB : a;
}

static void gen_mmap(struct gen *g, int p)
{
	struct gproc *pr = &g->procs[p];
	bool shared = !chance(g, 20), noreserve;
	uint64_t addr = slot_addr(g), len, off = 0;
	int f = pick_file(g);
	char b1[24], b2[24];

	if (f < 0)
		return;
	len = chance(g, 65) ? G_GB : 2 * G_MB * (1 + below(g, 8));
	if (chance(g, 10))
		off = 2 * G_MB;
	else if (g->file_size[f] >= 2 * G_GB && chance(g, 15))
		off = G_GB;
	noreserve = len >= G_GB && (!g->big || chance(g, 30));
	if (!g->big && !noreserve && chance(g, 5))
		noreserve = true;
	emit(g, "P%d mmap 0x%llx %s %s %s%s f%d %s\n", p,
	     (unsigned long long)addr, sz(len, b1),
	     chance(g, 10) ? "r" : "rw", shared ? "shared" : "private",
	     noreserve ? ",noreserve" : "", f, sz(off, b2));
	if (pr->nmaps < G_MAX_MAPS)
		pr->maps[pr->nmaps++] = (struct gmap){ addr, len, f };
}

/* A sub-range of @m: the whole, its first page, or a page inside. */
static void sub_range(struct gen *g, const struct gmap *m, uint64_t *a,
		      uint64_t *len)
{
	uint64_t pages = m->len / (2 * G_MB);

	switch (below(g, 4)) {
	case 0:
		*a = m->addr;
		*len = m->len;
		break;
	case 1:
		*a = m->addr;
		*len = 2 * G_MB;
		break;
	case 2:
		*a = m->addr + 2 * G_MB * below(g, (unsigned int)(pages < 8 ?
								pages : 8));
		*len = 2 * G_MB * (1 + below(g, 2));
		break;
	default:
		*a = m->addr + 2 * G_MB;
		*len = m->len > 2 * G_MB ? m->len - 2 * G_MB : 2 * G_MB;
	}
}

static void gen_access(struct gen *g, int p, bool write)
{
	struct gmap *m = pick_map(g, p);
	uint64_t a = m ? m->addr : slot_addr(g);
	unsigned int n = 1 + below(g, 8);

	if (m && chance(g, 30))
		a += 2 * G_MB * below(g, 8);
	if (write)
		emit(g, "P%d write 0x%llx %u tag=0x%x\n", p,
		     (unsigned long long)a, n, 1 + below(g, 0xfe));
	else
		emit(g, "P%d read 0x%llx %u\n", p, (unsigned long long)a, n);
}

static void gen_range_op(struct gen *g, int p, unsigned int kind)
{
	static const char *const advice[] = {
		"dontneed", "remove", "populate_read", "populate_write",
	};
	static const char *const prot[] = { "r", "rw", "none" };
	struct gmap *m = pick_map(g, p);
	uint64_t a, len, na;
	char b1[24];

	if (!m)
		return;
	sub_range(g, m, &a, &len);
	switch (kind) {
	case 0:
		emit(g, "P%d munmap 0x%llx %s\n", p, (unsigned long long)a,
		     sz(len, b1));
		if (a == m->addr && len == m->len)
			*m = g->procs[p].maps[--g->procs[p].nmaps];
		break;
	case 1:
		emit(g, "P%d mprotect 0x%llx %s %s\n", p,
		     (unsigned long long)a, sz(len, b1), prot[below(g, 3)]);
		break;
	case 2:
		emit(g, "P%d madvise 0x%llx %s %s\n", p,
		     (unsigned long long)a, sz(len, b1), advice[below(g, 4)]);
		break;
	case 3:
		na = slot_addr(g);
		emit(g, "P%d mremap 0x%llx %s %s 0x%llx\n", p,
		     (unsigned long long)m->addr, sz(m->len, b1), b1,
		     (unsigned long long)na);
		m->addr = na;
		break;
	case 4:
		if (chance(g, 50)) {
			emit(g, "P%d uffd_wp 0x%llx %s\n", p,
			     (unsigned long long)a, sz(len, b1));
			break;
		}
		/*
		 * MISSING mode, left again at once: no access can sleep in
		 * between, but the registration may unshare (quirk
		 * uffd-missing-no-share) and split, and the VMAs stay split.
		 */
		emit(g, "P%d uffd_register 0x%llx %s missing\n", p,
		     (unsigned long long)a, sz(len, b1));
		emit(g, "P%d uffd_unregister 0x%llx %s\n", p,
		     (unsigned long long)a, sz(len, b1));
		break;
	default:
		emit(g, "P%d move_pages 0x%llx\n", p,
		     (unsigned long long)a);
	}
}

static void gen_file_op(struct gen *g)
{
	int f = pick_file(g);
	uint64_t off, len;
	char b1[24], b2[24];

	if (f < 0)
		return;
	switch (below(g, 4)) {
	case 0:
	case 1:
		off = 2 * G_MB * below(g, 8);
		len = 2 * G_MB * (1 + below(g, 3));
		emit(g, "fallocate f%d punch %s %s\n", f, sz(off, b1),
		     sz(len, b2));
		break;
	case 2:
		off = 2 * G_MB * below(g, 8);
		len = 2 * G_MB * (1 + below(g, 2));
		emit(g, "fallocate f%d %s%s %s\n", f,
		     chance(g, 50) ? "keep_size " : "", sz(off, b1),
		     sz(len, b2));
		break;
	default:
		len = chance(g, 50) ? 2 * G_MB * (1 + below(g, 8)) : G_GB;
		emit(g, "ftruncate f%d %s\n", f, sz(len, b1));
		g->file_size[f] = len;
	}
}

static void gen_fork(struct gen *g, int p)
{
	int c = g->nprocs;

	if (c >= G_MAX_PROCS)
		return;
	emit(g, "P%d fork P%d\n", p, c);
	g->procs[c] = g->procs[p];
	g->nprocs++;
}

static int alive_count(struct gen *g)
{
	int n = 0;

	for (int i = 0; i < g->nprocs; i++)
		n += g->procs[i].alive;
	return n;
}

static void gen_op(struct gen *g)
{
	int p = pick_proc(g);
	unsigned int r = below(g, 100);

	if (p < 0)
		return;
	if (r < 22)
		gen_access(g, p, true);
	else if (r < 44)
		gen_access(g, p, false);
	else if (r < 50)
		gen_mmap(g, p);
	else if (r < 56)
		gen_range_op(g, p, 0);		/* munmap */
	else if (r < 61)
		gen_range_op(g, p, 1);		/* mprotect */
	else if (r < 71)
		gen_range_op(g, p, 2);		/* madvise */
	else if (r < 75)
		gen_range_op(g, p, 3);		/* mremap */
	else if (r < 78)
		gen_range_op(g, p, 4);		/* uffd_wp, uffd_register */
	else if (r < 80 && g->migrate)
		gen_range_op(g, p, 5);		/* move_pages */
	else if (r < 88)
		gen_file_op(g);
	else if (r < 93)
		gen_fork(g, p);
	else if (r < 97 && alive_count(g) > 1) {
		emit(g, "P%d exit\n", p);
		g->procs[p].alive = false;
	} else if (r >= 99 && g->nfiles > 1 && g->file_open[1]) {
		emit(g, "close f1\n");
		g->file_open[1] = false;
	} else {
		gen_access(g, p, false);
	}
}

static char *generate(uint64_t seed, unsigned long index,
		      unsigned long max_pool, bool migrate)
{
	struct gen g = { .migrate = migrate };
	unsigned long pool;
	unsigned int nops;
	char b1[24];

	g.rng = seed * 0x2545f4914f6cdd1dULL + index * 0x9e3779b97f4a7c15ULL;
	rnd(&g);
	g.big = max_pool >= 520 && chance(&g, 25);
	pool = g.big ? 520 : 8 + below(&g, 17);
	if (pool > max_pool)
		pool = max_pool;
	emit(&g, "# hugewalk diff --random: seed %llu, scenario %lu\n",
	     (unsigned long long)seed, index);
	emit(&g, "pool %lu\n", pool);
	g.nfiles = 1 + chance(&g, 30);
	for (int f = 0; f < g.nfiles; f++) {
		g.file_size[f] = chance(&g, 25) ? 2 * G_GB : G_GB;
		g.file_open[f] = true;
		emit(&g, "memfd f%d\nftruncate f%d %s\n", f, f,
		     sz(g.file_size[f], b1));
	}
	g.nprocs = 2 + chance(&g, 40);
	for (int p = 0; p < g.nprocs; p++) {
		g.procs[p].alive = true;
		emit(&g, "spawn P%d\n", p);
	}
	for (int p = 0; p < g.nprocs; p++)
		for (unsigned int i = 1 + chance(&g, 30); i; i--)
			gen_mmap(&g, p);
	nops = 8 + below(&g, G_MAX_OPS - 8);
	while (nops--)
		gen_op(&g);
	emit(&g, "check\n");
	if (g.oom) {
		free(g.buf);
		return NULL;
	}
	return g.buf;
}

static bool can_migrate(void)
{
	int nodes[2];

	return ks_memory_nodes(nodes, 2) >= 2;
}

char *sc_random_scenario(uint64_t seed, unsigned long index,
			 unsigned long max_pool)
{
	return generate(seed, index, max_pool, can_migrate());
}

/* ---- running and shrinking ------------------------------------------- */

static int diff_text(const char *path, const char *text,
		     const struct sc_diff_opts *o, struct sc_diff *d,
		     struct scenario **keep)
{
	struct scenario *sc;
	struct sc_error err;
	int ret;

	ret = scenario_parse(path, text, strlen(text), &sc, &err);
	if (ret)
		return ret;
	ret = sc_diff_run(sc, o, d);
	if (keep && !ret)
		*keep = sc;
	else
		scenario_free(sc);
	return ret;
}

/* Lines of @text, each a malloc'd string without its newline. */
static char **split_lines(const char *text, size_t *n)
{
	size_t cap = 16, i = 0;
	char **v = malloc(cap * sizeof(*v));
	const char *p = text, *e;

	while (v && *p) {
		e = strchr(p, '\n');
		if (!e)
			e = p + strlen(p);
		if (i == cap) {
			char **nv = realloc(v, (cap *= 2) * sizeof(*v));

			if (!nv)
				break;
			v = nv;
		}
		v[i++] = strndup(p, (size_t)(e - p));
		p = *e ? e + 1 : e;
	}
	*n = i;
	return v;
}

static char *join_lines(char **v, const bool *drop, size_t n)
{
	size_t len = 1;
	char *s, *q;

	for (size_t i = 0; i < n; i++)
		if (!drop[i] && v[i])
			len += strlen(v[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	q = s;
	for (size_t i = 0; i < n; i++)
		if (!drop[i] && v[i])
			q += sprintf(q, "%s\n", v[i]);
	*q = '\0';
	return s;
}

struct shrinker {
	const char *path;
	const char *sig;
	struct sc_diff_opts o;
	unsigned int tries;
};

static bool still_differs(struct shrinker *s, const char *text)
{
	struct sc_diff d;

	s->tries++;
	if (diff_text(s->path, text, &s->o, &d, NULL))
		return false;
	return !d.not_run && !d.partial && d.ndiffs && !strcmp(d.sig, s->sig);
}

/* "read 0xADDR N" -> "read 0xADDR 1", when the count can go. */
static bool fewer_pages(char *line)
{
	char *p = strstr(line, " read ");
	char *w = strstr(line, " write ");
	char *q, *end;

	if (!p && !w)
		return false;
	q = strchr((p ? p : w) + 6, ' ');	/* after the address */
	if (!q)
		return false;
	q++;
	if (strtoul(q, &end, 10) <= 1 || end == q ||
	    (*end != ' ' && *end != '\0'))
		return false;
	memmove(q + 1, end, strlen(end) + 1);
	*q = '1';
	return true;
}

/*
 * Remove chunks of lines, halving the chunk size, while the difference
 * stays; then try one page for every read and write.
 */
static char *shrink(struct shrinker *s, const char *text)
{
	size_t n, chunk;
	char **v = split_lines(text, &n);
	bool *drop = calloc(n + 1, sizeof(*drop));
	bool *now = calloc(n + 1, sizeof(*now));
	bool progress = true;
	char *cand, *best = strdup(text);

	if (!v || !drop || !now || !best)
		goto out;
	while (progress && s->tries < SHRINK_MAX_TRIES) {
		progress = false;
		for (chunk = n / 2 ? n / 2 : 1; chunk; chunk /= 2) {
			for (size_t i = 0; i < n && s->tries < SHRINK_MAX_TRIES;
			     i += chunk) {
				size_t j, k = 0;

				/* Drop the chunk's lines still there. */
				for (j = i; j < n && j < i + chunk; j++)
					if (!drop[j] && v[j][0] != '#')
						drop[j] = now[j] = true, k++;
				if (!k)
					continue;
				cand = join_lines(v, drop, n);
				if (cand && still_differs(s, cand)) {
					free(best);
					best = cand;
					progress = true;
				} else {
					free(cand);
					for (j = i; j < n && j < i + chunk; j++)
						if (now[j])
							drop[j] = false;
				}
				for (j = i; j < n && j < i + chunk; j++)
					now[j] = false;
			}
		}
	}
	for (size_t i = 0; i < n && s->tries < SHRINK_MAX_TRIES; i++) {
		char *saved;

		if (drop[i] || !(saved = strdup(v[i])))
			continue;
		if (!fewer_pages(v[i])) {
			free(saved);
			continue;
		}
		cand = join_lines(v, drop, n);
		if (cand && still_differs(s, cand)) {
			free(best);
			best = cand;
			free(saved);
			continue;
		}
		free(cand);
		free(v[i]);
		v[i] = saved;
	}
out:
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
	free(drop);
	free(now);
	return best;
}

static void save(const char *dir, const char *name, const char *text,
		 FILE *out)
{
	const char *base = strrchr(name, '/');
	char path[4096];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, base ? base + 1 : name);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "hugewalk diff: cannot write %s\n", path);
		return;
	}
	fputs(text, f);
	fclose(f);
	fprintf(out, "    saved as %s\n", path);
}

void sc_diff_report_shrunk(const char *name, const char *text,
			   const struct sc_diff *d, bool do_shrink,
			   const char *save_dir, FILE *out)
{
	struct shrinker s = {
		.path = name,
		.sig = d->sig,
		.o = { .out = out },
	};
	struct sc_diff_opts po = { .out = out, .print = true };
	struct scenario *sc = NULL;
	struct sc_diff sd;
	size_t before = 0, after = 0;
	char *small;

	fprintf(out, "DIFFER %s: %u difference%s, the first at line %d (%s)\n",
		name, d->ndiffs, d->ndiffs == 1 ? "" : "s", d->first_line,
		d->sig);
	small = do_shrink ? shrink(&s, text) : strdup(text);
	if (!small)
		return;
	for (const char *p = text; *p; p++)
		before += *p == '\n';
	for (const char *p = small; *p; p++)
		after += *p == '\n';
	if (do_shrink)
		fprintf(out, "    shrunk from %zu to %zu lines in %u runs; as a scenario file:\n",
			before, after, s.tries);
	fprintf(out, "----8<----\n%s----8<----\n", small);
	if (!diff_text(name, small, &po, &sd, &sc))
		sc_diff_summary(sc, &sd, out);
	scenario_free(sc);
	save(save_dir, name, small, out);
	free(small);
}

/* Why scenarios were compared in part: each reason, numbers left out. */
#define NR_REASONS	16

struct reason {
	char text[160];
	unsigned long n;
};

static void tally(struct reason *r, const char *why)
{
	char key[160];
	size_t k = 0;
	int i;

	/* "P3: mremap ...": the process does not make another reason. */
	const char *colon = strstr(why, ": ");

	if (colon && colon - why < 32 && !memchr(why, ' ', colon - why))
		why = colon + 2;
	for (const char *p = why; *p && k < sizeof(key) - 2; p++) {
		if (*p == '0' && p[1] == 'x') {
			key[k++] = 'N';
			for (p += 2; p[1] && strchr("0123456789abcdef", p[1]);
			     p++)
				;
			continue;
		}
		if (*p >= '0' && *p <= '9' &&
		    (p == why || !isalnum((unsigned char)p[-1]))) {
			key[k++] = 'N';
			while (p[1] >= '0' && p[1] <= '9')
				p++;
			continue;
		}
		key[k++] = *p;
	}
	key[k] = '\0';
	if (k > 110)
		strcpy(key + 107, "...");
	for (i = 0; i < NR_REASONS && r[i].n; i++)
		if (!strcmp(r[i].text, key))
			break;
	if (i == NR_REASONS)
		i = NR_REASONS - 1;
	if (!r[i].n)
		snprintf(r[i].text, sizeof(r[i].text), "%s", key);
	r[i].n++;
}

long sc_random_diff(const struct sc_random_opts *o)
{
	struct reason reasons[NR_REASONS] = { { "", 0 } };
	struct sc_diff_opts qo = { .out = o->out, .verbose = o->verbose };
	unsigned long agree = 0, differ = 0, partial = 0, i;
	bool migrate = can_migrate();
	struct timespec t0, t1;
	struct sc_diff d;
	char name[96];
	double secs;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < o->count; i++) {
		char *text = generate(o->seed, i, o->max_pool, migrate);

		if (!text)
			return -ENOMEM;
		snprintf(name, sizeof(name), "random-%llu-%lu.hw",
			 (unsigned long long)o->seed, i);
		if (diff_text(name, text, &qo, &d, NULL)) {
			fprintf(o->out, "ERROR %s: the generator wrote a scenario that does not parse:\n%s",
				name, text);
			free(text);
			return -EINVAL;
		}
		if (d.not_run) {
			fprintf(o->out, "NOT RUN: %s\n", d.why);
			free(text);
			return -ENODEV;
		}
		if (d.ndiffs) {
			differ++;
			sc_diff_report_shrunk(name, text, &d, o->shrink,
					      o->save_dir, o->out);
		} else if (d.partial) {
			partial++;
			tally(reasons, d.why);
			if (o->verbose)
				fprintf(o->out, "PARTIAL %s: %s\n", name, d.why);
		} else {
			agree++;
		}
		free(text);
		if (d.ndiffs && !o->keep_going) {
			i++;
			break;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	for (int k = 0; k < NR_REASONS && reasons[k].n; k++)
		fprintf(o->out, "  compared in part: %lu x %s\n", reasons[k].n,
			reasons[k].text);
	fprintf(o->out, "%lu random scenario%s (seed %llu): %lu agree, %lu differ, %lu compared in part; %.1f s\n",
		i, i == 1 ? "" : "s", (unsigned long long)o->seed, agree,
		differ, partial, secs);
	return (long)differ;
}
