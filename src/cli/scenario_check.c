// SPDX-License-Identifier: MIT
/*
 * Scenario executor, the reporting half: the trace line of each op, the
 * diagnostics, the checks of expectations against what the backend
 * measured, and the -v and --draw output.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <hugewalk/system.h>

#include "cli/scenario_runner.h"

/* Append to the current op's trace text. */
void sc_note(struct runner *r, const char *fmt, ...)
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
void sc_detail(struct runner *r, const char *fmt, ...)
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
void sc_diag(struct runner *r, const struct sc_op *op, const char *fmt, ...)
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

void sc_flush_diags(struct runner *r)
{
	if (!r->dlen)
		return;
	fflush(r->o->out);
	fwrite(r->dbuf, 1, r->dlen, r->o->err);
	fflush(r->o->err);
	r->dlen = 0;
}

const char *sc_errname(int err, char *buf, size_t size)
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
const char *sc_outcome(int ret, bool access, char *buf, size_t size)
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
	return sc_errname(-ret, buf, size);
}

const char *sc_proc_name(struct runner *r, int idx)
{
	return r->sc->names[idx].name;
}

int sc_stat_of(struct runner *r, int proc, enum sc_key key,
	       unsigned long *v)
{
	if (!r->be->stat)
		return -EOPNOTSUPP;
	return r->be->stat(r->m, proc, key, v);
}

/* ---- expectations -------------------------------------------------------- */

void sc_check_result(struct runner *r, const struct sc_op *op, int ret,
		     bool access, uint64_t sig_addr)
{
	const char *pname = op->proc >= 0 ? sc_proc_name(r, op->proc) : NULL;
	const char *verb = sc_kind_name(op->kind);
	char b1[32], b2[32];
	const char *got = sc_outcome(ret, access, b2, sizeof(b2));
	bool ok;

	switch (op->want) {
	case SC_WANT_SUCCESS:
		if (!ret)
			return;
		r->res->failed++;
		if (access && ret > 0)
			sc_diag(r, op, "%s %s raised %s at 0x%llx (write '=> %s' if that is expected)",
				pname, verb, got, (unsigned long long)sig_addr,
				got);
		else
			sc_diag(r, op, "%s%s%s failed with %s (write '=> %s' if that is expected)",
				pname ?: "", pname ? " " : "", verb, got, got);
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
	sc_diag(r, op, "expectation failed: %s%s%s => %s, got %s",
		pname ?: "", pname ? " " : "", verb,
		op->want == SC_WANT_OK ? "0" :
		op->want == SC_WANT_ERRNO ?
		sc_errname(op->want_value, b1, sizeof(b1)) :
		sc_outcome(op->want_value, true, b1, sizeof(b1)), got);
}

const struct sc_check *sc_find_check(const struct sc_op *op,
				     enum sc_key key)
{
	for (int i = 0; i < op->nchecks; i++)
		if (op->checks[i].key == key)
			return &op->checks[i];
	return NULL;
}

/* The faults= item of an op: the delta measured around it. */
void sc_check_faults(struct runner *r, const struct sc_op *op,
		     bool measured, unsigned long delta)
{
	const struct sc_check *c = sc_find_check(op, SC_KEY_FAULTS);

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
	sc_diag(r, op, "expectation failed: %s faults=%llu, got %lu",
		sc_proc_name(r, op->proc), (unsigned long long)c->value, delta);
}

/* ---- what an op of scenario_exec.c saw ---------------------------------- */

/* tag=T: every page the op read or pinned carries T. */
static void check_tags(struct runner *r, const struct sc_op *op,
		       const struct sc_exec *x)
{
	const struct sc_check *c = sc_find_check(op, SC_KEY_TAG);

	if (!c)
		return;
	r->res->expectations++;
	for (unsigned int i = 0; i < x->ntags; i++) {
		if (x->tags[i] == c->value)
			continue;
		r->res->failed++;
		sc_diag(r, op, "expectation failed: %s %s tag=0x%llx, got 0x%llx at 0x%llx",
			sc_proc_name(r, op->proc), sc_kind_name(op->kind),
			(unsigned long long)c->value,
			(unsigned long long)x->tags[i],
			(unsigned long long)(op->addr +
					     (uint64_t)i * HW_HPAGE_SIZE));
		return;
	}
	if (!x->ntags && !x->ret && op->kind == SC_FOLLOW_PAGE) {
		r->res->failed++;
		sc_diag(r, op, "expectation failed: %s follow_page tag=0x%llx, but no page is mapped there",
			sc_proc_name(r, op->proc),
			(unsigned long long)c->value);
	}
}

/* KEY=N against what the op measured: @got, described by @what. */
static void check_value(struct runner *r, const struct sc_op *op,
			enum sc_key key, uint64_t got, const char *what)
{
	const struct sc_check *c = sc_find_check(op, key);

	if (!c)
		return;
	r->res->expectations++;
	if (c->value == got)
		return;
	r->res->failed++;
	sc_diag(r, op, "expectation failed: %s %s %s=%llu, got %s",
		sc_proc_name(r, op->proc), sc_kind_name(op->kind),
		sc_key_name(key), (unsigned long long)c->value, what);
}

/* pagemap's bits: =1 holds when every page has it, =0 when none has. */
static void check_bit(struct runner *r, const struct sc_op *op,
		      enum sc_key key, unsigned long with, unsigned long of)
{
	const struct sc_check *c = sc_find_check(op, key);
	char what[64];
	uint64_t got;

	if (!c)
		return;
	got = with == of ? 1 : !with ? 0 : 2;
	snprintf(what, sizeof(what), "%lu of %lu pages with it", with, of);
	if (got > 1 || (c->value == 1 && !of))
		got = !c->value;	/* mixed: a failure either way */
	check_value(r, op, key, got, what);
}

/* Without pinned=/pages=, a count op must get every page it asked for. */
static void check_whole(struct runner *r, const struct sc_op *op,
			const struct sc_exec *x, enum sc_key key)
{
	if (op->want != SC_WANT_SUCCESS || x->ret || sc_find_check(op, key) ||
	    (uint64_t)x->count == op->count)
		return;
	r->res->failed++;
	sc_diag(r, op, "%s %s got %ld of %llu pages (write '=> %s=%ld' if that is expected)",
		sc_proc_name(r, op->proc), sc_kind_name(op->kind), x->count,
		(unsigned long long)op->count, sc_key_name(key), x->count);
}

/* ", tag 0x11" or ", tags differ (0x11 first)" */
static void note_tags(struct runner *r, const struct sc_exec *x)
{
	bool mixed = false;

	if (!x->ntags)
		return;
	for (unsigned int i = 1; i < x->ntags; i++)
		mixed |= x->tags[i] != x->tags[0];
	sc_note(r, mixed ? ", tags differ (0x%llx first)" : ", tag 0x%llx",
		(unsigned long long)x->tags[0]);
}

/* What the op saw, after its result on the trace line. */
static void note_exec(struct runner *r, const struct sc_op *op,
		      const struct sc_exec *x)
{
	switch (op->kind) {
	case SC_GUP:
	case SC_GUP_FAST:
		sc_note(r, ", %ld pinned", x->count);
		if (op->kind == SC_GUP_FAST)
			sc_note(r, " (%lu by the lockless walk)", x->nr_fast);
		break;
	case SC_PROCESS_VM_READV:
		sc_note(r, ", %ld page%s read", x->count,
			x->count == 1 ? "" : "s");
		break;
	case SC_FOLLOW_PAGE:
		if (!x->page.present) {
			sc_note(r, ", not present");
			return;
		}
		sc_note(r, ", present, %s, pfn 0x%lx",
			x->page.writable ? "writable" : "read-only",
			x->page.pfn);
		break;
	case SC_PAGEMAP:
		sc_note(r, ", %lu page%s: %lu present, %lu exclusive, %lu file",
			x->npages, x->npages == 1 ? "" : "s", x->present,
			x->exclusive, x->file);
		if (x->present)
			sc_note(r, ", pfn 0x%lx first", x->pfn);
		return;
	case SC_MINCORE:
		sc_note(r, ", %lu of %lu huge page%s resident", x->resident,
			x->hpages, x->hpages == 1 ? "" : "s");
		if (x->partial)
			sc_note(r, ", %lu partly", x->partial);
		return;
	case SC_FOLIO_REFERENCED:
		sc_note(r, ", %ld referenced", x->count);
		return;
	case SC_UFFD_READ:
		sc_note(r, ", %s fault at 0x%llx", x->msg.write ? "write" :
			"read", (unsigned long long)x->msg.addr);
		return;
	default:
		break;
	}
	note_tags(r, x);
}

/**
 * sc_report_exec() - the trace line and the checks of an op that
 * sc_exec_op() ran: its result, faults=, and the values it can expect.
 * Values are checked only when the op succeeded; its result check says
 * why not otherwise.
 * @r: the run; the note goes to r->buf, failures to the diagnostics.
 * @op: the op.
 * @x: what it saw.
 *
 * Context: the main thread.
 */
void sc_report_exec(struct runner *r, const struct sc_op *op,
		    struct sc_exec *x)
{
	bool access = op->kind == SC_READ || op->kind == SC_WRITE;
	char b[64];

	sc_note(r, "%s", sc_outcome(x->ret, access, b, sizeof(b)));
	if (access && x->ret > 0)
		sc_note(r, " at 0x%llx", (unsigned long long)x->at);
	if (op->kind == SC_UFFD_READ && x->ret == -EAGAIN &&
	    !(op->opts & SC_OPT_NONBLOCK))
		sc_note(r, " (no event within %u ms)", r->timeout_ms);
	if (x->measured && (access || x->faults ||
			    sc_find_check(op, SC_KEY_FAULTS)))
		sc_note(r, ", %lu fault%s", x->faults,
			x->faults == 1 ? "" : "s");
	if (!x->ret || access)
		note_exec(r, op, x);
	sc_check_result(r, op, x->ret, access, x->at);
	sc_check_faults(r, op, x->measured, x->faults);
	check_tags(r, op, x);
	if (x->ret)
		return;
	switch (op->kind) {
	case SC_GUP:
	case SC_GUP_FAST:
		check_whole(r, op, x, SC_KEY_PINNED);
		snprintf(b, sizeof(b), "%ld", x->count);
		check_value(r, op, SC_KEY_PINNED, x->count, b);
		snprintf(b, sizeof(b), "%lu", x->nr_fast);
		check_value(r, op, SC_KEY_FAST, x->nr_fast, b);
		break;
	case SC_PROCESS_VM_READV:
		check_whole(r, op, x, SC_KEY_PAGES);
		snprintf(b, sizeof(b), "%ld", x->count);
		check_value(r, op, SC_KEY_PAGES, x->count, b);
		break;
	case SC_FOLLOW_PAGE:
		check_value(r, op, SC_KEY_PRESENT, x->page.present,
			    x->page.present ? "1" : "0");
		check_value(r, op, SC_KEY_WRITABLE, x->page.writable,
			    x->page.writable ? "1" : "0");
		break;
	case SC_PAGEMAP:
		check_bit(r, op, SC_KEY_PRESENT, x->present, x->npages);
		check_bit(r, op, SC_KEY_EXCLUSIVE, x->exclusive, x->npages);
		check_bit(r, op, SC_KEY_FILE, x->file, x->npages);
		break;
	case SC_MINCORE:
		snprintf(b, sizeof(b), "%lu (of %lu, %lu partly)",
			 x->resident, x->hpages, x->partial);
		check_value(r, op, SC_KEY_RESIDENT, x->resident, b);
		break;
	case SC_FOLIO_REFERENCED:
		snprintf(b, sizeof(b), "%ld", x->count);
		check_value(r, op, SC_KEY_REFERENCED, x->count, b);
		break;
	case SC_UFFD_READ:
		snprintf(b, sizeof(b), "0x%llx",
			 (unsigned long long)x->msg.addr);
		check_value(r, op, SC_KEY_ADDR, x->msg.addr, b);
		check_value(r, op, SC_KEY_WRITE, x->msg.write,
			    x->msg.write ? "1" : "0");
		break;
	default:
		break;
	}
}

/* One check of an `expect` line: the counter now, or an error. */
static int measure(struct runner *r, const struct sc_op *op,
		   const struct sc_check *c, unsigned long *v)
{
	if (c->key != SC_KEY_VIOLATIONS)
		return sc_stat_of(r, op->subject, c->key, v);
	if (!r->be->violations_at)
		return -EOPNOTSUPP;
	return r->be->violations_at(r->m, c->site >= 0 ?
				    sc_site_name(c->site) : NULL, v);
}

/* An `expect` line: each KEY=VALUE against the counter now. */
void sc_run_expect(struct runner *r, const struct sc_op *op)
{
	const char *who = op->subject >= 0 ? sc_proc_name(r, op->subject) : "";
	const char *sep = op->subject >= 0 ? " " : "";
	char got[256] = "", skipped[128] = "";
	size_t g = 0, s = 0;

	for (int i = 0; i < op->nchecks; i++) {
		const struct sc_check *c = &op->checks[i];
		const char *key = c->site >= 0 ? sc_site_name(c->site) :
				  sc_key_name(c->key);
		unsigned long v = 0;
		int ret = measure(r, op, c, &v);

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
			sc_diag(r, op, "expectation failed: %s%s%s=%llu, cannot measure it: %s",
				who, sep, key, (unsigned long long)c->value,
				strerror(-ret));
		else
			sc_diag(r, op, "expectation failed: %s%s%s=%llu, got %lu",
				who, sep, key, (unsigned long long)c->value, v);
	}
	if (g)
		sc_note(r, "FAILED, got %s", got);
	else
		sc_note(r, "ok");
	if (s)
		sc_note(r, " (skipped, not measurable here:%s)", skipped);
}

/* ---- -v and --draw ------------------------------------------------------- */

void sc_print_counters(struct runner *r)
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
		if (!sc_stat_of(r, -1, sys_keys[k], &v))
			fprintf(out, " %s=%lu", sc_key_name(sys_keys[k]), v);
	fputc('\n', out);
	for (int i = 0; i < (int)r->sc->nnames; i++) {
		if (!r->alive[i] || r->sc->names[i].kind != SC_NAME_PROC)
			continue;
		fprintf(out, "      %s", sc_proc_name(r, i));
		for (size_t k = 0; k < ARRAY_SIZE(mm_keys); k++)
			if (!sc_stat_of(r, i, mm_keys[k], &v))
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
void sc_draw(struct runner *r, bool always, bool silent)
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
