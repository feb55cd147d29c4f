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
	{ "read", SC_READ },		{ "fork", SC_FORK },
	{ "exit", SC_EXIT },
};

static bool is_verb(const struct sc_word *w)
{
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (sc_word_is(w, verbs[i].verb))
			return true;
	return false;
}

static int parse_proc_op(struct sc_parser *p, struct sc_op *op)
{
	const unsigned int sys = ALLOW_ERRNO | ALLOW_FAULTS;
	struct sc_word *w;
	unsigned int allow = 0;
	char got[96];
	uint64_t v;
	size_t i;
	int ret = 0, col;

	if (sc_use_name(p, SC_NAME_PROC, &op->proc))
		return -EINVAL;
	w = sc_peek(p);
	for (i = 0; i < ARRAY_SIZE(verbs); i++)
		if (sc_word_is(w, verbs[i].verb))
			break;
	if (i == ARRAY_SIZE(verbs))
		return sc_error_at(p, sc_col(p),
				   "expected an operation (mmap, munmap, mprotect, madvise, mremap, uffd_wp, move_pages, write, read, fork or exit), got %s",
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
		allow = sys;
		ret = sc_arg_addr(p, &op->addr) ?:
		      sc_arg_size(p, WHAT_SIZE, true, &op->len);
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
		if (ret || op->kind == SC_READ)
			break;
		w = sc_peek(p);
		col = sc_col(p);
		if (!w || w->len < 5 || memcmp(w->s, "tag=", 4))
			return sc_error_at(p, col,
					   "expected tag=T, the tag to store (like tag=0x11), got %s",
					   sc_got(w, got, sizeof(got)));
		if (sc_number(w->s + 4, w->len - 4, false, &op->tag))
			return sc_error_at(p, col + 4,
					   "expected a 64-bit number (like 0x11) after 'tag=', got %s",
					   sc_got(&(struct sc_word){ w->s + 4,
						  w->len - 4, col + 4 },
						  got, sizeof(got)));
		p->i++;
		break;
	case SC_FORK:
		allow = sys;
		ret = sc_declare(p, SC_NAME_PROC, &op->target);
		break;
	case SC_EXIT:
		break;
	default:
		break;
	}
	return ret ?: sc_parse_tail(p, op, allow);
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
	if (sc_word_is(w, "draw") || sc_word_is(w, "check")) {
		op->kind = sc_word_is(w, "draw") ? SC_DRAW : SC_CHECK;
		op->model_only = true;
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
			   "expected a statement (pool, policy, memfd, ftruncate, fallocate, close, spawn, expect, draw, check) or a process name, got %s",
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
