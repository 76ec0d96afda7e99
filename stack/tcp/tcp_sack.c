/*
 * tcp_sack: the sender's view of the peer's SACK blocks and conservative loss recovery (RFC 6675).
 *
 * The scoreboard keeps up to DPS_TCP_MAX_SACK merged ranges the peer reported above SND.UNA.
 * IsLost (§4): a sequence number is lost when DupThresh discontiguous SACKed ranges, or more than
 * (DupThresh - 1) * SMSS SACKed bytes, lie above it. Pipe (§4): bytes in flight that are neither
 * SACKed nor lost, plus what was retransmitted. NextSeg (§4), in its order: rule 1, the first
 * lost, unSACKed range above HighRxt; rule 2, new data (left to dps_tcp_output, which runs after
 * every ACK); rule 3, when no new data can go, the first unSACKed range above HighRxt even if not
 * lost; rule 4, once per recovery (RescueRxt, §5) and only after a partial ACK, a "rescue" segment
 * holding the highest unSACKed byte, when rules 1-3 find nothing, so that a lost retransmission
 * at the tail of the window need not wait for the RTO.
 */
#include "tcp.h"

#define DUP_THRESH 3

void dps_tcp_sack_clear(struct dps_tcb *t)
{
	t->n_sacked = 0;
}

/* Drop ranges at or below SND.UNA, trim the one it cuts. */
static void sack_trim(struct dps_tcb *t)
{
	unsigned k = 0;

	for (unsigned i = 0; i < t->n_sacked; i++) {
		struct dps_sack_block b = t->sacked[i];

		if (seq_leq(b.right, t->snd_una))
			continue;
		if (seq_lt(b.left, t->snd_una))
			b.left = t->snd_una;
		t->sacked[k++] = b;
	}
	t->n_sacked = (uint8_t)k;
}

/* Insert [l, r) keeping the list sorted and merged; when full, the highest range is dropped (the
 * lowest ones matter most for IsLost near SND.UNA). */
static void sack_add(struct dps_tcb *t, uint32_t l, uint32_t r)
{
	struct dps_sack_block out[DPS_TCP_MAX_SACK + 1];
	unsigned n = 0, i = 0;
	bool placed = false;

	while (i < t->n_sacked || !placed) {
		struct dps_sack_block b;

		if (!placed && (i == t->n_sacked || seq_leq(l, t->sacked[i].left))) {
			b = (struct dps_sack_block){ l, r };
			placed = true;
		} else {
			b = t->sacked[i++];
		}
		if (n > 0 && seq_geq(out[n - 1].right, b.left)) {
			if (seq_gt(b.right, out[n - 1].right))
				out[n - 1].right = b.right;
		} else if (n < DPS_TCP_MAX_SACK + 1) {
			out[n++] = b;
		}
	}
	if (n > DPS_TCP_MAX_SACK)
		n = DPS_TCP_MAX_SACK;
	for (i = 0; i < n; i++)
		t->sacked[i] = out[i];
	t->n_sacked = (uint8_t)n;
}

void dps_tcp_sack_update(struct dps_tcb *t, const struct dps_tcp_opts *o)
{
	for (unsigned i = 0; i < o->n_sack; i++) {
		uint32_t l = o->sack[i].left, r = o->sack[i].right;

		/* RFC 2018 §4 / RFC 6675 §2: only blocks inside (SND.UNA, SND.MAX] count; a D-SACK
		 * below SND.UNA is ignored. */
		if (!seq_lt(l, r) || seq_leq(r, t->snd_una) || seq_gt(r, t->snd_max))
			continue;
		sack_add(t, seq_lt(l, t->snd_una) ? t->snd_una : l, r);
	}
	sack_trim(t);
}

static bool is_sacked(const struct dps_tcb *t, uint32_t seq)
{
	for (unsigned i = 0; i < t->n_sacked; i++)
		if (seq_in(seq, t->sacked[i].left, t->sacked[i].right))
			return true;
	return false;
}

bool dps_tcp_sack_is_lost(const struct dps_tcb *t, uint32_t seq)
{
	uint32_t bytes = 0;
	unsigned ranges = 0;

	for (unsigned i = 0; i < t->n_sacked; i++)
		if (seq_gt(t->sacked[i].left, seq)) {
			ranges++;
			bytes += t->sacked[i].right - t->sacked[i].left;
		}
	return ranges >= DUP_THRESH || bytes > (DUP_THRESH - 1) * (uint32_t)t->mss;
}

/* The end of the unSACKed run that starts at seq (the next SACKed range, or SND.MAX). */
static uint32_t hole_end(const struct dps_tcb *t, uint32_t seq)
{
	for (unsigned i = 0; i < t->n_sacked; i++)
		if (seq_gt(t->sacked[i].left, seq))
			return t->sacked[i].left;
	return t->snd_max;
}

uint32_t dps_tcp_sack_pipe(const struct dps_tcb *t)
{
	uint32_t pipe = 0;

	for (uint32_t seq = t->snd_una; seq_lt(seq, t->snd_nxt);) {
		uint32_t end = hole_end(t, seq), step;

		if (is_sacked(t, seq)) {
			for (unsigned i = 0; i < t->n_sacked; i++)
				if (seq_in(seq, t->sacked[i].left, t->sacked[i].right))
					end = t->sacked[i].right;
			seq = end;
			continue;
		}
		if (seq_gt(end, t->snd_nxt))
			end = t->snd_nxt;
		step = end - seq;
		/* RFC 6675 §4 SetPipe: not lost counts once, retransmitted counts once more. */
		if (!dps_tcp_sack_is_lost(t, seq))
			pipe += step;
		if (seq_lt(seq, t->high_rxt))
			pipe += (seq_lt(end, t->high_rxt) ? end : t->high_rxt) - seq;
		seq = end;
	}
	return pipe;
}

/* End of the data sent so far (SND.MAX less a FIN, which a retransmission never carries here). */
static uint32_t data_sent_end(const struct dps_tcb *t)
{
	uint32_t data_end = t->snd_una + t->snd_queued;

	return seq_lt(data_end, t->snd_max) ? data_end : t->snd_max;
}

/* NextSeg rule 2's test: may dps_tcp_output send new data (unsent bytes inside the peer's window)? */
static bool new_data_can_go(const struct dps_tcb *t)
{
	return seq_lt(t->snd_nxt, t->snd_una + t->snd_queued) &&
	       seq_lt(t->snd_nxt, t->snd_una + t->snd_wnd);
}

/* NextSeg rule 4 (RFC 6675 §4): if HighACK > RescueRxt, one segment of up to a segment's room
 * that includes the highest unSACKed sequence number, then RescueRxt = RecoveryPoint (no second
 * one in this recovery); HighRxt unchanged. RescueRxt starts at the end of the first
 * retransmission (§5 step 4.3, tcp_input.c), so the rescue waits for a partial ACK past it.
 * t->rescue_rxt holds RescueRxt + 1. Returns true when it sent one. */
static bool rescue(struct dps_tcb *t)
{
	uint32_t end = data_sent_end(t), room = dps_tcp_seg_room(t), start;

	if (!seq_geq(t->snd_una, t->rescue_rxt))
		return false;
	if (t->n_sacked > 0 && seq_geq(t->sacked[t->n_sacked - 1].right, end))
		end = t->sacked[t->n_sacked - 1].left; /* the list is sorted and merged */
	if (!seq_gt(end, t->snd_una))
		return false; /* nothing unSACKed outstanding */
	start = end - t->snd_una > room ? end - room : t->snd_una;
	dps_tcp_send_range(t, start, end - start);
	t->rescue_rxt = t->recover + 1; /* RecoveryPoint */
	t->eng->ctr[DPS_CTR_tcp_rexmit_fast]++;
	t->eng->ctr[DPS_CTR_tcp_rexmit_rescue]++;
	return true;
}

void dps_tcp_sack_recover(struct dps_tcb *t)
{
	for (int guard = 0; guard < 64; guard++) {
		uint32_t pipe = dps_tcp_sack_pipe(t), seq, end, len;

		if (pipe + t->mss > t->cwnd)
			return;
		/* The first unSACKed byte above HighRxt. */
		seq = seq_gt(t->high_rxt, t->snd_una) ? t->high_rxt : t->snd_una;
		while (seq_lt(seq, t->snd_max) && is_sacked(t, seq)) {
			for (unsigned i = 0; i < t->n_sacked; i++)
				if (seq_in(seq, t->sacked[i].left, t->sacked[i].right))
					seq = t->sacked[i].right;
		}
		if (!seq_lt(seq, data_sent_end(t)) || !dps_tcp_sack_is_lost(t, seq)) {
			/* Rule 1 finds nothing lost. Rule 2: new data, sent by dps_tcp_output. */
			if (new_data_can_go(t))
				return;
			/* Rule 3: no new data can go; the first unSACKed range above HighRxt. */
			if (!seq_lt(seq, data_sent_end(t))) {
				rescue(t); /* rule 4 */
				return;
			}
		}
		end = hole_end(t, seq);
		len = end - seq < dps_tcp_seg_room(t) ? end - seq : dps_tcp_seg_room(t);
		if (seq_gt(seq + len, t->snd_una + t->snd_queued))
			len = t->snd_una + t->snd_queued - seq; /* not the FIN */
		if (len == 0)
			return;
		dps_tcp_send_range(t, seq, len);
		t->eng->ctr[DPS_CTR_tcp_rexmit_fast]++;
		t->high_rxt = seq + len;
	}
}
