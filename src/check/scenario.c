// SPDX-License-Identifier: MIT
/*
 * Scenario-driven harnesses: the race explorer runs a scenario file
 * (docs/scenario.md), exploring the interleavings of its background ops.
 *
 *	A madvise 0x40000000 2M populate_write &     task "A:madvise@33"
 *	A madvise 0x40000000 2M dontneed &           task "A:madvise@34"
 *	B munmap 0x80000000 1G &                     task "B:munmap@35"
 *	wait
 *	expect shared=0                              run by the last of them
 *
 * The ops before the first background op are the setup: they run once,
 * in order, on a task of their own, and the arena is snapshotted after
 * them, as a built-in harness's setup is.  From there every schedule
 * runs these tasks from the snapshot:
 *
 *  - one per background op (`P op ... &`), named "P:verb@LINE", which
 *    runs the op and checks its `=>` items where it ends (a `wait` would
 *    check the same values: an op's result is fixed when it ends); one
 *    that must not start before an earlier op or `wait` starts asleep;
 *  - "main", task 0, only when ops of the scenario's own come between
 *    the first background op and the first `wait` (a uffd monitor):
 *    they must run while the background ops may.
 *
 * The scenario's own ops from the first background op on run in file
 * order on one task at a time (see run_sequence()): main's, then, after
 * each `wait`, the task whose end completed it.
 *
 * A failed `=>` or `expect`, an unexpected errno or signal, and a failed
 * `check` end the schedule as a finding, reported with the scenario's
 * path and line; every checker of the explorer (KASAN, the destroyed
 * ptl, the walk rule under a policy that enforces it, lockdep,
 * deadlock, the invariants after the schedule) reports as it does for
 * the built-in harnesses.
 *
 * Invariants kept:
 *  - everything a schedule changes is in the arena: the model machine
 *    (backend_model.c and the executor's allocations are compiled with
 *    sync/explore/alloc.h) and struct scn_shared; what lives outside
 *    (the parsed scenario, the harness, the per-task runners) is either
 *    constant or reset by its task before use, so a schedule is a
 *    function of its choices alone and a replay string reproduces it;
 *  - the file's order, as `hugewalk run` keeps it: a background op
 *    starts only once the scenario's sequence has reached its line, and
 *    the sequence goes past `wait [P]` only once every background op of
 *    P started before it has ended;
 *  - nothing reads the clock or polls: a uffd_read that waits for an
 *    event sleeps in hw_uffd_read(), woken by the fault that queues it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hugewalk/hugewalk.h>

#include "check/check.h"
#include "cli/scenario_runner.h"

/* A scenario file made into a harness. */
struct race_scenario {
	struct scenario *sc;
	uint32_t hash;			/* FNV-1a of the file's bytes */
	char *name;			/* "PATH@HASH": the harness's name */
	char walker[256];		/* what runs, for --replay */
	struct race_harness h;
	char comm[RACE_MAX_TASKS][24];	/* task names */
	bool has_main;			/* task 0: ops around them */
	int nr_bg;			/* background ops: the other tasks */
	size_t first_bg;		/* the first one's op index */
	size_t bg_op[RACE_MAX_TASKS];	/* by background op: op index */
	bool gated[RACE_MAX_TASKS];	/* it waits for main to reach it */
	bool record;			/* `violations record` */
	size_t tail;			/* ops from here on only observe */
	const char *policy;		/* first `policy` line's, or NULL */
	char err[1024];			/* why the last setup failed */
};

/*
 * What the tasks of a schedule share, in the arena (restored before each
 * schedule with the rest of the machine).
 */
struct scn_shared {
	void *m;			/* the model machine */
	/* by background op: main started it (one each: no false wake-up) */
	struct wait_queue_head start[RACE_MAX_TASKS];
	unsigned int started;		/* by background op: released */
	unsigned int done;		/* by background op: it ended */
	long parked;			/* the sequence waits here, or -1 */
	unsigned int park_need;		/* for these background ops */
	bool alive[];			/* by name: it exists */
};

/* The executor's state of each task; index RACE_MAX_TASKS: the setup. */
static struct runner runners[RACE_MAX_TASKS + 1];
static struct sc_result results[RACE_MAX_TASKS + 1];
/* The `wait` at which the task took the scenario's sequence on, or 0. */
static int seq_line[RACE_MAX_TASKS + 1];
static const struct sc_run_opts run_opts = { .quiet = true };

static struct race_scenario *scn_of(const struct race_ctx *c)
{
	return container_of(c->harness, struct race_scenario, h);
}

/* FNV-1a, 32 bits: the replay string names the file's exact bytes. */
static uint32_t fnv1a(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--) {
		h ^= (unsigned char)*p++;
		h *= 16777619u;
	}
	return h;
}

/* ---- running one op ------------------------------------------------------ */

/* The scenario a runner runs, set by runner_init(). */
static struct race_scenario *runner_scn[RACE_MAX_TASKS + 1];

static struct race_scenario *scn_of_runner(const struct runner *r)
{
	return runner_scn[r - runners];
}

static struct runner *runner_init(struct race_ctx *c, int slot)
{
	struct race_scenario *s = scn_of(c);
	struct scn_shared *sh = c->priv;
	struct runner *r = &runners[slot];

	r->sc = s->sc;
	r->be = &sc_model_backend;
	r->o = &run_opts;
	r->res = &results[slot];
	memset(r->res, 0, sizeof(*r->res));
	r->m = sh->m;
	r->alive = sh->alive;
	r->cur = NULL;
	r->timeout_ms = SC_TIMEOUT_MS;
	seq_line[slot] = 0;
	runner_scn[slot] = s;
	return r;
}

/* The ops of scenario_run.c's own: files, processes, mappings. */
static int call(struct runner *r, const struct sc_op *op)
{
	unsigned long now;

	return sc_call_syscall(r, op, &now);
}

static void run_call(struct runner *r, const struct sc_op *op)
{
	bool counts = op->proc >= 0 && op->kind != SC_EXIT, measured = false;
	unsigned long f0 = 0, f1 = 0;
	int ret;

	if (counts)
		measured = !sc_stat_of(r, op->proc, SC_KEY_FAULTS, &f0);
	ret = call(r, op);
	if (measured)
		measured = !sc_stat_of(r, op->proc, SC_KEY_FAULTS, &f1);
	sc_check_result(r, op, ret, false, 0);
	sc_check_faults(r, op, measured, f1 - f0);
}

/*
 * uffd_read without nonblock: sleep in hw_uffd_read() until a fault
 * queues an event (a task that polled would spin under the explorer).
 */
static void exec_uffd_read(struct runner *r, const struct sc_op *op,
			   struct sc_exec *x)
{
	struct hw_uffd *u = sc_model_uffd(r->m, op->proc);
	struct hw_uffd_msg msg;

	x->ran = true;
	x->ret = u ? hw_uffd_read(u, &msg, false) : -EBADF;
	if (!x->ret)
		x->msg = (struct sc_uffd_msg){ msg.address, msg.write };
}

/* The accesses, call sites, userfaultfd ops, and any background op. */
static void run_exec(struct runner *r, const struct sc_op *op)
{
	struct sc_exec x = { 0 };

	sc_faults_begin(r, op, &x);
	if (op->kind == SC_UFFD_READ && !(op->opts & SC_OPT_NONBLOCK))
		exec_uffd_read(r, op, &x);
	else
		sc_exec_op(r, op, &x);
	sc_faults_end(r, op, &x);
	if (!x.ran)
		x.ret = -ENOSYS;
	sc_report_exec(r, op, &x);
	xs_free(x.tags);	/* scenario_exec.c's, in the arena */
}

/* A failed `check`: the invariants the model printed, as a report. */
static void run_check(struct runner *r, const struct sc_op *op, FILE *out)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int broken;

	if (!mem)
		return;
	broken = r->be->check(r->m, mem);
	fclose(mem);
	if (broken > 0) {
		fprintf(out, "==================================================================\n");
		fprintf(out, "BUG: %s:%d: check failed: %d broken invariant%s\n",
			r->sc->path, op->pos.line, broken,
			broken == 1 ? "" : "s");
		fprintf(out, "%s", text ? text : "");
		fprintf(out, "==================================================================\n");
		fflush(out);
		free(text);
		hw_report_fatal(HW_FINDING_INVARIANT);
	}
	free(text);
}

/*
 * Run @op on @r's task and check what follows its `=>`.  Return: 0, or
 * 1 if something failed; its diagnostics are in r->dbuf.
 */
static int exec_one(struct runner *r, const struct sc_op *op)
{
	unsigned int failed = r->res->failed;
	int missing = sc_name_missing(r, op);

	r->len = 0;
	r->dlen = 0;
	r->dbuf[0] = '\0';
	r->detail[0] = '\0';
	if (missing >= 0) {
		r->res->failed++;
		sc_diag(r, op, "'%s' does not exist: the op that made it failed",
			r->sc->names[missing].name);
		return 1;
	}
	switch (op->kind) {
	case SC_EXPECT:
		sc_run_expect(r, op);
		break;
	case SC_POLICY:		/* the cell's policy holds throughout */
	case SC_VIOLATIONS:	/* read when the harness was made */
	case SC_DRAW:		/* nobody reads a drawing per schedule */
	case SC_WAIT:		/* main's, see scn_main() */
		break;
	case SC_CHECK:
		/*
		 * At the end of the file the engine's own check, once every
		 * task and RCU callback is done, is the same check (and costs
		 * no scheduling points: its locks are not explored).
		 */
		if ((size_t)(op - r->sc->ops) < scn_of_runner(r)->tail)
			run_check(r, op, current->sink->out);
		break;
	default:
		if (sc_is_exec_kind(op->kind) || op->background)
			run_exec(r, op);
		else
			run_call(r, op);
		break;
	}
	return r->res->failed != failed;
}

/*
 * A scenario's expectation failed on the current task: the report, like
 * the kernel's checkers', ends the schedule.
 */
static void __attribute__((noreturn))
report_expectation(struct runner *r, const struct sc_op *op)
{
	FILE *out = current->sink->out;
	const char *nl = strchr(r->dbuf, '\n');

	fprintf(out, "==================================================================\n");
	fprintf(out, "BUG: %.*s\n", nl ? (int)(nl - r->dbuf) : (int)r->dlen,
		r->dbuf);
	if (nl && nl[1])
		fprintf(out, "%s", nl + 1);
	fprintf(out, "task %s ran '%s': %.*s\n", current->comm, op->text,
		(int)r->len, r->buf);
	if (seq_line[r - runners])
		fprintf(out, "(the scenario's own ops after 'wait' at line %d "
			"run on the task that ended last of those it joins)\n",
			seq_line[r - runners]);
	fprintf(out, "==================================================================\n");
	fflush(out);
	hw_report_fatal(HW_FINDING_EXPECT);
}

/* ---- the tasks ----------------------------------------------------------- */
/*
 * The scenario's own sequence (the ops from the first background op on,
 * in file order, as `hugewalk run`'s main thread runs them) is a baton:
 * at most one task runs it at a time.  Task "main" starts with it when
 * ops of its own must run while background ops may (a uffd monitor);
 * otherwise it starts parked at the first `wait`.  At a `wait` whose
 * background ops have not all ended, the holder parks it there and
 * goes on to its end; the task whose end completes that wait takes it
 * on.  Blocking main in a `wait` instead would make it runnable after
 * every background op's end, and the explorer would try each of those
 * points too: many schedules more, none different (main does nothing
 * visible between a `wait` and its next op).
 */

static int bg_index(const struct race_scenario *s, size_t i)
{
	int k;

	for (k = 0; k < s->nr_bg; k++)
		if (s->bg_op[k] == i)
			return k;
	return -1;
}

/* The background ops `wait [P]` at op @i joins: started before it, P's. */
static unsigned int waited_for(const struct race_scenario *s, size_t i)
{
	const struct sc_op *w = &s->sc->ops[i];
	unsigned int need = 0;
	int k;

	for (k = 0; k < s->nr_bg && s->bg_op[k] < i; k++)
		if (w->proc < 0 || s->sc->ops[s->bg_op[k]].proc == w->proc)
			need |= 1U << k;
	return need;
}

/*
 * Run the scenario's sequence from op @i on the current task, until its
 * end or a `wait` that must park it.
 */
static void run_sequence(struct race_ctx *c, struct runner *r, size_t i)
{
	struct race_scenario *s = scn_of(c);
	struct scn_shared *sh = c->priv;

	for (; i < s->sc->nops; i++) {
		const struct sc_op *op = &s->sc->ops[i];
		int k;

		if (op->background) {
			k = bg_index(s, i);
			if (!s->gated[k])
				continue;
			/* Started before the wake-up its task waits for. */
			WRITE_ONCE(sh->started, sh->started | 1U << k);
			wake_up_all(&sh->start[k]);
			continue;
		}
		if (op->kind == SC_WAIT) {
			unsigned int need = waited_for(s, i);

			if ((sh->done & need) == need)
				continue;
			sh->parked = i;
			sh->park_need = need;
			return;
		}
		if (exec_one(r, op))
			report_expectation(r, op);
	}
	sh->parked = -1;
}

/* Background op @k: wait to be started if it must, run it, end. */
static void scn_bg(struct race_ctx *c, int k)
{
	struct race_scenario *s = scn_of(c);
	struct scn_shared *sh = c->priv;
	const struct sc_op *op = &s->sc->ops[s->bg_op[k]];
	struct runner *r = runner_init(c, s->has_main + k);
	size_t at;

	if (s->gated[k])
		wait_event(&sh->start[k], READ_ONCE(sh->started) & (1U << k));
	if (exec_one(r, op))
		report_expectation(r, op);
	/*
	 * Between two scheduling points a task runs alone: the test and
	 * the taking of the baton are one step, no other task can take it.
	 */
	sh->done |= 1U << k;
	if (sh->parked < 0 || (sh->done & sh->park_need) != sh->park_need)
		return;
	at = sh->parked;
	sh->parked = -1;
	seq_line[s->has_main + k] = s->sc->ops[at].pos.line;
	run_sequence(c, r, at + 1);
}

/* Task 0, if any: the sequence from the first background op on. */
static void scn_main(struct race_ctx *c)
{
	struct race_scenario *s = scn_of(c);

	run_sequence(c, runner_init(c, 0), s->first_bg);
}

#define SCN_BG(k)							\
static void scn_bg##k(struct race_ctx *c)				\
{									\
	scn_bg(c, k);							\
}
SCN_BG(0)
SCN_BG(1)
SCN_BG(2)
SCN_BG(3)
SCN_BG(4)
SCN_BG(5)
SCN_BG(6)

/* A background op that main starts later starts asleep on the queue. */
static struct wait_queue_head *scn_gate(struct race_ctx *c, int t)
{
	struct race_scenario *s = scn_of(c);
	struct scn_shared *sh = c->priv;
	int k = t - s->has_main;

	return k >= 0 && s->gated[k] ? &sh->start[k] : NULL;
}

static void (*const bg_bodies[RACE_MAX_TASKS])(struct race_ctx *) = {
	scn_bg0, scn_bg1, scn_bg2, scn_bg3, scn_bg4, scn_bg5, scn_bg6,
};

/* ---- the setup ----------------------------------------------------------- */

/* The setup runs alone: the running task goes on, else the lowest. */
static int choose_default(void *ctx, int cur, unsigned int runnable)
{
	return cur >= 0 ? cur : __builtin_ctz(runnable);
}

static const struct xs_ops setup_ops = { .choose = choose_default };

struct setup_state {
	struct race_ctx *c;
	int failed_line;		/* the op that failed, or 0 */
};

/* The ops before the first background op, on a task of their own. */
static void scn_setup_body(void *arg)
{
	struct setup_state *st = arg;
	struct race_scenario *s = scn_of(st->c);
	struct runner *r = runner_init(st->c, RACE_MAX_TASKS);

	for (size_t i = 0; i < s->first_bg; i++) {
		const struct sc_op *op = &s->sc->ops[i];

		if (!exec_one(r, op))
			continue;
		snprintf(s->err, sizeof(s->err), "%.*s", (int)r->dlen,
			 r->dbuf);
		st->failed_line = op->pos.line;
		return;
	}
}

/*
 * The harness's setup: a model machine under @policy, its walk-rule
 * violations fatal under a policy that enforces the rule (unless the
 * file says `violations record`), then the ops before the first
 * background op.  The engine snapshots the arena after it.
 */
static int scn_setup(struct race_ctx *c, const char *policy)
{
	struct race_scenario *s = scn_of(c);
	struct setup_state st = { .c = c };
	struct scn_shared *sh;
	enum hw_finding f;
	int err;
	void *m;

	s->err[0] = '\0';
	m = sc_model_backend.open(s->sc->nnames, policy, c->report, &err);
	if (!m) {
		snprintf(s->err, sizeof(s->err), "%s: cannot start the model "
			 "machine: %s\n", s->sc->path, strerror(-err));
		return err;
	}
	c->sys = sc_model_system(m);
	c->sys->sink.record = s->record;
	sh = xs_calloc(1, sizeof(*sh) + s->sc->nnames + 1);
	if (!sh)
		return -ENOMEM;
	sh->m = m;
	for (int k = 0; k < RACE_MAX_TASKS; k++)
		init_waitqueue_head(&sh->start[k]);
	/* Without main, the sequence starts parked at the first wait. */
	sh->parked = -1;
	for (size_t i = s->first_bg; !s->has_main && i < s->sc->nops; i++) {
		if (s->sc->ops[i].kind != SC_WAIT)
			continue;
		sh->parked = i;
		sh->park_need = waited_for(s, i);
		break;
	}
	c->priv = sh;

	xs_reset();
	xs_set_broken_grace_period(false);
	xs_watch_site(-1);
	if (xs_spawn("setup", scn_setup_body, &st, &c->sys->sink,
		     c->sys) < 0)
		return -ENOMEM;
	f = xs_run(&setup_ops, NULL, c->report);
	if (st.failed_line)
		return -EINVAL;
	if (f != HW_FINDING_NONE) {
		snprintf(s->err, sizeof(s->err), "%s: the ops before line %d "
			 "(the setup, run before any background op) did not "
			 "finish: %s%s\n", s->sc->path,
			 s->sc->ops[s->first_bg].pos.line,
			 race_finding_name(f), f == HW_FINDING_DEADLOCK ?
			 " (does one sleep in a userfault? run it with '&')" :
			 "");
		return -EINVAL;
	}
	return 0;
}

/* ---- making a harness of a file ------------------------------------------ */

static int scn_error(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int scn_error(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * Read @path whole into a malloc'd buffer.  0 or -errno.  (stdio: the
 * sync headers' LOCK_READ would clash with <fcntl.h>'s.)
 */
static int read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	char *p;

	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > SC_MAX_FILE) {
		fclose(f);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EFBIG;
	}
	p = malloc(st.st_size + 1);
	if (!p) {
		fclose(f);
		return -ENOMEM;
	}
	*len = fread(p, 1, st.st_size, f);
	fclose(f);
	*buf = p;
	return 0;
}

/*
 * Which ops become which tasks: one per background op, and main (task
 * 0) when an op other than a background op comes between the first
 * background op and the first `wait`: it must run while they may.  A
 * background op waits to be started if any op but a background op (a
 * wait too) comes between the first and it.
 */
static int plan_tasks(struct race_scenario *s, char *err, size_t len)
{
	const struct scenario *sc = s->sc;
	bool fg_seen = false;
	size_t i;
	int k = 0;

	for (i = 0; i < sc->nops && !sc->ops[i].background; i++)
		;
	if (i == sc->nops)
		return scn_error(err, len, "%s: no background op ('P op ... "
				 "&'): nothing runs concurrently, nothing to "
				 "explore", sc->path);
	s->first_bg = i;
	for (; i < sc->nops && sc->ops[i].kind != SC_WAIT; i++)
		if (!sc->ops[i].background)
			s->has_main = true;
	for (i = s->first_bg; i < sc->nops; i++) {
		const struct sc_op *op = &sc->ops[i];

		if (!op->background) {
			fg_seen = true;
			continue;
		}
		if (k + s->has_main >= RACE_MAX_TASKS)
			return scn_error(err, len, "%s:%d:%d: the explorer "
					 "runs at most %d tasks: the background "
					 "ops%s; this one is one too many",
					 sc->path, op->bg_pos.line,
					 op->bg_pos.col, RACE_MAX_TASKS,
					 s->has_main ? " and main, which runs "
					 "the ops around them" : "");
		s->bg_op[k] = i;
		s->gated[k] = fg_seen;
		snprintf(s->comm[s->has_main + k], sizeof(s->comm[0]),
			 "%s:%s@%d", sc->names[op->proc].name,
			 sc_kind_name(op->kind), op->pos.line);
		k++;
	}
	s->nr_bg = k;
	return 0;
}

static void build_harness(struct race_scenario *s)
{
	struct race_harness *h = &s->h;
	size_t off;
	int t, n = s->nr_bg + s->has_main;

	if (s->has_main)
		snprintf(s->comm[0], sizeof(s->comm[0]), "main");
	for (t = 0; t < n; t++) {
		h->tasks[t].name = s->comm[t];
		h->tasks[t].body = s->has_main && !t ? scn_main :
				   bg_bodies[t - s->has_main];
	}
	off = snprintf(s->walker, sizeof(s->walker), "scenario %s, tasks",
		       s->sc->path);
	for (t = 0; t < n && off < sizeof(s->walker); t++)
		off += snprintf(s->walker + off, sizeof(s->walker) - off,
				"%s %s", t ? "," : "", s->comm[t]);
	h->name = s->name;
	h->site = NR_SITES;
	h->walker = s->walker;
	h->setup = scn_setup;
	h->gate = scn_gate;
}

/**
 * race_scenario_load() - read scenario file @path and make it a harness
 * whose tasks are its background ops (and main, for the ops around
 * them).
 * @path: the file.
 * @err: where a message goes: "PATH:LINE:COL: ..." for an error in the
 *	file, as `hugewalk run` prints it.
 * @len: its size.
 *
 * Context: the explorer's thread, outside any engine's run.
 * Return: the scenario (race_scenario_free() it), or NULL.
 */
struct race_scenario *race_scenario_load(const char *path, char *err,
					 size_t len)
{
	struct race_scenario *s = calloc(1, sizeof(*s));
	struct sc_error perr;
	char *buf = NULL;
	size_t n = 0;
	int ret;

	if (!s) {
		scn_error(err, len, "%s: out of memory", path);
		return NULL;
	}
	ret = read_file(path, &buf, &n);
	if (ret) {
		scn_error(err, len, "%s: %s", path, strerror(-ret));
		goto fail;
	}
	s->hash = fnv1a(buf, n);
	ret = scenario_parse(path, buf, n, &s->sc, &perr);
	free(buf);
	if (ret) {
		scn_error(err, len, "%s", perr.msg);
		goto fail;
	}
	if (plan_tasks(s, err, len))
		goto fail;
	/* The checks at the very end: the engine's after every schedule. */
	for (s->tail = s->sc->nops; s->tail > s->first_bg; s->tail--) {
		enum sc_kind kind = s->sc->ops[s->tail - 1].kind;

		if (kind != SC_CHECK && kind != SC_DRAW && kind != SC_POLICY &&
		    kind != SC_VIOLATIONS)
			break;
	}
	for (size_t i = 0; i < s->sc->nops; i++) {
		const struct sc_op *op = &s->sc->ops[i];

		if (op->kind == SC_VIOLATIONS)
			s->record = true;
		if (op->kind == SC_POLICY && !s->policy) {
			if (!hw_policy_lookup(op->name)) {
				scn_error(err, len, "%s:%d:%d: unknown policy "
					  "'%s' (see 'hugewalk policies')",
					  path, op->name_pos.line,
					  op->name_pos.col, op->name);
				goto fail;
			}
			s->policy = op->name;
		}
	}
	if (asprintf(&s->name, "%s@%08x", path, s->hash) < 0) {
		s->name = NULL;
		scn_error(err, len, "%s: out of memory", path);
		goto fail;
	}
	build_harness(s);
	return s;
fail:
	race_scenario_free(s);
	return NULL;
}

/**
 * race_scenario_from_replay() - the scenario a replay string names.
 * @harness: its first part, "PATH@HASH".
 * @err: where a message goes.
 * @len: its size.
 *
 * Loads PATH and checks that it is still the file the string was made
 * from: its hash must be HASH.
 * Context: as race_scenario_load().
 * Return: the scenario, or NULL.
 */
struct race_scenario *race_scenario_from_replay(const char *harness,
						char *err, size_t len)
{
	const char *at = strrchr(harness, '@');
	struct race_scenario *s;
	unsigned long want;
	char *path, *end;

	if (!at || at == harness || strlen(at + 1) != 8) {
		scn_error(err, len, "'%s' is neither a site nor a scenario "
			  "(PATH@HASH)", harness);
		return NULL;
	}
	want = strtoul(at + 1, &end, 16);
	if (*end) {
		scn_error(err, len, "'%s': the hash is 8 hex digits", harness);
		return NULL;
	}
	path = strndup(harness, at - harness);
	if (!path) {
		scn_error(err, len, "out of memory");
		return NULL;
	}
	s = race_scenario_load(path, err, len);
	if (s && s->hash != want) {
		scn_error(err, len, "%s changed since the replay string was "
			  "made (hash %08lx, now %08x): the schedule would not "
			  "be the same", path, want, s->hash);
		race_scenario_free(s);
		s = NULL;
	}
	free(path);
	return s;
}

void race_scenario_free(struct race_scenario *s)
{
	if (!s)
		return;
	scenario_free(s->sc);
	free(s->name);
	free(s);
}

const struct race_harness *race_scenario_harness(const struct race_scenario *s)
{
	return &s->h;
}

const char *race_scenario_policy(const struct race_scenario *s)
{
	return s->policy;
}

const char *race_scenario_path(const struct race_scenario *s)
{
	return s->sc->path;
}

/* Why the last setup of @s failed: "PATH:LINE: ..." lines, or "". */
const char *race_scenario_error(const struct race_scenario *s)
{
	return s->err;
}

bool race_harness_is_scenario(const struct race_harness *h)
{
	return h->setup == scn_setup;
}

/* The scenario whose harness @h is (race_harness_is_scenario() holds). */
struct race_scenario *race_harness_scenario(const struct race_harness *h)
{
	return container_of(h, struct race_scenario, h);
}
