/* SPDX-License-Identifier: MIT */
/*
 * Sleeping and spinning locks with held-lock tracking.
 *
 * Every lock belongs to a class with a rank; a task may take a lock only
 * if its rank is above that of every lock it holds (or equal, with the
 * _nested annotation), which is the documented order of mm/rmap.c and
 * mm/hugetlb.c.  A breach, a recursive acquisition or the release of a
 * lock not held is reported as lockdep would and aborts.
 */
#ifndef HW_SYNC_LOCK_H
#define HW_SYNC_LOCK_H

#include <pthread.h>
#include <stdbool.h>

#include "sync/task.h"

struct lock_class {
	const char *name;
	int rank;
};

/* The lock order, outermost first. */
enum {
	RANK_MMAP_LOCK = 20,	/* mm->mmap_lock */
	RANK_I_RWSEM = 25,	/* inode->i_rwsem: hugetlbfs_file_mmap()
				 * takes it under mmap_lock */
	RANK_FAULT_MUTEX = 30,	/* hugetlb_fault_mutex_table[] */
	RANK_VMA_LOCK = 40,	/* hugetlb_vma_lock->rw_sema */
	RANK_I_MMAP = 50,	/* mapping->i_mmap_rwsem */
	RANK_FOLIO = 60,	/* folio lock */
	RANK_PTL = 70,		/* split PMD ptl, mm->page_table_lock */
	RANK_INNER = 80,	/* hugetlb_lock, resv_map lock, i_pages */
	RANK_LEAF = 90,		/* bookkeeping: allocator, lists */
};

#define SPINLOCK_MAGIC	0xdead4eadU	/* the kernel's debug magic, too */
#define SPINLOCK_DEAD	0x6b6b6b6bU

#ifndef HW_EXPLORE
typedef struct {
	pthread_mutex_t m;
	const struct lock_class *class;
	unsigned int magic;
} spinlock_t;

struct mutex {
	pthread_mutex_t m;
	const struct lock_class *class;
};

struct rw_semaphore {
	pthread_rwlock_t rw;
	const struct lock_class *class;
};
#else
/*
 * The explore build (sync/explore/lock.c): tasks are coroutines on one
 * thread, so a lock is who holds it; a task that finds it taken blocks
 * in the explorer until the holder releases it.  Owners are task
 * numbers plus one; 0 is free.
 */
typedef struct {
	int owner;
	const struct lock_class *class;
	unsigned int magic;
} spinlock_t;

struct mutex {
	int owner;
	const struct lock_class *class;
};

struct rw_semaphore {
	int writer;			/* owner, or 0 */
	int readers;
	int writers_waiting;		/* readers wait behind them */
	const struct lock_class *class;
};
#endif

void spin_lock_init(spinlock_t *l, const struct lock_class *class);
void spin_lock_destroy(spinlock_t *l);	/* the ptl destructor */
void __spin_lock(spinlock_t *l, int nested, const char *fn);
void __spin_unlock(spinlock_t *l);
#define spin_lock(l)		__spin_lock((l), 0, __func__)
#define spin_lock_nested(l, n)	__spin_lock((l), 1 + (n), __func__)
#define spin_unlock(l)		__spin_unlock(l)

void mutex_init(struct mutex *m, const struct lock_class *class);
void mutex_destroy(struct mutex *m);
void __mutex_lock(struct mutex *m, int nested, const char *fn);
void mutex_unlock(struct mutex *m);
#define mutex_lock(m)		__mutex_lock((m), 0, __func__)
#define mutex_lock_nested(m, n)	__mutex_lock((m), 1 + (n), __func__)

void init_rwsem(struct rw_semaphore *s, const struct lock_class *class);
void destroy_rwsem(struct rw_semaphore *s);
void __down_read(struct rw_semaphore *s, const char *fn);
void __down_write(struct rw_semaphore *s, int nested, const char *fn);
bool __down_read_trylock(struct rw_semaphore *s, const char *fn);
bool __down_write_trylock(struct rw_semaphore *s, const char *fn);
void up_read(struct rw_semaphore *s);
void up_write(struct rw_semaphore *s);
#define down_read(s)		__down_read((s), __func__)
#define down_write(s)		__down_write((s), 0, __func__)
#define down_write_nested(s, n)	__down_write((s), 1 + (n), __func__)
#define down_read_trylock(s)	__down_read_trylock((s), __func__)
#define down_write_trylock(s)	__down_write_trylock((s), __func__)

/* Held-lock queries on the current task. */
bool lockdep_is_held(const void *lock);
bool lockdep_is_held_type(const void *lock, enum lock_mode mode);

void __lockdep_assert_fail(const void *lock, const char *what,
			   const char *file, int line, const char *fn);
#define lockdep_assert_held(l) do {					\
	if (!lockdep_is_held(l))					\
		__lockdep_assert_fail((l), #l, __FILE__, __LINE__,	\
				      __func__);			\
} while (0)
#define lockdep_assert_held_write(l) do {				\
	if (!lockdep_is_held_type((l), LOCK_WRITE))			\
		__lockdep_assert_fail((l), #l " (write)", __FILE__,	\
				      __LINE__, __func__);		\
} while (0)
#define lockdep_assert_held_read(l) do {				\
	if (!lockdep_is_held_type((l), LOCK_READ))			\
		__lockdep_assert_fail((l), #l " (read)", __FILE__,	\
				      __LINE__, __func__);		\
} while (0)

/* A precondition of the model itself; a breach is our bug. */
void __hw_bug(const char *cond, const char *file, int line, const char *fn);
#define BUG_ON(c) do {							\
	if (unlikely(c))						\
		__hw_bug(#c, __FILE__, __LINE__, __func__);		\
} while (0)
#define VM_BUG_ON(c)	BUG_ON(c)

#endif
