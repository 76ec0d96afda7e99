/*
 * tcp: the connection engine (RFC 9293 and the RFCs cited where they apply). Internal to stack/.
 *
 * Files: tcp_wire.c (headers and options), tcp_input.c (segment arrival: acceptability, one handler
 * per state), tcp_output.c (what to send now: data, FIN, ACK, window updates, control segments),
 * tcp_timer.c (one wheel timer per connection, several deadlines), cc/ (congestion control
 * behind an ops table), tcp_table.c (the tables: handles, flows, listeners, ports, accept
 * queues), tcp_tcb.c (a control block's life: alloc, state, drop, abort, free), tcp_usr.c (the
 * socket calls of tcp_api.h, which include/dpsock.h wraps, and their readiness).
 *
 * The core is pure: functions take the connection, the parsed segment and `now`; they read no
 * clock and touch the device only through the engine's transmit batch. Only tcp_set_state()
 * writes a connection's state.
 */
#ifndef DPS_TCP_H
#define DPS_TCP_H

#include <stdbool.h>
#include <stdint.h>

#include "coroutine/wheel.h"
#include "dps_stack.h"
#include "tcp_wire.h"

struct rte_mbuf;
struct dps_engine;

/* RFC 9293 §3.3.2 */
enum dps_tcp_state {
	DPS_TCP_CLOSED,
	DPS_TCP_LISTEN,
	DPS_TCP_SYN_SENT,
	DPS_TCP_SYN_RCVD,
	DPS_TCP_ESTABLISHED,
	DPS_TCP_FIN_WAIT_1,
	DPS_TCP_FIN_WAIT_2,
	DPS_TCP_CLOSE_WAIT,
	DPS_TCP_CLOSING,
	DPS_TCP_LAST_ACK,
	DPS_TCP_TIME_WAIT,
	DPS_TCP_NSTATES
};

/* Deadlines a connection can have; its single wheel timer is armed at the earliest. */
enum dps_tcp_timer_kind {
	DPS_TT_REXMT, /* retransmission (RFC 6298), also SYN and SYN-ACK */
	DPS_TT_PERSIST, /* zero-window probe */
	DPS_TT_DELACK, /* delayed ACK */
	DPS_TT_KEEP, /* keepalive, and the SYN_RCVD/SYN_SENT give-up time */
	DPS_TT_2MSL, /* TIME_WAIT, FIN_WAIT_2 orphan timeout */
	DPS_TT_CORK, /* TCP_CORK holds a partial segment at most 200 ms */
	DPS_TT_COUNT
};

/* Connection flags (tcb->flags) */
enum {
	/* from the top bit down: congestion control and sender SWS avoidance state */
	DPS_TF_APP_LIMITED = 1u << 31, /* the flight did not fill cwnd (RFC 7661) */
	DPS_TF_SWS_FLUSH = 1u << 30, /* the SWS override timer expired: send the runt */
	DPS_TF_TLP_ARMED = 1u << 29, /* the REXMT deadline is a loss probe's PTO (RFC 8985 §7) */
	DPS_TF_TLP_OUT = 1u << 28, /* a loss probe is outstanding (TLP.end_seq = tlp_end) */
	DPS_TF_TLP_RXT = 1u << 27, /* ... and it was a retransmission */
	DPS_TF_NODELAY = 1u << 0, /* TCP_NODELAY */
	DPS_TF_CORK = 1u << 1, /* TCP_CORK */
	DPS_TF_ACKNOW = 1u << 2, /* send an ACK at the next output */
	DPS_TF_DELACK = 1u << 3, /* an ACK is owed, delayed */
	DPS_TF_WS = 1u << 4, /* window scaling agreed */
	DPS_TF_TS = 1u << 5, /* timestamps agreed */
	DPS_TF_SACK = 1u << 6, /* SACK-permitted agreed */
	DPS_TF_FIN_QUEUED = 1u << 7, /* the application closed its side: send FIN after the data */
	DPS_TF_FIN_SENT = 1u << 8, /* our FIN has a sequence number (snd_max includes it) */
	DPS_TF_RCVD_FIN = 1u << 9, /* the peer's FIN arrived in order */
	DPS_TF_KEEPALIVE = 1u << 10, /* SO_KEEPALIVE */
	DPS_TF_RD_SHUT = 1u << 11, /* shutdown(SHUT_RD) */
	DPS_TF_ORPHAN = 1u << 12, /* closed by the application: no socket refers to it */
	DPS_TF_IN_RECOVERY = 1u << 13, /* fast recovery (RFC 6582) */
	DPS_TF_RTT_TIMING = 1u << 14, /* rtt_seq is being timed (no timestamps) */
	DPS_TF_ACCEPTED = 1u << 15, /* taken by accept() */
	DPS_TF_LINGER0 = 1u << 16, /* SO_LINGER on with timeout 0: close() resets */
	DPS_TF_DROPPED =
	    1u << 17, /* reset or timed out: out of the flow table, only the handle left */
	DPS_TF_FIN_RCVD_OOO = 1u << 18, /* a FIN arrived ahead of missing data */
	DPS_TF_CORK_FLUSH = 1u << 19, /* the cork timer expired: send the partial segment */
	DPS_TF_CHILD =
	    1u << 20, /* made by a listener: shares its port, never counted in port_users */
	DPS_TF_PORT4 = 1u << 21, /* port chosen by connect for its 4-tuple: in port_conns */
	DPS_TF_BIND_NO_PORT = 1u << 22, /* IP_BIND_ADDRESS_NO_PORT: bind(addr, 0) leaves the port
					   to connect */
	DPS_TF_SYN_RESENT = 1u << 23, /* SYN_SENT: the SYN was sent again at once after a bad ACK
					 (tcp_input.c resend_syn_after_rst: once per connect) */
};

/* Priority of a connection (tcb->prio), from the rules' TCP-layer point (DESIGN.md §8). */
enum {
	DPS_TP_PIN_HIGH = 1u << 0, /* a 'conn' rule pinned it high: all of it is high */
	DPS_TP_PIN_LOW = 1u << 1, /* a 'conn' rule pinned it low: its data never marks it */
	DPS_TP_MARK = 1u << 2, /* high data received: high while unread bytes reach prio_seq */
};

struct dps_tcp_cc_ops;
struct dps_listener;

/*
 * A connection. Kept compact (DESIGN.md §7): see the size report of the unit tests.
 * Sequence numbers and windows in host order; addresses in network order; ports in host order.
 */
struct dps_tcb {
	struct dps_timer timer; /* first: the wheel callback finds the tcb from it */
	struct dps_engine *eng;
	/* identity */
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	uint8_t state; /* enum dps_tcp_state: written only by tcp_set_state() */
	uint8_t snd_wscale, rcv_wscale;
	uint8_t backoff; /* RTO doublings */
	uint32_t flags;
	/* send sequence space (RFC 9293 §3.3.1) */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wl1, snd_wl2;
	uint32_t snd_wnd; /* peer's window, scaled */
	uint32_t
	    snd_up_max; /* largest window the peer offered (SWS avoidance, RFC 9293 §3.8.6.2.1) */
	/* receive sequence space */
	uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge of the window we advertised */
	/* timestamps (RFC 7323) */
	uint32_t ts_recent, ts_offset;
	uint64_t ts_recent_age_ms;
	/* RTT and RTO (RFC 6298), microseconds */
	uint32_t srtt_us, rttvar_us, rto_us;
	uint32_t rtt_seq;
	uint64_t rtt_start_ms;
	/* congestion control (RFC 5681, RFC 6582) */
	uint32_t cwnd, ssthresh, recover;
	uint16_t mss; /* effective send MSS (payload bytes per segment, options excluded) */
	uint16_t rcv_mss; /* MSS we announced */
	uint8_t dupacks;
	uint8_t keep_probes; /* unanswered keepalive probes */
	uint8_t syn_retries;
	uint8_t prio; /* DPS_TP_*: priority class pinned, high data pending (DESIGN.md §8) */
	const struct dps_tcp_cc_ops *cc;
	uint32_t cc_state[8]; /* private to the congestion control */
	/* buffers */
	uint32_t snd_buf, rcv_buf; /* limits: SO_SNDBUF, SO_RCVBUF */
	uint32_t snd_queued; /* bytes in snd_q: from snd_una (unacked and unsent) */
	uint32_t rcv_queued; /* bytes in rcv_q waiting for the application */
	struct rte_mbuf *snd_q, *snd_q_tail; /* payload bytes from snd_una on */
	struct rte_mbuf *rcv_q, *rcv_q_tail; /* in-order payload not yet read */
	struct rte_mbuf *ooo; /* out-of-order segments, sorted by sequence number */
	uint32_t ooo_bytes;
	uint32_t fin_seq; /* sequence number of the peer's FIN when it came out of order */
	uint32_t prio_seq; /* DPS_TP_MARK: high-priority data ends here (RCV sequence space) */
	/* SACK scoreboard (RFC 6675): what the peer holds above SND.UNA, sorted, merged */
	struct dps_sack_block sacked[DPS_TCP_MAX_SACK];
	uint8_t n_sacked;
	uint16_t ooo_segs; /* buffers in the out-of-order queue (its memory bound, tcp_input.c) */
	uint32_t high_rxt; /* highest sequence retransmitted in this recovery */
	uint32_t rescue_rxt; /* RFC 6675 RescueRxt + 1: a rescue may go once SND.UNA reaches it */
	uint32_t last_ooo_seq; /* the latest out-of-order segment (its SACK block goes first) */
	uint16_t delack_segs; /* full segments received since our last ACK */
	uint16_t quickacks; /* ACKs left to send without delay */
	/* timers: absolute deadlines in ms of engine time; 0 = not armed */
	uint64_t deadline[DPS_TT_COUNT];
	/* keepalive and user timeout (ms) */
	uint32_t keep_idle_ms, keep_intvl_ms, user_timeout_ms;
	uint8_t keep_cnt;
	int8_t
	    so_error; /* pending error for SO_ERROR / the next call, as -errno (-ECONNRESET ...) */
	uint16_t linger_s;
	uint64_t last_rcv_ms; /* when the last segment arrived (keepalive idle) */
	uint64_t unacked_since_ms; /* when the oldest unacknowledged data was sent; 0: none */
	/* socket side */
	struct dps_listener *listener; /* SYN_RCVD/accept-queue child: its listener */
	struct dps_tcb *accept_next; /* link in the listener's accept queue */
	void (*on_event)(void *arg, uint32_t events); /* readiness callback for the event layer */
	void *event_arg;
	int handle; /* native API handle, -1 when none */
	uint32_t tlp_end; /* RFC 8985 TLP.end_seq: SND.NXT after the loss probe (DPS_TF_TLP_OUT) */
};

/* A listening socket. */
struct dps_listener {
	uint32_t laddr; /* 0 = any of ours */
	uint16_t lport;
	uint16_t backlog;
	uint16_t n_syn; /* children in SYN_RCVD */
	uint16_t n_accept; /* children established and waiting for accept() */
	struct dps_tcb *acc_head, *acc_tail;
	struct dps_tcb *acc_high_tail; /* last high child: high ones are accepted first, or NULL */
	uint32_t flags_inherit; /* NODELAY etc. copied into children */
	uint32_t snd_buf, rcv_buf;
	void (*on_event)(void *arg, uint32_t events);
	void *event_arg;
	int handle;
};

/* Is the flow cwnd-limited (RFC 7661 §3, RFC 9438 §5.8; Linux tcp_is_cwnd_limited)? Recorded
 * by dps_tcp_cc_note_flight() for each ACK of new data, from what was in flight when it came:
 * false when the application or the peer's window, not cwnd, limited the flight. An on_ack()
 * that sees false leaves cwnd alone. */
static inline bool dps_tcp_cwnd_limited(const struct dps_tcb *t)
{
	return !(t->flags & DPS_TF_APP_LIMITED);
}
void dps_tcp_cc_note_flight(struct dps_tcb *t, uint32_t flight);

/* Congestion control (tcp_cc.c), RFC 5681 terms. */
struct dps_tcp_cc_ops {
	const char *name;
	void (*init)(struct dps_tcb *t);
	/* acked bytes newly acknowledged outside recovery; cwnd grows only while
	 * dps_tcp_cwnd_limited(t) */
	void (*on_ack)(struct dps_tcb *t, uint32_t acked, uint64_t now_us);
	/* entering fast recovery: set ssthresh (cwnd is set by the caller per RFC 6582) */
	void (*on_loss)(struct dps_tcb *t);
	/* retransmission timeout */
	void (*on_rto)(struct dps_tcb *t);
};

const struct dps_tcp_cc_ops *dps_tcp_cc_find(const char *name);
extern const struct dps_tcp_cc_ops dps_tcp_newreno;
extern const struct dps_tcp_cc_ops dps_tcp_cubic; /* tcp_cubic.c */

/* The key of tcp_secret.c's functions (SipHash's two words). */
struct dps_tcp_secret {
	uint64_t k0, k1;
};

/* Per-engine TCP state. */
struct dps_tcp {
	struct rte_hash *flows; /* 4-tuple -> tcb */
	struct dps_wheel wheel; /* 1 ms ticks */
	struct dps_slab *tcbs;
	void **socks; /* handle -> tcb or (listener | 1) */
	int *free_handles; /* stack of free handles */
	unsigned n_socks, n_free, max_socks;
	struct dps_listener **listeners;
	unsigned n_listeners, max_listeners;
	uint16_t *port_users; /* sockets bound per local port (bind, listen) */
	uint32_t
	    *port_conns; /* connections per local port whose port connect chose (DPS_TF_PORT4) */
	uint32_t next_ephemeral; /* RFC 6056 algorithm 3's counter */
	uint32_t next_src; /* unbound connects: the next address of a range to use */
	struct dps_tcp_secret secret; /* ISN, TS offset, port offset: per boot (tcp_secret.c) */
	uint64_t now_ms; /* time of the current input/timer/call */
	uint64_t challenge_window_ms;
	uint32_t challenge_count;
	uint32_t rto_min_ms, time_wait_ms;
	uint32_t snd_buf, rcv_buf;
	uint32_t conns; /* connections allocated (all states) */
	uint32_t snd_reserve; /* packet buffers send queues leave free for receiving (tcp_usr.c) */
	uint32_t max_conns;
	uint32_t by_state[DPS_TCP_NSTATES];
	int seq_dynfield; /* offset of the sequence number kept in out-of-order mbufs */
	const struct dps_tcp_cc_ops *cc_default;
};

/* tcp_table.c: the tables. */
int dps_tcp_create(struct dps_engine *e, const struct dps_conf *c, uint64_t now, char *err,
		   size_t errlen);
void dps_tcp_destroy(struct dps_engine *e);
/* The connection or listener a handle names (NULL when it names the other kind, or nothing). */
struct dps_tcb *dps_tcp_handle_tcb(struct dps_engine *e, int s);
struct dps_listener *dps_tcp_handle_listener(struct dps_engine *e, int s);
/* Shared by tcp_usr.c since the split: a handle for obj (a tcb, or a listener tagged with bit 0)
 * or -EMFILE; give it back; does s name anything? */
int dps_tcp_handle_alloc(struct dps_tcp *tcp, void *obj);
void dps_tcp_handle_free(struct dps_tcp *tcp, int h);
bool dps_tcp_handle_valid(struct dps_engine *e, int s);
int dps_tcp_flow_add(struct dps_tcb *t);
/* Take t out of the flow table if it is in it (connected and not yet dropped). */
void dps_tcp_flow_del(struct dps_tcb *t);
struct dps_tcb *dps_tcp_flow_find(struct dps_engine *e, uint32_t laddr, uint16_t lport,
				  uint32_t raddr, uint16_t rport);
struct dps_listener *dps_tcp_listener_find(struct dps_engine *e, uint32_t laddr, uint16_t lport);
/* Shared by tcp_usr.c since the split. Give t the local port port (0: an ephemeral one unused
 * towards every peer), counted in port_users: 0, -EADDRINUSE or -EADDRNOTAVAIL. */
int dps_tcp_port_bind(struct dps_engine *e, struct dps_tcb *t, uint16_t port);
/* The local address (unless bound) and a port unique for the 4-tuple towards raddr:rport, for an
 * unbound connect, counted in port_conns: 0 or -EADDRNOTAVAIL. */
int dps_tcp_port_connect(struct dps_engine *e, struct dps_tcb *t, uint32_t raddr, uint16_t rport);
/* The entry of ip whose subnet holds raddr (the first one when none does). */
const struct dps_net *dps_tcp_source_net(const struct dps_engine *e, uint32_t raddr);

/* tcp_tcb.c: a control block's life. */
struct dps_tcb *dps_tcp_tcb_alloc(struct dps_engine *e);
void dps_tcp_tcb_free(struct dps_tcb *t); /* unlinks it from the flow table and its timer */
/* Shared by tcp_usr.c since the split: RST now (if synchronized), then free. */
void dps_tcp_tcb_abort(struct dps_tcb *t);
/* Shared by tcp_table.c since the split: free a chain of buffers linked by next, one by one. */
void dps_tcp_free_chain(struct rte_mbuf *m);
void dps_tcp_set_state(struct dps_tcb *t, enum dps_tcp_state st);
/* The pending error (-errno), cleared. */
int dps_tcp_take_error(struct dps_tcb *t);
/* A connection failed or was reset: record err (-ECONNRESET, ...), move to CLOSED, release what
 * can be released (the tcb itself is freed at once when no handle refers to it). */
void dps_tcp_drop(struct dps_tcb *t, int err);

/* tcp_usr.c: readiness. The readiness of t changed: call its socket's (or its listener's)
 * callback. */
void dps_tcp_notify(struct dps_tcb *t);
void dps_tcp_listener_notify(struct dps_listener *l);

/* Does t have high-priority data unread, or is it pinned high? (the event layer and the
 * transmit batch serve it first) */
static inline bool dps_tcp_is_high(const struct dps_tcb *t)
{
	return (t->prio & DPS_TP_PIN_HIGH) ||
	       ((t->prio & DPS_TP_MARK) && seq_gt(t->prio_seq, t->rcv_nxt - t->rcv_queued));
}
/* Append t to l's accept queue: a high child after the high ones already there, a low one at
 * the end (tcp_table.c); and take it out again. */
void dps_tcp_accq_push(struct dps_listener *l, struct dps_tcb *t);
void dps_tcp_accq_unlink(struct dps_listener *l, struct dps_tcb *t, struct dps_tcb *prev);

/* tcp_secret.c: pure functions of the secret and the host clock (docs/tcp.md, "ISN,
 * timestamps and ports"). */
/* SipHash-2-4 of len bytes under the key (k0, k1). */
uint64_t dps_siphash24(uint64_t k0, uint64_t k1, const void *data, size_t len);
/* The secret of this boot: from the boot id, hashed under a fixed label (the same for every
 * process until the host reboots). Without a readable boot id, a random one (logged). Returns 0
 * or -EIO. */
int dps_tcp_secret_load(struct dps_tcp_secret *s);
/* The secret a seed gives (what dps_tcp_secret_load does with the boot id; tests). */
void dps_tcp_secret_derive(struct dps_tcp_secret *s, const void *seed, size_t len);
/* RFC 6528 ISN at host time now_ns (CLOCK_MONOTONIC): +1 every 4 us for a given 4-tuple. */
uint32_t dps_tcp_isn(const struct dps_tcp_secret *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
		     uint16_t rport, uint64_t now_ns);
/* What TSval adds to the host clock in ms, per (local, remote) address pair (Linux's
 * secure_tcp_ts_off). */
uint32_t dps_tcp_ts_offset(const struct dps_tcp_secret *s, uint32_t laddr, uint32_t raddr);
/* RFC 6056 §3.3.3's F(local address, remote address, remote port, secret). */
uint32_t dps_tcp_port_offset(const struct dps_tcp_secret *s, uint32_t laddr, uint32_t raddr,
			     uint16_t rport);

/* tcp_input.c */
struct dps_ipv4_view;
void dps_tcp_input(struct dps_engine *e, struct rte_mbuf *m, const struct dps_ipv4_view *ip,
		   uint64_t now);

/* tcp_output.c */
/* Send what the windows, Nagle and pending flags allow. */
void dps_tcp_output(struct dps_tcb *t);
/* Send a segment with no data: flags, at sequence seq (SYN/FIN/ACK/RST as given). */
void dps_tcp_send_ctl(struct dps_tcb *t, uint8_t flags, uint32_t seq);
/* Send an ACK now (cancels a delayed one). */
void dps_tcp_send_ack(struct dps_tcb *t);
/* RST for a segment that matches no connection (RFC 9293 §3.10.7.1). */
void dps_tcp_reset_for(struct dps_engine *e, const struct dps_ipv4_view *ip,
		       const struct dps_tcp_seg *s);
/* Bytes (and whether the FIN) a retransmission of the first unacknowledged segment carries. */
uint32_t dps_tcp_rexmit_len(const struct dps_tcb *t, bool *fin);
/* Retransmit the first unacknowledged segment. */
void dps_tcp_retransmit(struct dps_tcb *t);
/* Payload bytes that fit in a segment now: the MSS less the options it must carry. */
uint32_t dps_tcp_seg_room(const struct dps_tcb *t);
/* Send len bytes of the send queue at seq again (SACK recovery). */
void dps_tcp_send_range(struct dps_tcb *t, uint32_t seq, uint32_t len);

/* tcp_sack.c: the sender's SACK scoreboard and loss recovery (RFC 6675) */
void dps_tcp_sack_update(struct dps_tcb *t, const struct dps_tcp_opts *o);
void dps_tcp_sack_clear(struct dps_tcb *t);
bool dps_tcp_sack_is_lost(const struct dps_tcb *t, uint32_t seq);
uint32_t dps_tcp_sack_pipe(const struct dps_tcb *t);
/* In recovery: retransmit lost segments while the window allows. */
void dps_tcp_sack_recover(struct dps_tcb *t);
/* The window we would advertise now, unscaled bytes. */
uint32_t dps_tcp_rcv_space(const struct dps_tcb *t);
/* Send a window update if reading opened the window enough. */
void dps_tcp_window_update(struct dps_tcb *t);

/* tcp_timer.c */
/* How long an orphaned FIN_WAIT_2 connection waits for the peer's FIN (Linux tcp_fin_timeout). */
uint32_t dps_tcp_fin_wait_2_ms(void);
void dps_tcp_timer_set(struct dps_tcb *t, enum dps_tcp_timer_kind k, uint64_t at_ms);
void dps_tcp_timer_clear(struct dps_tcb *t, enum dps_tcp_timer_kind k);
void dps_tcp_timer_fire(struct dps_timer *tm, uint64_t now_ns);
/* Arm the retransmission timer for the current RTO if it is not running. */
void dps_tcp_rexmt_arm(struct dps_tcb *t);
/* An RTT sample (RFC 6298 §2). */
void dps_tcp_rtt_sample(struct dps_tcb *t, uint32_t rtt_us);
/* Tail loss probe (RFC 8985 §7): schedule the PTO after new data went out or an ACK of new data
 * came; and the ACK processing of §7.4 (a repaired loss gets the congestion response). */
void dps_tcp_tlp_arm(struct dps_tcb *t);
void dps_tcp_tlp_ack(struct dps_tcb *t, const struct dps_tcp_seg *s);

/* The RFC 1071 sum of the first len bytes of the mbuf chain m, folded (tcp_output.c). */
uint16_t dps_tcp_cksum_chain(const struct rte_mbuf *m, uint32_t len);

#endif
