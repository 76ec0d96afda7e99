/*
 * The pkt runner: runs each scenario in a child process (fork), which starts EAL itself (with
 * --no-huge, EAL memory is shared across fork, so a child of an initialised parent would share its
 * packet pool), so that a failing or crashing scenario does not stop the others. Reports in TAP
 * (meson's protocol 'tap').
 *
 *   test_pkt [-v] [-n] [-l] [name-or-substring...]
 *     -v  print the trace of every scenario (segments in and out, calls)
 *     -n  no fork: run in this process, stop at the first failure (for gdb)
 *     -l  list the scenarios
 * Exit status 0 when every scenario run passed.
 */
#include "pkt.h"
#include "pkt_run.h"

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#define MAX_SCENARIOS 512
#define TIMEOUT_S 120 /* per scenario; generous for ASan */

static const struct pkt_scenario *all[MAX_SCENARIOS];
static unsigned n_all;

void pkt_register(const struct pkt_scenario *s)
{
	if (n_all < MAX_SCENARIOS)
		all[n_all++] = s;
}

static int by_place(const void *a, const void *b)
{
	const struct pkt_scenario *x = *(const struct pkt_scenario *const *)a;
	const struct pkt_scenario *y = *(const struct pkt_scenario *const *)b;
	int c = strcmp(x->file, y->file);

	return c != 0 ? c : x->line - y->line;
}

static char runtime_dir[256];

static void eal_start(void)
{
	static char prefix[64], cpu[16] = "0";
	char *argv[] = { "test_pkt",
			 "-l",
			 cpu,
			 "--no-huge",
			 "--no-shconf",
			 "-m",
			 "256",
			 "--no-pci",
			 "--no-telemetry",
			 prefix,
			 "--log-level=3",
			 NULL };
	cpu_set_t cpus;

	snprintf(prefix, sizeof(prefix), "--file-prefix=dpspkt%d", (int)getpid());
	if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && !CPU_ISSET(0, &cpus))
		for (int i = 1; i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &cpus)) {
				snprintf(cpu, sizeof(cpu), "%d", i);
				break;
			}
	if (rte_eal_init(11, argv) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		exit(2);
	}
	pkt_pool_n = 4095;
	pkt_pool = rte_pktmbuf_pool_create("pkt_pool", pkt_pool_n, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					   SOCKET_ID_ANY);
	if (pkt_pool == NULL) {
		fprintf(stderr, "mbuf pool creation failed\n");
		exit(2);
	}
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
}

static void eal_stop(void)
{
	rte_mempool_free(pkt_pool);
	rte_eal_cleanup();
	rmdir(runtime_dir); /* EAL leaves its (empty, with --no-telemetry) runtime directory */
}

/* The runtime directory EAL made for the process pid (eal_get_runtime_dir's rule). */
static void remove_runtime_dir(pid_t pid)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char dir[512];

	if (getuid() == 0)
		snprintf(dir, sizeof(dir), "/var/run/dpdk/dpspkt%d", (int)pid);
	else
		snprintf(dir, sizeof(dir), "%s/dpdk/dpspkt%d", xdg != NULL ? xdg : "/tmp",
			 (int)pid);
	rmdir(dir);
}

/* Run s in a child; its output (failure message, trace) is copied as TAP comments. */
static bool run_forked(const struct pkt_scenario *s, unsigned idx)
{
	int fds[2], status = 0;
	pid_t pid;
	FILE *in;
	char line[1024];

	fflush(stdout);
	if (pipe(fds) != 0) {
		perror("pipe");
		exit(2);
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[1]);
		alarm(TIMEOUT_S);
		eal_start();
		pkt_run_one(s);
		eal_stop();
		fflush(stdout);
		_exit(0);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	while (fgets(line, sizeof(line), in) != NULL)
		printf("# %s%s", line, strchr(line, '\n') ? "" : "\n");
	fclose(in);
	waitpid(pid, &status, 0);
	remove_runtime_dir(pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		printf("ok %u - %s\n", idx, s->name);
		return true;
	}
	if (WIFSIGNALED(status))
		printf("# killed by signal %d%s\n", WTERMSIG(status),
		       WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
	printf("not ok %u - %s\n", idx, s->name);
	return false;
}

static bool selected(const char *name, int argc, char **argv, int first)
{
	if (first >= argc)
		return true;
	for (int i = first; i < argc; i++)
		if (strstr(name, argv[i]) != NULL)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	bool no_fork = false, list = false, all_ok = true;
	unsigned n_sel = 0, idx = 0, n_fail = 0;
	int first = 1;

	for (; first < argc && argv[first][0] == '-'; first++) {
		if (strcmp(argv[first], "-v") == 0)
			pkt_verbose = true;
		else if (strcmp(argv[first], "-n") == 0)
			no_fork = true;
		else if (strcmp(argv[first], "-l") == 0)
			list = true;
		else {
			fprintf(stderr, "usage: %s [-v] [-n] [-l] [name...]\n", argv[0]);
			return 2;
		}
	}
	qsort(all, n_all, sizeof(all[0]), by_place);
	for (unsigned i = 0; i < n_all; i++)
		if (selected(all[i]->name, argc, argv, first)) {
			n_sel++;
			if (list)
				printf("%s\n", all[i]->name);
		}
	if (list)
		return 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (no_fork)
		eal_start();
	printf("1..%u\n", n_sel);
	for (unsigned i = 0; i < n_all; i++) {
		if (!selected(all[i]->name, argc, argv, first))
			continue;
		idx++;
		if (no_fork) {
			pkt_run_one(all[i]);
			printf("ok %u - %s\n", idx, all[i]->name);
			continue;
		}
		if (!run_forked(all[i], idx)) {
			all_ok = false;
			n_fail++;
		}
	}
	printf("# %u of %u scenarios passed\n", idx - n_fail, idx);
	if (no_fork)
		eal_stop();
	return all_ok ? 0 : 1;
}
