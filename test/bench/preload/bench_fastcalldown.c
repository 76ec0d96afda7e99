/*
 * bench_fastcalldown: what a hooked call costs, run under libdpsock.so (LD_PRELOAD) with the
 * engine up (test/bench/preload/fastcalldown.sh sets it up on the testbed):
 *   - dps_fastcalldown() when nothing is due (DPSOCK_POLL_US large): the clock check alone;
 *   - dps_fastcalldown() when every call polls (DPSOCK_POLL_US=0): an empty rx burst + flush;
 *   - a hooked call on a kernel fd (fcntl F_GETFL on a pipe), with and without the shim.
 * Prints ns per call, median of 5 rounds. An ordinary program: it starts the engine through a
 * listening socket added to epoll, as an unmodified server would.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

typedef void (*fcd_fn)(void);

static double round_fcd(fcd_fn fcd, long n)
{
	uint64_t t0 = now_ns();

	for (long i = 0; i < n; i++)
		fcd();
	return (double)(now_ns() - t0) / (double)n;
}

static double round_fcntl(int fd, long n)
{
	uint64_t t0 = now_ns();

	for (long i = 0; i < n; i++)
		if (fcntl(fd, F_GETFL) < 0)
			abort();
	return (double)(now_ns() - t0) / (double)n;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000;
	fcd_fn fcd = (fcd_fn)dlsym(RTLD_DEFAULT, "dps_fastcalldown");
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9999) };
	struct epoll_event ev = { .events = EPOLLIN };
	double r[5];
	int s, ep, p[2];

	if (pipe(p) < 0)
		return 1;
	s = socket(AF_INET, SOCK_STREAM, 0);
	ep = epoll_create1(0);
	if (s < 0 || ep < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 8) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) < 0) {
		perror("bench_fastcalldown: listener");
		return 1;
	}
	for (int i = 0; i < 5; i++)
		r[i] = round_fcntl(p[0], n);
	qsort(r, 5, sizeof(r[0]), cmp);
	printf("fcntl_kernel_fd_ns %.1f\n", r[2]);
	if (fcd == NULL) {
		printf("fastcalldown: not under libdpsock.so\n");
		return 0;
	}
	for (int i = 0; i < 5; i++)
		r[i] = round_fcd(fcd, n);
	qsort(r, 5, sizeof(r[0]), cmp);
	printf("fastcalldown_ns %.1f\n", r[2]);
	close(ep);
	close(s);
	return 0;
}
