/*
 * EAL for unit tests: no hugepages, no PCI, no telemetry, one lcore on a CPU this process may use,
 * a per-process file prefix; test_eal_stop() also removes the runtime directory EAL leaves.
 */
#ifndef DPS_TEST_EAL_H
#define DPS_TEST_EAL_H

#include <sched.h>
#include <stdio.h>
#include <unistd.h>

#include <rte_eal.h>

/* Start EAL as program name with mem_mb MiB. Returns rte_eal_init's result. */
static inline int test_eal_start(const char *name, const char *mem_mb)
{
	static char prefix[64], cpu[16] = "0";
	char *argv[] = { (char *)name,
			 "-l",
			 cpu,
			 "--no-huge",
			 "--no-shconf",
			 "-m",
			 (char *)mem_mb,
			 "--no-pci",
			 "--no-telemetry",
			 prefix,
			 "--log-level=4",
			 NULL };
	cpu_set_t cpus;

	snprintf(prefix, sizeof(prefix), "--file-prefix=dpsunit%d", (int)getpid());
	/* Keep -l valid where this process may not use CPU 0. */
	if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && !CPU_ISSET(0, &cpus))
		for (int i = 1; i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &cpus)) {
				snprintf(cpu, sizeof(cpu), "%d", i);
				break;
			}
	return rte_eal_init(11, argv);
}

static inline void test_eal_stop(void)
{
	char dir[256];

	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	rmdir(dir); /* EAL leaves its (empty, with --no-telemetry) runtime directory */
}

#endif
