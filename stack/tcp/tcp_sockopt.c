/*
 * tcp_sockopt: getsockopt/setsockopt for TCP sockets, with Linux's names, value types and quirks
 * (SO_SNDBUF/SO_RCVBUF doubled, TCP_INFO in struct tcp_info's layout).
 */
#include "tcp.h"
#include "tcp_api.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

/*
 * Would setsockopt(level, name, val, len) be accepted: the value's size and range and the option's
 * name, checked without a socket (the shim validates an option set on a socket the engine has not
 * created yet with it, so that the answer is the same before and after the engine starts; issue 13).
 * 0, -ENOPROTOOPT (an option we do not have), -EINVAL (too short or out of range, as Linux),
 * -ENOENT (TCP_CONGESTION: no such algorithm).
 */
int dps_tcp_sockopt_check(int level, int name, const void *val, uint32_t len)
{
	int v;

	if (level == SOL_SOCKET && name == SO_LINGER)
		return len < sizeof(struct linger) ? -EINVAL : 0;
	if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
		char cc[16] = "";

		memcpy(cc, val, len < sizeof(cc) - 1 ? len : sizeof(cc) - 1);
		return dps_tcp_cc_find(cc) == NULL ? -ENOENT : 0;
	}
	if (level == IPPROTO_IP && name == IP_BIND_ADDRESS_NO_PORT)
		return len < sizeof(int) ? -EINVAL : 0;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_REUSEADDR:
		case SO_REUSEPORT:
		case SO_KEEPALIVE:
		case SO_SNDBUF:
		case SO_RCVBUF:
			return len < sizeof(int) ? -EINVAL : 0;
		default:
			return -ENOPROTOOPT;
		}
	}
	if (level != IPPROTO_TCP)
		return -ENOPROTOOPT;
	switch (name) {
	case TCP_NODELAY:
	case TCP_CORK:
	case TCP_MAXSEG:
	case TCP_KEEPIDLE:
	case TCP_KEEPINTVL:
	case TCP_KEEPCNT:
	case TCP_USER_TIMEOUT:
		break;
	default:
		return -ENOPROTOOPT;
	}
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(&v, val, sizeof(v));
	switch (name) {
	case TCP_MAXSEG:
		return v < 88 || v > 65535 ? -EINVAL : 0;
	case TCP_KEEPIDLE:
	case TCP_KEEPINTVL:
		return v < 1 || v > 32767 ? -EINVAL : 0;
	case TCP_KEEPCNT:
		return v < 1 || v > 127 ? -EINVAL : 0;
	case TCP_USER_TIMEOUT:
		return v < 0 ? -EINVAL : 0;
	default:
		return 0;
	}
}

int dps_tcp_setsockopt(struct dps_engine *e, int s, int level, int name, const void *val,
		       uint32_t len)
{
	struct dps_listener *l = dps_tcp_handle_listener(e, s);
	struct dps_tcb *t = dps_tcp_handle_tcb(e, s);
	uint32_t *flags = t != NULL ? &t->flags : l != NULL ? &l->flags_inherit : NULL;
	int v = 0, rc;

	if (flags == NULL)
		return -EBADF;
	rc = dps_tcp_sockopt_check(level, name, val, len);
	if (rc < 0)
		return rc; /* below: the option is known, its value acceptable */
	if (level == SOL_SOCKET && name == SO_LINGER) {
		const struct linger *lg = val;
		if (t != NULL) {
			t->flags &= ~(uint32_t)DPS_TF_LINGER0;
			if (lg->l_onoff && lg->l_linger == 0)
				t->flags |= DPS_TF_LINGER0;
			t->linger_s = (uint16_t)(lg->l_onoff ? lg->l_linger : 0);
		}
		return 0;
	}
	if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
		char cc[16] = "";
		const struct dps_tcp_cc_ops *ops;

		memcpy(cc, val, len < sizeof(cc) - 1 ? len : sizeof(cc) - 1);
		ops = dps_tcp_cc_find(cc);
		if (t != NULL && t->cc != ops) {
			t->cc = ops;
			if (t->state >= DPS_TCP_SYN_SENT)
				ops->init(t);
		}
		return 0;
	}
	memcpy(&v, val, sizeof(v));
#define SETFLAG(f)                                \
	do {                                      \
		if (v)                            \
			*flags |= (f);            \
		else                              \
			*flags &= ~(uint32_t)(f); \
	} while (0)
	if (level == IPPROTO_IP && name == IP_BIND_ADDRESS_NO_PORT) {
		SETFLAG(DPS_TF_BIND_NO_PORT);
		return 0;
	}
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_REUSEADDR:
		case SO_REUSEPORT:
			return 0; /* accepted; TIME_WAIT never blocks bind here (no port hold) */
		case SO_KEEPALIVE:
			SETFLAG(DPS_TF_KEEPALIVE);
			if (t != NULL && v && t->state >= DPS_TCP_ESTABLISHED)
				dps_tcp_timer_set(t, DPS_TT_KEEP, e->tcp->now_ms + t->keep_idle_ms);
			return 0;
		case SO_SNDBUF:
		case SO_RCVBUF: {
			/* Linux doubles the value for bookkeeping overhead; we keep payload bytes and
			 * double too, so that getsockopt reads back what Linux would. */
			uint32_t b = v < 2048 ? 4096 : (uint32_t)v * 2;
			if (t != NULL)
				*(name == SO_SNDBUF ? &t->snd_buf : &t->rcv_buf) = b;
			else
				*(name == SO_SNDBUF ? &l->snd_buf : &l->rcv_buf) = b;
			return 0;
		}
		default:
			return -ENOPROTOOPT;
		}
	}
	if (level == IPPROTO_TCP) {
		switch (name) {
		case TCP_NODELAY:
			SETFLAG(DPS_TF_NODELAY);
			if (t != NULL && v)
				dps_tcp_output(t);
			return 0;
		case TCP_CORK:
			SETFLAG(DPS_TF_CORK);
			if (t != NULL && !v)
				dps_tcp_output(t);
			return 0;
		case TCP_MAXSEG:
			if (t != NULL && t->state == DPS_TCP_CLOSED)
				t->rcv_mss = (uint16_t)v;
			return 0;
		case TCP_KEEPIDLE:
		case TCP_KEEPINTVL:
			if (t != NULL) {
				*(name == TCP_KEEPIDLE ? &t->keep_idle_ms : &t->keep_intvl_ms) =
				    (uint32_t)v * 1000;
				/* Linux re-arms a running keepalive timer with the new idle time. */
				if (name == TCP_KEEPIDLE && (t->flags & DPS_TF_KEEPALIVE) &&
				    t->state >= DPS_TCP_ESTABLISHED &&
				    t->state != DPS_TCP_TIME_WAIT)
					dps_tcp_timer_set(t, DPS_TT_KEEP,
							  (uint64_t)t->last_rcv_ms +
							      t->keep_idle_ms);
			}
			return 0;
		case TCP_KEEPCNT:
			if (t != NULL)
				t->keep_cnt = (uint8_t)v;
			return 0;
		case TCP_USER_TIMEOUT:
			if (t != NULL)
				t->user_timeout_ms = (uint32_t)v;
			return 0;
		default:
			return -ENOPROTOOPT;
		}
	}
#undef SETFLAG
	return -ENOPROTOOPT;
}

static int put_int(void *val, uint32_t *len, int v)
{
	if (*len < sizeof(int))
		return -EINVAL;
	memcpy(val, &v, sizeof(v));
	*len = sizeof(int);
	return 0;
}

static void fill_tcp_info(const struct dps_tcb *t, struct tcp_info *ti)
{
	static const uint8_t linux_state[DPS_TCP_NSTATES] = {
		[DPS_TCP_CLOSED] = 7,     [DPS_TCP_LISTEN] = 10,     [DPS_TCP_SYN_SENT] = 2,
		[DPS_TCP_SYN_RCVD] = 3,   [DPS_TCP_ESTABLISHED] = 1, [DPS_TCP_FIN_WAIT_1] = 4,
		[DPS_TCP_FIN_WAIT_2] = 5, [DPS_TCP_CLOSE_WAIT] = 8,  [DPS_TCP_CLOSING] = 11,
		[DPS_TCP_LAST_ACK] = 9,   [DPS_TCP_TIME_WAIT] = 6,
	};

	memset(ti, 0, sizeof(*ti));
	ti->tcpi_state = linux_state[t->state];
	ti->tcpi_retransmits = t->backoff;
	ti->tcpi_backoff = t->backoff;
	if (t->flags & DPS_TF_TS)
		ti->tcpi_options |= TCPI_OPT_TIMESTAMPS;
	if (t->flags & DPS_TF_SACK)
		ti->tcpi_options |= TCPI_OPT_SACK;
	if (t->flags & DPS_TF_WS) {
		ti->tcpi_options |= TCPI_OPT_WSCALE;
		ti->tcpi_snd_wscale = t->snd_wscale & 0xf;
		ti->tcpi_rcv_wscale = t->rcv_wscale & 0xf;
	}
	ti->tcpi_rto = t->rto_us;
	ti->tcpi_snd_mss = t->mss;
	ti->tcpi_rcv_mss = t->rcv_mss;
	ti->tcpi_unacked = (t->snd_max - t->snd_una + t->mss - 1) / (t->mss ? t->mss : 1);
	ti->tcpi_rtt = t->srtt_us;
	ti->tcpi_rttvar = t->rttvar_us;
	ti->tcpi_snd_ssthresh = t->ssthresh / (t->mss ? t->mss : 1);
	ti->tcpi_snd_cwnd = t->cwnd / (t->mss ? t->mss : 1);
	ti->tcpi_advmss = t->rcv_mss;
	ti->tcpi_rcv_space = dps_tcp_rcv_space(t);
}

int dps_tcp_getsockopt(struct dps_engine *e, int s, int level, int name, void *val, uint32_t *len)
{
	struct dps_listener *l = dps_tcp_handle_listener(e, s);
	struct dps_tcb *t = dps_tcp_handle_tcb(e, s);
	uint32_t flags = t != NULL ? t->flags : l != NULL ? l->flags_inherit : 0;

	if (t == NULL && l == NULL)
		return -EBADF;
	if (level == IPPROTO_IP && name == IP_BIND_ADDRESS_NO_PORT)
		return put_int(val, len, (flags & DPS_TF_BIND_NO_PORT) != 0);
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ERROR:
			return put_int(val, len, t != NULL ? -dps_tcp_take_error(t) : 0);
		case SO_TYPE:
			return put_int(val, len, SOCK_STREAM);
		case SO_ACCEPTCONN:
			return put_int(val, len, l != NULL);
		case SO_KEEPALIVE:
			return put_int(val, len, !!(flags & DPS_TF_KEEPALIVE));
		case SO_SNDBUF:
			return put_int(val, len, (int)(t != NULL ? t->snd_buf : l->snd_buf));
		case SO_RCVBUF:
			return put_int(val, len, (int)(t != NULL ? t->rcv_buf : l->rcv_buf));
		case SO_REUSEADDR:
		case SO_REUSEPORT:
			return put_int(val, len, 0);
		case SO_LINGER: {
			struct linger lg = { 0, 0 };
			if (*len < sizeof(lg))
				return -EINVAL;
			if (t != NULL && (t->flags & DPS_TF_LINGER0))
				lg.l_onoff = 1;
			else if (t != NULL && t->linger_s)
				lg.l_onoff = 1, lg.l_linger = t->linger_s;
			memcpy(val, &lg, sizeof(lg));
			*len = sizeof(lg);
			return 0;
		}
		default:
			return -ENOPROTOOPT;
		}
	}
	if (level == IPPROTO_TCP) {
		switch (name) {
		case TCP_NODELAY:
			return put_int(val, len, !!(flags & DPS_TF_NODELAY));
		case TCP_CORK:
			return put_int(val, len, !!(flags & DPS_TF_CORK));
		case TCP_MAXSEG:
			return put_int(val, len,
				       t != NULL && t->state >= DPS_TCP_ESTABLISHED ? t->mss : 536);
		case TCP_KEEPIDLE:
			return put_int(val, len, t != NULL ? (int)(t->keep_idle_ms / 1000) : 7200);
		case TCP_KEEPINTVL:
			return put_int(val, len, t != NULL ? (int)(t->keep_intvl_ms / 1000) : 75);
		case TCP_KEEPCNT:
			return put_int(val, len, t != NULL ? t->keep_cnt : 9);
		case TCP_USER_TIMEOUT:
			return put_int(val, len, t != NULL ? (int)t->user_timeout_ms : 0);
		case TCP_CONGESTION: {
			const char *n = t != NULL ? t->cc->name : e->tcp->cc_default->name;
			size_t k = strlen(n) + 1;
			if (*len < k)
				k = *len;
			memcpy(val, n, k);
			*len = (uint32_t)k;
			return 0;
		}
		case TCP_INFO: {
			struct tcp_info ti;
			uint32_t n = *len < sizeof(ti) ? *len : sizeof(ti);
			if (t == NULL)
				memset(&ti, 0, sizeof(ti)), ti.tcpi_state = 10;
			else
				fill_tcp_info(t, &ti);
			memcpy(val, &ti, n);
			*len = n;
			return 0;
		}
		default:
			return -ENOPROTOOPT;
		}
	}
	return -ENOPROTOOPT;
}
