/* SPDX-License-Identifier: MIT */
/*
 * hugewalk: Linux hugetlb shared page tables (PMD sharing), every path that
 * walks them, and the protocols that keep those walkers safe, as a
 * userspace library.
 *
 * One umbrella header; each concept has its own:
 *   system.h  the machine: huge page pool, policy, counters
 *   file.h    hugetlbfs files (memfd_create(MFD_HUGETLB))
 *   mm.h      processes: create, fork, exit
 *   ops.h     the system calls and memory accesses a process performs
 *   stats.h   what can be observed: meminfo, per-mm counters, drawings
 *   task.h    threads that call into the library
 *   pagewalk.h pagemap, mincore, folio_referenced: looking at page tables
 *   uffd.h    userfaultfd: a monitor resolves a range's faults
 *   gup.h     pinning pages: get_user_pages, GUP-fast, follow_page
 */
#ifndef HUGEWALK_H
#define HUGEWALK_H

#include <hugewalk/system.h>
#include <hugewalk/file.h>
#include <hugewalk/mm.h>
#include <hugewalk/ops.h>
#include <hugewalk/stats.h>
#include <hugewalk/task.h>
#include <hugewalk/pagewalk.h>
#include <hugewalk/uffd.h>
#include <hugewalk/gup.h>

#endif
