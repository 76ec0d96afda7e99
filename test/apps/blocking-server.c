/*
 * blocking-server: a plain POSIX TCP echo server, the simplest shape a program can have: one
 * thread, blocking accept(), read() and write(). It uses no dpsock header; the integration tests
 * run it unmodified under the LD_PRELOAD shim (test/integration/test_shim_apps.sh).
 *
 *   blocking-server PORT [MAXCONNS]
 *
 * Listens on 0.0.0.0:PORT, prints "blocking-server: ready" on stderr once listen() returned, then
 * accepts connections one at a time and echoes each until the peer closes it. After MAXCONNS
 * connections (default 1) it prints "connections N bytes N" on stdout and exits 0; any failed
 * call ends it with status 1 and one line on stderr naming the call.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536

static void die(const char *what)
{
	fprintf(stderr, "blocking-server: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long parse_arg(const char *s, long min, long max, const char *name)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "blocking-server: %s '%s': expected %ld-%ld\n", name, s, min, max);
		exit(2);
	}
	return v;
}

/* write_all: write the whole buffer, resuming after short writes and EINTR; 0 or -1 (errno). */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* echo: copy what fd receives back to it until EOF; the byte count, or -1 (errno). */
static long long echo(int fd, char *buf)
{
	long long total = 0;

	for (;;) {
		ssize_t n = read(fd, buf, BUF_SIZE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return total;
		if (write_all(fd, buf, (size_t)n) < 0)
			return -1;
		total += n;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	long long bytes = 0;
	long port, max_conns = 1, i;
	char *buf;
	int one = 1, lfd;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: blocking-server PORT [MAXCONNS]\n");
		return 2;
	}
	port = parse_arg(argv[1], 1, 65535, "PORT");
	if (argc == 3)
		max_conns = parse_arg(argv[2], 1, 1000000, "MAXCONNS");
	signal(SIGPIPE, SIG_IGN); /* a peer that resets shows as EPIPE, reported */
	buf = malloc(BUF_SIZE);
	if (!buf)
		die("malloc");

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("setsockopt(SO_REUSEADDR)");
	addr.sin_port = htons((uint16_t)port);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		die("bind");
	if (listen(lfd, 16) < 0)
		die("listen");
	fprintf(stderr, "blocking-server: ready\n");

	for (i = 0; i < max_conns; i++) {
		long long n;
		int cfd = accept(lfd, NULL, NULL);

		if (cfd < 0 && errno == EINTR) {
			i--;
			continue;
		}
		if (cfd < 0)
			die("accept");
		n = echo(cfd, buf);
		if (n < 0)
			die("echo");
		bytes += n;
		if (close(cfd) < 0)
			die("close");
	}
	close(lfd);
	free(buf);
	printf("connections %ld bytes %lld\n", max_conns, bytes);
	return 0;
}
