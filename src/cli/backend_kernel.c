// SPDX-License-Identifier: MIT
/*
 * The kernel backend: a scenario runs on the machine's own kernel.  Files
 * are memfd_create(MFD_HUGETLB) descriptors held here, in the controller;
 * each scenario process is a driver process (kernel_driver.c) that
 * performs its ops with the real system calls and memory accesses; pool
 * counters come from sysfs, a process's huge-page RSS from
 * /proc/PID/status (HugetlbPages), its faults from getrusage() in the
 * driver.
 *
 * Invariants:
 *  - Every driver is tracked (kernel_setup.c) from the moment its pid is
 *    known until it is gone: a run cut short kills it.
 *  - An op that exits a driver returns only once the process is gone, so
 *    its mappings are torn down (exit_mmap()) before the next op runs.
 *  - When the kernel cannot run the scenario as written from some op on
 *    (an address the driver itself occupies, a pool that cannot grow, a
 *    migration with one NUMA node), the backend says so through
 *    diverged(), once, and the comparison stops there.
 *
 * Background ops.  The executor's main thread talks to a driver over its
 * socket; a job thread of the executor (an op run with `&`, or one that
 * may sleep in a userfault) talks to a worker thread of the driver over
 * a channel of its own (kernel_thread.c), taken at its first call to that
 * driver and given back by thread_exit, when the job is done.  So the
 * monitor's ops reach the driver while a worker sleeps in a userfault.
 *  - A driver's socket carries one call at a time: kproc.lock, held for
 *    the call.  A job thread uses it only to ask for a worker.
 *  - kernel.lock orders diverged and the channels' busy and dead flags
 *    and their sockets; it is never held across a call.  A channel is
 *    used by the job that holds it (busy) only; reap() of its driver
 *    shuts a busy one down (its job's call fails) and leaves the close to
 *    the job.
 *  - A job never reaps or kills: what goes wrong on a channel is said
 *    through diverged(), and the main thread stops the run there.
 *  - A job waits for its worker without a timeout of its own: the
 *    executor bounds it (a wait, then unblock(), which closes every
 *    driver's userfaultfd, then abandon()).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/kernel.h"
#include "cli/scenario.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB	0x0004U
#endif
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB	(21U << 26)
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open	434
#endif

#define KB_TIMEOUT	10	/* seconds a driver may take to answer */
#define KB_MAX_NODES	64
#define KB_MAX_CHANS	16	/* background channels per driver */
#define KB_JOB_PROCS	4	/* drivers one job may call */

/* A socket to one worker thread of a driver. */
struct kchan {
	int sock;		/* -1: no worker yet */
	bool busy;		/* a job holds it */
	bool dead;		/* its driver was reaped: the job closes it */
};

struct kproc {
	pid_t pid;		/* 0: no such process */
	int sock;
	int pidfd;		/* -1 if pidfd_open() is missing */
	bool direct;		/* our child (spawn), not a scenario fork */
	char name[32];
	pthread_mutex_t lock;	/* sock: one call at a time */
	struct kchan chan[KB_MAX_CHANS];
};

struct kernel {
	size_t nr;
	struct kproc *proc;	/* by name index */
	int *fd;		/* memfds by name index, -1 if none */
	FILE *report;
	pthread_mutex_t lock;	/* diverged; the channels */
	char diverged[512];	/* why the scenario cannot go on as is */
	int nodes[KB_MAX_NODES];
	int nnodes;
};

/* A job thread's channels (thread_enter to thread_exit). */
static __thread struct kb_job {
	bool on;
	int n;
	int proc[KB_JOB_PROCS];
	struct kchan *ch[KB_JOB_PROCS];
} kb_job;

static char kb_last_error[512];

const char *sc_kernel_last_error(void)
{
	return kb_last_error;
}

static void diverge(struct kernel *k, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void diverge(struct kernel *k, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&k->lock);
	if (!k->diverged[0]) {
		va_start(ap, fmt);
		vsnprintf(k->diverged, sizeof(k->diverged), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&k->lock);
}

/* ---- drivers ---------------------------------------------------------- */

static bool gone(struct kproc *p, int ms)
{
	struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };

	if (p->pidfd >= 0)
		return poll(&pfd, 1, ms) > 0;
	/* No pidfd_open(): poll kill(), which finds zombies too. */
	for (int i = 0; i <= ms / 10; i++) {
		if (p->direct ? waitpid(p->pid, NULL, WNOHANG) == p->pid :
		    kill(p->pid, 0) && errno == ESRCH)
			return true;
		usleep(10 * 1000);
	}
	return false;
}

/* The channels of a driver that is gone; a busy one is its job's to close. */
static void close_chans(struct kernel *k, struct kproc *p)
{
	pthread_mutex_lock(&k->lock);
	for (int i = 0; i < KB_MAX_CHANS; i++) {
		struct kchan *ch = &p->chan[i];

		if (ch->sock < 0)
			continue;
		if (ch->busy) {
			shutdown(ch->sock, SHUT_RDWR);
			ch->dead = true;
		} else {
			close(ch->sock);
			ch->sock = -1;
		}
	}
	pthread_mutex_unlock(&k->lock);
}

/*
 * Wait until @p's process is gone, then forget it.  A process that does
 * not go even after SIGKILL is stuck in the kernel (an uninterruptible
 * sleep): it is left there, never waited for.  Return: false then.
 */
static bool reap(struct kernel *k, struct kproc *p)
{
	bool ok;

	if (!p->pid)
		return true;
	ok = gone(p, KB_TIMEOUT * 1000);
	if (!ok) {
		kill(p->pid, SIGKILL);
		ok = gone(p, 2000);
	}
	if (ok && p->direct)
		waitpid(p->pid, NULL, 0);
	if (p->pidfd >= 0)
		close(p->pidfd);
	ks_untrack_pid(p->pid);
	pthread_mutex_lock(&p->lock);
	if (p->sock >= 0)
		close(p->sock);
	p->pid = 0;
	p->sock = -1;
	p->pidfd = -1;
	pthread_mutex_unlock(&p->lock);
	close_chans(k, p);
	return ok;
}

/* The kernel stack of a stuck task, on one line. */
static void kernel_stack(pid_t pid, char *buf, size_t size)
{
	char path[64], line[256];
	size_t len = 0;
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/stack", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && len + 2 < size) {
		char *sym = strstr(line, "] ");

		sym = sym ? sym + 2 : line;
		sym[strcspn(sym, "+\n")] = '\0';
		if (!strncmp(sym, "entry_SYSCALL", 13) ||
		    !strncmp(sym, "do_syscall", 10))
			break;
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
					len ? " <- " : "", sym);
	}
	fclose(f);
}

static void lost(struct kernel *k, struct kproc *p, const char *what)
{
	char stack[384];
	pid_t pid = p->pid;

	kernel_stack(pid, stack, sizeof(stack));
	kill(pid, SIGKILL);
	if (reap(k, p))
		diverge(k, "%s (pid %d) %s", p->name, (int)pid, what);
	else
		diverge(k, "%s (pid %d) %s, and SIGKILL cannot end it: it is stuck in the kernel, in %s (left behind; it keeps its pages until the machine reboots)",
			p->name, (int)pid, what, stack[0] ? stack : "?");
}

/*
 * Send @q, with descriptor @fd if not -1, on @sock and receive the
 * response.  Return: 0, or -EPIPE with what happened in @what.
 */
static int transact(int sock, struct kd_req *q, int fd, struct kd_resp *r,
		    const char **what)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = q, .iov_len = sizeof(*q) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t n;

	if (fd >= 0) {
		memset(cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) != (ssize_t)sizeof(*q)) {
		*what = "died: its socket is closed";
		return -EPIPE;
	}
	if (q->op == KD_EXIT)
		return 0;
	do {
		n = recv(sock, r, sizeof(*r), 0);
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(*r)) {
		*what = n < 0 && errno == EAGAIN ? "did not answer in time" :
			"died during the op";
		memset(r, 0, sizeof(*r));
		return -EPIPE;
	}
	return 0;
}

/* A call on @p's own socket; -EPIPE with @what NULL if @p is gone. */
static int main_call(struct kproc *p, struct kd_req *q, int fd,
		     struct kd_resp *r, const char **what)
{
	int err = -EPIPE;

	*what = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->pid)
		err = transact(p->sock, q, fd, r, what);
	pthread_mutex_unlock(&p->lock);
	return err;
}

/* The driver refused the op: the scenario cannot go on as written. */
static void conflict(struct kernel *k, struct kproc *p,
		     const struct kd_resp *r)
{
	if (r->conflict == KD_CONFLICT_ADDR)
		diverge(k, "%s: %s; the driver process is a clone of hugewalk, so this address is not free in it (a build with sanitizers has shadow memory there: use build/real/hugewalk)",
			p->name, r->msg);
	else if (r->conflict == KD_CONFLICT_HANG)
		diverge(k, "%s: %s", p->name, r->msg);
}

/* ---- channels to worker threads (background ops) ---------------------- */

/* Give a job's channel back; close it if its driver is gone. */
static void chan_put(struct kernel *k, struct kchan *ch)
{
	pthread_mutex_lock(&k->lock);
	ch->busy = false;
	if (ch->dead) {
		close(ch->sock);
		ch->sock = -1;
		ch->dead = false;
	}
	pthread_mutex_unlock(&k->lock);
}

/*
 * The calling job's channel to @proc's driver: one it holds, else an
 * idle one, else a new worker (KD_THREAD).  NULL with @err set if none.
 */
static struct kchan *chan_get(struct kernel *k, int proc, int *err)
{
	struct kproc *p = &k->proc[proc];
	struct kd_req q = { .op = KD_THREAD };
	struct kchan *ch = NULL;
	const char *what;
	struct kd_resp r;
	int i, sv[2];

	for (i = 0; i < kb_job.n; i++)
		if (kb_job.proc[i] == proc)
			return kb_job.ch[i];
	*err = -EMFILE;
	if (kb_job.n == KB_JOB_PROCS)
		return NULL;
	pthread_mutex_lock(&k->lock);
	for (i = 0; i < KB_MAX_CHANS; i++) {
		struct kchan *c = &p->chan[i];

		if (c->busy || c->dead)
			continue;
		if (c->sock >= 0 || !ch)
			ch = c;
		if (c->sock >= 0)
			break;
	}
	if (ch)
		ch->busy = true;
	pthread_mutex_unlock(&k->lock);
	if (!ch)
		return NULL;
	if (ch->sock < 0) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
			*err = -errno;
			chan_put(k, ch);
			return NULL;
		}
		*err = main_call(p, &q, sv[1], &r, &what);
		close(sv[1]);
		if (!*err)
			*err = r.ret;
		if (*err) {
			close(sv[0]);
			chan_put(k, ch);
			return NULL;
		}
		pthread_mutex_lock(&k->lock);
		ch->sock = sv[0];
		pthread_mutex_unlock(&k->lock);
	}
	kb_job.proc[kb_job.n] = proc;
	kb_job.ch[kb_job.n++] = ch;
	return ch;
}

/* A job's call: on its channel to @proc's driver. */
static int job_call(struct kernel *k, int proc, struct kd_req *q, int fd,
		    struct kd_resp *r)
{
	struct kproc *p = &k->proc[proc];
	struct kchan *ch;
	const char *what;
	int err;

	ch = chan_get(k, proc, &err);
	if (!ch) {
		if (err == -EPIPE)
			diverge(k, "%s: its driver is gone", p->name);
		return err;
	}
	err = transact(ch->sock, q, fd, r, &what);
	if (err) {
		diverge(k, "%s (pid %d) %s, in a background op", p->name,
			(int)p->pid, what);
		pthread_mutex_lock(&k->lock);
		ch->dead = true;	/* chan_put() closes it */
		pthread_mutex_unlock(&k->lock);
	}
	return err;
}

/*
 * One request to the driver of @proc, with descriptor @fd if not -1, and
 * its response: from a job thread on its channel, else on the driver's
 * socket.  Return: 0, or -EPIPE when the driver is gone or hung (the
 * run has diverged then), or (a job) -errno when it has no channel.
 */
static int kcall(struct kernel *k, int proc, struct kd_req *q, int fd,
		 struct kd_resp *r)
{
	struct kproc *p = &k->proc[proc];
	const char *what;
	int err;

	memset(r, 0, sizeof(*r));
	if (kb_job.on)
		err = job_call(k, proc, q, fd, r);
	else
		err = main_call(p, q, fd, r, &what);
	if (err && !kb_job.on && what)
		lost(k, p, what);
	if (err)
		return err;
	conflict(k, p, r);
	return 0;
}

/* An op on @proc: its result (0, -errno, a signal), or -EPIPE. */
static int kop(struct kernel *k, int proc, struct kd_req *q, int fd,
	       struct kd_resp *r)
{
	int err = kcall(k, proc, q, fd, r);

	return err ? err : r->ret;
}

static int start_proc(struct kernel *k, int proc, const char *name,
		      pid_t pid, int sock, bool direct)
{
	struct kproc *p = &k->proc[proc];
	struct timeval tv = { .tv_sec = KB_TIMEOUT };

	snprintf(p->name, sizeof(p->name), "%s", name);
	ks_track_pid(pid, direct);
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	p->direct = direct;
	pthread_mutex_lock(&p->lock);
	p->pid = pid;
	p->sock = sock;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* ---- the hooks --------------------------------------------------------- */

static void kernel_close(void *be);

static void *kernel_open(size_t nr_names, const char *policy, FILE *report,
			 int *err)
{
	struct kernel *k;
	size_t i;

	kb_last_error[0] = '\0';
	*err = -ENOMEM;
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->nr = nr_names;
	k->report = report;
	k->proc = calloc(nr_names + 1, sizeof(*k->proc));
	k->fd = calloc(nr_names + 1, sizeof(*k->fd));
	if (!k->proc || !k->fd)
		goto fail;
	pthread_mutex_init(&k->lock, NULL);
	for (i = 0; i <= nr_names; i++) {
		k->fd[i] = -1;
		k->proc[i].sock = -1;
		k->proc[i].pidfd = -1;
		pthread_mutex_init(&k->proc[i].lock, NULL);
		for (int c = 0; c < KB_MAX_CHANS; c++)
			k->proc[i].chan[c].sock = -1;
	}
	k->nnodes = ks_memory_nodes(k->nodes, KB_MAX_NODES);
	*err = ks_acquire(kb_last_error, sizeof(kb_last_error));
	if (*err) {
		fprintf(report, "hugewalk: the kernel backend cannot run here: %s\n",
			kb_last_error);
		goto fail;
	}
	if (ks_foreign_pages())
		fprintf(report, "hugewalk: note: %lu huge pages are held by other programs; the pool and its counters leave them out\n",
			ks_foreign_pages());
	return k;

fail:
	free(k->proc);
	free(k->fd);
	free(k);
	return NULL;
}

static void kernel_close(void *be)
{
	struct kernel *k = be;

	for (size_t i = 0; i <= k->nr; i++)
		if (k->proc[i].pid)
			kill(k->proc[i].pid, SIGKILL);
	for (size_t i = 0; i <= k->nr; i++) {
		reap(k, &k->proc[i]);
		if (k->fd[i] >= 0) {
			ks_untrack_fd(k->fd[i]);
			close(k->fd[i]);
		}
	}
	ks_release();
	for (size_t i = 0; i <= k->nr; i++)
		pthread_mutex_destroy(&k->proc[i].lock);
	pthread_mutex_destroy(&k->lock);
	free(k->proc);
	free(k->fd);
	free(k);
}

#if KD_HAVE_THREADS
/* A job thread: its calls go to worker threads, on channels of its own. */
static int kernel_thread_enter(void *be, const char *name)
{
	kb_job = (struct kb_job){ .on = true };
	return 0;
}

static void kernel_thread_exit(void *be)
{
	for (int i = 0; i < kb_job.n; i++)
		chan_put(be, kb_job.ch[i]);
	kb_job = (struct kb_job){ .on = false };
}
#endif

/*
 * Release every worker asleep in a userfault: each driver closes its
 * userfaultfd (userfaultfd_release() wakes the faults, which are then
 * handled as if the range had never been registered).
 */
static void kernel_unblock(void *be)
{
	struct kernel *k = be;
	struct kd_req q = { .op = KD_UFFD_CLOSE };
	struct kd_resp r;

	for (size_t i = 0; i <= k->nr; i++)
		if (k->proc[i].pid)
			kcall(k, (int)i, &q, -1, &r);
}

/*
 * The run gives up on a job that never came back (it may still use this
 * process's memory, so nothing here is freed): kill every driver, the
 * stuck one's worker with it, and give the pool back.
 */
static void kernel_abandon(void *be)
{
	struct kernel *k = be;

	for (size_t i = 0; i <= k->nr; i++)
		if (k->proc[i].pid)
			kill(k->proc[i].pid, SIGKILL);
	ks_release();
}

static const char *kernel_diverged(void *be)
{
	struct kernel *k = be;
	bool set;

	pthread_mutex_lock(&k->lock);
	set = k->diverged[0];	/* written once, then never again */
	pthread_mutex_unlock(&k->lock);
	return set ? k->diverged : NULL;
}

static int kernel_set_pool(void *be, unsigned long nr, unsigned long *now)
{
	struct kernel *k = be;
	char why[256];
	int err;

	err = ks_set_pool(nr, now, why, sizeof(why));
	if (err)
		diverge(k, "%s", why);
	return err;
}

static int kernel_memfd(void *be, int file, const char *name)
{
	struct kernel *k = be;
	char full[64];
	int fd;

	snprintf(full, sizeof(full), KD_MEMFD_PREFIX "%s", name);
	fd = memfd_create(full, MFD_HUGETLB | MFD_HUGE_2MB | MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	k->fd[file] = fd;
	ks_track_fd(fd);
	return 0;
}

static int kernel_ftruncate(void *be, int file, uint64_t size)
{
	return ftruncate(((struct kernel *)be)->fd[file], (off_t)size) ?
	       -errno : 0;
}

static int kernel_fallocate(void *be, int file, int mode, uint64_t off,
			    uint64_t len)
{
	return fallocate(((struct kernel *)be)->fd[file], mode, (off_t)off,
			 (off_t)len) ? -errno : 0;
}

static int kernel_close_file(void *be, int file)
{
	struct kernel *k = be;
	int ret;

	ks_untrack_fd(k->fd[file]);
	ret = close(k->fd[file]) ? -errno : 0;
	k->fd[file] = -1;
	return ret;
}

static int kernel_spawn(void *be, int proc, const char *name)
{
	struct kernel *k = be;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	pid = kd_spawn(sv[1], name);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return pid;
	}
	return start_proc(k, proc, name, pid, sv[0], true);
}

static int kernel_fork(void *be, int parent, int child, const char *name)
{
	struct kernel *k = be;
	struct kd_req q = { .op = KD_FORK };
	struct kd_resp r;
	int sv[2], ret;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	snprintf(q.name, sizeof(q.name), "%s", name);
	ret = kop(k, parent, &q, sv[1], &r);
	close(sv[1]);
	if (ret || r.pid <= 0) {
		close(sv[0]);
		return ret ? ret : -ECHILD;
	}
	return start_proc(k, child, name, r.pid, sv[0], false);
}

static int kernel_exit(void *be, int proc)
{
	struct kernel *k = be;
	struct kd_req q = { .op = KD_EXIT };
	struct kd_resp r;

	kcall(k, proc, &q, -1, &r);
	reap(k, &k->proc[proc]);
	return 0;
}

static int kernel_mmap(void *be, int proc, uint64_t addr, uint64_t len,
		       int prot, int flags, int file, uint64_t off)
{
	struct kernel *k = be;
	struct kd_req q = {
		.op = KD_MMAP, .addr = addr, .len = len, .prot = prot,
		.flags = flags, .off = off,
	};
	struct kd_resp r;

	return kop(k, proc, &q, k->fd[file], &r);
}

static int kernel_munmap(void *be, int proc, uint64_t addr, uint64_t len)
{
	struct kd_req q = { .op = KD_MUNMAP, .addr = addr, .len = len };
	struct kd_resp r;

	return kop(be, proc, &q, -1, &r);
}

static int kernel_mprotect(void *be, int proc, uint64_t addr, uint64_t len,
			   int prot)
{
	struct kd_req q = {
		.op = KD_MPROTECT, .addr = addr, .len = len, .prot = prot,
	};
	struct kd_resp r;

	return kop(be, proc, &q, -1, &r);
}

static int kernel_madvise(void *be, int proc, uint64_t addr, uint64_t len,
			  int advice)
{
	struct kd_req q = {
		.op = KD_MADVISE, .addr = addr, .len = len, .advice = advice,
	};
	struct kd_resp r;

	return kop(be, proc, &q, -1, &r);
}

static int kernel_mremap(void *be, int proc, uint64_t old_addr,
			 uint64_t old_len, uint64_t new_len, uint64_t new_addr)
{
	struct kd_req q = {
		.op = KD_MREMAP, .addr = old_addr, .len = old_len,
		.new_len = new_len, .new_addr = new_addr,
	};
	struct kd_resp r;

	return kop(be, proc, &q, -1, &r);
}

static int kernel_uffd_wp(void *be, int proc, uint64_t addr, uint64_t len)
{
	struct kd_req q = { .op = KD_UFFD_WP, .addr = addr, .len = len };
	struct kd_resp r;

	return kop(be, proc, &q, -1, &r);
}

/* ---- userfaultfd in MISSING mode --------------------------------------- */

static int kernel_uffd_register(void *be, int proc, uint64_t addr,
				uint64_t len, unsigned int opts)
{
	struct kd_req q = {
		.op = KD_UFFD_REGISTER, .addr = addr, .len = len,
		.flags = opts & SC_OPT_MISSING ?
			 UFFDIO_REGISTER_MODE_MISSING : 0,
	};
	struct kd_resp r;

	return kop(be, proc, &q, -1, &r);
}

static int kernel_uffd_unregister(void *be, int proc, uint64_t addr,
				  uint64_t len)
{
	struct kd_req q = {
		.op = KD_UFFD_UNREGISTER, .addr = addr, .len = len,
	};
	struct kd_resp r;

	return kop(be, proc, &q, -1, &r);
}

/* Never blocks: the executor polls (scenario_exec.c). */
static int kernel_uffd_read(void *be, int proc, struct sc_uffd_msg *msg)
{
	struct kd_req q = { .op = KD_UFFD_READ };
	struct kd_resp r;
	int ret;

	ret = kop(be, proc, &q, -1, &r);
	if (!ret)
		*msg = (struct sc_uffd_msg){ r.tag, r.count != 0 };
	return ret;
}

static int kernel_uffd_copy(void *be, int proc, uint64_t addr, uint64_t tag,
			    unsigned int opts)
{
	struct kd_req q = {
		.op = KD_UFFD_COPY, .addr = addr, .tag = tag,
		.flags = opts & SC_OPT_DONTWAKE ? UFFDIO_COPY_MODE_DONTWAKE : 0,
	};
	struct kd_resp r;

	return kop(be, proc, &q, -1, &r);
}

static int kernel_uffd_wake(void *be, int proc, uint64_t addr, uint64_t len)
{
	struct kd_req q = { .op = KD_UFFD_WAKE, .addr = addr, .len = len };
	struct kd_resp r;

	return kop(be, proc, &q, -1, &r);
}

static int kernel_uffd_close(void *be, int proc)
{
	struct kd_req q = { .op = KD_UFFD_CLOSE };
	struct kd_resp r;

	return kop(be, proc, &q, -1, &r);
}

/*
 * move_pages(2) of one page to another node.  With one node there is no
 * other: the call is made to the page's own node, which the kernel
 * treats as done, and the scenario cannot go on as the model runs it.
 */
static int kernel_move_pages(void *be, int proc, uint64_t addr)
{
	struct kernel *k = be;
	struct kd_req q = {
		.op = KD_MOVE_PAGES, .addr = addr, .node = k->nodes[0],
	};
	struct kd_resp r;
	int ret, i;

	if (k->nnodes < 2) {
		ret = kop(k, proc, &q, -1, &r);
		if (!ret)
			diverge(k, "move_pages: this machine has one NUMA node with memory, so the kernel has nowhere to migrate the page to and leaves it in place, mapped and shared as before; the model migrates it (docs/differences.md)");
		return ret;
	}
	/* Where is it now?  Then anywhere else. */
	q.node = -1;
	ret = kop(k, proc, &q, -1, &r);
	if (ret)
		return ret;
	for (i = 0; i < k->nnodes && k->nodes[i] == r.node; i++)
		;
	q.node = k->nodes[i < k->nnodes ? i : 0];
	return kop(k, proc, &q, -1, &r);
}

static int kernel_access(void *be, int proc, uint64_t addr, bool write,
			 uint64_t *tag)
{
	struct kd_req q = {
		.op = KD_ACCESS, .addr = addr, .write = write, .tag = *tag,
	};
	struct kd_resp r;
	int ret;

	ret = kop(be, proc, &q, -1, &r);
	if (ret >= 0)
		*tag = r.tag;
	return ret;
}

/* The pagemap entry of @addr in @proc, read from /proc/PID/pagemap. */
static int kernel_pagemap(void *be, int proc, uint64_t addr,
			  uint64_t *entry)
{
	return ks_pagemap_entry(((struct kernel *)be)->proc[proc].pid, addr,
				entry);
}

/* mincore(2) in @proc; each huge page's 512 bytes rebuilt from its sum. */
static int kernel_mincore(void *be, int proc, uint64_t addr, uint64_t len,
			  unsigned char *vec)
{
	const uint64_t per = KS_HPAGE / 4096;
	struct kd_req q = { .op = KD_MINCORE, .addr = addr, .len = len };
	uint64_t nvec = (len + 4095) / 4096;
	struct kd_resp r;
	int ret;

	ret = kop(be, proc, &q, -1, &r);
	if (ret)
		return ret;
	for (uint64_t i = 0; i < nvec; i++) {
		uint8_t s = r.vec[i / per];

		vec[i] = s == KD_MC_ALL || (s == KD_MC_SOME && !(i % per));
	}
	return 0;
}

/* process_vm_readv(2) by @proc of @target's tags, KD_MAX_PAGES at once. */
static long kernel_process_vm_readv(void *be, int proc, int target,
				    uint64_t addr, unsigned long nr,
				    uint64_t *tags)
{
	struct kernel *k = be;
	struct kd_req q = { .op = KD_PVM_READV };
	struct kd_resp r;
	unsigned long done = 0;
	int ret;

	q.pid = k->proc[target].pid;
	while (done < nr) {
		q.addr = addr + done * KS_HPAGE;
		q.count = nr - done < KD_MAX_PAGES ? (uint32_t)(nr - done) :
			  KD_MAX_PAGES;
		ret = kop(k, proc, &q, -1, &r);
		if (ret)
			return done ? (long)done : ret;
		memcpy(tags + done, r.tags, r.count * sizeof(*tags));
		done += r.count;
		if (r.count < q.count)
			break;
	}
	return (long)done;
}

static int kernel_stat(void *be, int proc, enum sc_key key,
		       unsigned long *val)
{
	struct kernel *k = be;
	unsigned long total, free, rsvd;
	struct kd_req q = { .op = KD_FAULTS };
	struct kd_resp r;
	int err;

	if (proc >= 0) {
		switch (key) {
		case SC_KEY_FAULTS:
			err = kcall(k, proc, &q, -1, &r);
			*val = r.faults;
			return err;
		case SC_KEY_RSS:
			if (!k->proc[proc].pid)
				return -ESRCH;
			return ks_hugetlb_pages(k->proc[proc].pid, val);
		default:
			return -EOPNOTSUPP;
		}
	}
	switch (key) {
	case SC_KEY_TOTAL:
	case SC_KEY_FREE:
	case SC_KEY_RSVD:
		err = ks_pool_counters(&total, &free, &rsvd);
		*val = key == SC_KEY_TOTAL ? total :
		       key == SC_KEY_FREE ? free : rsvd;
		return err;
	default:
		return -EOPNOTSUPP;
	}
}

const struct sc_backend sc_kernel_backend = {
	.name = "kernel",
	.open = kernel_open,
	.close = kernel_close,
	.diverged = kernel_diverged,
	.set_pool = kernel_set_pool,
	.memfd = kernel_memfd,
	.ftruncate = kernel_ftruncate,
	.fallocate = kernel_fallocate,
	.close_file = kernel_close_file,
	.spawn = kernel_spawn,
	.fork = kernel_fork,
	.exit = kernel_exit,
	.mmap = kernel_mmap,
	.munmap = kernel_munmap,
	.mprotect = kernel_mprotect,
	.madvise = kernel_madvise,
	.mremap = kernel_mremap,
	.uffd_wp = kernel_uffd_wp,
	.uffd_register = kernel_uffd_register,
	.uffd_unregister = kernel_uffd_unregister,
	.uffd_read = kernel_uffd_read,
	.uffd_copy = kernel_uffd_copy,
	.uffd_wake = kernel_uffd_wake,
	.uffd_close = kernel_uffd_close,
	.move_pages = kernel_move_pages,
	.access = kernel_access,
	.process_vm_readv = kernel_process_vm_readv,
	.pagemap = kernel_pagemap,
	.mincore = kernel_mincore,
	.stat = kernel_stat,
#if KD_HAVE_THREADS
	.thread_enter = kernel_thread_enter,
	.thread_exit = kernel_thread_exit,
#endif
	.unblock = kernel_unblock,
	.abandon = kernel_abandon,
};
