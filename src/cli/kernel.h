/* SPDX-License-Identifier: MIT */
/*
 * The kernel backend's internals: the controller (backend_kernel.c) runs
 * in the hugewalk process; each scenario process is a driver process
 * (kernel_driver.c) that the controller talks to over a SOCK_SEQPACKET
 * socketpair, one fixed-size request and one fixed-size response at a
 * time; set-up and clean-up of the machine (the huge page pool, the lock,
 * the children to kill whatever happens) are kernel_setup.c's.
 */
#ifndef HW_CLI_KERNEL_H
#define HW_CLI_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* The sysfs directory of the 2 MiB pool, and its page size. */
#define KS_HSTATE	"/sys/kernel/mm/hugepages/hugepages-2048kB"
#define KS_HPAGE	(2UL << 20)

/* A memfd the controller creates is called "hw:NAME" (maps: /memfd:hw:). */
#define KD_MEMFD_PREFIX	"hw:"

/* What the controller asks of a driver. */
enum kd_op {
	KD_MMAP = 1,	/* fd passed with the request */
	KD_MUNMAP,
	KD_MPROTECT,
	KD_MADVISE,
	KD_MREMAP,
	KD_UFFD_WP,
	KD_MOVE_PAGES,
	KD_ACCESS,
	KD_FORK,	/* the child's socket passed with the request */
	KD_EXIT,	/* no response: the driver exits */
	KD_FAULTS,	/* faults counted since the process began */
	KD_MINCORE,	/* one summary byte per huge page */
	KD_PVM_READV,	/* process_vm_readv() of another driver's tags */
	KD_UFFD_REGISTER,	/* flags: UFFDIO_REGISTER_MODE_* */
	KD_UFFD_UNREGISTER,
	KD_UFFD_READ,	/* never blocks: tag = address, count = write */
	KD_UFFD_COPY,	/* flags: UFFDIO_COPY_MODE_* */
	KD_UFFD_WAKE,
	KD_UFFD_CLOSE,
	KD_THREAD,	/* a worker thread for the socket passed with it */
};

/* What a response carries at most: 1 GiB of huge pages. */
#define KD_MAX_PAGES	512

/* KD_MINCORE's summary of the 512 bytes mincore(2) gives a huge page. */
enum { KD_MC_NONE, KD_MC_ALL, KD_MC_SOME };

struct kd_req {
	uint32_t op;
	uint32_t write;		/* KD_ACCESS: a store */
	uint64_t addr;
	uint64_t len;
	uint64_t new_len;
	uint64_t new_addr;
	uint64_t off;
	uint64_t tag;		/* KD_ACCESS: the tag a store writes */
	int32_t prot;
	int32_t flags;
	int32_t advice;
	int32_t node;		/* KD_MOVE_PAGES: the target node */
	int32_t pid;		/* KD_PVM_READV: the process read */
	uint32_t count;		/* KD_PVM_READV: pages, <= KD_MAX_PAGES */
	char name[32];		/* KD_FORK: the child's name */
};

struct kd_resp {
	int32_t ret;		/* 0, -errno, or (KD_ACCESS) a signal */
	int32_t conflict;	/* KD_CONFLICT_*: the op was not run */
	uint64_t tag;		/* KD_ACCESS: the tag a load read */
	uint64_t faults;	/* faults of the op, or (KD_FAULTS) in total */
	uint64_t sig_addr;	/* KD_ACCESS: si_addr of the signal */
	int32_t pid;		/* KD_FORK: the child */
	int32_t node;		/* KD_MOVE_PAGES: where the page was */
	char msg[512];		/* conflict: what, in words */
	uint32_t count;		/* KD_PVM_READV: pages read */
	union {
		uint64_t tags[KD_MAX_PAGES];	/* KD_PVM_READV */
		uint8_t vec[KD_MAX_PAGES];	/* KD_MINCORE: KD_MC_* */
	};
};

/* Why a driver refused an op (kd_resp.conflict); msg says more. */
enum {
	KD_CONFLICT_ADDR = 1,	/* the range overlaps the driver's own */
	KD_CONFLICT_HANG,	/* the kernel would hang in it */
};

/*
 * Worker threads in a driver, for background ops (kernel_thread.c): they
 * copy glibc's x86-64 thread area.  Elsewhere background ops are skipped.
 */
#if defined(__x86_64__) && defined(__GLIBC__)
#define KD_HAVE_THREADS	1
#else
#define KD_HAVE_THREADS	0
#endif

/* The driver's socket: the same descriptor number in every driver. */
#define KD_SOCK		3

/* kernel_driver.c */

/**
 * kd_spawn() - start a driver process, a clone of the caller on a stack
 * of its own, that serves requests on @sock until the socket closes.
 * @sock: the driver's end of the socketpair.
 * @name: the scenario's name for the process (its comm, "hw:NAME").
 *
 * Context: the controller; the caller closes @sock afterwards.
 * Return: the driver's pid, or a negative errno.
 */
pid_t kd_spawn(int sock, const char *name);

/* kernel_setup.c */

/**
 * ks_acquire() - take the machine for a kernel run: root, the 2 MiB
 * hugetlb pool, a pool that can grow.  Saves nr_hugepages and
 * nr_overcommit_hugepages, empties the pool (of all but the pages other
 * programs hold, which the counters leave out from then on), and makes
 * sure they are restored at exit, on a fatal signal, or by the next run
 * after a SIGKILL.
 * @why: where the reason goes when the machine cannot be taken.
 * @size: its size.
 *
 * Return: 0; -EPERM, -ENOENT, -EBUSY, -ENOSPC, ... with @why filled.
 */
int ks_acquire(char *why, size_t size);

/* Give the machine back: pool and overcommit as they were. */
void ks_release(void);

/**
 * ks_set_pool() - write nr_hugepages and read back what the kernel did.
 * Return: 0 when the pool holds @nr pages; -ENOMEM (with @why) when the
 * kernel could not grow it that far or the memory is too small for it.
 */
int ks_set_pool(unsigned long nr, unsigned long *now, char *why,
		size_t size);

/* HugePages_Total/Free/Rsvd of the 2 MiB pool; -errno if unreadable. */
int ks_pool_counters(unsigned long *total, unsigned long *free,
		     unsigned long *rsvd);

/* The /proc/PID/pagemap entry of @addr in @pid; 0 or -errno. */
int ks_pagemap_entry(pid_t pid, uint64_t addr, uint64_t *entry);

/*
 * HugetlbPages of /proc/PID/status, in 2 MiB pages, read signed (it can
 * go below zero: docs/differences.md); 0 or -errno.
 */
int ks_hugetlb_pages(pid_t pid, unsigned long *pages);

/* Huge pages other programs held when the run began (not counted). */
unsigned long ks_foreign_pages(void);

/* Processes and files to kill and close if the run is cut short. */
void ks_track_pid(pid_t pid, bool direct);
void ks_untrack_pid(pid_t pid);
void ks_track_fd(int fd);
void ks_untrack_fd(int fd);

/* Nodes with memory, for move_pages(2). */
int ks_memory_nodes(int *nodes, int max);

#endif
