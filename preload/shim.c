/*
 * shim: configuration, the engine's start, fastcalldown, and blocking (DESIGN.md §2, §4).
 *
 * Call order of a hooked call on one of our fds: shim_lock() -> shim_hold(fd) -> shim_poll_locked()
 * (fastcalldown: a TSC read; an engine poll when poll_us passed) -> the native call -> when it
 * would block and the fd is blocking: shim_block() (unlock, dps_park, lock) and try again ->
 * shim_obj_put() -> shim_unlock() -> shim_ret().
 */
#include "shim.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "dps_eal.h"

extern char **environ;

struct shim shim = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.placeholder = -1,
};

__thread bool shim_inside;
__thread bool shim_app_thread;

/* Per thread: which engine generation this thread's scheduler watches the device fds of. */
static __thread unsigned thread_gen;

/* The DPSOCK_* variables the program started with, copied before main(): the configuration
 * stays the same in children whose environment the program replaced (nginx's workers keep only
 * TZ). exec'ed programs get the real environment, as the program passes it. */
static char **start_env;

__attribute__((constructor(103))) static void save_env(void)
{
	size_t n = 0, k = 0;

	for (char **e = environ; e != NULL && *e != NULL; e++)
		n += strncmp(*e, "DPSOCK_", 7) == 0;
	start_env = calloc(n + 1, sizeof(*start_env));
	if (start_env == NULL)
		return;
	for (char **e = environ; e != NULL && *e != NULL && k < n; e++)
		if (strncmp(*e, "DPSOCK_", 7) == 0)
			start_env[k++] = strdup(*e);
}

static char **conf_env(void)
{
	return start_env != NULL ? start_env : environ;
}

static void warn_once(const char *what, const char *why)
{
	static atomic_flag warned = ATOMIC_FLAG_INIT;

	if (!atomic_flag_test_and_set(&warned))
		fprintf(stderr, "dpsock: %s: %s; using kernel sockets\n", what, why);
}

static int conf_load(void);

int shim_conf(void)
{
	static pthread_mutex_t conf_lock = PTHREAD_MUTEX_INITIALIZER;
	int rc;

	if (__atomic_load_n(&shim.conf_ok, __ATOMIC_ACQUIRE))
		return 0;
	if (atomic_load(&shim.state) == ENGINE_FAILED)
		return -EINVAL;
	pthread_mutex_lock(&conf_lock); /* two threads' first sockets load it once */
	rc = shim.conf_ok ? 0 : conf_load();
	pthread_mutex_unlock(&conf_lock);
	return rc;
}

static int conf_load(void)
{
	char err[DPS_CONF_ERRLEN];
	int rc;

	if (atomic_load(&shim.state) == ENGINE_FAILED)
		return -EINVAL;
	rc = dps_conf_load(&shim.conf, conf_env(), err, sizeof(err));
	if (rc < 0) {
		/* fallback itself may be what is wrong: only an explicit "error" exits. */
		const char *fb = NULL;

		for (char **e = conf_env(); *e != NULL; e++)
			if (strncmp(*e, "DPSOCK_FALLBACK=", 16) == 0)
				fb = *e + 16;

		if (fb != NULL && strcmp(fb, "error") == 0) {
			fprintf(stderr, "dpsock: %s\n", err);
			exit(1);
		}
		warn_once("configuration", err);
		atomic_store(&shim.state, ENGINE_FAILED);
		return -EINVAL;
	}
	__atomic_store_n(&shim.conf_ok, true, __ATOMIC_RELEASE);
	return 0;
}

/*
 * fallback=kernel does not pretend (issue 13 item 12): when no kernel interface of this network
 * namespace has an address in the stack's subnets, kernel sockets cannot stand in for dpsock's,
 * and the warning says that this process will not be reachable there. Appends to msg.
 */
static void kernel_reach_note(char *msg, size_t n)
{
	struct ifaddrs *ifs, *i;
	char nets[128] = "";
	size_t l = 0;
	bool reach = false;

	if (shim.conf.ip.n == 0 || getifaddrs(&ifs) < 0)
		return;
	for (i = ifs; i != NULL && !reach; i = i->ifa_next) {
		uint32_t a;

		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
			continue;
		a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
		for (unsigned k = 0; k < shim.conf.ip.n; k++) {
			const struct dps_net *net = &shim.conf.ip.net[k];
			uint32_t m = net->len == 0 ? 0 : htonl(~0u << (32 - net->len));

			if (((a ^ net->addr) & m) == 0)
				reach = true;
		}
	}
	freeifaddrs(ifs);
	if (reach)
		return;
	for (unsigned k = 0; k < shim.conf.ip.n && l < sizeof(nets) - 24; k++) {
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &shim.conf.ip.net[k].addr, ip, sizeof(ip));
		l += (size_t)snprintf(nets + l, sizeof(nets) - l, "%s%s/%u", k ? ", " : "", ip,
				      shim.conf.ip.net[k].len);
	}
	l = strlen(msg);
	snprintf(
	    msg + l, n - l,
	    "; the kernel has no address in %s here, so this process's TCP sockets there will "
	    "not be reachable (only loopback and kernel_nets work; DPSOCK_FALLBACK=error makes "
	    "this an exit)",
	    nets);
}

static int idle_hook(void *arg, uint64_t now, uint64_t *deadline);
static pid_t engine_pid;

/*
 * At exit: the connections the program closed finish their close (FIN out, its ACK back, up to
 * 200 ms), as the kernel would finish them after the process is gone; a peer that kept writing to
 * a vanished connection would otherwise meet the next engine's RST (nginx's reload). DPDK stays
 * up (other threads may still run), but its runtime directory goes.
 */
static void shim_atexit(void)
{
	if (atomic_load(&shim.state) != ENGINE_RUNNING || getpid() != engine_pid)
		return;
	if (shim_trylock()) { /* never wait on a thread that holds it */
		(void)dps_drain(200000000);
		shim_unlock();
	}
	dps_eal_forget_runtime_dir();
}

int shim_engine_start(void)
{
	char err[DPS_CONF_ERRLEN] = "";
	int rc;

	switch (atomic_load(&shim.state)) {
	case ENGINE_RUNNING:
		return 0;
	case ENGINE_FAILED:
		return -ENODEV;
	case ENGINE_FORKED:
		return -EBADF;
	case ENGINE_OFF:
		break;
	}
	if (shim_conf() < 0)
		return -ENODEV;
	rc = dps_init_env(conf_env(), err, sizeof(err));
	if (rc < 0 && geteuid() != 0) {
		size_t l = strlen(err);

		snprintf(err + l, sizeof(err) - l,
			 "%s(this process runs as uid %d: DPDK devices need root, e.g. nginx's "
			 "\"user root;\")",
			 l > 0 ? " " : "", (int)geteuid());
	}
	if (rc < 0) {
		if (shim.conf.fallback == DPS_FALLBACK_ERROR) {
			fprintf(stderr, "dpsock: %s\n", err[0] ? err : strerror(-rc));
			exit(1);
		}
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "%s", strerror(-rc));
		kernel_reach_note(err, sizeof(err));
		warn_once("cannot start the engine", err);
		atomic_store(&shim.state, ENGINE_FAILED);
		return -ENODEV;
	}
	shim.tsc_hz = rte_get_tsc_hz();
	shim.poll_tsc = shim.tsc_hz / 1000000 * shim.conf.poll_us;
	shim.n_wait_fds = dps_wait_fds(shim.wait_fds, 8);
	if (shim.n_wait_fds < 0)
		shim.n_wait_fds = 0;
	atomic_fetch_add(&shim.gen, 1);
	engine_pid = getpid();
	atexit(shim_atexit);
	atomic_store(&shim.state, ENGINE_RUNNING);
	return 0;
}

void shim_poll_locked(bool force)
{
	uint64_t t;

	if (atomic_load_explicit(&shim.state, memory_order_relaxed) != ENGINE_RUNNING)
		return;
	t = rte_rdtsc();
	if (!force &&
	    t - atomic_load_explicit(&shim.last_poll_tsc, memory_order_relaxed) < shim.poll_tsc)
		return;
	atomic_store_explicit(&shim.last_poll_tsc, t, memory_order_relaxed);
	(void)dps_poll();
}

/* The public fastcalldown, for programs with long computations between calls. */
DPS_EXPORT void dps_fastcalldown(void)
{
	if (atomic_load_explicit(&shim.state, memory_order_relaxed) != ENGINE_RUNNING)
		return;
	if (rte_rdtsc() - atomic_load_explicit(&shim.last_poll_tsc, memory_order_relaxed) <
	    shim.poll_tsc)
		return;
	shim_lock();
	shim_poll_locked(false);
	shim_unlock();
}

/* ---- waiting ---- */

void shim_wlist_init(struct shim_wlist *l)
{
	l->head.next = l->head.prev = &l->head;
}

static void wlist_add(struct shim_wlist *l, struct shim_waiter *w)
{
	if (l->head.next == NULL)
		shim_wlist_init(l);
	w->next = &l->head;
	w->prev = l->head.prev;
	l->head.prev->next = w;
	l->head.prev = w;
}

static void wlist_del(struct shim_waiter *w)
{
	w->prev->next = w->next;
	w->next->prev = w->prev;
	w->next = w->prev = w;
}

void shim_wake(struct shim_wlist *l, uint32_t ev)
{
	if (l->head.next == NULL)
		return;
	for (struct shim_waiter *w = l->head.next; w != &l->head; w = w->next)
		if (ev & (w->mask | EPOLLERR | EPOLLHUP)) {
			/* DESIGN.md §8: a waiter woken for a high socket runs ahead of low
			 * ones in its thread's run queue (shim_block puts it back to low;
			 * another thread's coroutine keeps its level: -EINVAL). */
			if (ev & DPS_EV_HIGH)
				(void)dps_co_set_priority(w->co, DPS_PRIO_HIGH);
			(void)dps_co_unpark(w->co);
		}
}

/* The scheduler's idle hook of a thread blocked in the shim: poll the engine, and tell the
 * scheduler to wake for the engine's next timer. */
static int idle_hook(void *arg, uint64_t now, uint64_t *deadline)
{
	uint64_t at;
	int n;

	(void)arg;
	if (atomic_load_explicit(&shim.state, memory_order_relaxed) != ENGINE_RUNNING)
		return 0;
	shim_lock();
	atomic_store_explicit(&shim.last_poll_tsc, rte_rdtsc(), memory_order_relaxed);
	n = dps_poll();
	at = dps_next_deadline();
	shim_unlock();
	/* A device without a pollable fd cannot wake the sleeper: nap at most 1 ms. */
	if (shim.n_wait_fds == 0 && at > now + 1000000)
		at = now + 1000000;
	if (at < *deadline)
		*deadline = at;
	return n > 0;
}

/* First block of this thread (or of a new engine): install the idle hook and watch the device. */
static void thread_setup(void)
{
	unsigned gen = atomic_load(&shim.gen);

	if (thread_gen == gen)
		return;
	thread_gen = gen;
	(void)dps_sched_set_idle_hook(idle_hook, NULL);
	(void)dps_sched_set_idle_spin(shim.conf_ok ? shim.conf.idle_spin_us * 1000 : 0);
	for (int i = 0; i < shim.n_wait_fds; i++)
		(void)dps_sched_add_fd(shim.wait_fds[i], EPOLLIN, NULL, NULL);
}

static void kfd_ready(void *arg, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	(void)dps_co_unpark(arg);
}

uint64_t shim_deadline(uint64_t t_ns)
{
	return t_ns == 0 ? DPS_DEADLINE_NONE : dps_now_ns() + t_ns;
}

int shim_block(struct shim_wait *w, int nw, const int *kfds, const uint32_t *kev, int nk,
	       uint64_t deadline)
{
	struct shim_waiter stackw[8], *ws = stackw;
	struct dps_co *self = dps_self();
	int added[64];
	int nadded = 0, rc, prio;
	bool capped = false;
	uint64_t until = deadline;

	if (self == NULL)
		return -ENOMEM;
	if (nw > 8) {
		ws = calloc((size_t)nw, sizeof(*ws));
		if (ws == NULL)
			return -ENOMEM;
	}
	thread_setup();
	for (int i = 0; i < nw; i++) {
		ws[i].co = self;
		ws[i].mask = w[i].mask;
		wlist_add(w[i].list, &ws[i]);
	}
	shim_unlock();
	for (int i = 0; i < nk; i++) {
		if (nadded < 64 && dps_sched_add_fd(kfds[i], kev[i], kfd_ready, self) == 0)
			added[nadded++] = kfds[i];
		else
			capped =
			    true; /* watched elsewhere, or too many: check it every millisecond */
	}
	if (capped && (deadline == DPS_DEADLINE_NONE || deadline > dps_now_ns() + 1000000))
		deadline = dps_now_ns() + 1000000;
	prio = dps_co_priority(self);
	shim_block_enter();
	rc = dps_park(deadline);
	shim_block_leave();
	if (prio >= 0) /* shim_wake may have raised it for a high socket: back to what it was */
		(void)dps_co_set_priority(self, prio);
	for (int i = 0; i < nadded; i++)
		(void)dps_sched_del_fd(added[i]);
	shim_lock();
	for (int i = 0; i < nw; i++)
		wlist_del(&ws[i]);
	if (ws != stackw)
		free(ws);
	if (rc == -ETIMEDOUT && capped && (until == DPS_DEADLINE_NONE || dps_now_ns() < until))
		rc = 0; /* our own 1 ms cap, not the caller's deadline */
	return rc == -ETIMEDOUT || rc == -EINTR ? rc : 0;
}

/*
 * fork (DESIGN.md §6): a child of a process whose engine runs must never touch the device (it
 * shares the parent's af_packet rings and would answer for the parent's connections). The engine
 * lock is taken around fork so that the child's copy of it is free, and the child marks the
 * engine as its parent's: its inherited dpsock sockets can be closed, locally, and nothing else.
 * A child forked before the engine started (nginx's master) starts its own when it needs one.
 *
 * fork is safe anywhere. Another thread holding the lock: fork_prepare waits for it. The forking
 * thread holding it already (fork from a handler that ran at once for a fault, signal.c, or from
 * code running under the lock) would wait for itself: it keeps it as it is, and the child's copy
 * stays held by the child's thread until that region ends there, as in the parent.
 *
 * No program handler runs inside fork() either: fork is interposed and is a region of its own
 * for signals (shim_sig_hold, no lock), so a signal landing anywhere in it is deferred to its
 * return. Inside, the lock is held from fork_prepare to fork_parent, and glibc holds its atfork
 * lock from the first prepare handler to the last parent handler (with several threads, as
 * DPDK's make a program, also malloc's and stdio's locks): a handler forking or allocating there
 * would wait for itself. The child, whose pending signals are empty (fork(2)), only unblocks
 * what was deferred. A fork glibc makes internally (daemon()) does not pass through the
 * interposer: there the deferred handlers run in fork_parent, inside glibc's atfork lock.
 */

/* Did fork_prepare take the lock? One bit per fork in progress on this thread, the innermost
 * lowest: a fault handler may fork inside a fork's window. */
static __thread unsigned fork_took;

static bool fork_pop(void)
{
	bool took = fork_took & 1;

	fork_took >>= 1;
	return took;
}

static void fork_prepare(void)
{
	bool take = !shim_lock_owned;

	fork_took = fork_took << 1 | take;
	if (take)
		shim_lock();
}

static void fork_parent(void)
{
	if (fork_pop())
		shim_unlock();
}

static void fork_child(void)
{
	if (fork_pop()) {
		pthread_mutex_init(&shim.lock, NULL);
		shim_inside = false;
		shim_lock_owned = false;
		shim_sig_allow();
	}
	if (atomic_load(&shim.state) == ENGINE_RUNNING)
		atomic_store(&shim.state, ENGINE_FORKED);
}

DPS_EXPORT pid_t fork(void)
{
	pid_t pid;

	dps_real_need();
	shim_sig_hold();
	pid = real_fork();
	shim_sig_allow(); /* the deferred handlers run here, in the parent and in the child */
	return pid;
}

__attribute__((constructor(102))) static void shim_init(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}
