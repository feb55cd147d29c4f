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
		    "only 'read' can expect tag=", "tag= on a write");
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

int main(void)
{
	test_numbers();
	test_full();
	test_empty();
	test_errors();
	test_load();
	test_executor();
	return done_testing();
}
