/*
 * dpsock: the launcher (issue 6).
 *
 *   dpsock run [--dev D] [--ip A/L] [--config F] [--priority RULES] [--strict] -- PROGRAM [ARGS...]
 *       run PROGRAM unmodified on dpsock: sets DPSOCK_DEV / DPSOCK_IP / DPSOCK_CONFIG and
 *       LD_PRELOAD=libdpsock.so (found next to this program: the build tree's preload/, or the
 *       installed library directory), after checking the configuration as the engine would
 *       (dps_conf_validate); then execs PROGRAM. A program LD_PRELOAD cannot reach (statically
 *       linked, Go, 32-bit; a script whose interpreter is one: progcheck.h) gets one line on
 *       stderr saying its traffic will go through the kernel, and still runs; --strict refuses
 *       it instead (exit 2), also when its ELF headers cannot be read.
 *   dpsock config
 *       the effective configuration (defaults < DPSOCK_CONFIG file < DPSOCK_* variables) and
 *       where each value came from, after checking it as the engine's start would.
 *   dpsock stat PID|--all [--watch]
 *       a running process's engine counters, read from its DPDK telemetry socket
 *       (/var/run/dpdk/dpsock<PID>/dpdk_telemetry.v2, commands /dpsock/info and
 *       /dpsock/counters); --watch prints rates every second.
 *
 * Exit status: the program's (run, as exec replaces us), 0, or 2 for a usage or configuration
 * error (one line on stderr naming what is wrong; the same line the engine's start would print)
 * and for a program --strict refuses; 127 when run cannot execute PROGRAM.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conf_validate.h"
#include "dps_conf.h"
#include "progcheck.h"

#ifndef DPS_INSTALL_LIBDIR
#define DPS_INSTALL_LIBDIR "/usr/local/lib"
#endif

extern char **environ;

static void usage(void)
{
	fprintf(stderr, "usage: dpsock run [--dev D] [--ip A/L] [--config F] [--priority RULES] "
			"[--strict] -- PROGRAM [ARGS...]\n"
			"       dpsock config\n"
			"       dpsock stat PID|--all [--watch]\n");
	exit(2);
}

/* libdpsock.so next to this executable: <dir>/../preload (build tree) or the install libdir. */
static int find_lib(char *out, size_t len)
{
	static const char *const rel[] = { "/../preload/libdpsock.so", "/../lib/libdpsock.so" };
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		return -errno;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash != NULL)
		*slash = '\0';
	for (int i = 0; i < 2; i++) {
		if (strlen(self) + strlen(rel[i]) >= len)
			continue;
		memcpy(out, self, strlen(self) + 1);
		strcat(out, rel[i]);
		if (access(out, R_OK) == 0) {
			char real[PATH_MAX];

			if (realpath(out, real) != NULL)
				snprintf(out, len, "%s", real);
			return 0;
		}
	}
	snprintf(out, len, "%s/libdpsock.so", DPS_INSTALL_LIBDIR);
	return access(out, R_OK) == 0 ? 0 : -ENOENT;
}

/*
 * Say so when dpsock cannot see prog's sockets (progcheck.h). Returns 0 to go on, or 2 when
 * strict refuses it.
 */
static int check_prog(const char *prog, bool strict)
{
	char path[PATH_MAX], why[768], name[PATH_MAX + 8];
	int rc;

	if (dps_prog_resolve(prog, path, sizeof(path)) < 0)
		return 0; /* execvp will say that it is not there */
	rc = dps_prog_check(path, why, sizeof(why));
	if (rc == 0)
		return 0;
	if (strcmp(prog, path) == 0)
		snprintf(name, sizeof(name), "%s", prog);
	else
		snprintf(name, sizeof(name), "%s (%s)", prog, path);
	if (rc < 0)
		fprintf(stderr, "dpsock run: %s: %s; %s\n", name, why,
			strict ? "not started (--strict)" : "not checked");
	else
		fprintf(stderr, "dpsock run: %s %s%s\n", name, why,
			strict ? "; not started (--strict)" : "");
	return strict ? 2 : 0;
}

static int cmd_run(int argc, char **argv)
{
	char lib[PATH_MAX], err[DPS_CONF_ERRLEN], *pre;
	struct dps_conf c;
	bool strict = false;
	int i;

	for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *var = NULL;

		if (strcmp(argv[i], "--strict") == 0) {
			strict = true;
			continue;
		}
		if (strcmp(argv[i], "--dev") == 0)
			var = "DPSOCK_DEV";
		else if (strcmp(argv[i], "--ip") == 0)
			var = "DPSOCK_IP";
		else if (strcmp(argv[i], "--config") == 0)
			var = "DPSOCK_CONFIG";
		else if (strcmp(argv[i], "--priority") == 0)
			var = "DPSOCK_PRIORITY";
		else
			usage();
		if (++i >= argc)
			usage();
		setenv(var, argv[i], 1);
	}
	if (i + 1 >= argc)
		usage();
	if (dps_conf_load(&c, environ, err, sizeof(err)) < 0) {
		fprintf(stderr, "dpsock run: %s\n", err);
		return 2;
	}
	if (dps_conf_validate(&c, err, sizeof(err)) < 0) {
		fprintf(stderr, "dpsock run: %s\n", err);
		dps_conf_free(&c);
		return 2;
	}
	if (c.dev[0] == '\0' || c.ip.n == 0) {
		fprintf(stderr, "dpsock run: no %s: give %s or set %s (or a config file)\n",
			c.dev[0] == '\0' ? "device" : "address",
			c.dev[0] == '\0' ? "--dev" : "--ip",
			c.dev[0] == '\0' ? "DPSOCK_DEV" : "DPSOCK_IP");
		dps_conf_free(&c);
		return 2;
	}
	dps_conf_free(&c);
	if (find_lib(lib, sizeof(lib)) < 0) {
		fprintf(stderr, "dpsock run: libdpsock.so not found next to dpsock nor in %s\n",
			DPS_INSTALL_LIBDIR);
		return 2;
	}
	pre = getenv("LD_PRELOAD");
	if (pre != NULL && pre[0] != '\0') {
		size_t l = strlen(lib) + strlen(pre) + 2;
		char *v = malloc(l);

		if (v == NULL)
			return 2;
		/* A sanitizer runtime must stay first in the list; anything else comes after us. */
		if (strstr(pre, "libasan") != NULL || strstr(pre, "libtsan") != NULL)
			snprintf(v, l, "%s:%s", pre, lib);
		else
			snprintf(v, l, "%s:%s", lib, pre);
		setenv("LD_PRELOAD", v, 1);
	} else {
		setenv("LD_PRELOAD", lib, 1);
	}
	if (check_prog(argv[i + 1], strict) != 0)
		return 2;
	execvp(argv[i + 1], argv + i + 1);
	fprintf(stderr, "dpsock run: %s: %s\n", argv[i + 1], strerror(errno));
	return 127;
}

static int cmd_config(void)
{
	const struct dps_opt_desc *o = dps_conf_options();
	char err[DPS_CONF_ERRLEN], buf[512];
	struct dps_conf c;

	if (dps_conf_load(&c, environ, err, sizeof(err)) < 0) {
		fprintf(stderr, "dpsock config: %s\n", err);
		return 2;
	}
	/* What the engine would refuse at start, refused here with the engine's own line. */
	if (dps_conf_validate(&c, err, sizeof(err)) < 0) {
		fprintf(stderr, "dpsock config: %s\n", err);
		dps_conf_free(&c);
		return 2;
	}
	for (int i = 0; i < DPS_OPT_COUNT; i++) {
		const char *where = c.src_where[i] != NULL ? c.src_where[i] : "";

		printf("%-16s = %-32s # %s%s%s\n", o[i].name,
		       dps_conf_value_str(&c, (enum dps_opt_id)i, buf, sizeof(buf)),
		       dps_conf_src_name(c.src[i]), where[0] ? " " : "", where);
	}
	dps_conf_free(&c);
	return 0;
}

/* ---- stat: a DPDK telemetry client ---- */

/* Send cmd on the process's telemetry socket; the JSON reply into buf. */
static int telemetry_query(int pid, const char *cmd, char *buf, size_t len)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	ssize_t n;

	if (s < 0)
		return -errno;
	snprintf(a.sun_path, sizeof(a.sun_path), "/var/run/dpdk/dpsock%d/dpdk_telemetry.v2", pid);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = -errno;

		close(s);
		return e;
	}
	n = read(s, buf, len - 1); /* the greeting: version, pid, max_output_len */
	if (n <= 0 || write(s, cmd, strlen(cmd)) < 0 || (n = read(s, buf, len - 1)) <= 0) {
		close(s);
		return -EIO;
	}
	buf[n] = '\0';
	close(s);
	return 0;
}

#define MAX_CTRS 256
struct ctrs {
	int n;
	char name[MAX_CTRS][48];
	char value[MAX_CTRS][64];
};

/* Parse the flat {"cmd": {"k": v, ...}} reply (numbers or strings). */
static void parse_dict(const char *json, struct ctrs *c)
{
	const char *p = strchr(json, '{');

	c->n = 0;
	if (p == NULL || (p = strchr(p + 1, '{')) == NULL)
		return;
	p++;
	while (c->n < MAX_CTRS) {
		const char *k = strchr(p, '"'), *ke, *v, *ve;

		if (k == NULL)
			break;
		ke = strchr(k + 1, '"');
		if (ke == NULL || (v = strchr(ke, ':')) == NULL)
			break;
		v++;
		if (*v == '"') {
			v++;
			ve = strchr(v, '"');
		} else {
			ve = v + strcspn(v, ",}");
		}
		if (ve == NULL)
			break;
		snprintf(c->name[c->n], sizeof(c->name[0]), "%.*s", (int)(ke - k - 1), k + 1);
		snprintf(c->value[c->n], sizeof(c->value[0]), "%.*s", (int)(ve - v), v);
		c->n++;
		p = ve + 1;
	}
}

static int stat_once(int pid, struct ctrs *prev, double dt)
{
	char buf[65536];
	struct ctrs cur, info;
	int rc = telemetry_query(pid, "/dpsock/info", buf, sizeof(buf));

	if (rc < 0) {
		fprintf(stderr,
			"dpsock stat: process %d: %s (is it running on dpsock, telemetry=1?)\n",
			pid, strerror(-rc));
		return 2;
	}
	parse_dict(buf, &info);
	printf("== pid %d", pid);
	for (int i = 0; i < info.n; i++)
		if (strcmp(info.name[i], "pid") != 0)
			printf("  %s %s", info.name[i], info.value[i]);
	printf("\n");
	if (telemetry_query(pid, "/dpsock/counters", buf, sizeof(buf)) < 0)
		return 2;
	parse_dict(buf, &cur);
	for (int i = 0; i < cur.n; i++) {
		unsigned long long v = strtoull(cur.value[i], NULL, 10);

		if (prev != NULL && dt > 0 && i < prev->n &&
		    strcmp(prev->name[i], cur.name[i]) == 0) {
			unsigned long long o = strtoull(prev->value[i], NULL, 10);

			printf("%-28s %16llu %14.0f/s\n", cur.name[i], v, (double)(v - o) / dt);
		} else {
			printf("%-28s %16llu\n", cur.name[i], v);
		}
	}
	if (prev != NULL)
		*prev = cur;
	return 0;
}

static int all_pids(int *pids, int max)
{
	DIR *d = opendir("/var/run/dpdk");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		char path[PATH_MAX];
		int pid;

		if (sscanf(de->d_name, "dpsock%d", &pid) != 1)
			continue;
		snprintf(path, sizeof(path), "/var/run/dpdk/%s/dpdk_telemetry.v2", de->d_name);
		if (access(path, F_OK) == 0 && kill(pid, 0) == 0)
			pids[n++] = pid;
	}
	closedir(d);
	return n;
}

static int cmd_stat(int argc, char **argv)
{
	int pids[64], n = 0, rc = 0;
	bool watch = false;
	static struct ctrs prev[64];

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--watch") == 0)
			watch = true;
		else if (strcmp(argv[i], "--all") == 0)
			n = all_pids(pids, 64);
		else if (n < 64 && atoi(argv[i]) > 0)
			pids[n++] = atoi(argv[i]);
		else
			usage();
	}
	if (n == 0) {
		fprintf(stderr, "dpsock stat: no process (give a PID, or --all found none)\n");
		return 2;
	}
	for (int round = 0; round < (watch ? 1000000 : 1); round++) {
		for (int i = 0; i < n; i++)
			rc |= stat_once(pids[i], watch ? &prev[i] : NULL, round > 0 ? 1.0 : 0);
		if (rc != 0 || !watch)
			break;
		fflush(stdout);
		sleep(1);
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc, argv);
	if (strcmp(argv[1], "config") == 0)
		return cmd_config();
	if (strcmp(argv[1], "stat") == 0)
		return cmd_stat(argc, argv);
	usage();
}
