// SPDX-License-Identifier: MIT
/*
 * The driver's worker threads: what a scenario runs in the background.
 *
 * `A read ADDR &` may sleep in a userfault until the ops that follow it
 * (uffd_read, uffd_copy) resolve it, so it cannot run on the driver's
 * main thread, which must serve those ops.  The controller gives each
 * of its job threads a socket of its own to the driver (KD_THREAD), and
 * the driver starts a worker thread that serves that socket, one op at a
 * time, with the same code as the main thread (kd_serve()).
 *
 * A worker is a bare clone(CLONE_VM | CLONE_THREAD | ...), not a
 * pthread: the driver is a clone of a controller whose other threads may
 * have held libc's locks (malloc's, the thread list's) when it was
 * cloned, and pthread_create() takes them.  It gets a thread area of its
 * own (CLONE_SETTLS): a copy of the main thread's, so that errno, the
 * stack guard, sigsetjmp()'s state and kd_self are its own.  That copy
 * knows glibc's x86-64 layout (variant II: the static TLS blocks below
 * the thread pointer, the TCB, whose first and third words point to
 * itself, at it); elsewhere there are no workers (KD_HAVE_THREADS) and
 * background ops are skipped.  Module TLS reached through the DTV (not
 * the static block) would still be the main thread's: no code a worker
 * runs uses any.
 *
 * Invariants (the fault windows of kernel_driver.c):
 *  - A worker's context, alternate signal stack, stack and thread area
 *    are one mapping, written whole before the worker starts and
 *    MADV_DONTFORK: a fork of the driver, which the main thread may make
 *    while the worker is in a window (asleep in a userfault), neither
 *    copies it nor makes it copy-on-write.
 *  - It runs no window-visible code until its area is set: its first
 *    instructions run on that stack, with that thread area.
 *  - It ends when its socket closes (the controller's job gave it back
 *    and the controller went away) or with the process: a driver that
 *    exits, or is killed, takes its workers with it, and one asleep in a
 *    userfault is woken by the fatal signal.  Its area stays mapped for
 *    the process's life (a thread cannot unmap the stack it runs on).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/kernel_driver.h"

#if KD_HAVE_THREADS

#define KD_TLS_BELOW	(64UL << 10)	/* at most, of static TLS */
#define KD_TLS_ABOVE	(16UL << 10)	/* at most, of the TCB */

struct kd_worker {
	struct kd_ctx ctx;
	char altstack[KD_ALTSTACK];
	int sock;
};

#define KD_ALIGN(x)	(((x) + KD_PAGE - 1) & ~(KD_PAGE - 1))
#define KD_W_SIZE	KD_ALIGN(sizeof(struct kd_worker))
#define KD_TLS_SIZE	(KD_ALIGN(KD_TLS_BELOW) + KD_PAGE + KD_TLS_ABOVE)
#define KD_AREA_SIZE	(KD_W_SIZE + KD_STACK_SIZE + KD_TLS_SIZE)

KD_FN static int kd_worker_main(void *arg)
{
	struct kd_worker *w = arg;
	stack_t ss = { .ss_sp = w->altstack, .ss_size = sizeof(w->altstack) };
	struct kd_req *q = &w->ctx.req;
	ssize_t n;
	int fd;

	kd_self = &w->ctx;
	sigaltstack(&ss, NULL);
	for (;;) {
		n = kd_recv(w->sock, q, &fd);
		if (n <= 0)
			break;
		memset(&w->ctx.resp, 0, sizeof(w->ctx.resp));
		if (n != (ssize_t)sizeof(*q))
			w->ctx.resp.ret = -EPROTO;
		else
			kd_serve(&fd, true);
		if (fd >= 0)
			close(fd);
		if (send(w->sock, &w->ctx.resp, sizeof(w->ctx.resp),
			 MSG_NOSIGNAL) < 0)
			break;
	}
	close(w->sock);
	return 0;	/* glibc's clone() ends the thread: exit(2) */
}

/*
 * Copy the calling thread's area into [base, base + KD_TLS_SIZE), at the
 * same offset within a page, and return the copy's thread pointer.
 */
KD_FN static void *kd_tls_copy(char *base)
{
	uintptr_t tp = (uintptr_t)__builtin_thread_pointer(), lo, hi;
	size_t below, above;
	char *ntp;

	if (kd_mapping_of(tp, &lo, &hi))
		return NULL;
	below = tp - lo < KD_TLS_BELOW ? tp - lo : KD_TLS_BELOW;
	above = hi - tp < KD_TLS_ABOVE ? hi - tp : KD_TLS_ABOVE;
	ntp = base + KD_ALIGN(KD_TLS_BELOW) + (tp & (KD_PAGE - 1));
	memcpy(ntp - below, (void *)(tp - below), below + above);
	/* tcbhead_t: tcb (the TCB itself) and self (struct pthread). */
	((void **)ntp)[0] = ntp;
	((void **)ntp)[2] = ntp;
	return ntp;
}

int kd_thread_start(int sock)
{
	const int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
			  CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS;
	struct kd_worker *w;
	char *area, *stack;
	void *tls;
	int err;

	area = kd_map_area(KD_AREA_SIZE, true);
	if (area == MAP_FAILED)
		return -errno;
	w = (struct kd_worker *)area;
	w->sock = sock;
	stack = area + KD_W_SIZE;
	tls = kd_tls_copy(stack + KD_STACK_SIZE);
	if (!tls) {
		err = -EOPNOTSUPP;
		goto unmap;
	}
	if (clone(kd_worker_main, stack + KD_STACK_SIZE, flags, w, NULL, tls,
		  NULL) < 0) {
		err = -errno;
		goto unmap;
	}
	return 0;

unmap:
	munmap(area, KD_AREA_SIZE);
	return err;
}

#else

int kd_thread_start(int sock)
{
	return -EOPNOTSUPP;
}

#endif
