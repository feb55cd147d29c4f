// SPDX-License-Identifier: MIT
/*
 * Scenario parser: one statement per line, into struct sc_op.
 *
 * Names are checked in file order: a process exists from `spawn P` or
 * `Q fork P` until `P exit`, a file from `memfd F` until `close F`, and
 * using one outside that span is an error at the use.  The grammar is in
 * docs/scenario.md; every error names path:line:column and what was
 * expected there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/scenario_lex.h"

/* ---- statements ---------------------------------------------------------- */

static const struct {
	const char *verb;
	enum sc_kind kind;
} verbs[] = {
	{ "mmap", SC_MMAP },		{ "munmap", SC_MUNMAP },
	{ "mprotect", SC_MPROTECT },	{ "madvise", SC_MADVISE },
	{ "mremap", SC_MREMAP },	{ "uffd_wp", SC_UFFD_WP },
	{ "move_pages", SC_MOVE_PAGES },	{ "write", SC_WRITE },
	{ "read", SC_READ },		{ "gup", SC_GUP },
	{ "gup_fast", SC_GUP_FAST },	{ "follow_page", SC_FOLLOW_PAGE },
	{ "process_vm_readv", SC_PROCESS_VM_READV },
	{ "pagemap", SC_PAGEMAP },	{ "mincore", SC_MINCORE },
	{ "folio_referenced", SC_FOLIO_REFERENCED },
	{ "uffd_register", SC_UFFD_REGISTER },
	{ "uffd_unregister", SC_UFFD_UNREGISTER },
	{ "uffd_read", SC_UFFD_READ },	{ "uffd_copy", SC_UFFD_COPY },
	{ "uffd_wake", SC_UFFD_WAKE },	{ "uffd_close", SC_UFFD_CLOSE },
	{ "fork", SC_FORK },		{ "exit", SC_EXIT },
};

#define VERB_HELP "mmap, munmap, mprotect, madvise, mremap, uffd_wp, move_pages, write, read, gup, gup_fast, follow_page, process_vm_readv, pagemap, mincore, folio_referenced, uffd_register, uffd_unregister, uffd_read, uffd_copy, uffd_wake, uffd_close, fork or exit"

static bool is_verb(const struct sc_word *w)
{
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (sc_word_is(w, verbs[i].verb))
			return true;
	return false;
}

/* The option words each op takes, in any order, each at most once. */
static const struct {
	const char *word;
	unsigned int opt;
	enum sc_kind kind;
} options[] = {
	{ "write", SC_OPT_WRITE, SC_GUP },
	{ "nowait", SC_OPT_NOWAIT, SC_GUP },
	{ "write", SC_OPT_WRITE, SC_GUP_FAST },
	{ "fast_only", SC_OPT_FAST_ONLY, SC_GUP_FAST },
	{ "nonblock", SC_OPT_NONBLOCK, SC_UFFD_READ },
	{ "dontwake", SC_OPT_DONTWAKE, SC_UFFD_COPY },
};

static int parse_options(struct sc_parser *p, struct sc_op *op)
{
	struct sc_word *w;
	size_t i;

	while ((w = sc_peek(p))) {
		for (i = 0; i < ARRAY_SIZE(options); i++)
			if (options[i].kind == op->kind &&
			    sc_word_is(w, options[i].word))
				break;
		if (i == ARRAY_SIZE(options))
			return 0;
		if (op->opts & options[i].opt)
			return sc_error_at(p, w->col, "'%s' is given twice",
					   options[i].word);
		op->opts |= options[i].opt;
		p->i++;
	}
	return 0;
}

/*
 * Ops that may run in the background: those that can sleep in a fault,
 * the walkers' call sites, and what unshares or frees the tables they
 * walk (munmap, mprotect, mremap, uffd_wp, move_pages), so that a
 * scenario can race them (hugewalk race --scenario).
 */
static bool may_background(enum sc_kind kind)
{
	switch (kind) {
	case SC_READ:
	case SC_WRITE:
	case SC_MADVISE:
	case SC_GUP:
	case SC_GUP_FAST:
	case SC_PROCESS_VM_READV:
	case SC_FOLLOW_PAGE:
	case SC_PAGEMAP:
	case SC_MINCORE:
	case SC_FOLIO_REFERENCED:
	case SC_MUNMAP:
	case SC_MPROTECT:
	case SC_MREMAP:
	case SC_UFFD_WP:
	case SC_MOVE_PAGES:
		return true;
	default:
		return false;
	}
}

/* `&` after the arguments: the op runs on a thread of its own. */
static int parse_background(struct sc_parser *p, struct sc_op *op)
{
	struct sc_word *w = sc_peek(p);

	if (!sc_word_is(w, "&"))
		return 0;
	if (!may_background(op->kind))
		return sc_error_at(p, w->col,
				   "'%s' cannot run in the background: only the accesses, madvise, munmap, mprotect, mremap, uffd_wp, move_pages and the walkers (gup, gup_fast, follow_page, process_vm_readv, pagemap, mincore, folio_referenced) can",
				   sc_kind_name(op->kind));
	if (p->nbg == SC_MAX_BG)
		return sc_error_at(p, w->col,
				   "more than %d background ops in flight: 'wait' for some first",
				   SC_MAX_BG);
	op->background = true;
	op->bg_pos = (struct sc_pos){ p->line, w->col };
	p->bg[p->nbg++] = (struct sc_bg){
		.proc = op->proc,
		.peer = op->kind == SC_PROCESS_VM_READV ? op->peer : -1,
		.pos = op->bg_pos,
		.op = p->sc->nops,
	};
	p->i++;
	return 0;
}

/* A background op that involves @proc and is not waited for, or NULL. */
static const struct sc_bg *bg_of(const struct sc_parser *p, int proc)
{
	for (int i = 0; i < p->nbg; i++)
		if (p->bg[i].proc == proc || p->bg[i].peer == proc)
			return &p->bg[i];
	return NULL;
}

static int parse_proc_op(struct sc_parser *p, struct sc_op *op)
{
	const uint64_t sys = ALLOW_ERRNO | ALLOW_FAULTS;
	const struct sc_bg *bg;
	const char *who;
	struct sc_word *w;
	uint64_t allow = 0;
	char got[96];
	uint64_t v;
	size_t i;
	int ret = 0;

	if (sc_use_name(p, SC_NAME_PROC, &op->proc))
		return -EINVAL;
	w = sc_peek(p);
	for (i = 0; i < ARRAY_SIZE(verbs); i++)
		if (sc_word_is(w, verbs[i].verb))
			break;
	if (i == ARRAY_SIZE(verbs))
		return sc_error_at(p, sc_col(p),
				   "expected an operation (" VERB_HELP "), got %s",
				   sc_got(w, got, sizeof(got)));
	op->kind = verbs[i].kind;
	p->i++;

	switch (op->kind) {
	case SC_MMAP:
		allow = sys;
		ret = sc_arg_addr(p, &op->addr) ?:
		      sc_arg_size(p, WHAT_SIZE, true, &op->len) ?:
		      sc_arg_prot(p, &op->prot) ?:
		      sc_arg_map_flags(p, &op->flags) ?:
		      sc_use_name(p, SC_NAME_FILE, &op->file);
		w = sc_peek(p);
		if (!ret && w && sc_number(w->s, w->len, true, &v) != -EINVAL)
			ret = sc_arg_size(p, WHAT_OFF, false, &op->off);
		break;
	case SC_MUNMAP:
	case SC_UFFD_WP:
	case SC_UFFD_UNREGISTER:
	case SC_UFFD_WAKE:
		allow = sys;
		ret = sc_arg_addr(p, &op->addr) ?:
		      sc_arg_size(p, WHAT_SIZE, true, &op->len);
		break;
	case SC_UFFD_REGISTER:
		allow = sys;
		ret = sc_arg_addr(p, &op->addr) ?:
		      sc_arg_size(p, WHAT_SIZE, true, &op->len);
		if (ret)
			break;
		w = sc_peek(p);
		if (!sc_word_is(w, "missing"))
			return sc_error_at(p, sc_col(p),
					   "expected a mode, missing (write-protect mode is 'uffd_wp'), got %s",
					   sc_got(w, got, sizeof(got)));
		op->opts |= SC_OPT_MISSING;
		p->i++;
		break;
	case SC_MPROTECT:
		allow = sys;
		ret = sc_arg_addr(p, &op->addr) ?:
		      sc_arg_size(p, WHAT_SIZE, false, &op->len) ?:
		      sc_arg_prot(p, &op->prot);
		break;
	case SC_MADVISE:
		allow = sys;
		ret = sc_arg_addr(p, &op->addr) ?:
		      sc_arg_size(p, WHAT_SIZE, false, &op->len) ?:
		      sc_arg_advice(p, &op->advice);
		break;
	case SC_MREMAP:
		allow = sys;
		ret = sc_arg_addr(p, &op->addr) ?:
		      sc_arg_size(p, WHAT_SIZE, true, &op->len) ?:
		      sc_arg_size(p, WHAT_SIZE, true, &op->new_len) ?:
		      sc_arg_addr(p, &op->new_addr);
		break;
	case SC_MOVE_PAGES:
		allow = sys;
		ret = sc_arg_addr(p, &op->addr);
		break;
	case SC_WRITE:
	case SC_READ:
		allow = ALLOW_SIGNAL | ALLOW_FAULTS;
		if (op->kind == SC_READ)
			allow |= ALLOW_TAG;
		ret = sc_arg_addr(p, &op->addr) ?:
		      sc_arg_count(p, op->addr, &op->count);
		if (!ret && op->kind == SC_WRITE)
			ret = sc_arg_tag(p, &op->tag);
		break;
	case SC_GUP:
	case SC_GUP_FAST:
		allow = sys | ALLOW_TAG | ALLOW_KEY(SC_KEY_PINNED);
		if (op->kind == SC_GUP_FAST)
			allow |= ALLOW_KEY(SC_KEY_FAST);
		ret = sc_arg_addr(p, &op->addr) ?:
		      sc_arg_count(p, op->addr, &op->count);
		break;
	case SC_PROCESS_VM_READV:
		allow = sys | ALLOW_TAG | ALLOW_KEY(SC_KEY_PAGES);
		ret = sc_use_name(p, SC_NAME_PROC, &op->peer) ?:
		      sc_arg_addr(p, &op->addr) ?:
		      sc_arg_count(p, op->addr, &op->count);
		break;
	case SC_FOLLOW_PAGE:
		allow = sys | ALLOW_TAG | ALLOW_KEY(SC_KEY_PRESENT) |
			ALLOW_KEY(SC_KEY_WRITABLE);
		ret = sc_arg_addr(p, &op->addr);
		break;
	case SC_PAGEMAP:
		allow = sys | ALLOW_KEY(SC_KEY_PRESENT) |
			ALLOW_KEY(SC_KEY_EXCLUSIVE) | ALLOW_KEY(SC_KEY_FILE);
		ret = sc_arg_addr(p, &op->addr) ?:
		      sc_arg_count(p, op->addr, &op->count);
		break;
	case SC_MINCORE:
		allow = sys | ALLOW_KEY(SC_KEY_RESIDENT);
		ret = sc_arg_addr(p, &op->addr) ?:
		      sc_arg_size(p, WHAT_SIZE, false, &op->len);
		break;
	case SC_FOLIO_REFERENCED:
		op->model_only = true;
		allow = sys | ALLOW_KEY(SC_KEY_REFERENCED);
		ret = sc_arg_addr(p, &op->addr);
		break;
	case SC_UFFD_READ:
		allow = sys | ALLOW_KEY(SC_KEY_ADDR) | ALLOW_KEY(SC_KEY_WRITE);
		break;
	case SC_UFFD_COPY:
		allow = sys;
		ret = sc_arg_addr(p, &op->addr) ?: sc_arg_tag(p, &op->tag);
		break;
	case SC_UFFD_CLOSE:
		allow = sys;
		break;
	case SC_FORK:
		allow = sys;
		ret = sc_declare(p, SC_NAME_PROC, &op->target);
		break;
	case SC_EXIT:
		bg = bg_of(p, op->proc);
		if (!bg)
			break;
		who = p->sc->names[bg->proc].name;
		return sc_error_at(p, p->w[p->i - 1].col,
				   "'%s' cannot exit while the background op of line %d uses it: 'wait %s' first",
				   p->sc->names[op->proc].name, bg->pos.line,
				   who);
	default:
		break;
	}
	return ret ?: parse_options(p, op) ?: parse_background(p, op) ?:
	       sc_parse_tail(p, op, allow);
}

/* wait [P]: every background op of P, or every one. */
static int parse_wait(struct sc_parser *p, struct sc_op *op)
{
	int n = 0, col = sc_col(p);

	if (sc_peek(p) && sc_use_name(p, SC_NAME_PROC, &op->proc))
		return -EINVAL;
	for (int i = 0; i < p->nbg; i++) {
		if (op->proc >= 0 && p->bg[i].proc != op->proc) {
			p->bg[n++] = p->bg[i];
			continue;
		}
		op->count++;
	}
	if (!op->count)
		return sc_error_at(p, op->proc >= 0 ? col : op->pos.col,
				   op->proc >= 0 ?
				   "'%s' has no background op to wait for (start one with '&' after an access)" :
				   "%sno background op to wait for (start one with '&' after an access)",
				   op->proc >= 0 ? p->sc->names[op->proc].name : "");
	p->nbg = n;
	return 0;
}

static int parse_statement(struct sc_parser *p, struct sc_op *op)
{
	struct sc_word *w = sc_peek(p);
	char got[96];
	int ret;

	if (sc_word_is(w, "pool")) {
		op->kind = SC_POOL;
		p->i++;
		ret = sc_expect_number(p, "a number of huge pages (like 64)",
				       false, &op->len);
		if (!ret && op->len > SC_MAX_POOL)
			ret = sc_error_at(p, p->w[p->i - 1].col,
					  "a pool of at most %lu huge pages, got %llu",
					  SC_MAX_POOL,
					  (unsigned long long)op->len);
		return ret;
	}
	if (sc_word_is(w, "policy")) {
		op->kind = SC_POLICY;
		op->model_only = true;
		p->i++;
		w = sc_peek(p);
		if (!w)
			return sc_error_at(p, p->eol_col,
					   "expected a policy name (see 'hugewalk policies'), got end of line");
		op->name = strndup(w->s, w->len);
		if (!op->name)
			return -ENOMEM;
		op->name_pos = (struct sc_pos){ p->line, w->col };
		p->i++;
		return 0;
	}
	if (sc_word_is(w, "memfd")) {
		op->kind = SC_MEMFD;
		p->i++;
		ret = sc_declare(p, SC_NAME_FILE, &op->target);
		op->file = op->target;
		return ret ?: sc_parse_tail(p, op, ALLOW_ERRNO);
	}
	if (sc_word_is(w, "ftruncate")) {
		op->kind = SC_FTRUNCATE;
		p->i++;
		return sc_use_name(p, SC_NAME_FILE, &op->file) ?:
		       sc_arg_size(p, WHAT_SIZE, false, &op->len) ?:
		       sc_parse_tail(p, op, ALLOW_ERRNO);
	}
	if (sc_word_is(w, "fallocate")) {
		op->kind = SC_FALLOCATE;
		p->i++;
		if (sc_use_name(p, SC_NAME_FILE, &op->file))
			return -EINVAL;
		w = sc_peek(p);
		if (sc_word_is(w, "punch")) {
			op->mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
			p->i++;
		} else if (sc_word_is(w, "keep_size")) {
			op->mode = FALLOC_FL_KEEP_SIZE;
			p->i++;
		}
		return sc_arg_size(p, WHAT_OFF, false, &op->off) ?:
		       sc_arg_size(p, WHAT_SIZE, true, &op->len) ?:
		       sc_parse_tail(p, op, ALLOW_ERRNO);
	}
	if (sc_word_is(w, "close")) {
		op->kind = SC_CLOSE;
		p->i++;
		return sc_use_name(p, SC_NAME_FILE, &op->file) ?:
		       sc_parse_tail(p, op, ALLOW_ERRNO);
	}
	if (sc_word_is(w, "spawn")) {
		op->kind = SC_SPAWN;
		p->i++;
		return sc_declare(p, SC_NAME_PROC, &op->target) ?:
		       sc_parse_tail(p, op, ALLOW_ERRNO);
	}
	if (sc_word_is(w, "expect")) {
		op->kind = SC_EXPECT;
		p->i++;
		return sc_parse_expect(p, op);
	}
	if (sc_word_is(w, "wait")) {
		op->kind = SC_WAIT;
		p->i++;
		return parse_wait(p, op);
	}
	if (sc_word_is(w, "violations")) {
		op->kind = SC_VIOLATIONS;
		op->model_only = true;
		p->i++;
		w = sc_peek(p);
		if (!sc_word_is(w, "record"))
			return sc_error_at(p, sc_col(p),
					   "expected 'record' (count walk-rule violations instead of failing the run), got %s",
					   sc_got(w, got, sizeof(got)));
		if (p->violations_line)
			return sc_error_at(p, w->col,
					   "violations are already recorded from line %d",
					   p->violations_line);
		p->violations_line = p->line;
		p->i++;
		return 0;
	}
	if (sc_word_is(w, "draw") || sc_word_is(w, "check")) {
		op->kind = sc_word_is(w, "draw") ? SC_DRAW : SC_CHECK;
		op->model_only = true;
		if (p->nbg)
			return sc_error_at(p, w->col,
					   "'%.*s' needs a machine at rest, but the background op of line %d may still run: 'wait' first",
					   w->len, w->s, p->bg[0].pos.line);
		p->i++;
		return 0;
	}
	if (sc_name_find(p->sc, w->s, w->len) >= 0)
		return parse_proc_op(p, op);
	if (sc_is_keyword(w->s, w->len))
		return sc_error_at(p, w->col,
				   "%s needs a process first, like 'A %.*s ...'",
				   sc_got(w, got, sizeof(got)), w->len, w->s);
	if (p->n > 1 && is_verb(&p->w[1]) && sc_name_valid(w->s, w->len))
		return sc_error_at(p, w->col,
				   "unknown process %s (declare it first with 'spawn %.*s' or 'P fork %.*s')",
				   sc_got(w, got, sizeof(got)), w->len, w->s,
				   w->len, w->s);
	return sc_error_at(p, w->col,
			   "expected a statement (pool, policy, memfd, ftruncate, fallocate, close, spawn, expect, wait, violations, draw, check) or a process name, got %s",
			   sc_got(w, got, sizeof(got)));
}

/* The line's words joined by single blanks, for the trace. */
static char *squeeze(const struct sc_parser *p)
{
	size_t len = 0, o = 0;
	char *s;

	for (int i = 0; i < p->n; i++)
		len += p->w[i].len + 1;
	s = malloc(len + 1);
	if (!s)
		return NULL;
	for (int i = 0; i < p->n; i++) {
		if (i)
			s[o++] = ' ';
		memcpy(s + o, p->w[i].s, p->w[i].len);
		o += p->w[i].len;
	}
	s[o] = '\0';
	return s;
}

static void op_release(struct sc_op *op)
{
	free(op->text);
	free(op->name);
}

static int parse_line(struct sc_parser *p)
{
	struct scenario *sc = p->sc;
	struct sc_op op = {
		.pos = { p->line, p->w[0].col },
		.proc = -1, .file = -1, .target = -1, .subject = -1,
		.peer = -1,
	};
	char got[96];
	int ret;

	ret = parse_statement(p, &op);
	if (!ret && p->i < p->n)
		ret = sc_error_at(p, p->w[p->i].col,
				  "expected end of line, got %s",
				  sc_got(&p->w[p->i], got, sizeof(got)));
	if (!ret) {
		op.text = squeeze(p);
		if (!op.text)
			ret = -ENOMEM;
	}
	if (!ret && sc->nops == p->ops_cap) {
		size_t cap = p->ops_cap ? 2 * p->ops_cap : 32;
		struct sc_op *ops = realloc(sc->ops, cap * sizeof(*ops));

		if (ops) {
			sc->ops = ops;
			p->ops_cap = cap;
		} else {
			ret = -ENOMEM;
		}
	}
	if (ret) {
		if (ret == -ENOMEM)
			sc_error_at(p, op.pos.col, "out of memory");
		op_release(&op);
		return ret;
	}
	/* The names this line ends stay unusable from the next line on. */
	if (op.kind == SC_EXIT)
		sc->names[op.proc].end_line = p->line;
	if (op.kind == SC_CLOSE)
		sc->names[op.file].end_line = p->line;
	sc->ops[sc->nops++] = op;
	return 0;
}

int scenario_parse(const char *path, const char *text, size_t len,
		   struct scenario **out, struct sc_error *err)
{
	struct sc_parser p = { .path = path, .err = err };
	size_t pos = 0;
	int ret = 0;

	memset(err, 0, sizeof(*err));
	*out = NULL;
	p.sc = calloc(1, sizeof(*p.sc));
	if (!p.sc || !(p.sc->path = strdup(path))) {
		snprintf(err->msg, sizeof(err->msg), "%s: out of memory", path);
		scenario_free(p.sc);
		return -ENOMEM;
	}
	while (pos < len) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		const char *nul = memchr(s, '\0', n);

		p.line++;
		pos += n + 1;
		if (nul) {
			ret = sc_error_at(&p, (int)(nul - s) + 1,
					  "unexpected NUL byte (is this a text file?)");
			break;
		}
		ret = sc_lex_line(&p, s, n);
		if (ret)
			break;
		if (!p.n)
			continue;
		ret = parse_line(&p);
		if (ret)
			break;
	}
	if (!ret && p.nbg) {
		const struct sc_op *op = &p.sc->ops[p.bg[0].op];

		p.line = p.bg[0].pos.line;
		ret = sc_error_at(&p, p.bg[0].pos.col,
				  "the background op '%s' is never waited for: add 'wait %s' after it",
				  op->text, p.sc->names[op->proc].name);
	}
	if (ret) {
		scenario_free(p.sc);
		return ret;
	}
	*out = p.sc;
	return 0;
}

int scenario_load(const char *path, struct scenario **out,
		  struct sc_error *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, ret;

	memset(err, 0, sizeof(*err));
	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		goto fail;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		goto fail_close;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		goto fail_close;
	}
	buf = malloc(SC_MAX_FILE + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto fail_close;
	}
	/* Read one byte more than allowed, to tell "too big" from "fits". */
	while (len <= SC_MAX_FILE) {
		n = read(fd, buf + len, SC_MAX_FILE + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto fail_free;
		}
		if (!n)
			break;
		len += n;
	}
	close(fd);
	if (len > SC_MAX_FILE) {
		free(buf);
		snprintf(err->msg, sizeof(err->msg),
			 "%s: larger than %lu bytes, not a scenario", path,
			 SC_MAX_FILE);
		return -EFBIG;
	}
	ret = scenario_parse(path, buf, len, out, err);
	free(buf);
	return ret;

fail_free:
	free(buf);
fail_close:
	close(fd);
fail:
	snprintf(err->msg, sizeof(err->msg), "%s: %s", path, strerror(-ret));
	return ret;
}

void scenario_free(struct scenario *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->nops; i++)
		op_release(&sc->ops[i]);
	for (size_t i = 0; i < sc->nnames; i++)
		free(sc->names[i].name);
	free(sc->ops);
	free(sc->names);
	free(sc->path);
	free(sc);
}
