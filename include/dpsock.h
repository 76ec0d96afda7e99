/*
 * dpsock: the public native API.
 *
 * A process has one engine (DESIGN.md §2, arrangement "inline"): dps_init() configures it from the
 * environment (DPSOCK_* variables and the DPSOCK_CONFIG file), starts DPDK and the device; the caller
 * then drives it with dps_poll(). Functions return 0 (or a count) on success and -errno on failure;
 * they never set errno. Not thread-safe: one thread drives the engine.
 */
#ifndef DPSOCK_H
#define DPSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "dpsock_coroutine.h" /* dps_go, dps_now_ns, wait queues */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Start the engine from the environment. On failure writes one line for the user into err (the
 * option or device at fault and what to do).
 * Errors: -EINVAL/-ENOENT bad configuration, -ENODEV device missing, -ENOMEM, -EALREADY (already
 * running), -errno from DPDK.
 */
int dps_init(char *err, size_t errlen);
/* The same with the DPSOCK_* variables of envp instead of the process's environment (the preload
 * shim passes the environment the program started with: nginx clears its workers'). */
int dps_init_env(char **envp, char *err, size_t errlen);

/* One engine iteration: receive a burst, process it, run due timers, flush transmits. Returns the
 * number of frames received, or -ENODEV when the engine is not running. */
int dps_poll(void);

/*
 * Kernel fds that poll readable when the device has frames waiting (af_packet/af_xdp sockets of the
 * PMD), for sleeping in the kernel while idle. Fills up to max, returns the count (0: the device
 * has none; poll it now and then), -ENODEV when the engine is not running.
 */
int dps_wait_fds(int *fds, int max);

/* When the engine's next timer is due (CLOCK_MONOTONIC ns, dps_now_ns()); DPS_DEADLINE_NONE if
 * none or the engine is not running. Sleeping past it delays retransmissions and ARP. */
uint64_t dps_next_deadline(void);

/*
 * fastcalldown (libdpsock.so only): poll the engine if the poll interval (DPSOCK_POLL_US) passed
 * since the last poll, else return at once. Every hooked call on a dpsock socket does this; a
 * program that computes for long between calls may call it to keep the stack responsive.
 */
void dps_fastcalldown(void);

/*
 * Keep polling, for at most max_ns, until no connection is exchanging packets any more (all
 * closed, listening or in TIME_WAIT): lets FINs and their ACKs go out before the process exits.
 * Returns how many connections are still active, or -ENODEV when the engine is not running.
 */
int dps_drain(uint64_t max_ns);

/* Hand the frames queued for transmission to the device now (dps_poll does it too). 0, or
 * -ENODEV when the engine is not running. */
int dps_flush(void);

/* Stop the engine and release the device and DPDK (the device is free for the next process). */
void dps_exit(void);

/*
 * The engine's counters: calls fn(name, value, arg) for each, in a fixed order ("rx_frames", ...,
 * "drop_ip_csum", ...). Returns the number of counters, or -ENODEV when the engine is not running.
 */
int dps_counters(void (*fn)(const char *name, uint64_t value, void *arg), void *arg);

/*
 * TCP sockets of the process's engine: the calls of tcp_api.h (stack/) with the engine's clock and
 * sockaddr_in addresses. Handles are the engine's own small integers, not file descriptors (the
 * shim maps fds to them). Errors as documented in stack/tcp/tcp_api.h; -ENODEV when the engine is not
 * running, -EAFNOSUPPORT for an address that is not AF_INET.
 */
struct sockaddr_in;
int dps_socket(void);
int dps_bind(int s, const struct sockaddr_in *addr);
int dps_listen(int s, int backlog);
int dps_accept(int s, struct sockaddr_in *peer);
int dps_connect(int s, const struct sockaddr_in *addr);
long dps_send(int s, const void *buf, size_t len, int flags);
long dps_recv(int s, void *buf, size_t len, int flags);
int dps_shutdown(int s, int how);
int dps_close(int s);
int dps_setsockopt(int s, int level, int name, const void *val, uint32_t len);
int dps_getsockopt(int s, int level, int name, void *val, uint32_t *len);
/* Would dps_setsockopt(s, level, name, val, len) accept the option on a socket: its name, size and
 * range, checked without a socket and without an engine. 0, -ENOPROTOOPT, -EINVAL, -ENOENT. */
int dps_setsockopt_check(int level, int name, const void *val, uint32_t len);
int dps_getsockname(int s, struct sockaddr_in *addr);
int dps_getpeername(int s, struct sockaddr_in *addr);
/* Readiness of s as epoll bits (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR), with
 * DPS_EV_HIGH or'ed in when s is high priority now (DPSOCK_PRIORITY: unread high-priority data,
 * a connection pinned high, a listener with a high connection to accept). */
#define DPS_EV_HIGH (1u << 24) /* a bit epoll does not use */
int dps_events(int s);
/* Bytes queued on s: unread (tx 0, FIONREAD) or unacknowledged (tx 1, SIOCOUTQ). */
int dps_queued(int s, int tx);
/*
 * fn(arg, events) runs inside dps_poll() (or a socket call) whenever s's readiness may change
 * (events as dps_events gives them, DPS_EV_HIGH included).
 * It runs in the middle of the engine's work on s: it may record the event (queue s, wake a
 * coroutine) but must not call dps_* socket functions; do that after dps_poll() returns.
 */
int dps_set_callback(int s, void (*fn)(void *arg, uint32_t events), void *arg);

#ifdef __cplusplus
}
#endif

#endif
