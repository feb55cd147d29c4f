// SPDX-License-Identifier: MIT
/*
 * Scenario executor: runs the parsed ops, in order, on a backend, prints
 * one trace line per op, and checks the expectations.  A failed
 * expectation is reported as "path:line: expectation failed: ..." and the
 * run goes on to the end.  Model-only ops and keys are skipped (and
 * counted) on a backend that leaves the hook NULL or answers -EOPNOTSUPP.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hugewalk/system.h>

#include "cli/scenario_runner.h"

/* ---- operations ---------------------------------------------------------- */

/*
 * Call the backend for @op: 0, -errno, or a signal for accesses; -ENOSYS
 * when the backend cannot do it at all.
 */
static int call(struct runner *r, const struct sc_op *op, uint64_t *at)
{
	unsigned long now;
	int ret;

	if (!sc_has_hook(r->be, op->kind))
		return -ENOSYS;
	ret = sc_call_syscall(r, op, &now);
	if (op->kind == SC_POOL && !ret)
		sc_detail(r, ", pool %lu pages", now);
	return ret;
}

/* Ops after which --draw looks for a change; it prints only changes. */
static bool changes_tables(enum sc_kind kind)
{
	switch (kind) {
	case SC_POOL:
	case SC_POLICY:
	case SC_VIOLATIONS:
	case SC_MEMFD:
	case SC_FOLLOW_PAGE:
	case SC_PAGEMAP:
	case SC_MINCORE:
	case SC_FOLIO_REFERENCED:
	case SC_UFFD_READ:
	case SC_EXPECT:
	case SC_DRAW:
	case SC_CHECK:
		return false;
	default:
		return true;
	}
}

/* Ops a machine may lack: skipped and counted, not failed with ENOSYS. */
static bool optional_kind(enum sc_kind kind)
{
	return sc_is_exec_kind(kind) && kind != SC_READ &&
	       kind != SC_WRITE && kind != SC_MADVISE;
}

/* policy, violations, draw and check: model-only, on the backend's hooks. */
static void run_model_only(struct runner *r, const struct sc_op *op)
{
	int broken;	/* an errno for policy, invariants for check */

	if (op->kind == SC_VIOLATIONS) {
		if (r->be->violations_at) {
			sc_note(r, "ok, counted, not failures");
		} else {
			r->res->skipped++;
			sc_note(r, "skipped (model-only)");
		}
		return;
	}
	if (op->kind == SC_POLICY && r->o->policy) {
		sc_note(r, "skipped: --policy %s overrides it", r->o->policy);
		return;
	}
	if ((op->kind == SC_DRAW && !r->be->draw) ||
	    (op->kind == SC_CHECK && !r->be->check) ||
	    (op->kind == SC_POLICY && !r->be->set_policy)) {
		r->res->skipped++;
		sc_note(r, "skipped (model-only)");
		return;
	}
	if (op->kind == SC_POLICY) {
		broken = r->be->set_policy(r->m, op->name);
		sc_note(r, "%s", broken ? strerror(-broken) : "ok");
		if (broken) {
			r->res->failed++;
			sc_diag(r, op, "policy %s: %s", op->name, strerror(-broken));
		}
		return;
	}
	if (op->kind == SC_DRAW) {
		sc_note(r, "ok");
		return;
	}
	fflush(r->o->out);
	broken = r->be->check(r->m, r->o->err);
	if (r->cur)
		r->cur->ret = broken;	/* not compared: ran stays false */
	sc_note(r, broken ? "FAILED" : "ok, invariants hold");
	r->res->expectations++;
	if (broken) {
		r->res->failed++;
		sc_diag(r, op, "check failed: %d broken invariant%s (described above)",
			broken, broken == 1 ? "" : "s");
	}
}

/*
 * An op of scenario_exec.c: skipped if the machine cannot do it, on a
 * thread of its own if it runs in the background or may sleep in a
 * userfault, else here.
 */
static void run_exec(struct runner *r, const struct sc_op *op)
{
	struct sc_exec x = { 0 };

	if ((optional_kind(op->kind) && !sc_has_hook(r->be, op->kind)) ||
	    (op->background && !sc_on_thread(r, op))) {
		r->res->skipped++;
		sc_note(r, "skipped (the %s machine cannot do it%s)",
			r->be->name, op->background ? " in the background" : "");
		return;
	}
	if (sc_on_thread(r, op)) {
		sc_run_on_thread(r, op);
		return;
	}
	sc_faults_begin(r, op, &x);
	sc_exec_op(r, op, &x);
	sc_faults_end(r, op, &x);
	if (!x.ran)
		x.ret = -ENOSYS;
	if (r->cur)
		sc_obs_record(r->cur, &x);
	sc_report_exec(r, op, &x);
	if (r->cur) {
		r->cur->tags = x.tags;
		r->cur->ntags = x.ntags;
		x.tags = NULL;
	}
	free(x.tags);
}

/* An op that calls the backend: result, faults, expectations. */
static void run_call(struct runner *r, const struct sc_op *op)
{
	bool counts = op->proc >= 0 && op->kind != SC_EXIT;
	bool measured = false;
	unsigned long f0 = 0, f1 = 0, n;
	uint64_t at = 0;
	char b[32];
	int ret;

	r->detail[0] = '\0';
	if (counts)
		measured = !sc_stat_of(r, op->proc, SC_KEY_FAULTS, &f0);
	ret = call(r, op, &at);
	if (counts && measured)
		measured = !sc_stat_of(r, op->proc, SC_KEY_FAULTS, &f1);
	n = f1 - f0;

	if (r->cur) {
		r->cur->ran = ret != -ENOSYS || sc_has_hook(r->be, op->kind);
		r->cur->ret = ret;
		r->cur->at = at;
		r->cur->measured = measured;
		r->cur->faults = n;
	}
	/*
	 * The machine could not run this op as written (check_diverged()
	 * says why, and the run stops): its result says nothing about the
	 * scenario's expectations.
	 */
	if (r->be->diverged && r->be->diverged(r->m)) {
		sc_note(r, "%s, and the run stops here",
			sc_outcome(ret, false, b, sizeof(b)));
		return;
	}
	sc_note(r, "%s", sc_outcome(ret, false, b, sizeof(b)));
	if (measured && (n || sc_find_check(op, SC_KEY_FAULTS)))
		sc_note(r, ", %lu fault%s", n, n == 1 ? "" : "s");
	sc_note(r, "%s", r->detail);
	sc_check_result(r, op, ret, false, at);
	sc_check_faults(r, op, measured, n);
}

/* The counters after an op, for a trace. */
static void snapshot(struct runner *r, struct sc_obs *obs)
{
	static const enum sc_key sys[SC_OBS_NR_SYS] = {
		[SC_OBS_TOTAL] = SC_KEY_TOTAL,
		[SC_OBS_FREE] = SC_KEY_FREE,
		[SC_OBS_RSVD] = SC_KEY_RSVD,
	};
	unsigned long v;

	for (int k = 0; k < SC_OBS_NR_SYS; k++)
		obs->sys[k] = sc_stat_of(r, -1, sys[k], &v) ? SC_OBS_NONE : v;
	obs->rss = calloc(r->sc->nnames + 1, sizeof(*obs->rss));
	if (!obs->rss)
		return;
	for (size_t i = 0; i < r->sc->nnames; i++) {
		obs->rss[i] = SC_OBS_NONE;
		if (r->alive[i] && r->sc->names[i].kind == SC_NAME_PROC &&
		    !sc_stat_of(r, (int)i, SC_KEY_RSS, &v))
			obs->rss[i] = v;
	}
}

/* Did the machine stop running the scenario as written at @op? */
static void check_diverged(struct runner *r, const struct sc_op *op,
			   size_t idx)
{
	const char *why;

	if (!r->be->diverged || !(why = r->be->diverged(r->m)))
		return;
	r->stopped = true;
	r->res->stopped_line = op->pos.line;
	snprintf(r->res->stopped, sizeof(r->res->stopped), "%s", why);
	if (r->o->trace) {
		r->o->trace->stop = idx;
		snprintf(r->o->trace->why, sizeof(r->o->trace->why), "%s",
			 why);
	}
	sc_diag(r, op, "the %s machine cannot run the scenario as written from here: %s",
		r->be->name, why);
}

static void run_op(struct runner *r, const struct sc_op *op)
{
	const struct sc_run_opts *o = r->o;
	bool printed = false;
	int missing;

	r->len = 0;
	r->res->ops += op->kind != SC_EXPECT;
	missing = sc_name_missing(r, op);
	if (missing >= 0) {
		r->res->failed++;
		sc_note(r, "not run");
		sc_diag(r, op, "'%s' does not exist: the op that made it failed",
			r->sc->names[missing].name);
	} else if (op->kind == SC_EXPECT) {
		sc_run_expect(r, op);
	} else if (op->kind == SC_WAIT) {
		sc_run_wait(r, op);	/* prints its lines itself */
		printed = true;
	} else if (sc_is_exec_kind(op->kind) || op->background) {
		run_exec(r, op);
	} else if (op->model_only) {
		run_model_only(r, op);
	} else {
		run_call(r, op);
	}
	check_diverged(r, op, (size_t)(op - r->sc->ops));
	if (r->cur && !r->stopped)
		snapshot(r, r->cur);

	if (!printed)
		sc_print_line(r, "  ", op->text);
	if (!o->quiet && o->verbose)
		sc_print_counters(r);
	sc_flush_diags(r);
	if (o->quiet || !r->be->draw || r->jobs)
		return;		/* nor while a background op may run */
	if (op->kind == SC_DRAW || (o->draw && changes_tables(op->kind)))
		sc_draw(r, op->kind == SC_DRAW, false);
}

static bool has_op(const struct scenario *sc, enum sc_kind kind)
{
	for (size_t i = 0; i < sc->nops; i++)
		if (sc->ops[i].kind == kind)
			return true;
	return false;
}

/*
 * The walk-rule violations of the whole run: failures, unless the file
 * says `violations record`, when they are counted (and checked by
 * `expect violations`) and listed here.
 */
static void report_violations(struct runner *r)
{
	const struct sc_run_opts *o = r->o;
	bool record = has_op(r->sc, SC_VIOLATIONS);
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	unsigned long n;

	n = mem ? r->be->violations(r->m, mem) : 0;
	if (mem)
		fclose(mem);
	if (n && !record) {
		r->res->failed++;
		fflush(o->out);
		fprintf(o->err, "%s: %lu walk-rule violation%s:\n%s",
			r->sc->path, n, n == 1 ? "" : "s", text ?: "");
	} else if (n && !o->quiet) {
		fprintf(o->out, "  walk-rule violations recorded: %lu\n", n);
		for (line = strtok_r(text, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			fprintf(o->out, "    %s\n", line);
	}
	free(text);
}

/* Policy names are the backend's: check them all before running. */
static int check_policies(const struct scenario *sc,
			  const struct sc_backend *be, void *m,
			  const struct sc_run_opts *o)
{
	int bad = 0;

	if (o->policy || !be->policy_known)
		return 0;
	for (size_t i = 0; i < sc->nops; i++) {
		const struct sc_op *op = &sc->ops[i];

		if (op->kind != SC_POLICY || be->policy_known(m, op->name))
			continue;
		fprintf(o->err, "%s:%d:%d: unknown policy '%s' (see 'hugewalk policies')\n",
			sc->path, op->name_pos.line, op->name_pos.col,
			op->name);
		bad++;
	}
	return bad ? -EINVAL : 0;
}

void sc_trace_free(struct sc_trace *t)
{
	if (!t->obs)
		return;
	for (size_t i = 0; i < t->nops; i++) {
		free(t->obs[i].tags);
		free(t->obs[i].rss);
	}
	free(t->obs);
	t->obs = NULL;
}

int scenario_run(const struct scenario *sc, const struct sc_backend *be,
		 const struct sc_run_opts *opts, struct sc_result *res)
{
	struct runner r = { .sc = sc, .be = be, .o = opts, .res = res };
	int ret;

	memset(res, 0, sizeof(*res));
	if (opts->trace) {
		memset(opts->trace, 0, sizeof(*opts->trace));
		opts->trace->nops = sc->nops;
		opts->trace->stop = sc->nops;
		opts->trace->obs = calloc(sc->nops + 1,
					  sizeof(*opts->trace->obs));
		if (!opts->trace->obs)
			return -ENOMEM;
	}
	r.timeout_ms = opts->timeout_ms ?: SC_TIMEOUT_MS;
	r.uffd_used = has_op(sc, SC_UFFD_REGISTER);
	ret = sc_jobs_init(&r);
	if (ret)
		return ret;
	r.alive = calloc(sc->nnames + 1, sizeof(*r.alive));
	if (!r.alive) {
		ret = -ENOMEM;
		goto out;
	}
	r.m = be->open(sc->nnames, opts->policy, opts->err, &ret);
	if (!r.m) {
		fprintf(opts->err, "%s: cannot start the %s machine: %s\n",
			sc->path, be->name, strerror(-ret));
		goto out;
	}
	ret = check_policies(sc, be, r.m, opts);
	if (ret)
		goto out_close;
	for (int q = 0; be->set_quirk && q < HW_NR_QUIRKS; q++)
		if (opts->quirks & (1UL << q))
			be->set_quirk(r.m, q);

	if (!opts->quiet) {
		fprintf(opts->out, "%s (%s", sc->path, be->name);
		if (be->policy && (opts->policy || !has_op(sc, SC_POLICY)))
			fprintf(opts->out, ", policy %s%s", be->policy(r.m),
				opts->policy ? " from --policy" : "");
		for (int q = 0; be->set_quirk && q < HW_NR_QUIRKS; q++)
			if (opts->quirks & (1UL << q))
				fprintf(opts->out, ", quirk %s",
					hw_quirk_name(q));
		fprintf(opts->out, ")\n");
	}
	if (opts->draw && !opts->quiet && be->draw)
		sc_draw(&r, false, true);
	for (size_t i = 0; i < sc->nops && !r.stopped; i++) {
		r.cur = opts->trace ? &opts->trace->obs[i] : NULL;
		run_op(&r, &sc->ops[i]);
	}
	r.cur = NULL;
	if (r.stopped)
		res->failed++;
	if (!sc_jobs_cleanup(&r)) {
		/* Its thread may still use the machine, the scenario and
		 * this frame: nothing can be freed, nothing can go on. */
		fflush(opts->out);
		fprintf(opts->err, "%s: a task of the %s machine never came back, even after every userfaultfd was closed; giving up\n",
			sc->path, be->name);
		fflush(opts->err);
		if (be->abandon)
			be->abandon(r.m);
		_exit(1);
	}
	if (be->violations)
		report_violations(&r);
	ret = res->failed ? 1 : 0;
out_close:
	be->close(r.m);
out:
	pthread_mutex_destroy(&r.job_lock);
	pthread_cond_destroy(&r.job_cond);
	free(r.last_draw);
	free(r.alive);
	fflush(opts->out);
	return ret;
}
