/*
 * tcp_input: a segment arrives (RFC 9293 §3.10.7, "SEGMENT ARRIVES").
 *
 * Call order: dps_tcp_input parses and finds the connection (flow table) or the listener, else
 * answers with RST. listen_input handles a SYN to a listener (a new connection in SYN_RCVD).
 * conn_input runs the RFC's steps for a connection: SYN_SENT apart (syn_sent_input); for the others
 * PAWS, sequence acceptability, RST (RFC 5961 §3), SYN (RFC 5961 §4), ACK (RFC 5961 §5, NewReno
 * recovery RFC 6582, RTT RFC 6298/7323, window update), data (in order into the receive queue,
 * else the out-of-order queue), FIN; then output. A buffer that carries accepted payload is kept
 * on the connection (no copy) and freed by recv(); every other is freed here.
 */
#include "dev.h"
#include "prio.h"
#include "tcp.h"

#include "wire.h"

#include <errno.h>

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#define DPS_DELACK_MS 40 /* Linux's minimum delayed-ACK time */
#define DPS_QUICKACKS 8
#define CHALLENGE_ACK_LIMIT 1000 /* per second and engine (Linux tcp_challenge_ack_limit) */
#define PAWS_IDLE_MS (24ull * 24 * 3600 * 1000) /* RFC 7323 §5.5: 24 days */

static uint32_t *seqf(const struct dps_tcb *t, struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, t->eng->tcp->seq_dynfield, uint32_t *);
}

static void challenge_ack(struct dps_tcb *t)
{
	struct dps_tcp *tcp = t->eng->tcp;

	if (tcp->now_ms - tcp->challenge_window_ms >= 1000) {
		tcp->challenge_window_ms = tcp->now_ms;
		tcp->challenge_count = 0;
	}
	if (tcp->challenge_count++ >= CHALLENGE_ACK_LIMIT)
		return;
	t->eng->ctr[DPS_CTR_tcp_challenge_ack_tx]++;
	dps_tcp_send_ack(t);
}

/* Options agreed in the handshake (RFC 7323 §2.2, §3.2; RFC 2018 §2; RFC 9293 §3.7.1). */
static void negotiate(struct dps_tcb *t, const struct dps_tcp_seg *s, bool we_offered_all)
{
	const struct dps_tcp_opts *o = &s->opts;
	uint16_t mtu_mss = (uint16_t)(t->eng->mtu - 40);
	uint16_t peer_mss = o->has_mss ? o->mss : 536;

	if (o->has_wscale && we_offered_all) {
		t->flags |= DPS_TF_WS;
		t->snd_wscale = o->wscale;
	} else {
		t->snd_wscale = 0;
		t->rcv_wscale = 0;
	}
	if (o->sack_perm && we_offered_all)
		t->flags |= DPS_TF_SACK;
	if (o->has_ts && we_offered_all) {
		t->flags |= DPS_TF_TS;
		t->ts_recent = o->tsval;
		t->ts_recent_age_ms = t->eng->tcp->now_ms;
	}
	t->mss = peer_mss < mtu_mss ? peer_mss : mtu_mss;
	if (t->mss < 64)
		t->mss = 64; /* a silly peer MSS must not make us send one-byte segments */
	if (t->flags & DPS_TF_TS)
		t->mss = (uint16_t)(t->mss - 12);
	t->snd_wnd = s->wnd; /* RFC 7323 §2.2: the window of a SYN is never scaled */
	t->snd_up_max = t->snd_wnd;
	t->snd_wl1 = s->seq;
	t->snd_wl2 = s->ack;
}

/* The class the NIC layer gave the frame m (DPS_PRIO_CLASS_* | DPS_PRIO_CONN). */
static uint8_t rx_class(const struct dps_engine *e, struct rte_mbuf *m)
{
	return dps_pkt_meta(&e->nif, m)->cls;
}

/*
 * The rules' TCP-layer point (DESIGN.md §8): the class the NIC layer gave the segment, which its
 * mbuf carries (rx_class). A 'conn' rule pins the connection's class at its first matching
 * segment; a high segment's data marks the connection high until the application has read past
 * it.
 */
static void prio_pin(struct dps_tcb *t, uint8_t cls)
{
	if (!(cls & DPS_PRIO_CONN) || (t->prio & (DPS_TP_PIN_HIGH | DPS_TP_PIN_LOW)))
		return;
	t->prio |=
	    (cls & DPS_PRIO_CLASS_MASK) == DPS_PRIO_CLASS_HIGH ? DPS_TP_PIN_HIGH : DPS_TP_PIN_LOW;
	t->eng->ctr[DPS_CTR_prio_tcp_pins]++;
}

static void prio_mark(struct dps_tcb *t, uint8_t cls, uint32_t seq, uint32_t len)
{
	if ((cls & DPS_PRIO_CLASS_MASK) != DPS_PRIO_CLASS_HIGH || (t->prio & DPS_TP_PIN_LOW))
		return;
	if (!(t->prio & DPS_TP_MARK) || seq_gt(seq + len, t->prio_seq))
		t->prio_seq = seq + len;
	t->prio |= DPS_TP_MARK;
	t->eng->ctr[DPS_CTR_prio_tcp_marks]++;
}

static void enter_time_wait(struct dps_tcb *t)
{
	dps_tcp_set_state(t, DPS_TCP_TIME_WAIT);
	for (int k = 0; k < DPS_TT_COUNT; k++)
		t->deadline[k] = 0;
	dps_tcp_timer_set(t, DPS_TT_2MSL, t->eng->tcp->now_ms + t->eng->tcp->time_wait_ms);
}

static void listen_input(struct dps_engine *e, struct dps_listener *l, struct rte_mbuf *m,
			 const struct dps_ipv4_view *ip, const struct dps_tcp_seg *s)
{
	struct dps_tcb *t;

	/* RFC 9293 §3.10.7.2 */
	if (s->flags & RTE_TCP_RST_FLAG) {
		dps_engine_drop(e, m, DPS_DROP_tcp_state);
		return;
	}
	if (s->flags & RTE_TCP_ACK_FLAG) {
		dps_tcp_reset_for(e, ip, s);
		dps_engine_drop(e, m, DPS_DROP_tcp_no_socket);
		return;
	}
	/* A SYN with FIN is no connection request anybody sends (Linux drops it too). */
	if (!(s->flags & RTE_TCP_SYN_FLAG) || (s->flags & RTE_TCP_FIN_FLAG)) {
		dps_engine_drop(e, m, DPS_DROP_tcp_state);
		return;
	}
	if (l->n_syn >= l->backlog || l->n_accept >= l->backlog) {
		dps_engine_drop(e, m, DPS_DROP_tcp_syn_queue_full);
		return;
	}
	t = dps_tcp_tcb_alloc(e);
	if (t == NULL) {
		dps_engine_drop(e, m, DPS_DROP_tcp_no_memory);
		return;
	}
	t->laddr = ip->dst;
	t->raddr = ip->src;
	t->lport = s->dport;
	t->rport = s->sport;
	prio_pin(t, rx_class(e, m));
	if (dps_tcp_flow_add(t) < 0) {
		t->rport = 0; /* not linked */
		t->lport = 0;
		dps_tcp_tcb_free(t);
		dps_engine_drop(e, m, DPS_DROP_tcp_no_memory);
		return;
	}
	t->listener = l;
	l->n_syn++;
	t->flags |= l->flags_inherit | DPS_TF_CHILD;
	t->snd_buf = l->snd_buf;
	t->rcv_buf = l->rcv_buf;
	t->rcv_mss = (uint16_t)(e->mtu - 40);
	t->rcv_wscale = 7;
	t->irs = s->seq;
	t->rcv_nxt = s->seq + 1;
	t->rcv_adv = t->rcv_nxt;
	t->iss = dps_tcp_isn(&e->tcp->secret, t->laddr, t->lport, t->raddr, t->rport,
			     e->tcp->now_ms * 1000000);
	t->snd_una = t->snd_nxt = t->snd_max = t->recover = t->high_rxt = t->iss;
	t->ts_offset = dps_tcp_ts_offset(&e->tcp->secret, t->laddr, t->raddr); /* RFC 7323 §7.1 */
	negotiate(t, s, true);
	t->cc->init(t);
	t->quickacks = DPS_QUICKACKS;
	t->last_rcv_ms = e->tcp->now_ms;
	dps_tcp_set_state(t, DPS_TCP_SYN_RCVD);
	e->ctr[DPS_CTR_tcp_passive_opens]++;
	rte_pktmbuf_free(m); /* data on a SYN is not kept: the peer sends it again (as Linux) */
	dps_tcp_output(t);
}

static void established(struct dps_tcb *t)
{
	dps_tcp_set_state(t, DPS_TCP_ESTABLISHED);
	t->eng->ctr[DPS_CTR_tcp_established]++;
	t->backoff = 0;
	t->syn_retries = 0;
	t->quickacks = DPS_QUICKACKS;
	dps_tcp_timer_clear(t, DPS_TT_REXMT);
	if (t->flags & DPS_TF_KEEPALIVE)
		dps_tcp_timer_set(t, DPS_TT_KEEP, t->eng->tcp->now_ms + t->keep_idle_ms);
}

/*
 * Our SYN met an unacceptable ACK and we reset it (RFC 9293 §3.10.7.3). The usual sender of that
 * ACK is the peer's TIME_WAIT for the same 4-tuple answering a SYN it found no newer than the old
 * connection (RFC 9293 §3.10.7.4 with RFC 5961 §4's challenge ACK; Linux tcp_timewait_state_process
 * returns TCP_TW_ACK), and our RST, at SEG.ACK = its RCV.NXT, ends that TIME_WAIT (RFC 1337's
 * "TIME-WAIT assassination", which Linux allows unless net.ipv4.tcp_rfc1337 is set). The SYN
 * would now be accepted, so send it again at once instead of after the RTO (1 s). Linux does the
 * same: tcp_rcv_synsent_state_process() re-arms the retransmit timer to TCP_TIMEOUT_MIN (2 ms)
 * for such an ACK if icsk_retransmits == 0 ("tcp: Reduce SYN resend delay if a suspicous ACK is
 * received", Linux 5.8). Bounded as there: once per connect(), so that a peer answering every SYN
 * with a bad ACK gets one extra SYN, not a loop (later bad ACKs get their RST and the SYN waits
 * for its timer). Not a timeout, so no backoff (RFC 6298 §5.5 doubles on expiry) and the RTO
 * starts again from this SYN (§5.1); it is a SYN retransmission all the same (counted).
 */
static void resend_syn_after_rst(struct dps_tcb *t)
{
	if (t->flags & DPS_TF_SYN_RESENT)
		return;
	t->flags |= DPS_TF_SYN_RESENT;
	t->eng->ctr[DPS_CTR_tcp_rexmit_syn]++;
	/* The first SYN was answered (by the bad ACK): a SYN-ACK can only answer this one, so its
	 * RTT is timed from here. */
	t->rtt_start_ms = t->eng->tcp->now_ms;
	dps_tcp_retransmit(t);
	dps_tcp_timer_clear(t, DPS_TT_REXMT);
	dps_tcp_rexmt_arm(t);
}

static void syn_sent_input(struct dps_tcb *t, const struct dps_tcp_seg *s)
{
	bool ack = s->flags & RTE_TCP_ACK_FLAG;

	/* RFC 9293 §3.10.7.3 */
	if (ack && (seq_leq(s->ack, t->iss) || seq_gt(s->ack, t->snd_max))) {
		if (!(s->flags & RTE_TCP_RST_FLAG)) {
			dps_tcp_send_ctl(t, RTE_TCP_RST_FLAG, s->ack);
			t->eng->ctr[DPS_CTR_tcp_rst_tx]++;
			resend_syn_after_rst(t);
		}
		t->eng->drop[DPS_DROP_tcp_bad_ack]++;
		return;
	}
	if (s->flags & RTE_TCP_RST_FLAG) {
		if (ack) {
			t->eng->ctr[DPS_CTR_tcp_rst_rx]++;
			dps_tcp_drop(t, -ECONNREFUSED);
		} else {
			t->eng->drop[DPS_DROP_tcp_rst_ignored]++;
		}
		return;
	}
	if (!(s->flags & RTE_TCP_SYN_FLAG)) {
		t->eng->drop[DPS_DROP_tcp_state]++;
		return;
	}
	t->irs = s->seq;
	t->rcv_nxt = s->seq + 1;
	t->rcv_adv = t->rcv_nxt;
	negotiate(t, s, true);
	t->cc->init(t); /* the MSS is known now */
	t->last_rcv_ms = t->eng->tcp->now_ms;
	if (ack) {
		t->snd_una = s->ack;
		if (t->snd_wscale && (t->flags & DPS_TF_WS))
			t->snd_wnd = (uint32_t)s->wnd << 0; /* SYN-ACK window: unscaled */
		if ((t->flags & DPS_TF_TS) && s->opts.tsecr != 0)
			dps_tcp_rtt_sample(
			    t,
			    ((uint32_t)t->eng->tcp->now_ms + t->ts_offset - s->opts.tsecr) * 1000u);
		else if (t->backoff == 0)
			dps_tcp_rtt_sample(t, (uint32_t)(t->eng->tcp->now_ms - t->rtt_start_ms) *
						  1000u);
		established(t);
		t->flags |= DPS_TF_ACKNOW;
		dps_tcp_output(t);
		dps_tcp_notify(t);
		return;
	}
	/* Simultaneous open (RFC 9293 §3.5, figure 8): SYN-ACK with our ISN. */
	dps_tcp_set_state(t, DPS_TCP_SYN_RCVD);
	dps_tcp_send_ctl(t, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, t->iss);
}

/* RFC 9293 §3.10.7.4 "first: check sequence number". Returns false to drop the segment. */
static bool acceptable(const struct dps_tcb *t, uint32_t seq, uint32_t len)
{
	uint32_t wnd = seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;

	if (len == 0)
		return wnd == 0 ? seq == t->rcv_nxt : seq_in(seq, t->rcv_nxt, t->rcv_nxt + wnd);
	if (wnd == 0)
		return seq == t->rcv_nxt; /* only its ACK and RST are used: see conn_input */
	return seq_in(seq, t->rcv_nxt, t->rcv_nxt + wnd) ||
	       seq_in(seq + len - 1, t->rcv_nxt, t->rcv_nxt + wnd);
}

/* A reset was accepted (RFC 9293 §3.10.7.4 second, RFC 5961 §3.2 exact match). */
static void reset_input(struct dps_tcb *t)
{
	t->eng->ctr[DPS_CTR_tcp_rst_rx]++;
	switch ((enum dps_tcp_state)t->state) {
	case DPS_TCP_SYN_RCVD:
		/* A passive child goes away quietly; an active (simultaneous) open is refused. */
		dps_tcp_drop(t, t->listener != NULL || t->handle < 0 ? 0 : -ECONNREFUSED);
		return;
	case DPS_TCP_ESTABLISHED:
	case DPS_TCP_FIN_WAIT_1:
	case DPS_TCP_FIN_WAIT_2:
		dps_tcp_drop(t, -ECONNRESET);
		return;
	case DPS_TCP_CLOSE_WAIT:
		/* The peer had closed: Linux reports EPIPE, not ECONNRESET (tcp_reset()). */
		dps_tcp_drop(t, -EPIPE);
		return;
	case DPS_TCP_CLOSING:
	case DPS_TCP_LAST_ACK:
	case DPS_TCP_TIME_WAIT:
	case DPS_TCP_CLOSED:
	case DPS_TCP_LISTEN:
	case DPS_TCP_SYN_SENT:
	case DPS_TCP_NSTATES:
		dps_tcp_drop(t, 0);
		return;
	}
}

/* Free the acknowledged bytes at the head of the send queue. */
static void snd_q_trim(struct dps_tcb *t, uint32_t n)
{
	t->snd_queued -= n;
	while (n > 0 && t->snd_q != NULL) {
		struct rte_mbuf *m = t->snd_q;
		uint32_t dl = rte_pktmbuf_data_len(m);

		if (n < dl) {
			rte_pktmbuf_adj(m, (uint16_t)n);
			return;
		}
		n -= dl;
		t->snd_q = m->next;
		m->next = NULL;
		rte_pktmbuf_free(m);
	}
	if (t->snd_q == NULL)
		t->snd_q_tail = NULL;
}

static uint32_t data_end(const struct dps_tcb *t)
{
	return t->snd_una + t->snd_queued;
}

static bool fin_acked(const struct dps_tcb *t)
{
	return (t->flags & DPS_TF_FIN_SENT) && t->snd_queued == 0 && t->snd_una == t->snd_max;
}

/* The ACK field (RFC 9293 §3.10.7.4 fifth). Returns false when t was freed or the segment must
 * be dropped. */
static bool ack_input(struct dps_tcb *t, const struct dps_tcp_seg *s)
{
	struct dps_engine *e = t->eng;
	uint32_t max_wnd = t->snd_up_max > t->mss ? t->snd_up_max : t->mss;
	uint32_t wnd = (uint32_t)s->wnd << t->snd_wscale;

	if (t->state == DPS_TCP_SYN_RCVD) {
		struct dps_listener *l = t->listener;

		if (!seq_gt(s->ack, t->snd_una) || seq_gt(s->ack, t->snd_max)) {
			dps_tcp_send_ctl(t, RTE_TCP_RST_FLAG, s->ack);
			e->ctr[DPS_CTR_tcp_rst_tx]++;
			e->drop[DPS_DROP_tcp_bad_ack]++;
			return false;
		}
		/* A child whose listener was closed meanwhile. */
		if (l == NULL && (t->flags & DPS_TF_CHILD)) {
			dps_tcp_send_ctl(t, RTE_TCP_RST_FLAG, s->ack);
			e->ctr[DPS_CTR_tcp_rst_tx]++;
			dps_tcp_drop(t, 0);
			return false;
		}
		if (l != NULL && l->n_accept >= l->backlog) {
			/* Linux: drop the ACK, the SYN-ACK is retransmitted later. */
			e->drop[DPS_DROP_tcp_accept_queue_full]++;
			return false;
		}
		t->snd_una = s->ack;
		t->snd_wnd = wnd;
		t->snd_up_max = wnd;
		t->snd_wl1 = s->seq;
		t->snd_wl2 = s->ack;
		if ((t->flags & DPS_TF_TS) && s->opts.has_ts && s->opts.tsecr != 0)
			dps_tcp_rtt_sample(
			    t, ((uint32_t)e->tcp->now_ms + t->ts_offset - s->opts.tsecr) * 1000u);
		else if (t->backoff == 0) /* Karn: only an SYN-ACK sent once gives a sample */
			dps_tcp_rtt_sample(t, 1000u * (uint32_t)(e->tcp->now_ms - t->rtt_start_ms));
		established(t);
		if (l != NULL) {
			l->n_syn--;
			l->n_accept++;
			dps_tcp_accq_push(l, t);
			dps_tcp_listener_notify(l);
		} else {
			dps_tcp_notify(t);
		}
		if (t->flags & DPS_TF_FIN_QUEUED) /* closed while in SYN_RCVD */
			dps_tcp_set_state(t, DPS_TCP_FIN_WAIT_1);
		return true;
	}
	/* RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT]. */
	if (seq_gt(s->ack, t->snd_max) || seq_lt(s->ack, t->snd_una - max_wnd)) {
		e->drop[DPS_DROP_tcp_bad_ack]++;
		challenge_ack(t);
		return false;
	}
	if ((t->flags & DPS_TF_SACK) && s->opts.n_sack > 0)
		dps_tcp_sack_update(t, &s->opts);
	dps_tcp_tlp_ack(t, s); /* RFC 8985 §7.4 */
	if (seq_gt(s->ack, t->snd_una)) {
		uint32_t acked = s->ack - t->snd_una;
		uint32_t acked_data = seq_gt(s->ack, data_end(t)) ? t->snd_queued : acked;

		dps_tcp_cc_note_flight(t, t->snd_max - t->snd_una); /* RFC 7661: cwnd-limited? */
		snd_q_trim(t, acked_data);
		t->snd_una = s->ack;
		if (seq_lt(t->snd_nxt, t->snd_una))
			t->snd_nxt = t->snd_una;
		/* RTT (RFC 7323 §4.3 with timestamps, else Karn's timed segment). */
		if ((t->flags & DPS_TF_TS) && s->opts.has_ts && s->opts.tsecr != 0)
			dps_tcp_rtt_sample(
			    t, ((uint32_t)e->tcp->now_ms + t->ts_offset - s->opts.tsecr) * 1000u);
		else if ((t->flags & DPS_TF_RTT_TIMING) && seq_gt(s->ack, t->rtt_seq)) {
			t->flags &= ~(uint32_t)DPS_TF_RTT_TIMING;
			dps_tcp_rtt_sample(t, 1000u * (uint32_t)(e->tcp->now_ms - t->rtt_start_ms));
		}
		t->backoff = 0;
		if (t->flags & DPS_TF_SACK)
			dps_tcp_sack_update(t,
					    &s->opts); /* trims the scoreboard to the new SND.UNA */
		if ((t->flags & (DPS_TF_IN_RECOVERY | DPS_TF_SACK)) ==
		    (DPS_TF_IN_RECOVERY | DPS_TF_SACK)) {
			if (seq_geq(s->ack, t->recover)) {
				t->cwnd = t->ssthresh; /* RFC 6675 §5: recovery ends */
				t->flags &= ~(uint32_t)DPS_TF_IN_RECOVERY;
			} else {
				dps_tcp_sack_recover(t);
			}
		} else if (t->flags & DPS_TF_IN_RECOVERY) {
			if (seq_geq(s->ack, t->recover)) {
				/* RFC 6582 §3.2 step 3: full acknowledgment, deflate. */
				uint32_t flight = t->snd_max - t->snd_una;
				uint32_t c = (flight > t->mss ? flight : t->mss) + t->mss;
				t->cwnd = c < t->ssthresh ? c : t->ssthresh;
				t->flags &= ~(uint32_t)DPS_TF_IN_RECOVERY;
			} else {
				/* Partial acknowledgment: retransmit the next hole, deflate by the amount
				 * acked, add back one MSS (RFC 6582 §3.2 step 4). */
				dps_tcp_retransmit(t);
				e->ctr[DPS_CTR_tcp_rexmit_fast]++;
				t->cwnd = (t->cwnd > acked ? t->cwnd - acked : 0) + t->mss;
				dps_tcp_timer_clear(t, DPS_TT_REXMT);
			}
		} else {
			t->cc->on_ack(t, acked_data, e->tcp->now_ms * 1000);
		}
		t->dupacks = 0;
		dps_tcp_timer_clear(t, DPS_TT_REXMT);
		if (t->snd_una != t->snd_max) {
			t->unacked_since_ms = e->tcp->now_ms | 1; /* progress: count anew */
			dps_tcp_rexmt_arm(t);
			dps_tcp_tlp_arm(t); /* RFC 8985 §7.2 */
		} else {
			t->unacked_since_ms = 0;
		}
		dps_tcp_notify(t);
	} else if (s->ack == t->snd_una && !(s->flags & (RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG)) &&
		   t->snd_max != t->snd_una && t->snd_wnd != 0 && wnd != 0 &&
		   ((s->len == 0 && wnd == t->snd_wnd) ||
		    ((t->flags & DPS_TF_SACK) && s->opts.n_sack > 0))) {
		/* RFC 5681 §2: a duplicate ACK. With SACK (RFC 6675 §2) any ACK that carries SACK
		 * blocks counts, even when it carries data or moves the window (a peer that sends
		 * too, or whose application reads, does both). */
		e->ctr[DPS_CTR_tcp_dupacks_rx]++;
		t->dupacks++;
		if ((t->flags & DPS_TF_SACK) && !(t->flags & DPS_TF_IN_RECOVERY) &&
		    (t->dupacks >= 3 || dps_tcp_sack_is_lost(t, t->snd_una)) &&
		    seq_geq(s->ack, t->recover)) {
			/* RFC 6675 §5 step 4: enter loss recovery, resend the first segment. */
			t->cc->on_loss(t);
			t->cwnd = t->ssthresh;
			t->recover = t->snd_max;
			t->flags |= DPS_TF_IN_RECOVERY;
			t->flags &= ~(uint32_t)DPS_TF_RTT_TIMING;
			dps_tcp_retransmit(t);
			e->ctr[DPS_CTR_tcp_rexmit_fast]++;
			t->high_rxt = t->snd_una + dps_tcp_rexmit_len(t, &(bool){ false });
			t->rescue_rxt = t->high_rxt; /* RFC 6675 §5 step 4.3 */
			dps_tcp_sack_recover(t);
			dps_tcp_timer_clear(t, DPS_TT_REXMT);
			dps_tcp_rexmt_arm(t);
		} else if ((t->flags & (DPS_TF_IN_RECOVERY | DPS_TF_SACK)) ==
			   (DPS_TF_IN_RECOVERY | DPS_TF_SACK)) {
			dps_tcp_sack_recover(t);
		} else if (!(t->flags & DPS_TF_SACK) && t->dupacks == 3 &&
			   !(t->flags & DPS_TF_IN_RECOVERY) && seq_gt(s->ack - 1, t->recover - 1)) {
			/* RFC 6582 §3.2 steps 1-2: fast retransmit, enter recovery. */
			t->cc->on_loss(t);
			t->recover = t->snd_max;
			t->flags |= DPS_TF_IN_RECOVERY;
			t->flags &= ~(uint32_t)DPS_TF_RTT_TIMING;
			dps_tcp_retransmit(t);
			e->ctr[DPS_CTR_tcp_rexmit_fast]++;
			t->cwnd = t->ssthresh + 3u * t->mss;
			dps_tcp_timer_clear(t, DPS_TT_REXMT);
			dps_tcp_rexmt_arm(t);
		} else if (t->flags & DPS_TF_IN_RECOVERY) {
			t->cwnd += t->mss; /* step 3 of RFC 5681 §3.2: inflate */
		}
	}
	/* Window update (RFC 9293 §3.10.7.4): only from a newer segment. */
	if (seq_lt(t->snd_wl1, s->seq) || (t->snd_wl1 == s->seq && seq_leq(t->snd_wl2, s->ack))) {
		bool opened = t->snd_wnd == 0 && wnd > 0;

		t->snd_wnd = wnd;
		t->snd_wl1 = s->seq;
		t->snd_wl2 = s->ack;
		if (wnd > t->snd_up_max)
			t->snd_up_max = wnd;
		if (opened) {
			/* A zero-window probe byte the peer did not take (its ACK stayed at SND.UNA)
			 * is not outstanding: send it again as ordinary data. */
			if (t->deadline[DPS_TT_PERSIST] != 0 && seq_gt(t->snd_max, t->snd_una))
				t->snd_nxt = t->snd_max = t->snd_una;
			dps_tcp_timer_clear(t, DPS_TT_PERSIST);
			t->backoff = 0;
		}
	}
	/* Our FIN acknowledged? */
	if (fin_acked(t)) {
		switch ((enum dps_tcp_state)t->state) {
		case DPS_TCP_FIN_WAIT_1:
			dps_tcp_set_state(t, DPS_TCP_FIN_WAIT_2);
			dps_tcp_timer_clear(t, DPS_TT_REXMT);
			if (t->handle < 0)
				dps_tcp_timer_set(t, DPS_TT_2MSL,
						  e->tcp->now_ms + dps_tcp_fin_wait_2_ms());
			break;
		case DPS_TCP_CLOSING:
			enter_time_wait(t);
			break;
		case DPS_TCP_LAST_ACK:
			dps_tcp_drop(t, 0);
			return false;
		default:
			break;
		}
	}
	return true;
}

/* Move what the out-of-order queue now continues into the receive queue. */
static void ooo_pull(struct dps_tcb *t)
{
	while (t->ooo != NULL) {
		struct rte_mbuf *m = t->ooo;
		uint32_t seq = *seqf(t, m), len = rte_pktmbuf_pkt_len(m);

		if (seq_gt(seq, t->rcv_nxt))
			break;
		t->ooo = m->next;
		m->next = NULL;
		t->ooo_bytes -= len;
		t->ooo_segs--;
		if (seq_leq(seq + len, t->rcv_nxt)) { /* entirely old by now */
			rte_pktmbuf_free(m);
			continue;
		}
		rte_pktmbuf_adj(m, (uint16_t)(t->rcv_nxt - seq));
		len = rte_pktmbuf_pkt_len(m);
		if (t->rcv_q_tail != NULL)
			t->rcv_q_tail->next = m;
		else
			t->rcv_q = m;
		t->rcv_q_tail = m;
		t->rcv_queued += len;
		t->rcv_nxt += len;
	}
}

/* Keep m (payload only, in sequence at seq) in the out-of-order queue, sorted. Returns false when
 * it was not kept (duplicate or no room): then the caller frees it. */
static bool ooo_insert(struct dps_tcb *t, struct rte_mbuf *m, uint32_t seq)
{
	struct rte_mbuf **pp = &t->ooo;
	uint32_t len = rte_pktmbuf_pkt_len(m);

	/* Bounded twice: the payload by the receive buffer, and the buffers holding it by twice
	 * the receive buffer (as Linux charges an skb's truesize), so that tiny out-of-order
	 * segments cannot pin thousands of packet buffers (the engine's whole pool) per connection;
	 * a window of full-sized segments always fits. */
	if (t->rcv_queued + t->ooo_bytes + len > t->rcv_buf || t->ooo_segs == UINT16_MAX ||
	    (uint64_t)(t->ooo_segs + 1u) * m->buf_len > 2ull * t->rcv_buf) {
		t->eng->drop[DPS_DROP_tcp_ooo_full]++;
		return false;
	}
	while (*pp != NULL && seq_lt(*seqf(t, *pp), seq))
		pp = &(*pp)->next;
	/* A segment that starts where a queued one starts and is no longer is a duplicate. */
	if (*pp != NULL && *seqf(t, *pp) == seq && rte_pktmbuf_pkt_len(*pp) >= len)
		return false;
	*seqf(t, m) = seq;
	t->last_ooo_seq = seq;
	m->next = *pp;
	*pp = m;
	t->ooo_bytes += len;
	t->ooo_segs++;
	t->eng->ctr[DPS_CTR_tcp_ooo_segs]++;
	return true;
}

/* Data (RFC 9293 §3.10.7.4 seventh). m starts at the payload (len bytes at seq, trimmed to the
 * window). Returns true when m was kept. */
static bool data_input(struct dps_tcb *t, struct rte_mbuf *m, uint32_t seq, uint32_t len)
{
	bool had_ooo = t->ooo != NULL;

	if (seq == t->rcv_nxt) {
		if (t->rcv_q_tail != NULL)
			t->rcv_q_tail->next = m;
		else
			t->rcv_q = m;
		t->rcv_q_tail = m;
		t->rcv_queued += len;
		t->rcv_nxt += len;
		if (had_ooo) {
			ooo_pull(t);
			t->flags |= DPS_TF_ACKNOW; /* filled (part of) a hole: ACK at once */
		} else if (++t->delack_segs >= 2 || t->quickacks > 0) {
			t->flags |= DPS_TF_ACKNOW; /* RFC 5681 §4.2: every second full segment */
		} else {
			t->flags |= DPS_TF_DELACK;
			if (t->deadline[DPS_TT_DELACK] == 0)
				dps_tcp_timer_set(t, DPS_TT_DELACK,
						  t->eng->tcp->now_ms + DPS_DELACK_MS);
		}
		return true;
	}
	/* Out of order: RFC 5681 §4.2, an immediate duplicate ACK (with SACK blocks). */
	t->flags |= DPS_TF_ACKNOW;
	t->quickacks = DPS_QUICKACKS;
	return ooo_insert(t, m, seq);
}

static void fin_input(struct dps_tcb *t)
{
	t->rcv_nxt++;
	t->flags |= DPS_TF_RCVD_FIN | DPS_TF_ACKNOW;
	t->flags &= ~(uint32_t)DPS_TF_FIN_RCVD_OOO;
	switch ((enum dps_tcp_state)t->state) {
	case DPS_TCP_SYN_RCVD:
	case DPS_TCP_ESTABLISHED:
		dps_tcp_set_state(t, DPS_TCP_CLOSE_WAIT);
		break;
	case DPS_TCP_FIN_WAIT_1:
		/* our FIN not acknowledged yet (else we would be in FIN_WAIT_2) */
		dps_tcp_set_state(t, DPS_TCP_CLOSING);
		break;
	case DPS_TCP_FIN_WAIT_2:
		enter_time_wait(t);
		break;
	case DPS_TCP_TIME_WAIT:
		enter_time_wait(t); /* a retransmitted FIN: ACK it, restart 2MSL */
		break;
	case DPS_TCP_CLOSE_WAIT:
	case DPS_TCP_CLOSING:
	case DPS_TCP_LAST_ACK:
	case DPS_TCP_CLOSED:
	case DPS_TCP_LISTEN:
	case DPS_TCP_SYN_SENT:
	case DPS_TCP_NSTATES:
		break;
	}
}

static bool accepts_data(const struct dps_tcb *t)
{
	return (t->state == DPS_TCP_ESTABLISHED || t->state == DPS_TCP_FIN_WAIT_1 ||
		t->state == DPS_TCP_FIN_WAIT_2) &&
	       !(t->flags & DPS_TF_RCVD_FIN);
}

/* TIME_WAIT receiving a new SYN (RFC 6191 with timestamps, else RFC 1122 §4.2.2.13). */
static bool time_wait_reusable(const struct dps_tcb *t, const struct dps_tcp_seg *s)
{
	if ((s->flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG)) !=
	    RTE_TCP_SYN_FLAG)
		return false;
	if ((t->flags & DPS_TF_TS) && s->opts.has_ts)
		return seq_gt(s->opts.tsval, t->ts_recent);
	return seq_gt(s->seq, t->rcv_nxt);
}

static void conn_input(struct dps_tcb *t, struct rte_mbuf *m, const struct dps_ipv4_view *ip,
		       struct dps_tcp_seg *s)
{
	struct dps_engine *e = t->eng;
	uint32_t seq = s->seq, len = s->len;
	bool kept = false;

	t->last_rcv_ms = e->tcp->now_ms;
	t->keep_probes = 0;
	if (t->state == DPS_TCP_SYN_SENT) {
		syn_sent_input(t, s);
		rte_pktmbuf_free(m);
		return;
	}
	if (t->state == DPS_TCP_TIME_WAIT && time_wait_reusable(t, s)) {
		struct dps_listener *l = dps_tcp_listener_find(e, ip->dst, s->dport);

		if (l != NULL) {
			dps_tcp_drop(t, 0);
			listen_input(e, l, m, ip, s);
			return;
		}
	}
	/* PAWS (RFC 7323 §5.3) */
	if ((t->flags & DPS_TF_TS) && s->opts.has_ts && !(s->flags & RTE_TCP_RST_FLAG) &&
	    seq_lt(s->opts.tsval, t->ts_recent) &&
	    e->tcp->now_ms - t->ts_recent_age_ms < PAWS_IDLE_MS) {
		e->drop[DPS_DROP_tcp_paws]++;
		dps_tcp_send_ack(t);
		goto out;
	}
	if (s->flags & RTE_TCP_SYN_FLAG) {
		/* RFC 5961 §4.2: any SYN in a synchronized state gets a challenge ACK. A SYN
		 * retransmitted to SYN_RCVD is answered with our SYN-ACK again. */
		if (t->state == DPS_TCP_SYN_RCVD && seq == t->irs &&
		    !(s->flags & RTE_TCP_ACK_FLAG)) {
			dps_tcp_retransmit(t);
			goto out;
		}
		/* Simultaneous open (RFC 9293 figure 8): the peer's SYN-ACK acknowledges our SYN. */
		if (t->state == DPS_TCP_SYN_RCVD && seq == t->irs &&
		    (s->flags & RTE_TCP_ACK_FLAG) && s->ack == t->iss + 1 && t->listener == NULL) {
			t->snd_una = s->ack;
			t->snd_wnd = (uint32_t)s->wnd; /* a SYN's window is never scaled */
			t->snd_wl1 = seq;
			t->snd_wl2 = s->ack;
			established(t);
			if (t->flags & DPS_TF_FIN_QUEUED) /* closed in SYN_RCVD: the FIN goes now */
				dps_tcp_set_state(t, DPS_TCP_FIN_WAIT_1);
			t->flags |= DPS_TF_ACKNOW; /* output: the ACK, or the FIN carrying it */
			dps_tcp_notify(t);
			goto out;
		}
		e->drop[DPS_DROP_tcp_syn_ignored]++;
		challenge_ack(t);
		goto out;
	}
	if (!acceptable(t, seq, len + !!(s->flags & RTE_TCP_FIN_FLAG))) {
		if (t->state == DPS_TCP_TIME_WAIT && (s->flags & RTE_TCP_FIN_FLAG) &&
		    !(s->flags & RTE_TCP_RST_FLAG)) {
			/* RFC 9293 §3.10.7.4: a retransmitted FIN; ACK it, restart the 2 MSL wait. */
			enter_time_wait(t);
			dps_tcp_send_ack(t);
			goto out;
		}
		if (s->flags & RTE_TCP_RST_FLAG) {
			e->drop[DPS_DROP_tcp_rst_ignored]++;
		} else {
			e->drop[DPS_DROP_tcp_out_of_window]++;
			dps_tcp_send_ack(t);
		}
		goto out;
	}
	if (s->flags & RTE_TCP_RST_FLAG) {
		if (seq == t->rcv_nxt) {
			reset_input(t);
		} else { /* RFC 5961 §3.2 */
			e->drop[DPS_DROP_tcp_rst_ignored]++;
			challenge_ack(t);
		}
		rte_pktmbuf_free(m);
		return;
	}
	if (!(s->flags & RTE_TCP_ACK_FLAG)) {
		e->drop[DPS_DROP_tcp_state]++;
		goto out;
	}
	/* RFC 7323 §4.3: remember the timestamp of the segment that covers RCV.NXT. */
	if ((t->flags & DPS_TF_TS) && s->opts.has_ts && seq_leq(seq, t->rcv_nxt) &&
	    seq_geq(s->opts.tsval, t->ts_recent)) {
		t->ts_recent = s->opts.tsval;
		t->ts_recent_age_ms = e->tcp->now_ms;
	}
	if (!ack_input(t, s)) {
		rte_pktmbuf_free(m);
		return;
	}
	/* New data for a connection the application closed: nobody will read it. Linux resets
	 * (tcp_rcv_state_process, "abort on data"): RST <SEQ=SEG.ACK>, connection gone. */
	if (len > 0 && (t->flags & DPS_TF_ORPHAN) && t->handle < 0 &&
	    (t->state == DPS_TCP_FIN_WAIT_1 || t->state == DPS_TCP_FIN_WAIT_2) &&
	    seq_gt(seq + len, t->rcv_nxt)) {
		dps_tcp_send_ctl(t, RTE_TCP_RST_FLAG, s->ack);
		e->ctr[DPS_CTR_tcp_rst_tx]++;
		rte_pktmbuf_free(m);
		dps_tcp_drop(t, 0);
		return;
	}
	/* Data: trim to what is new and inside the window. */
	if (len > 0 && accepts_data(t)) {
		uint32_t wnd = seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
		uint32_t front = seq_lt(seq, t->rcv_nxt) ? t->rcv_nxt - seq : 0;
		uint32_t right = t->rcv_nxt + wnd;

		rte_pktmbuf_adj(m, (uint16_t)(ip->hlen + s->hlen));
		if (front > 0) {
			rte_pktmbuf_adj(m, (uint16_t)front);
			seq += front;
			len -= front;
			s->flags &= (uint8_t)~RTE_TCP_SYN_FLAG;
		}
		if (seq_gt(seq + len, right)) {
			uint32_t cut = seq + len - right;
			rte_pktmbuf_trim(m, (uint16_t)cut);
			len -= cut;
			s->flags &= (uint8_t)~RTE_TCP_FIN_FLAG; /* the FIN lies beyond the window */
			t->flags |= DPS_TF_ACKNOW; /* tell the sender where the window ends */
		}
		if (len > 0) {
			prio_mark(t, rx_class(t->eng, m), seq, len);
			kept = data_input(t, m, seq, len);
		}
		if (len > 0 || front > 0)
			dps_tcp_notify(t);
	} else if (len > 0) {
		t->flags |= DPS_TF_ACKNOW; /* data after the peer's FIN: just re-ACK */
	}
	if (s->flags & RTE_TCP_FIN_FLAG) {
		uint32_t fin_seq = s->seq + s->len;

		if (fin_seq == t->rcv_nxt && !(t->flags & DPS_TF_RCVD_FIN)) {
			fin_input(t);
			dps_tcp_notify(t);
		} else if (seq_gt(fin_seq, t->rcv_nxt) && accepts_data(t)) {
			t->flags |= DPS_TF_FIN_RCVD_OOO | DPS_TF_ACKNOW;
			t->fin_seq = fin_seq;
		} else if (t->state == DPS_TCP_TIME_WAIT) {
			enter_time_wait(t);
			t->flags |= DPS_TF_ACKNOW;
		}
	}
	if ((t->flags & DPS_TF_FIN_RCVD_OOO) && t->fin_seq == t->rcv_nxt) {
		fin_input(t);
		dps_tcp_notify(t);
	}
out:
	if (!kept)
		rte_pktmbuf_free(m);
	if (t->state != DPS_TCP_CLOSED)
		dps_tcp_output(t);
}

void dps_tcp_input(struct dps_engine *e, struct rte_mbuf *m, const struct dps_ipv4_view *ip,
		   uint64_t now)
{
	struct dps_tcp_seg s;
	struct dps_listener *l;
	struct dps_tcb *t;
	enum dps_drop d;
	const void *tcp = rte_pktmbuf_mtod_offset(m, const void *, ip->hlen);
	uint64_t csum;
	bool csum_ok, partial;

	if (now / 1000000 > e->tcp->now_ms)
		e->tcp->now_ms = now / 1000000;
	/* Checksum offload: GOOD (and NONE: "data intact, field not filled", a virtual device's
	 * partial checksum) is the device's word; BAD is a drop as in software; UNKNOWN is checked. */
	csum = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	if (csum == RTE_MBUF_F_RX_L4_CKSUM_BAD) {
		dps_engine_drop(e, m, DPS_DROP_tcp_csum);
		return;
	}
	csum_ok = csum == RTE_MBUF_F_RX_L4_CKSUM_GOOD || csum == RTE_MBUF_F_RX_L4_CKSUM_NONE;
	/* A local kernel peer's segment with its checksum left to offload (docs/tcp.md,
	 * "Checksums"): trusted as that kernel trusts it, where the device allows it. */
	partial = !csum_ok && (dps_netif_csum(&e->nif) & DPS_DEV_RX_TCP_PARTIAL) &&
		  dps_tcp_csum_is_partial(tcp, ip->total - ip->hlen, ip->src, ip->dst);
	d = dps_tcp_parse_csum(tcp, ip->total - ip->hlen, ip->src, ip->dst, csum_ok || partial, &s);
	if (d != DPS_DROP_NONE) {
		if (d == DPS_DROP_tcp_csum &&
		    dps_tcp_csum_is_partial(tcp, ip->total - ip->hlen, ip->src, ip->dst))
			dps_dev_warn_partial(e->dev);
		dps_engine_drop(e, m, d);
		return;
	}
	e->ctr[DPS_CTR_tcp_rx_segs]++;
	if (csum_ok)
		e->ctr[DPS_CTR_rx_csum_offload]++;
	else if (partial)
		e->ctr[DPS_CTR_rx_csum_partial]++;
	t = dps_tcp_flow_find(e, ip->dst, s.dport, ip->src, s.sport);
	if (t != NULL) {
		prio_pin(t, rx_class(e, m));
		conn_input(t, m, ip, &s);
		return;
	}
	l = dps_tcp_listener_find(e, ip->dst, s.dport);
	if (l != NULL) {
		listen_input(e, l, m, ip, &s);
		return;
	}
	dps_tcp_reset_for(e, ip, &s);
	dps_engine_drop(e, m, DPS_DROP_tcp_no_socket);
}
