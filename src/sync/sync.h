/* SPDX-License-Identifier: MIT */
/* Everything src/mm may use to run concurrently; nothing else may. */
#ifndef HW_SYNC_SYNC_H
#define HW_SYNC_SYNC_H

#include "sync/compiler.h"
#include "sync/sched.h"
#include "sync/task.h"
#include "sync/lock.h"
#include "sync/rcu.h"
#include "sync/wait.h"

#endif
