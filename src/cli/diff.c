// SPDX-License-Identifier: MIT
/*
 * `hugewalk diff`: a scenario runs on the model and on the kernel, each
 * recording every observable (struct sc_trace), and the two records are
 * compared op by op.
 *
 * What is compared, for every op both machines ran:
 *  - the result: 0, the errno, or the signal of an access and where;
 *  - the faults the acting process took during the op;
 *  - the tag of every page a read loaded;
 *  - after the op, HugePages_Total/Free/Rsvd and each live process's
 *    HugetlbPages.  A counter is reported at the op where the two start
 *    to differ, or where their difference changes, not after every op
 *    that carries an old difference along.
 * The model follows the running kernel's quirks (sc_kernel_quirks()).
 * Model-only items (policy, draw, check, shared=, pagetables=, nr_pmds=)
 * have no kernel side; a `check` whose invariants fail on the model is
 * reported all the same, as a difference of the model with itself.
 * When the kernel cannot run the scenario as written from some op on
 * (sc_backend.diverged), the ops before it are compared and the rest is
 * not: the file is "compared in part", with the reason.
 * Background ops: what depends on scheduling (sc_timing()) is skipped
 * and counted, on both machines alike; a background op's own result,
 * tags and faults are compared at the op, from what its `wait` saw.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <hugewalk/system.h>

#include "cli/diff.h"
#include "cli/scenario_runner.h"

static const char *const sys_names[SC_OBS_NR_SYS] = {
	[SC_OBS_TOTAL] = "HugePages_Total",
	[SC_OBS_FREE] = "HugePages_Free",
	[SC_OBS_RSVD] = "HugePages_Rsvd",
};

struct differ {
	const struct scenario *sc;
	const struct sc_op *op;
	FILE *out;		/* NULL: count, do not print */
	bool header;		/* the op's line is out */
	struct sc_diff *d;
};

static void say(struct differ *f, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct differ *f, const char *what, const char *fmt, ...)
{
	va_list ap;

	if (!f->d->ndiffs) {
		f->d->first_line = f->op->pos.line;
		snprintf(f->d->sig, sizeof(f->d->sig), "%s %s",
			 sc_kind_name(f->op->kind), what);
	}
	f->d->ndiffs++;
	if (!f->out)
		return;
	if (!f->header) {
		fprintf(f->out, "%s:%d: %s\n", f->sc->path, f->op->pos.line,
			f->op->text);
		f->header = true;
	}
	fprintf(f->out, "    %s: ", what);
	va_start(ap, fmt);
	vfprintf(f->out, fmt, ap);
	va_end(ap);
	fputc('\n', f->out);
}

static const char *outcome(const struct sc_op *op, const struct sc_obs *o,
			   char *buf, size_t size)
{
	bool access = op->kind == SC_READ || op->kind == SC_WRITE;
	const char *s;
	char b[32];

	s = sc_outcome(o->ret, access, b, sizeof(b));
	if (access && o->ret > 0)
		snprintf(buf, size, "%s at 0x%llx", s,
			 (unsigned long long)o->at);
	else
		snprintf(buf, size, "%s", s);
	return buf;
}

static const char *const val_names[SC_OBS_NR_VALS] = {
	[SC_OBS_COUNT] = "pages",
	[SC_OBS_FAST] = "pinned by the lockless walk",
	[SC_OBS_PRESENT] = "entries present",
	[SC_OBS_EXCLUSIVE] = "entries exclusive (PM_MMAP_EXCLUSIVE)",
	[SC_OBS_FILE] = "entries of a file (PM_FILE)",
	[SC_OBS_RESIDENT] = "huge pages resident",
	[SC_OBS_PARTIAL] = "huge pages partly resident",
	[SC_OBS_UFFD_ADDR] = "event address",
	[SC_OBS_UFFD_WRITE] = "event is a write",
};

/* An observable not compared because it depends on scheduling. */
static void timed(struct differ *f, bool in_flight)
{
	f->d->timed++;
	f->d->timed_flight += in_flight;
}

static void compare_op(struct differ *f, const struct sc_obs *m,
		       const struct sc_obs *k, unsigned int skip,
		       bool raced)
{
	const struct sc_op *op = f->op;
	char b1[64], b2[64];
	unsigned int i, n, bad = 0, first = 0;

	if (op->kind == SC_CHECK && m->ret > 0)
		say(f, "model invariants", "%d broken on the model (run it with 'hugewalk run' to see which)",
		    m->ret);
	if (op->model_only || !m->ran || !k->ran)
		return;
	if (m->ret != k->ret || (m->ret > 0 && m->at != k->at &&
				 (op->kind == SC_READ || op->kind == SC_WRITE)))
		say(f, "result", "model %s, kernel %s",
		    outcome(op, m, b1, sizeof(b1)),
		    outcome(op, k, b2, sizeof(b2)));
	if (m->measured && k->measured && (skip & SC_SKIP_FAULTS))
		timed(f, !raced);
	else if (m->measured && k->measured && m->faults != k->faults)
		say(f, "faults", "model %lu, kernel %lu", m->faults, k->faults);
	if (skip & SC_SKIP_VALS) {
		timed(f, !raced);
		goto tags;
	}
	for (i = 0; i < SC_OBS_NR_VALS; i++)
		if (m->vals[i] != k->vals[i])
			say(f, val_names[i], "model %lu, kernel %lu",
			    m->vals[i], k->vals[i]);
tags:
	n = m->ntags < k->ntags ? m->ntags : k->ntags;
	for (i = 0; i < n; i++)
		if (m->tags[i] != k->tags[i] && !bad++)
			first = i;
	if (bad)
		say(f, "tag", "at 0x%llx model 0x%llx, kernel 0x%llx (%u of %u pages differ)",
		    (unsigned long long)(op->addr + first * HW_HPAGE_SIZE),
		    (unsigned long long)m->tags[first],
		    (unsigned long long)k->tags[first], bad, n);
}

/* Counters: report where the difference appears or changes. */
static void compare_counters(struct differ *f, const struct sc_obs *m,
			     const struct sc_obs *k, long *sys_d, long *rss_d)
{
	const struct scenario *sc = f->sc;
	long d;

	for (int i = 0; i < SC_OBS_NR_SYS; i++) {
		if (m->sys[i] == SC_OBS_NONE || k->sys[i] == SC_OBS_NONE)
			continue;
		d = (long)(k->sys[i] - m->sys[i]);
		if (d && d != sys_d[i])
			say(f, sys_names[i], "after it, model %lu, kernel %lu",
			    m->sys[i], k->sys[i]);
		sys_d[i] = d;
	}
	if (!m->rss || !k->rss)
		return;
	for (size_t p = 0; p < sc->nnames; p++) {
		char what[64];

		if (m->rss[p] == SC_OBS_NONE || k->rss[p] == SC_OBS_NONE)
			continue;
		d = (long)(k->rss[p] - m->rss[p]);
		snprintf(what, sizeof(what), "%s HugetlbPages",
			 sc->names[p].name);
		if (d && d != rss_d[p])
			say(f, what, "after it, model %lu, kernel %lu pages",
			    m->rss[p], k->rss[p]);
		rss_d[p] = d;
	}
}

/* Ops after which the other ops see nothing changed. */
static bool observes_only(enum sc_kind kind)
{
	return kind == SC_FOLLOW_PAGE || kind == SC_PAGEMAP ||
	       kind == SC_MINCORE || kind == SC_FOLIO_REFERENCED;
}

/*
 * An op one machine ran and the other could not: the comparison ends
 * there, unless the op changed nothing.  Return: true to stop.
 */
static bool one_sided(const struct sc_op *op, const struct sc_obs *m,
		      const struct sc_obs *k, struct sc_diff *d)
{
	if (op->model_only || m->ran == k->ran || observes_only(op->kind))
		return false;
	d->partial = true;
	d->stop_line = op->pos.line;
	if (op->background && sc_has_hook(&sc_kernel_backend, op->kind))
		snprintf(d->why, sizeof(d->why), "%s: the %s backend does not run ops in the background ('&') on this machine",
			 sc_kind_name(op->kind), m->ran ? "kernel" : "model");
	else
		snprintf(d->why, sizeof(d->why), "%s: the %s backend cannot do it (userspace has no system call for this kernel path)",
			 sc_kind_name(op->kind), m->ran ? "kernel" : "model");
	return true;
}

/* Did the machines read counters after this op? */
static bool has_counters(const struct sc_obs *m, const struct sc_obs *k)
{
	for (int i = 0; i < SC_OBS_NR_SYS; i++)
		if (m->sys[i] != SC_OBS_NONE && k->sys[i] != SC_OBS_NONE)
			return true;
	return false;
}

void sc_diff_compare(const struct scenario *sc, const struct sc_trace *m,
		     const struct sc_trace *k, FILE *out, struct sc_diff *d)
{
	struct differ f = { .sc = sc, .out = out, .d = d };
	long sys_d[SC_OBS_NR_SYS] = { 0 };
	long *rss_d = calloc(sc->nnames + 1, sizeof(*rss_d));
	size_t end = m->stop < k->stop ? m->stop : k->stop;
	struct sc_timing t = { 0 };
	unsigned int skip;
	bool raced;

	if (sc_timing(sc, &t))
		t.race_op = 0;	/* no memory: compare nothing timed */
	for (size_t i = 0; i < end; i++) {
		f.op = &sc->ops[i];
		f.header = false;
		if (one_sided(f.op, &m->obs[i], &k->obs[i], d)) {
			end = i;
			break;
		}
		skip = t.skip ? t.skip[i] : SC_SKIP_FAULTS |
			SC_SKIP_COUNTERS | SC_SKIP_VALS;
		raced = i >= t.race_op;
		if (raced && !d->race_line)
			d->race_line = f.op->pos.line;
		compare_op(&f, &m->obs[i], &k->obs[i], skip, raced);
		if (skip & SC_SKIP_COUNTERS) {
			if (has_counters(&m->obs[i], &k->obs[i]))
				timed(&f, !raced);
		} else if (rss_d) {
			compare_counters(&f, &m->obs[i], &k->obs[i], sys_d,
					 rss_d);
		}
	}
	d->compared = end;
	sc_timing_free(&t);
	free(rss_d);
}

/* Run @sc on @be quietly, recording into @t. */
static int run_one(const struct scenario *sc, const struct sc_backend *be,
		   const struct sc_diff_opts *o, struct sc_trace *t,
		   struct sc_result *res)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	struct sc_run_opts ro = {
		.quiet = !o->verbose,
		.out = o->verbose ? o->out : mem,
		.err = o->verbose ? o->out : mem,
		.trace = t,
	};
	char why[256];
	int ret;

	if (!mem)
		return -ENOMEM;
	/* The model of the kernel it is compared with: its quirks too. */
	if (be->set_quirk && sc_kernel_quirks(&ro.quirks, why, sizeof(why)))
		ro.quirks = 0;
	ret = scenario_run(sc, be, &ro, res);
	fclose(mem);
	free(text);
	return ret;
}

int sc_diff_run(const struct scenario *sc, const struct sc_diff_opts *o,
		struct sc_diff *d)
{
	struct sc_trace mt = { 0 }, kt = { 0 };
	struct sc_result mres, kres;
	int ret;

	memset(d, 0, sizeof(*d));
	ret = run_one(sc, &sc_model_backend, o, &mt, &mres);
	if (ret < 0) {
		snprintf(d->why, sizeof(d->why), "the model cannot run it: %s",
			 strerror(-ret));
		d->not_run = true;
		goto out;
	}
	ret = run_one(sc, &sc_kernel_backend, o, &kt, &kres);
	if (ret < 0) {
		snprintf(d->why, sizeof(d->why), "%s",
			 sc_kernel_last_error()[0] ? sc_kernel_last_error() :
			 strerror(-ret));
		d->not_run = true;
		goto out;
	}
	sc_diff_compare(sc, &mt, &kt, o->print ? o->out : NULL, d);
	if (!d->partial && kt.stop < kt.nops) {
		d->partial = true;
		d->stop_line = sc->ops[kt.stop].pos.line;
		snprintf(d->why, sizeof(d->why), "%s", kt.why);
	}
	d->skipped = kres.skipped;
	ret = 0;
out:
	sc_trace_free(&mt);
	sc_trace_free(&kt);
	return ret;
}

void sc_diff_summary(const struct scenario *sc, const struct sc_diff *d,
		     FILE *out)
{
	if (d->not_run) {
		fprintf(out, "NOT RUN %s: %s\n", sc->path, d->why);
		return;
	}
	fprintf(out, "%s %s (%zu op%s compared",
		d->ndiffs ? "DIFFER" : d->partial ? "PARTIAL" : "AGREE",
		sc->path, d->compared, d->compared == 1 ? "" : "s");
	if (d->ndiffs)
		fprintf(out, ", %u difference%s", d->ndiffs,
			d->ndiffs == 1 ? "" : "s");
	if (d->skipped)
		fprintf(out, ", %u model-only item%s skipped", d->skipped,
			d->skipped == 1 ? "" : "s");
	if (d->timed)
		fprintf(out, ", %u timing-dependent observable%s skipped",
			d->timed, d->timed == 1 ? "" : "s");
	fprintf(out, ")\n");
	if (d->timed_flight)
		fprintf(out, "    skipped while a background op ran: %u (faults of its process's ops, counters, pagemap and mincore counts: docs/differences.md)\n",
			d->timed_flight);
	if (d->race_line && d->timed > d->timed_flight)
		fprintf(out, "    skipped from line %d on, where ops ran at the same time in no fixed order: %u (fault counts, counters, pagemap and mincore counts; results and tags are compared)\n",
			d->race_line, d->timed - d->timed_flight);
	if (d->partial)
		fprintf(out, "    not compared from line %d on: %s\n",
			d->stop_line, d->why);
}
