// SPDX-License-Identifier: MIT
/*
 * The checkers: the walk rule of hugetlb_walk(), KASAN-style reports of
 * a walker that touches a freed table, the destroyed-ptl check, lockdep's
 * lock order; and the hugetlb vma lock's lifetime.
 *
 * Every test here uses the sharing picture:
 *
 *            1G            2G
 *  A:        |== f[0,1) ==|
 *  B:                      |== f[0,1) ==|     one table, shared
 */
#include <errno.h>

#include "mm/internal.h"
#include "helpers.h"

struct pair {
	struct hw_system *sys;
	struct hw_mm *a, *b;
	struct vm_area_struct *vma_a;
};

static struct pair setup(const char *policy, enum hw_violation_mode mode)
{
	struct hw_system_opts o = { .nr_hugepages = 1024, .policy = policy,
				    .violations = mode };
	struct hw_file *f;
	struct pair p;

	p.sys = hw_system_create(&o);
	CHECK(p.sys);
	f = hw_memfd_create(p.sys, "f");
	CHECK(f && !hw_ftruncate(f, G));
	p.a = hw_mm_create(p.sys, "A");
	p.b = hw_mm_create(p.sys, "B");
	CHECK_EQ(hw_mmap(p.a, G, G, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0), 0);
	CHECK_EQ(hw_mmap(p.b, 2 * G, G, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0), 0);
	write_pages(p.a, G, 2, 0x10);
	check_pages(p.b, 2 * G, 2, 0x10);
	CHECK_EQ(meminfo(p.sys).shared_pmds, 1);
	p.vma_a = find_vma(p.a, G);
	return p;
}

/* A walker at follow_hugetlb_page that holds nothing. */
static pte_t *bare_walk(struct pair *p)
{
	pte_t *ptep;

	site_enter(SITE_FOLLOW_HUGETLB_PAGE, "follow_hugetlb_page");
	ptep = hugetlb_walk(p->vma_a, G, HPAGE_SIZE);
	site_exit();
	return ptep;
}

static void walk_without_lock_v63(void)
{
	struct pair p = setup("v6.3", HW_VIOLATION_ABORT);

	bare_walk(&p);
}

static void walk_rule_enforced_under_v6_3(void)
{
	expect_report(walk_without_lock_v63,
		      "WARNING: suspicious hugetlb_walk() usage");
}

static void walk_rule_recorded_on_request(void)
{
	struct pair p = setup("v6.3", HW_VIOLATION_RECORD);
	pte_t *ptep = bare_walk(&p);

	CHECK(ptep);
	CHECK_EQ(hw_violations(p.sys, NULL), 1);
	/* The same walk under the vma lock is fine. */
	hugetlb_vma_lock_read(p.vma_a);
	bare_walk(&p);
	hugetlb_vma_unlock_read(p.vma_a);
	CHECK_EQ(hw_violations(p.sys, NULL), 1);
	hw_system_destroy(p.sys);
}

/* Under v6.1 and unprotected, exposed walks are counted, never fatal. */
static void exposures_counted_under_old_policies(void)
{
	static const char *const pols[] = { "unprotected", "v6.1" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pols); i++) {
		struct pair p = setup(pols[i], HW_VIOLATION_ABORT);
		unsigned long before = hw_violations(p.sys, NULL);
		char *buf = NULL;
		size_t len = 0;
		FILE *f;

		/* The faults of setup() looked unprotected, early. */
		CHECK(before > 0);
		bare_walk(&p);
		bare_walk(&p);
		f = open_memstream(&buf, &len);
		CHECK_EQ(hw_violations(p.sys, f), before + 2);
		fclose(f);
		CHECK_MSG(strstr(buf, "follow_hugetlb_page") &&
			  strstr(buf, "hugetlb_fault"), "%s", buf);
		free(buf);
		hw_system_destroy(p.sys);
	}
}

/* The RFC accepts an RCU read-side section; v6.3 does not. */
static void rcu_counts_only_under_rfc(void)
{
	struct pair p = setup("rfc", HW_VIOLATION_RECORD);

	rcu_read_lock();
	bare_walk(&p);
	rcu_read_unlock();
	CHECK_EQ(hw_violations(p.sys, NULL), 0);
	hw_system_destroy(p.sys);

	p = setup("v6.3", HW_VIOLATION_RECORD);
	rcu_read_lock();
	bare_walk(&p);
	rcu_read_unlock();
	CHECK_EQ(hw_violations(p.sys, NULL), 1);
	hw_system_destroy(p.sys);
}

/*
 * The use-after-free of the series, by hand: A's walker holds a pointer
 * into the shared table; A unshares (MADV_DONTNEED), B, the last user,
 * unmaps and frees the table; the walker reads through its pointer.
 */
static void stale_walk(const char *policy)
{
	struct pair p = setup(policy, HW_VIOLATION_RECORD);
	pte_t *ptep = bare_walk(&p);

	CHECK_EQ(hw_madvise(p.a, G, HPAGE_SIZE, MADV_DONTNEED), 0);
	CHECK_EQ(hw_munmap(p.b, 2 * G, G), 0);
	rcu_barrier();		/* let an RCU-deferred free happen */
	site_enter(SITE_FOLLOW_HUGETLB_PAGE, "follow_hugetlb_page");
	huge_ptep_get(ptep);
	site_exit();
}

static void stale_walk_unprotected(void)
{
	stale_walk("unprotected");
}

static void stale_walk_v61(void)
{
	stale_walk("v6.1");
}

static void kasan_reports_use_after_free(void)
{
	expect_report(stale_walk_unprotected,
		      "BUG: KASAN: use-after-free in follow_hugetlb_page");
	expect_report(stale_walk_v61,
		      "BUG: KASAN: use-after-free in follow_hugetlb_page");
}

/*
 * The RFC's flaw: inside its RCU section the walker keeps the table's
 * memory, but the ptl's destructor ran at pmd_free() time.
 */
static void rcu_walker_takes_ptl(const char *policy)
{
	struct pair p = setup(policy, HW_VIOLATION_RECORD);
	spinlock_t *ptl;
	pte_t *ptep;

	rcu_read_lock();
	ptep = bare_walk(&p);
	CHECK_EQ(hw_madvise(p.a, G, HPAGE_SIZE, MADV_DONTNEED), 0);
	CHECK_EQ(hw_munmap(p.b, 2 * G, G), 0);
	site_enter(SITE_FOLLOW_HUGETLB_PAGE, "follow_hugetlb_page");
	huge_ptep_get(ptep);		/* memory kept by RCU: fine */
	ptl = huge_pte_lock(ptep);	/* the lock may be dead */
	spin_unlock(ptl);
	site_exit();
	rcu_read_unlock();
	hw_system_destroy(p.sys);
}

static void rfc_ptl(void)
{
	rcu_walker_takes_ptl("rfc");
}

static void rfc_destroyed_ptl_caught(void)
{
	expect_report(rfc_ptl, "BUG: spinlock bad magic");
}

static void rfc_late_dtor_keeps_ptl_alive(void)
{
	rcu_walker_takes_ptl("rfc-late-dtor");
}

static void lock_inversion(void)
{
	struct pair p = setup("v6.3", HW_VIOLATION_ABORT);

	i_mmap_lock_write(vma_mapping(p.vma_a));
	hugetlb_vma_lock_write(p.vma_a);
}

static void lockdep_catches_inversion(void)
{
	expect_report(lock_inversion,
		      "WARNING: possible circular locking dependency detected");
}

/*
 * MADV_DONTNEED must not free the vma lock (syzbot 2022): the VMA stays,
 * and its next fault takes the same lock.
 */
static void vma_lock_survives_dontneed(void)
{
	struct pair p = setup("v6.3", HW_VIOLATION_ABORT);
	void *lock = p.vma_a->vm_private_data;

	CHECK(lock);
	CHECK_EQ(hw_madvise(p.a, G, G, MADV_DONTNEED), 0);
	CHECK(p.vma_a->vm_private_data == lock);
	check_pages(p.a, G, 2, 0x10);
	CHECK_EQ(hw_munmap(p.a, G, G), 0);
	check_invariants(p.sys);
	hw_system_destroy(p.sys);
}

static void signals_and_errors(void)
{
	struct hw_system *sys = boot(2, "v6.3");
	struct hw_file *f = hw_memfd_create(sys, "f");
	struct hw_mm *a = hw_mm_create(sys, "A");
	uint64_t t = 1;

	CHECK(f && !hw_ftruncate(f, 8 * HP));
	CHECK_EQ(hw_ftruncate(f, HP + 4 * K), -EINVAL);
	CHECK_EQ(hw_mmap(a, G + 4 * K, HP, PROT_READ, MAP_SHARED, f, 0), -EINVAL);
	CHECK_EQ(hw_mmap(a, G, HP, PROT_READ, MAP_SHARED, f, 4 * K), -EINVAL);
	CHECK_EQ(hw_mmap(a, G, HP, PROT_READ, MAP_SHARED | MAP_PRIVATE, f, 0), -EINVAL);
	/* 8 pages cannot be reserved from a pool of 2 */
	CHECK_EQ(hw_mmap(a, G, 8 * HP, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0), -ENOMEM);
	CHECK_EQ(hw_mmap(a, G, 8 * HP, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_NORESERVE, f, 0), 0);
	CHECK_EQ(hw_mmap(a, G + 2 * HP, HP, PROT_READ, MAP_SHARED, f, 0), -EEXIST);
	CHECK_EQ(hw_access(a, 2 * G, false, &t), SIGSEGV);
	write_pages(a, G, 2, 0x10);
	CHECK_EQ(hw_access(a, G + 2 * HP, true, &t), SIGBUS);
	CHECK_EQ(hw_mprotect(a, G, 8 * HP, PROT_READ), 0);
	CHECK_EQ(hw_access(a, G, true, &t), SIGSEGV);
	CHECK_EQ(hw_access(a, G, false, &t), 0);
	CHECK_EQ(t, 0x10);
	CHECK_EQ(hw_system_set_policy(sys, "v9.9"), -EINVAL);
	CHECK_EQ(hw_system_set_policy(sys, "rfc"), 0);
	check_invariants(sys);
	hw_system_destroy(sys);
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(walk_rule_enforced_under_v6_3),
		TAP_TEST(walk_rule_recorded_on_request),
		TAP_TEST(exposures_counted_under_old_policies),
		TAP_TEST(rcu_counts_only_under_rfc),
		TAP_TEST(kasan_reports_use_after_free),
		TAP_TEST(rfc_destroyed_ptl_caught),
		TAP_TEST(rfc_late_dtor_keeps_ptl_alive),
		TAP_TEST(lockdep_catches_inversion),
		TAP_TEST(vma_lock_survives_dontneed),
		TAP_TEST(signals_and_errors),
	};

	return tap_main(tests, ARRAY_SIZE(tests), 60);
}
