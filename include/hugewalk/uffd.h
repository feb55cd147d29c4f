/* SPDX-License-Identifier: MIT */
/*
 * userfaultfd(2) for hugetlb mappings: a monitor task resolves the faults
 * of a registered range.
 *
 *	u = hw_uffd_create(mm);			userfaultfd()
 *	hw_uffd_register(u, addr, len, HW_UFFDIO_REGISTER_MODE_MISSING);
 *	... a task of mm touches a page that is not in the page cache:
 *	    it sleeps, and the monitor reads the event ...
 *	hw_uffd_read(u, &msg, false);		read(2) on the fd
 *	hw_uffd_copy(u, msg.address, tag, 0);	UFFDIO_COPY: fills the page
 *						and wakes the faulting task
 *	hw_uffd_close(u);			close(2): wakes everyone
 *
 * All addresses and lengths are in bytes, huge-page aligned.  Return
 * values are 0 or a negative errno, as the ioctl would give.
 */
#ifndef HUGEWALK_UFFD_H
#define HUGEWALK_UFFD_H

#include <stdbool.h>
#include <stdint.h>

struct hw_mm;
struct hw_uffd;

/* hw_uffd_register() modes (UFFDIO_REGISTER_MODE_*) */
#define HW_UFFDIO_REGISTER_MODE_MISSING	0x1
#define HW_UFFDIO_REGISTER_MODE_WP	0x2	/* flags only: no wp faults */

/* hw_uffd_copy() flags (UFFDIO_COPY_MODE_*) */
#define HW_UFFDIO_COPY_MODE_DONTWAKE	0x1

/* One fault event (struct uffd_msg, UFFD_EVENT_PAGEFAULT). */
struct hw_uffd_msg {
	uint64_t address;	/* the huge page that faulted */
	bool write;		/* UFFD_PAGEFAULT_FLAG_WRITE */
};

/**
 * hw_uffd_create() - userfaultfd(2) for the address space @mm.
 * @mm: the process whose faults the new object will report.
 *
 * The object must be closed (hw_uffd_close()) before @mm exits.
 *
 * Return: the object, or NULL with errno set (ENOMEM).
 */
struct hw_uffd *hw_uffd_create(struct hw_mm *mm);

/**
 * hw_uffd_register() - UFFDIO_REGISTER: from now on a fault in
 * [addr, addr + len) on a page the file does not have is reported to @u
 * and the faulting task sleeps until the monitor resolves it.
 * @u: the userfaultfd.
 * @addr: start, huge-page aligned.
 * @len: length, a non-zero multiple of the huge page size.
 * @mode: HW_UFFDIO_REGISTER_MODE_MISSING, _WP, or both.  Write-protect
 *	mode is modelled only for what it does to page tables: it
 *	unshares the range's and forbids sharing; no wp faults.
 *
 * A VMA registered with @u in these modes already is left as it is; any
 * other of the range gets these modes in place of those it had.
 * VMAs are split at @addr and @addr + @len.  MISSING mode does not forbid
 * PMD sharing (write-protect mode does, see hw_uffd_register_wp()); but
 * the flag is part of vm_flags, which sharers must have equal, so a
 * registered VMA shares only with VMAs registered the same way, and a
 * table shared before registration stays shared.  Under the quirk
 * HW_QUIRK_UFFD_MISSING_NO_SHARE (<hugewalk/system.h>) MISSING mode
 * forbids sharing as write-protect mode does: registration unshares the
 * VMA's tables and its faults never share.
 *
 * Return: 0; -EINVAL for a bad range or mode, or no mapping in the
 * range; -EBUSY if part of the range is registered with another
 * userfaultfd.
 */
int hw_uffd_register(struct hw_uffd *u, uint64_t addr, uint64_t len,
		     unsigned int mode);

/**
 * hw_uffd_unregister() - UFFDIO_UNREGISTER: stop reporting faults of
 * [addr, addr + len) to @u, and wake every task waiting on a fault there;
 * they fault again and allocate pages as usual.
 *
 * Return: 0, or -EINVAL for a bad range, as hw_uffd_register().
 */
int hw_uffd_unregister(struct hw_uffd *u, uint64_t addr, uint64_t len);

/**
 * hw_uffd_read() - read(2): the next fault event not read yet.
 * @u: the userfaultfd.
 * @msg: where the event goes.
 * @nonblock: return -EAGAIN instead of sleeping when there is none.
 *
 * Return: 0, or -EAGAIN.
 */
int hw_uffd_read(struct hw_uffd *u, struct hw_uffd_msg *msg, bool nonblock);

/**
 * hw_uffd_copy() - UFFDIO_COPY of one huge page whose data is @tag to
 * @dst, then wake the tasks waiting on it.
 * @u: the userfaultfd.
 * @dst: huge-page aligned address in a range registered with @u.
 * @tag: the new page's contents.
 * @flags: 0 or HW_UFFDIO_COPY_MODE_DONTWAKE (leave the waiters asleep;
 *         wake them later with hw_uffd_wake()).
 *
 * A shared mapping's page goes into the file's page cache, so every
 * mapping of the file sees it; a private mapping's page is its own.
 * Nobody is woken on an error.
 *
 * Return: 0; -EINVAL for a misaligned @dst or bad @flags; -ENOENT if
 * @dst is not in a range registered with @u; -EEXIST if the page is
 * already mapped there or (shared) already in the page cache; -EFAULT
 * past the end of the file; -ENOMEM when the pool has no page.
 */
int hw_uffd_copy(struct hw_uffd *u, uint64_t dst, uint64_t tag,
		 unsigned int flags);

/**
 * hw_uffd_wake() - UFFDIO_WAKE: wake the tasks waiting on a fault in
 * [addr, addr + len), e.g. after hw_uffd_copy() returned -EEXIST.
 *
 * Return: 0, or -EINVAL for a bad range.
 */
int hw_uffd_wake(struct hw_uffd *u, uint64_t addr, uint64_t len);

/**
 * hw_uffd_close() - close(2): unregister every range of @u, wake every
 * waiter (they fault again without it), and drop the object.  No other
 * call on @u may be in flight (a blocked hw_uffd_read() included), nor
 * made afterwards.
 */
void hw_uffd_close(struct hw_uffd *u);

/**
 * hw_uffd_register_wp() - UFFDIO_REGISTER in write-protect mode, which
 * unshares every PMD table of the range (hugetlb_unshare_all_pmds()) and
 * forbids sharing afterwards.  Only that effect on page tables is
 * modelled: no object, no write-protect faults.
 * @mm: the process.
 * @addr: start, huge-page aligned.
 * @len: length, a non-zero multiple of the huge page size.
 *
 * Return: 0, or -EINVAL for a bad range or one not wholly mapped.
 */
int hw_uffd_register_wp(struct hw_mm *mm, uint64_t addr, uint64_t len);

#endif
