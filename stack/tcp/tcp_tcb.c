/*
 * tcp_tcb: the life of a connection's control block (FreeBSD keeps it in tcp_subr.c).
 *
 * Call order: dps_tcp_tcb_alloc gives a block its defaults, for socket() (tcp_usr.c) or for a
 * listener's SYN (tcp_input.c); only dps_tcp_set_state moves it between states; it ends by
 * dps_tcp_drop (a failure or a reset: CLOSED, and freed at once unless a handle still refers to
 * it) or by dps_tcp_tcb_abort (a RST now, then freed); dps_tcp_tcb_free takes it out of the flow
 * table and the timer wheel, gives back its port count and its queued buffers
 * (dps_tcp_free_chain) and returns it to the slab.
 *
 * A connection lives on after close() until its closing handshake ends (it is then "orphan": no
 * handle), and is freed by dps_tcp_tcb_free().
 */
#include "tcp.h"

#include "dps_mempool.h"

#include <string.h>

#include <rte_mbuf.h>

void dps_tcp_free_chain(struct rte_mbuf *m)
{
	while (m != NULL) {
		struct rte_mbuf *next = m->next;

		m->next = NULL;
		m->nb_segs = 1;
		rte_pktmbuf_free(m);
		m = next;
	}
}

struct dps_tcb *dps_tcp_tcb_alloc(struct dps_engine *e)
{
	struct dps_tcp *tcp = e->tcp;
	struct dps_tcb *t = dps_slab_alloc(tcp->tcbs);

	if (t == NULL)
		return NULL;
	memset(t, 0, sizeof(*t));
	dps_timer_init(&t->timer, dps_tcp_timer_fire);
	t->eng = e;
	t->handle = -1;
	t->state = DPS_TCP_CLOSED;
	t->snd_buf = tcp->snd_buf;
	t->rcv_buf = tcp->rcv_buf;
	t->rto_us = 1000000; /* RFC 6298 §2.1 */
	t->cc = tcp->cc_default;
	t->keep_idle_ms = 7200 * 1000;
	t->keep_intvl_ms = 75 * 1000;
	t->keep_cnt = 9;
	t->mss = 536;
	tcp->conns++;
	tcp->by_state[DPS_TCP_CLOSED]++;
	return t;
}

void dps_tcp_tcb_free(struct dps_tcb *t)
{
	struct dps_tcp *tcp = t->eng->tcp;

	dps_wheel_cancel(&tcp->wheel, &t->timer);
	dps_tcp_flow_del(t);
	if (t->lport != 0 && (t->flags & DPS_TF_PORT4) && tcp->port_conns[t->lport] > 0)
		tcp->port_conns[t->lport]--;
	else if (t->lport != 0 && !(t->flags & (DPS_TF_CHILD | DPS_TF_PORT4)) &&
		 tcp->port_users[t->lport] > 0)
		tcp->port_users[t->lport]--;
	dps_tcp_free_chain(t->snd_q);
	dps_tcp_free_chain(t->rcv_q);
	dps_tcp_free_chain(t->ooo);
	tcp->by_state[t->state]--;
	tcp->conns--;
	dps_slab_free(tcp->tcbs, t);
}

void dps_tcp_set_state(struct dps_tcb *t, enum dps_tcp_state st)
{
	struct dps_tcp *tcp = t->eng->tcp;

	tcp->by_state[t->state]--;
	tcp->by_state[st]++;
	t->state = (uint8_t)st;
}

int dps_tcp_take_error(struct dps_tcb *t)
{
	int err = t->so_error;

	t->so_error = 0;
	return err;
}

/* Abort: RST now (if synchronized), then free. */
void dps_tcp_tcb_abort(struct dps_tcb *t)
{
	if (t->state != DPS_TCP_CLOSED && t->state != DPS_TCP_SYN_SENT &&
	    t->state != DPS_TCP_TIME_WAIT) {
		dps_tcp_send_ctl(t, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, t->snd_max);
		t->eng->ctr[DPS_CTR_tcp_rst_tx]++;
	}
	dps_tcp_set_state(t, DPS_TCP_CLOSED);
	dps_tcp_tcb_free(t);
}

void dps_tcp_drop(struct dps_tcb *t, int err)
{
	if (err != 0)
		t->so_error = (int8_t)err;
	if (t->listener != NULL) { /* a child never seen by accept() */
		struct dps_listener *l = t->listener;

		if (t->state == DPS_TCP_SYN_RCVD) {
			l->n_syn--;
		} else { /* established, waiting in the accept queue: unlink it */
			struct dps_tcb *q = l->acc_head, *prev = NULL;

			while (q != NULL && q != t) {
				prev = q;
				q = q->accept_next;
			}
			if (q == t) {
				dps_tcp_accq_unlink(l, t, prev);
				l->n_accept--;
			}
			t->accept_next = NULL;
		}
		t->listener = NULL;
	}
	dps_tcp_set_state(t, DPS_TCP_CLOSED);
	if (t->handle < 0) {
		dps_tcp_tcb_free(t);
		return;
	}
	/* The handle keeps the tcb (for SO_ERROR, recv of what is left); no more timers, no flow. */
	dps_wheel_cancel(&t->eng->tcp->wheel, &t->timer);
	memset(t->deadline, 0, sizeof(t->deadline));
	dps_tcp_flow_del(t);
	t->flags |= DPS_TF_DROPPED;
	dps_tcp_notify(t);
}
