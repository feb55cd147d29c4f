/* SPDX-License-Identifier: MIT */
/*
 * Scheduling points and fatal reports.
 *
 * Every primitive of the sync layer, and every page-table entry access,
 * share-count change and table free in src/mm, is a scheduling point:
 * the place where, in the explore build (-DHW_EXPLORE), the race
 * explorer may switch to another task.  In the real build a scheduling
 * point is an empty inline function: threads are scheduled by the OS.
 *
 * The reports of the kernel's checkers (KASAN, spinlock debugging,
 * lockdep, BUG_ON) end with hw_report_fatal(): abort() in the real build;
 * in the explore build the schedule ends there as a finding, and the
 * explorer prints the interleaving that led to it.
 */
#ifndef HW_SYNC_SCHED_H
#define HW_SYNC_SCHED_H

/* What a task is about to do at a scheduling point. */
enum hw_sched_op {
	SCHED_PT_READ,		/* entry load; arg: enum pt_level */
	SCHED_PT_WRITE,		/* entry store; arg: enum pt_level */
	SCHED_PT_SHARE,		/* pt_share_count change; arg: +1 or -1 */
	SCHED_PT_DTOR,		/* page-table destructor: the ptl dies */
	SCHED_PT_FREE,		/* a table's memory is freed; arg: level */
	SCHED_LOCK,		/* blocking acquisition; arg: enum lock_mode */
	SCHED_TRYLOCK,		/* arg: enum lock_mode */
	SCHED_UNLOCK,		/* after the release; arg: enum lock_mode */
	SCHED_RCU_LOCK,		/* rcu_read_lock() */
	SCHED_RCU_UNLOCK,	/* after rcu_read_unlock() */
	SCHED_SYNC_RCU,		/* synchronize_rcu() */
	SCHED_CALL_RCU,		/* call_rcu() */
	SCHED_RCU_BARRIER,	/* rcu_barrier() */
	SCHED_WAIT,		/* wait_event() tests its condition */
	SCHED_WAKE,		/* after wake_up_all() */
	NR_SCHED_OPS
};

/* How a report ended the run. */
enum hw_finding {
	HW_FINDING_NONE,
	HW_FINDING_UAF,		/* KASAN: use-after-free of a page table */
	HW_FINDING_BAD_LOCK,	/* spinlock bad magic: a destroyed ptl */
	HW_FINDING_LOCKDEP,	/* lock order, recursion, unlock balance */
	HW_FINDING_WALK_RULE,	/* suspicious hugetlb_walk() usage */
	HW_FINDING_ASSERT,	/* lockdep_assert_held() failed */
	HW_FINDING_SLEEP,	/* sleeping in atomic context */
	HW_FINDING_BUG,		/* BUG_ON() */
	HW_FINDING_DEADLOCK,	/* no task can run, some are blocked */
	HW_FINDING_INVARIANT,	/* hw_check_invariants() after the run */
	HW_FINDING_ISOLATION,	/* a walk returned a folio not its VMA's */
	HW_FINDING_LIVELOCK,	/* explorer: a schedule that never ends */
	HW_FINDING_EXPECT,	/* explorer: a scenario's `=>` or `expect` */
	NR_HW_FINDINGS
};

#ifdef HW_EXPLORE
/*
 * hw_sched_point() - the current task is about to perform @op on @obj.
 * Context: any; a no-op outside an explored schedule.
 */
void hw_sched_point(enum hw_sched_op op, const void *obj, int arg);
#else
static inline void hw_sched_point(enum hw_sched_op op, const void *obj,
				  int arg)
{
}
#endif

/*
 * hw_report_fatal() - a checker printed its report: end the run.
 * Real build: abort().  Explore build: the schedule ends as a finding of
 * @kind; the task never runs again.
 */
void hw_report_fatal(enum hw_finding kind) __attribute__((noreturn));

#endif
