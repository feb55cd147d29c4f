/* SPDX-License-Identifier: MIT */
/*
 * The driver's internals, shared by its main thread (kernel_driver.c) and
 * its worker threads (kernel_thread.c).  Everything an op writes lives in
 * a struct kd_ctx of the thread that serves it; the process's own state
 * (its fault count, its userfaultfd) is read and written atomically.
 */
#ifndef HW_CLI_KERNEL_DRIVER_H
#define HW_CLI_KERNEL_DRIVER_H

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "cli/kernel.h"
#include "cli/kernel_mremap.h"

/* The driver's code must not write ASan's shadow inside a window. */
#define KD_FN	__attribute__((no_sanitize_address))

#define KD_STACK_SIZE	(256UL << 10)
#define KD_ALTSTACK	(64UL << 10)
#define KD_PAGE		4096UL
#define KD_MAX_RANGES	64


/*
 * What serving one op needs: one per thread of the driver, written by
 * that thread only (and by its SIGSEGV/SIGBUS handler, on that thread).
 */
struct kd_ctx {
	struct kd_req req;
	struct kd_resp resp;
	sigjmp_buf jb;
	volatile sig_atomic_t armed;	/* an access is in its window */
	volatile int sig;
	volatile uint64_t sig_addr;
	char maps[64 << 10];		/* /proc/self/maps, in pieces */
	unsigned char vec[(1 << 30) / 4096];	/* mincore() of 1 GiB */
	uint64_t tags[KD_MAX_PAGES];	/* process_vm_readv()'s buffer */
	struct iovec liov[KD_MAX_PAGES], riov[KD_MAX_PAGES];
	struct km_map ranges[KD_MAX_RANGES];	/* kd_mremap_hangs() */
};

/* The calling thread's context: set once, when the thread starts. */
extern __thread struct kd_ctx *kd_self __attribute__((tls_model("initial-exec")));

/* kernel_driver.c */

/**
 * kd_serve() - perform the request in kd_self->req, into kd_self->resp.
 * @fd: the descriptor that came with it, or -1; an op that keeps it
 *	(KD_THREAD) sets it to -1.
 * @worker: the caller is a worker thread, which serves the ops that may
 *	run in the background and no process-wide one (fork, exit, thread).
 *
 * Context: the driver's main thread or a worker; may sleep in a
 * userfault.
 */
void kd_serve(int *fd, bool worker);

/* One request from @sock, and the descriptor that may come with it. */
ssize_t kd_recv(int sock, struct kd_req *q, int *fd);

/* Write every page of [p, p + len) (present and writable after it). */
void kd_touch(void *p, size_t len);

/*
 * A private anonymous area of @len bytes, every page written, and not
 * inherited by forks if @dontfork.  MAP_FAILED with errno set on error.
 */
void *kd_map_area(size_t len, bool dontfork);

/* The [start, end) of the mapping of /proc/self/maps that holds @addr. */
int kd_mapping_of(uintptr_t addr, uintptr_t *start, uintptr_t *end);

/* kernel_thread.c */

/**
 * kd_thread_start() - start a worker thread of this driver that serves
 * the requests of @sock, one at a time, until it closes.
 * @sock: the worker's socket; the worker owns it from then on.
 *
 * Context: the driver's main thread, between windows.
 * Return: 0 or a negative errno (-EOPNOTSUPP where the thread's area
 * cannot be set up: see kernel_thread.c).
 */
int kd_thread_start(int sock);

#endif
