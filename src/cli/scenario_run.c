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

#include <hugewalk/system.h>

#include "cli/scenario.h"

struct runner {
	const struct scenario *sc;
	const struct sc_backend *be;
	const struct sc_run_opts *o;
	struct sc_result *res;
	void *m;
	bool *alive;		/* per name: a live process, an open file */
	char buf[512];		/* the trace text of the current op */
	size_t len;
	char detail[256];	/* what the op saw, noted by call() */
	char dbuf[4096];	/* its diagnostics */
	size_t dlen;
	char *last_draw;	/* the drawing printed last */
};

/* Append to the current op's trace text. */
static void note(struct runner *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(struct runner *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->len >= sizeof(r->buf) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->len, sizeof(r->buf) - r->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len += (size_t)n;
	if (r->len > sizeof(r->buf) - 1)
		r->len = sizeof(r->buf) - 1;
}

/* Append to what the current op saw, shown after its result. */
static void detail(struct runner *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void detail(struct runner *r, const char *fmt, ...)
{
	size_t len = strlen(r->detail);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->detail + len, sizeof(r->detail) - len, fmt, ap);
	va_end(ap);
}

/*
 * A diagnostic about @op, "path:line: ...".  Held until the op's trace
 * line is out, so that the two read in order.
 */
static void diag(struct runner *r, const struct sc_op *op, const char *fmt,
		 ...) __attribute__((format(printf, 3, 4)));
static void diag(struct runner *r, const struct sc_op *op, const char *fmt,
		 ...)
{
	size_t size = sizeof(r->dbuf) - 1;
	va_list ap;
	int n;

	if (r->dlen >= size)
		return;
	n = snprintf(r->dbuf + r->dlen, size - r->dlen, "%s:%d: ",
		     r->sc->path, op->pos.line);
	if (n > 0)
		r->dlen += (size_t)n;
	if (r->dlen >= size) {
		r->dlen = size;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(r->dbuf + r->dlen, size - r->dlen, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->dlen += (size_t)n;
	if (r->dlen >= size)
		r->dlen = size - 1;
	r->dbuf[r->dlen++] = '\n';
	r->dbuf[r->dlen] = '\0';
}

static void flush_diags(struct runner *r)
{
	if (!r->dlen)
		return;
	fflush(r->o->out);
	fwrite(r->dbuf, 1, r->dlen, r->o->err);
	fflush(r->o->err);
	r->dlen = 0;
}

static const char *errname(int err, char *buf, size_t size)
{
	const char *s = sc_errno_name(err);

	if (!err)
		return "0";
	if (s)
		return s;
	snprintf(buf, size, "errno %d", err);
	return buf;
}

/* What an op returned: 0, -errno, or (accesses) a signal number. */
static const char *outcome(int ret, bool access, char *buf, size_t size)
{
	const char *s;

	if (!ret)
		return "ok";
	if (access && ret > 0) {
		s = sc_signal_name(ret);
		if (s)
			return s;
		snprintf(buf, size, "signal %d", ret);
		return buf;
	}
	return errname(-ret, buf, size);
}

static const char *proc_name(struct runner *r, int idx)
{
	return r->sc->names[idx].name;
}

static int stat_of(struct runner *r, int proc, enum sc_key key,
		   unsigned long *v)
{
	if (!r->be->stat)
		return -EOPNOTSUPP;
	return r->be->stat(r->m, proc, key, v);
}

/* ---- expectations -------------------------------------------------------- */

static void check_result(struct runner *r, const struct sc_op *op, int ret,
			 bool access, uint64_t sig_addr)
{
	char b1[32], b2[32];
	const char *pname = op->proc >= 0 ? proc_name(r, op->proc) : NULL;
	const char *verb = sc_kind_name(op->kind);
	bool ok;

	switch (op->want) {
	case SC_WANT_SUCCESS:
		if (!ret)
			return;
		r->res->failed++;
		if (access && ret > 0)
			diag(r, op, "%s %s raised %s at 0x%llx (write '=> %s' if that is expected)",
			     pname, verb, outcome(ret, true, b1, sizeof(b1)),
			     (unsigned long long)sig_addr,
			     outcome(ret, true, b2, sizeof(b2)));
		else
			diag(r, op, "%s%s%s failed with %s (write '=> %s' if that is expected)",
			     pname ?: "", pname ? " " : "", verb,
			     outcome(ret, access, b1, sizeof(b1)),
			     outcome(ret, access, b2, sizeof(b2)));
		return;
	case SC_WANT_OK:
		ok = !ret;
		break;
	case SC_WANT_ERRNO:
		ok = ret == -op->want_value;
		break;
	case SC_WANT_SIGNAL:
		ok = access && ret == op->want_value;
		break;
	default:
		ok = false;
	}
	r->res->expectations++;
	if (ok)
		return;
	r->res->failed++;
	diag(r, op, "expectation failed: %s%s%s => %s, got %s",
	     pname ?: "", pname ? " " : "", verb,
	     op->want == SC_WANT_OK ? "0" :
	     op->want == SC_WANT_ERRNO ?
	     errname(op->want_value, b1, sizeof(b1)) :
	     outcome(op->want_value, true, b1, sizeof(b1)),
	     outcome(ret, access, b2, sizeof(b2)));
}

static const struct sc_check *find_check(const struct sc_op *op,
					 enum sc_key key)
{
	for (int i = 0; i < op->nchecks; i++)
		if (op->checks[i].key == key)
			return &op->checks[i];
	return NULL;
}

/* The faults= item of an op: the delta measured around it. */
static void check_faults(struct runner *r, const struct sc_op *op,
			 bool measured, unsigned long delta)
{
	const struct sc_check *c = find_check(op, SC_KEY_FAULTS);

	if (!c)
		return;
	if (!measured) {
		r->res->skipped++;
		return;
	}
	r->res->expectations++;
	if (c->value == delta)
		return;
	r->res->failed++;
	diag(r, op, "expectation failed: %s faults=%llu, got %lu",
	     proc_name(r, op->proc), (unsigned long long)c->value, delta);
}

/* An `expect` line: each KEY=VALUE against the counter now. */
static void run_expect(struct runner *r, const struct sc_op *op)
{
	const char *who = op->subject >= 0 ? proc_name(r, op->subject) : "";
	const char *sep = op->subject >= 0 ? " " : "";
	char got[256] = "", skipped[128] = "";
	size_t g = 0, s = 0;

	for (int i = 0; i < op->nchecks; i++) {
		const struct sc_check *c = &op->checks[i];
		const char *key = sc_key_name(c->key);
		unsigned long v = 0;
		int ret = stat_of(r, op->subject, c->key, &v);

		if (ret == -EOPNOTSUPP) {
			r->res->skipped++;
			if (s < sizeof(skipped))
				s += snprintf(skipped + s, sizeof(skipped) - s,
					      " %s=", key);
			continue;
		}
		r->res->expectations++;
		if (!ret && v == c->value)
			continue;
		r->res->failed++;
		if (g < sizeof(got))
			g += snprintf(got + g, sizeof(got) - g, "%s%s=%lu",
				      g ? " " : "", key, v);
		if (ret)
			diag(r, op, "expectation failed: %s%s%s=%llu, cannot measure it: %s",
			     who, sep, key, (unsigned long long)c->value,
			     strerror(-ret));
		else
			diag(r, op, "expectation failed: %s%s%s=%llu, got %lu",
			     who, sep, key, (unsigned long long)c->value, v);
	}
	if (g)
		note(r, "FAILED, got %s", got);
	else
		note(r, "ok");
	if (s)
		note(r, " (skipped, not measurable here:%s)", skipped);
}

/* ---- operations ---------------------------------------------------------- */

/*
 * P write/read ADDR [N]: one access per huge page, stopping at the first
 * signal (the scenario's process survives it, as if it had a handler).
 * Returns 0 or the signal; *at is the address that raised it.
 */
static int run_access(struct runner *r, const struct sc_op *op, uint64_t *at)
{
	const struct sc_check *want_tag = find_check(op, SC_KEY_TAG);
	bool write = op->kind == SC_WRITE;
	uint64_t first = 0, bad_addr = 0, bad_tag = 0;
	bool mixed = false, bad = false;
	uint64_t i;
	int ret = 0;

	for (i = 0; i < op->count; i++) {
		uint64_t addr = op->addr + i * HW_HPAGE_SIZE;
		uint64_t tag = op->tag;

		ret = r->be->access(r->m, op->proc, addr, write, &tag);
		if (ret) {
			*at = addr;
			break;
		}
		if (write)
			continue;
		if (!i)
			first = tag;
		else if (tag != first)
			mixed = true;
		if (want_tag && tag != want_tag->value && !bad) {
			bad = true;
			bad_addr = addr;
			bad_tag = tag;
		}
	}
	if (!write && i) {
		if (mixed)
			detail(r, ", tags differ (0x%llx first)",
			     (unsigned long long)first);
		else
			detail(r, ", tag 0x%llx", (unsigned long long)first);
	}
	if (want_tag) {
		r->res->expectations++;
		if (bad) {
			r->res->failed++;
			diag(r, op, "expectation failed: %s read tag=0x%llx, got 0x%llx at 0x%llx",
			     proc_name(r, op->proc),
			     (unsigned long long)want_tag->value,
			     (unsigned long long)bad_tag,
			     (unsigned long long)bad_addr);
		}
	}
	return ret;
}

/* Call the backend for @op; 0, -errno, or a signal for accesses. */
static int call(struct runner *r, const struct sc_op *op, uint64_t *at)
{
	const struct sc_backend *be = r->be;
	const char *name;
	unsigned long now;
	void *m = r->m;
	int ret;

	switch (op->kind) {
	case SC_POOL:
		ret = be->set_pool(m, op->len, &now);
		if (!ret)
			detail(r, ", pool %lu pages", now);
		return ret;
	case SC_POLICY:
		return be->set_policy(m, op->name);
	case SC_MEMFD:
		name = r->sc->names[op->target].name;
		ret = be->memfd(m, op->target, name);
		r->alive[op->target] = !ret;
		return ret;
	case SC_FTRUNCATE:
		return be->ftruncate(m, op->file, op->len);
	case SC_FALLOCATE:
		return be->fallocate(m, op->file, op->mode, op->off, op->len);
	case SC_CLOSE:
		r->alive[op->file] = false;
		return be->close_file(m, op->file);
	case SC_SPAWN:
		name = r->sc->names[op->target].name;
		ret = be->spawn(m, op->target, name);
		r->alive[op->target] = !ret;
		return ret;
	case SC_FORK:
		name = r->sc->names[op->target].name;
		ret = be->fork(m, op->proc, op->target, name);
		r->alive[op->target] = !ret;
		return ret;
	case SC_EXIT:
		r->alive[op->proc] = false;
		return be->exit(m, op->proc);
	case SC_MMAP:
		return be->mmap(m, op->proc, op->addr, op->len, op->prot,
				op->flags, op->file, op->off);
	case SC_MUNMAP:
		return be->munmap(m, op->proc, op->addr, op->len);
	case SC_MPROTECT:
		return be->mprotect(m, op->proc, op->addr, op->len, op->prot);
	case SC_MADVISE:
		return be->madvise(m, op->proc, op->addr, op->len, op->advice);
	case SC_MREMAP:
		return be->mremap(m, op->proc, op->addr, op->len, op->new_len,
				  op->new_addr);
	case SC_UFFD_WP:
		return be->uffd_wp(m, op->proc, op->addr, op->len);
	case SC_MOVE_PAGES:
		return be->move_pages(m, op->proc, op->addr);
	case SC_WRITE:
	case SC_READ:
		return run_access(r, op, at);
	default:
		return -EINVAL;
	}
}

/*
 * A name the op uses whose spawn, fork or memfd failed: the backend has no
 * handle for it.  Returns the name's index, or -1.
 */
static int name_missing(struct runner *r, const struct sc_op *op)
{
	if (op->proc >= 0 && !r->alive[op->proc])
		return op->proc;
	if (op->kind != SC_MEMFD && op->file >= 0 && !r->alive[op->file])
		return op->file;
	return -1;
}

static bool changes_tables(enum sc_kind kind)
{
	return kind >= SC_FTRUNCATE && kind <= SC_EXIT && kind != SC_MEMFD;
}

static void print_counters(struct runner *r)
{
	static const enum sc_key sys_keys[] = {
		SC_KEY_TOTAL, SC_KEY_FREE, SC_KEY_RSVD, SC_KEY_PAGETABLES,
		SC_KEY_SHARED,
	};
	static const enum sc_key mm_keys[] = {
		SC_KEY_FAULTS, SC_KEY_NR_PMDS, SC_KEY_RSS,
	};
	FILE *out = r->o->out;
	unsigned long v;

	fprintf(out, "      meminfo");
	for (size_t k = 0; k < ARRAY_SIZE(sys_keys); k++)
		if (!stat_of(r, -1, sys_keys[k], &v))
			fprintf(out, " %s=%lu", sc_key_name(sys_keys[k]), v);
	fputc('\n', out);
	for (int i = 0; i < (int)r->sc->nnames; i++) {
		if (!r->alive[i] || r->sc->names[i].kind != SC_NAME_PROC)
			continue;
		fprintf(out, "      %s", proc_name(r, i));
		for (size_t k = 0; k < ARRAY_SIZE(mm_keys); k++)
			if (!stat_of(r, i, mm_keys[k], &v))
				fprintf(out, " %s=%lu", sc_key_name(mm_keys[k]),
					v);
		fputc('\n', out);
	}
}

/*
 * Print the backend's drawing, indented under the op's trace line: always
 * for a `draw` line, else only when it differs from the last one (@silent
 * only records it, for the empty machine at the start).
 */
static void draw(struct runner *r, bool always, bool silent)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	if (!mem)
		return;
	r->be->draw(r->m, mem);
	if (fclose(mem) || !text) {
		free(text);
		return;
	}
	if (!always && r->last_draw && !strcmp(text, r->last_draw)) {
		free(text);
		return;
	}
	free(r->last_draw);
	r->last_draw = strdup(text);
	if (silent) {
		free(text);
		return;
	}
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		fprintf(r->o->out, "    %s\n", line);
	fflush(r->o->out);
	free(text);
}

/* policy, draw and check: model-only, on the backend's hooks. */
static void run_model_only(struct runner *r, const struct sc_op *op)
{
	int broken;	/* an errno for policy, invariants for check */

	if (op->kind == SC_POLICY && r->o->policy) {
		note(r, "skipped: --policy %s overrides it", r->o->policy);
		return;
	}
	if ((op->kind == SC_DRAW && !r->be->draw) ||
	    (op->kind == SC_CHECK && !r->be->check) ||
	    (op->kind == SC_POLICY && !r->be->set_policy)) {
		r->res->skipped++;
		note(r, "skipped (model-only)");
		return;
	}
	if (op->kind == SC_POLICY) {
		broken = r->be->set_policy(r->m, op->name);
		note(r, "%s", broken ? strerror(-broken) : "ok");
		if (broken) {
			r->res->failed++;
			diag(r, op, "policy %s: %s", op->name, strerror(-broken));
		}
		return;
	}
	if (op->kind == SC_DRAW) {
		note(r, "ok");
		return;
	}
	fflush(r->o->out);
	broken = r->be->check(r->m, r->o->err);
	note(r, broken ? "FAILED" : "ok, invariants hold");
	r->res->expectations++;
	if (broken) {
		r->res->failed++;
		diag(r, op, "check failed: %d broken invariant%s (described above)",
		     broken, broken == 1 ? "" : "s");
	}
}

/* An op that calls the backend: result, faults, expectations. */
static void run_call(struct runner *r, const struct sc_op *op)
{
	bool access = op->kind == SC_READ || op->kind == SC_WRITE;
	bool counts = op->proc >= 0 && op->kind != SC_EXIT;
	bool measured = false;
	unsigned long f0 = 0, f1 = 0, n;
	uint64_t at = 0;
	char b[32];
	int ret;

	r->detail[0] = '\0';
	if (counts)
		measured = !stat_of(r, op->proc, SC_KEY_FAULTS, &f0);
	ret = call(r, op, &at);
	if (counts && measured)
		measured = !stat_of(r, op->proc, SC_KEY_FAULTS, &f1);
	n = f1 - f0;

	note(r, "%s", outcome(ret, access, b, sizeof(b)));
	if (access && ret > 0)
		note(r, " at 0x%llx", (unsigned long long)at);
	if (measured && (access || n || find_check(op, SC_KEY_FAULTS)))
		note(r, ", %lu fault%s", n, n == 1 ? "" : "s");
	note(r, "%s", r->detail);
	check_result(r, op, ret, access, at);
	check_faults(r, op, measured, n);
}

static void run_op(struct runner *r, const struct sc_op *op)
{
	const struct sc_run_opts *o = r->o;
	int missing, w;

	r->len = 0;
	r->res->ops += op->kind != SC_EXPECT;
	missing = name_missing(r, op);
	if (missing >= 0) {
		r->res->failed++;
		note(r, "not run");
		diag(r, op, "'%s' does not exist: the op that made it failed",
		     r->sc->names[missing].name);
	} else if (op->kind == SC_EXPECT) {
		run_expect(r, op);
	} else if (op->model_only) {
		run_model_only(r, op);
	} else {
		run_call(r, op);
	}

	if (!o->quiet) {
		w = (int)strlen(op->text);
		fprintf(o->out, "  %s%*s -> %.*s\n", op->text,
			w < 44 ? 44 - w : 0, "", (int)r->len, r->buf);
		if (o->verbose)
			print_counters(r);
	}
	flush_diags(r);
	if (o->quiet || !r->be->draw)
		return;
	if (op->kind == SC_DRAW || (o->draw && changes_tables(op->kind)))
		draw(r, op->kind == SC_DRAW, false);
}

static bool has_policy(const struct scenario *sc)
{
	for (size_t i = 0; i < sc->nops; i++)
		if (sc->ops[i].kind == SC_POLICY)
			return true;
	return false;
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

int scenario_run(const struct scenario *sc, const struct sc_backend *be,
		 const struct sc_run_opts *opts, struct sc_result *res)
{
	struct runner r = { .sc = sc, .be = be, .o = opts, .res = res };
	unsigned long n;
	int ret;

	memset(res, 0, sizeof(*res));
	r.alive = calloc(sc->nnames + 1, sizeof(*r.alive));
	if (!r.alive)
		return -ENOMEM;
	r.m = be->open(sc->nnames, opts->policy, opts->err, &ret);
	if (!r.m) {
		fprintf(opts->err, "%s: cannot start the %s machine: %s\n",
			sc->path, be->name, strerror(-ret));
		goto out;
	}
	ret = check_policies(sc, be, r.m, opts);
	if (ret)
		goto out_close;

	if (!opts->quiet) {
		fprintf(opts->out, "%s (%s", sc->path, be->name);
		if (be->policy && (opts->policy || !has_policy(sc)))
			fprintf(opts->out, ", policy %s%s", be->policy(r.m),
				opts->policy ? " from --policy" : "");
		fprintf(opts->out, ")\n");
	}
	if (opts->draw && !opts->quiet && be->draw)
		draw(&r, false, true);
	for (size_t i = 0; i < sc->nops; i++)
		run_op(&r, &sc->ops[i]);

	if (be->violations) {
		char *text = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&text, &len);

		n = mem ? be->violations(r.m, mem) : 0;
		if (mem)
			fclose(mem);
		if (n) {
			res->failed++;
			fflush(opts->out);
			fprintf(opts->err, "%s: %lu walk-rule violation%s:\n%s",
				sc->path, n, n == 1 ? "" : "s", text ?: "");
		}
		free(text);
	}
	ret = res->failed ? 1 : 0;
out_close:
	be->close(r.m);
out:
	free(r.last_draw);
	free(r.alive);
	fflush(opts->out);
	return ret;
}
