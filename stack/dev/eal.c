/*
 * eal: DPDK EAL start-up from the configuration.
 *
 * Order: check the device (clear message before DPDK's own) -> build argv -> save the thread's CPU
 * affinity, signal mask and dispositions -> block asynchronous signals (DPDK's threads inherit the
 * mask) -> rte_eal_init -> restore them. ../shared/testbed.md notes
 * what DPDK 22.11 accepts here: --no-huge needs --no-shconf (it refuses --in-memory), hugepages go
 * with --in-memory; every process gets its own --file-prefix.
 */
#include "dps_sys.h"
#include "dps_eal.h"

#include "dps_conf.h"
#include "dps_log.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

static int read_int_file(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static int hugetlbfs_mounted(void)
{
	FILE *f = fopen("/proc/mounts", "re");
	char line[512];
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, " hugetlbfs ") != NULL;
	fclose(f);
	return found;
}

void dps_eal_probe_host(struct dps_eal_host *h)
{
	cpu_set_t set;

	h->hugepages_free = hugetlbfs_mounted()
				? read_int_file("/sys/kernel/mm/hugepages/hugepages-2048kB/"
						"free_hugepages")
				: 0;
	h->cpu = 0;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int i = 0; i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &set)) {
				h->cpu = i;
				break;
			}
	h->pid = (int)getpid();
}

/* n hex digits at s? */
static int hex_run(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

int dps_eal_dev_is_pci(const char *dev)
{
	/* [dddd:]bb:dd.f, as EAL's -a takes it (devargs after a comma are allowed). */
	if (hex_run(dev, 4) && dev[4] == ':')
		dev += 5;
	return hex_run(dev, 2) && dev[2] == ':' && hex_run(dev + 3, 2) && dev[5] == '.' &&
	       dev[6] >= '0' && dev[6] <= '7' && (dev[7] == '\0' || dev[7] == ',');
}

/* Append one argument; returns -E2BIG when argv or buf is full. */
static int push(char **argv, int *argc, int max, char **pos, char *end, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int push(char **argv, int *argc, int max, char **pos, char *end, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*argc >= max - 1)
		return -E2BIG;
	va_start(ap, fmt);
	n = vsnprintf(*pos, (size_t)(end - *pos), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= end - *pos)
		return -E2BIG;
	argv[(*argc)++] = *pos;
	argv[*argc] = NULL;
	*pos += n + 1;
	return 0;
}

/* DPDK's own libraries log one level quieter than dpsock, so that notice shows only ours. */
static const int eal_levels[] = { 4, 5, 5, 7, 8 }; /* RTE_LOG_ERR .. RTE_LOG_DEBUG */

int dps_eal_build_args(const struct dps_conf *c, const struct dps_eal_host *h, char **argv, int max,
		       char *buf, size_t buflen, char *err, size_t errlen)
{
	char *pos = buf, *end = buf + buflen;
	int argc = 0, huge, rc = 0;

	if (c->dev[0] == '\0') {
		dps_errf(err, errlen, "no device: set DPSOCK_DEV (e.g. net_af_packet0,iface=dps0)");
		return -EINVAL;
	}
	switch (c->hugepages) {
	case DPS_HUGEPAGES_ON:
		if (h->hugepages_free <= 0) {
			dps_errf(err, errlen,
				 "hugepages=on but no free 2 MiB hugepages on a mounted hugetlbfs "
				 "(echo 512 "
				 "> /proc/sys/vm/nr_hugepages; mount -t hugetlbfs nodev "
				 "/dev/hugepages), or "
				 "set hugepages=auto");
			return -EINVAL;
		}
		huge = 1;
		break;
	case DPS_HUGEPAGES_OFF:
		huge = 0;
		break;
	default:
		huge = h->hugepages_free > 0;
		break;
	}
	rc |= push(argv, &argc, max, &pos, end, "dpsock");
	rc |= push(argv, &argc, max, &pos, end, "-l");
	rc |= push(argv, &argc, max, &pos, end, "%d", h->cpu);
	rc |= push(argv, &argc, max, &pos, end, "--file-prefix=dpsock%d", h->pid);
	/* `dpsock stat` reads the telemetry socket (/var/run/dpdk/dpsock<pid>/dpdk_telemetry.v2). */
	if (!c->telemetry)
		rc |= push(argv, &argc, max, &pos, end, "--no-telemetry");
	if (huge) {
		rc |= push(argv, &argc, max, &pos, end, "--in-memory");
	} else {
		rc |= push(argv, &argc, max, &pos, end, "--no-huge");
		rc |= push(argv, &argc, max, &pos, end, "--no-shconf");
		rc |= push(argv, &argc, max, &pos, end, "-m");
		rc |= push(argv, &argc, max, &pos, end, "%llu", (unsigned long long)c->mem_mb);
	}
	if (dps_eal_dev_is_pci(c->dev)) {
		rc |= push(argv, &argc, max, &pos, end, "-a");
		rc |= push(argv, &argc, max, &pos, end, "%s", c->dev);
	} else {
		rc |= push(argv, &argc, max, &pos, end, "--no-pci");
		rc |= push(argv, &argc, max, &pos, end, "--vdev=%s", c->dev);
	}
	rc |= push(argv, &argc, max, &pos, end, "--log-level=%d", eal_levels[c->log_level]);
	/* Telemetry warns at every start that it has no legacy socket: not news to a user. */
	if (c->telemetry && c->log_level < DPS_LOG_INFO)
		rc |= push(argv, &argc, max, &pos, end, "--log-level=lib.telemetry:error");
	if (rc != 0)
		goto too_big;
	for (const char *s = c->eal_args; *s != '\0';) {
		size_t n;

		while (isspace((unsigned char)*s))
			s++;
		n = strcspn(s, " \t\n");
		if (n == 0)
			break;
		if (s[0] != '-') {
			dps_errf(
			    err, errlen,
			    "eal_args: '%.*s' is not an EAL option (expected words starting with "
			    "'-')",
			    (int)n, s);
			return -EINVAL;
		}
		if (push(argv, &argc, max, &pos, end, "%.*s", (int)n, s) != 0)
			goto too_big;
		s += n;
	}
	return argc;
too_big:
	dps_errf(err, errlen, "eal_args: too many EAL arguments (at most %d)", max - 1);
	return -E2BIG;
}

int dps_eal_devarg(const char *dev, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);

	for (const char *p = strchr(dev, ','); p != NULL; p = strchr(p + 1, ','))
		if (strncmp(p + 1, key, klen) == 0 && p[1 + klen] == '=') {
			snprintf(out, len, "%.*s", (int)strcspn(p + 2 + klen, ","), p + 2 + klen);
			return 1;
		}
	return 0;
}

int dps_eal_check_dev(const char *dev, char *err, size_t errlen)
{
	char iface[IF_NAMESIZE + 8];

	if ((strncmp(dev, "net_af_packet", 13) == 0 || strncmp(dev, "net_af_xdp", 10) == 0) &&
	    dps_eal_devarg(dev, "iface", iface, sizeof(iface)) && if_nametoindex(iface) == 0) {
		dps_errf(
		    err, errlen,
		    "device '%s': no interface '%s' in this network namespace (is the testbed up? "
		    "test/testbed.sh up, then run inside it: ip netns exec dps-stack ...)",
		    dev, iface);
		return -ENODEV;
	}
	return 0;
}

static int eal_result = 1; /* 1: not started yet */

/* Every signal but the synchronous faults. */
static sigset_t async_signals(void)
{
	static const int faults[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS };
	sigset_t s;

	sigfillset(&s);
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		sigdelset(&s, faults[i]);
	return s;
}

static void remove_stale_dirs(void);

int dps_eal_start(const struct dps_conf *c, char *err, size_t errlen)
{
	static char buf[DPS_EAL_ARGS_BUF];
	static char *argv[DPS_EAL_MAX_ARGS];
	struct dps_eal_host host;
	struct sigaction old_act[NSIG];
	cpu_set_t cpus;
	sigset_t mask;
	int argc, have_cpus, rc;

	if (eal_result <= 0) {
		if (eal_result < 0)
			dps_errf(err, errlen, "EAL failed to start earlier in this process");
		return eal_result;
	}
	dps_log_init(c->log_level);
	rc = dps_eal_check_dev(c->dev, err, errlen);
	if (rc < 0)
		return rc;
	remove_stale_dirs();
	dps_eal_probe_host(&host);
	argc = dps_eal_build_args(c, &host, argv, DPS_EAL_MAX_ARGS, buf, sizeof(buf), err, errlen);
	if (argc < 0)
		return argc;
	if (c->hugepages == DPS_HUGEPAGES_AUTO && host.hugepages_free <= 0)
		DPS_LOG(NOTICE, "no free hugepages: running DPDK with --no-huge (slower)");

	have_cpus = pthread_getaffinity_np(pthread_self(), sizeof(cpus), &cpus) == 0;
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	for (int s = 1; s < NSIG; s++)
		dps_sys_sigaction(s, NULL, &old_act[s]);
	/* The threads DPDK starts (interrupts, multi-process, telemetry) inherit this mask: with
	 * every asynchronous signal blocked there, the program's handlers run on its own threads
	 * only (a postmaster's SIGCHLD handler is not written for a second thread). Faults stay
	 * open: a blocked one kills (and DPDK catches SIGBUS while probing hugepages). */
	sigset_t all = async_signals();

	pthread_sigmask(SIG_BLOCK, &all, NULL);

	rc = rte_eal_init(argc, argv);

	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			dps_sys_sigaction(s, &old_act[s], NULL);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	if (have_cpus)
		pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
	if (rc < 0) {
		rc = rte_errno > 0 ? -rte_errno : -EINVAL;
		dps_errf(err, errlen, "DPDK EAL did not start for device '%s': %s%s", c->dev,
			 rte_strerror(-rc),
			 rc == -ENODEV ? " (unknown driver or bad device arguments? e.g. "
					 "net_af_packet0,iface=dps0, net_af_xdp0,iface=dps0, "
					 "net_memif0,role=server, or a PCI address)"
				       : "");
		eal_result = rc;
		return rc;
	}
	eal_result = 0;
	return 0;
}

/* Remove a runtime directory of ours (/var/run/dpdk/dpsock<pid>) of process pid, and the files
 * in it: rte_eal_cleanup leaves them. Only a directory named after that pid is touched. */
static void remove_dir_of(const char *dir, int pid)
{
	char expect[32], path[PATH_MAX];
	const char *base = strrchr(dir, '/');
	DIR *d;
	struct dirent *de;

	snprintf(expect, sizeof(expect), "dpsock%d", pid);
	if (base == NULL || strcmp(base + 1, expect) != 0 || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < (int)sizeof(path))
			unlink(path);
	closedir(d);
	rmdir(dir);
}

static void remove_runtime_dir(const char *dir)
{
	remove_dir_of(dir, (int)getpid());
}

/* Runtime directories of dpsock processes that died without cleaning up (killed by a signal):
 * removed at the next start, so that nothing accumulates. */
static void remove_stale_dirs(void)
{
	DIR *d = opendir("/var/run/dpdk");
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char dir[PATH_MAX], tail;
		int pid;

		if (sscanf(de->d_name, "dpsock%d%c", &pid, &tail) != 1 || pid <= 0 ||
		    (kill(pid, 0) == 0 || errno != ESRCH))
			continue;
		snprintf(dir, sizeof(dir), "/var/run/dpdk/%s", de->d_name);
		remove_dir_of(dir, pid);
	}
	closedir(d);
}

void dps_eal_forget_runtime_dir(void)
{
	char dir[PATH_MAX];

	if (eal_result == 0) {
		snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
		remove_runtime_dir(dir);
	}
}

void dps_eal_stop(void)
{
	char dir[PATH_MAX];

	if (eal_result == 0) {
		snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
		rte_eal_cleanup();
		remove_runtime_dir(dir);
		eal_result = -ESHUTDOWN;
	}
}
