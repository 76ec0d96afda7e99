/*
 * tcp_timer: each connection has one wheel timer armed at the earliest of its deadlines
 * (retransmission, persist, delayed ACK, keepalive, 2MSL). When it fires, every due deadline is
 * handled in that order, then the timer is armed again for what is left. RTT estimation and the
 * RTO (RFC 6298) live here too.
 */
#include "tcp.h"

#include <errno.h>

#include "dps_log.h"

#define RTO_MAX_MS 120000u /* RFC 6298 §2.5 allows a maximum of at least 60 s; Linux uses 120 s */
#define SYN_RETRIES 6 /* Linux tcp_syn_retries */
#define SYNACK_RETRIES 5 /* Linux tcp_synack_retries */
#define DATA_RETRIES 15 /* Linux tcp_retries2 */
#define FIN_WAIT_2_MS 60000u /* Linux tcp_fin_timeout */
#define WC_DELACK_MS 200u /* RFC 8985 §7.2 WCDelAckT: the peer's worst-case delayed ACK */

static void rearm(struct dps_tcb *t)
{
	uint64_t at = 0;

	for (int k = 0; k < DPS_TT_COUNT; k++)
		if (t->deadline[k] != 0 && (at == 0 || t->deadline[k] < at))
			at = t->deadline[k];
	if (at == 0)
		dps_wheel_cancel(&t->eng->tcp->wheel, &t->timer);
	else
		dps_wheel_add(&t->eng->tcp->wheel, &t->timer, at * 1000000ull);
}

void dps_tcp_timer_set(struct dps_tcb *t, enum dps_tcp_timer_kind k, uint64_t at_ms)
{
	t->deadline[k] = at_ms != 0 ? at_ms : 1;
	rearm(t);
}

void dps_tcp_timer_clear(struct dps_tcb *t, enum dps_tcp_timer_kind k)
{
	if (k == DPS_TT_REXMT)
		t->flags &= ~(uint32_t)DPS_TF_TLP_ARMED;
	if (t->deadline[k] == 0)
		return;
	t->deadline[k] = 0;
	rearm(t);
}

static uint32_t rto_ms(const struct dps_tcb *t)
{
	uint64_t ms = (uint64_t)(t->rto_us / 1000) << (t->backoff < 16 ? t->backoff : 16);

	return ms > RTO_MAX_MS ? RTO_MAX_MS : (uint32_t)ms;
}

void dps_tcp_rexmt_arm(struct dps_tcb *t)
{
	uint64_t at = t->eng->tcp->now_ms + rto_ms(t);

	if (t->deadline[DPS_TT_REXMT] != 0)
		return;
	/* TCP_USER_TIMEOUT: never wait past it (Linux clamps the RTO the same way). */
	if (t->user_timeout_ms != 0 && t->unacked_since_ms != 0 &&
	    (uint64_t)t->unacked_since_ms + t->user_timeout_ms < at) {
		uint64_t limit = (uint64_t)t->unacked_since_ms + t->user_timeout_ms;
		at = limit > t->eng->tcp->now_ms ? limit : t->eng->tcp->now_ms + 1;
	}
	dps_tcp_timer_set(t, DPS_TT_REXMT, at);
}

void dps_tcp_rtt_sample(struct dps_tcb *t, uint32_t r)
{
	uint32_t min_us = t->eng->tcp->rto_min_ms * 1000u, rto;

	if (r == 0)
		r = 1;
	if (t->srtt_us == 0) { /* RFC 6298 §2.2 */
		t->srtt_us = r;
		t->rttvar_us = r / 2;
	} else { /* §2.3, alpha 1/8, beta 1/4 */
		uint32_t delta = t->srtt_us > r ? t->srtt_us - r : r - t->srtt_us;
		t->rttvar_us = t->rttvar_us - t->rttvar_us / 4 + delta / 4;
		t->srtt_us = t->srtt_us - t->srtt_us / 8 + r / 8;
	}
	rto = t->srtt_us + (4 * t->rttvar_us > 1000 ? 4 * t->rttvar_us : 1000); /* G = 1 ms */
	if (rto < min_us)
		rto = min_us; /* §2.4 (minimum configurable, tcp_rto_min_ms) */
	if (rto > RTO_MAX_MS * 1000u)
		rto = RTO_MAX_MS * 1000u;
	t->rto_us = rto;
}

/* Has data (or, with no data outstanding, the peer) gone unanswered longer than
 * TCP_USER_TIMEOUT allows? */
static bool user_timeout_passed(const struct dps_tcb *t)
{
	uint64_t since = t->unacked_since_ms != 0 ? t->unacked_since_ms : t->last_rcv_ms;

	return t->user_timeout_ms != 0 && t->eng->tcp->now_ms - since >= t->user_timeout_ms;
}

static void timeout(struct dps_tcb *t)
{
	t->eng->ctr[DPS_CTR_tcp_timeouts]++;
	dps_tcp_drop(t, -ETIMEDOUT);
}

/*
 * Tail loss probe (RFC 8985 §7, without RACK). The rule: with SACK agreed, in ESTABLISHED or
 * CLOSE_WAIT, outside fast recovery and RTO backoff, with an RTT sample, data outstanding, an
 * open peer window (a zero window is the persist timer's) and no probe already out, the PTO is 2 SRTT (plus WCDelAckT when one segment or less is in flight,
 * §7.2), started after new data goes out or an ACK of new data comes. It uses the REXMT deadline
 * (DPS_TF_TLP_ARMED) and is only armed when it comes before the RTO; when the RTO would come
 * first the RTO fires as usual (the RFC would send the probe at the RTO time instead). At the PTO
 * one probe goes (§7.3): a new segment if the peer's window allows, regardless of cwnd, else the
 * last data segment again; then the RTO is armed. §7.4 (dps_tcp_tlp_ack): a retransmitted probe
 * that an ACK beyond it shows was needed (no D-SACK) counts as a repaired loss and gets the
 * congestion response of a fast recovery (ssthresh, cwnd = ssthresh).
 */
void dps_tcp_tlp_arm(struct dps_tcb *t)
{
	uint32_t flight = t->snd_max - t->snd_una;
	uint64_t at, pto;

	if (!(t->flags & DPS_TF_SACK) || (t->flags & (DPS_TF_IN_RECOVERY | DPS_TF_TLP_OUT)) ||
	    t->backoff != 0 || t->srtt_us == 0 || flight == 0 || t->snd_wnd == 0 ||
	    (t->state != DPS_TCP_ESTABLISHED && t->state != DPS_TCP_CLOSE_WAIT))
		return;
	pto = 2ull * t->srtt_us / 1000;
	if (flight <= t->mss)
		pto += WC_DELACK_MS;
	at = t->eng->tcp->now_ms + (pto > 0 ? pto : 1);
	if (!(t->flags & DPS_TF_TLP_ARMED) && t->deadline[DPS_TT_REXMT] != 0 &&
	    t->deadline[DPS_TT_REXMT] <= at)
		return; /* the RTO comes first */
	dps_tcp_timer_set(t, DPS_TT_REXMT, at);
	t->flags |= DPS_TF_TLP_ARMED;
}

/* The probe (RFC 8985 §7.3). Returns false when none could go (the RTO logic runs instead). */
static bool tlp_send(struct dps_tcb *t)
{
	uint32_t room = dps_tcp_seg_room(t), data_end = t->snd_una + t->snd_queued;
	uint32_t sent_end = seq_lt(data_end, t->snd_max) ? data_end : t->snd_max;

	if (t->snd_una == t->snd_max || (t->flags & DPS_TF_IN_RECOVERY))
		return false;
	if (seq_lt(t->snd_nxt, data_end) && seq_lt(t->snd_nxt, t->snd_una + t->snd_wnd)) {
		uint32_t len = data_end - t->snd_nxt, wnd = t->snd_una + t->snd_wnd - t->snd_nxt;

		len = len < room ? len : room;
		len = len < wnd ? len : wnd;
		dps_tcp_send_range(t, t->snd_nxt, len);
		t->snd_nxt += len;
		if (seq_gt(t->snd_nxt, t->snd_max))
			t->snd_max = t->snd_nxt;
		t->flags &= ~(uint32_t)DPS_TF_TLP_RXT;
	} else {
		uint32_t len = sent_end - t->snd_una;

		if (!seq_gt(sent_end, t->snd_una))
			return false; /* only a FIN is out: the RTO resends it */
		len = len < room ? len : room;
		dps_tcp_send_range(t, sent_end - len, len);
		t->flags |= DPS_TF_TLP_RXT;
		t->eng->ctr[DPS_CTR_tcp_rexmit_fast]++;
	}
	t->flags |= DPS_TF_TLP_OUT;
	t->tlp_end = t->snd_nxt;
	t->eng->ctr[DPS_CTR_tcp_tlp_probes]++;
	return true;
}

void dps_tcp_tlp_ack(struct dps_tcb *t, const struct dps_tcp_seg *s)
{
	bool dsack = false;

	if (!(t->flags & DPS_TF_TLP_OUT) || seq_lt(s->ack, t->tlp_end))
		return;
	/* RFC 2883: a first block below the cumulative ACK reports a duplicate. */
	if (s->opts.n_sack > 0 && seq_leq(s->opts.sack[0].right, s->ack) &&
	    s->opts.sack[0].right == t->tlp_end)
		dsack = true;
	if (!(t->flags & DPS_TF_TLP_RXT) || dsack) {
		t->flags &=
		    ~(uint32_t)(DPS_TF_TLP_OUT | DPS_TF_TLP_RXT); /* delivered, or redundant */
		return;
	}
	/* Beyond the probe, or a duplicate ACK without SACK (RFC 5681 §2: data outstanding, no
	 * payload, the same window) once everything up to it is acknowledged. */
	if (seq_gt(s->ack, t->tlp_end) ||
	    (s->ack == t->snd_una && t->snd_max != t->snd_una && s->len == 0 &&
	     s->opts.n_sack == 0 && ((uint32_t)s->wnd << t->snd_wscale) == t->snd_wnd)) {
		/* §7.4.2: the probe repaired a loss: Reno-style enter and exit recovery. */
		t->flags &= ~(uint32_t)(DPS_TF_TLP_OUT | DPS_TF_TLP_RXT);
		t->cc->on_loss(t);
		t->cwnd = t->ssthresh;
		t->eng->ctr[DPS_CTR_tcp_tlp_recoveries]++;
	}
}

/* Returns false when t was freed. */
static bool on_rexmt(struct dps_tcb *t)
{
	struct dps_engine *e = t->eng;

	if (t->flags & DPS_TF_TLP_ARMED) {
		t->flags &= ~(uint32_t)DPS_TF_TLP_ARMED;
		if (tlp_send(t)) {
			dps_tcp_rexmt_arm(t); /* §7.3: the RTO covers the probe */
			return true;
		}
	}

	if (t->state == DPS_TCP_SYN_SENT || t->state == DPS_TCP_SYN_RCVD) {
		unsigned limit = t->state == DPS_TCP_SYN_SENT ? SYN_RETRIES : SYNACK_RETRIES;
		if (t->syn_retries >= limit || user_timeout_passed(t)) {
			timeout(t);
			return false;
		}
		t->syn_retries++;
		t->backoff++;
		e->ctr[DPS_CTR_tcp_rexmit_syn]++;
		dps_tcp_retransmit(t);
		dps_tcp_rexmt_arm(t);
		return true;
	}
	if (t->snd_una == t->snd_max)
		return true; /* nothing outstanding (a stale deadline) */
	if (t->backoff >= DATA_RETRIES || user_timeout_passed(t)) {
		timeout(t);
		return false;
	}
	/* RFC 6298 §5.5-5.7: back off, retransmit the earliest unacknowledged segment; RFC 5681
	 * §3.1: ssthresh from the flight, cwnd one segment. Karn: no RTT sample from it. */
	DPS_LOG(DEBUG,
		"RTO %u:%u una=%u nxt=%u max=%u cwnd=%u ssthresh=%u sacked=%u wnd=%u backoff=%u",
		t->lport, t->rport, t->snd_una - t->iss, t->snd_nxt - t->iss, t->snd_max - t->iss,
		t->cwnd, t->ssthresh, t->n_sacked, t->snd_wnd, t->backoff);
	t->cc->on_rto(t);
	t->flags &= ~(uint32_t)(DPS_TF_TLP_OUT | DPS_TF_TLP_RXT);
	t->backoff++;
	t->dupacks = 0;
	t->flags &= ~(uint32_t)(DPS_TF_IN_RECOVERY | DPS_TF_RTT_TIMING);
	t->recover = t->snd_max;
	t->quickacks = 8;
	dps_tcp_sack_clear(t); /* RFC 6675 §5.1: start over from SND.UNA */
	t->high_rxt = t->snd_una;
	e->ctr[DPS_CTR_tcp_rexmit_rto]++;
	{
		bool fin;
		uint32_t len = dps_tcp_rexmit_len(t, &fin);

		dps_tcp_retransmit(t);
		t->snd_nxt = t->snd_una + len + fin;
	}
	dps_tcp_rexmt_arm(t);
	return true;
}

static void on_persist(struct dps_tcb *t)
{
	if (t->snd_queued == 0)
		return;
	if (t->snd_wnd != 0) {
		/* The SWS override timeout (RFC 9293 §3.8.6.2.1, tcp_output.c): send the runt the
		 * window allows, if it is still held back and nothing is in flight. No backoff. */
		if (t->snd_max == t->snd_una) {
			t->flags |= DPS_TF_SWS_FLUSH;
			dps_tcp_output(t);
			t->flags &= ~(uint32_t)DPS_TF_SWS_FLUSH;
		}
		return;
	}
	/* RFC 9293 §3.8.6.1: probe with one octet of new data at SND.UNA; the peer takes it if its
	 * window opened, and answers with its window either way. Backed off like the RTO. */
	dps_tcp_send_range(t, t->snd_una, 1);
	if (seq_lt(t->snd_nxt, t->snd_una + 1))
		t->snd_nxt = t->snd_una + 1;
	if (seq_lt(t->snd_max, t->snd_nxt))
		t->snd_max = t->snd_nxt;
	t->eng->ctr[DPS_CTR_tcp_zero_window_probes]++;
	if (t->backoff < 16)
		t->backoff++;
	dps_tcp_timer_set(t, DPS_TT_PERSIST, t->eng->tcp->now_ms + rto_ms(t));
}

/* Returns false when t was freed. */
static bool on_keep(struct dps_tcb *t)
{
	uint64_t now = t->eng->tcp->now_ms;
	uint64_t idle = now - t->last_rcv_ms;

	if (!(t->flags & DPS_TF_KEEPALIVE) || t->state < DPS_TCP_ESTABLISHED ||
	    t->state == DPS_TCP_TIME_WAIT)
		return true;
	/* Data in flight or waiting: the retransmission timer watches the peer; keepalive waits
	 * (Linux tcp_keepalive_timer reschedules the same way). */
	if (t->snd_max != t->snd_una || t->snd_queued > 0) {
		t->keep_probes = 0;
		dps_tcp_timer_set(t, DPS_TT_KEEP, now + t->keep_idle_ms);
		return true;
	}
	if (idle < t->keep_idle_ms) {
		t->keep_probes = 0;
		dps_tcp_timer_set(t, DPS_TT_KEEP, t->last_rcv_ms + t->keep_idle_ms);
		return true;
	}
	if (t->keep_probes >= t->keep_cnt || user_timeout_passed(t)) {
		/* Linux resets the connection when keepalive gives up (tcp_keepalive_timer). */
		dps_tcp_send_ctl(t, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, t->snd_nxt);
		t->eng->ctr[DPS_CTR_tcp_rst_tx]++;
		timeout(t);
		return false;
	}
	dps_tcp_send_ctl(t, RTE_TCP_ACK_FLAG, t->snd_una - 1); /* RFC 9293 §3.8.4 */
	t->keep_probes++;
	t->eng->ctr[DPS_CTR_tcp_keepalive_probes]++;
	dps_tcp_timer_set(t, DPS_TT_KEEP, now + t->keep_intvl_ms);
	return true;
}

void dps_tcp_timer_fire(struct dps_timer *tm, uint64_t now_ns)
{
	struct dps_tcb *t = dps_container_of(tm, struct dps_tcb, timer);
	struct dps_tcp *tcp = t->eng->tcp;
	uint64_t now = now_ns / 1000000;

	if (now > tcp->now_ms)
		tcp->now_ms = now;
	now = tcp->now_ms;
	if (t->deadline[DPS_TT_2MSL] != 0 && t->deadline[DPS_TT_2MSL] <= now) {
		t->deadline[DPS_TT_2MSL] = 0;
		/* TIME_WAIT over, or an orphan FIN_WAIT_2 that waited long enough. */
		dps_tcp_set_state(t, DPS_TCP_CLOSED);
		if (t->handle < 0) {
			dps_tcp_tcb_free(t);
			return;
		}
		dps_tcp_drop(t, 0);
		return;
	}
	if (t->deadline[DPS_TT_REXMT] != 0 && t->deadline[DPS_TT_REXMT] <= now) {
		t->deadline[DPS_TT_REXMT] = 0;
		if (!on_rexmt(t))
			return;
	}
	if (t->deadline[DPS_TT_PERSIST] != 0 && t->deadline[DPS_TT_PERSIST] <= now) {
		t->deadline[DPS_TT_PERSIST] = 0;
		on_persist(t);
	}
	if (t->deadline[DPS_TT_DELACK] != 0 && t->deadline[DPS_TT_DELACK] <= now) {
		t->deadline[DPS_TT_DELACK] = 0;
		if (t->flags & DPS_TF_DELACK)
			dps_tcp_send_ack(t);
	}
	if (t->deadline[DPS_TT_CORK] != 0 && t->deadline[DPS_TT_CORK] <= now) {
		t->deadline[DPS_TT_CORK] = 0;
		t->flags |= DPS_TF_CORK_FLUSH;
		dps_tcp_output(t);
		t->flags &= ~(uint32_t)DPS_TF_CORK_FLUSH;
	}
	if (t->deadline[DPS_TT_KEEP] != 0 && t->deadline[DPS_TT_KEEP] <= now) {
		t->deadline[DPS_TT_KEEP] = 0;
		if (!on_keep(t))
			return;
	}
	rearm(t);
}

uint32_t dps_tcp_fin_wait_2_ms(void)
{
	return FIN_WAIT_2_MS;
}
