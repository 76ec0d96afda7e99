/*
 * tcp_api: the TCP socket calls on an explicit engine, with injected time. include/dpsock.h wraps
 * these for the process's engine; the packet-scripted tests call them directly on an engine over
 * the in-memory device.
 *
 * Handles are small integers (0, 1, 2, ...) naming a socket of the engine. Addresses are IPv4 in
 * network byte order, ports in host byte order. Every call returns >= 0 or -errno and never touches
 * errno. Calls never block: where Linux would block they return -EAGAIN (-EINPROGRESS for connect).
 * A call that changes what should be sent (connect, send, recv opening the window, shutdown,
 * close) runs output at once; frames reach the device at the engine's next flush.
 */
#ifndef DPS_TCP_API_H
#define DPS_TCP_API_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct dps_engine;

/* A new unbound TCP socket. Errors: -EMFILE (socket table full), -ENOMEM. */
int dps_tcp_socket(struct dps_engine *e);

/*
 * Bind s to addr:port. addr 0 = any of the engine's addresses; port 0 = an ephemeral port now,
 * unused towards every peer (with IP_BIND_ADDRESS_NO_PORT: none yet, connect picks one unique for
 * its 4-tuple, as it does for an unbound socket).
 * Errors: -EBADF, -EINVAL (already bound, or listening/connected), -EADDRNOTAVAIL (addr is not ours),
 * -EADDRINUSE (another socket has addr:port; SO_REUSEADDR lets a listener reuse a port whose only
 * users are TIME_WAIT connections).
 */
int dps_tcp_bind(struct dps_engine *e, int s, uint32_t addr, uint16_t port);

/* Listen with an accept queue of backlog (clamped to 1..65535; the SYN queue is as large).
 * An unbound socket gets an ephemeral port. Errors: -EBADF, -EINVAL (connected or connecting). */
int dps_tcp_listen(struct dps_engine *e, int s, int backlog);

/*
 * Take an established connection from listener s's queue: its handle, and the peer's address into
 * *raddr / *rport (may be NULL). Errors: -EBADF, -EINVAL (not listening), -EAGAIN (queue empty),
 * -EMFILE.
 */
int dps_tcp_accept(struct dps_engine *e, int s, uint32_t *raddr, uint16_t *rport);

/*
 * Start connecting s to raddr:rport (sends the SYN). Returns -EINPROGRESS when the SYN is on its
 * way; the connection's outcome shows in dps_tcp_events (EPOLLOUT when established, EPOLLERR with
 * SO_ERROR otherwise). Errors: -EBADF, -EISCONN, -EALREADY (connecting), -EINVAL (listening),
 * -ENETUNREACH (raddr off our subnets and no gateway), -EADDRNOTAVAIL (no free ephemeral port),
 * -ECONNREFUSED/-ETIMEDOUT/-ECONNRESET reported once for a connect that failed since the last call.
 */
int dps_tcp_connect(struct dps_engine *e, int s, uint32_t raddr, uint16_t rport, uint64_t now);

/*
 * Queue up to len bytes for sending; returns how many were queued (a partial count when the send
 * buffer fills). flags: MSG_DONTWAIT (ignored: never blocks), MSG_NOSIGNAL (ignored here: the shim
 * raises SIGPIPE), MSG_MORE (like TCP_CORK for this call).
 * Errors: -EBADF, -ENOTCONN (not connected), -EAGAIN (buffer full), -EPIPE (shut down for writing,
 * or the connection is closed), -ECONNRESET/-ETIMEDOUT (pending error, reported once).
 */
ssize_t dps_tcp_send(struct dps_engine *e, int s, const void *buf, size_t len, int flags,
		     uint64_t now);

/*
 * Copy up to len received bytes into buf. flags: MSG_PEEK (leave them queued), MSG_WAITALL and
 * MSG_DONTWAIT (ignored here: never blocks). Returns the count, 0 at end of stream (the peer's
 * FIN, or shutdown(SHUT_RD)). Reading opens the receive window: a window update is sent when it
 * grows by 2 MSS or half the buffer (RFC 9293 §3.8.6.2.2).
 * Errors: -EBADF, -ENOTCONN, -EAGAIN (nothing yet), -ECONNRESET/-ETIMEDOUT (pending error, once).
 */
ssize_t dps_tcp_recv(struct dps_engine *e, int s, void *buf, size_t len, int flags, uint64_t now);

/* shutdown(2): how is SHUT_RD, SHUT_WR or SHUT_RDWR. SHUT_WR sends FIN after the queued data.
 * Errors: -EBADF, -EINVAL (bad how), -ENOTCONN (not connected). */
int dps_tcp_shutdown(struct dps_engine *e, int s, int how, uint64_t now);

/*
 * Release handle s. A connection goes on closing in the background (FIN after queued data, then
 * TIME_WAIT or LAST_ACK) unless unread data is waiting (RFC 9293 §3.6: RST instead), or SO_LINGER
 * is on with a zero timeout (RST). A listener resets its queued connections. Errors: -EBADF.
 */
int dps_tcp_close(struct dps_engine *e, int s, uint64_t now);

/*
 * Socket options, Linux's names and value types (int unless noted): SOL_SOCKET: SO_ERROR (get,
 * clears), SO_RCVBUF, SO_SNDBUF, SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_LINGER (struct
 * linger), SO_TYPE (get), SO_ACCEPTCONN (get); IPPROTO_TCP: TCP_NODELAY, TCP_CORK, TCP_MAXSEG,
 * TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT, TCP_CONGESTION (string),
 * TCP_INFO (get, struct tcp_info); IPPROTO_IP: IP_BIND_ADDRESS_NO_PORT (bind(addr, 0) leaves the
 * port to connect, which picks it per 4-tuple). Errors: -EBADF, -ENOPROTOOPT (unknown option),
 * -EINVAL (bad length or value), -ENOENT (unknown congestion control).
 */
int dps_tcp_setsockopt(struct dps_engine *e, int s, int level, int name, const void *val,
		       uint32_t len);
int dps_tcp_getsockopt(struct dps_engine *e, int s, int level, int name, void *val, uint32_t *len);
/* Would dps_tcp_setsockopt accept (level, name, val, len) on some socket: the same checks, no
 * socket needed (options set before a socket exists in the engine). 0 or its error. */
int dps_tcp_sockopt_check(int level, int name, const void *val, uint32_t len);

/* Local / remote address of s. Errors: -EBADF, -ENOTCONN (getpeername without a peer). */
int dps_tcp_getsockname(struct dps_engine *e, int s, uint32_t *addr, uint16_t *port);
int dps_tcp_getpeername(struct dps_engine *e, int s, uint32_t *addr, uint16_t *port);

/*
 * Readiness of s as epoll bits (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR), level-triggered,
 * as Linux's tcp_poll reports them. -EBADF for a bad handle.
 */
int dps_tcp_events(struct dps_engine *e, int s);

/* Called with the new readiness whenever it may have changed (the event layer's hook). */
int dps_tcp_set_callback(struct dps_engine *e, int s, void (*fn)(void *arg, uint32_t events),
			 void *arg);

/* Bytes queued on s: received and not yet read (tx 0: FIONREAD), or sent and not yet acknowledged
 * (tx 1: SIOCOUTQ). 0 for a listener. -EBADF. */
int dps_tcp_queued(struct dps_engine *e, int s, int tx);

/* The connection state of s (enum dps_tcp_state, for tests and stats). -EBADF. */
int dps_tcp_state_of(struct dps_engine *e, int s);

#endif
