/*
 * pkt: the framework behind the scenarios (see pkt.h and docs/pkt-tests.md).
 *
 * Order of things in one scenario (a child process): engine_start (engine over dev_mem, peer's ARP
 * seeded) -> the scenario's verbs (IN injects a frame and polls once; every poll collects what the
 * engine sent into the out queue, answering ARP requests for the peer; OUT takes the next frame of
 * a connection from the queue and compares it) -> clean-up (RST every connection still alive,
 * close every handle, poll) -> leak check (the engine holds no packet buffer) -> engine destroyed
 * -> pool check. A failure prints the scenario's file:line, what differs and the trace, then exits.
 */
#include "pkt.h"
#include "pkt_run.h"
#include "seg.h"

#include "dev.h"
#include "dps_conf.h"
#include "dps_stack.h"
#include "tcp_wire.h"
#include "wire.h"
#include "test/unit/stack/frames.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#define NS_MS 1000000ull
#define T0_NS (1000ull * 1000 * NS_MS) /* time starts at 1000 s */
#define QMAX 4096 /* frames sent and not yet taken by OUT */
#define TRACE_LINES 160
#define TRACE_LEN 240

static const uint32_t peer_ip = RTE_BE32(0xc6120001), stack_ip = RTE_BE32(0xc6120002);

struct rte_mempool *pkt_pool;
unsigned pkt_pool_n;
bool pkt_verbose;
struct dps_engine *pkt_eng;

static struct dps_dev *dev;
static struct dps_conf conf;
static bool conf_ok;
static uint64_t now_ns;
static char err[512];
static char extra[8][2][64];
static unsigned n_extra;
static struct conn *conns; /* newest first */
static struct {
	int fd;
	uint16_t port;
} listeners[16];
static unsigned n_listeners;
static uint16_t next_peer_port = 40000;

struct qframe {
	struct conn *c; /* NULL: not TCP, or no connection of the scenario */
	uint64_t t_ms;
	bool taken;
	uint16_t len, l4; /* frame length, TCP header offset (0: not TCP) */
	uint8_t buf[FRAME_MAX];
};
static struct qframe q[QMAX];
static unsigned q_head, q_tail; /* free-running; slots q[i % QMAX] */

static char trace[TRACE_LINES][TRACE_LEN];
static unsigned n_trace;

uint64_t pkt_now(void)
{
	return now_ns;
}

uint64_t now_ms(void)
{
	return (now_ns - T0_NS) / NS_MS;
}

static void tracef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void tracef(const char *fmt, ...)
{
	char *line = trace[n_trace++ % TRACE_LINES];
	va_list ap;
	int n = snprintf(line, TRACE_LEN, "+%7llums ", (unsigned long long)now_ms());

	va_start(ap, fmt);
	vsnprintf(line + n, TRACE_LEN - (size_t)n, fmt, ap);
	va_end(ap);
	if (pkt_verbose)
		printf("%s\n", line);
}

static void trace_dump(void)
{
	unsigned first = n_trace > TRACE_LINES ? n_trace - TRACE_LINES : 0;

	printf("trace (ms since start; < from the peer, > from the engine, = a call):\n");
	for (unsigned i = first; i < n_trace; i++)
		printf("  %s\n", trace[i % TRACE_LINES]);
}

void pkt_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	printf("%s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pkt_verbose)
		trace_dump();
	fflush(stdout);
	_exit(1);
}

static const char *errname(long long v)
{
	static char buf[64];
	const char *n = v < 0 && v > -4096 ? strerrorname_np((int)-v) : NULL;

	if (n == NULL)
		return "";
	snprintf(buf, sizeof(buf), " (-%s)", n);
	return buf;
}

void pkt_eq(const char *file, int line, const char *expr, long long got, long long want)
{
	if (got == want)
		return;
	char g[64];

	snprintf(g, sizeof(g), "%s", errname(got));
	pkt_fail(file, line, "%s = %lld%s, expected %lld%s", expr, got, g, want, errname(want));
}

/* ------------------------------------------------------------------------------------------ */
/* Frames from the engine */

static struct conn *conn_of(uint16_t sport, uint16_t dport)
{
	for (struct conn *c = conns; c != NULL; c = c->next)
		if (c->rport == dport && (c->lport == sport || c->lport == 0)) {
			c->lport = sport;
			return c;
		}
	return NULL;
}

static void rel_out(const struct conn *c, struct seg_rel *r)
{
	r->seq_base = c != NULL && c->iss_known ? c->iss : 0;
	r->ack_base = c != NULL ? c->irs : 0;
	r->tsval_base = c != NULL && c->ts0_known ? c->ts0 : 0;
	r->tsecr_base = 0;
	r->sack_base = c != NULL ? c->irs : 0;
}

static void view_of(const struct dps_tcp_seg *s, struct seg_view *v)
{
	v->flags = s->flags;
	v->seq = s->seq;
	v->ack = s->ack;
	v->len = s->len;
	v->win = s->wnd;
	v->opts = s->payload - s->hlen + DPS_TCP_HDR_LEN;
	v->opts_len = s->hlen - DPS_TCP_HDR_LEN;
}

static void inject_frame(const uint8_t *f, size_t n)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pkt_pool);

	if (m == NULL)
		pkt_fail(__FILE__, __LINE__, "packet pool empty (the engine holds every buffer?)");
	memcpy(rte_pktmbuf_append(m, (uint16_t)n), f, n);
	if (dps_dev_mem_inject(dev, &m, 1) != 1)
		pkt_fail(__FILE__, __LINE__, "device input ring full");
}

/* One frame the engine sent: answer ARP for the peer, queue the rest. */
static void take_frame(const uint8_t *f, size_t n)
{
	struct dps_eth_view eth;
	struct dps_ipv4_view ip;
	struct dps_arp_view a;
	struct dps_tcp_seg s;
	struct qframe *qf;
	enum dps_drop d;

	if (dps_wire_eth_parse(f, n, &eth) != DPS_DROP_NONE)
		pkt_fail(__FILE__, __LINE__, "engine sent a runt frame of %zu bytes", n);
	if (eth.type == RTE_ETHER_TYPE_ARP) {
		uint8_t r[FRAME_MAX];

		if (dps_wire_arp_parse(f + 14, n - 14, &a) == DPS_DROP_NONE &&
		    a.op == RTE_ARP_OP_REQUEST && a.tpa == peer_ip) {
			size_t rn = frame_arp(r, &stack_mac, RTE_ARP_OP_REPLY, &peer_mac, peer_ip,
					      &stack_mac, stack_ip);
			inject_frame(r, rn);
		}
		return;
	}
	if (q_tail - q_head == QMAX)
		pkt_fail(__FILE__, __LINE__, "more than %d frames sent and not taken", QMAX);
	qf = &q[q_tail++ % QMAX];
	memset(qf, 0, offsetof(struct qframe, buf));
	memcpy(qf->buf, f, n);
	qf->len = (uint16_t)n;
	qf->t_ms = now_ms();
	if (eth.type != RTE_ETHER_TYPE_IPV4 ||
	    dps_wire_ipv4_parse(f + 14, n - 14, &ip) != DPS_DROP_NONE || ip.proto != IPPROTO_TCP) {
		tracef("> non-TCP frame (ethertype 0x%04x, %zu bytes)", eth.type, n);
		return;
	}
	if (!rte_is_same_ether_addr(&eth.h->dst_addr, &peer_mac) || ip.src != stack_ip ||
	    ip.dst != peer_ip)
		pkt_fail(__FILE__, __LINE__, "TCP frame with wrong addresses (MAC or IP)");
	d = dps_tcp_parse(f + 14 + ip.hlen, ip.total - ip.hlen, ip.src, ip.dst, &s);
	if (d != DPS_DROP_NONE)
		pkt_fail(__FILE__, __LINE__, "engine sent a TCP segment that does not parse: %s",
			 dps_engine_counter_name(DPS_CTR_COUNT + d - 1));
	qf->l4 = (uint16_t)(14 + ip.hlen);
	qf->c = conn_of(s.sport, s.dport);
	if (qf->c != NULL) {
		struct conn *c = qf->c;
		if ((s.flags & RTE_TCP_SYN_FLAG) && !c->iss_known) {
			c->iss_known = true;
			c->iss = s.seq;
		}
		if (s.opts.has_ts) {
			if (!c->ts0_known) {
				c->ts0_known = true;
				c->ts0 = s.opts.tsval;
			}
			c->ts_last = s.opts.tsval;
		}
		if ((s.flags & RTE_TCP_ACK_FLAG) && !(s.flags & RTE_TCP_RST_FLAG)) {
			c->ack_seen = true;
			c->last_ack = s.ack;
		}
	}
	{
		struct seg_rel r;
		struct seg_view v;
		char line[200];

		rel_out(qf->c, &r);
		view_of(&s, &v);
		seg_format(&v, &r, line, sizeof(line));
		tracef("> %s%s", line, qf->c == NULL ? "   (no connection of the scenario)" : "");
	}
}

static void collect(void)
{
	struct rte_mbuf *m[64];
	unsigned n;
	uint8_t f[FRAME_MAX];

	while ((n = dps_dev_mem_collect(dev, m, 64)) > 0)
		for (unsigned i = 0; i < n; i++) {
			uint32_t len = rte_pktmbuf_pkt_len(m[i]);

			if (len > FRAME_MAX)
				pkt_fail(__FILE__, __LINE__, "engine sent a %u-byte frame", len);
			memcpy(f, rte_pktmbuf_read(m[i], 0, len, f), len);
			rte_pktmbuf_free(m[i]);
			take_frame(f, len);
		}
}

static bool in_burst; /* IN queues frames without polling: they arrive in one burst */

static void poll_once(void)
{
	dps_engine_poll(pkt_eng, now_ns);
	collect();
}

void pkt_wait(uint64_t ms)
{
	/* Every ms; long waits in at most 200000 polls. */
	uint64_t step = ms > 200000 ? (ms + 199999) / 200000 : 1;

	for (uint64_t done = 0; done < ms;) {
		uint64_t d = ms - done < step ? ms - done : step;

		now_ns += d * NS_MS;
		done += d;
		poll_once();
	}
}

static void q_trim(void)
{
	while (q_head != q_tail && q[q_head % QMAX].taken)
		q_head++;
}

static struct qframe *q_find(const struct conn *c)
{
	for (unsigned i = q_head; i != q_tail; i++)
		if (!q[i % QMAX].taken && q[i % QMAX].c == c)
			return &q[i % QMAX];
	return NULL;
}

static void q_describe(const struct qframe *qf, char *buf, size_t len)
{
	struct dps_tcp_seg s;
	struct seg_rel r;
	struct seg_view v;

	if (qf->l4 == 0) {
		snprintf(buf, len, "a non-TCP frame");
		return;
	}
	dps_tcp_parse(qf->buf + qf->l4, qf->len - qf->l4, stack_ip, peer_ip, &s);
	rel_out(qf->c, &r);
	view_of(&s, &v);
	seg_format(&v, &r, buf, len);
}

void pkt_nothing(const char *file, int line, uint64_t ms)
{
	for (int pass = 0; pass < 2; pass++) {
		q_trim();
		if (q_head != q_tail) {
			struct qframe *qf = &q[q_head % QMAX];
			char d[200];

			q_describe(qf, d, sizeof(d));
			pkt_fail(file, line,
				 "expected nothing, but the engine sent at +%llums:\n  %s",
				 (unsigned long long)qf->t_ms, d);
		}
		if (pass == 0)
			pkt_wait(ms);
	}
}

void pkt_out(const char *file, int line, struct conn *c, const char *spec_line, long after_ms)
{
	struct spec sp;
	struct qframe *qf;
	struct dps_tcp_seg s;
	struct seg_rel r;
	struct seg_view v;
	const char *why;
	char got[200], want[200];

	if (spec_parse(spec_line, &sp, err, sizeof(err)) != 0)
		pkt_fail(file, line, "%s", err);
	spec_format(&sp, want, sizeof(want));
	if (after_ms >= 0) {
		uint64_t start = now_ms(), tol = 4 + (uint64_t)after_ms / 100;

		if ((qf = q_find(c)) != NULL) {
			q_describe(qf, got, sizeof(got));
			pkt_fail(file, line,
				 "expected after %ld ms: %s\n  but already sent at +%llums: %s",
				 after_ms, want, (unsigned long long)qf->t_ms, got);
		}
		while ((qf = q_find(c)) == NULL && now_ms() < start + (uint64_t)after_ms + tol)
			pkt_wait(1);
		if (qf == NULL)
			pkt_fail(file, line,
				 "expected at +%llums (±%llu): %s\n  but nothing was sent",
				 (unsigned long long)(start + (uint64_t)after_ms),
				 (unsigned long long)tol, want);
		if (qf->t_ms + tol < start + (uint64_t)after_ms) {
			q_describe(qf, got, sizeof(got));
			pkt_fail(
			    file, line,
			    "expected at +%llums (±%llu): %s\n  but sent early, at +%llums: %s",
			    (unsigned long long)(start + (uint64_t)after_ms),
			    (unsigned long long)tol, want, (unsigned long long)qf->t_ms, got);
		}
	} else if ((qf = q_find(c)) == NULL)
		pkt_fail(file, line, "expected: %s\n  but nothing was sent", want);
	dps_tcp_parse(qf->buf + qf->l4, qf->len - qf->l4, stack_ip, peer_ip, &s);
	rel_out(c, &r);
	view_of(&s, &v);
	seg_format(&v, &r, got, sizeof(got));
	if ((why = spec_match(&sp, &v, &r)) != NULL)
		pkt_fail(file, line,
			 "segment differs (%s)\n  expected: %s\n  got:      %s   (at +%llums)", why,
			 want, got, (unsigned long long)qf->t_ms);
	if (c->ts && !(s.flags & RTE_TCP_RST_FLAG) && !s.opts.has_ts)
		pkt_fail(file, line,
			 "no timestamps though agreed (RFC 7323 §3.2)\n  got: %s   (at +%llums)",
			 got, (unsigned long long)qf->t_ms);
	if (s.len > 0) {
		uint64_t off = (uint32_t)(s.seq - r.seq_base) + !!(s.flags & RTE_TCP_SYN_FLAG) - 1;

		if (off + s.len > c->snd_off)
			pkt_fail(file, line,
				 "sends bytes %llu..%llu, the application wrote %llu\n  got: %s",
				 (unsigned long long)off, (unsigned long long)(off + s.len),
				 (unsigned long long)c->snd_off, got);
		for (uint32_t i = 0; i < s.len; i++)
			if (s.payload[i] != our_byte(off + i))
				pkt_fail(file, line,
					 "payload byte at stream offset %llu is wrong\n  got: %s",
					 (unsigned long long)(off + i), got);
	}
	qf->taken = true;
	q_trim();
}

/* ------------------------------------------------------------------------------------------ */
/* Frames from the peer */

static uint8_t *wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static uint32_t peer_ts_now(const struct conn *c)
{
	return c->peer_ts_ms == UINT64_MAX ? 1000
					   : c->peer_ts + (uint32_t)(now_ms() - c->peer_ts_ms);
}

/* Option bytes for what the peer sends; returns the length (a multiple of 4). */
static size_t build_opts(struct conn *c, const struct spec *sp, uint8_t *o, const char *file,
			 int line)
{
	bool syn = sp->flags & RTE_TCP_SYN_FLAG, rst = sp->flags & RTE_TCP_RST_FLAG, has_ts = false;
	uint8_t *p = o;

	for (unsigned i = 0; i < sp->n_opts; i++)
		has_ts |= sp->opts[i].kind == O_TS;
	if (c->ts && !syn && !rst && !has_ts) { /* the peer's TS, as a real peer sends it */
		*p++ = 1;
		*p++ = 1;
		*p++ = 8;
		*p++ = 10;
		p = wr32(p, peer_ts_now(c));
		p = wr32(p, c->ts_last);
	}
	for (unsigned i = 0; i < sp->n_opts; i++) {
		const struct spec_opt *so = &sp->opts[i];

		switch (so->kind) {
		case O_NOP:
			*p++ = 1;
			break;
		case O_EOL:
			*p++ = 0;
			break;
		case O_MSS:
			*p++ = 2;
			*p++ = 4;
			*p++ = (uint8_t)(so->a.v >> 8);
			*p++ = (uint8_t)so->a.v;
			break;
		case O_WS:
			*p++ = 3;
			*p++ = 3;
			*p++ = (uint8_t)so->a.v;
			break;
		case O_SACKOK:
			*p++ = 4;
			*p++ = 2;
			break;
		case O_TS: {
			uint32_t val = so->a.wild ? peer_ts_now(c) : (uint32_t)so->a.v;
			uint32_t ecr = so->b.wild ? c->ts_last
						  : (uint32_t)so->b.v + (c->ts0_known ? c->ts0 : 0);

			if (c->peer_ts_ms == UINT64_MAX || (int32_t)(val - peer_ts_now(c)) > 0) {
				c->peer_ts = val;
				c->peer_ts_ms = now_ms();
			}
			*p++ = 8;
			*p++ = 10;
			p = wr32(p, val);
			p = wr32(p, ecr);
			break;
		}
		case O_SACK:
			*p++ = 5;
			*p++ = (uint8_t)(2 + 8 * so->n_blocks);
			for (unsigned b = 0; b < so->n_blocks; b++) {
				uint32_t base = c->iss_known ? c->iss : 0;

				p = wr32(p, base + (uint32_t)so->left[b].v);
				p = wr32(p, base + (uint32_t)so->right[b].v);
			}
			break;
		case O_OTHER:
			break;
		}
		if (p - o > DPS_TCP_MAX_OPT_LEN)
			pkt_fail(file, line, "options longer than 40 bytes");
	}
	while ((p - o) % 4 != 0)
		*p++ = 0;
	if (p - o > DPS_TCP_MAX_OPT_LEN)
		pkt_fail(file, line, "options longer than 40 bytes");
	return (size_t)(p - o);
}

void pkt_in(const char *file, int line, struct conn *c, const char *spec_line,
	    const struct seg_mod *mod)
{
	uint8_t f[FRAME_MAX], opts[64];
	struct spec sp;
	struct rte_tcp_hdr *th;
	size_t olen, n, tcp_len;
	int64_t first;
	uint32_t ack = 0;

	if (spec_parse(spec_line, &sp, err, sizeof(err)) != 0)
		pkt_fail(file, line, "%s", err);
	if ((sp.flags & RTE_TCP_ACK_FLAG) && !sp.has_ack)
		pkt_fail(file, line, "a segment with ACK needs \"ack N\": %s", spec_line);
	if (sp.has_ack)
		ack = sp.ack.wild ? c->last_ack /* unused guess */
				  : (c->iss_known ? c->iss : 0) + (uint32_t)sp.ack.v;
	olen = build_opts(c, &sp, opts, file, line);
	if (mod != NULL && mod->raw_opts != NULL) {
		olen = mod->raw_opts_len;
		memcpy(opts, mod->raw_opts, olen);
	}
	tcp_len = DPS_TCP_HDR_LEN + olen + (size_t)sp.len;
	n = frame_eth(f, &stack_mac, &peer_mac, RTE_ETHER_TYPE_IPV4);
	n += frame_ipv4_hdr(f + n, IPPROTO_TCP, peer_ip, stack_ip, tcp_len);
	th = (struct rte_tcp_hdr *)(f + n);
	memset(th, 0, sizeof(*th));
	th->src_port = rte_cpu_to_be_16(c->rport);
	th->dst_port = rte_cpu_to_be_16(c->lport);
	th->sent_seq = rte_cpu_to_be_32(c->irs + (uint32_t)sp.seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)(((mod != NULL && mod->doff != 0) ? (unsigned)mod->doff
								  : (DPS_TCP_HDR_LEN + olen) / 4)
				 << 4);
	th->tcp_flags = sp.flags;
	th->rx_win = rte_cpu_to_be_16(sp.has_win && !sp.win.wild ? (uint16_t)sp.win.v : 65535);
	memcpy(f + n + DPS_TCP_HDR_LEN, opts, olen);
	first = sp.seq + !!(sp.flags & RTE_TCP_SYN_FLAG) - 1; /* stream offset of the first byte */
	for (int64_t i = 0; i < sp.len; i++)
		f[n + DPS_TCP_HDR_LEN + olen + (size_t)i] = peer_byte((uint64_t)(first + i));
	dps_tcp_fill_cksum(th, tcp_len, peer_ip, stack_ip);
	if (mod != NULL && mod->partial_csum) /* CHECKSUM_PARTIAL: the folded pseudo-header sum */
		th->cksum = __rte_raw_cksum_reduce(
		    dps_tcp_pseudo_sum(peer_ip, stack_ip, (uint32_t)tcp_len));
	if (mod != NULL && mod->bad_csum)
		th->cksum ^= 0x5a5a;
	n += tcp_len;
	if (sp.end + !!(sp.flags & RTE_TCP_SYN_FLAG) + !!(sp.flags & RTE_TCP_FIN_FLAG) >
	    (int64_t)(int32_t)c->peer_nxt)
		c->peer_nxt = (uint32_t)(sp.end + !!(sp.flags & RTE_TCP_SYN_FLAG) +
					 !!(sp.flags & RTE_TCP_FIN_FLAG));
	{
		struct seg_rel r = { c->irs, c->iss_known ? c->iss : 0, 0,
				     c->ts0_known ? c->ts0 : 0, c->iss_known ? c->iss : 0 };
		struct seg_view v = { sp.flags,
				      c->irs + (uint32_t)sp.seq,
				      ack,
				      (uint32_t)sp.len,
				      rte_be_to_cpu_16(th->rx_win),
				      opts,
				      olen };
		char l[200];

		seg_format(&v, &r, l, sizeof(l));
		tracef("< %s%s", l, mod != NULL ? "   (modified)" : "");
	}
	inject_frame(f, n);
	if (!in_burst)
		poll_once();
}

void pkt_burst(bool begin)
{
	in_burst = begin;
	if (!begin)
		poll_once();
}

/* ------------------------------------------------------------------------------------------ */
/* Connections and socket calls */

uint32_t pkt_next_isn = PEER_ISN;

const char *seg(const char *fmt, ...)
{
	static char bufs[4][256];
	static unsigned i;
	char *b = bufs[i++ % 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(bufs[0]), fmt, ap);
	va_end(ap);
	return b;
}

static uint32_t take_isn(void)
{
	uint32_t isn = pkt_next_isn;

	pkt_next_isn = PEER_ISN;
	return isn;
}

struct conn *peer_conn(uint16_t lport, uint32_t irs)
{
	struct conn *c = calloc(1, sizeof(*c));

	c->fd = -1;
	c->lfd = -1;
	c->lport = lport;
	c->rport = next_peer_port++;
	c->irs = irs;
	c->peer_ts_ms = UINT64_MAX;
	c->next = conns;
	conns = c;
	return c;
}

int pkt_listen_on(const char *file, int line, uint16_t port, int backlog)
{
	int s = dps_tcp_socket(pkt_eng);

	if (s < 0)
		pkt_fail(file, line, "socket() = %d%s", s, errname(s));
	pkt_eq(file, line, "bind()", dps_tcp_bind(pkt_eng, s, 0, port), 0);
	pkt_eq(file, line, "listen()", dps_tcp_listen(pkt_eng, s, backlog), 0);
	tracef("= listen(port %u, backlog %d) = handle %d", port, backlog, s);
	listeners[n_listeners].fd = s;
	listeners[n_listeners++].port = port;
	return s;
}

static uint16_t listener_port(int lfd)
{
	for (unsigned i = 0; i < n_listeners; i++)
		if (listeners[i].fd == lfd)
			return listeners[i].port;
	return 0;
}

struct conn *pkt_accept_conn(const char *file, int line, int lfd, const char *syn_opts,
			     uint32_t rtt_ms)
{
	struct conn *c = peer_conn(listener_port(lfd), take_isn());
	char l[200];

	c->lfd = lfd;
	snprintf(l, sizeof(l), "S 0:0(0) win 65535%s%s%s", *syn_opts ? " <" : "", syn_opts,
		 *syn_opts ? ">" : "");
	pkt_in(file, line, c, l, NULL);
	pkt_out(file, line, c, "S. 0:0(0) ack 1", -1);
	c->ts = strstr(syn_opts, "TS") != NULL && c->ts0_known;
	pkt_wait(rtt_ms);
	pkt_in(file, line, c, ". 1:1(0) ack 1", NULL);
	if (sock_accept(c, lfd) < 0)
		pkt_fail(file, line, "accept() = %d%s after the handshake", c->fd, errname(c->fd));
	return c;
}

struct conn *pkt_connect_start(const char *file, int line)
{
	struct conn *c = peer_conn(0, take_isn());
	int s = dps_tcp_socket(pkt_eng), r;

	c->rport = PEER_PORT_ACTIVE;
	if (s < 0)
		pkt_fail(file, line, "socket() = %d%s", s, errname(s));
	c->fd = s;
	r = dps_tcp_connect(pkt_eng, s, peer_ip, PEER_PORT_ACTIVE, now_ns);
	tracef("= connect(handle %d) = %d%s", s, r, errname(r));
	pkt_eq(file, line, "connect()", r, -EINPROGRESS);
	poll_once();
	return c;
}

struct conn *pkt_connect_conn(const char *file, int line, const char *synack_opts, uint32_t rtt_ms)
{
	struct conn *c = pkt_connect_start(file, line);
	char l[200];

	pkt_out(file, line, c, "S 0:0(0)", -1);
	pkt_wait(rtt_ms);
	snprintf(l, sizeof(l), "S. 0:0(0) ack 1 win 65535%s%s%s", *synack_opts ? " <" : "",
		 synack_opts, *synack_opts ? ">" : "");
	pkt_in(file, line, c, l, NULL);
	c->ts = strstr(synack_opts, "TS") != NULL && c->ts0_known;
	pkt_out(file, line, c, ". 1:1(0) ack 1", -1);
	return c;
}

struct conn *pkt_passive(const char *file, int line, const char *syn_opts)
{
	return pkt_accept_conn(file, line, pkt_listen_on(file, line, LISTEN_PORT, 16), syn_opts, 0);
}

struct conn *pkt_active(const char *file, int line, const char *synack_opts)
{
	return pkt_connect_conn(file, line, synack_opts, 0);
}

ssize_t sock_send_flags(struct conn *c, size_t n, int flags)
{
	uint8_t *buf = malloc(n + 1);
	ssize_t r;

	for (size_t i = 0; i < n; i++)
		buf[i] = our_byte(c->snd_off + i);
	r = dps_tcp_send(pkt_eng, c->fd, buf, n, flags, now_ns);
	free(buf);
	tracef("= send(%zu%s) = %zd%s", n, flags ? ", flags" : "", r, errname(r));
	if (r > 0)
		c->snd_off += (uint64_t)r;
	poll_once();
	return r;
}

ssize_t sock_send(struct conn *c, size_t n)
{
	return sock_send_flags(c, n, 0);
}

ssize_t sock_recv(struct conn *c, size_t n)
{
	uint8_t *buf = malloc(n + 1);
	ssize_t r = dps_tcp_recv(pkt_eng, c->fd, buf, n, 0, now_ns);

	tracef("= recv(%zu) = %zd%s", n, r, errname(r));
	for (ssize_t i = 0; i < r; i++)
		if (buf[i] != peer_byte(c->rcv_off + (uint64_t)i))
			pkt_fail(__FILE__, __LINE__,
				 "recv: byte at stream offset %llu is 0x%02x, the peer sent 0x%02x",
				 (unsigned long long)(c->rcv_off + (uint64_t)i), buf[i],
				 peer_byte(c->rcv_off + (uint64_t)i));
	free(buf);
	if (r > 0)
		c->rcv_off += (uint64_t)r;
	poll_once();
	return r;
}

int sock_close(struct conn *c)
{
	int r = dps_tcp_close(pkt_eng, c->fd, now_ns);

	tracef("= close(handle %d) = %d%s", c->fd, r, errname(r));
	if (r == 0)
		c->fd = -1;
	poll_once();
	return r;
}

int sock_shutdown(struct conn *c, int how)
{
	int r = dps_tcp_shutdown(pkt_eng, c->fd, how, now_ns);

	tracef("= shutdown(%d) = %d%s", how, r, errname(r));
	poll_once();
	return r;
}

int sock_state(struct conn *c)
{
	return dps_tcp_state_of(pkt_eng, c->fd);
}

int sock_events(struct conn *c)
{
	return dps_tcp_events(pkt_eng, c->fd);
}

int sock_getopt(struct conn *c, int level, int name)
{
	int v = 0;
	uint32_t len = sizeof(v);
	int r = dps_tcp_getsockopt(pkt_eng, c->fd, level, name, &v, &len);

	return r < 0 ? r : v;
}

int sock_error(struct conn *c)
{
	return sock_getopt(c, SOL_SOCKET, SO_ERROR);
}

int sock_setopt(struct conn *c, int level, int name, int value)
{
	int r = dps_tcp_setsockopt(pkt_eng, c->fd, level, name, &value, sizeof(value));

	tracef("= setsockopt(%d, %d, %d) = %d%s", level, name, value, r, errname(r));
	poll_once();
	return r;
}

int sock_accept(struct conn *c, int lfd)
{
	uint32_t raddr = 0;
	uint16_t rport = 0;
	int r = dps_tcp_accept(pkt_eng, lfd, &raddr, &rport);

	tracef("= accept(handle %d) = %d%s", lfd, r, errname(r));
	if (r >= 0) {
		c->fd = r;
		if (raddr != peer_ip || rport != c->rport)
			pkt_fail(__FILE__, __LINE__, "accept gave peer port %u, expected %u", rport,
				 c->rport);
	}
	poll_once();
	return r;
}

int sock_tcp_info(struct conn *c, struct tcp_info *ti)
{
	uint32_t len = sizeof(*ti);

	memset(ti, 0, sizeof(*ti));
	return dps_tcp_getsockopt(pkt_eng, c->fd, IPPROTO_TCP, TCP_INFO, ti, &len);
}

uint64_t counter(const char *name)
{
	for (unsigned i = 0; i < dps_engine_counter_count(); i++)
		if (strcmp(dps_engine_counter_name(i), name) == 0)
			return dps_engine_counter_value(pkt_eng, i);
	pkt_fail(__FILE__, __LINE__, "no counter named %s (stack/obs/counters.def)", name);
}

/* ------------------------------------------------------------------------------------------ */
/* Engine life */

static void engine_start(void)
{
	uint8_t f[FRAME_MAX];
	size_t n;

	if (dps_conf_init(&conf, err, sizeof(err)) != 0)
		pkt_fail(__FILE__, __LINE__, "conf: %s", err);
	conf_ok = true;
	if (dps_conf_set(&conf, "ip", "198.18.0.2/24", DPS_SRC_ARG, "pkt", err, sizeof(err)) != 0)
		pkt_fail(__FILE__, __LINE__, "conf: %s", err);
	/* The scripts speak TCP only: the peer's ARP entry (learned at the start) must outlive the
	 * longest script, or a late segment would wait for an ARP answer nobody sends. */
	if (dps_conf_set(&conf, "arp_timeout_ms", "3600000", DPS_SRC_ARG, "pkt", err,
			 sizeof(err)) != 0)
		pkt_fail(__FILE__, __LINE__, "conf: %s", err);
	for (unsigned i = 0; i < n_extra; i++)
		if (dps_conf_set(&conf, extra[i][0], extra[i][1], DPS_SRC_ARG, "pkt", err,
				 sizeof(err)) != 0)
			pkt_fail(__FILE__, __LINE__, "conf: %s", err);
	if (dps_dev_mem_create("pktdev", &stack_mac, 1024, &dev) != 0)
		pkt_fail(__FILE__, __LINE__, "dps_dev_mem_create failed");
	if (dps_engine_create(&conf, dev, pkt_pool, now_ns, &pkt_eng, err, sizeof(err)) != 0)
		pkt_fail(__FILE__, __LINE__, "dps_engine_create: %s", err);
	collect(); /* the gratuitous ARP */
	/* The peer asks for us: the engine learns its MAC (the reply is dropped by take_frame). */
	n = frame_arp(f, &bcast_mac, RTE_ARP_OP_REQUEST, &peer_mac, peer_ip, &bcast_mac, stack_ip);
	inject_frame(f, n);
	poll_once();
	q_head = q_tail = 0;
}

static void engine_stop(void)
{
	dps_engine_destroy(pkt_eng);
	pkt_eng = NULL;
	dps_conf_free(&conf);
	conf_ok = false;
}

void pkt_dev_csum(uint32_t csum)
{
	dps_dev_mem_set_csum(dev, csum);
}

void pkt_dev_csum_stats(uint64_t *tx_ok, uint64_t *tx_bad)
{
	dps_dev_mem_csum_stats(dev, tx_ok, tx_bad);
}

void engine_conf(const char *key, const char *value)
{
	if (conns != NULL || n_listeners > 0)
		pkt_fail(__FILE__, __LINE__, "engine_conf must come first in a scenario");
	engine_stop();
	snprintf(extra[n_extra][0], sizeof(extra[0][0]), "%s", key);
	snprintf(extra[n_extra++][1], sizeof(extra[0][1]), "%s", value);
	engine_start();
}

void engine_restart(uint64_t later_ms)
{
	/* The process ends: its connections vanish without a segment (dps_engine_destroy frees
	 * them), the peer keeps what it knew of them. */
	for (struct conn *c = conns; c != NULL; c = c->next) {
		c->done = true;
		c->fd = -1;
	}
	n_listeners = 0;
	collect();
	engine_stop(); /* engine_start empties the frame queue */
	now_ns += later_ms * NS_MS;
	tracef("= engine restarted %llu ms later (a new process on the same host)",
	       (unsigned long long)later_ms);
	engine_start();
}

/* Reset what is still alive, close every handle; then the engine must hold no buffer. */
static void clean_up(const char *file, int line)
{
	char l[80];
	unsigned avail;

	for (struct conn *c = conns; c != NULL; c = c->next) {
		if (c->done || c->lport == 0)
			continue;
		if (c->ack_seen) { /* synchronized (or SYN_RCVD): RST at our RCV.NXT */
			snprintf(l, sizeof(l), "R %d:%d(0)", (int)(c->last_ack - c->irs),
				 (int)(c->last_ack - c->irs));
			pkt_in(file, line, c, l, NULL);
		} else if (c->iss_known) /* SYN_SENT: RST with an acceptable ACK */
			pkt_in(file, line, c, "R. 0:0(0) ack 1", NULL);
	}
	for (struct conn *c = conns; c != NULL; c = c->next)
		if (c->fd >= 0)
			pkt_eq(file, line, "close() at clean-up", sock_close(c), 0);
	for (unsigned i = 0; i < n_listeners; i++) {
		int r = dps_tcp_close(pkt_eng, listeners[i].fd, now_ns);

		if (r != 0 && r != -EBADF)
			pkt_fail(file, line, "close(listener) at clean-up = %d%s", r, errname(r));
	}
	pkt_wait(10);
	collect();
	avail = rte_mempool_avail_count(pkt_pool);
	if (avail != pkt_pool_n)
		pkt_fail(file, line,
			 "after every connection was reset and closed, the engine still holds %u "
			 "packet buffers (leak, or a connection survived)",
			 pkt_pool_n - avail);
	engine_stop();
	avail = rte_mempool_avail_count(pkt_pool);
	if (avail != pkt_pool_n)
		pkt_fail(file, line, "after dps_engine_destroy %u packet buffers are missing",
			 pkt_pool_n - avail);
}

void pkt_run_one(const struct pkt_scenario *s)
{
	now_ns = T0_NS;
	engine_start();
	s->fn();
	tracef("= end of scenario: clean-up");
	clean_up(s->file, s->line);
}
