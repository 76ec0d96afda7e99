/*
 * test_co_million.c: one million coroutines alive at once, 16 KiB stacks, then woken and joined.
 * Prints the memory each costs (VmRSS, VmSize and page tables from /proc/self/status).
 *
 * Mappings: with MADV_GUARD_INSTALL (Linux 6.13+) guard pages do not split mappings and the
 * stacks merge into a few VMAs. With the mprotect fallback (argument "mprotect", or an older
 * kernel) every stack costs two VMAs, far above vm.max_map_count's default of 65530. The work
 * runs in a child process that first measures the mappings per coroutine; if the limit is too
 * low the parent raises /proc/sys/vm/max_map_count (when root), runs the child again and restores
 * the old value whatever happens to the child; when it cannot, the test is skipped (exit 77).
 *
 * Under ASan each stack also costs shadow memory and every switch is annotated, so the count is
 * 250,000 there (same code path, a quarter of the time).
 *
 * Usage: test_co_million [default|mprotect [count]]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "co_test.h"
#include "coroutine/co_internal.h"

#if TEST_ASAN
#define N_DEFAULT 250000
#else
#define N_DEFAULT 1000000
#endif
#define STACK (16 * 1024)
#define PROBE 2000

static struct dps_waitq gate;
static long n_co = N_DEFAULT;

struct shared {
	long need_maps;
};

static void *parked(void *arg)
{
	CHECK_EQ(dps_waitq_wait(&gate, DPS_DEADLINE_NONE), 0);
	return arg;
}

static long status_kb(const char *key)
{
	char line[256];
	size_t n = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	CHECK(v >= 0);
	return v;
}

static long count_maps(void)
{
	long n = 0;
	int c;
	FILE *f = fopen("/proc/self/maps", "r");

	CHECK(f != NULL);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static long read_long_file(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int write_long_file(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL)
		return -1;
	ok = fprintf(f, "%ld\n", v) > 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Mappings one more coroutine costs, measured on PROBE of them. */
static double probe_maps_per_co(void)
{
	struct dps_co_opts o = { .stack_size = STACK };
	static struct dps_co *co[PROBE];
	long before = count_maps(), after;
	int i;

	for (i = 0; i < PROBE; i++)
		CHECK_EQ(dps_go(parked, NULL, &o, &co[i]), 0);
	after = count_maps();
	CHECK_EQ(dps_yield(), 0);
	CHECK_EQ(dps_waitq_wake_all(&gate), PROBE);
	for (i = 0; i < PROBE; i++)
		CHECK_EQ(dps_co_join(co[i], NULL), 0);
	return (double)(after - before) / PROBE;
}

/* If meson's timeout (SIGTERM) or a ^C hits while the limit is raised, put it back first. */
static char restore_text[32];
static size_t restore_len;

static void on_fatal(int sig)
{
	int fd = open("/proc/sys/vm/max_map_count", O_WRONLY);

	if (fd >= 0) {
		ssize_t w = write(fd, restore_text, restore_len);

		(void)w;
		close(fd);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void child(struct shared *sh)
{
	struct dps_co_opts o = { .stack_size = STACK };
	struct dps_co **co = malloc(n_co * sizeof(*co));
	long rss0, vsz0, pte0, rss1, vsz1, pte1, maps1,
	    max_maps = read_long_file("/proc/sys/vm/max_map_count");
	double per_map = probe_maps_per_co();
	uint64_t t0, t1, t2, t3;
	long i;

	CHECK(co != NULL);
	if (max_maps > 0 && count_maps() + (long)(per_map * n_co * 1.05) + 1000 > max_maps) {
		sh->need_maps = count_maps() + (long)(per_map * n_co * 1.1) + 10000;
		printf("%.2f mappings per coroutine: vm.max_map_count %ld is too low, need %ld\n",
		       per_map, max_maps, sh->need_maps);
		exit(3);
	}
	rss0 = status_kb("VmRSS");
	vsz0 = status_kb("VmSize");
	pte0 = status_kb("VmPTE");
	t0 = dps_now_ns();
	for (i = 0; i < n_co; i++) {
		int r = dps_go(parked, (void *)(uintptr_t)i, &o, &co[i]);

		if (r != 0) {
			fprintf(stderr, "dps_go #%ld failed: %d (%s)\n", i, r, strerror(-r));
			exit(1);
		}
	}
	t1 = dps_now_ns();
	CHECK_EQ(dps_yield(), 0); /* every one runs, touches its stack and parks */
	t2 = dps_now_ns();
	rss1 = status_kb("VmRSS");
	vsz1 = status_kb("VmSize");
	pte1 = status_kb("VmPTE");
	maps1 = count_maps();
	CHECK_EQ(dps_waitq_wake_all(&gate), n_co);
	for (i = 0; i < n_co; i++) {
		void *rv;

		CHECK_EQ(dps_co_join(co[i], &rv), 0);
		CHECK_EQ((uintptr_t)rv, i);
	}
	t3 = dps_now_ns();
	printf("%ld coroutines alive, %d KiB stacks, %.3f mappings each (%ld maps in all)\n", n_co,
	       STACK / 1024, per_map, maps1);
	printf("memory per coroutine: VmRSS %.2f KiB, VmSize %.2f KiB, page tables %.0f bytes\n",
	       (double)(rss1 - rss0) / n_co, (double)(vsz1 - vsz0) / n_co,
	       (double)(pte1 - pte0) * 1024 / n_co);
	printf("time per coroutine: create %.0f ns, first run + park %.0f ns, wake + finish + join "
	       "%.0f ns\n",
	       (double)(t1 - t0) / n_co, (double)(t2 - t1) / n_co, (double)(t3 - t2) / n_co);
	free(co);
	exit(0);
}

static int run_child(struct shared *sh, int force_mprotect)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dps_co_stack_force_mprotect(force_mprotect);
		child(sh);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "child killed by signal %d\n", WTERMSIG(status));
		return 1;
	}
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	static const char knob[] = "/proc/sys/vm/max_map_count";
	int force_mprotect = argc > 1 && strcmp(argv[1], "mprotect") == 0;
	struct shared *sh =
	    mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	long old;
	int rc;

	CHECK(sh != MAP_FAILED);
	if (argc > 2)
		n_co = strtol(argv[2], NULL, 10);
	CHECK(n_co > 0);
	rc = run_child(sh, force_mprotect);
	if (rc != 3)
		return rc;
	old = read_long_file(knob);
	if (geteuid() != 0 || old < 0) {
		printf(
		    "SKIP: cannot raise %s to %ld (run as root, or sysctl vm.max_map_count=%ld)\n",
		    knob, sh->need_maps, sh->need_maps);
		return 77;
	}
	restore_len = (size_t)snprintf(restore_text, sizeof(restore_text), "%ld\n", old);
	signal(SIGTERM, on_fatal);
	signal(SIGINT, on_fatal);
	signal(SIGHUP, on_fatal);
	if (write_long_file(knob, sh->need_maps) != 0) {
		printf("SKIP: cannot write %s (read-only /proc/sys?)\n", knob);
		return 77;
	}
	printf("raised %s from %ld to %ld for the test\n", knob, old, sh->need_maps);
	rc = run_child(sh, force_mprotect);
	CHECK_EQ(write_long_file(knob, old), 0);
	printf("restored %s to %ld\n", knob, old);
	CHECK_EQ(read_long_file(knob), old);
	return rc;
}
