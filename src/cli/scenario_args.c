// SPDX-License-Identifier: MIT
/*
 * Scenario parser, the pieces of a statement: names (declared and used in
 * file order), arguments (addresses, sizes, protections, flags), and the
 * expectations after `=>` and on `expect` lines.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <hugewalk/system.h>

#include "cli/scenario_lex.h"

static const char *const kind_names[SC_NR_KINDS] = {
	[SC_POOL] = "pool",		[SC_POLICY] = "policy",
	[SC_MEMFD] = "memfd",		[SC_FTRUNCATE] = "ftruncate",
	[SC_FALLOCATE] = "fallocate",	[SC_CLOSE] = "close",
	[SC_SPAWN] = "spawn",		[SC_MMAP] = "mmap",
	[SC_MUNMAP] = "munmap",		[SC_MPROTECT] = "mprotect",
	[SC_MADVISE] = "madvise",	[SC_MREMAP] = "mremap",
	[SC_UFFD_WP] = "uffd_wp",	[SC_MOVE_PAGES] = "move_pages",
	[SC_WRITE] = "write",		[SC_READ] = "read",
	[SC_GUP] = "gup",		[SC_GUP_FAST] = "gup_fast",
	[SC_FOLLOW_PAGE] = "follow_page",
	[SC_PROCESS_VM_READV] = "process_vm_readv",
	[SC_PAGEMAP] = "pagemap",	[SC_MINCORE] = "mincore",
	[SC_FOLIO_REFERENCED] = "folio_referenced",
	[SC_UFFD_REGISTER] = "uffd_register",
	[SC_UFFD_UNREGISTER] = "uffd_unregister",
	[SC_UFFD_READ] = "uffd_read",	[SC_UFFD_COPY] = "uffd_copy",
	[SC_UFFD_WAKE] = "uffd_wake",	[SC_UFFD_CLOSE] = "uffd_close",
	[SC_FORK] = "fork",		[SC_EXIT] = "exit",
	[SC_EXPECT] = "expect",		[SC_WAIT] = "wait",
	[SC_VIOLATIONS] = "violations",	[SC_DRAW] = "draw",
	[SC_CHECK] = "check",
};

/* Where a key may be written: an `expect` line of a process or of the
 * system, or after `=>` on an op. */
enum key_scope { KEY_PROC, KEY_SYS, KEY_OP };

static const struct {
	const char *name;
	enum key_scope scope;
	bool model_only;
	bool suffix;		/* the value may be 2M, 1G */
	bool boolean;		/* the value is 0 or 1 */
} keys[SC_NR_KEYS] = {
	[SC_KEY_FAULTS] = { "faults", KEY_PROC },
	[SC_KEY_NR_PMDS] = { "nr_pmds", KEY_PROC, true },
	[SC_KEY_RSS] = { "rss", KEY_PROC },
	[SC_KEY_TOTAL] = { "total", KEY_SYS },
	[SC_KEY_FREE] = { "free", KEY_SYS },
	[SC_KEY_RSVD] = { "rsvd", KEY_SYS },
	[SC_KEY_PAGETABLES] = { "pagetables", KEY_SYS, true },
	[SC_KEY_SHARED] = { "shared", KEY_SYS, true },
	[SC_KEY_VIOLATIONS] = { "violations", KEY_SYS, true },
	[SC_KEY_TAG] = { "tag", KEY_OP },
	[SC_KEY_PINNED] = { "pinned", KEY_OP },
	[SC_KEY_FAST] = { "fast", KEY_OP },
	[SC_KEY_PAGES] = { "pages", KEY_OP },
	[SC_KEY_PRESENT] = { "present", KEY_OP, .boolean = true },
	[SC_KEY_WRITABLE] = { "writable", KEY_OP, .boolean = true },
	[SC_KEY_EXCLUSIVE] = { "exclusive", KEY_OP, .boolean = true },
	[SC_KEY_FILE] = { "file", KEY_OP, .boolean = true },
	[SC_KEY_RESIDENT] = { "resident", KEY_OP },
	[SC_KEY_REFERENCED] = { "referenced", KEY_OP },
	[SC_KEY_ADDR] = { "addr", KEY_OP, .suffix = true },
	[SC_KEY_WRITE] = { "write", KEY_OP, .boolean = true },
};

/* The kernel functions of docs/policies.md, as hw_violations() names them. */
static const char *const sites[SC_NR_SITES] = {
	"hugetlb_fault", "follow_hugetlb_page", "hugetlb_follow_page_mask",
	"gup_fast", "walk_hugetlb_range", "page_vma_mapped_walk",
	"userfaultfd_huge_must_wait", "hugetlb_vma_maps_page",
	"huge_pmd_share", "__unmap_hugepage_range",
};

const char *sc_kind_name(enum sc_kind kind)
{
	return kind < SC_NR_KINDS ? kind_names[kind] : "?";
}

const char *sc_key_name(enum sc_key key)
{
	return key < SC_NR_KEYS ? keys[key].name : "?";
}

bool sc_key_model_only(enum sc_key key)
{
	return key < SC_NR_KEYS && keys[key].model_only;
}

const char *sc_site_name(int site)
{
	return site >= 0 && site < SC_NR_SITES ? sites[site] : "?";
}

int sc_site_parse(const char *s, int len)
{
	for (int i = 0; i < SC_NR_SITES; i++)
		if ((size_t)len == strlen(sites[i]) &&
		    !memcmp(s, sites[i], len))
			return i;
	return -1;
}

/* ---- names ------------------------------------------------------------- */

static const char *name_kind(enum sc_name_kind kind)
{
	return kind == SC_NAME_PROC ? "process" : "file";
}

int sc_declare(struct sc_parser *p, enum sc_name_kind kind, int *idx)
{
	struct scenario *sc = p->sc;
	struct sc_word *w = sc_peek(p);
	char got[96];
	int old;

	if (!w || !sc_name_valid(w->s, w->len) || sc_is_keyword(w->s, w->len))
		return sc_error_at(p, sc_col(p),
				   "expected a new %s name (a letter, then letters, digits, '_', '-' or '.'; not a keyword), got %s",
				   name_kind(kind),
				   sc_got(w, got, sizeof(got)));
	old = sc_name_find(sc, w->s, w->len);
	if (old >= 0)
		return sc_error_at(p, w->col,
				   "'%s' is already declared, as a %s at line %d",
				   sc->names[old].name,
				   name_kind(sc->names[old].kind),
				   sc->names[old].decl_line);
	if (sc->nnames == p->names_cap) {
		size_t cap = p->names_cap ? 2 * p->names_cap : 8;
		struct sc_name *n = realloc(sc->names, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		sc->names = n;
		p->names_cap = cap;
	}
	sc->names[sc->nnames] = (struct sc_name){
		.name = strndup(w->s, w->len),
		.kind = kind,
		.decl_line = p->line,
	};
	if (!sc->names[sc->nnames].name)
		return -ENOMEM;
	*idx = (int)sc->nnames++;
	p->i++;
	return 0;
}

/* A live name of @kind at the next word. */
int sc_use_name(struct sc_parser *p, enum sc_name_kind kind, int *idx)
{
	struct sc_word *w = sc_peek(p);
	const struct sc_name *n;
	char got[96];
	int i;

	if (!w)
		return sc_error_at(p, p->eol_col,
				   "expected a %s name, got end of line",
				   name_kind(kind));
	i = sc_name_find(p->sc, w->s, w->len);
	if (i < 0)
		return sc_error_at(p, w->col,
				   kind == SC_NAME_PROC ?
				   "unknown process %s (declare it first with 'spawn NAME' or 'P fork NAME')" :
				   "unknown file %s (declare it first with 'memfd NAME')",
				   sc_got(w, got, sizeof(got)));
	n = &p->sc->names[i];
	if (n->kind != kind)
		return sc_error_at(p, w->col,
				   "expected a %s name, got '%s', a %s declared at line %d",
				   name_kind(kind), n->name,
				   name_kind(n->kind), n->decl_line);
	if (n->end_line)
		return sc_error_at(p, w->col, "%s '%s' is gone: %s at line %d",
				   name_kind(kind), n->name,
				   kind == SC_NAME_PROC ? "it exited" :
				   "it was closed", n->end_line);
	*idx = i;
	p->i++;
	return 0;
}

/* ---- arguments ---------------------------------------------------------- */

int sc_arg_addr(struct sc_parser *p, uint64_t *v)
{
	int col = sc_col(p), ret;

	ret = sc_expect_number(p, WHAT_ADDR, true, v);
	if (!ret && *v >= SC_ADDR_LIMIT)
		ret = sc_error_at(p, col,
				  "address 0x%llx is not below 2^47 (0x%llx), the top of user space",
				  (unsigned long long)*v,
				  (unsigned long long)SC_ADDR_LIMIT);
	return ret;
}

int sc_arg_size(struct sc_parser *p, const char *what, bool nonzero,
		uint64_t *v)
{
	int col = sc_col(p), ret;

	ret = sc_expect_number(p, what, true, v);
	if (ret)
		return ret;
	if (nonzero && !*v)
		return sc_error_at(p, col, "expected %s, got zero", what);
	if (*v > SC_ADDR_LIMIT)
		return sc_error_at(p, col,
				   "0x%llx is larger than 2^47 (128T)",
				   (unsigned long long)*v);
	return 0;
}

/* r, w, rw or none */
int sc_arg_prot(struct sc_parser *p, int *prot)
{
	struct sc_word *w = sc_peek(p);
	char got[96];

	if (sc_word_is(w, "none"))
		*prot = PROT_NONE;
	else if (sc_word_is(w, "r"))
		*prot = PROT_READ;
	else if (sc_word_is(w, "w"))
		*prot = PROT_WRITE;
	else if (sc_word_is(w, "rw"))
		*prot = PROT_READ | PROT_WRITE;
	else
		return sc_error_at(p, sc_col(p),
				   "expected a protection (r, w, rw or none), got %s",
				   sc_got(w, got, sizeof(got)));
	p->i++;
	return 0;
}

/* shared|private[,noreserve] */
int sc_arg_map_flags(struct sc_parser *p, int *flags)
{
	struct sc_word *w = sc_peek(p);
	struct sc_word base;
	char got[96];

	if (!w)
		goto bad;
	base = *w;
	*flags = 0;
	if (base.len > 10 && !memcmp(base.s + base.len - 10, ",noreserve", 10)) {
		base.len -= 10;
		*flags |= MAP_NORESERVE;
	}
	if (sc_word_is(&base, "shared"))
		*flags |= MAP_SHARED;
	else if (sc_word_is(&base, "private"))
		*flags |= MAP_PRIVATE;
	else
		goto bad;
	p->i++;
	return 0;
bad:
	return sc_error_at(p, sc_col(p),
			   "expected mapping flags (shared or private, optionally followed by ',noreserve'), got %s",
			   sc_got(w, got, sizeof(got)));
}

int sc_arg_advice(struct sc_parser *p, int *advice)
{
	static const struct { const char *name; int value; } advs[] = {
		{ "dontneed", MADV_DONTNEED },
		{ "remove", MADV_REMOVE },
		{ "populate_read", MADV_POPULATE_READ },
		{ "populate_write", MADV_POPULATE_WRITE },
	};
	struct sc_word *w = sc_peek(p);
	char got[96];

	for (size_t i = 0; i < ARRAY_SIZE(advs); i++) {
		if (sc_word_is(w, advs[i].name)) {
			*advice = advs[i].value;
			p->i++;
			return 0;
		}
	}
	return sc_error_at(p, sc_col(p),
			   "expected advice (dontneed, remove, populate_read or populate_write), got %s",
			   sc_got(w, got, sizeof(got)));
}

/* [N]: a page count, if the next word is a number */
int sc_arg_count(struct sc_parser *p, uint64_t addr, uint64_t *count)
{
	struct sc_word *w = sc_peek(p);
	uint64_t dummy;
	int col;

	*count = 1;
	if (!w || sc_number(w->s, w->len, false, &dummy) == -EINVAL)
		return 0;
	col = w->col;
	if (sc_expect_number(p, WHAT_COUNT, false, count))
		return -EINVAL;
	if (!*count || *count > SC_MAX_PAGES)
		return sc_error_at(p, col,
				   "expected a page count from 1 to %lu, got %llu",
				   SC_MAX_PAGES, (unsigned long long)*count);
	if (*count > (SC_ADDR_LIMIT - addr) / HW_HPAGE_SIZE)
		return sc_error_at(p, col,
				   "%llu pages from 0x%llx go past 2^47",
				   (unsigned long long)*count,
				   (unsigned long long)addr);
	return 0;
}

/* T of tag=T: write and uffd_copy store it. */
int sc_arg_tag(struct sc_parser *p, uint64_t *tag)
{
	struct sc_word *w = sc_peek(p);
	int col = sc_col(p);
	char got[96];

	if (!w || w->len < 5 || memcmp(w->s, "tag=", 4))
		return sc_error_at(p, col,
				   "expected tag=T, the tag to store (like tag=0x11), got %s",
				   sc_got(w, got, sizeof(got)));
	if (sc_number(w->s + 4, w->len - 4, false, tag))
		return sc_error_at(p, col + 4,
				   "expected a 64-bit number (like 0x11) after 'tag=', got %s",
				   sc_got(&(struct sc_word){ w->s + 4,
					  w->len - 4, col + 4 }, got,
					  sizeof(got)));
	p->i++;
	return 0;
}

/* ---- expectations -------------------------------------------------------- */

static int add_check(struct sc_parser *p, struct sc_op *op, enum sc_key key,
		     int site, uint64_t value, int col)
{
	for (int i = 0; i < op->nchecks; i++)
		if (op->checks[i].key == key && op->checks[i].site == site)
			return sc_error_at(p, col, "'%s=' is given twice",
					   site >= 0 ? sc_site_name(site) :
					   sc_key_name(key));
	if (op->nchecks == SC_MAX_CHECKS)
		return sc_error_at(p, col, "more than %d expectations on one line",
				   SC_MAX_CHECKS);
	op->checks[op->nchecks++] = (struct sc_check){
		.key = key,
		.site = site,
		.value = value,
		.pos = { p->line, col },
	};
	return 0;
}

/* The value of a KEY=VALUE word at @v, for key @k. */
static int key_number(struct sc_parser *p, int k, struct sc_word *v,
		      uint64_t *value)
{
	char got[96];
	int ret;

	ret = sc_number(v->s, v->len, keys[k].suffix, value);
	if (ret == -ERANGE)
		return sc_error_at(p, v->col, "number %s does not fit in 64 bits",
				   sc_got(v, got, sizeof(got)));
	if (ret)
		return sc_error_at(p, v->col,
				   "expected a number (like %s) after '%s=', got %s",
				   keys[k].suffix ? "0x40000000 or 1G" :
				   "3 or 0x11", keys[k].name,
				   sc_got(v, got, sizeof(got)));
	if (keys[k].boolean && *value > 1)
		return sc_error_at(p, v->col,
				   "expected 0 or 1 after '%s=', got %s",
				   keys[k].name, sc_got(v, got, sizeof(got)));
	return 0;
}

/*
 * A KEY=VALUE word: the key's index in keys[] (any key, the caller checks
 * where it is allowed), the value parsed.  -1 if @w has no '='.
 */
static int key_value(struct sc_parser *p, struct sc_word *w, uint64_t *value,
		     int *err)
{
	const char *eq = memchr(w->s, '=', w->len);
	struct sc_word v;
	int klen;
	char got[96];

	*err = 0;
	if (!eq)
		return -1;
	klen = (int)(eq - w->s);
	v = (struct sc_word){ eq + 1, w->len - klen - 1, w->col + klen + 1 };
	for (int k = 0; k < SC_NR_KEYS; k++) {
		if ((size_t)klen != strlen(keys[k].name) ||
		    memcmp(w->s, keys[k].name, klen))
			continue;
		*err = key_number(p, k, &v, value);
		return k;
	}
	{
		struct sc_word k = { w->s, klen, w->col };

		*err = sc_error_at(p, w->col, "unknown key %s",
				   sc_got(&k, got, sizeof(got)));
	}
	return -2;
}

/* "faults=, tag=": the keys of @allow, for a message. */
static const char *allowed_keys(uint64_t allow, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int k = 0; k < SC_NR_KEYS && o < size; k++)
		if (allow & ALLOW_KEY(k))
			o += snprintf(buf + o, size - o, "%s%s=",
				      o ? ", " : "", keys[k].name);
	return buf;
}

#define TAIL_HELP "0, ok, an errno like EINVAL, SIGSEGV, SIGBUS or KEY=VALUE"

/* A key after `=>` that @op cannot expect: say what to write instead. */
static int key_not_allowed(struct sc_parser *p, struct sc_op *op,
			   struct sc_word *w, int k, uint64_t allow)
{
	const char *verb = sc_kind_name(op->kind);
	char can[256];

	if (k == SC_KEY_FAULTS)
		return sc_error_at(p, w->col,
				   "'%s' has no faults of its own to count",
				   verb);
	if (keys[k].scope != KEY_OP)
		return sc_error_at(p, w->col,
				   "'%s=' is not an expectation of one op: use a line 'expect %s%s=N'",
				   keys[k].name,
				   keys[k].scope == KEY_PROC ? "P " : "",
				   keys[k].name);
	allowed_keys(allow, can, sizeof(can));
	return sc_error_at(p, w->col, "'%s' cannot expect '%s=' (%s%s)",
			   verb, keys[k].name,
			   can[0] ? "it can expect " : "it has no values to expect",
			   can);
}

int sc_parse_tail(struct sc_parser *p, struct sc_op *op, uint64_t allow)
{
	struct sc_word *w = sc_peek(p);
	const char *verb = sc_kind_name(op->kind);
	const char *hint = allow & ALLOW_SIGNAL ?
			   ": an access raises SIGSEGV or SIGBUS" : "";
	char got[96];

	if (!w)
		return 0;
	if (!sc_word_is(w, "=>")) {
		if (memchr(w->s, '=', w->len))
			return sc_error_at(p, w->col,
					   "expected '=>' before %s (expectations follow '=>')",
					   sc_got(w, got, sizeof(got)));
		return sc_error_at(p, w->col,
				   "expected '=>' or end of line, got %s",
				   sc_got(w, got, sizeof(got)));
	}
	p->i++;
	if (!sc_peek(p))
		return sc_error_at(p, p->eol_col,
				   "expected an expectation after '=>' (" TAIL_HELP "), got end of line");
	while ((w = sc_peek(p))) {
		uint64_t v;
		int e = 0, k, err;

		if (sc_word_is(w, "ok") || sc_word_is(w, "0") ||
		    (e = sc_errno_parse(w->s, w->len)) ||
		    (e = sc_signal_parse(w->s, w->len))) {
			if (op->want != SC_WANT_SUCCESS)
				return sc_error_at(p, w->col,
						   "the result is already given at column %d",
						   op->want_pos.col);
			op->want_pos = (struct sc_pos){ p->line, w->col };
			if (sc_word_is(w, "ok") || sc_word_is(w, "0")) {
				op->want = SC_WANT_OK;
			} else if (sc_errno_parse(w->s, w->len)) {
				if (!(allow & ALLOW_ERRNO))
					return sc_error_at(p, w->col,
							   "'%s' cannot fail with an errno%s",
							   verb, hint);
				op->want = SC_WANT_ERRNO;
				op->want_value = e;
			} else {
				if (!(allow & ALLOW_SIGNAL))
					return sc_error_at(p, w->col,
							   "'%s' does not raise signals: only read and write do",
							   verb);
				op->want = SC_WANT_SIGNAL;
				op->want_value = e;
			}
			p->i++;
			continue;
		}
		k = key_value(p, w, &v, &err);
		if (k == -1)
			return sc_error_at(p, w->col,
					   "expected an expectation (" TAIL_HELP "), got %s",
					   sc_got(w, got, sizeof(got)));
		if (err)
			return err;
		if (!(allow & ALLOW_KEY(k)))
			return key_not_allowed(p, op, w, k, allow);
		if (add_check(p, op, k, -1, v, w->col))
			return -EINVAL;
		p->i++;
	}
	return 0;
}

#define SITE_HELP "hugetlb_fault, follow_hugetlb_page, hugetlb_follow_page_mask, gup_fast, walk_hugetlb_range, page_vma_mapped_walk, userfaultfd_huge_must_wait, hugetlb_vma_maps_page, huge_pmd_share"

/* `expect violations SITE=N...`: per call site, after `violations record`. */
static int parse_expect_sites(struct sc_parser *p, struct sc_op *op)
{
	struct sc_word *w = sc_peek(p);
	char got[96];

	if (!w)
		return sc_error_at(p, p->eol_col,
				   "expected SITE=N after 'expect violations' (like follow_hugetlb_page=2), got end of line");
	while ((w = sc_peek(p))) {
		const char *eq = memchr(w->s, '=', w->len);
		struct sc_word name, v;
		uint64_t n;
		int site;

		if (!eq)
			return sc_error_at(p, w->col,
					   "expected SITE=N (like follow_hugetlb_page=2), got %s",
					   sc_got(w, got, sizeof(got)));
		name = (struct sc_word){ w->s, (int)(eq - w->s), w->col };
		v = (struct sc_word){ eq + 1, w->len - name.len - 1,
				      w->col + name.len + 1 };
		site = sc_site_parse(name.s, name.len);
		if (site < 0)
			return sc_error_at(p, w->col,
					   "unknown call site %s (one of " SITE_HELP ")",
					   sc_got(&name, got, sizeof(got)));
		if (key_number(p, SC_KEY_VIOLATIONS, &v, &n) ||
		    add_check(p, op, SC_KEY_VIOLATIONS, site, n, w->col))
			return -EINVAL;
		p->i++;
	}
	return 0;
}

int sc_parse_expect(struct sc_parser *p, struct sc_op *op)
{
	struct sc_word *w = sc_peek(p);
	enum key_scope scope = KEY_SYS;
	char got[96];

	op->subject = -1;
	if (sc_word_is(w, "violations")) {
		if (!p->violations_line)
			return sc_error_at(p, w->col,
					   "'expect violations' needs a 'violations record' line before it (without one, a violation fails the run)");
		p->i++;
		return parse_expect_sites(p, op);
	}
	if (sc_word_is(w, "meminfo")) {
		p->i++;
	} else if (w && !memchr(w->s, '=', w->len)) {
		if (sc_use_name(p, SC_NAME_PROC, &op->subject))
			return -EINVAL;
		op->proc = op->subject;
		scope = KEY_PROC;
	}
	if (!sc_peek(p))
		return sc_error_at(p, p->eol_col,
				   "expected KEY=VALUE (%s), got end of line",
				   scope == KEY_PROC ? "faults, nr_pmds or rss" :
				   "total, free, rsvd, pagetables, shared or violations");
	while ((w = sc_peek(p))) {
		uint64_t v;
		int k, err;

		k = key_value(p, w, &v, &err);
		if (k == -1)
			return sc_error_at(p, w->col,
					   "expected KEY=VALUE (like %s), got %s",
					   scope == KEY_PROC ? "faults=1" : "free=60",
					   sc_got(w, got, sizeof(got)));
		if (err)
			return err;
		if (k == SC_KEY_TAG)
			return sc_error_at(p, w->col,
					   "tag= is checked by a read: 'P read ADDR => tag=T'");
		if (keys[k].scope == KEY_OP)
			return sc_error_at(p, w->col,
					   "'%s=' is checked on the op that returns it, after '=>' (see docs/scenario.md)",
					   keys[k].name);
		if (keys[k].scope != scope)
			return sc_error_at(p, w->col, scope == KEY_PROC ?
					   "'%s=' is a system counter: write it on an 'expect meminfo' line" :
					   "'%s=' is a per-process counter: write 'expect P %s=N'",
					   keys[k].name, keys[k].name);
		if (k == SC_KEY_VIOLATIONS && !p->violations_line)
			return sc_error_at(p, w->col,
					   "'violations=' needs a 'violations record' line before it (without one, a violation fails the run)");
		if (add_check(p, op, k, -1, v, w->col))
			return -EINVAL;
		p->i++;
	}
	return 0;
}
