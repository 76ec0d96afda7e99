/*
 * shim: state shared by the interposers of preload/ (DESIGN.md §1-§5).
 *
 * The fd table maps a file descriptor number to a shim object: a dpsock TCP socket (struct psock)
 * or an epoll instance that holds some (struct pepoll). Every other fd is the kernel's and its
 * calls go to real_<name> untouched. A psock's fd number is a dup() of one private placeholder
 * socket (DESIGN.md §3), so numbers stay small and dense and the kernel never reuses them.
 *
 * One engine per process, driven by whichever thread holds the engine lock (DESIGN.md §2,
 * "serialized"): a hooked call on one of our fds takes the lock, runs fastcalldown, calls the
 * native API, releases it. A call that would block parks the calling coroutine (dps_park) with the
 * lock released; the thread's scheduler keeps polling the engine through its idle hook and sleeps
 * in the kernel on the device's fds when nothing happens. Readiness callbacks (under the lock)
 * unpark the waiters.
 *
 * Everything here returns 0 / a count or -errno; only the interposers' one exit (shim_ret) sets
 * errno (STYLE.md, musl's syscall_ret).
 */
#ifndef DPS_PRELOAD_SHIM_H
#define DPS_PRELOAD_SHIM_H

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "dpsock.h"
#include "dps_conf.h"
#include "real.h"

#define DPS_EXPORT __attribute__((visibility("default")))

enum shim_kind { SHIM_PSOCK = 1, SHIM_PEPOLL = 2 };

/* The engine's life, process-wide. */
enum shim_engine_state {
	ENGINE_OFF, /* not started yet: sockets record bind/listen/options (pending) */
	ENGINE_RUNNING,
	ENGINE_FAILED, /* start failed and fallback=kernel: every socket goes to the kernel */
	ENGINE_FORKED, /* a child forked while the parent's engine ran: its sockets are the
			* parent's; they can only be closed, locally (DESIGN.md §6) */
};

/* A coroutine blocked in a shim call, on the lists of what it waits for. */
struct shim_waiter {
	struct shim_waiter *next, *prev;
	struct dps_co *co;
	uint32_t mask; /* epoll bits that wake it (EPOLLERR/HUP always do) */
};

struct shim_wlist {
	struct shim_waiter head; /* circular; empty when head.next == &head or NULL */
};

struct pepoll;

/* One registration of a psock in a shim epoll instance (Linux's epitem). */
struct epitem {
	struct epitem *sock_next; /* the psock's registrations */
	struct epitem *rdy_next, *rdy_prev; /* the instance's ready list */
	struct epitem *ep_next, *ep_prev; /* all registrations of the instance */
	struct pepoll *ep;
	struct psock *ps;
	int fd; /* the number it was added under */
	uint32_t events; /* interest, with EPOLLET/EPOLLONESHOT... */
	epoll_data_t data;
	bool ready; /* on the ready list */
	bool high; /* in its high-priority part (DPS_EV_HIGH when it went there) */
	bool disarmed; /* EPOLLONESHOT fired */
};

#define PSOCK_MAX_OPTS 16

/* A socket option set before the engine started, replayed when the socket is created there. */
struct pending_opt {
	int level, name;
	uint32_t len;
	unsigned char val[16];
};

struct psock {
	enum shim_kind kind; /* SHIM_PSOCK */
	int refs; /* fd numbers naming it (dup) */
	int h; /* engine handle, -1 while pending */
	int kfd; /* companion kernel listener (listen_kernel), or -1 */
	bool nonblock; /* O_NONBLOCK: per open file description, so here, not on the fd */
	bool bound, listening, connecting;
	/* AF_INET6: a dual-stack socket (IPV6_V6ONLY off, bound to :: or ::ffff:ours) whose IPv4
	 * traffic is ours; addresses it reports are IPv4-mapped, as Linux's (issue 13 item 7). */
	bool v6;
	bool v6only; /* IPV6_V6ONLY: an IPv6-only socket, always the kernel's once bound */
	/* A listener that could go neither to the engine nor to the kernel (the engine cannot start
	 * and the kernel has not its address): said once, then it never becomes ready. */
	bool dead;
	/* Made by socket() and not yet connected nor listening: options are recorded (also once
	 * in the engine) so that it can still become a kernel socket (a connect to loopback). */
	bool fresh;
	int backlog;
	struct sockaddr_in addr; /* bound address while pending */
	uint64_t rcvtimeo_ns, sndtimeo_ns; /* SO_RCVTIMEO / SO_SNDTIMEO, 0 = none */
	uint32_t events; /* last readiness the engine reported */
	unsigned n_opts;
	/* PSOCK_MAX_OPTS slots, allocated at the first option set while pending and kept until
	 * the psock goes (psock_to_kernel replays them); NULL for most sockets (accepted ones
	 * never have any): an idle connection costs the shim ~100 bytes here instead of ~550. */
	struct pending_opt *opts;
	struct shim_wlist waiters;
	struct epitem *epitems;
};

struct pepoll {
	enum shim_kind kind; /* SHIM_PEPOLL */
	int refs;
	int fd; /* the kernel epoll fd it shadows (DESIGN.md §5) */
	struct epitem *rdy_head, *rdy_tail; /* ready list (user-space sockets) */
	struct epitem *rdy_hi_tail; /* the high items lead the ready list: the last one, or NULL */
	struct epitem *items; /* all registrations */
	struct shim_wlist waiters;
	unsigned n_items;
	/* The last wait filled the caller's array with our sockets: the next one asks the shadow
	 * first, so that kernel fds are not starved by ready sockets of ours (Linux rotates). */
	bool kernel_first;
};

/* Process-wide shim state. */
struct shim {
	pthread_mutex_t lock; /* the engine lock: held while touching the engine or shim objects */
	atomic_int state; /* enum shim_engine_state */
	bool conf_ok; /* conf loaded */
	struct dps_conf conf;
	int placeholder; /* the kernel socket every psock fd is a dup of, or -1 */
	uint64_t poll_tsc; /* fastcalldown interval in TSC cycles */
	uint64_t tsc_hz;
	_Atomic uint64_t last_poll_tsc;
	int wait_fds[8];
	int n_wait_fds;
	atomic_uint gen; /* engine generation: threads re-register wait fds when it changes */
};

extern struct shim shim;

/* ---- fd table (fdtab.c) ---- */
void *fdtab_get(int fd);
/* Install obj under fd (fd must be free in the table). -EMFILE if fd is beyond the table. */
int fdtab_set(int fd, void *obj);
/* Remove fd from the table, returning what it held (NULL if nothing). */
void *fdtab_take(int fd);
static inline struct psock *fd_psock(int fd)
{
	struct psock *ps = fdtab_get(fd);

	return ps != NULL && ps->kind == SHIM_PSOCK ? ps : NULL;
}
static inline struct pepoll *fd_pepoll(int fd)
{
	struct pepoll *ep = fdtab_get(fd);

	return ep != NULL && ep->kind == SHIM_PEPOLL ? ep : NULL;
}
/* Drop one reference of the object fd held (already taken from the table); closes the socket
 * or epoll instance with the last. Called with the lock held. */
void shim_obj_put(void *obj);

/* ---- core (shim.c) ---- */
/* The calling thread holds the engine lock: a hooked call made from inside the engine (DPDK,
 * the stack, the scheduler) must go straight to libc. */
extern __thread bool shim_inside;
/* The thread has used a dpsock socket: its waits on kernel-only sets keep the engine polled. */
extern __thread bool shim_app_thread;

/*
 * The engine lock and the program's signal handlers (DESIGN.md §6, signal.c). A handler never
 * runs while its thread holds the lock: shim_sig_depth counts the lock regions the thread is in
 * (it is raised before the mutex is taken and lowered after it is released), and the trampoline
 * defers the handler of a signal that lands inside one. shim_sig_deferred says one is waiting;
 * the region's end (shim_sig_allow) lets it run. Both are only touched by their own thread and
 * its signal handlers, which leave them as they found them, so a plain volatile suffices.
 */
extern __thread volatile sig_atomic_t shim_sig_depth;
extern __thread volatile sig_atomic_t shim_sig_deferred;
/* The thread owns shim.lock (set after the mutex is taken, cleared before it is released). */
extern __thread bool shim_lock_owned;
extern atomic_ulong shim_sig_deferrals; /* how many were deferred, ever (tests) */
/* Run the deferred handlers (signal.c); from shim_sig_allow only. */
void shim_sig_release(void);

static inline void shim_sig_hold(void)
{
	shim_sig_depth = shim_sig_depth + 1;
	atomic_signal_fence(memory_order_seq_cst);
}
static inline void shim_sig_allow(void)
{
	atomic_signal_fence(memory_order_seq_cst);
	shim_sig_depth = shim_sig_depth - 1;
	atomic_signal_fence(memory_order_seq_cst);
	/* A signal landing between the decrement and this test runs at once (depth 0); the
	 * deferred ones stay blocked until shim_sig_release unblocks them: none is lost and
	 * none runs twice. */
	if (shim_sig_depth == 0 && shim_sig_deferred)
		shim_sig_release();
}
static inline void shim_lock(void)
{
	shim_sig_hold();
	pthread_mutex_lock(&shim.lock);
	shim_lock_owned = true;
	shim_inside = true;
}
/* shim_lock without waiting: true if taken. */
static inline bool shim_trylock(void)
{
	shim_sig_hold();
	if (pthread_mutex_trylock(&shim.lock) != 0) {
		shim_sig_allow();
		return false;
	}
	shim_lock_owned = true;
	shim_inside = true;
	return true;
}
static inline void shim_unlock(void)
{
	shim_inside = false;
	shim_lock_owned = false;
	pthread_mutex_unlock(&shim.lock);
	shim_sig_allow();
}
/* Load the configuration once (socket() of the first IPv4 TCP socket). Returns 0, or -EINVAL when
 * it is bad and fallback=kernel (a warning was printed); exits when fallback=error. */
int shim_conf(void);
/* Start the engine if it is not running (lock held). 0, or -ENODEV when it cannot and the
 * fallback is the kernel (the caller moves its socket there). */
int shim_engine_start(void);
/* fastcalldown with the lock held: poll the engine if poll_us passed (force: always). */
void shim_poll_locked(bool force);
/* Park the caller until one of waitlists wakes it, a kernel fd in kfds polls ready, the deadline
 * (absolute ns) or a signal. Lock held on entry and on return. 0 (woken or spurious),
 * -ETIMEDOUT, -EINTR. */
struct shim_wait {
	struct shim_wlist *list;
	uint32_t mask;
};
int shim_block(struct shim_wait *w, int nw, const int *kfds, const uint32_t *kev, int nk,
	       uint64_t deadline);
/* Wake every waiter of l whose mask meets ev; with DPS_EV_HIGH in ev, at high priority. */
void shim_wake(struct shim_wlist *l, uint32_t ev);
#define SHIM_WAKE_ANY (~DPS_EV_HIGH) /* every waiter, at its own priority */
void shim_wlist_init(struct shim_wlist *l);
/* Deadline for a blocking call with timeout t_ns (0 = none), or DPS_DEADLINE_NONE. */
uint64_t shim_deadline(uint64_t t_ns);
/* Signal bookkeeping for EINTR (signal.c): did a handler without SA_RESTART run during the
 * current blocking call? */
bool shim_signal_restarts(void);
void shim_block_enter(void);
void shim_block_leave(void);

/* errno exit: the one place that turns -errno into errno + -1. */
static inline long shim_ret(long rc)
{
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return rc;
}

/* ---- sockets (socket.c) ---- */
/* Make ps exist in the engine (start it, create, replay options, bind, listen). Lock held.
 * -ENODEV: the engine is unavailable and ps was moved to the kernel under fd (retry the call
 * with the real function). */
int psock_materialize(struct psock *ps, int fd);
/* A pending socket that nothing can arrive for yet (made by socket(), neither bound nor listening
 * nor connecting): watching it needs no engine (Linux reports EPOLLOUT|EPOLLHUP for it), and it may
 * still become the kernel's (a connect to loopback, an IPv6 destination). */
static inline bool psock_is_idle(const struct psock *ps)
{
	return ps->h < 0 && ps->fresh && !ps->bound && !ps->listening && !ps->connecting;
}
/* Readiness callback registered for every engine socket. */
void psock_on_event(void *arg, uint32_t events);
/* Replace ps (named by fd) with a kernel socket with the same bind/options (same fd number). */
int psock_to_kernel(struct psock *ps, int fd);
/* Is dst (network order) reached through dpsock (else the kernel)? */
bool shim_route_is_ours(uint32_t dst);

/* A new fd number naming a dpsock socket (a dup of the placeholder; lowest free, as socket(2)
 * gives), or -errno (EMFILE...). */
int shim_fd_new(bool cloexec);
bool shim_is_placeholder(int fd);
struct psock *psock_alloc(bool nonblock, bool v6);
/* Hold fd's psock across a call (lock held): a close in another thread leaves it alive until
 * shim_obj_put, as the kernel's fdget does. NULL if fd is not a psock. */
struct psock *shim_hold(int fd);
/* The start of a hooked call on fd: take the engine lock and hold fd's psock (NULL, lock released:
 * fd is not one of ours any more: EBADF). shim_leave ends it: put the psock, release the lock. */
static inline struct psock *shim_enter(int fd)
{
	struct psock *ps;

	shim_lock();
	ps = shim_hold(fd);
	if (ps == NULL)
		shim_unlock();
	return ps;
}
static inline void shim_leave(struct psock *ps)
{
	shim_obj_put(ps);
	shim_unlock();
}
/* setsockopt on ps: recorded while pending, else the engine's (hints accepted). Lock held. */
int psock_setopt(struct psock *ps, int level, int name, const void *val, uint32_t len);
/* The highest fd number ever put in the table (for close_range). */
int shim_fdtab_max(void);

/* ---- epoll (epoll.c) ---- */
/* ps is going away: remove its registrations (lock held). */
void epoll_forget_sock(struct psock *ps);
void epoll_destroy(struct pepoll *ep);
/* fd, one of ps's numbers, is a kernel socket now: its registrations under fd go to the shadow
 * kernel epoll instances, with their events and data (a connect to loopback after nginx's
 * epoll_ctl ADD). Lock held; the user-space items go with ps. */
void epoll_move_to_kernel(struct psock *ps, int fd);
void epoll_sock_event(struct psock *ps, uint32_t events);

/* events of ps for poll/epoll (lock held), EPOLLIN on the companion kernel listener included. */
uint32_t psock_events(struct psock *ps);

#endif
