// SPDX-License-Identifier: MIT
/*
 * Scenario lexer: words, numbers, names, and the tables of errno and
 * signal names a scenario may expect.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>

#include "cli/scenario_lex.h"

static const struct {
	const char *name;
	int value;
} errnos[] = {
	{ "EPERM", EPERM },	{ "ENOENT", ENOENT },	{ "EINTR", EINTR },
	{ "EIO", EIO },		{ "EBADF", EBADF },	{ "EAGAIN", EAGAIN },
	{ "ENOMEM", ENOMEM },	{ "EACCES", EACCES },	{ "EFAULT", EFAULT },
	{ "EBUSY", EBUSY },	{ "EEXIST", EEXIST },	{ "ENODEV", ENODEV },
	{ "EINVAL", EINVAL },	{ "EFBIG", EFBIG },	{ "ENOSPC", ENOSPC },
	{ "ESPIPE", ESPIPE },	{ "ERANGE", ERANGE },	{ "ENOSYS", ENOSYS },
	{ "EOPNOTSUPP", EOPNOTSUPP },	{ "EHWPOISON", EHWPOISON },
	{ "EDEADLK", EDEADLK },	{ "EADDRINUSE", EADDRINUSE },
	{ "EPIPE", EPIPE },	{ "ESRCH", ESRCH },
};

static const struct {
	const char *name;
	int value;
} signals[] = {
	{ "SIGSEGV", SIGSEGV },
	{ "SIGBUS", SIGBUS },
};

static const char *const keywords[] = {
	/* statements */
	"pool", "policy", "memfd", "ftruncate", "fallocate", "close", "spawn",
	"expect", "wait", "violations", "draw", "check",
	/* process operations */
	"mmap", "munmap", "mprotect", "madvise", "mremap", "uffd_wp",
	"move_pages", "write", "read", "fork", "exit",
	"gup", "gup_fast", "follow_page", "process_vm_readv", "pagemap",
	"mincore", "folio_referenced", "uffd_register", "uffd_unregister",
	"uffd_read", "uffd_copy", "uffd_wake", "uffd_close",
	/* words with a meaning of their own */
	"meminfo", "ok", "punch", "keep_size", "shared", "private",
};

const char *sc_errno_name(int err)
{
	for (size_t i = 0; i < ARRAY_SIZE(errnos); i++)
		if (errnos[i].value == err)
			return errnos[i].name;
	return NULL;
}

const char *sc_signal_name(int sig)
{
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
		if (signals[i].value == sig)
			return signals[i].name;
	return NULL;
}

static bool word_eq(const char *s, int len, const char *lit)
{
	return (size_t)len == strlen(lit) && !memcmp(s, lit, len);
}

bool sc_word_is(const struct sc_word *w, const char *s)
{
	return w && word_eq(w->s, w->len, s);
}

int sc_errno_parse(const char *s, int len)
{
	for (size_t i = 0; i < ARRAY_SIZE(errnos); i++)
		if (word_eq(s, len, errnos[i].name))
			return errnos[i].value;
	return 0;
}

int sc_signal_parse(const char *s, int len)
{
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
		if (word_eq(s, len, signals[i].name))
			return signals[i].value;
	return 0;
}

bool sc_is_keyword(const char *s, int len)
{
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++)
		if (word_eq(s, len, keywords[i]))
			return true;
	return false;
}

bool sc_name_valid(const char *s, int len)
{
	if (len < 1 || len > SC_MAX_NAME)
		return false;
	if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') ||
	      (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (int i = 1; i < len; i++) {
		char c = s[i];

		if (!(c == '_' || c == '-' || c == '.' ||
		      (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

int sc_name_find(const struct scenario *sc, const char *s, int len)
{
	for (size_t i = 0; i < sc->nnames; i++)
		if (word_eq(s, len, sc->names[i].name))
			return (int)i;
	return -1;
}

int sc_number(const char *s, int len, bool suffix, uint64_t *v)
{
	unsigned int base = 10, shift = 0;
	uint64_t x = 0;
	int i = 0, digits = 0;

	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (suffix && len > i) {
		switch (s[len - 1]) {
		case 'K': case 'k': shift = 10; break;
		case 'M': case 'm': shift = 20; break;
		case 'G': case 'g': shift = 30; break;
		case 'T': case 't': shift = 40; break;
		}
		if (shift)
			len--;
	}
	for (; i < len; i++, digits++) {
		unsigned int d;
		char c = s[i];

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -EINVAL;
		if (x > (UINT64_MAX - d) / base)
			return -ERANGE;
		x = x * base + d;
	}
	if (!digits)
		return -EINVAL;
	if (shift && x > (UINT64_MAX >> shift))
		return -ERANGE;
	*v = x << shift;
	return 0;
}

const char *sc_got(const struct sc_word *w, char *buf, size_t size)
{
	size_t o = 0;

	if (!w)
		return "end of line";
	buf[o++] = '\'';
	for (int i = 0; i < w->len && o + 8 < size; i++) {
		unsigned char c = w->s[i];

		if (i == 40) {
			o += snprintf(buf + o, size - o, "...");
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\'')
			buf[o++] = c;
		else
			o += snprintf(buf + o, size - o, "\\x%02x", c);
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	return buf;
}

int sc_error_at(struct sc_parser *p, int col, const char *fmt, ...)
{
	struct sc_error *e = p->err;
	va_list ap;
	int n;

	e->line = p->line;
	e->col = col;
	n = snprintf(e->msg, sizeof(e->msg), "%s:%d:%d: ", p->path, p->line,
		     col);
	if (n < 0 || (size_t)n >= sizeof(e->msg))
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(e->msg + n, sizeof(e->msg) - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int sc_expect_number(struct sc_parser *p, const char *what, bool suffix,
		     uint64_t *v)
{
	struct sc_word *w = sc_peek(p);
	char got[96];
	int ret;

	if (!w)
		return sc_error_at(p, p->eol_col, "expected %s, got end of line",
				   what);
	ret = sc_number(w->s, w->len, suffix, v);
	if (ret == -ERANGE)
		return sc_error_at(p, w->col,
				   "number %s does not fit in 64 bits",
				   sc_got(w, got, sizeof(got)));
	if (ret)
		return sc_error_at(p, w->col, "expected %s, got %s", what,
				   sc_got(w, got, sizeof(got)));
	p->i++;
	return 0;
}

int sc_lex_line(struct sc_parser *p, const char *s, size_t len)
{
	size_t i = 0;

	p->n = 0;
	p->i = 0;
	if (len > SC_MAX_LINE)
		return sc_error_at(p, SC_MAX_LINE + 1,
				   "line longer than %d bytes", SC_MAX_LINE);
	/* A CR before the LF is a DOS line end, not part of a word. */
	if (len && s[len - 1] == '\r')
		len--;
	while (i < len) {
		unsigned char c = s[i];
		size_t start;

		if (c == ' ' || c == '\t') {
			i++;
			continue;
		}
		if (c == '#')
			break;
		if (c < 0x20 || c == 0x7f)
			return sc_error_at(p, (int)i + 1,
					   "unexpected control byte 0x%02x", c);
		if (p->n == SC_MAX_WORDS)
			return sc_error_at(p, (int)i + 1,
					   "more than %d words on one line",
					   SC_MAX_WORDS);
		start = i;
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '#' &&
		       (unsigned char)s[i] >= 0x20 && s[i] != 0x7f)
			i++;
		p->w[p->n++] = (struct sc_word){
			.s = s + start,
			.len = (int)(i - start),
			.col = (int)start + 1,
		};
	}
	p->eol_col = p->n ? p->w[p->n - 1].col + p->w[p->n - 1].len + 1 : 1;
	return 0;
}
