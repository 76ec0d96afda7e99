/*
 * thread-server: a plain POSIX TCP echo server with one pthread per connection, blocking calls in
 * each. It uses no dpsock header; the integration tests run it unmodified under the LD_PRELOAD
 * shim (test/integration/test_shim_apps.sh), where several threads block in read()/write() on
 * different connections at the same time.
 *
 *   thread-server PORT [MAXCONNS]
 *
 * Listens on 0.0.0.0:PORT, prints "thread-server: ready" on stderr once listen() returned, accepts
 * MAXCONNS connections (default 1), each served by its own thread until the peer closes it, joins
 * every thread and prints "connections N bytes N max_concurrent N" on stdout (max_concurrent: the
 * most connections open at once). Exits 0 only if every connection was echoed without an error;
 * a failed call is reported on stderr with the call's name.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536

struct worker {
	pthread_t thread;
	int fd;
	int err; /* errno of the call that failed, or 0 */
	const char *what;
	long long bytes;
};

static atomic_int active, max_active;

static long parse_arg(const char *s, long min, long max, const char *name)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "thread-server: %s '%s': expected %ld-%ld\n", name, s, min, max);
		exit(2);
	}
	return v;
}

/* note_open: one more connection open; remember the highest count seen. */
static void note_open(void)
{
	int now = atomic_fetch_add(&active, 1) + 1;
	int seen = atomic_load(&max_active);

	while (now > seen && !atomic_compare_exchange_weak(&max_active, &seen, now))
		;
}

/* serve: echo one connection until EOF (the thread's body). Failures land in w->err/w->what. */
static void *serve(void *arg)
{
	struct worker *w = arg;
	char *buf = malloc(BUF_SIZE);

	if (!buf) {
		w->err = ENOMEM;
		w->what = "malloc";
		goto out;
	}
	for (;;) {
		ssize_t n = read(w->fd, buf, BUF_SIZE), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			w->err = errno;
			w->what = "read";
			break;
		}
		if (n == 0)
			break;
		while (off < n) {
			ssize_t m = write(w->fd, buf + off, (size_t)(n - off));

			if (m < 0 && errno == EINTR)
				continue;
			if (m < 0) {
				w->err = errno;
				w->what = "write";
				goto out;
			}
			off += m;
		}
		w->bytes += n;
	}
out:
	free(buf);
	atomic_fetch_sub(&active, 1);
	if (close(w->fd) < 0 && !w->err) {
		w->err = errno;
		w->what = "close";
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	long long bytes = 0;
	long port, max_conns = 1, i;
	struct worker *workers;
	int one = 1, lfd, failed = 0;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: thread-server PORT [MAXCONNS]\n");
		return 2;
	}
	port = parse_arg(argv[1], 1, 65535, "PORT");
	if (argc == 3)
		max_conns = parse_arg(argv[2], 1, 10000, "MAXCONNS");
	signal(SIGPIPE, SIG_IGN); /* a peer that resets shows as EPIPE, reported */
	workers = calloc((size_t)max_conns, sizeof(*workers));
	if (!workers) {
		perror("thread-server: calloc");
		return 1;
	}

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
		perror("thread-server: socket");
		return 1;
	}
	addr.sin_port = htons((uint16_t)port);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 128) < 0) {
		perror("thread-server: bind/listen");
		return 1;
	}
	fprintf(stderr, "thread-server: ready\n");

	for (i = 0; i < max_conns; i++) {
		struct worker *w = &workers[i];
		int rc;

		w->fd = accept(lfd, NULL, NULL);
		if (w->fd < 0 && errno == EINTR) {
			i--;
			continue;
		}
		if (w->fd < 0) {
			perror("thread-server: accept");
			return 1;
		}
		note_open();
		rc = pthread_create(&w->thread, NULL, serve, w);
		if (rc) {
			fprintf(stderr, "thread-server: pthread_create: %s\n", strerror(rc));
			return 1;
		}
	}
	close(lfd);

	for (i = 0; i < max_conns; i++) {
		struct worker *w = &workers[i];

		pthread_join(w->thread, NULL);
		if (w->err) {
			fprintf(stderr, "thread-server: connection %ld: %s: %s\n", i, w->what,
				strerror(w->err));
			failed++;
		}
		bytes += w->bytes;
	}
	free(workers);
	printf("connections %ld bytes %lld max_concurrent %d\n", max_conns, bytes,
	       atomic_load(&max_active));
	return failed ? 1 : 0;
}
