// SPDX-License-Identifier: MIT
/*
 * The machine: boot, tasks, teardown, and the lock classes of the
 * subsystem (their ranks are the lock order, see sync/lock.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mm/internal.h"

const struct lock_class mmap_lock_class = { "&mm->mmap_lock", RANK_MMAP_LOCK };
const struct lock_class i_rwsem_class = { "&sb->s_type->i_mutex_key", RANK_I_RWSEM };
const struct lock_class fault_mutex_class = { "&hugetlb_fault_mutex_table[i]", RANK_FAULT_MUTEX };
const struct lock_class vma_lock_class = { "&vma_lock->rw_sema", RANK_VMA_LOCK };
const struct lock_class i_mmap_class = { "&mapping->i_mmap_rwsem", RANK_I_MMAP };
const struct lock_class folio_lock_class = { "folio_lock", RANK_FOLIO };
const struct lock_class ptl_class = { "ptlock_ptr(ptdesc)", RANK_PTL };
const struct lock_class page_table_lock_class = { "&mm->page_table_lock", RANK_PTL };
const struct lock_class hugetlb_lock_class = { "hugetlb_lock", RANK_INNER };
const struct lock_class i_pages_class = { "&mapping->i_pages", RANK_INNER };
const struct lock_class resv_map_class = { "&resv_map->lock", RANK_INNER };
const struct lock_class pta_class = { "pagetable allocator", RANK_LEAF };
const struct lock_class lists_class = { "system lists", RANK_LEAF };

struct hw_system *hw_system_create(const struct hw_system_opts *opts)
{
	static const struct hw_system_opts defaults = { 0 };
	const struct hw_policy *policy;
	struct hw_system *sys;
	int i, err;

	if (!opts)
		opts = &defaults;
	policy = hw_policy_lookup(opts->policy ? opts->policy : "v6.3");
	if (!policy) {
		errno = EINVAL;
		return NULL;
	}
	sys = calloc(1, sizeof(*sys));
	if (!sys) {
		errno = ENOMEM;
		return NULL;
	}
	sys->policy = policy;
	sys->sink.out = opts->report ? opts->report : stderr;
	sys->sink.record = opts->violations == HW_VIOLATION_RECORD;
	mutex_init(&sys->lists_lock, &lists_class);
	INIT_LIST_HEAD(&sys->mms);
	INIT_LIST_HEAD(&sys->files);
	for (i = 0; i < NUM_FAULT_MUTEXES; i++)
		mutex_init(&sys->fault_mutex_table[i], &fault_mutex_class);
	migration_wq_init(sys);

	err = task_register("main", &sys->sink, sys);
	if (err && err != -EBUSY)
		goto out_free;
	if (!err)
		atomic_inc(&sys->nr_tasks);
	err = pt_allocator_init(sys);
	if (err)
		goto out_task;
	err = hugetlb_pool_init(sys, opts->nr_hugepages);
	if (err)
		goto out_pta;
	return sys;

out_pta:
	pt_allocator_exit(sys);
out_task:
	task_unregister();
out_free:
	migration_wq_exit(sys);
	free(sys);
	errno = -err;
	return NULL;
}

void hw_system_destroy(struct hw_system *sys)
{
	struct hw_mm *mm;
	struct hw_file *file, *tmp;

	for (;;) {
		mutex_lock(&sys->lists_lock);
		mm = list_empty(&sys->mms) ? NULL :
			list_first_entry(&sys->mms, struct hw_mm, list);
		mutex_unlock(&sys->lists_lock);
		if (!mm)
			break;
		hw_exit(mm);
	}
	list_for_each_entry_safe(file, tmp, &sys->files, list)
		if (file->open)
			hw_file_close(file);
	/* Every deferred table free runs before the allocator goes. */
	rcu_barrier();
	BUG_ON(!list_empty(&sys->files));
	hugetlb_pool_exit(sys);
	pt_allocator_exit(sys);
	migration_wq_exit(sys);
	if (current->owner == sys)
		task_unregister();
	free(sys);
}

int hw_system_set_policy(struct hw_system *sys, const char *name)
{
	const struct hw_policy *p = hw_policy_lookup(name);

	if (!p)
		return -EINVAL;
	/* Settle frees queued under the old policy first. */
	rcu_barrier();
	sys->policy = p;
	return 0;
}

int hw_system_set_table_free(struct hw_system *sys, const char *mode)
{
	static const char *const modes[] = { "policy", "now", "rcu", "sync" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		if (mode && !strcmp(mode, modes[i])) {
			rcu_barrier();
			sys->pt_free_override = i;	/* PT_FREE_* + 1 */
			return 0;
		}
	}
	return -EINVAL;
}

static const char *const quirk_names[HW_NR_QUIRKS] = {
	[HW_QUIRK_UFFD_MISSING_NO_SHARE] = "uffd-missing-no-share",
	[HW_QUIRK_COW_STEAL_REFAULT] = "cow-steal-refault",
};

int hw_system_set_quirk(struct hw_system *sys, enum hw_quirk quirk, bool on)
{
	if ((unsigned int)quirk >= HW_NR_QUIRKS)
		return -EINVAL;
	if (on)
		sys->quirks |= 1UL << quirk;
	else
		sys->quirks &= ~(1UL << quirk);
	return 0;
}

bool hw_system_quirk(const struct hw_system *sys, enum hw_quirk quirk)
{
	return (unsigned int)quirk < HW_NR_QUIRKS &&
	       (sys->quirks & (1UL << quirk));
}

const char *hw_quirk_name(enum hw_quirk quirk)
{
	return (unsigned int)quirk < HW_NR_QUIRKS ? quirk_names[quirk] : NULL;
}

int hw_quirk_lookup(const char *name)
{
	int i;

	for (i = 0; name && i < HW_NR_QUIRKS; i++)
		if (!strcmp(name, quirk_names[i]))
			return i;
	return -1;
}

const char *hw_system_policy(const struct hw_system *sys)
{
	return sys->policy->name;
}

int hw_task_enter(struct hw_system *sys, const char *name)
{
	int err = task_register(name, &sys->sink, sys);

	if (!err)
		atomic_inc(&sys->nr_tasks);
	return err;
}

void hw_task_exit(void)
{
	struct hw_system *sys = current->owner;

	atomic_dec(&sys->nr_tasks);
	task_unregister();
}

/*
 * hugetlb_fault_mutex_hash() - which fault mutex serialises faults on
 * page @idx of @mapping (the kernel hashes the same pair).
 */
unsigned long hugetlb_fault_mutex_hash(struct address_space *mapping,
				       unsigned long idx)
{
	uint64_t key = (uint64_t)(uintptr_t)mapping ^ (idx * 0x9e3779b97f4a7c15ULL);

	key ^= key >> 29;
	key *= 0xbf58476d1ce4e5b9ULL;
	key ^= key >> 32;
	return key & (NUM_FAULT_MUTEXES - 1);
}
