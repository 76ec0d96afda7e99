/*
 * tcp_wire: stateless TCP header and option parsing and emitting (RFC 9293 §3.1, RFC 7323, RFC 2018).
 *
 * dps_tcp_parse checks lengths first, then the checksum over the pseudo-header, then walks the
 * options; it never reads past len bytes and returns DPS_DROP_NONE or the drop reason. Sequence
 * numbers are compared only through the seq_* helpers (modulo 2^32, RFC 9293 §3.4).
 */
#ifndef DPS_TCP_WIRE_H
#define DPS_TCP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_tcp.h>

#include "dps_counters.h"

#define DPS_TCP_MAX_SACK 4
#define DPS_TCP_MAX_WSCALE 14 /* RFC 7323 §2.3 */
#define DPS_TCP_HDR_LEN 20
#define DPS_TCP_MAX_OPT_LEN 40

enum {
	DPS_TCPOPT_EOL = 0,
	DPS_TCPOPT_NOP = 1,
	DPS_TCPOPT_MSS = 2,
	DPS_TCPOPT_WSCALE = 3,
	DPS_TCPOPT_SACK_PERM = 4,
	DPS_TCPOPT_SACK = 5,
	DPS_TCPOPT_TS = 8,
};

struct dps_sack_block {
	uint32_t left, right; /* host order */
};

struct dps_tcp_opts {
	bool has_mss, has_wscale, sack_perm, has_ts;
	uint8_t wscale; /* clamped to DPS_TCP_MAX_WSCALE */
	uint8_t n_sack;
	uint16_t mss;
	uint32_t tsval, tsecr;
	struct dps_sack_block sack[DPS_TCP_MAX_SACK];
};

/* A parsed segment. Numbers in host order; payload points into the parsed buffer. */
struct dps_tcp_seg {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint16_t wnd; /* as on the wire: not yet scaled */
	uint8_t flags; /* RTE_TCP_*_FLAG */
	uint8_t hlen; /* header bytes, options included */
	uint32_t len; /* payload bytes */
	const uint8_t *payload;
	struct dps_tcp_opts opts;
};

static inline bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}
static inline bool seq_leq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}
static inline bool seq_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}
static inline bool seq_geq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}
static inline uint32_t seq_max(uint32_t a, uint32_t b)
{
	return seq_gt(a, b) ? a : b;
}
static inline uint32_t seq_min(uint32_t a, uint32_t b)
{
	return seq_lt(a, b) ? a : b;
}
/* a <= x < b, modulo 2^32 */
static inline bool seq_in(uint32_t x, uint32_t a, uint32_t b)
{
	return seq_leq(a, x) && seq_lt(x, b);
}

/* Sum of the IPv4 pseudo-header (RFC 9293 §3.1) for a TCP segment of len bytes, unfolded. */
uint32_t dps_tcp_pseudo_sum(uint32_t src, uint32_t dst, uint32_t len);

/*
 * Parse the TCP segment buf[0..len) that came from src to dst (network order).
 * Errors (drop reasons): tcp_short, tcp_doff, tcp_csum, tcp_opt.
 */
enum dps_drop dps_tcp_parse(const void *buf, size_t len, uint32_t src, uint32_t dst,
			    struct dps_tcp_seg *s);
/* The same, with the checksum left unchecked when csum_ok (the device verified it). */
enum dps_drop dps_tcp_parse_csum(const void *buf, size_t len, uint32_t src, uint32_t dst,
				 bool csum_ok, struct dps_tcp_seg *s);
/*
 * Whether the TCP segment buf[0..len) from src to dst carries a checksum left to offload: its
 * field holds exactly the folded pseudo-header sum, which is what a Linux sender leaves for the
 * device to complete (CHECKSUM_PARTIAL) and what af_packet hands over unchanged when the sender
 * is a local peer (a veth with tx checksum offload on). Reads the header only; false when len is
 * shorter than a TCP header.
 */
bool dps_tcp_csum_is_partial(const void *buf, size_t len, uint32_t src, uint32_t dst);

/* Parse only the options area opt[0..len). Returns DPS_DROP_NONE or DPS_DROP_tcp_opt. */
enum dps_drop dps_tcp_parse_opts(const uint8_t *opt, size_t len, struct dps_tcp_opts *o);

/*
 * Write the options o into buf (room bytes) in Linux's layout, padded with NOPs to a multiple of 4:
 * SYN: MSS, SACK-permitted + timestamps, NOP + window scale; other segments: NOP NOP timestamps,
 * then NOP NOP SACK blocks (as many as fit in 40 bytes). Returns the length written (0-40), or 0
 * when room is too small for what o asks (then nothing is written).
 */
size_t dps_tcp_write_opts(uint8_t *buf, size_t room, const struct dps_tcp_opts *o, bool syn);

/* Fill in the checksum of the TCP segment tcp[0..len) from src to dst. */
void dps_tcp_fill_cksum(struct rte_tcp_hdr *tcp, size_t len, uint32_t src, uint32_t dst);

#endif
