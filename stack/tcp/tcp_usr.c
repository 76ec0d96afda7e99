/*
 * tcp_usr: the socket calls of tcp_api.h (FreeBSD keeps them in tcp_usrreq.c) and the readiness
 * they report.
 *
 * Call order: dps_tcp_socket takes a control block (tcp_tcb.c) and a handle (tcp_table.c); bind,
 * listen and connect take ports and flow-table entries (tcp_table.c); accept takes a child off a
 * listener's accept queue; send appends to the send queue and recv reads the receive queue, both
 * running output (tcp_output.c); shutdown and close queue a FIN, or abort (tcp_tcb.c). Each call
 * first records the time it was given (set_now). Readiness: dps_tcp_events says what a socket's
 * epoll events are; dps_tcp_notify calls its callback whenever input, output, a timer or a call
 * changes them.
 */
#include "tcp.h"
#include "tcp_api.h"

#include "dpsock.h" /* DPS_EV_HIGH */
#include "hist.h"
#include "prio.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <rte_hash.h>
#include <rte_mbuf.h>

/* ---- readiness ---- */

static int tcb_events(const struct dps_tcb *t)
{
	int ev = 0;

	if (t->so_error != 0)
		ev |= EPOLLERR;
	switch ((enum dps_tcp_state)t->state) {
	case DPS_TCP_CLOSED:
		/* Linux: a closed socket reports EPOLLOUT | EPOLLHUP (tcp_poll). An unconnected
		 * socket that never tried is just EPOLLOUT | EPOLLHUP too. */
		ev |= EPOLLOUT | EPOLLHUP;
		/* A connection that ended by reset, refusal or timeout is shut both ways (Linux's
		 * tcp_done sets sk_shutdown = SHUTDOWN_MASK): EPOLLIN | EPOLLRDHUP too, so that a
		 * reader waiting for input wakes and meets the error. */
		if (t->rcv_queued > 0 || (t->flags & (DPS_TF_RCVD_FIN | DPS_TF_DROPPED)))
			ev |= EPOLLIN | EPOLLRDHUP;
		break;
	case DPS_TCP_LISTEN:
	case DPS_TCP_SYN_SENT:
	case DPS_TCP_SYN_RCVD:
		break;
	case DPS_TCP_ESTABLISHED:
	case DPS_TCP_FIN_WAIT_1:
	case DPS_TCP_FIN_WAIT_2:
	case DPS_TCP_CLOSE_WAIT:
	case DPS_TCP_CLOSING:
	case DPS_TCP_LAST_ACK:
	case DPS_TCP_TIME_WAIT:
		if (t->rcv_queued > 0 || (t->flags & (DPS_TF_RCVD_FIN | DPS_TF_RD_SHUT)))
			ev |= EPOLLIN;
		if (t->flags & DPS_TF_RCVD_FIN)
			ev |= EPOLLRDHUP;
		if ((t->flags & DPS_TF_RCVD_FIN) && (t->flags & DPS_TF_FIN_QUEUED))
			ev |= EPOLLHUP;
		if (!(t->flags & DPS_TF_FIN_QUEUED)) {
			/* writable when at least a third of the buffer is free (Linux: sk_stream_wspace
			 * >= sk_stream_min_wspace, about half; keep it simple and generous) */
			if (t->snd_queued < t->snd_buf &&
			    t->snd_buf - t->snd_queued >= t->snd_buf / 3)
				ev |= EPOLLOUT;
		} else {
			ev |= EPOLLOUT;
		}
		break;
	case DPS_TCP_NSTATES:
		break;
	}
	if (ev != 0 && dps_tcp_is_high(t))
		ev |= (int)DPS_EV_HIGH;
	return ev;
}

void dps_tcp_notify(struct dps_tcb *t)
{
	if (t->on_event != NULL)
		t->on_event(t->event_arg, (uint32_t)tcb_events(t));
	else if (t->listener != NULL && t->handle < 0 && t->state == DPS_TCP_ESTABLISHED)
		dps_tcp_listener_notify(t->listener);
}

static int listener_events(const struct dps_listener *l)
{
	if (l->n_accept == 0)
		return 0;
	return EPOLLIN | (l->acc_high_tail != NULL ? (int)DPS_EV_HIGH : 0);
}

void dps_tcp_listener_notify(struct dps_listener *l)
{
	if (l->on_event != NULL)
		l->on_event(l->event_arg, (uint32_t)listener_events(l));
}

int dps_tcp_events(struct dps_engine *e, int s)
{
	struct dps_listener *l = dps_tcp_handle_listener(e, s);
	struct dps_tcb *t = dps_tcp_handle_tcb(e, s);

	if (l != NULL)
		return listener_events(l);
	if (t == NULL)
		return -EBADF;
	return tcb_events(t);
}

int dps_tcp_set_callback(struct dps_engine *e, int s, void (*fn)(void *arg, uint32_t events),
			 void *arg)
{
	struct dps_listener *l = dps_tcp_handle_listener(e, s);
	struct dps_tcb *t = dps_tcp_handle_tcb(e, s);

	if (l != NULL) {
		l->on_event = fn;
		l->event_arg = arg;
	} else if (t != NULL) {
		t->on_event = fn;
		t->event_arg = arg;
	} else {
		return -EBADF;
	}
	return 0;
}

int dps_tcp_queued(struct dps_engine *e, int s, int tx)
{
	struct dps_tcb *t = dps_tcp_handle_tcb(e, s);

	if (dps_tcp_handle_listener(e, s) != NULL)
		return 0;
	if (t == NULL)
		return -EBADF;
	return (int)(tx ? t->snd_queued : t->rcv_queued);
}

int dps_tcp_state_of(struct dps_engine *e, int s)
{
	struct dps_tcb *t = dps_tcp_handle_tcb(e, s);

	if (dps_tcp_handle_listener(e, s) != NULL)
		return DPS_TCP_LISTEN;
	return t == NULL ? -EBADF : t->state;
}

/* ---- socket calls ---- */

static void set_now(struct dps_engine *e, uint64_t now)
{
	if (now / 1000000 > e->tcp->now_ms)
		e->tcp->now_ms = now / 1000000;
}

int dps_tcp_socket(struct dps_engine *e)
{
	struct dps_tcb *t = dps_tcp_tcb_alloc(e);
	int h;

	if (t == NULL)
		return -ENOMEM;
	h = dps_tcp_handle_alloc(e->tcp, t);
	if (h < 0) {
		dps_tcp_tcb_free(t);
		return h;
	}
	t->handle = h;
	return h;
}

int dps_tcp_bind(struct dps_engine *e, int s, uint32_t addr, uint16_t port)
{
	struct dps_tcb *t = dps_tcp_handle_tcb(e, s);
	int rc;

	if (t == NULL)
		return dps_tcp_handle_valid(e, s) ? -EINVAL : -EBADF;
	if (t->lport != 0 || t->laddr != 0 || t->state != DPS_TCP_CLOSED)
		return -EINVAL;
	if (addr != 0 && !dps_engine_is_local(e, addr))
		return -EADDRNOTAVAIL;
	/* Linux: with IP_BIND_ADDRESS_NO_PORT, bind(addr, 0) only records the address and connect
	 * picks the port for its 4-tuple; without it bind reserves a port for every peer. */
	if (port == 0 && (t->flags & DPS_TF_BIND_NO_PORT)) {
		t->laddr = addr;
		return 0;
	}
	rc = dps_tcp_port_bind(e, t, port);
	if (rc < 0)
		return rc;
	t->laddr = addr;
	return 0;
}

int dps_tcp_listen(struct dps_engine *e, int s, int backlog)
{
	struct dps_listener *l = dps_tcp_handle_listener(e, s);
	struct dps_tcb *t = dps_tcp_handle_tcb(e, s);
	struct dps_tcp *tcp = e->tcp;
	int rc;

	if (l != NULL) { /* listen again: only the backlog changes, as on Linux */
		l->backlog = (uint16_t)(backlog < 1 ? 1 : backlog > 65535 ? 65535 : backlog);
		return 0;
	}
	if (t == NULL)
		return -EBADF;
	if (t->state != DPS_TCP_CLOSED || t->rport != 0)
		return -EINVAL;
	if (tcp->n_listeners == tcp->max_listeners)
		return -ENOBUFS;
	if (t->lport == 0 && (rc = dps_tcp_port_bind(e, t, 0)) < 0)
		return rc;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return -ENOMEM;
	l->laddr = t->laddr;
	l->lport = t->lport;
	l->backlog = (uint16_t)(backlog < 1 ? 1 : backlog > 65535 ? 65535 : backlog);
	l->flags_inherit = t->flags & (DPS_TF_NODELAY | DPS_TF_KEEPALIVE);
	l->snd_buf = t->snd_buf;
	l->rcv_buf = t->rcv_buf;
	l->on_event = t->on_event;
	l->event_arg = t->event_arg;
	l->handle = s;
	tcp->listeners[tcp->n_listeners++] = l;
	/* The port now belongs to the listener: the placeholder tcb goes, its port count stays. */
	t->lport = 0;
	dps_tcp_tcb_free(t);
	tcp->socks[s] = (void *)((uintptr_t)l | 1);
	return 0;
}

int dps_tcp_accept(struct dps_engine *e, int s, uint32_t *raddr, uint16_t *rport)
{
	struct dps_listener *l = dps_tcp_handle_listener(e, s);
	struct dps_tcb *t;
	int h;

	if (l == NULL)
		return dps_tcp_handle_valid(e, s) ? -EINVAL : -EBADF;
	t = l->acc_head;
	if (t == NULL)
		return -EAGAIN;
	h = dps_tcp_handle_alloc(e->tcp, t);
	if (h < 0)
		return h;
	dps_tcp_accq_unlink(l, t, NULL);
	l->n_accept--;
	t->listener = NULL;
	t->flags |= DPS_TF_ACCEPTED;
	t->handle = h;
	e->ctr[DPS_CTR_tcp_accepts]++;
	if (raddr != NULL)
		*raddr = t->raddr;
	if (rport != NULL)
		*rport = t->rport;
	return h;
}

int dps_tcp_connect(struct dps_engine *e, int s, uint32_t raddr, uint16_t rport, uint64_t now)
{
	struct dps_tcb *t = dps_tcp_handle_tcb(e, s);
	int rc;

	if (t == NULL) /* a listener: EISCONN, as Linux */
		return dps_tcp_handle_valid(e, s) ? -EISCONN : -EBADF;
	set_now(e, now);
	if (t->so_error != 0 && t->state == DPS_TCP_CLOSED && t->rport != 0) {
		rc = t->so_error;
		t->so_error = 0;
		return rc;
	}
	switch ((enum dps_tcp_state)t->state) {
	case DPS_TCP_SYN_SENT:
	case DPS_TCP_SYN_RCVD:
		return -EALREADY;
	case DPS_TCP_CLOSED:
		break;
	default:
		return -EISCONN;
	}
	if (t->rport != 0) {
		/* A connection that was established stays so for connect() (Linux: EISCONN); a failed
		 * attempt (our SYN never acknowledged) may be tried again, as on Linux. */
		if (t->snd_una != t->iss)
			return -EISCONN;
		t->raddr = 0;
		t->rport = 0;
		t->flags &= DPS_TF_NODELAY | DPS_TF_CORK | DPS_TF_KEEPALIVE | DPS_TF_LINGER0 |
			    DPS_TF_PORT4 | DPS_TF_BIND_NO_PORT;
		t->so_error = 0;
		t->backoff = 0;
		t->syn_retries = 0;
		t->rto_us = 1000000; /* RFC 6298 §2.1 */
		t->srtt_us = t->rttvar_us = 0;
		t->snd_wscale = t->rcv_wscale = 0;
	}
	if (!dps_engine_is_onlink(e, raddr) && e->gateway == 0)
		return -ENETUNREACH;
	if (rport == 0)
		return -ECONNREFUSED;
	if (t->lport == 0 && (rc = dps_tcp_port_connect(e, t, raddr, rport)) < 0)
		return rc;
	if (t->laddr == 0) /* bound to a port only */
		t->laddr = dps_tcp_source_net(e, raddr)->addr;
	t->raddr = raddr;
	t->rport = rport;
	if (dps_tcp_flow_find(e, t->laddr, t->lport, raddr, rport) != NULL) {
		t->rport = 0;
		return -EADDRNOTAVAIL;
	}
	rc = dps_tcp_flow_add(t);
	if (rc < 0) {
		t->rport = 0;
		return -EAGAIN;
	}
	t->iss = dps_tcp_isn(&e->tcp->secret, t->laddr, t->lport, raddr, rport, now);
	t->snd_una = t->snd_nxt = t->snd_max = t->recover = t->high_rxt = t->iss;
	t->rcv_wscale = 7;
	t->rcv_mss = (uint16_t)(e->mtu - 40);
	t->ts_offset = dps_tcp_ts_offset(&e->tcp->secret, t->laddr, raddr); /* RFC 7323 §7.1 */
	t->cc->init(t);
	t->last_rcv_ms = e->tcp->now_ms; /* TCP_USER_TIMEOUT counts from the first SYN (Linux) */
	dps_tcp_set_state(t, DPS_TCP_SYN_SENT);
	e->ctr[DPS_CTR_tcp_active_opens]++;
	dps_tcp_output(t);
	return -EINPROGRESS;
}

/* Append len bytes to the send queue, filling the tail buffer first. Returns bytes queued. */
static size_t snd_append(struct dps_tcb *t, const uint8_t *buf, size_t len)
{
	size_t done = 0;
	long budget = -1; /* buffers this call may take; counted once (avail_count walks every
			   * lcore's cache) */

	while (done < len) {
		struct rte_mbuf *m = t->snd_q_tail;
		size_t room = m != NULL ? rte_pktmbuf_tailroom(m) : 0;

		if (room == 0) {
			/* Send queues never take the pool's last buffers: with every buffer queued
			 * for sending, no ACK could be received to free one (a deadlock). */
			if (budget < 0)
				budget = (long)rte_mempool_avail_count(t->eng->pool) -
					 (long)t->eng->tcp->snd_reserve;
			if (budget-- <= 0) {
				t->eng->ctr[DPS_CTR_tcp_snd_pool_low]++;
				break;
			}
			m = rte_pktmbuf_alloc(t->eng->pool);
			if (m == NULL)
				break;
			m->data_off = 0; /* payload only: the whole buffer is room */
			if (t->snd_q_tail != NULL)
				t->snd_q_tail->next = m;
			else
				t->snd_q = m;
			t->snd_q_tail = m;
			room = rte_pktmbuf_tailroom(m);
		}
		if (room > len - done)
			room = len - done;
		memcpy(rte_pktmbuf_append(m, (uint16_t)room), buf + done, room);
		done += room;
	}
	t->snd_queued += (uint32_t)done;
	return done;
}

ssize_t dps_tcp_send(struct dps_engine *e, int s, const void *buf, size_t len, int flags,
		     uint64_t now)
{
	struct dps_tcb *t = dps_tcp_handle_tcb(e, s);
	size_t room, n;

	if (t == NULL) /* a listener: EPIPE, as Linux */
		return dps_tcp_handle_valid(e, s) ? -EPIPE : -EBADF;
	set_now(e, now);
	if (t->so_error != 0)
		return dps_tcp_take_error(t);
	switch ((enum dps_tcp_state)t->state) {
	case DPS_TCP_ESTABLISHED:
	case DPS_TCP_CLOSE_WAIT:
		break;
	case DPS_TCP_SYN_SENT:
	case DPS_TCP_SYN_RCVD:
		return -EAGAIN;
	case DPS_TCP_CLOSED:
		return -EPIPE; /* Linux: also for a socket that never connected */
	default:
		return -EPIPE;
	}
	if (t->flags & DPS_TF_FIN_QUEUED)
		return -EPIPE;
	if (len == 0)
		return 0;
	room = t->snd_queued < t->snd_buf ? t->snd_buf - t->snd_queued : 0;
	if (room == 0)
		return -EAGAIN;
	n = snd_append(t, buf, len < room ? len : room);
	if (n == 0)
		return -EAGAIN; /* the pool is low: as Linux under memory pressure (no buffer yet) */
	if (flags & MSG_MORE)
		t->flags |= DPS_TF_CORK;
	dps_tcp_output(t);
	if (flags & MSG_MORE)
		t->flags &= ~(uint32_t)DPS_TF_CORK;
	return (ssize_t)n;
}

/*
 * Per-class accounting of n bytes read from m (DESIGN.md §8): bytes, and when m is read to its
 * end, how long its data waited since the rx poll (the queueing delay). The class is the frame's
 * own, or high for a connection pinned high.
 */
static void read_account(struct dps_tcb *t, struct rte_mbuf *m, size_t n, uint64_t now)
{
	struct dps_engine *e = t->eng;
	const struct dps_pkt_meta *pm = dps_pkt_meta(&e->nif, m);
	int cls =
	    (pm->cls & DPS_PRIO_CLASS_MASK) == DPS_PRIO_CLASS_HIGH || (t->prio & DPS_TP_PIN_HIGH)
		? DPS_PRIO_CLASS_HIGH
		: DPS_PRIO_CLASS_LOW;

	e->ctr[cls == DPS_PRIO_CLASS_HIGH ? DPS_CTR_prio_read_high_bytes
					  : DPS_CTR_prio_read_low_bytes] += n;
	if (n == rte_pktmbuf_data_len(m))
		dps_hist_add(e->delay[cls], now > pm->rx_ns ? now - pm->rx_ns : 0);
}

ssize_t dps_tcp_recv(struct dps_engine *e, int s, void *buf, size_t len, int flags, uint64_t now)
{
	struct dps_tcb *t = dps_tcp_handle_tcb(e, s);
	struct rte_mbuf *m;
	size_t done = 0;
	uint8_t *out = buf;

	if (t == NULL)
		return dps_tcp_handle_valid(e, s) ? -ENOTCONN : -EBADF;
	set_now(e, now);
	if (t->rcv_queued == 0) {
		if (t->so_error != 0)
			return dps_tcp_take_error(t);
		if (t->flags & (DPS_TF_RCVD_FIN | DPS_TF_RD_SHUT))
			return 0;
		if (t->state == DPS_TCP_CLOSED)
			return t->rport != 0 ? 0 : -ENOTCONN;
		if (t->state == DPS_TCP_SYN_SENT || t->state == DPS_TCP_SYN_RCVD ||
		    t->state == DPS_TCP_ESTABLISHED || t->state == DPS_TCP_FIN_WAIT_1 ||
		    t->state == DPS_TCP_FIN_WAIT_2)
			return -EAGAIN;
		return 0;
	}
	m = t->rcv_q;
	while (m != NULL && done < len) {
		size_t n = rte_pktmbuf_data_len(m);

		if (n > len - done)
			n = len - done;
		memcpy(out + done, rte_pktmbuf_mtod(m, void *), n);
		done += n;
		if (flags & MSG_PEEK) {
			m = m->next;
			continue;
		}
		read_account(t, m, n, now);
		if (n < rte_pktmbuf_data_len(m)) {
			rte_pktmbuf_adj(m, (uint16_t)n);
			break;
		}
		t->rcv_q = m->next;
		m->next = NULL;
		rte_pktmbuf_free(m);
		m = t->rcv_q;
	}
	if (!(flags & MSG_PEEK)) {
		if (t->rcv_q == NULL)
			t->rcv_q_tail = NULL;
		t->rcv_queued -= (uint32_t)done;
		if ((t->prio & DPS_TP_MARK) && !dps_tcp_is_high(t))
			t->prio &= (uint8_t)~DPS_TP_MARK; /* read past the high data */
		dps_tcp_window_update(t);
	}
	return (ssize_t)done;
}

static void queue_fin(struct dps_tcb *t)
{
	if (t->flags & DPS_TF_FIN_QUEUED)
		return;
	t->flags |= DPS_TF_FIN_QUEUED;
	switch ((enum dps_tcp_state)t->state) {
	case DPS_TCP_SYN_RCVD:
		/* Only a simultaneous open has a handle in SYN_RCVD. RFC 9293 §3.10.4 CLOSE in
		 * SYN-RECEIVED, and Linux (tcp_close_state: SYN_RECV -> FIN_WAIT1 with the FIN sent
		 * behind the SYN-ACK), send the FIN at once; here it waits until the SYN is
		 * acknowledged (ESTABLISHED, then FIN_WAIT_1: tcp_input.c), while the SYN-ACK keeps
		 * being retransmitted: the FIN then never precedes an unacknowledged SYN. */
		break;
	case DPS_TCP_ESTABLISHED:
		dps_tcp_set_state(t, DPS_TCP_FIN_WAIT_1);
		break;
	case DPS_TCP_CLOSE_WAIT:
		dps_tcp_set_state(t, DPS_TCP_LAST_ACK);
		break;
	default:
		break;
	}
	dps_tcp_output(t);
}

int dps_tcp_shutdown(struct dps_engine *e, int s, int how, uint64_t now)
{
	struct dps_tcb *t = dps_tcp_handle_tcb(e, s);

	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return -EINVAL;
	if (t == NULL) /* a listener: nothing to shut down (Linux: 0) */
		return dps_tcp_handle_valid(e, s) ? 0 : -EBADF;
	set_now(e, now);
	if (t->state == DPS_TCP_SYN_SENT) {
		/* Linux: shutdown aborts a connection attempt and returns 0. */
		dps_tcp_drop(t, 0);
		dps_tcp_set_state(t, DPS_TCP_CLOSED);
		return 0;
	}
	if (t->state == DPS_TCP_CLOSED)
		return -ENOTCONN;
	if (how != SHUT_WR)
		t->flags |= DPS_TF_RD_SHUT;
	if (how != SHUT_RD)
		queue_fin(t);
	dps_tcp_notify(t);
	return 0;
}

static void close_listener(struct dps_engine *e, int s, struct dps_listener *l)
{
	struct dps_tcp *tcp = e->tcp;

	/* Reset the connections waiting in the accept queue. The ones still in SYN_RCVD find no
	 * listener when their handshake ends and are reset then (they hold l only through
	 * t->listener, cleared here via the flow walk). */
	while (l->acc_head != NULL) {
		struct dps_tcb *t = l->acc_head;
		l->acc_head = t->accept_next;
		t->listener = NULL;
		dps_tcp_tcb_abort(t);
	}
	if (l->n_syn > 0) {
		const void *key;
		void *data;
		uint32_t iter = 0;

		while (rte_hash_iterate(tcp->flows, &key, &data, &iter) >= 0) {
			struct dps_tcb *t = data;
			if (t->listener == l)
				t->listener = NULL, t->flags |= DPS_TF_ORPHAN;
		}
	}
	for (unsigned i = 0; i < tcp->n_listeners; i++)
		if (tcp->listeners[i] == l) {
			tcp->listeners[i] = tcp->listeners[--tcp->n_listeners];
			break;
		}
	if (tcp->port_users[l->lport] > 0)
		tcp->port_users[l->lport]--;
	dps_tcp_handle_free(tcp, s);
	free(l);
}

int dps_tcp_close(struct dps_engine *e, int s, uint64_t now)
{
	struct dps_listener *l = dps_tcp_handle_listener(e, s);
	struct dps_tcb *t = dps_tcp_handle_tcb(e, s);

	set_now(e, now);
	if (l != NULL) {
		close_listener(e, s, l);
		return 0;
	}
	if (t == NULL)
		return -EBADF;
	dps_tcp_handle_free(e->tcp, s);
	t->handle = -1;
	t->on_event = NULL;
	t->flags |= DPS_TF_ORPHAN;
	if (t->state == DPS_TCP_CLOSED || t->state == DPS_TCP_SYN_SENT) {
		dps_tcp_set_state(t, DPS_TCP_CLOSED);
		dps_tcp_tcb_free(t);
		return 0;
	}
	/* RFC 9293 §3.6 (and Linux): unread data, or SO_LINGER with a zero timeout: reset. */
	if (t->rcv_queued > 0 || ((t->flags & DPS_TF_LINGER0) != 0)) {
		dps_tcp_tcb_abort(t);
		return 0;
	}
	if (t->state == DPS_TCP_TIME_WAIT)
		return 0;
	if (t->state == DPS_TCP_FIN_WAIT_2) { /* shut down earlier: now an orphan, not forever */
		dps_tcp_timer_set(t, DPS_TT_2MSL, e->tcp->now_ms + dps_tcp_fin_wait_2_ms());
		return 0;
	}
	queue_fin(t);
	/* An orphan in FIN_WAIT_2 is not kept forever (Linux tcp_fin_timeout). */
	return 0;
}

int dps_tcp_getsockname(struct dps_engine *e, int s, uint32_t *addr, uint16_t *port)
{
	struct dps_listener *l = dps_tcp_handle_listener(e, s);
	struct dps_tcb *t = dps_tcp_handle_tcb(e, s);

	if (l != NULL) {
		*addr = l->laddr;
		*port = l->lport;
	} else if (t != NULL) {
		*addr = t->laddr;
		*port = t->lport;
	} else {
		return -EBADF;
	}
	return 0;
}

int dps_tcp_getpeername(struct dps_engine *e, int s, uint32_t *addr, uint16_t *port)
{
	struct dps_tcb *t = dps_tcp_handle_tcb(e, s);

	if (t == NULL)
		return dps_tcp_handle_valid(e, s) ? -ENOTCONN : -EBADF;
	if (t->rport == 0 || t->state == DPS_TCP_CLOSED || t->state == DPS_TCP_SYN_SENT)
		return -ENOTCONN;
	*addr = t->raddr;
	*port = t->rport;
	return 0;
}
