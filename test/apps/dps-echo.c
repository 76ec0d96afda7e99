/*
 * dps-echo: a native dpsock program. Brings the engine up from the DPSOCK_* environment and runs its
 * poll loop (ARP, ICMP echo; the TCP issue makes it a TCP echo server on port 7).
 *
 *   DPSOCK_DEV=net_af_packet0,iface=dps0 DPSOCK_IP=198.18.0.2/24 dps-echo
 *
 * Prints "dps-echo: ready" on stderr once the engine is up. SIGUSR1 prints the counters on stdout
 * ("name value" lines, then a blank line); SIGINT/SIGTERM print them and exit 0. --duration S stops
 * after S seconds (a bounded run for tests).
 */
#include "dpsock.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop, dump;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		dump = 1;
	else
		stop = 1;
}

static void print_counter(const char *name, uint64_t value, void *arg)
{
	(void)arg;
	printf("%s %llu\n", name, (unsigned long long)value);
}

static void print_counters(void)
{
	dps_counters(print_counter, NULL);
	printf("\n");
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: dps-echo [--duration SECONDS]\n"
		"  configured by DPSOCK_* environment variables (DPSOCK_DEV, DPSOCK_IP, ...)\n");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	const struct timespec nap = { 0, 20000 };
	char err[512];
	double duration = 0;
	uint64_t deadline = 0;
	unsigned idle = 0;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc) {
			duration = atof(argv[++i]);
		} else {
			usage();
			return 2;
		}
	}
	rc = dps_init(err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "dps-echo: %s\n", err);
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	if (duration > 0)
		deadline = dps_now_ns() + (uint64_t)(duration * 1e9);
	fprintf(stderr, "dps-echo: ready\n");
	while (!stop) {
		if (dump) {
			dump = 0;
			print_counters();
		}
		/* Spin while there is traffic; after 1000 empty polls nap 20 us between polls so that an
		 * idle echo server does not hold a whole core (the shim's idle policy comes later). */
		if (dps_poll() > 0)
			idle = 0;
		else if (++idle > 1000)
			nanosleep(&nap, NULL);
		if (deadline != 0 && dps_now_ns() >= deadline)
			break;
	}
	print_counters();
	dps_exit();
	return 0;
}
