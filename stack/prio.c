/*
 * prio: the priority rules' parser and matcher (grammar in prio.h). A hand-written tokenizer and
 * recursive-descent parser over the text; every error names the 1-based column of the token at
 * fault and what the grammar expected there.
 */
#include "prio.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tok_kind {
	T_END,
	T_WORD,
	T_STR,
	T_SEMI,
	T_ARROW,
	T_STAR,
	T_LBR,
	T_RBR,
	T_EQEQ,
	T_DASH,
	T_SLASH
};

struct tok {
	enum tok_kind kind;
	size_t col; /* 0-based offset in the text */
	size_t len;
	const char *p;
};

struct parser {
	const char *text;
	size_t pos;
	struct tok t; /* the current token */
	char *err;
	size_t errlen;
};

static void next(struct parser *ps)
{
	const char *s = ps->text;
	size_t i = ps->pos;

	while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
		i++;
	ps->t.col = i;
	ps->t.p = s + i;
	ps->t.len = 1;
	switch (s[i]) {
	case '\0':
		ps->t.kind = T_END;
		ps->t.len = 0;
		break;
	case ';':
		ps->t.kind = T_SEMI;
		break;
	case '*':
		ps->t.kind = T_STAR;
		break;
	case '[':
		ps->t.kind = T_LBR;
		break;
	case ']':
		ps->t.kind = T_RBR;
		break;
	case '/':
		ps->t.kind = T_SLASH;
		break;
	case '-':
		if (s[i + 1] == '>') {
			ps->t.kind = T_ARROW;
			ps->t.len = 2;
		} else {
			ps->t.kind = T_DASH;
		}
		break;
	case '=':
		ps->t.kind = s[i + 1] == '=' ? T_EQEQ : T_WORD;
		ps->t.len = s[i + 1] == '=' ? 2 : 1;
		break;
	case '"': {
		size_t j = i + 1;

		while (s[j] != '\0' && s[j] != '"') {
			if (s[j] == '\\' && s[j + 1] != '\0')
				j++;
			j++;
		}
		ps->t.kind = T_STR;
		ps->t.len = j - i + (s[j] == '"'); /* unterminated: up to the end */
		break;
	}
	default: {
		size_t j = i;

		while (isalnum((unsigned char)s[j]) || s[j] == '.' || s[j] == '_')
			j++;
		ps->t.kind = T_WORD;
		ps->t.len = j > i ? j - i : 1;
		break;
	}
	}
	ps->pos = i + ps->t.len;
}

/* "column N: expected WHAT, found 'TOKEN'" (or "found the end of the rules"). */
static int expected(struct parser *ps, const char *what)
{
	if (ps->t.kind == T_END)
		snprintf(ps->err, ps->errlen, "column %zu: expected %s, found the end of the rules",
			 ps->t.col + 1, what);
	else
		snprintf(ps->err, ps->errlen, "column %zu: expected %s, found '%.*s'",
			 ps->t.col + 1, what, (int)(ps->t.len > 24 ? 24 : ps->t.len), ps->t.p);
	return -EINVAL;
}

static bool word_is(const struct tok *t, const char *w)
{
	return t->kind == T_WORD && t->len == strlen(w) && strncmp(t->p, w, t->len) == 0;
}

/* A decimal (or 0x hex) number of the current word, within [0, max]. */
static int number(struct parser *ps, uint32_t max, const char *what, uint32_t *out)
{
	char buf[16], *end;
	unsigned long v;

	if (ps->t.kind != T_WORD || ps->t.len >= sizeof(buf) || !isdigit((unsigned char)*ps->t.p))
		return expected(ps, what);
	memcpy(buf, ps->t.p, ps->t.len);
	buf[ps->t.len] = '\0';
	v = strtoul(buf, &end, 0);
	if (*end != '\0' || v > max)
		return expected(ps, what);
	*out = (uint32_t)v;
	next(ps);
	return 0;
}

/* lo [ '-' hi ] within [0, max]. */
static int range(struct parser *ps, uint32_t max, const char *what, uint32_t *lo, uint32_t *hi)
{
	int rc = number(ps, max, what, lo);

	if (rc < 0)
		return rc;
	*hi = *lo;
	if (ps->t.kind == T_DASH) {
		size_t col = ps->t.col;

		next(ps);
		rc = number(ps, max, what, hi);
		if (rc < 0)
			return rc;
		if (*hi < *lo) {
			snprintf(ps->err, ps->errlen,
				 "column %zu: a range must not end below its start", col + 1);
			return -EINVAL;
		}
	}
	return 0;
}

static int address(struct parser *ps, uint32_t *addr, uint32_t *mask)
{
	char buf[16];
	struct in_addr a;
	uint32_t len = 32;
	int rc;

	if (ps->t.kind != T_WORD || ps->t.len >= sizeof(buf))
		return expected(ps, "an IPv4 address (a.b.c.d)");
	memcpy(buf, ps->t.p, ps->t.len);
	buf[ps->t.len] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return expected(ps, "an IPv4 address (a.b.c.d)");
	next(ps);
	if (ps->t.kind == T_SLASH) {
		next(ps);
		rc = number(ps, 32, "a prefix length from 0 to 32", &len);
		if (rc < 0)
			return rc;
	}
	*mask = len == 0 ? 0 : htonl(~0u << (32 - len));
	*addr = a.s_addr & *mask;
	return 0;
}

/* A quoted string into b (1..16 bytes after escapes). */
static int string(struct parser *ps, struct dps_prio_bytes *b)
{
	const char *s = ps->t.p + 1, *e = ps->t.p + ps->t.len - 1;
	unsigned n = 0;

	if (ps->t.kind != T_STR)
		return expected(ps, "a quoted string");
	if (ps->t.len < 2 || *e != '"') {
		snprintf(ps->err, ps->errlen, "column %zu: unterminated string", ps->t.col + 1);
		return -EINVAL;
	}
	while (s < e) {
		unsigned c = (unsigned char)*s++;

		if (c == '\\') {
			if (*s == 'x' && isxdigit((unsigned char)s[1]) &&
			    isxdigit((unsigned char)s[2])) {
				char hex[3] = { s[1], s[2], 0 };

				c = (unsigned)strtoul(hex, NULL, 16);
				s += 3;
			} else if (*s == '\\' || *s == '"') {
				c = (unsigned char)*s++;
			} else if (*s == 'r' || *s == 'n' || *s == 't' || *s == '0') {
				c = *s == 'r' ? '\r' : *s == 'n' ? '\n' : *s == 't' ? '\t' : 0;
				s++;
			} else {
				snprintf(
				    ps->err, ps->errlen,
				    "column %zu: unknown escape in string (use \\\\, \\\", \\r, "
				    "\\n, \\t, \\0 or \\xNN)",
				    (size_t)(s - ps->text));
				return -EINVAL;
			}
		}
		if (n == DPS_PRIO_STR_MAX) {
			snprintf(ps->err, ps->errlen, "column %zu: string longer than %d bytes",
				 ps->t.col + 1, DPS_PRIO_STR_MAX);
			return -EINVAL;
		}
		b->val[n++] = (uint8_t)c;
	}
	if (n == 0) {
		snprintf(ps->err, ps->errlen, "column %zu: empty string", ps->t.col + 1);
		return -EINVAL;
	}
	b->len = (uint8_t)n;
	next(ps);
	return 0;
}

#define HAS_TCP (1u << 0)
#define HAS_SRC (1u << 1)
#define HAS_DST (1u << 2)
#define HAS_SPORT (1u << 3)
#define HAS_DPORT (1u << 4)
#define HAS_HDRLEN (1u << 5)
#define HAS_LEN (1u << 6)

static int payload_term(struct parser *ps, struct dps_prio_rule *r)
{
	struct dps_prio_bytes *b;
	uint32_t off = 0, byte;
	int rc;

	if (r->n_bytes == DPS_PRIO_MAX_BYTES) {
		snprintf(ps->err, ps->errlen, "column %zu: more than %d payload tests in one rule",
			 ps->t.col + 1, DPS_PRIO_MAX_BYTES);
		return -E2BIG;
	}
	b = &r->bytes[r->n_bytes];
	memset(b, 0, sizeof(*b));
	if (ps->t.kind == T_LBR) {
		next(ps);
		rc = number(ps, 65535, "a payload offset from 0 to 65535", &off);
		if (rc < 0)
			return rc;
		if (ps->t.kind != T_RBR)
			return expected(ps, "']'");
		next(ps);
		if (ps->t.kind == T_EQEQ) {
			next(ps);
			rc = number(ps, 255, "a byte value (0xNN or 0-255)", &byte);
			if (rc < 0)
				return rc;
			b->val[0] = (uint8_t)byte;
			b->len = 1;
			b->off = (uint16_t)off;
			r->n_bytes++;
			return 0;
		}
		if (ps->t.kind != T_STR)
			return expected(ps, "'==' or a quoted string");
	}
	rc = string(ps, b);
	if (rc < 0)
		return rc;
	b->off = (uint16_t)off;
	r->n_bytes++;
	return 0;
}

static int term(struct parser *ps, struct dps_prio_rule *r)
{
	uint32_t lo, hi;
	int rc;

	if (word_is(&ps->t, "tcp")) {
		r->has |= HAS_TCP;
		next(ps);
		return 0;
	}
	if (word_is(&ps->t, "src") || word_is(&ps->t, "dst")) {
		bool src = ps->t.p[0] == 's';

		next(ps);
		r->has |= src ? HAS_SRC : HAS_DST;
		return src ? address(ps, &r->src, &r->src_mask)
			   : address(ps, &r->dst, &r->dst_mask);
	}
	if (word_is(&ps->t, "sport") || word_is(&ps->t, "dport")) {
		bool src = ps->t.p[0] == 's';

		next(ps);
		rc = range(ps, 65535, "a port from 0 to 65535", &lo, &hi);
		if (rc < 0)
			return rc;
		if (src) {
			r->has |= HAS_SPORT;
			r->sport_lo = (uint16_t)lo;
			r->sport_hi = (uint16_t)hi;
		} else {
			r->has |= HAS_DPORT;
			r->dport_lo = (uint16_t)lo;
			r->dport_hi = (uint16_t)hi;
		}
		return 0;
	}
	if (word_is(&ps->t, "hdrlen")) {
		next(ps);
		rc = number(ps, 60, "a TCP header length from 20 to 60", &lo);
		if (rc == 0 && lo < 20) {
			snprintf(ps->err, ps->errlen,
				 "column %zu: a TCP header length is from 20 to 60 bytes",
				 ps->t.col + 1);
			rc = -EINVAL;
		}
		r->has |= HAS_HDRLEN;
		r->hdrlen = (uint16_t)lo;
		return rc;
	}
	if (word_is(&ps->t, "len")) {
		next(ps);
		r->has |= HAS_LEN;
		return range(ps, 65535, "a payload length from 0 to 65535", &r->len_lo, &r->len_hi);
	}
	if (word_is(&ps->t, "payload")) {
		next(ps);
		return payload_term(ps, r);
	}
	return expected(ps, "a match (tcp, src, dst, sport, dport, hdrlen, len, payload) or '->'");
}

static int rule(struct parser *ps, struct dps_prio_rule *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	if (ps->t.kind == T_STAR) {
		next(ps);
	} else {
		if (ps->t.kind != T_WORD)
			return expected(ps, "a match (tcp, src, dst, sport, dport, hdrlen, len, "
					    "payload) or '*'");
		while (ps->t.kind == T_WORD) {
			rc = term(ps, r);
			if (rc < 0)
				return rc;
		}
	}
	if (ps->t.kind != T_ARROW)
		return expected(ps, "'->'");
	next(ps);
	if (word_is(&ps->t, "high"))
		r->cls = DPS_PRIO_CLASS_HIGH;
	else if (word_is(&ps->t, "low"))
		r->cls = DPS_PRIO_CLASS_LOW;
	else
		return expected(ps, "a class (high or low)");
	next(ps);
	if (word_is(&ps->t, "conn")) { /* the class sticks to the connection */
		r->cls |= DPS_PRIO_CONN;
		next(ps);
	}
	return 0;
}

int dps_prio_compile(const char *text, struct dps_prio_rules *r, char *err, size_t errlen)
{
	struct parser ps = { .text = text, .err = err, .errlen = errlen };
	int rc;

	r->n = 0;
	next(&ps);
	while (ps.t.kind != T_END) {
		if (r->n == DPS_PRIO_MAX_RULES) {
			snprintf(err, errlen, "column %zu: more than %d rules", ps.t.col + 1,
				 DPS_PRIO_MAX_RULES);
			return -E2BIG;
		}
		rc = rule(&ps, &r->rule[r->n]);
		if (rc < 0) {
			r->n = 0;
			return rc;
		}
		r->n++;
		if (ps.t.kind == T_SEMI)
			next(&ps);
		else if (ps.t.kind != T_END) {
			r->n = 0;
			return expected(&ps, "';' or the end of the rules");
		}
	}
	return 0;
}

static bool rule_holds(const struct dps_prio_rule *r, const struct dps_prio_pkt *p)
{
	if ((r->has & HAS_TCP) && p->proto != IPPROTO_TCP)
		return false;
	if ((r->has & HAS_SRC) && (p->src & r->src_mask) != r->src)
		return false;
	if ((r->has & HAS_DST) && (p->dst & r->dst_mask) != r->dst)
		return false;
	if ((r->has & HAS_SPORT) && (p->sport < r->sport_lo || p->sport > r->sport_hi))
		return false;
	if ((r->has & HAS_DPORT) && (p->dport < r->dport_lo || p->dport > r->dport_hi))
		return false;
	if ((r->has & HAS_HDRLEN) && p->hdrlen != r->hdrlen)
		return false;
	if ((r->has & HAS_LEN) && (p->paylen < r->len_lo || p->paylen > r->len_hi))
		return false;
	for (unsigned i = 0; i < r->n_bytes; i++) {
		const struct dps_prio_bytes *b = &r->bytes[i];

		if ((uint32_t)b->off + b->len > p->paylen ||
		    memcmp(p->payload + b->off, b->val, b->len) != 0)
			return false;
	}
	return true;
}

unsigned dps_prio_classify(const struct dps_prio_rules *r, const struct dps_prio_pkt *p)
{
	for (unsigned i = 0; i < r->n; i++)
		if (rule_holds(&r->rule[i], p))
			return r->rule[i].cls;
	return DPS_PRIO_CLASS_LOW;
}
