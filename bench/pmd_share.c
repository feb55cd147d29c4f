// SPDX-License-Identifier: MIT
/*
 * make bench: what sharing, unsharing and freeing cost under each policy,
 * single-threaded, on the real build.  (Walker throughput on several
 * threads against a background unsharer is the call-site benchmark's.)
 *
 *   share    B maps the file and reads 512 pages A faulted: one fault
 *            shares A's table; reported per page read
 *   unshare  MADV_DONTNEED of one page in A (unshares the PUD) then a
 *            read (re-shares): per cycle
 *   free     the last user's munmap of a 1 GiB range, which frees its
 *            PMD table at once or through call_rcu: per munmap
 *
 * Prints a table, with each time also as a ratio to the unprotected
 * policy measured in the same run, and writes build/bench-pmd-share.json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hugewalk/hugewalk.h>

#include "bench.h"

#define G	(1ULL << 30)
#define HP	(2ULL << 20)
#define ROUNDS	40

struct result {
	const char *policy;
	double share_ns, unshare_ns, free_ns;
};

static void touch(struct hw_mm *mm, uint64_t addr, int n, bool write)
{
	uint64_t t = 1;
	int i;

	for (i = 0; i < n; i++)
		if (hw_access(mm, addr + i * HP, write, &t))
			die("access");
}

static struct result measure(const char *policy)
{
	struct hw_system_opts o = { .nr_hugepages = 1024, .policy = policy };
	struct hw_system *sys = hw_system_create(&o);
	struct result r = { .policy = policy };
	struct hw_file *f;
	struct hw_mm *a, *b;
	double t0, share = 0, unshare = 0, freeing = 0;
	int i;

	if (!sys)
		die("hw_system_create");
	f = hw_memfd_create(sys, "f");
	a = hw_mm_create(sys, "A");
	if (!f || !a || hw_ftruncate(f, G) ||
	    hw_mmap(a, G, G, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0))
		die("setup");
	touch(a, G, 512, true);

	for (i = 0; i < ROUNDS; i++) {
		b = hw_mm_create(sys, "B");
		if (!b || hw_mmap(b, 2 * G, G, PROT_READ | PROT_WRITE,
				  MAP_SHARED, f, 0))
			die("mmap B");
		t0 = now();
		touch(b, 2 * G, 512, false);
		share += now() - t0;

		t0 = now();
		hw_madvise(a, G, HP, MADV_DONTNEED);
		touch(a, G, 1, false);
		unshare += now() - t0;

		/* A leaves; B is the last user and frees the table. */
		hw_munmap(a, G, G);
		t0 = now();
		hw_munmap(b, 2 * G, G);
		freeing += now() - t0;
		hw_exit(b);
		if (hw_mmap(a, G, G, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0))
			die("remap A");
		touch(a, G, 512, false);
	}
	r.share_ns = share / (ROUNDS * 512.0) * 1e9;
	r.unshare_ns = unshare / ROUNDS * 1e9;
	r.free_ns = freeing / ROUNDS * 1e9;
	hw_system_destroy(sys);
	return r;
}

int main(void)
{
	const char *const *names = hw_policy_names();
	struct result res[16];
	FILE *json;
	int n, i;

	for (n = 0; names[n] && n < 16; n++)
		res[n] = measure(names[n]);

	printf("PMD sharing costs, single thread (%d rounds; ns, and x unprotected)\n\n",
	       ROUNDS);
	printf("%-14s %18s %18s %18s\n", "policy", "share/page", "unshare+reshare",
	       "last munmap");
	for (i = 0; i < n; i++)
		printf("%-14s %10.0f (%4.2fx) %10.0f (%4.2fx) %10.0f (%4.2fx)\n",
		       res[i].policy,
		       res[i].share_ns, res[i].share_ns / res[0].share_ns,
		       res[i].unshare_ns, res[i].unshare_ns / res[0].unshare_ns,
		       res[i].free_ns, res[i].free_ns / res[0].free_ns);

	json = fopen("build/bench-pmd-share.json", "w");
	if (!json)
		die("writing build/bench-pmd-share.json");
	fprintf(json, "{\n  \"benchmark\": \"pmd_share\",\n  \"rounds\": %d,\n  \"results\": [\n",
		ROUNDS);
	for (i = 0; i < n; i++)
		fprintf(json, "    {\"policy\": \"%s\", \"share_ns_per_page\": %.1f, "
			"\"unshare_reshare_ns\": %.1f, \"last_munmap_ns\": %.1f}%s\n",
			res[i].policy, res[i].share_ns, res[i].unshare_ns,
			res[i].free_ns, i == n - 1 ? "" : ",");
	fprintf(json, "  ]\n}\n");
	fclose(json);
	printf("\nwrote build/bench-pmd-share.json\n");
	return 0;
}
