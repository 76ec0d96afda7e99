/*
 * pkt: packet-scripted TCP scenarios (packetdrill's model) against an engine over the in-memory
 * device, with time under the test's control. See docs/pkt-tests.md.
 *
 * A scenario is a C function declared with SCENARIO(name). It runs in its own process (fork) on a
 * fresh engine: stack 198.18.0.2/24, peer 198.18.0.1 (its ARP entry seeded), time starting at
 * 1000 s. Its verbs:
 *
 *   IN(c, "P. 1:1001(1000) ack 1 win 500")     the peer sends a segment on connection c
 *   OUT(c, ". 1:1(0) ack 1001")                the engine has sent this segment (next one for c)
 *   OUT_AFTER(c, 40, ". 1:1(0) ack 1001")      ... and sent it 40 ms from now (± tolerance)
 *   NOTHING()                                  nothing sent that the scenario has not taken
 *   NOTHING_FOR(1000)                          and nothing for the next second either
 *   WAIT(200)                                  time passes (the engine polls every ms)
 *   EQ(sock_send(c, 1000), 1000)               a call and the value it must return
 *
 * Segment lines are packetdrill's: flags (S F R P . for ACK, E W), seq:end(len) relative to the
 * sender's ISN, "ack N" relative to the other side's ISN, "win N" (the raw 16-bit field), and
 * options in <...>: nop, eol, mss N, wscale N, sackOK, TS val N ecr N, sack L:R [L:R...].
 * Our TSval is written relative to the first TSval we sent (= ms since then), the peer's as it is.
 * In what the peer sends, "ecr N" is relative to our first TSval, SACK blocks to our ISN; in what we
 * send, "ecr N" is the peer's value as it is and SACK blocks are relative to the peer's ISN.
 * "*" is a wildcard in expectations and "automatic" in injected segments.
 */
#ifndef DPS_PKT_H
#define DPS_PKT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <rte_byteorder.h>

#include "tcp.h"
#include "tcp_api.h"

#define PEER_IP RTE_BE32(0xc6120001) /* 198.18.0.1, network order */
#define PEER_PORT_ACTIVE 80 /* the peer's port for connections we open */
#define LISTEN_PORT 8080 /* the port passive() listens on */
#define PEER_ISN 1000000000u /* default ISN of the peer */

/* Options of the peer's SYN or SYN-ACK in the handshake helpers. */
#define OPT_NONE ""
#define OPT_MSS "mss 1460"
#define OPT_ALL "mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7"
#define OPT_ALL_NO_TS "mss 1460,nop,nop,sackOK,nop,wscale 7"
#define OPT_TS "mss 1460,nop,nop,TS val 100 ecr 0"
#define OPT_SACK_NO_WS "mss 1460,nop,nop,sackOK"

/* One TCP connection as the peer sees it. */
struct conn {
	int fd; /* our handle, -1 when closed (or not accepted yet) */
	int lfd; /* the listener it came through, -1 */
	uint16_t lport, rport; /* our port (0 until learned), the peer's port */
	bool iss_known;
	uint32_t iss; /* our ISN, learned from our SYN or SYN-ACK */
	uint32_t irs; /* the peer's ISN, chosen by the test */
	bool ts; /* timestamps agreed: segments the peer sends carry TS automatically */
	bool ts0_known;
	uint32_t ts0; /* our first TSval */
	uint32_t ts_last; /* latest TSval we sent: what the peer echoes */
	uint32_t peer_ts; /* the peer's TS clock, peer_ts at peer_ts_ms, +1 per ms */
	uint64_t peer_ts_ms;
	bool ack_seen;
	uint32_t last_ack; /* ack field of the latest segment we sent (absolute): our RCV.NXT */
	uint32_t peer_nxt; /* relative: highest seq + len the peer sent */
	uint64_t snd_off; /* bytes the application sent (our stream) */
	uint64_t rcv_off; /* bytes the application read (the peer's stream) */
	bool done; /* no clean-up wanted */
	struct conn *next;
};

/* Changes to an injected segment, for malformed ones. */
struct seg_mod {
	bool bad_csum; /* flip the checksum */
	bool partial_csum; /* the pseudo-header sum only, as a Linux sender leaves it to offload */
	const uint8_t
	    *raw_opts; /* use these option bytes as they are (length a multiple of 4 or not) */
	size_t raw_opts_len;
	int doff; /* data offset in 32-bit words; 0 = computed */
};

/* Registration */
struct pkt_scenario {
	const char *name;
	void (*fn)(void);
	const char *file;
	int line;
};
void pkt_register(const struct pkt_scenario *s);

#define SCENARIO(nm)                                                                   \
	static void nm(void);                                                          \
	__attribute__((constructor)) static void pkt_reg_##nm(void)                    \
	{                                                                              \
		static const struct pkt_scenario s_ = { #nm, nm, __FILE__, __LINE__ }; \
		pkt_register(&s_);                                                     \
	}                                                                              \
	static void nm(void)

/* The engine under test and the clock */
extern struct dps_engine *pkt_eng;
uint64_t pkt_now(void); /* ns, what socket calls get as now */
uint64_t now_ms(void); /* ms since the scenario started */
/* Re-create the engine with one more configuration key (call first in a scenario). */
void engine_conf(const char *key, const char *value);
/* A new process on the same host: the engine is destroyed (its connections end without a segment
 * and are marked done) and a new one starts later_ms later on the host clock, with the same
 * configuration. Connections opened afterwards belong to the new engine. */
void engine_restart(uint64_t later_ms);
/* The in-memory device offers these checksum offloads (DPS_DEV_* of stack/dev/dev.h) from now on,
 * and how many offloaded frames it took that kept / broke the driver contract. */
void pkt_dev_csum(uint32_t csum);
void pkt_dev_csum_stats(uint64_t *tx_ok, uint64_t *tx_bad);

/* Script verbs (file:line of the scenario in failure messages) */
void pkt_in(const char *file, int line, struct conn *c, const char *spec,
	    const struct seg_mod *mod);
void pkt_out(const char *file, int line, struct conn *c, const char *spec, long after_ms);
void pkt_nothing(const char *file, int line, uint64_t ms);
void pkt_wait(uint64_t ms);
void pkt_burst(bool begin);
void pkt_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
void pkt_eq(const char *file, int line, const char *expr, long long got, long long want);

#define IN(c, spec) pkt_in(__FILE__, __LINE__, c, spec, NULL)
#define IN_MOD(c, spec, ...) pkt_in(__FILE__, __LINE__, c, spec, &(struct seg_mod){ __VA_ARGS__ })
#define OUT(c, spec) pkt_out(__FILE__, __LINE__, c, spec, -1)
#define OUT_AFTER(c, ms, spec) pkt_out(__FILE__, __LINE__, c, spec, (long)(ms))
#define NOTHING() pkt_nothing(__FILE__, __LINE__, 0)
#define NOTHING_FOR(ms) pkt_nothing(__FILE__, __LINE__, ms)
#define WAIT(ms) pkt_wait(ms)
/* BURST_BEGIN(); IN(...); IN(...); BURST_END(): the segments arrive in one rx burst (at most
 * DPS_RX_BURST), processed by one poll at BURST_END. */
#define BURST_BEGIN() pkt_burst(true)
#define BURST_END() pkt_burst(false)
#define EQ(expr, want) pkt_eq(__FILE__, __LINE__, #expr, (long long)(expr), (long long)(want))
#define CHECK_THAT(cond)                                                         \
	do {                                                                     \
		if (!(cond))                                                     \
			pkt_fail(__FILE__, __LINE__, "check failed: %s", #cond); \
	} while (0)

/* Connections */
/* The ISN the next handshake helper gives the peer (then back to PEER_ISN). */
extern uint32_t pkt_next_isn;
/* Format a segment line (helpers for loops): returns a static buffer. */
const char *seg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A connection the peer opens to our port lport, from a fresh peer port, with ISN irs. */
struct conn *peer_conn(uint16_t lport, uint32_t irs);
/* socket + bind(port) + listen(backlog): the listener's handle. */
#define listen_on(port, backlog) pkt_listen_on(__FILE__, __LINE__, port, backlog)
/* Passive open on listener lfd: SYN with syn_opts, SYN-ACK, rtt_ms later the ACK, accept. */
#define accept_conn(lfd, syn_opts, rtt_ms) \
	pkt_accept_conn(__FILE__, __LINE__, lfd, syn_opts, rtt_ms)
/* Active open to the peer's port 80: SYN, rtt_ms later a SYN-ACK with synack_opts, our ACK. */
#define connect_conn(synack_opts, rtt_ms) pkt_connect_conn(__FILE__, __LINE__, synack_opts, rtt_ms)
/* Shorthands: listen on LISTEN_PORT (backlog 16) and accept one connection; connect. */
#define passive(syn_opts) pkt_passive(__FILE__, __LINE__, syn_opts)
#define active(synack_opts) pkt_active(__FILE__, __LINE__, synack_opts)
/* A new socket that connect()s to the peer's port 80 (expects -EINPROGRESS); no segment taken. */
#define connect_start() pkt_connect_start(__FILE__, __LINE__)

int pkt_listen_on(const char *file, int line, uint16_t port, int backlog);
struct conn *pkt_accept_conn(const char *file, int line, int lfd, const char *syn_opts,
			     uint32_t rtt_ms);
struct conn *pkt_connect_conn(const char *file, int line, const char *synack_opts, uint32_t rtt_ms);
struct conn *pkt_passive(const char *file, int line, const char *syn_opts);
struct conn *pkt_active(const char *file, int line, const char *synack_opts);
struct conn *pkt_connect_start(const char *file, int line);

/* Socket calls on c->fd at the current time; the engine then polls once (flush). */
ssize_t sock_send(struct conn *c, size_t n); /* n bytes of our stream's pattern */
ssize_t sock_send_flags(struct conn *c, size_t n, int flags);
ssize_t sock_recv(struct conn *c, size_t n); /* checks the bytes read against the peer's stream */
int sock_close(struct conn *c); /* c->fd = -1 on success */
int sock_shutdown(struct conn *c, int how);
int sock_state(struct conn *c); /* dps_tcp_state_of */
int sock_events(struct conn *c); /* dps_tcp_events */
int sock_error(struct conn *c); /* SO_ERROR: a positive errno or 0 */
int sock_setopt(struct conn *c, int level, int name, int value);
int sock_getopt(struct conn *c, int level, int name); /* the int value, or -errno */
int sock_accept(struct conn *c, int lfd); /* accept into c->fd; returns it or -errno */
int sock_tcp_info(struct conn *c, struct tcp_info *ti);

#define STATE(c, st) pkt_eq(__FILE__, __LINE__, "state of " #c, sock_state(c), DPS_TCP_##st)
/* (events & mask) == want */
#define EVENTS(c, mask, want)                                                                 \
	pkt_eq(__FILE__, __LINE__, "events of " #c " & (" #mask ")", sock_events(c) & (mask), \
	       (want))

/* Engine counters by name (a missing name fails the scenario). */
uint64_t counter(const char *name);
#define COUNTER(name, want) \
	pkt_eq(__FILE__, __LINE__, "counter " name, (long long)counter(name), (want))

/* The two streams' byte patterns (the framework checks payloads against them). */
static inline uint8_t peer_byte(uint64_t off)
{
	return (uint8_t)(((uint32_t)off * 2654435761u) >> 24);
}
static inline uint8_t our_byte(uint64_t off)
{
	return (uint8_t)((((uint32_t)off + 0x9e37u) * 2246822519u) >> 24);
}

#endif
