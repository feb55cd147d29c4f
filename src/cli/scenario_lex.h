/* SPDX-License-Identifier: MIT */
/*
 * The scenario lexer, shared by the parser's files: one line at a time is
 * cut into words (blank-separated, `#` starts a comment), and the parser
 * consumes them left to right, each error naming the word's column.
 */
#ifndef HW_CLI_SCENARIO_LEX_H
#define HW_CLI_SCENARIO_LEX_H

#include <fcntl.h>
#include <sys/mman.h>

#include "cli/scenario.h"

#define SC_MAX_WORDS	32
#define SC_MAX_BG	64	/* background ops not waited for, at once */

/* A background op the parser has not seen a `wait` for yet. */
struct sc_bg {
	int proc;		/* who runs it */
	int peer;		/* the process it reads, or -1 */
	struct sc_pos pos;	/* its `&` */
	size_t op;		/* its index in the scenario */
};

struct sc_word {
	const char *s;
	int len;
	int col;
};

struct sc_parser {
	const char *path;
	struct scenario *sc;
	struct sc_error *err;
	size_t ops_cap;
	size_t names_cap;

	int line;
	int eol_col;			/* where a next word would go */
	struct sc_word w[SC_MAX_WORDS];
	int n;				/* words on the line */
	int i;				/* the next word to consume */

	int violations_line;		/* `violations record`; 0: none yet */
	struct sc_bg bg[SC_MAX_BG];	/* background ops in flight */
	int nbg;
};

/* Cut @len bytes of @s (one line, no '\n') into words.  0 or -EINVAL. */
int sc_lex_line(struct sc_parser *p, const char *s, size_t len);

/* Record an error at @col of the current line; returns -EINVAL. */
int sc_error_at(struct sc_parser *p, int col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "'word'" (escaped, shortened) or "end of line", for "got ..." parts. */
const char *sc_got(const struct sc_word *w, char *buf, size_t size);

static inline struct sc_word *sc_peek(struct sc_parser *p)
{
	return p->i < p->n ? &p->w[p->i] : NULL;
}

static inline int sc_col(struct sc_parser *p)
{
	return p->i < p->n ? p->w[p->i].col : p->eol_col;
}

bool sc_word_is(const struct sc_word *w, const char *s);

/*
 * sc_number() - a number: decimal or 0x hex, with an optional binary
 * suffix K, M, G or T when @suffix.  Return: 0, -EINVAL when @w is not
 * one, -ERANGE when it does not fit in 64 bits.
 */
int sc_number(const char *s, int len, bool suffix, uint64_t *v);

/* Consume a word that must be a number; @what is "a size (like 2M)". */
int sc_expect_number(struct sc_parser *p, const char *what, bool suffix,
		     uint64_t *v);

/* Name lookup; -1 when not declared. */
int sc_name_find(const struct scenario *sc, const char *s, int len);
bool sc_is_keyword(const char *s, int len);
bool sc_name_valid(const char *s, int len);

int sc_errno_parse(const char *s, int len);	/* 0 if not an errno name */
int sc_signal_parse(const char *s, int len);	/* 0 if not a signal name */

/* ---- scenario_args.c: names, arguments, expectations ------------------ */

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE	0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE	0x02
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#define MADV_POPULATE_WRITE	23
#endif

#define WHAT_ADDR	"an address (like 0x40000000 or 1G)"
#define WHAT_SIZE	"a size (like 2M or 0x200000)"
#define WHAT_OFF	"a file offset (like 0 or 1G)"
#define WHAT_COUNT	"a count (like 8)"

/* What may follow `=>` on each kind of op: a result, and which keys. */
#define ALLOW_ERRNO	0x1ULL
#define ALLOW_SIGNAL	0x2ULL
#define ALLOW_KEY(k)	(1ULL << (8 + (k)))
#define ALLOW_FAULTS	ALLOW_KEY(SC_KEY_FAULTS)
#define ALLOW_TAG	ALLOW_KEY(SC_KEY_TAG)

int sc_declare(struct sc_parser *p, enum sc_name_kind kind, int *idx);
int sc_use_name(struct sc_parser *p, enum sc_name_kind kind, int *idx);
int sc_arg_addr(struct sc_parser *p, uint64_t *v);
int sc_arg_size(struct sc_parser *p, const char *what, bool nonzero,
		uint64_t *v);
int sc_arg_prot(struct sc_parser *p, int *prot);
int sc_arg_map_flags(struct sc_parser *p, int *flags);
int sc_arg_advice(struct sc_parser *p, int *advice);
int sc_arg_count(struct sc_parser *p, uint64_t addr, uint64_t *count);
int sc_arg_tag(struct sc_parser *p, uint64_t *tag);
int sc_parse_tail(struct sc_parser *p, struct sc_op *op, uint64_t allow);
int sc_parse_expect(struct sc_parser *p, struct sc_op *op);
int sc_site_parse(const char *s, int len);	/* index, or -1 */

#endif
