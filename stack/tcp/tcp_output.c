/*
 * tcp_output: what a connection sends, and the segments themselves.
 *
 * dps_tcp_output(t) is called after anything that may allow sending (a call, an arriving ACK or
 * window, a timer). By state: SYN_SENT / SYN_RCVD send their SYN (or SYN-ACK) once; synchronized
 * states send data from SND.NXT within min(SND.WND, CWND), one MSS per segment, subject to Nagle,
 * TCP_CORK and sender silly-window avoidance (RFC 9293 §3.7.4, §3.8.6.2.1), with FIN on the last
 * segment once the application closed its side; an owed ACK goes out on a data segment or alone.
 * send_segment() builds one segment: TCP header and options, payload chained from the send queue,
 * checksum (or its offload flags), then dps_ipv4_output with the connection's addresses (IPv4
 * header, route, ARP, transmit batch).
 */
#include "tcp.h"

#include "dev.h"
#include "prio.h"
#include "wire.h"

#include <string.h>

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#define DPS_TCP_SYN_WIN_MAX 65535u

/*
 * RFC 1071 sum of the first len bytes of the chain m, folded to 16 bits. Not DPDK's
 * rte_raw_cksum_mbuf: in 22.11 it byte-swaps the *unreduced* 32-bit sum of a segment that starts
 * at an odd offset, which drops its carries, and a send queue is cut at any byte (found by nginx
 * with sendfile off: every segment that spanned an odd boundary went out with a bad checksum).
 * Each segment's sum is reduced before the swap here.
 */
uint16_t dps_tcp_cksum_chain(const struct rte_mbuf *m, uint32_t len)
{
	uint32_t sum = 0, done = 0;

	for (; m != NULL && done < len; m = m->next) {
		uint32_t n = RTE_MIN((uint32_t)m->data_len, len - done);
		uint16_t part = __rte_raw_cksum_reduce(
		    __rte_raw_cksum(rte_pktmbuf_mtod(m, const void *), n, 0));

		sum += (done & 1) ? rte_bswap16(part) : part;
		done += n;
	}
	return __rte_raw_cksum_reduce(sum);
}

/*
 * May the device compute this segment's TCP checksum? When it offers to (DPS_DEV_TX_TCP_CSUM), and
 * every buffer of the chain but the last holds an even number of bytes: DPDK 22.11's net_tap
 * computes the "offloaded" sum itself and adds each buffer's sum as if it started at an even
 * offset (tap_tx_l4_add_rcksum), the carry bug of rte_raw_cksum_mbuf again (docs/design-notes.md).
 * The send queue is cut at any byte, so such chains happen; they are summed here instead.
 */
static bool csum_offload_ok(const struct dps_engine *e, const struct rte_mbuf *m)
{
	if (!(dps_netif_csum(&e->nif) & DPS_DEV_TX_TCP_CSUM))
		return false;
	for (; m->next != NULL; m = m->next)
		if (m->data_len & 1)
			return false;
	return true;
}

static uint64_t now_ns(const struct dps_tcb *t)
{
	return t->eng->tcp->now_ms * 1000000ull;
}

uint32_t dps_tcp_rcv_space(const struct dps_tcb *t)
{
	uint32_t used = t->rcv_queued + t->ooo_bytes;
	uint32_t space = used < t->rcv_buf ? t->rcv_buf - used : 0;
	uint32_t max = DPS_TCP_SYN_WIN_MAX << ((t->flags & DPS_TF_WS) ? t->rcv_wscale : 0);

	return space < max ? space : max;
}

/* The window field for a segment, and the right edge it advertises (never moved left). */
static uint16_t window_field(struct dps_tcb *t, bool syn)
{
	uint32_t space = dps_tcp_rcv_space(t), shift, win;

	if (syn) {
		win = space < DPS_TCP_SYN_WIN_MAX ? space : DPS_TCP_SYN_WIN_MAX;
		if (seq_gt(t->rcv_nxt + win, t->rcv_adv))
			t->rcv_adv = t->rcv_nxt + win;
		return (uint16_t)win;
	}
	shift = (t->flags & DPS_TF_WS) ? t->rcv_wscale : 0;
	/* RFC 9293 §3.8.6.2.2 receiver SWS avoidance: do not offer less than min(buffer/2, MSS)
	 * of new space; RFC 7323 §2.4: never shrink the offered window. */
	if (space < t->rcv_buf / 2 && space < t->rcv_mss)
		space = 0;
	if (seq_gt(t->rcv_adv, t->rcv_nxt) && space < t->rcv_adv - t->rcv_nxt)
		space = t->rcv_adv - t->rcv_nxt;
	win = space >> shift;
	if (seq_lt(t->rcv_nxt + (win << shift), t->rcv_adv))
		win++; /* rounding down would move the edge left */
	if (win > 0xffff)
		win = 0xffff;
	if (seq_gt(t->rcv_nxt + (win << shift), t->rcv_adv))
		t->rcv_adv = t->rcv_nxt + (win << shift);
	return (uint16_t)win;
}

/*
 * Chain len bytes of the send queue, starting off bytes after SND.UNA, behind m as indirect mbufs
 * (clones sharing the queued buffers): the payload is not copied again. A queued buffer only ever
 * grows at its tail and is trimmed at its head by data_off, so what a clone shows never changes.
 * Returns 0, or -ENOMEM (m is then unchanged apart from clones already chained; the caller frees
 * m, which frees them).
 */
static int chain_from_sndq(const struct dps_tcb *t, struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	struct rte_mbuf *q = t->snd_q;

	while (q != NULL && off >= rte_pktmbuf_data_len(q)) {
		off -= rte_pktmbuf_data_len(q);
		q = q->next;
	}
	while (q != NULL && len > 0) {
		uint32_t n = rte_pktmbuf_data_len(q) - off;
		struct rte_mbuf *c;

		if (n > len)
			n = len;
		/* rte_pktmbuf_attach, not rte_pktmbuf_clone: the queue links its buffers through
		 * next, and clone would follow that link through the whole queue. */
		c = rte_pktmbuf_alloc(t->eng->pool);
		if (c == NULL)
			return -ENOMEM;
		rte_pktmbuf_attach(c, q);
		rte_pktmbuf_adj(c, (uint16_t)off);
		rte_pktmbuf_trim(c, (uint16_t)(rte_pktmbuf_data_len(c) - n));
		if (rte_pktmbuf_chain(m, c) != 0) {
			rte_pktmbuf_free(c);
			return -ENOMEM;
		}
		len -= n;
		off = 0;
		q = q->next;
	}
	return len == 0 ? 0 : -ENOMEM;
}

static void fill_opts(const struct dps_tcb *t, uint8_t flags, struct dps_tcp_opts *o)
{
	bool syn = flags & RTE_TCP_SYN_FLAG;
	bool active = t->state == DPS_TCP_SYN_SENT;

	memset(o, 0, sizeof(*o));
	if (flags & RTE_TCP_RST_FLAG)
		return;
	if (syn) {
		o->has_mss = true;
		o->mss = t->rcv_mss;
		o->has_wscale = active || (t->flags & DPS_TF_WS);
		o->wscale = t->rcv_wscale;
		o->sack_perm = active || (t->flags & DPS_TF_SACK);
	}
	if (active || (t->flags & DPS_TF_TS)) {
		o->has_ts = true;
		o->tsval = (uint32_t)t->eng->tcp->now_ms + t->ts_offset;
		o->tsecr = (flags & RTE_TCP_ACK_FLAG) ? t->ts_recent : 0;
	}
	/* RFC 2018 §4: the block holding the most recent out-of-order segment first; here: the
	 * out-of-order queue from its lowest block, merged (enough for Linux to recover). */
	if (!syn && (t->flags & DPS_TF_SACK) && t->ooo != NULL) {
		const struct rte_mbuf *m = t->ooo;
		int off = t->eng->tcp->seq_dynfield;

		while (m != NULL && o->n_sack < DPS_TCP_MAX_SACK) {
			uint32_t left = *RTE_MBUF_DYNFIELD(m, off, const uint32_t *);
			uint32_t right = left + rte_pktmbuf_pkt_len(m);

			if (o->n_sack > 0 && o->sack[o->n_sack - 1].right == left)
				o->sack[o->n_sack - 1].right = right;
			else
				o->sack[o->n_sack++] = (struct dps_sack_block){ left, right };
			m = m->next;
		}
		/* RFC 2018 §4: the block holding the latest out-of-order segment goes first. */
		for (unsigned i = 1; i < o->n_sack; i++)
			if (seq_in(t->last_ooo_seq, o->sack[i].left, o->sack[i].right)) {
				struct dps_sack_block b = o->sack[i];
				memmove(&o->sack[1], &o->sack[0], i * sizeof(b));
				o->sack[0] = b;
				break;
			}
	}
}

uint32_t dps_tcp_seg_room(const struct dps_tcb *t)
{
	struct dps_tcp_opts o;
	uint32_t extra = 0;

	/* t->mss already leaves room for timestamps; SACK blocks on a data segment take more
	 * (RFC 2018 §3: 2 + 8 per block, padded by two NOPs), so the payload shrinks with them. */
	if ((t->flags & DPS_TF_SACK) && t->ooo != NULL) {
		fill_opts(t, RTE_TCP_ACK_FLAG, &o);
		if (o.n_sack > 0) {
			unsigned fit = (DPS_TCP_MAX_OPT_LEN - (o.has_ts ? 12u : 0u) - 4u) / 8u;
			extra = 4u + 8u * (o.n_sack < fit ? o.n_sack : fit);
		}
	}
	return t->mss > extra + 1 ? t->mss - extra : 1;
}

/* Build and send one segment of len payload bytes at sequence seq. Returns 0 or -ENOMEM. */
static int send_segment(struct dps_tcb *t, uint8_t flags, uint32_t seq, uint32_t len)
{
	struct dps_engine *e = t->eng;
	/* RFC 1191: path MTU discovery (DF). DESIGN.md §8: the frames of a high connection go
	 * ahead in the transmit batch, and never ahead of their own connection's queued ones. */
	const struct dps_ipv4_out ip = {
		.src = t->laddr,
		.dst = t->raddr,
		.proto = IPPROTO_TCP,
		.df = true,
		.cls = dps_tcp_is_high(t) ? DPS_PRIO_CLASS_HIGH : DPS_PRIO_CLASS_LOW,
		.flow = t,
	};
	struct dps_tcp_opts o;
	uint8_t opts[DPS_TCP_MAX_OPT_LEN];
	struct rte_tcp_hdr *th;
	struct rte_mbuf *m;
	size_t olen, hlen;

	fill_opts(t, flags, &o);
	olen = dps_tcp_write_opts(opts, sizeof(opts), &o, flags & RTE_TCP_SYN_FLAG);
	hlen = DPS_TCP_HDR_LEN + olen;
	m = rte_pktmbuf_alloc(e->pool);
	if (m == NULL) {
		dps_engine_drop(e, NULL, DPS_DROP_nombuf);
		return -ENOMEM;
	}
	th = (struct rte_tcp_hdr *)rte_pktmbuf_append(m, (uint16_t)hlen);
	if (th == NULL) { /* len is at most one MSS: cannot happen with an MTU-sized pool */
		rte_pktmbuf_free(m);
		dps_engine_drop(e, NULL, DPS_DROP_nombuf);
		return -ENOMEM;
	}
	th->src_port = rte_cpu_to_be_16(t->lport);
	th->dst_port = rte_cpu_to_be_16(t->rport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32((flags & RTE_TCP_ACK_FLAG) ? t->rcv_nxt : 0);
	th->data_off = (uint8_t)((hlen / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = (flags & RTE_TCP_RST_FLAG) && !(flags & RTE_TCP_ACK_FLAG)
			 ? 0
			 : rte_cpu_to_be_16(window_field(t, flags & RTE_TCP_SYN_FLAG));
	th->tcp_urp = 0;
	memcpy(th + 1, opts, olen);
	if (len > 0 && chain_from_sndq(t, m, seq - t->snd_una, len) != 0) {
		rte_pktmbuf_free(m);
		dps_engine_drop(e, NULL, DPS_DROP_nombuf);
		return -ENOMEM;
	}
	if (csum_offload_ok(e, m)) {
		/* The driver contract (rte_ipv4_phdr_cksum): the pseudo-header sum in the field. */
		th->cksum = __rte_raw_cksum_reduce(
		    dps_tcp_pseudo_sum(t->laddr, t->raddr, (uint32_t)(hlen + len)));
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
		m->l4_len = hlen;
		e->ctr[DPS_CTR_tx_csum_offload]++;
	} else if (len == 0) {
		dps_tcp_fill_cksum(th, hlen, t->laddr, t->raddr);
	} else {
		uint16_t raw;

		th->cksum = 0;
		raw = dps_tcp_cksum_chain(m, (uint32_t)(hlen + len));
		th->cksum = (uint16_t)~__rte_raw_cksum_reduce(
		    dps_tcp_pseudo_sum(t->laddr, t->raddr, (uint32_t)(hlen + len)) + raw);
	}
	e->ctr[DPS_CTR_tcp_tx_segs]++;
	if (flags & RTE_TCP_ACK_FLAG) {
		t->flags &= ~(uint32_t)(DPS_TF_ACKNOW | DPS_TF_DELACK);
		t->delack_segs = 0;
		if (t->quickacks > 0 && !(flags & RTE_TCP_SYN_FLAG))
			t->quickacks--;
		dps_tcp_timer_clear(t, DPS_TT_DELACK);
	}
	dps_ipv4_output(&e->nif, m, &ip, now_ns(t));
	return 0;
}

void dps_tcp_send_ctl(struct dps_tcb *t, uint8_t flags, uint32_t seq)
{
	send_segment(t, flags, seq, 0);
}

void dps_tcp_send_ack(struct dps_tcb *t)
{
	/* SND.MAX, not SND.NXT: after a timeout rolled SND.NXT back, the peer would drop an ACK
	 * whose sequence number lies below what it already has (BSD does the same). */
	send_segment(t, RTE_TCP_ACK_FLAG, t->snd_max, 0);
}

void dps_tcp_reset_for(struct dps_engine *e, const struct dps_ipv4_view *ipv,
		       const struct dps_tcp_seg *s)
{
	const struct dps_ipv4_out ip = {
		.src = ipv->dst, .dst = ipv->src, .proto = IPPROTO_TCP, .df = true
	};
	struct rte_mbuf *m;
	struct rte_tcp_hdr *th;
	uint32_t seq, ack;
	uint8_t flags;

	if (s->flags & RTE_TCP_RST_FLAG)
		return; /* RFC 9293 §3.10.7.1: never answer a reset */
	if (s->flags & RTE_TCP_ACK_FLAG) {
		seq = s->ack;
		ack = 0;
		flags = RTE_TCP_RST_FLAG;
	} else {
		seq = 0;
		ack = s->seq + s->len + !!(s->flags & RTE_TCP_SYN_FLAG) +
		      !!(s->flags & RTE_TCP_FIN_FLAG);
		flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
	}
	m = rte_pktmbuf_alloc(e->pool);
	if (m == NULL) {
		dps_engine_drop(e, NULL, DPS_DROP_nombuf);
		return;
	}
	th = (struct rte_tcp_hdr *)rte_pktmbuf_append(m, DPS_TCP_HDR_LEN);
	*th = (struct rte_tcp_hdr){
		.src_port = rte_cpu_to_be_16(s->dport),
		.dst_port = rte_cpu_to_be_16(s->sport),
		.sent_seq = rte_cpu_to_be_32(seq),
		.recv_ack = rte_cpu_to_be_32(ack),
		.data_off = (DPS_TCP_HDR_LEN / 4) << 4,
		.tcp_flags = flags,
	};
	dps_tcp_fill_cksum(th, DPS_TCP_HDR_LEN, ipv->dst, ipv->src);
	e->ctr[DPS_CTR_tcp_tx_segs]++;
	e->ctr[DPS_CTR_tcp_rst_tx]++;
	dps_ipv4_output(&e->nif, m, &ip, e->tcp->now_ms * 1000000ull);
}

/* End of the application's data in sequence space (the FIN, when queued, sits there). */
static uint32_t data_end(const struct dps_tcb *t)
{
	return t->snd_una + t->snd_queued;
}

void dps_tcp_send_range(struct dps_tcb *t, uint32_t seq, uint32_t len)
{
	send_segment(t, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, seq, len);
}

uint32_t dps_tcp_rexmit_len(const struct dps_tcb *t, bool *fin)
{
	uint32_t room = dps_tcp_seg_room(t);
	/* Only what was sent before: SND.MAX bounds it (data never sent is not "re"-sent, and an
	 * ACK for it would lie beyond SND.MAX), less the FIN's sequence number. */
	uint32_t sent = t->snd_max - t->snd_una;
	uint32_t len;

	if ((t->flags & DPS_TF_FIN_SENT) && sent > 0 && seq_gt(t->snd_max, data_end(t)))
		sent--;
	if (sent > t->snd_queued)
		sent = t->snd_queued;
	len = sent < room ? sent : room;
	*fin = (t->flags & DPS_TF_FIN_SENT) && t->snd_una + len == data_end(t) &&
	       seq_gt(t->snd_max, data_end(t));
	return len;
}

void dps_tcp_retransmit(struct dps_tcb *t)
{
	bool fin;
	uint32_t len = dps_tcp_rexmit_len(t, &fin);
	uint8_t flags = RTE_TCP_ACK_FLAG;

	if (t->state == DPS_TCP_SYN_SENT) {
		send_segment(t, RTE_TCP_SYN_FLAG, t->iss, 0);
		return;
	}
	if (t->state == DPS_TCP_SYN_RCVD) {
		send_segment(t, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, t->iss, 0);
		return;
	}
	if (fin)
		flags |= RTE_TCP_FIN_FLAG;
	if (len > 0)
		flags |= RTE_TCP_PSH_FLAG;
	if (len == 0 && !(flags & RTE_TCP_FIN_FLAG))
		return;
	send_segment(t, flags, t->snd_una, len);
}

/*
 * Sender side of Nagle and SWS avoidance for a segment of len < MSS bytes: may it go now? Sets
 * *sws_held when the peer's window, not the lack of data, makes it a runt (RFC 9293 §3.8.6.2.1:
 * wait for more window), so that the caller can arm the override timer.
 */
static bool small_segment_ok(const struct dps_tcb *t, uint32_t len, uint32_t unsent, bool *sws_held)
{
	if ((t->flags & DPS_TF_CORK) && !(t->flags & DPS_TF_CORK_FLUSH)) {
		/* Linux: a corked partial segment waits at most 200 ms. */
		if (t->deadline[DPS_TT_CORK] == 0)
			dps_tcp_timer_set((struct dps_tcb *)t, DPS_TT_CORK,
					  t->eng->tcp->now_ms + 200);
		return false;
	}
	if (t->flags & (DPS_TF_CORK_FLUSH | DPS_TF_SWS_FLUSH))
		return true;
	/* RFC 9293 §3.8.6.2.1: at least half the largest window the peer offered. */
	if (t->snd_up_max > 0 && len >= t->snd_up_max / 2)
		return true;
	if (len < unsent) {
		*sws_held = true; /* window-limited: wait for more window instead of a runt */
		return false;
	}
	/* Nagle (RFC 9293 §3.7.4): all queued data fits; send if nothing is in flight. */
	return (t->flags & DPS_TF_NODELAY) || t->snd_max == t->snd_una;
}

/*
 * RFC 9293 §3.8.6.2.1's override timeout (0.1-1 s): a runt held back by sender SWS avoidance goes
 * when it expires. Only armed with nothing in flight: otherwise an ACK comes and output runs
 * again. Linux gets the same from its probe timer (tcp_check_probe_timer arms it whenever data
 * waits with nothing in flight; tcp_write_wakeup then sends what the window allows). Here the
 * persist deadline serves both: on_persist (tcp_timer.c) tells the cases apart by SND.WND.
 */
static void sws_override_arm(struct dps_tcb *t)
{
	uint32_t ms = t->rto_us / 1000;

	if (t->snd_max != t->snd_una || t->deadline[DPS_TT_PERSIST] != 0)
		return;
	ms = ms < 100 ? 100 : ms > 1000 ? 1000 : ms;
	dps_tcp_timer_set(t, DPS_TT_PERSIST, t->eng->tcp->now_ms + ms);
}

void dps_tcp_output(struct dps_tcb *t)
{
	bool sent_any = false, sws_held = false;

	switch ((enum dps_tcp_state)t->state) {
	case DPS_TCP_CLOSED:
	case DPS_TCP_LISTEN:
	case DPS_TCP_NSTATES:
		return;
	case DPS_TCP_SYN_SENT:
		if (t->snd_max == t->iss) {
			t->rtt_start_ms = t->eng->tcp->now_ms;
			send_segment(t, RTE_TCP_SYN_FLAG, t->iss, 0);
			t->snd_nxt = t->snd_max = t->iss + 1;
			dps_tcp_rexmt_arm(t);
		}
		return;
	case DPS_TCP_SYN_RCVD:
		if (t->snd_max == t->iss) {
			t->rtt_start_ms = t->eng->tcp->now_ms;
			send_segment(t, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, t->iss, 0);
			t->snd_nxt = t->snd_max = t->iss + 1;
			dps_tcp_rexmt_arm(t);
		} else if (t->flags & DPS_TF_ACKNOW) {
			dps_tcp_send_ack(t);
		}
		return;
	case DPS_TCP_TIME_WAIT:
		if (t->flags & DPS_TF_ACKNOW)
			dps_tcp_send_ack(t);
		return;
	case DPS_TCP_ESTABLISHED:
	case DPS_TCP_FIN_WAIT_1:
	case DPS_TCP_FIN_WAIT_2:
	case DPS_TCP_CLOSE_WAIT:
	case DPS_TCP_CLOSING:
	case DPS_TCP_LAST_ACK:
		break;
	}
	for (;;) {
		uint32_t off = t->snd_nxt - t->snd_una;
		uint32_t unsent = seq_lt(t->snd_nxt, data_end(t)) ? t->snd_queued - off : 0;
		uint32_t cwnd = t->cwnd, wnd;
		uint32_t in_flight = t->snd_nxt - t->snd_una;
		uint32_t usable;

		/* RFC 3042 limited transmit: one new segment for each of the first two dup ACKs. */
		if (!(t->flags & DPS_TF_IN_RECOVERY) && t->dupacks > 0 && t->dupacks < 3)
			cwnd += t->dupacks * (uint32_t)t->mss;
		/* RFC 6675: in SACK recovery the flight is the pipe estimate. */
		if ((t->flags & (DPS_TF_IN_RECOVERY | DPS_TF_SACK)) ==
		    (DPS_TF_IN_RECOVERY | DPS_TF_SACK))
			in_flight = dps_tcp_sack_pipe(t);
		wnd = t->snd_wnd < cwnd ? t->snd_wnd : cwnd;
		/* the peer's window still bounds what may be outstanding in sequence space */
		if (t->snd_nxt - t->snd_una > in_flight && t->snd_wnd < cwnd)
			in_flight = t->snd_nxt - t->snd_una;
		usable = wnd > in_flight ? wnd - in_flight : 0;
		uint32_t room = dps_tcp_seg_room(t);
		uint32_t len = unsent < room ? unsent : room;
		uint8_t flags = RTE_TCP_ACK_FLAG;
		bool fin;

		if (len > usable)
			len = usable;
		/* The FIN sits at data_end: send it with the segment that reaches there (again after
		 * a retransmission timeout rolled SND.NXT back), unless it is already acknowledged. */
		fin = (t->flags & DPS_TF_FIN_QUEUED) && t->state != DPS_TCP_FIN_WAIT_2 &&
		      t->snd_nxt + len == data_end(t);
		if (len == 0 && !fin)
			break;
		if (len > 0 && len < room && !fin && !small_segment_ok(t, len, unsent, &sws_held))
			break;
		if (len > 0 && len == unsent)
			flags |= RTE_TCP_PSH_FLAG;
		if (fin)
			flags |= RTE_TCP_FIN_FLAG;
		if (t->snd_una == t->snd_max)
			t->unacked_since_ms = t->eng->tcp->now_ms | 1;
		if (send_segment(t, flags, t->snd_nxt, len) < 0)
			break;
		sent_any = true;
		if (!(t->flags & DPS_TF_TS) && !(t->flags & DPS_TF_RTT_TIMING) &&
		    t->snd_nxt == t->snd_max && len > 0) {
			/* Karn: time one new segment per round trip (RFC 6298 §3) */
			t->flags |= DPS_TF_RTT_TIMING;
			t->rtt_seq = t->snd_nxt;
			t->rtt_start_ms = t->eng->tcp->now_ms;
		}
		t->snd_nxt += len + fin;
		if (fin)
			t->flags |= DPS_TF_FIN_SENT;
		if (seq_gt(t->snd_nxt, t->snd_max))
			t->snd_max = t->snd_nxt;
		dps_tcp_rexmt_arm(t);
		if (fin)
			break;
	}
	if (sent_any)
		dps_tcp_tlp_arm(t); /* RFC 8985 §7.2: new data went out */
	if (sws_held)
		sws_override_arm(t);
	if (t->flags & DPS_TF_ACKNOW)
		dps_tcp_send_ack(t);
	/* Zero window with data waiting and nothing in flight: probe (persist timer). */
	if (t->snd_wnd == 0 && seq_lt(t->snd_una, data_end(t)) &&
	    seq_leq(t->snd_max, t->snd_una + 1) && t->deadline[DPS_TT_PERSIST] == 0)
		dps_tcp_timer_set(t, DPS_TT_PERSIST, t->eng->tcp->now_ms + t->rto_us / 1000);
}

void dps_tcp_window_update(struct dps_tcb *t)
{
	uint32_t space = dps_tcp_rcv_space(t);
	uint32_t adv = seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
	uint32_t thresh = 2u * t->rcv_mss < t->rcv_buf / 2 ? 2u * t->rcv_mss : t->rcv_buf / 2;

	if (t->state < DPS_TCP_ESTABLISHED || t->state == DPS_TCP_TIME_WAIT)
		return;
	/* RFC 9293 §3.8.6.2.2: update when the window grows by min(buffer/2, 2 MSS)-ish. */
	if (space > adv && space - adv >= thresh)
		dps_tcp_send_ack(t);
}
