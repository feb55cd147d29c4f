// SPDX-License-Identifier: MIT
/*
 * Unit tests of the scenario parser (src/cli/scenario_*.c): numbers, every
 * statement, expectations, name tracking, and the file:line:col errors.
 * In-process TAP: parsing is pure and single-threaded.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cli/scenario.h"
#include "cli/scenario_lex.h"
#include "tap.h"

static struct scenario *parse_ok(const char *text)
{
	struct scenario *sc = NULL;
	struct sc_error err;
	int ret = scenario_parse("t.hw", text, strlen(text), &sc, &err);

	if (ret)
		printf("# unexpected error %d: %s\n", ret, err.msg);
	return sc;
}

/*
 * Parse @text, which must fail at @line:@col with a message containing
 * @part.  One TAP test.
 */
static void parse_fails(const char *text, int line, int col,
			const char *part, const char *name)
{
	struct scenario *sc = NULL;
	struct sc_error err;
	char prefix[64];
	int ret = scenario_parse("t.hw", text, strlen(text), &sc, &err);
	bool good;

	snprintf(prefix, sizeof(prefix), "t.hw:%d:%d: ", line, col);
	good = ret == -EINVAL && !sc && err.line == line && err.col == col &&
	       !strncmp(err.msg, prefix, strlen(prefix)) &&
	       strstr(err.msg, part);
	if (!ok(good, "error: %s", name))
		printf("#   want %s...%s\n#   got  %d: %s\n", prefix, part, ret,
		       err.msg);
	scenario_free(sc);
}

static void test_numbers(void)
{
	static const struct {
		const char *s;
		bool suffix;
		int ret;
		uint64_t v;
	} cases[] = {
		{ "0", true, 0, 0 },
		{ "42", true, 0, 42 },
		{ "0x40000000", true, 0, 0x40000000 },
		{ "0XfF", true, 0, 255 },
		{ "2M", true, 0, 2ULL << 20 },
		{ "1G", true, 0, 1ULL << 30 },
		{ "4k", true, 0, 4096 },
		{ "128T", true, 0, 1ULL << 47 },
		{ "0x1M", true, 0, 1ULL << 20 },
		{ "18446744073709551615", false, 0, UINT64_MAX },
		{ "0xffffffffffffffff", false, 0, UINT64_MAX },
		{ "18446744073709551616", false, -ERANGE, 0 },
		{ "0x10000000000000000", false, -ERANGE, 0 },
		{ "16777216T", true, -ERANGE, 0 },
		{ "2M", false, -EINVAL, 0 },
		{ "0x", true, -EINVAL, 0 },
		{ "M", true, -EINVAL, 0 },
		{ "-1", true, -EINVAL, 0 },
		{ "12Q", true, -EINVAL, 0 },
		{ "1.5G", true, -EINVAL, 0 },
		{ "0xg", true, -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;
		int ret = sc_number(cases[i].s, (int)strlen(cases[i].s),
				    cases[i].suffix, &v);

		ok(ret == cases[i].ret && (ret || v == cases[i].v),
		   "number '%s' -> %d, 0x%llx", cases[i].s, ret,
		   (unsigned long long)v);
	}
}

static const char full[] =
	"# a comment line\n"
	"\n"
	"pool 64            # trailing comment\n"
	"policy v6.3\n"
	"memfd f\n"
	"ftruncate f 1G\n"
	"fallocate f 0 4M\n"
	"fallocate f punch 2M 2M => 0\n"
	"spawn A\r\n"
	"\tA  mmap 0x40000000 1G rw shared f\n"
	"A mmap 0x80000000 2M r private,noreserve f 2M => EEXIST faults=0\n"
	"A munmap 0x80000000 2M\n"
	"A mprotect 0x40000000 2M none\n"
	"A madvise 0x40000000 2M populate_write\n"
	"A mremap 0x40000000 1G 1G 0xc0000000\n"
	"A uffd_wp 0xc0000000 1G\n"
	"A move_pages 0xc0000000\n"
	"A write 0xc0000000 8 tag=0x11 => faults=8\n"
	"A read 0xc0000000 => SIGSEGV\n"
	"A read 0xc0000000 8 => tag=0x11 faults=0 ok\n"
	"A fork B\n"
	"expect B faults=0 nr_pmds=0 rss=0\n"
	"expect meminfo total=64 free=60 rsvd=2 pagetables=5\n"
	"expect shared=1\n"
	"draw\n"
	"check\n"
	"B exit\n"
	"close f\n";

static void test_full(void)
{
	struct scenario *sc = parse_ok(full);
	const struct sc_op *op;

	if (!ok(sc != NULL, "a scenario using every statement parses")) {
		for (int i = 0; i < 40; i++)
			ok(false, "skipped");
		return;
	}
	is_int(sc->nops, 26, "26 ops");
	is_int(sc->nnames, 3, "3 names: f, A, B");
	op = &sc->ops[0];
	ok(op->kind == SC_POOL && op->len == 64 && op->pos.line == 3,
	   "pool 64 at line 3");
	op = &sc->ops[1];
	ok(op->kind == SC_POLICY && op->model_only &&
	   !strcmp(op->name, "v6.3") && op->name_pos.col == 8,
	   "policy is model-only, name at column 8");
	op = &sc->ops[3];
	ok(op->kind == SC_FTRUNCATE && op->file == 0 && op->len == 1ULL << 30,
	   "ftruncate f 1G");
	op = &sc->ops[4];
	ok(op->kind == SC_FALLOCATE && op->mode == 0 && op->off == 0 &&
	   op->len == 4ULL << 20, "fallocate f 0 4M allocates");
	op = &sc->ops[5];
	ok(op->kind == SC_FALLOCATE && op->mode == 3 && op->off == 2ULL << 20 &&
	   op->want == SC_WANT_OK, "fallocate punch: PUNCH_HOLE|KEEP_SIZE, => 0");
	op = &sc->ops[6];
	ok(op->kind == SC_SPAWN && op->target == 1 &&
	   !strcmp(sc->names[1].name, "A"), "spawn A, CRLF line end");
	op = &sc->ops[7];
	ok(op->kind == SC_MMAP && op->proc == 1 && op->pos.col == 2 &&
	   op->addr == 0x40000000 && op->len == 1ULL << 30 &&
	   op->prot == (PROT_READ | PROT_WRITE) && op->flags == MAP_SHARED &&
	   op->file == 0 && op->off == 0 && op->want == SC_WANT_SUCCESS,
	   "mmap with default offset, after a tab");
	is_int(strcmp(op->text, "A mmap 0x40000000 1G rw shared f"), 0,
	       "op text has blanks squeezed");
	op = &sc->ops[8];
	ok(op->prot == PROT_READ &&
	   op->flags == (MAP_PRIVATE | MAP_NORESERVE) &&
	   op->off == 2ULL << 20 && op->want == SC_WANT_ERRNO &&
	   op->want_value == EEXIST && op->nchecks == 1 &&
	   op->checks[0].key == SC_KEY_FAULTS && op->checks[0].value == 0,
	   "mmap private,noreserve => EEXIST faults=0");
	op = &sc->ops[10];
	ok(op->kind == SC_MPROTECT && op->prot == PROT_NONE, "mprotect none");
	op = &sc->ops[11];
	ok(op->kind == SC_MADVISE && op->advice == MADV_POPULATE_WRITE,
	   "madvise populate_write");
	op = &sc->ops[12];
	ok(op->kind == SC_MREMAP && op->addr == 0x40000000 &&
	   op->len == 1ULL << 30 && op->new_len == 1ULL << 30 &&
	   op->new_addr == 0xc0000000, "mremap OLD OLDLEN NEWLEN NEWADDR");
	ok(sc->ops[13].kind == SC_UFFD_WP && sc->ops[14].kind == SC_MOVE_PAGES,
	   "uffd_wp and move_pages");
	op = &sc->ops[15];
	ok(op->kind == SC_WRITE && op->count == 8 && op->tag == 0x11 &&
	   op->nchecks == 1 && op->checks[0].value == 8,
	   "write 8 pages tag=0x11 => faults=8");
	op = &sc->ops[16];
	ok(op->kind == SC_READ && op->count == 1 &&
	   op->want == SC_WANT_SIGNAL && op->want_value == SIGSEGV &&
	   op->want_pos.col == 22, "read => SIGSEGV, count defaults to 1");
	op = &sc->ops[17];
	ok(op->nchecks == 2 && op->checks[0].key == SC_KEY_TAG &&
	   op->checks[0].value == 0x11 && op->checks[1].key == SC_KEY_FAULTS &&
	   op->want == SC_WANT_OK, "read => tag=0x11 faults=0 ok");
	op = &sc->ops[18];
	ok(op->kind == SC_FORK && op->proc == 1 && op->target == 2,
	   "A fork B declares B");
	op = &sc->ops[19];
	ok(op->kind == SC_EXPECT && op->subject == 2 && op->nchecks == 3 &&
	   op->checks[1].key == SC_KEY_NR_PMDS &&
	   op->checks[2].key == SC_KEY_RSS,
	   "expect B faults nr_pmds rss");
	op = &sc->ops[20];
	ok(op->subject == -1 && op->nchecks == 4 &&
	   op->checks[3].key == SC_KEY_PAGETABLES && op->checks[3].value == 5 &&
	   op->checks[1].pos.col == 25, "expect meminfo ...");
	op = &sc->ops[21];
	ok(op->subject == -1 && op->nchecks == 1 &&
	   op->checks[0].key == SC_KEY_SHARED, "expect shared=1");
	ok(sc->ops[22].kind == SC_DRAW && sc->ops[22].model_only &&
	   sc->ops[23].kind == SC_CHECK && sc->ops[23].model_only,
	   "draw and check are model-only");
	ok(sc->names[2].end_line == 27 && sc->names[0].end_line == 28 &&
	   sc->names[1].end_line == 0, "exit and close end their names");
	ok(sc_key_model_only(SC_KEY_SHARED) &&
	   sc_key_model_only(SC_KEY_NR_PMDS) &&
	   sc_key_model_only(SC_KEY_PAGETABLES) &&
	   !sc_key_model_only(SC_KEY_FAULTS) && !sc_key_model_only(SC_KEY_FREE),
	   "model-only keys");
	scenario_free(sc);
}

static void test_empty(void)
{
	struct scenario *sc = parse_ok("");

	ok(sc && sc->nops == 0, "an empty file parses");
	scenario_free(sc);
	sc = parse_ok("# only\n\n   # comments\n\t\n");
	ok(sc && sc->nops == 0, "comments and blank lines only");
	scenario_free(sc);
	sc = parse_ok("spawn A\nA exit");
	ok(sc && sc->nops == 2, "no newline at the end");
	scenario_free(sc);
}

#define PRE "spawn A\nmemfd f\n"

static void test_errors(void)
{
	char *longline;

	parse_fails("spawn A\nA mmap 0x40000000 foo rw shared f 0\n", 2, 19,
		    "expected a size (like 2M or 0x200000), got 'foo'",
		    "bad size");
	parse_fails(PRE "A mmap 0x40000000\n", 3, 19,
		    "expected a size (like 2M or 0x200000), got end of line",
		    "missing size");
	parse_fails(PRE "A mmap 0 0 rw shared f\n", 3, 10, "got zero",
		    "zero length");
	parse_fails(PRE "A mmap 0x800000000000 2M rw shared f\n", 3, 8,
		    "not below 2^47", "address past 2^47");
	parse_fails(PRE "A mmap 0 256T rw shared f\n", 3, 10,
		    "larger than 2^47", "size past 2^47");
	parse_fails(PRE "A mmap 0 2M rwx shared f\n", 3, 13,
		    "expected a protection (r, w, rw or none), got 'rwx'",
		    "bad protection");
	parse_fails(PRE "A mmap 0 2M rw fixed f\n", 3, 16,
		    "expected mapping flags", "bad flags");
	parse_fails(PRE "A mmap 0 2M rw shared g\n", 3, 23,
		    "unknown file 'g'", "undeclared file");
	parse_fails(PRE "A mmap 0 2M rw shared A\n", 3, 23,
		    "expected a file name, got 'A', a process declared at line 1",
		    "process where a file belongs");
	parse_fails(PRE "B read 0\n", 3, 1,
		    "unknown process 'B' (declare it first with 'spawn B'",
		    "undeclared process");
	parse_fails(PRE "A exit\nA read 0\n", 4, 1,
		    "process 'A' is gone: it exited at line 3", "use after exit");
	parse_fails(PRE "close f\nA mmap 0 2M rw shared f\n", 4, 23,
		    "file 'f' is gone: it was closed at line 3",
		    "use after close");
	parse_fails(PRE "spawn A\n", 3, 7,
		    "'A' is already declared, as a process at line 1",
		    "declared twice");
	parse_fails("spawn mmap\n", 1, 7, "not a keyword", "keyword as a name");
	parse_fails("spawn 9lives\n", 1, 7, "expected a new process name",
		    "name starting with a digit");
	parse_fails("mmap 0 2M\n", 1, 1, "needs a process first",
		    "verb without a process");
	parse_fails("frobnicate\n", 1, 1,
		    "expected a statement (pool, policy", "unknown statement");
	parse_fails(PRE "A frob 0\n", 3, 3,
		    "expected an operation (mmap, munmap", "unknown operation");
	parse_fails(PRE "A write 0 8\n", 3, 13, "expected tag=T",
		    "write without a tag");
	parse_fails(PRE "A write 0 tag=0x10000000000000000\n", 3, 15,
		    "expected a 64-bit number", "tag past 64 bits");
	parse_fails(PRE "A read 0 0\n", 3, 10, "page count from 1",
		    "zero pages");
	parse_fails(PRE "A read 0 300000\n", 3, 10, "page count from 1",
		    "too many pages");
	parse_fails(PRE "A read 0x7fffffe00000 2\n", 3, 23, "go past 2^47",
		    "pages past 2^47");
	parse_fails(PRE "A read 0 =>\n", 3, 13,
		    "expected an expectation after '=>'", "empty '=>'");
	parse_fails(PRE "A read 0 tag=1\n", 3, 10, "expected '=>' before",
		    "expectation without '=>'");
	parse_fails(PRE "A read 0 => EINVAL\n", 3, 13,
		    "'read' cannot fail with an errno", "errno on an access");
	parse_fails(PRE "A munmap 0 2M => SIGBUS\n", 3, 18,
		    "'munmap' does not raise signals", "signal on a syscall");
	parse_fails(PRE "A write 0 tag=1 => tag=1\n", 3, 20,
		    "'write' cannot expect 'tag=' (it can expect faults=)",
		    "tag= on a write");
	parse_fails(PRE "A read 0 => ok SIGBUS\n", 3, 16,
		    "the result is already given", "two results");
	parse_fails(PRE "A read 0 => faults=1 faults=2\n", 3, 22,
		    "'faults=' is given twice", "a key twice");
	parse_fails(PRE "A read 0 => faults=x\n", 3, 20,
		    "expected a number (like 3 or 0x11) after 'faults='",
		    "bad value");
	parse_fails(PRE "A read 0 => free=1\n", 3, 13,
		    "use a line 'expect free=N'", "system key on an op");
	parse_fails(PRE "A exit => faults=0\n", 3, 11,
		    "no faults of its own", "faults on exit");
	parse_fails(PRE "A exit now\n", 3, 8, "expected '=>' or end of line",
		    "trailing word");
	parse_fails("pool 64 extra\n", 1, 9, "expected end of line, got 'extra'",
		    "trailing word on pool");
	parse_fails("pool 2000000\n", 1, 6, "at most", "pool too big");
	parse_fails(PRE "expect\n", 3, 8, "expected KEY=VALUE",
		    "expect with nothing");
	parse_fails(PRE "expect A free=1\n", 3, 10,
		    "'free=' is a system counter", "system key for a process");
	parse_fails(PRE "expect faults=1\n", 3, 8,
		    "'faults=' is a per-process counter", "process key for the system");
	parse_fails(PRE "expect meminfo bogus=1\n", 3, 16, "unknown key 'bogus'",
		    "unknown key");
	parse_fails(PRE "expect A tag=1\n", 3, 10, "tag= is checked by a read",
		    "tag on an expect line");
	parse_fails(PRE "fallocate f punch 0 0\n", 3, 21, "got zero",
		    "fallocate of zero bytes");
	parse_fails(PRE "A madvise 0 2M free\n", 3, 16,
		    "expected advice (dontneed, remove", "bad advice");
	parse_fails("policy\n", 1, 8, "expected a policy name", "policy without name");
	parse_fails("spawn A\nA read 0 => SIGSEGV\x01\n", 2, 20,
		    "unexpected control byte 0x01", "control byte");
	{
		static const char nul[] = "spawn A\nA read\0 0\n";
		struct scenario *sc = NULL;
		struct sc_error err;
		int ret = scenario_parse("t.hw", nul, sizeof(nul) - 1, &sc, &err);

		ok(ret == -EINVAL && err.line == 2 && err.col == 7 &&
		   strstr(err.msg, "NUL byte"), "NUL byte: %s", err.msg);
	}
	longline = malloc(SC_MAX_LINE + 16);
	if (longline) {
		memset(longline, ' ', SC_MAX_LINE + 10);
		memcpy(longline + SC_MAX_LINE + 5, "pool\n", 6);
		parse_fails(longline, 1, SC_MAX_LINE + 1, "line longer than",
			    "line too long");
		free(longline);
	}
	{
		char many[256] = "pool";

		for (int i = 0; i < SC_MAX_WORDS; i++)
			strcat(many, " 1");
		parse_fails(many, 1, 5 + 2 * (SC_MAX_WORDS - 1) + 1,
			    "more than 32 words", "too many words");
	}
	parse_fails(PRE "A read 0 caf\xc3\xa9's\n", 3, 10,
		    "got 'caf\\xc3\\xa9\\x27s'",
		    "odd bytes are escaped in messages");
}

/* Every op of the call sites, userfaultfd and the violation counts. */
static const char sites[] =
	"spawn A\n"
	"spawn B\n"
	"memfd f\n"
	"A gup 0x40000000 8 write nowait => pinned=8 tag=0x11 faults=1\n"
	"A gup_fast 0x40000000 fast_only write => pinned=0 fast=0\n"
	"A follow_page 1G => present=1 writable=0 tag=0x11\n"
	"B process_vm_readv A 0x40000000 2 & => pages=2 tag=0\n"
	"wait B\n"
	"A pagemap 0x40000000 4 => present=1 exclusive=0 file=1\n"
	"A mincore 0x40000000 16M => resident=3\n"
	"A folio_referenced 0x40000000 => referenced=2\n"
	"A uffd_register 0x40000000 1G missing\n"
	"A read 0x40200000 & => tag=0x22 faults=1\n"
	"A write 0x40400000 tag=3 &\n"
	"A uffd_read => addr=1G write=1\n"
	"A uffd_read nonblock => EAGAIN\n"
	"A uffd_copy 0x40200000 tag=0x22 dontwake => EEXIST\n"
	"A uffd_wake 0x40200000 2M\n"
	"wait\n"
	"A madvise 0x40000000 2M populate_write &\n"
	"wait A\n"
	"A uffd_unregister 0x40000000 1G\n"
	"A uffd_close\n"
	"violations record\n"
	"expect violations=3\n"
	"expect violations follow_hugetlb_page=1 gup_fast=0\n"
	"expect meminfo free=1 violations=2\n"
	"A exit\n";

static void test_sites(void)
{
	struct scenario *sc = parse_ok(sites);
	const struct sc_op *op;

	if (!ok(sc != NULL, "a scenario using every call-site op parses")) {
		for (int i = 0; i < 24; i++)
			ok(false, "skipped");
		return;
	}
	is_int(sc->nops, 28, "28 ops");
	op = &sc->ops[3];
	ok(op->kind == SC_GUP && op->count == 8 &&
	   op->opts == (SC_OPT_WRITE | SC_OPT_NOWAIT) && op->nchecks == 3 &&
	   op->checks[0].key == SC_KEY_PINNED && op->checks[0].value == 8 &&
	   op->checks[1].key == SC_KEY_TAG && !op->background,
	   "gup ADDR N write nowait => pinned= tag= faults=");
	op = &sc->ops[4];
	ok(op->kind == SC_GUP_FAST && op->count == 1 &&
	   op->opts == (SC_OPT_WRITE | SC_OPT_FAST_ONLY) &&
	   op->checks[1].key == SC_KEY_FAST,
	   "gup_fast: options in any order, count defaults to 1");
	op = &sc->ops[5];
	ok(op->kind == SC_FOLLOW_PAGE && op->addr == 1ULL << 30 &&
	   op->checks[0].key == SC_KEY_PRESENT &&
	   op->checks[1].key == SC_KEY_WRITABLE &&
	   op->checks[1].value == 0, "follow_page => present= writable=");
	op = &sc->ops[6];
	ok(op->kind == SC_PROCESS_VM_READV && op->proc == 1 && op->peer == 0 &&
	   op->count == 2 && op->background && op->bg_pos.col == 35 &&
	   op->checks[0].key == SC_KEY_PAGES,
	   "process_vm_readv Q ADDR N &, the & at column 35");
	op = &sc->ops[7];
	ok(op->kind == SC_WAIT && op->proc == 1 && op->count == 1,
	   "wait B joins one op");
	op = &sc->ops[8];
	ok(op->kind == SC_PAGEMAP && op->count == 4 && op->nchecks == 3 &&
	   op->checks[1].key == SC_KEY_EXCLUSIVE &&
	   op->checks[2].key == SC_KEY_FILE, "pagemap ADDR N => bits");
	op = &sc->ops[9];
	ok(op->kind == SC_MINCORE && op->len == 16ULL << 20 &&
	   op->checks[0].key == SC_KEY_RESIDENT && op->checks[0].value == 3,
	   "mincore ADDR LEN => resident=");
	op = &sc->ops[10];
	ok(op->kind == SC_FOLIO_REFERENCED && op->model_only &&
	   op->checks[0].key == SC_KEY_REFERENCED,
	   "folio_referenced is model-only");
	op = &sc->ops[11];
	ok(op->kind == SC_UFFD_REGISTER && op->opts == SC_OPT_MISSING &&
	   op->len == 1ULL << 30, "uffd_register ADDR LEN missing");
	op = &sc->ops[13];
	ok(op->kind == SC_WRITE && op->tag == 3 && op->background,
	   "write ... tag=T &");
	op = &sc->ops[14];
	ok(op->kind == SC_UFFD_READ && !op->opts &&
	   op->checks[0].key == SC_KEY_ADDR &&
	   op->checks[0].value == 1ULL << 30 &&
	   op->checks[1].key == SC_KEY_WRITE && op->checks[1].value == 1,
	   "uffd_read => addr= (with a suffix) write=");
	op = &sc->ops[15];
	ok(op->opts == SC_OPT_NONBLOCK && op->want == SC_WANT_ERRNO &&
	   op->want_value == EAGAIN, "uffd_read nonblock => EAGAIN");
	op = &sc->ops[16];
	ok(op->kind == SC_UFFD_COPY && op->tag == 0x22 &&
	   op->opts == SC_OPT_DONTWAKE && op->want_value == EEXIST,
	   "uffd_copy ADDR tag=T dontwake");
	ok(sc->ops[17].kind == SC_UFFD_WAKE && sc->ops[17].len == 2ULL << 20,
	   "uffd_wake ADDR LEN");
	op = &sc->ops[18];
	ok(op->kind == SC_WAIT && op->proc == -1 && op->count == 2,
	   "wait alone joins both of A's ops");
	ok(sc->ops[19].kind == SC_MADVISE && sc->ops[19].background &&
	   sc->ops[20].count == 1, "madvise in the background, wait A");
	ok(sc->ops[21].kind == SC_UFFD_UNREGISTER &&
	   sc->ops[22].kind == SC_UFFD_CLOSE, "uffd_unregister, uffd_close");
	op = &sc->ops[23];
	ok(op->kind == SC_VIOLATIONS && op->model_only,
	   "violations record is model-only");
	op = &sc->ops[24];
	ok(op->kind == SC_EXPECT && op->subject == -1 &&
	   op->checks[0].key == SC_KEY_VIOLATIONS &&
	   op->checks[0].site == -1 && op->checks[0].value == 3,
	   "expect violations=N: every site");
	op = &sc->ops[25];
	ok(op->nchecks == 2 && op->checks[0].key == SC_KEY_VIOLATIONS &&
	   !strcmp(sc_site_name(op->checks[0].site), "follow_hugetlb_page") &&
	   op->checks[0].value == 1 &&
	   !strcmp(sc_site_name(op->checks[1].site), "gup_fast") &&
	   op->checks[1].pos.col == 41,
	   "expect violations SITE=N...");
	op = &sc->ops[26];
	ok(op->nchecks == 2 && op->checks[1].key == SC_KEY_VIOLATIONS &&
	   op->checks[1].site == -1, "violations= on an expect meminfo line");
	ok(sc_key_model_only(SC_KEY_VIOLATIONS) &&
	   !sc_key_model_only(SC_KEY_PINNED), "violations= is model-only");
	is_int(sc_site_parse("huge_pmd_share", 14), 8, "site names parse");
	scenario_free(sc);
}

#define PRE2 "spawn A\nspawn B\nmemfd f\n"

static void test_site_errors(void)
{
	parse_fails(PRE2 "A gup\n", 4, 7, "expected an address",
		    "gup without an address");
	parse_fails(PRE2 "A gup 0 frob\n", 4, 9,
		    "expected '=>' or end of line, got 'frob'",
		    "gup with an unknown word");
	parse_fails(PRE2 "A gup 0 write write\n", 4, 15,
		    "'write' is given twice", "an option twice");
	parse_fails(PRE2 "A gup 0 fast_only\n", 4, 9,
		    "expected '=>' or end of line, got 'fast_only'",
		    "fast_only belongs to gup_fast");
	parse_fails(PRE2 "A gup 0 => fast=1\n", 4, 12,
		    "'gup' cannot expect 'fast=' (it can expect faults=, tag=, pinned=)",
		    "fast= on gup");
	parse_fails(PRE2 "A gup_fast 0 => pages=1\n", 4, 17,
		    "'gup_fast' cannot expect 'pages='", "pages= on gup_fast");
	parse_fails(PRE2 "A follow_page 0 => present=2\n", 4, 28,
		    "expected 0 or 1 after 'present=', got '2'",
		    "a bit that is not 0 or 1");
	parse_fails(PRE2 "A process_vm_readv 0x40000000\n", 4, 20,
		    "unknown process '0x40000000'",
		    "process_vm_readv without the process read");
	parse_fails(PRE2 "A process_vm_readv f 0\n", 4, 20,
		    "expected a process name, got 'f', a file",
		    "process_vm_readv of a file");
	parse_fails(PRE2 "A pagemap 0 => resident=1\n", 4, 16,
		    "'pagemap' cannot expect 'resident='",
		    "resident= on pagemap");
	parse_fails(PRE2 "A mincore 0\n", 4, 13, "expected a size",
		    "mincore without a length");
	parse_fails(PRE2 "A uffd_register 0 2M\n", 4, 22,
		    "expected a mode, missing", "uffd_register without a mode");
	parse_fails(PRE2 "A uffd_register 0 2M wp\n", 4, 22,
		    "got 'wp'", "uffd_register in another mode");
	parse_fails(PRE2 "A uffd_copy 0\n", 4, 15, "expected tag=T",
		    "uffd_copy without a tag");
	parse_fails(PRE2 "A uffd_read => addr=foo\n", 4, 21,
		    "expected a number (like 0x40000000 or 1G) after 'addr='",
		    "a bad address value");
	parse_fails(PRE2 "A uffd_read => pinned=1\n", 4, 16,
		    "'uffd_read' cannot expect 'pinned='",
		    "pinned= on uffd_read");
	parse_fails(PRE2 "A uffd_close => tag=1\n", 4, 17,
		    "'uffd_close' cannot expect 'tag=' (it can expect faults=)",
		    "tag= on uffd_close");
	parse_fails(PRE2 "A read 0 => pinned=1\n", 4, 13,
		    "'read' cannot expect 'pinned='", "pinned= on a read");
	parse_fails(PRE2 "A uffd_close &\n", 4, 14,
		    "'uffd_close' cannot run in the background",
		    "& on an op that cannot run in the background");
	parse_fails(PRE2 "A read 0 & &\n", 4, 12,
		    "expected '=>' or end of line, got '&'", "& twice");
	parse_fails(PRE2 "A read 0 => tag=1 &\n", 4, 19,
		    "expected an expectation", "& after the expectations");
	parse_fails(PRE2 "A read 0 &\nA exit\n", 5, 3,
		    "'A' cannot exit while the background op of line 4 uses it: 'wait A' first",
		    "exit with a background op in flight");
	parse_fails(PRE2 "A process_vm_readv B 0 &\nB exit\n", 5, 3,
		    "'B' cannot exit while the background op of line 4 uses it: 'wait A' first",
		    "exit of a process another reads in the background");
	parse_fails(PRE2 "A read 0 &\ndraw\n", 5, 1,
		    "'draw' needs a machine at rest", "draw with an op in flight");
	parse_fails(PRE2 "A read 0 &\ncheck\n", 5, 1,
		    "'check' needs a machine at rest",
		    "check with an op in flight");
	parse_fails(PRE2 "A read 0 &\nwait B\nB read 0\n", 5, 6,
		    "'B' has no background op to wait for",
		    "wait for a process without one");
	parse_fails(PRE2 "A read 0 &\n", 4, 10,
		    "the background op 'A read 0 &' is never waited for: add 'wait A' after it",
		    "a background op never waited for");
	parse_fails(PRE2 "wait\n", 4, 1, "no background op to wait for",
		    "wait with nothing in flight");
	parse_fails(PRE2 "A read 0 &\nwait f\n", 5, 6,
		    "expected a process name, got 'f', a file",
		    "wait for a file");
	parse_fails(PRE2 "A read 0 &\nwait A B\n", 5, 8,
		    "expected end of line, got 'B'", "wait for two");
	parse_fails(PRE2 "violations\n", 4, 12, "expected 'record'",
		    "violations without record");
	parse_fails(PRE2 "violations record\nviolations record\n", 5, 12,
		    "violations are already recorded from line 4",
		    "violations record twice");
	parse_fails(PRE2 "expect violations=1\n", 4, 8,
		    "'violations=' needs a 'violations record' line before it",
		    "violations= without violations record");
	parse_fails(PRE2 "expect violations gup_fast=0\n", 4, 8,
		    "'expect violations' needs a 'violations record' line before it",
		    "expect violations without violations record");
	parse_fails(PRE2 "violations record\nexpect violations\n", 5, 19,
		    "expected SITE=N after 'expect violations'",
		    "expect violations with no site");
	parse_fails(PRE2 "violations record\nexpect violations frob=1\n", 5, 19,
		    "unknown call site 'frob' (one of hugetlb_fault,",
		    "an unknown site");
	parse_fails(PRE2 "violations record\nexpect violations gup_fast=1 gup_fast=2\n",
		    5, 30, "'gup_fast=' is given twice", "a site twice");
	parse_fails(PRE2 "violations record\nexpect violations gup_fast\n", 5, 19,
		    "expected SITE=N (like follow_hugetlb_page=2), got 'gup_fast'",
		    "a site without a count");
	parse_fails(PRE2 "violations record\nexpect violations gup_fast=x\n",
		    5, 28, "expected a number", "a site with a bad count");
	parse_fails(PRE2 "expect A pinned=1\n", 4, 10,
		    "'pinned=' is checked on the op that returns it",
		    "an op's key on an expect line");
	parse_fails(PRE2 "A read 0 => violations=1\n", 4, 13,
		    "use a line 'expect violations=N'", "violations= on an op");
	parse_fails("spawn gup\n", 1, 7, "not a keyword", "an op as a name");
	parse_fails("uffd_read\n", 1, 1, "needs a process first",
		    "uffd_read without a process");
}

static void test_load(void)
{
	struct scenario *sc = NULL;
	struct sc_error err;
	int ret;

	ret = scenario_load("/nonexistent/x.hw", &sc, &err);
	ok(ret == -ENOENT && !sc && strstr(err.msg, "/nonexistent/x.hw: "),
	   "a missing file: %s", err.msg);
	ret = scenario_load("/", &sc, &err);
	ok(ret == -EISDIR && !sc, "a directory: %s", err.msg);
	ret = scenario_load("/dev/zero", &sc, &err);
	ok(ret < 0 && !sc, "an endless device stops: %s", err.msg);
}

/*
 * The executor on a backend without the model-only hooks, as the live
 * kernel backend will be: policy, draw, check and the model-only keys are
 * skipped and counted, everything else runs.
 */
struct stub {
	unsigned long pool;
	unsigned long faults;
};

static void *stub_open(size_t nr_names, const char *policy, FILE *report,
		       int *err)
{
	*err = 0;
	return calloc(1, sizeof(struct stub));
}

static void stub_close(void *be)
{
	free(be);
}

static int stub_set_pool(void *be, unsigned long nr, unsigned long *now)
{
	((struct stub *)be)->pool = nr;
	*now = nr;
	return 0;
}

static int stub_proc(void *be, int proc, const char *name)
{
	return 0;
}

static int stub_exit(void *be, int proc)
{
	return 0;
}

static int stub_access(void *be, int proc, uint64_t addr, bool write,
		       uint64_t *tag)
{
	((struct stub *)be)->faults++;
	if (!write)
		*tag = addr == 0x40000000 ? 0x11 : 0;
	return addr < 0x40000000 ? SIGSEGV : 0;
}

static int stub_stat(void *be, int proc, enum sc_key key, unsigned long *v)
{
	struct stub *s = be;

	if (sc_key_model_only(key))
		return -EOPNOTSUPP;
	*v = key == SC_KEY_TOTAL ? s->pool :
	     key == SC_KEY_FAULTS ? s->faults : 0;
	return 0;
}

static const struct sc_backend stub_backend = {
	.name = "stub",
	.open = stub_open,
	.close = stub_close,
	.set_pool = stub_set_pool,
	.spawn = stub_proc,
	.exit = stub_exit,
	.access = stub_access,
	.stat = stub_stat,
};

static int run_stub(const char *text, struct sc_result *res)
{
	struct sc_run_opts o = { .draw = true, .verbose = true };
	struct scenario *sc = parse_ok(text);
	int ret;

	if (!sc)
		return -100;
	o.out = fopen("/dev/null", "w");
	o.err = o.out;
	if (!o.out) {
		scenario_free(sc);
		return -101;
	}
	ret = scenario_run(sc, &stub_backend, &o, res);
	fclose(o.out);
	scenario_free(sc);
	return ret;
}

static void test_executor(void)
{
	struct sc_result res;
	int ret;

	ret = run_stub("pool 4\npolicy v6.3\nspawn A\n"
		       "expect meminfo total=4 shared=0 pagetables=3\n"
		       "expect A faults=0 nr_pmds=0\n"
		       "A read 0x40000000 2 => faults=2 tag=0x11\n"
		       "draw\ncheck\nA exit\n", &res);
	is_int(ret, 1, "a wrong tag fails the run");
	is_int(res.ops, 7, "7 ops ran (policy, draw, check skipped)");
	is_int(res.expectations, 4, "4 expectations checked");
	is_int(res.failed, 1, "1 failed: the second page's tag");
	is_int(res.skipped, 6, "6 model-only items skipped");

	ret = run_stub("pool 4\nspawn A\nA read 0x40000000 => tag=0x11\n"
		       "A read 0 => SIGSEGV faults=1\nexpect meminfo total=4\n",
		       &res);
	ok(ret == 0 && res.failed == 0 && res.expectations == 4,
	   "signals and faults on a backend without model-only hooks");

	ret = run_stub("pool 4\nspawn A\nA read 0\nexpect meminfo total=5\n"
		       "expect meminfo total=4\n", &res);
	ok(ret == 1 && res.failed == 2 && res.expectations == 2,
	   "an unexpected signal and a wrong count both fail, the run goes on");
}

/*
 * The call-site ops on a backend without their hooks, as the kernel
 * backend is until it grows them: each is skipped and counted, and a
 * background op on a machine that cannot run one is skipped too.
 */
static void test_executor_skips(void)
{
	struct sc_result res;
	int ret;

	ret = run_stub("spawn A\nA gup 0x40000000 => pinned=1\n"
		       "A uffd_register 0x40000000 2M missing\n"
		       "A read 0x40000000 & => tag=0x11\n"
		       "A uffd_read => addr=0x40000000\nwait A\n"
		       "violations record\nexpect violations=0\n"
		       "A folio_referenced 0x40000000\n"
		       "A read 0x40000000 => tag=0x11\n", &res);
	is_int(ret, 0, "a run of skipped call-site ops passes");
	is_int(res.skipped, 7,
	       "7 skipped: gup, uffd_register, read &, uffd_read, violations record, violations=, folio_referenced");
	ok(res.expectations == 1 && res.failed == 0,
	   "the foreground read still runs and is checked");
}

/* Run @text on the model, the time limit @ms; what it printed in @log. */
static int run_model(const char *text, unsigned int ms,
		     struct sc_result *res, char *log, size_t size)
{
	struct scenario *sc = parse_ok(text);
	char *buf = NULL;
	size_t len = 0;
	struct sc_run_opts o = { .timeout_ms = ms };
	int ret;

	log[0] = '\0';
	if (!sc)
		return -100;
	o.out = open_memstream(&buf, &len);
	if (!o.out) {
		scenario_free(sc);
		return -101;
	}
	o.err = o.out;
	ret = scenario_run(sc, &sc_model_backend, &o, res);
	fclose(o.out);
	snprintf(log, size, "%s", buf ? buf : "");
	free(buf);
	scenario_free(sc);
	return ret;
}

#define SHARE "pool 520\nmemfd f\nftruncate f 1G\nspawn A\nspawn B\n" \
	"A mmap 0x40000000 1G rw shared f 0\n" \
	"B mmap 0x40000000 1G rw shared f 0\n"

static void show_log(bool good, const char *log)
{
	if (good)
		return;
	for (const char *s = log; *s; ) {
		const char *nl = strchr(s, '\n');
		int n = nl ? (int)(nl - s) : (int)strlen(s);

		printf("#   %.*s\n", n, s);
		s += n + (nl != NULL);
	}
}

/*
 * The model: background ops, the monitor, and every wait bounded.  The
 * time limit is 200 ms, so that the runs that hit it stay quick.
 */
static void test_executor_model(void)
{
	static char log[16384];
	struct sc_result res;
	bool good;
	int ret;

	/*
	 * The fault sleeps in A's userfault until the monitor copies the
	 * page in; B sees it through the shared table.
	 *
	 *   A PUD -> [pmd: 0x11 . . .] <- B PUD    (after B's fault)
	 *   A read 0x40200000 &   sleeps: no page 1 in the file
	 *   A uffd_copy           [pmd: 0x11 0x22 . .] wakes it
	 */
	ret = run_model(SHARE "A write 0x40000000 tag=0x11\n"
			"B read 0x40000000 => faults=1\n"
			"A uffd_register 0x40000000 1G missing\n"
			"A read 0x40200000 & => tag=0x22 faults=1\n"
			"A uffd_read => addr=0x40200000 write=0\n"
			"A uffd_copy 0x40200000 tag=0x22\n"
			"wait A\nB read 0x40200000 => tag=0x22 faults=0\n"
			"A uffd_close\n", 2000, &res, log, sizeof(log));
	good = ret == 0 && !res.failed && res.expectations == 7 &&
	       strstr(log, "line 11: A read 0x40200000 & => tag=0x22 faults=1") &&
	       strstr(log, "-> ok, 1 fault, tag 0x22");
	ok(good, "a blocked fault is resolved by the monitor, checked at wait");
	show_log(good, log);

	/* Nobody resolves it: wait gives up, closes the userfaultfd. */
	ret = run_model(SHARE "A uffd_register 0x40000000 1G missing\n"
			"A read 0x40200000 &\nA uffd_read\nwait A\n"
			"A read 0x40000000\n", 200, &res, log, sizeof(log));
	good = ret == 1 && res.stopped_line == 11 && res.ops == 11 &&
	       strstr(log, "t.hw:9: 'A read 0x40200000 &' still running 200 ms after 'wait' at line 11");
	ok(good, "a wait that times out fails, and the run stops there");
	show_log(good, log);

	/* A foreground fault in the range would sleep forever: bounded. */
	ret = run_model(SHARE "A uffd_register 0x40000000 1G missing\n"
			"A read 0x40200000\nB read 0x40000000\n", 200, &res,
			log, sizeof(log));
	good = ret == 1 && res.stopped_line == 9 &&
	       strstr(log, "t.hw:9: 'A read 0x40200000' did not come back within 200 ms") &&
	       strstr(log, "run it in the background with '&'");
	ok(good, "a foreground op that sleeps in a userfault is an error");
	show_log(good, log);

	/* uffd_read: no event within the limit is EAGAIN; nonblock at once. */
	ret = run_model(SHARE "A uffd_register 0x40000000 1G missing\n"
			"A uffd_read => EAGAIN\nA uffd_read nonblock => EAGAIN\n"
			"A uffd_read\nA uffd_copy 0x40000000 tag=1\n"
			"B uffd_read => EBADF\nA uffd_close\n"
			"A uffd_close => EBADF\n", 200, &res, log, sizeof(log));
	good = ret == 1 && res.failed == 1 &&
	       strstr(log, "(no event within 200 ms)") &&
	       strstr(log, "t.hw:11: A uffd_read failed with EAGAIN");
	ok(good, "uffd_read waits at most the limit; EBADF without a userfaultfd");
	show_log(good, log);

	/* FOLL_NOWAIT stops at the userfault; without pinned=, a failure. */
	ret = run_model(SHARE "A uffd_register 0x40000000 1G missing\n"
			"A gup 0x40000000 nowait\n"
			"A gup 0x40000000 nowait => pinned=0\n", 1000, &res,
			log, sizeof(log));
	good = ret == 1 && res.failed == 1 &&
	       strstr(log, "t.hw:9: A gup got 0 of 1 pages (write '=> pinned=0' if that is expected)");
	ok(good, "a short pin fails unless pinned= says so");
	show_log(good, log);

	/*
	 * Under v6.1 the walks are violations: fatal, unless recorded.  B's
	 * GUP walks (nothing there), faults (hugetlb_fault's early check)
	 * and walks again; A's write faulted once.
	 *
	 *   A PUD -> [pmd: 1 . . .] <- B PUD
	 */
	ret = run_model("policy v6.1\n" SHARE "A write 0x40000000 tag=1\n"
			"B gup 0x40000000\n", 1000, &res, log, sizeof(log));
	good = ret == 1 && strstr(log, "walk-rule violations:") &&
	       strstr(log, "follow_hugetlb_page");
	ok(good, "without 'violations record' a violation fails the run");
	show_log(good, log);
	ret = run_model("policy v6.1\nviolations record\n" SHARE
			"A write 0x40000000 tag=1\nB gup 0x40000000\n"
			"expect violations=4\n"
			"expect violations follow_hugetlb_page=2 hugetlb_fault=2 gup_fast=0\n",
			1000, &res, log, sizeof(log));
	good = ret == 0 && res.expectations == 4 &&
	       strstr(log, "walk-rule violations recorded: 4");
	ok(good, "'violations record' counts them per site instead");
	show_log(good, log);
	ret = run_model("policy v6.1\nviolations record\n" SHARE
			"A write 0x40000000 tag=1\n"
			"expect violations hugetlb_fault=2\n", 1000, &res,
			log, sizeof(log));
	good = ret == 1 &&
	       strstr(log, "t.hw:11: expectation failed: hugetlb_fault=2, got 1");
	ok(good, "a wrong site count fails with the site's name");
	show_log(good, log);
}

int main(void)
{
	test_numbers();
	test_full();
	test_empty();
	test_errors();
	test_sites();
	test_site_errors();
	test_load();
	test_executor();
	test_executor_skips();
	test_executor_model();
	return done_testing();
}
