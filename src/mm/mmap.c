// SPDX-License-Identifier: MIT
/*
 * Address spaces and VMAs: mmap, munmap, VMA split, mprotect, mremap,
 * fork and exit, for hugetlb mappings of hugetlbfs files.
 *
 * Invariants kept:
 *  - mm->mmap lists the VMAs sorted and disjoint; it changes only under
 *    mmap_lock held for write;
 *  - a VMA is in its file's i_mmap tree from mmap until its page tables
 *    are freed; its bounds change only under i_mmap_rwsem (write) too, so
 *    huge_pmd_share() in another mm sees either the old or the new VMA;
 *  - tearing a range down goes: unmap (unshare, clear, detach the vma
 *    lock: no more sharing), unlink from i_mmap, free page tables, close
 *    (give back reservations), in that order, as unmap_region() does;
 *  - a hugetlb VMA is split only at a huge page boundary; a split at an
 *    address that is not PUD-aligned unshares the PUD around it while the
 *    split's locks are held (hugetlb_split()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mm/internal.h"

#define HPAGE_ALIGNED(x)	(!((x) & ~HPAGE_MASK))
#define MMAP_MIN_ADDR		65536UL	/* vm.mmap_min_addr's default */

struct hw_mm *hw_mm_create(struct hw_system *sys, const char *name)
{
	struct hw_mm *mm = calloc(1, sizeof(*mm));

	if (!mm) {
		errno = ENOMEM;
		return NULL;
	}
	snprintf(mm->name, sizeof(mm->name), "%s", name ? name : "mm");
	mm->sys = sys;
	init_rwsem(&mm->mmap_lock, &mmap_lock_class);
	spin_lock_init(&mm->page_table_lock, &page_table_lock_class);
	INIT_LIST_HEAD(&mm->mmap);
	mm->pgd = pgd_alloc(mm);
	if (!mm->pgd) {
		destroy_rwsem(&mm->mmap_lock);
		free(mm);
		errno = ENOMEM;
		return NULL;
	}
	mutex_lock(&sys->lists_lock);
	list_add_tail(&mm->list, &sys->mms);
	mutex_unlock(&sys->lists_lock);
	return mm;
}

const char *hw_mm_name(const struct hw_mm *mm)
{
	return mm->name;
}

struct hw_system *hw_mm_system(const struct hw_mm *mm)
{
	return mm->sys;
}

/* The first VMA ending above @addr, or NULL.  Context: mmap_lock. */
struct vm_area_struct *find_vma(struct hw_mm *mm, unsigned long addr)
{
	struct vm_area_struct *vma;

	list_for_each_entry(vma, &mm->mmap, vm_list)
		if (vma->vm_end > addr)
			return vma;
	return NULL;
}

/* The VMA containing @addr, or NULL.  Context: mmap_lock. */
struct vm_area_struct *vma_lookup(struct hw_mm *mm, unsigned long addr)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	return vma && vma->vm_start <= addr ? vma : NULL;
}

static struct vm_area_struct *vma_prev(struct vm_area_struct *vma)
{
	return vma->vm_list.prev == &vma->vm_mm->mmap ? NULL :
		list_prev_entry(vma, vm_list);
}

struct vm_area_struct *vma_next(struct vm_area_struct *vma)
{
	return vma->vm_list.next == &vma->vm_mm->mmap ? NULL :
		list_next_entry(vma, vm_list);
}

static void mm_insert_vma(struct hw_mm *mm, struct vm_area_struct *vma)
{
	struct vm_area_struct *next = find_vma(mm, vma->vm_start);

	list_add_tail(&vma->vm_list, next ? &next->vm_list : &mm->mmap);
}

/* A copy of @vma, without its lock or place in any list. */
static struct vm_area_struct *vm_area_dup(struct vm_area_struct *vma)
{
	struct vm_area_struct *new = malloc(sizeof(*new));

	if (!new)
		return NULL;
	*new = *vma;
	new->vm_private_data = NULL;
	INIT_LIST_HEAD(&new->vm_list);
	INIT_LIST_HEAD(&new->shared);
	file_get(new->vm_file);
	return new;
}

/* remove_vma(): the VMA is unmapped, unlinked and its tables freed. */
static void remove_vma(struct vm_area_struct *vma)
{
	hugetlb_vm_op_close(vma);
	hugetlb_vma_lock_free(vma);
	file_put(vma->vm_file);
	free(vma);
}

/* Link a new VMA into its mm and its file's i_mmap tree. */
static void vma_link(struct hw_mm *mm, struct vm_area_struct *vma)
{
	struct address_space *mapping = vma_mapping(vma);

	mm_insert_vma(mm, vma);
	i_mmap_lock_write(mapping);
	vma_interval_tree_insert(vma, mapping);
	i_mmap_unlock_write(mapping);
}

static unsigned long prot_to_vm_flags(int prot)
{
	return ((prot & PROT_READ) ? VM_READ : 0) |
	       ((prot & PROT_WRITE) ? VM_WRITE : 0) |
	       ((prot & PROT_EXEC) ? VM_EXEC : 0);
}

/* Does any VMA intersect [start, end)?  Context: mmap_lock. */
static bool range_mapped(struct hw_mm *mm, unsigned long start,
			 unsigned long end)
{
	struct vm_area_struct *vma = find_vma(mm, start);

	return vma && vma->vm_start < end;
}

int hw_mmap(struct hw_mm *mm, uint64_t addr, uint64_t len, int prot,
	    int flags, struct hw_file *file, uint64_t off)
{
	unsigned long vm_flags, type = flags & (MAP_SHARED | MAP_PRIVATE);
	struct vm_area_struct *vma;
	int err;

	if (!file || !len || (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)))
		return -EINVAL;
	if (type != MAP_SHARED && type != MAP_PRIVATE)
		return -EINVAL;
	/* ksys_mmap_pgoff() rounds a hugetlbfs length up to a huge page. */
	len = (len + HPAGE_SIZE - 1) & HPAGE_MASK;
	if (!HPAGE_ALIGNED(addr) || !HPAGE_ALIGNED(off))
		return -EINVAL;
	if (len > TASK_SIZE || addr > TASK_SIZE - len)
		return -ENOMEM;
	if (addr < MMAP_MIN_ADDR)
		return -EPERM;		/* security_mmap_addr() */
	if (off + len < off)
		return -EOVERFLOW;

	vm_flags = VM_HUGETLB | prot_to_vm_flags(prot) | VM_MAYREAD |
		   VM_MAYWRITE | VM_MAYEXEC;
	if (type == MAP_SHARED)
		vm_flags |= VM_SHARED | VM_MAYSHARE;
	if (flags & MAP_NORESERVE)
		vm_flags |= VM_NORESERVE;

	down_write(&mm->mmap_lock);
	err = -EEXIST;		/* MAP_FIXED_NOREPLACE */
	if (range_mapped(mm, addr, addr + len))
		goto out_unlock;
	err = -ENOMEM;
	vma = calloc(1, sizeof(*vma));
	if (!vma)
		goto out_unlock;
	vma->vm_mm = mm;
	vma->vm_start = addr;
	vma->vm_end = addr + len;
	vma->vm_flags = vm_flags;
	vma->vm_pgoff = off >> PAGE_SHIFT;
	vma->vm_file = file;
	INIT_LIST_HEAD(&vma->vm_list);
	INIT_LIST_HEAD(&vma->shared);

	/* hugetlbfs_file_mmap() */
	down_write(&file->i_rwsem);
	err = hugetlb_reserve_pages(file, off >> HPAGE_SHIFT,
				    (off + len) >> HPAGE_SHIFT, vma, vm_flags);
	if (!err && (vm_flags & VM_WRITE) && READ_ONCE(file->i_size) < off + len)
		WRITE_ONCE(file->i_size, off + len);
	up_write(&file->i_rwsem);
	if (err)
		goto out_free;
	err = hugetlb_vma_lock_alloc(vma);
	if (err)
		goto out_unreserve;
	file_get(file);
	vma_link(mm, vma);
	up_write(&mm->mmap_lock);
	return 0;

out_unreserve:
	hugetlb_vm_op_close(vma);
out_free:
	free(vma);
out_unlock:
	up_write(&mm->mmap_lock);
	return err;
}

/**
 * __split_vma() - split @vma at @addr; the new VMA takes the part below
 * @addr if @new_below, else the part above.
 * Context: mmap_lock (write).
 * Return: 0, -EINVAL if @addr is not huge-page aligned, -ENOMEM.
 */
int __split_vma(struct vm_area_struct *vma, unsigned long addr, int new_below)
{
	struct address_space *mapping = vma_mapping(vma);
	struct vm_area_struct *new;
	int err;

	lockdep_assert_held_write(&vma->vm_mm->mmap_lock);
	BUG_ON(addr <= vma->vm_start || addr >= vma->vm_end);
	if (!HPAGE_ALIGNED(addr))
		return -EINVAL;		/* hugetlb_vm_op_split() */
	new = vm_area_dup(vma);
	if (!new)
		return -ENOMEM;
	err = hugetlb_vma_lock_alloc(new);
	if (err) {
		file_put(new->vm_file);
		free(new);
		return err;
	}
	hugetlb_vm_op_open(new);

	/* vma_prepare(): the split is atomic for rmap and for sharers. */
	hugetlb_vma_lock_write(vma);
	i_mmap_lock_write(mapping);
	hugetlb_split(vma, addr);
	if (new_below) {
		new->vm_end = addr;
		vma->vm_pgoff += (addr - vma->vm_start) >> PAGE_SHIFT;
		vma->vm_start = addr;
	} else {
		new->vm_start = addr;
		new->vm_pgoff += (addr - vma->vm_start) >> PAGE_SHIFT;
		vma->vm_end = addr;
	}
	/*
	 * vma_prepare()/vma_complete(): the new piece goes into i_mmap, and
	 * the old one, its range changed, comes out and goes back in, each
	 * after the VMAs of equal offset already there.
	 */
	vma_interval_tree_insert(new, mapping);
	vma_interval_tree_remove(vma, mapping);
	vma_interval_tree_insert(vma, mapping);
	i_mmap_unlock_write(mapping);
	hugetlb_vma_unlock_write(vma);
	mm_insert_vma(vma->vm_mm, new);
	return 0;
}

/*
 * Split the VMAs at @start and @end so that [start, end) is made of
 * whole VMAs.  Return: 0 or the split's error.
 */
int split_range(struct hw_mm *mm, unsigned long start,
		       unsigned long end)
{
	struct vm_area_struct *vma;
	int err;

	vma = vma_lookup(mm, start);
	if (vma && vma->vm_start < start) {
		err = __split_vma(vma, start, 1);
		if (err)
			return err;
	}
	vma = vma_lookup(mm, end);
	if (vma && vma->vm_start < end) {
		err = __split_vma(vma, end, 1);
		if (err)
			return err;
	}
	return 0;
}

/**
 * do_munmap() - unmap [start, end) from @mm.
 * Context: mmap_lock (write).
 * Return: 0, or -EINVAL if a VMA would be split off a huge page boundary.
 */
static int do_munmap(struct hw_mm *mm, unsigned long start, unsigned long end)
{
	struct vm_area_struct *vma, *tmp, *prev, *next;
	unsigned long floor, ceiling;
	struct list_head detached;
	int err;

	lockdep_assert_held_write(&mm->mmap_lock);
	if (!range_mapped(mm, start, end))
		return 0;
	err = split_range(mm, start, end);
	if (err)
		return err;

	/* Detach the VMAs of the range, remembering the neighbours. */
	INIT_LIST_HEAD(&detached);
	vma = find_vma(mm, start);
	prev = vma_prev(vma);
	while (vma && vma->vm_start < end) {
		next = vma_next(vma);
		list_del_init(&vma->vm_list);
		list_add_tail(&vma->vm_list, &detached);
		vma = next;
	}
	floor = prev ? prev->vm_end : 0;
	ceiling = vma ? vma->vm_start : TASK_SIZE;

	/* unmap_region(): unmap, unlink, free tables, then close. */
	list_for_each_entry(vma, &detached, vm_list)
		hugetlb_zap_range(vma, vma->vm_start, vma->vm_end,
				  ZAP_FLAG_UNMAP);
	list_for_each_entry(vma, &detached, vm_list) {
		i_mmap_lock_write(vma_mapping(vma));
		vma_interval_tree_remove(vma, vma_mapping(vma));
		i_mmap_unlock_write(vma_mapping(vma));
	}
	free_pgtables(mm, start, end, floor, ceiling);
	list_for_each_entry_safe(vma, tmp, &detached, vm_list)
		remove_vma(vma);
	return 0;
}

int hw_munmap(struct hw_mm *mm, uint64_t addr, uint64_t len)
{
	int err;

	if ((addr & ~PAGE_MASK) || !len)
		return -EINVAL;
	len = (len + PAGE_SIZE - 1) & PAGE_MASK;
	if (len > TASK_SIZE || addr > TASK_SIZE - len)
		return -EINVAL;
	down_write(&mm->mmap_lock);
	err = do_munmap(mm, addr, addr + len);
	up_write(&mm->mmap_lock);
	return err;
}

/*
 * Every byte of [start, end) must be mapped, as mprotect(2) and
 * madvise(2) require.  Context: mmap_lock.
 */
bool range_fully_mapped(struct hw_mm *mm, unsigned long start,
			       unsigned long end)
{
	struct vm_area_struct *vma = vma_lookup(mm, start);

	while (vma && vma->vm_end < end) {
		struct vm_area_struct *next = vma_next(vma);

		if (!next || next->vm_start != vma->vm_end)
			return false;
		vma = next;
	}
	return vma != NULL;
}

/* Set vm_flags where sharers read them: under i_mmap_rwsem. */
static void vma_set_flags(struct vm_area_struct *vma, unsigned long flags)
{
	struct address_space *mapping = vma_mapping(vma);

	i_mmap_lock_write(mapping);
	WRITE_ONCE(vma->vm_flags, flags);
	i_mmap_unlock_write(mapping);
}

int hw_mprotect(struct hw_mm *mm, uint64_t addr, uint64_t len, int prot)
{
	unsigned long start = addr, end, newflags, mapped_end;
	struct vm_area_struct *vma;
	int err;

	if ((addr & ~PAGE_MASK) || (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)))
		return -EINVAL;
	len = (len + PAGE_SIZE - 1) & PAGE_MASK;
	end = start + len;
	if (end < start || end > TASK_SIZE)
		return -ENOMEM;
	if (!len)
		return 0;
	/*
	 * do_mprotect_pkey(): VMA by VMA from @start; a hole ends the call
	 * with ENOMEM, after the VMAs before it have changed.
	 */
	down_write(&mm->mmap_lock);
	err = -ENOMEM;
	vma = vma_lookup(mm, start);
	if (!vma)
		goto out;
	while (vma->vm_end < end && vma_next(vma) &&
	       vma_next(vma)->vm_start == vma->vm_end)
		vma = vma_next(vma);
	mapped_end = vma->vm_end < end ? vma->vm_end : end;
	/*
	 * mprotect_fixup(): a VMA whose flags stay the same is left as it
	 * is, not split; the others are split to the range and changed.
	 */
	for (vma = vma_lookup(mm, start); vma && vma->vm_start < mapped_end;
	     vma = vma_next(vma)) {
		unsigned long s, e;

		newflags = (vma->vm_flags & ~(VM_READ | VM_WRITE | VM_EXEC)) |
			   prot_to_vm_flags(prot);
		if (newflags == vma->vm_flags)
			continue;
		s = vma->vm_start > start ? vma->vm_start : start;
		e = vma->vm_end < mapped_end ? vma->vm_end : mapped_end;
		err = split_range(mm, s, e);
		if (err)
			goto out;
		vma = vma_lookup(mm, s);
		vma_set_flags(vma, newflags);
		hugetlb_change_protection(vma, vma->vm_start, vma->vm_end,
					  newflags);
	}
	err = mapped_end < end ? -ENOMEM : 0;
out:
	up_write(&mm->mmap_lock);
	return err;
}

/*
 * mremap_to(): move [old_addr, +old_len), inside one VMA, to new_addr,
 * keeping its first new_len bytes.  Context: mmap_lock (write).
 */
static int mremap_to(struct hw_mm *mm, unsigned long old_addr,
		     unsigned long old_len, unsigned long new_len,
		     unsigned long new_addr)
{
	struct vm_area_struct *vma, *new_vma;
	int err;

	/* A shrink drops the tail first: only what stays must fit. */
	err = -EFAULT;
	vma = vma_lookup(mm, old_addr);
	if (!vma || vma->vm_end < old_addr + new_len)
		goto out;
	/* MREMAP_FIXED: whatever is at the target goes. */
	err = do_munmap(mm, new_addr, new_addr + new_len);
	if (err)
		goto out;
	if (new_len < old_len) {
		err = do_munmap(mm, old_addr + new_len, old_addr + old_len);
		if (err)
			goto out;
	}
	err = split_range(mm, old_addr, old_addr + new_len);
	if (err)
		goto out;
	vma = vma_lookup(mm, old_addr);

	/* copy_vma() */
	err = -ENOMEM;
	new_vma = vm_area_dup(vma);
	if (!new_vma)
		goto out;
	new_vma->vm_start = new_addr;
	new_vma->vm_end = new_addr + new_len;
	dup_userfaultfd(new_vma);	/* mremap_userfaultfd_prep() */
	if (hugetlb_vma_lock_alloc(new_vma)) {
		file_put(new_vma->vm_file);
		free(new_vma);
		goto out;
	}
	hugetlb_vm_op_open(new_vma);
	vma_link(mm, new_vma);

	err = move_hugetlb_page_tables(vma, new_vma, old_addr, new_addr,
				       new_len);
	/*
	 * clear_vma_resv_huge_pages(): the reservation moved with the new
	 * VMA; the old one must not give it back when it is unmapped.
	 */
	if (vma->resv) {
		resv_map_put(vma->resv);
		vma->resv = NULL;
	}
	do_munmap(mm, old_addr, old_addr + new_len);
out:
	return err;
}

/*
 * remap_move() (Linux 6.17, "mm/mremap: permit mremap() move of multiple
 * VMAs"): a move that keeps the size may span several VMAs, and gaps
 * after the first.  Each VMA moves on its own to the same offset in the
 * new range; a gap stays a gap, at the destination too (what is mapped
 * there stays).  A VMA armed with userfaultfd cannot be part of such a
 * move: first in a range that goes on past it, the call fails before
 * anything moves; later, it fails once the VMAs before it have moved.
 * Context: mmap_lock (write).
 */
static int remap_move(struct hw_mm *mm, unsigned long start,
		      unsigned long len, unsigned long new_addr)
{
	const unsigned long armed = VM_UFFD_MISSING | VM_UFFD_WP;
	unsigned long end = start + len, addr, next, n;
	struct vm_area_struct *vma = find_vma(mm, start);
	bool seen = false;
	int err;

	if (!vma || vma->vm_start > start)
		return -EFAULT;		/* no gap at the start */
	while (vma && vma->vm_start < end) {
		addr = vma->vm_start > start ? vma->vm_start : start;
		n = (vma->vm_end < end ? vma->vm_end : end) - addr;
		if ((vma->vm_flags & armed) && (seen || vma->vm_end < end))
			return -EFAULT;
		next = vma->vm_end;
		err = mremap_to(mm, addr, n, n, new_addr + (addr - start));
		if (err)
			return err;
		seen = true;
		vma = find_vma(mm, next);
	}
	return 0;
}

int hw_mremap(struct hw_mm *mm, uint64_t old_addr, uint64_t old_len,
	      uint64_t new_len, uint64_t new_addr)
{
	int err;

	if (!HPAGE_ALIGNED(old_addr) || !HPAGE_ALIGNED(new_addr))
		return -EINVAL;
	old_len = (old_len + HPAGE_SIZE - 1) & HPAGE_MASK;
	new_len = (new_len + HPAGE_SIZE - 1) & HPAGE_MASK;
	if (!new_len || !old_len)
		return -EINVAL;
	/* Hugetlb reservations cannot follow a growing mapping. */
	if (new_len > old_len)
		return -EINVAL;
	if (new_len > TASK_SIZE || new_addr > TASK_SIZE - new_len ||
	    old_len > TASK_SIZE || old_addr > TASK_SIZE - old_len)
		return -EINVAL;
	if (new_addr < old_addr + old_len && old_addr < new_addr + new_len)
		return -EINVAL;
	if (new_addr < MMAP_MIN_ADDR)
		return -EPERM;

	down_write(&mm->mmap_lock);
	if (new_len == old_len)
		err = remap_move(mm, old_addr, old_len, new_addr);
	else
		err = mremap_to(mm, old_addr, old_len, new_len, new_addr);
	up_write(&mm->mmap_lock);
	return err;
}

struct hw_mm *hw_fork(struct hw_mm *parent, const char *name)
{
	struct vm_area_struct *vma, *new;
	struct hw_mm *child;
	int err = 0;

	child = hw_mm_create(parent->sys, name);
	if (!child)
		return NULL;
	down_write(&parent->mmap_lock);
	down_write_nested(&child->mmap_lock, 1);
	list_for_each_entry(vma, &parent->mmap, vm_list) {
		new = vm_area_dup(vma);
		if (!new) {
			err = -ENOMEM;
			break;
		}
		new->vm_mm = child;
		dup_userfaultfd(new);
		/* Only the parent owns a private mapping's reservation. */
		new->resv = NULL;
		new->anon_vma = false;
		new->resv_unmapped = false;	/* hugetlb_dup_vma_private() */
		if (hugetlb_vma_lock_alloc(new)) {
			file_put(new->vm_file);
			free(new);
			err = -ENOMEM;
			break;
		}
		/* dup_mmap(): in i_mmap just after the parent's VMA. */
		mm_insert_vma(child, new);
		i_mmap_lock_write(vma_mapping(new));
		vma_interval_tree_insert_after(new, vma, vma_mapping(new));
		i_mmap_unlock_write(vma_mapping(new));
		/*
		 * vma_needs_copy(): shared mappings are not copied (the child
		 * faults and re-shares); private ones with anonymous pages
		 * are, write-protected on both sides.
		 */
		if (!(vma->vm_flags & VM_MAYSHARE) && vma->anon_vma) {
			new->anon_vma = true;
			err = copy_hugetlb_page_range(child, parent, new, vma);
			if (err)
				break;
		}
	}
	up_write(&child->mmap_lock);
	up_write(&parent->mmap_lock);
	if (err) {
		hw_exit(child);
		errno = -err;
		return NULL;
	}
	return child;
}

/* exit_mmap(): tear the whole address space down.  Context: none held. */
void exit_mmap(struct hw_mm *mm)
{
	down_write(&mm->mmap_lock);
	do_munmap(mm, 0, TASK_SIZE);
	free_pgtables(mm, 0, TASK_SIZE, 0, TASK_SIZE);
	up_write(&mm->mmap_lock);
}

void hw_exit(struct hw_mm *mm)
{
	struct hw_system *sys = mm->sys;

	exit_mmap(mm);
	pgd_free(mm);
	mutex_lock(&sys->lists_lock);
	list_del_init(&mm->list);
	mutex_unlock(&sys->lists_lock);
	destroy_rwsem(&mm->mmap_lock);
	free(mm);
}
