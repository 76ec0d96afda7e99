/*
 * forksig-server: an echo server that forks from its signal handlers, as postgres' postmaster
 * (up to 15) does from SIGCHLD (issue 13 item 2; DESIGN.md §6). The main loop never stops making
 * socket calls (select on the listener, mostly without waiting, accept, poll/read/write on the
 * connection), while
 *   - SIGALRM, every millisecond (setitimer), forks a child that exits at once (every 4th);
 *   - SIGCHLD reaps every child that ended (waitpid WNOHANG) and forks a replacement, like a
 *     postmaster restarting a process;
 * until FORKS children were forked. Each handler blocks the other (postgres' BlockSig).
 * The signals land anywhere in the main loop, also inside the shim's calls: on a shim whose lock
 * the handler's fork() waited for again, this hangs (test/integration/test_shim_forksig.sh kills
 * it and fails).
 *
 * Usage: forksig-server PORT CONNS [FORKS [SECONDS [late]]]
 *   serves CONNS connections one after another (echo until EOF), forks FORKS children (default
 *   1000); gives up after SECONDS (default 120) with status 2. The timer starts at once (the
 *   signals land in the engine's start-up, inside the first select), or with "late" once the
 *   first connection was served (they land in the calls of a running engine). Prints "forksig-server: ready"
 *   on stderr, and at the end on stdout
 *   "connections C bytes B forks F reaped R eintr E"; status 0 when every connection was served,
 *   every fork done and every child reaped (waitpid then says ECHILD), and every handler ran on
 *   the program's only thread (not on one of DPDK's).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t forks, reaped, fork_errors, forks_max, foreign;
static pid_t main_tid; /* the program has one thread: its handlers run there */

static void check_thread(void)
{
	if ((pid_t)syscall(SYS_gettid) != main_tid)
		foreign++;
}

static void fork_one(void)
{
	pid_t p;

	if (forks >= forks_max)
		return;
	p = fork();
	if (p == 0)
		_exit(0);
	if (p < 0)
		fork_errors++;
	else
		forks++;
}

/* Forks on every 4th tick only: a fork takes longer than a tick, and a tick pending at the end
 * of a handler lands where the last one did; the ticks between let the main loop move on, so
 * the forking ones land anywhere in it. */
static void on_alarm(int sig)
{
	static unsigned ticks;
	int saved = errno;

	(void)sig;
	check_thread();
	if (ticks++ % 4 == 0)
		fork_one();
	errno = saved;
}

static void on_child(int sig)
{
	int saved = errno, st;

	(void)sig;
	check_thread();
	while (waitpid(-1, &st, WNOHANG) > 0) {
		reaped++;
		fork_one();
	}
	errno = saved;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void install(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGALRM);
	sigaddset(&sa.sa_mask, SIGCHLD);
	if (sigaction(sig, &sa, NULL) != 0) {
		perror("sigaction");
		exit(1);
	}
}

static void set_timer(long usec)
{
	struct itimerval it = { { 0, usec }, { 0, usec } };

	if (setitimer(ITIMER_REAL, &it, NULL) != 0) {
		perror("setitimer");
		exit(1);
	}
}

/* Echo one connection until EOF; poll between reads so that every wait is a shim call. */
static long serve(int c, long *eintr)
{
	char buf[16384];
	long total = 0;

	for (;;) {
		struct pollfd p = { .fd = c, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 100) < 0) {
			if (errno == EINTR) {
				(*eintr)++;
				continue;
			}
			perror("poll");
			return -1;
		}
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(c, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("read");
			return -1;
		}
		if (n == 0)
			return total;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(c, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				perror("write");
				return -1;
			}
			off += w;
		}
		total += n;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	long conns = 0, bytes = 0, eintr = 0, loops = 0, want;
	double end;
	int one = 1, l, st, rc = 0;
	bool late;

	if (argc < 3) {
		fprintf(stderr, "usage: %s PORT CONNS [FORKS [SECONDS]]\n", argv[0]);
		return 1;
	}
	a.sin_port = htons((uint16_t)atoi(argv[1]));
	want = atol(argv[2]);
	main_tid = (pid_t)syscall(SYS_gettid);
	forks_max = argc > 3 ? atoi(argv[3]) : 1000;
	end = now_s() + (argc > 4 ? atof(argv[4]) : 120);

	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 16) != 0) {
		perror("listener");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	install(SIGCHLD, on_child, SA_RESTART | SA_NOCLDSTOP);
	install(SIGALRM, on_alarm, SA_RESTART);
	late = argc > 5 && strcmp(argv[5], "late") == 0;
	if (!late)
		set_timer(1000);
	fprintf(stderr, "forksig-server: ready\n");

	while (conns < want || forks < forks_max || reaped < forks) {
		fd_set r;
		/* mostly 0: the thread is inside the shim nearly all the time; every 8th waits */
		struct timeval tv = { 0, ++loops % 8 == 0 ? 1000 : 0 };
		int n, c;

		if (now_s() > end) {
			fprintf(
			    stderr,
			    "forksig-server: gave up: connections %ld/%ld forks %d/%d reaped %d\n",
			    conns, want, (int)forks, (int)forks_max, (int)reaped);
			return 2;
		}
		FD_ZERO(&r);
		FD_SET(l, &r);
		n = select(l + 1, &r, NULL, NULL, &tv);
		if (n < 0 && errno == EINTR) {
			eintr++;
			continue;
		}
		if (n < 0) {
			perror("select");
			return 1;
		}
		if (n == 0 || !FD_ISSET(l, &r))
			continue;
		c = accept(l, NULL, NULL);
		if (c < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (c < 0) {
			perror("accept");
			return 1;
		}
		long got = serve(c, &eintr);

		close(c);
		if (got < 0)
			return 1;
		bytes += got;
		if (conns++ == 0 && late)
			set_timer(1000);
	}
	set_timer(0);
	/* every child is reaped: none left */
	if (waitpid(-1, &st, WNOHANG) != -1 || errno != ECHILD) {
		fprintf(stderr, "forksig-server: a child is left\n");
		rc = 1;
	}
	if (foreign > 0) {
		fprintf(stderr,
			"forksig-server: %d handlers ran on a thread that is not the program's\n",
			(int)foreign);
		rc = 1;
	}
	if (fork_errors > 0) {
		fprintf(stderr, "forksig-server: %d forks failed\n", (int)fork_errors);
		rc = 1;
	}
	printf("connections %ld bytes %ld forks %d reaped %d eintr %ld\n", conns, bytes, (int)forks,
	       (int)reaped, eintr);
	close(l);
	return rc;
}
