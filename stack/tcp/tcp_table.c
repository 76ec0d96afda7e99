/*
 * tcp_table: the engine's TCP tables (FreeBSD keeps them in in_pcb.c): the handle table, the flow
 * table (4-tuple -> connection), the listeners, the local port counts, the listeners' accept
 * queues; created and destroyed with the engine's TCP (dps_tcp_create, which also sets up the
 * connection slab, the timer wheel and the per-boot secret; dps_tcp_destroy).
 *
 * Call order: socket() takes a handle (dps_tcp_handle_alloc) that every later call resolves
 * (dps_tcp_handle_tcb / dps_tcp_handle_listener); bind and listen take a port for every peer
 * (dps_tcp_port_bind), connect one unique for its 4-tuple (dps_tcp_port_connect) and links the
 * connection into the flow table (dps_tcp_flow_add); input finds it there (dps_tcp_flow_find),
 * else a listener (dps_tcp_listener_find), whose accept queue keeps the children that finished
 * their handshake (dps_tcp_accq_push, dps_tcp_accq_unlink); close gives the handle back
 * (dps_tcp_handle_free) and tcp_tcb.c unlinks a connection that ends (dps_tcp_flow_del).
 *
 * A handle names either a connection (struct dps_tcb, also used for a socket that is not yet
 * connected) or a listener (struct dps_listener, tagged with bit 0 in the handle table).
 */
#include "tcp.h"

#include "dps_mempool.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <rte_byteorder.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#define EPHEMERAL_LO 32768 /* Linux's ip_local_port_range */
#define EPHEMERAL_HI 60999
#define MAX_LISTENERS 256

struct flow_key {
	uint32_t laddr, raddr;
	uint16_t lport, rport;
};

/* ---- the engine's TCP ---- */

int dps_tcp_create(struct dps_engine *e, const struct dps_conf *c, uint64_t now, char *err,
		   size_t errlen)
{
	static const struct rte_mbuf_dynfield seq_field = {
		.name = "dpsock_tcp_seq",
		.size = sizeof(uint32_t),
		.align = __alignof__(uint32_t),
	};
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = (uint32_t)c->tcp_max_conns,
		.key_len = sizeof(struct flow_key),
		.hash_func = rte_jhash,
		.socket_id = SOCKET_ID_ANY,
	};
	struct dps_tcp *tcp = calloc(1, sizeof(*tcp));
	unsigned cap = (unsigned)c->tcp_max_conns + MAX_LISTENERS;
	int rc = -ENOMEM;

	if (tcp == NULL)
		goto fail;
	e->tcp = tcp;
	snprintf(name, sizeof(name), "dps_flow_%p", (void *)e);
	tcp->flows = rte_hash_create(&hp);
	tcp->socks = calloc(cap, sizeof(*tcp->socks));
	tcp->free_handles = calloc(cap, sizeof(*tcp->free_handles));
	tcp->listeners = calloc(MAX_LISTENERS, sizeof(*tcp->listeners));
	tcp->port_users = calloc(65536, sizeof(*tcp->port_users));
	tcp->port_conns = calloc(65536, sizeof(*tcp->port_conns));
	if (tcp->flows == NULL || tcp->socks == NULL || tcp->free_handles == NULL ||
	    tcp->listeners == NULL || tcp->port_users == NULL || tcp->port_conns == NULL)
		goto fail;
	rc = dps_slab_create(sizeof(struct dps_tcb), 64, 0, (size_t)c->tcp_max_conns, &tcp->tcbs);
	if (rc < 0)
		goto fail;
	rc = dps_wheel_init(&tcp->wheel, 1000000, 4096, now);
	if (rc < 0)
		goto fail;
	tcp->seq_dynfield = rte_mbuf_dynfield_register(&seq_field);
	if (tcp->seq_dynfield < 0) {
		rc = -ENOSPC;
		goto fail;
	}
	/* Per boot, not per process (tcp_secret.c): successive processes continue each other's
	 * ISNs and TSvals. */
	rc = dps_tcp_secret_load(&tcp->secret);
	if (rc < 0)
		goto fail;
	tcp->max_socks = cap;
	tcp->max_listeners = MAX_LISTENERS;
	tcp->max_conns = (uint32_t)c->tcp_max_conns;
	tcp->rto_min_ms = (uint32_t)c->tcp_rto_min_ms;
	tcp->time_wait_ms = (uint32_t)c->tcp_time_wait_ms;
	tcp->snd_buf = (uint32_t)c->tcp_sndbuf;
	tcp->rcv_buf = (uint32_t)c->tcp_rcvbuf;
	/* An eighth of the pool stays for what arrives (ACKs, requests) and for control segments. */
	tcp->snd_reserve = e->pool->size / 8 > 64 ? e->pool->size / 8 : 64;
	tcp->cc_default = dps_tcp_cc_find(dps_conf_choice(DPS_OPT_ID_tcp_cc, c->tcp_cc));
	if (tcp->cc_default == NULL)
		tcp->cc_default = &dps_tcp_newreno;
	tcp->now_ms = now / 1000000;
	return 0;
fail:
	snprintf(err, errlen, "cannot set up TCP for %llu connections: %s",
		 (unsigned long long)c->tcp_max_conns, strerror(-rc));
	dps_tcp_destroy(e);
	return rc;
}

void dps_tcp_destroy(struct dps_engine *e)
{
	struct dps_tcp *tcp = e->tcp;

	if (tcp == NULL)
		return;
	if (tcp->socks != NULL)
		for (unsigned i = 0; i < tcp->n_socks; i++) {
			uintptr_t p = (uintptr_t)tcp->socks[i];

			if (p & 1)
				free((void *)(p & ~(uintptr_t)1));
		}
	/* Every connection, with or without a handle, is in the slab: walk the flow table for the
	 * connected ones and the handle table for the rest. */
	if (tcp->flows != NULL) {
		const void *key;
		void *data;
		uint32_t iter = 0;

		while (rte_hash_iterate(tcp->flows, &key, &data, &iter) >= 0) {
			struct dps_tcb *t = data;
			dps_tcp_free_chain(t->snd_q);
			dps_tcp_free_chain(t->rcv_q);
			dps_tcp_free_chain(t->ooo);
			t->snd_q = t->rcv_q = t->ooo = NULL;
		}
	}
	if (tcp->socks != NULL)
		for (unsigned i = 0; i < tcp->n_socks; i++) {
			uintptr_t p = (uintptr_t)tcp->socks[i];
			struct dps_tcb *t = (struct dps_tcb *)p;

			if (p != 0 && !(p & 1)) {
				dps_tcp_free_chain(t->snd_q);
				dps_tcp_free_chain(t->rcv_q);
				dps_tcp_free_chain(t->ooo);
				t->snd_q = t->rcv_q = t->ooo = NULL;
			}
		}
	dps_wheel_fini(&tcp->wheel);
	dps_slab_destroy(tcp->tcbs);
	rte_hash_free(tcp->flows);
	free(tcp->socks);
	free(tcp->free_handles);
	free(tcp->listeners);
	free(tcp->port_users);
	free(tcp->port_conns);
	free(tcp);
	e->tcp = NULL;
}

/* ---- handles ---- */

int dps_tcp_handle_alloc(struct dps_tcp *tcp, void *obj)
{
	int h;

	if (tcp->n_free > 0)
		h = tcp->free_handles[--tcp->n_free];
	else if (tcp->n_socks < tcp->max_socks)
		h = (int)tcp->n_socks++;
	else
		return -EMFILE;
	tcp->socks[h] = obj;
	return h;
}

void dps_tcp_handle_free(struct dps_tcp *tcp, int h)
{
	tcp->socks[h] = NULL;
	tcp->free_handles[tcp->n_free++] = h;
}

struct dps_tcb *dps_tcp_handle_tcb(struct dps_engine *e, int s)
{
	uintptr_t p;

	if (s < 0 || (unsigned)s >= e->tcp->n_socks)
		return NULL;
	p = (uintptr_t)e->tcp->socks[s];
	return (p & 1) ? NULL : (struct dps_tcb *)p;
}

struct dps_listener *dps_tcp_handle_listener(struct dps_engine *e, int s)
{
	uintptr_t p;

	if (s < 0 || (unsigned)s >= e->tcp->n_socks)
		return NULL;
	p = (uintptr_t)e->tcp->socks[s];
	return (p & 1) ? (struct dps_listener *)(p & ~(uintptr_t)1) : NULL;
}

bool dps_tcp_handle_valid(struct dps_engine *e, int s)
{
	return s >= 0 && (unsigned)s < e->tcp->n_socks && e->tcp->socks[s] != NULL;
}

/* ---- flows and listeners ---- */

/* Is t in the flow table? Connected, and not yet dropped (dps_tcp_drop unlinks it early). */
static bool flow_linked(const struct dps_tcb *t)
{
	return t->rport != 0 && !(t->flags & DPS_TF_DROPPED);
}

void dps_tcp_flow_del(struct dps_tcb *t)
{
	if (flow_linked(t)) {
		struct flow_key k = { t->laddr, t->raddr, t->lport, t->rport };
		rte_hash_del_key(t->eng->tcp->flows, &k);
	}
}

int dps_tcp_flow_add(struct dps_tcb *t)
{
	struct flow_key k = { t->laddr, t->raddr, t->lport, t->rport };
	int rc = rte_hash_add_key_data(t->eng->tcp->flows, &k, t);

	return rc < 0 ? rc : 0;
}

struct dps_tcb *dps_tcp_flow_find(struct dps_engine *e, uint32_t laddr, uint16_t lport,
				  uint32_t raddr, uint16_t rport)
{
	struct flow_key k = { laddr, raddr, lport, rport };
	void *data;

	return rte_hash_lookup_data(e->tcp->flows, &k, &data) < 0 ? NULL : data;
}

struct dps_listener *dps_tcp_listener_find(struct dps_engine *e, uint32_t laddr, uint16_t lport)
{
	struct dps_listener *any = NULL;

	for (unsigned i = 0; i < e->tcp->n_listeners; i++) {
		struct dps_listener *l = e->tcp->listeners[i];

		if (l->lport != lport)
			continue;
		if (l->laddr == laddr)
			return l;
		if (l->laddr == 0)
			any = l;
	}
	return any;
}

/* ---- ports ---- */

/* A port nobody uses at all: for bind(addr, 0) and listen, which hold it for every peer. */
static int pick_ephemeral(struct dps_engine *e, uint16_t *port)
{
	uint32_t n = EPHEMERAL_HI - EPHEMERAL_LO + 1;
	uint32_t start;

	/* RFC 6056 §3.3.1 (algorithm 1): a random start, then the next free port. */
	if (getrandom(&start, sizeof(start), GRND_NONBLOCK) != sizeof(start))
		start = (uint32_t)e->tcp->now_ms * 2654435761u;
	for (uint32_t i = 0; i < n; i++) {
		uint16_t p = (uint16_t)(EPHEMERAL_LO + (start + i) % n);
		if (e->tcp->port_users[p] == 0 && e->tcp->port_conns[p] == 0) {
			*port = p;
			return 0;
		}
	}
	return -EADDRNOTAVAIL;
}

/*
 * A port for connect from laddr to raddr:rport: RFC 6056 §3.3.3 (algorithm 3), the flow table
 * as the uniqueness check. Ports are unique per 4-tuple, not per engine, so K local addresses
 * give K times the ephemeral range towards one server port. A port bound or listened on
 * (port_users) is never taken. Returns 0 and *port, or -EADDRNOTAVAIL when every port of the
 * range is in use towards raddr:rport from laddr.
 */
static int pick_ephemeral4(struct dps_engine *e, uint32_t laddr, uint32_t raddr, uint16_t rport,
			   uint16_t *port)
{
	struct dps_tcp *tcp = e->tcp;
	uint32_t n = EPHEMERAL_HI - EPHEMERAL_LO + 1;
	uint32_t offset = dps_tcp_port_offset(&tcp->secret, laddr, raddr, rport);

	for (uint32_t i = 0; i < n; i++) {
		uint16_t p = (uint16_t)(EPHEMERAL_LO + (tcp->next_ephemeral++ + offset) % n);

		if (tcp->port_users[p] == 0 &&
		    dps_tcp_flow_find(e, laddr, p, raddr, rport) == NULL) {
			*port = p;
			return 0;
		}
	}
	return -EADDRNOTAVAIL;
}

/* Give t the local port port (0: an ephemeral one), counted in port_users. */
int dps_tcp_port_bind(struct dps_engine *e, struct dps_tcb *t, uint16_t port)
{
	if (port == 0) {
		int rc = pick_ephemeral(e, &port);
		if (rc < 0)
			return rc;
	} else if (e->tcp->port_users[port] > 0 || e->tcp->port_conns[port] > 0) {
		return -EADDRINUSE;
	}
	t->lport = port;
	e->tcp->port_users[port]++;
	return 0;
}

/*
 * The local address and port of an unbound (or address-only bound) connect. The address: the one
 * bound, else the entry of ip whose subnet holds raddr (the first one when none does, towards the
 * gateway); a range hands its addresses out in turn, moving on when one has no port left towards
 * raddr:rport. The port: per 4-tuple (pick_ephemeral4), counted in port_conns.
 */
const struct dps_net *dps_tcp_source_net(const struct dps_engine *e, uint32_t raddr)
{
	for (unsigned i = 0; i < e->nets.n; i++) {
		uint32_t mask = rte_cpu_to_be_32(~0u << (32 - e->nets.net[i].len));
		if (((raddr ^ e->nets.net[i].addr) & mask) == 0)
			return &e->nets.net[i];
	}
	return &e->nets.net[0];
}

int dps_tcp_port_connect(struct dps_engine *e, struct dps_tcb *t, uint32_t raddr, uint16_t rport)
{
	const struct dps_net *net = dps_tcp_source_net(e, raddr);
	uint32_t tries = 1, first = 0;
	uint16_t port;
	int rc = -EADDRNOTAVAIL;

	if (t->laddr == 0) {
		tries = net->count;
		first = e->tcp->next_src++;
	}
	for (uint32_t k = 0; k < tries; k++) {
		uint32_t laddr = t->laddr;

		if (laddr == 0)
			laddr = htonl(ntohl(net->addr) + (first + k) % net->count);
		rc = pick_ephemeral4(e, laddr, raddr, rport, &port);
		if (rc == 0) {
			t->laddr = laddr;
			t->lport = port;
			t->flags |= DPS_TF_PORT4;
			e->tcp->port_conns[port]++;
			return 0;
		}
	}
	return rc;
}

/* ---- accept queues ---- */

void dps_tcp_accq_push(struct dps_listener *l, struct dps_tcb *t)
{
	struct dps_tcb *after = l->acc_tail;

	if (dps_tcp_is_high(t)) { /* DESIGN.md §8: accepted first */
		after = l->acc_high_tail;
		l->acc_high_tail = t;
	}
	if (after == NULL) {
		t->accept_next = l->acc_head;
		l->acc_head = t;
	} else {
		t->accept_next = after->accept_next;
		after->accept_next = t;
	}
	if (l->acc_tail == after)
		l->acc_tail = t;
}

void dps_tcp_accq_unlink(struct dps_listener *l, struct dps_tcb *t, struct dps_tcb *prev)
{
	if (prev != NULL)
		prev->accept_next = t->accept_next;
	else
		l->acc_head = t->accept_next;
	if (l->acc_tail == t)
		l->acc_tail = prev;
	if (l->acc_high_tail == t) /* the high ones lead: prev is high too, or none */
		l->acc_high_tail = prev;
	t->accept_next = NULL;
}
