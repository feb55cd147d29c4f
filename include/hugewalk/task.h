/* SPDX-License-Identifier: MIT */
#ifndef HUGEWALK_TASK_H
#define HUGEWALK_TASK_H

struct hw_system;

/*
 * Every thread that calls into a system must be registered first: it
 * becomes a task with its own held-lock record and RCU reader state.
 * hw_system_create() registers its caller.
 */
int hw_task_enter(struct hw_system *sys, const char *name);
void hw_task_exit(void);

#endif
