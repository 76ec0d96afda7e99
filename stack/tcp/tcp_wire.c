/* tcp_wire: TCP header and options, parsed and written. Lengths are checked before every read. */
#include "tcp_wire.h"

#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

uint32_t dps_tcp_pseudo_sum(uint32_t src, uint32_t dst, uint32_t len)
{
	struct {
		uint32_t src, dst;
		uint8_t zero, proto;
		uint16_t len;
	} __rte_packed ph = { src, dst, 0, IPPROTO_TCP, rte_cpu_to_be_16((uint16_t)len) };

	return __rte_raw_cksum(&ph, sizeof(ph), 0);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

enum dps_drop dps_tcp_parse_opts(const uint8_t *opt, size_t len, struct dps_tcp_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < len;) {
		uint8_t kind = opt[i], olen;

		if (kind == DPS_TCPOPT_EOL)
			break;
		if (kind == DPS_TCPOPT_NOP) {
			i++;
			continue;
		}
		/* Every other option has a length byte, which counts kind and length (RFC 9293). */
		if (i + 1 >= len)
			return DPS_DROP_tcp_opt;
		olen = opt[i + 1];
		if (olen < 2 || i + olen > len)
			return DPS_DROP_tcp_opt;
		switch (kind) {
		case DPS_TCPOPT_MSS:
			if (olen != 4)
				return DPS_DROP_tcp_opt;
			o->has_mss = true;
			o->mss = rd16(opt + i + 2);
			break;
		case DPS_TCPOPT_WSCALE:
			if (olen != 3)
				return DPS_DROP_tcp_opt;
			o->has_wscale = true;
			/* RFC 7323 §2.3: a shift above 14 is used as 14. */
			o->wscale =
			    opt[i + 2] > DPS_TCP_MAX_WSCALE ? DPS_TCP_MAX_WSCALE : opt[i + 2];
			break;
		case DPS_TCPOPT_SACK_PERM:
			if (olen != 2)
				return DPS_DROP_tcp_opt;
			o->sack_perm = true;
			break;
		case DPS_TCPOPT_SACK:
			/* RFC 2018 §3: 8 bytes per block after kind and length; at most 4 fit. */
			if ((olen - 2) % 8 != 0 || olen == 2)
				return DPS_DROP_tcp_opt;
			o->n_sack = 0;
			for (size_t b = i + 2; b < i + olen && o->n_sack < DPS_TCP_MAX_SACK;
			     b += 8) {
				o->sack[o->n_sack].left = rd32(opt + b);
				o->sack[o->n_sack].right = rd32(opt + b + 4);
				o->n_sack++;
			}
			break;
		case DPS_TCPOPT_TS:
			if (olen != 10)
				return DPS_DROP_tcp_opt;
			o->has_ts = true;
			o->tsval = rd32(opt + i + 2);
			o->tsecr = rd32(opt + i + 6);
			break;
		default:
			break; /* unknown: skipped by its length */
		}
		i += olen;
	}
	return DPS_DROP_NONE;
}

bool dps_tcp_csum_is_partial(const void *buf, size_t len, uint32_t src, uint32_t dst)
{
	const struct rte_tcp_hdr *h = buf;

	if (len < DPS_TCP_HDR_LEN)
		return false;
	/* Both sides in memory order: the field as it lies in the header, the folded sum of the
	 * pseudo-header as __rte_raw_cksum computes it over the same bytes. */
	return h->cksum == __rte_raw_cksum_reduce(dps_tcp_pseudo_sum(src, dst, (uint32_t)len));
}

enum dps_drop dps_tcp_parse(const void *buf, size_t len, uint32_t src, uint32_t dst,
			    struct dps_tcp_seg *s)
{
	return dps_tcp_parse_csum(buf, len, src, dst, false, s);
}

enum dps_drop dps_tcp_parse_csum(const void *buf, size_t len, uint32_t src, uint32_t dst,
				 bool csum_ok, struct dps_tcp_seg *s)
{
	const struct rte_tcp_hdr *h = buf;
	size_t hlen;

	if (len < DPS_TCP_HDR_LEN)
		return DPS_DROP_tcp_short;
	hlen = (size_t)(h->data_off >> 4) * 4;
	if (hlen < DPS_TCP_HDR_LEN || hlen > len)
		return DPS_DROP_tcp_doff;
	if (!csum_ok && __rte_raw_cksum_reduce(__rte_raw_cksum(
			    buf, len, dps_tcp_pseudo_sum(src, dst, (uint32_t)len))) != 0xffff)
		return DPS_DROP_tcp_csum;
	if (dps_tcp_parse_opts((const uint8_t *)buf + DPS_TCP_HDR_LEN, hlen - DPS_TCP_HDR_LEN,
			       &s->opts) != DPS_DROP_NONE)
		return DPS_DROP_tcp_opt;
	s->sport = rte_be_to_cpu_16(h->src_port);
	s->dport = rte_be_to_cpu_16(h->dst_port);
	s->seq = rte_be_to_cpu_32(h->sent_seq);
	s->ack = rte_be_to_cpu_32(h->recv_ack);
	s->wnd = rte_be_to_cpu_16(h->rx_win);
	s->flags = h->tcp_flags;
	s->hlen = (uint8_t)hlen;
	s->len = (uint32_t)(len - hlen);
	s->payload = (const uint8_t *)buf + hlen;
	return DPS_DROP_NONE;
}

static uint8_t *wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

size_t dps_tcp_write_opts(uint8_t *buf, size_t room, const struct dps_tcp_opts *o, bool syn)
{
	uint8_t tmp[DPS_TCP_MAX_OPT_LEN], *p = tmp;
	size_t n;

	if (syn) {
		if (o->has_mss) {
			*p++ = DPS_TCPOPT_MSS;
			*p++ = 4;
			p = wr16(p, o->mss);
		}
		if (o->sack_perm && o->has_ts) {
			*p++ = DPS_TCPOPT_SACK_PERM;
			*p++ = 2;
		} else if (o->sack_perm) {
			*p++ = DPS_TCPOPT_NOP;
			*p++ = DPS_TCPOPT_NOP;
			*p++ = DPS_TCPOPT_SACK_PERM;
			*p++ = 2;
		} else if (o->has_ts) {
			*p++ = DPS_TCPOPT_NOP;
			*p++ = DPS_TCPOPT_NOP;
		}
		if (o->has_ts) {
			*p++ = DPS_TCPOPT_TS;
			*p++ = 10;
			p = wr32(p, o->tsval);
			p = wr32(p, o->tsecr);
		}
		if (o->has_wscale) {
			*p++ = DPS_TCPOPT_NOP;
			*p++ = DPS_TCPOPT_WSCALE;
			*p++ = 3;
			*p++ = o->wscale;
		}
	} else {
		if (o->has_ts) {
			*p++ = DPS_TCPOPT_NOP;
			*p++ = DPS_TCPOPT_NOP;
			*p++ = DPS_TCPOPT_TS;
			*p++ = 10;
			p = wr32(p, o->tsval);
			p = wr32(p, o->tsecr);
		}
		if (o->n_sack > 0) {
			size_t left = DPS_TCP_MAX_OPT_LEN - (size_t)(p - tmp) - 4;
			unsigned nb = o->n_sack;

			if (nb > left / 8)
				nb = (unsigned)(left / 8);
			if (nb > 0) {
				*p++ = DPS_TCPOPT_NOP;
				*p++ = DPS_TCPOPT_NOP;
				*p++ = DPS_TCPOPT_SACK;
				*p++ = (uint8_t)(2 + 8 * nb);
				for (unsigned b = 0; b < nb; b++) {
					p = wr32(p, o->sack[b].left);
					p = wr32(p, o->sack[b].right);
				}
			}
		}
	}
	n = (size_t)(p - tmp);
	if (n > room)
		return 0;
	memcpy(buf, tmp, n);
	return n;
}

void dps_tcp_fill_cksum(struct rte_tcp_hdr *tcp, size_t len, uint32_t src, uint32_t dst)
{
	uint32_t sum;

	tcp->cksum = 0;
	sum = __rte_raw_cksum(tcp, len, dps_tcp_pseudo_sum(src, dst, (uint32_t)len));
	tcp->cksum = (uint16_t)~__rte_raw_cksum_reduce(sum);
	/* RFC 9293 §3.1: an all-zero result is sent as is (0 is not "no checksum" in TCP). */
}
