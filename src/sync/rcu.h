/* SPDX-License-Identifier: MIT */
/*
 * RCU for the subsystem sources.  Real build: liburcu's memb flavour.
 * rcu_read_lock() also counts the task's nesting, which is what
 * rcu_read_lock_held() and the walk-rule checker look at.
 */
#ifndef HW_SYNC_RCU_H
#define HW_SYNC_RCU_H

#include <stdbool.h>

struct hw_rcu_head {
	void *urcu_node[2];		/* liburcu's struct rcu_head */
	void (*func)(struct hw_rcu_head *head);
};

void rcu_read_lock(void);
void rcu_read_unlock(void);
bool rcu_read_lock_held(void);
void synchronize_rcu(void);
void call_rcu(struct hw_rcu_head *head, void (*func)(struct hw_rcu_head *));
void rcu_barrier(void);

#endif
