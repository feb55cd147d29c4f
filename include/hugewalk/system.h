/* SPDX-License-Identifier: MIT */
#ifndef HUGEWALK_SYSTEM_H
#define HUGEWALK_SYSTEM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Geometry of the modelled machine: x86-64, 4 KiB pages, 4-level tables. */
#define HW_PAGE_SIZE		(1ULL << 12)
#define HW_HPAGE_SIZE		(1ULL << 21)	/* PMD_SIZE: one huge page */
#define HW_PUD_SIZE		(1ULL << 30)	/* what one PMD table maps */
#define HW_TASK_SIZE		(1ULL << 47)	/* top of user space */

struct hw_system;

/* What a walk-rule violation does (see hugetlb_walk()). */
enum hw_violation_mode {
	HW_VIOLATION_ABORT,	/* print a lockdep-style report, abort() */
	HW_VIOLATION_RECORD,	/* count it per call site, go on */
};

struct hw_system_opts {
	unsigned long nr_hugepages;	/* initial pool size (HugePages_Total) */
	const char *policy;		/* NULL: "v6.3" */
	enum hw_violation_mode violations;
	FILE *report;			/* where reports go; NULL: stderr */
};

/**
 * hw_system_create() - boot a machine.
 * @opts: its settings; NULL for the defaults.
 *
 * The calling thread is registered as a task of the new system.
 *
 * Return: the system, or NULL with errno set (EINVAL: unknown policy).
 */
struct hw_system *hw_system_create(const struct hw_system_opts *opts);

/**
 * hw_system_destroy() - exit every process, close every file, free all.
 * @sys: the system; no other thread may use it any more.
 */
void hw_system_destroy(struct hw_system *sys);

/**
 * hw_system_set_policy() - choose which protection the walkers use.
 * @sys: the system, quiescent (no operation in flight).
 * @name: "unprotected", "v6.1", "rfc", "rfc-late-dtor", "v6.3" or "v6.16".
 *
 * Return: 0, or -EINVAL for an unknown name.
 */
int hw_system_set_policy(struct hw_system *sys, const char *name);
const char *hw_system_policy(const struct hw_system *sys);

/**
 * hw_system_set_table_free() - an experiment's override of how freed page
 * tables die: "now" (pmd_free() at once), "rcu" (call_rcu()), "sync"
 * (synchronize_rcu() in the freeing task, then free), or "policy" to
 * follow the policy again.
 * @sys: the system, quiescent.
 * Return: 0, or -EINVAL for an unknown mode.
 */
int hw_system_set_table_free(struct hw_system *sys, const char *mode);

/*
 * Kernel behaviours on which the kernels hugewalk is checked against
 * differ, so that the model can follow the one it is compared with
 * (`hugewalk diff` probes the running kernel for each, docs/live.md).
 * Each is off unless set.
 */
enum hw_quirk {
	/*
	 * UFFDIO_REGISTER in MISSING mode stops PMD sharing as the
	 * write-protect mode does: registration unshares the VMA's tables
	 * and its faults never share (uffd_disable_huge_pmd_share() answers
	 * for VM_UFFD_MISSING too).  Upstream names only WP and MINOR; seen
	 * on a 6.18.44 build.
	 */
	HW_QUIRK_UFFD_MISSING_NO_SHARE,
	/*
	 * When the owner of a private mapping copies on write with an
	 * empty pool and takes the page back from the other private
	 * mappings of it (unmap_ref_private()), one of them its own (a
	 * MAP_NORESERVE mapping of the same file page), the fault ends
	 * and the store faults again: two faults, not one.  Seen on a
	 * 6.18.44 build; the cause was not found.
	 */
	HW_QUIRK_COW_STEAL_REFAULT,
	HW_NR_QUIRKS,
};

/**
 * hw_system_set_quirk() - follow, or not, one kernel behaviour.
 * @sys: the system, quiescent.
 * @quirk: which.
 * @on: follow it.
 * Return: 0, or -EINVAL for an unknown @quirk.
 */
int hw_system_set_quirk(struct hw_system *sys, enum hw_quirk quirk, bool on);
bool hw_system_quirk(const struct hw_system *sys, enum hw_quirk quirk);

/* The name of a quirk ("uffd-missing-no-share"), or NULL. */
const char *hw_quirk_name(enum hw_quirk quirk);

/* The quirk called @name, or -1. */
int hw_quirk_lookup(const char *name);

/* NULL-terminated list of the policy names, for --help and errors. */
const char *const *hw_policy_names(void);

/* One line describing a policy, or NULL for an unknown name. */
const char *hw_policy_describe(const char *name);

/**
 * hw_set_nr_hugepages() - write /proc/sys/vm/nr_hugepages.
 * @sys: the system.
 * @nr: the wanted pool size.
 *
 * Growing always succeeds; shrinking frees only free, unreserved pages,
 * like the kernel, so the pool may stay larger than asked.
 *
 * Return: the pool size now.
 */
unsigned long hw_set_nr_hugepages(struct hw_system *sys, unsigned long nr);

#endif
