/* seg: parse, format and compare packetdrill-like segment lines (see seg.h). */
#include "seg.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_tcp.h>

static const struct {
	char c;
	uint8_t f;
} flag_chars[] = {
	{ 'S', RTE_TCP_SYN_FLAG }, { 'F', RTE_TCP_FIN_FLAG }, { 'R', RTE_TCP_RST_FLAG },
	{ 'P', RTE_TCP_PSH_FLAG }, { '.', RTE_TCP_ACK_FLAG }, { 'U', RTE_TCP_URG_FLAG },
	{ 'E', RTE_TCP_ECE_FLAG }, { 'W', RTE_TCP_CWR_FLAG },
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *skip_ws(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

/* A number (decimal, 0x hex, negative) or "*". */
static int parse_sval(const char **pp, struct sval *v)
{
	const char *p = skip_ws(*pp);
	char *end;

	if (*p == '*') {
		v->wild = true;
		v->v = 0;
		*pp = p + 1;
		return 0;
	}
	v->wild = false;
	v->v = strtoll(p, &end, 0);
	if (end == p)
		return -1;
	*pp = end;
	return 0;
}

static bool word(const char **pp, const char *w)
{
	const char *p = skip_ws(*pp);
	size_t n = strlen(w);

	if (strncmp(p, w, n) != 0 || isalnum((unsigned char)p[n]))
		return false;
	*pp = p + n;
	return true;
}

static int parse_opt(const char *p, const char *stop, struct spec_opt *o)
{
	memset(o, 0, sizeof(*o));
	if (word(&p, "nop"))
		o->kind = O_NOP;
	else if (word(&p, "eol"))
		o->kind = O_EOL;
	else if (word(&p, "mss")) {
		o->kind = O_MSS;
		if (parse_sval(&p, &o->a))
			return -1;
	} else if (word(&p, "wscale")) {
		o->kind = O_WS;
		if (parse_sval(&p, &o->a))
			return -1;
	} else if (word(&p, "sackOK"))
		o->kind = O_SACKOK;
	else if (word(&p, "TS")) {
		o->kind = O_TS;
		if (!word(&p, "val") || parse_sval(&p, &o->a) || !word(&p, "ecr") ||
		    parse_sval(&p, &o->b))
			return -1;
	} else if (word(&p, "sack")) {
		o->kind = O_SACK;
		while (skip_ws(p) < stop) {
			if (o->n_blocks == 4 || parse_sval(&p, &o->left[o->n_blocks]))
				return -1;
			p = skip_ws(p);
			if (*p++ != ':' || parse_sval(&p, &o->right[o->n_blocks]))
				return -1;
			o->n_blocks++;
		}
		if (o->n_blocks == 0)
			return -1;
	} else
		return -1;
	return skip_ws(p) == stop ? 0 : -1;
}

int spec_parse(const char *line, struct spec *s, char *err, size_t errlen)
{
	const char *p = skip_ws(line);
	char *end;

	memset(s, 0, sizeof(*s));
	for (; *p != '\0' && !isspace((unsigned char)*p); p++) {
		size_t i;

		for (i = 0; i < sizeof(flag_chars) / sizeof(flag_chars[0]); i++)
			if (flag_chars[i].c == *p)
				break;
		if (i == sizeof(flag_chars) / sizeof(flag_chars[0]))
			return fail(err, errlen, "bad flag '%c' in \"%s\"", *p, line);
		s->flags |= flag_chars[i].f;
	}
	p = skip_ws(p);
	s->seq = strtoll(p, &end, 0);
	if (end == p || *end != ':')
		return fail(err, errlen, "expected seq:end(len) in \"%s\"", line);
	p = end + 1;
	s->end = strtoll(p, &end, 0);
	if (end == p || *end != '(')
		return fail(err, errlen, "expected seq:end(len) in \"%s\"", line);
	p = end + 1;
	s->len = strtoll(p, &end, 0);
	if (end == p || *end != ')' || s->len < 0)
		return fail(err, errlen, "expected seq:end(len) in \"%s\"", line);
	if (s->end - s->seq != s->len)
		return fail(err, errlen, "end - seq != len in \"%s\"", line);
	p = end + 1;
	for (;;) {
		p = skip_ws(p);
		if (*p == '\0')
			break;
		if (word(&p, "ack")) {
			s->has_ack = true;
			if (parse_sval(&p, &s->ack))
				return fail(err, errlen, "bad ack in \"%s\"", line);
		} else if (word(&p, "win")) {
			s->has_win = true;
			if (parse_sval(&p, &s->win))
				return fail(err, errlen, "bad win in \"%s\"", line);
		} else if (*p == '<') {
			const char *close = strchr(p, '>');

			if (close == NULL)
				return fail(err, errlen, "no '>' in \"%s\"", line);
			s->has_opts = true;
			p++;
			while (skip_ws(p) < close) {
				const char *comma = memchr(p, ',', (size_t)(close - p));
				const char *stop = comma != NULL ? comma : close;

				if (s->n_opts == SPEC_MAX_OPTS ||
				    parse_opt(p, stop, &s->opts[s->n_opts]) != 0)
					return fail(err, errlen, "bad option \"%.*s\" in \"%s\"",
						    (int)(stop - p), p, line);
				s->n_opts++;
				p = comma != NULL ? comma + 1 : close;
			}
			p = close + 1;
		} else
			return fail(err, errlen, "unexpected \"%s\" in \"%s\"", p, line);
	}
	return 0;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void wire_opts_walk(const uint8_t *opt, size_t len, struct wire_opts *w)
{
	w->n = 0;
	for (size_t i = 0; i < len && w->n < sizeof(w->o) / sizeof(w->o[0]);) {
		struct spec_opt *o = &w->o[w->n++];
		uint8_t kind = opt[i], olen;

		memset(o, 0, sizeof(*o));
		if (kind == 0) {
			o->kind = O_EOL;
			i++;
			continue;
		}
		if (kind == 1) {
			o->kind = O_NOP;
			i++;
			continue;
		}
		olen = i + 1 < len ? opt[i + 1] : 0;
		o->kind = O_OTHER;
		o->other_kind = kind;
		o->other_len = olen;
		if (olen < 2 || i + olen > len)
			return; /* malformed: shown as an unknown option */
		if (kind == 2 && olen == 4) {
			o->kind = O_MSS;
			o->a.v = (uint16_t)(opt[i + 2] << 8 | opt[i + 3]);
		} else if (kind == 3 && olen == 3) {
			o->kind = O_WS;
			o->a.v = opt[i + 2];
		} else if (kind == 4 && olen == 2)
			o->kind = O_SACKOK;
		else if (kind == 8 && olen == 10) {
			o->kind = O_TS;
			o->a.v = rd32(opt + i + 2);
			o->b.v = rd32(opt + i + 6);
		} else if (kind == 5 && olen >= 10 && (olen - 2) % 8 == 0) {
			o->kind = O_SACK;
			for (size_t b = i + 2; b < i + olen && o->n_blocks < 4; b += 8) {
				o->left[o->n_blocks].v = rd32(opt + b);
				o->right[o->n_blocks].v = rd32(opt + b + 4);
				o->n_blocks++;
			}
		}
		i += olen;
	}
}

/* Relative value as a signed 32-bit number (so that small negatives read as such). */
static long long rel(uint32_t v, uint32_t base)
{
	return (long long)(int32_t)(v - base);
}

static void flags_str(uint8_t f, char *out)
{
	for (size_t i = 0; i < sizeof(flag_chars) / sizeof(flag_chars[0]); i++)
		if (f & flag_chars[i].f)
			*out++ = flag_chars[i].c;
	*out = '\0';
}

/* Appends to buf[*pos..len). */
static void app(char *buf, size_t len, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void app(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n;
}

static void sval_app(char *buf, size_t len, size_t *pos, const struct sval *v)
{
	if (v->wild)
		app(buf, len, pos, "*");
	else
		app(buf, len, pos, "%lld", (long long)v->v);
}

/* Options of a spec (rel == NULL) or of the wire made relative by r. */
static void opts_app(char *buf, size_t len, size_t *pos, const struct spec_opt *o, unsigned n,
		     const struct seg_rel *r)
{
	app(buf, len, pos, " <");
	for (unsigned i = 0; i < n; i++, o++) {
		if (i > 0)
			app(buf, len, pos, ",");
		switch (o->kind) {
		case O_NOP:
			app(buf, len, pos, "nop");
			break;
		case O_EOL:
			app(buf, len, pos, "eol");
			break;
		case O_MSS:
			app(buf, len, pos, "mss ");
			sval_app(buf, len, pos, &o->a);
			break;
		case O_WS:
			app(buf, len, pos, "wscale ");
			sval_app(buf, len, pos, &o->a);
			break;
		case O_SACKOK:
			app(buf, len, pos, "sackOK");
			break;
		case O_TS:
			if (r != NULL)
				app(buf, len, pos, "TS val %lld ecr %lld",
				    rel((uint32_t)o->a.v, r->tsval_base),
				    rel((uint32_t)o->b.v, r->tsecr_base));
			else {
				app(buf, len, pos, "TS val ");
				sval_app(buf, len, pos, &o->a);
				app(buf, len, pos, " ecr ");
				sval_app(buf, len, pos, &o->b);
			}
			break;
		case O_SACK:
			app(buf, len, pos, "sack");
			for (unsigned b = 0; b < o->n_blocks; b++) {
				if (r != NULL)
					app(buf, len, pos, " %lld:%lld",
					    rel((uint32_t)o->left[b].v, r->sack_base),
					    rel((uint32_t)o->right[b].v, r->sack_base));
				else {
					app(buf, len, pos, " ");
					sval_app(buf, len, pos, &o->left[b]);
					app(buf, len, pos, ":");
					sval_app(buf, len, pos, &o->right[b]);
				}
			}
			break;
		case O_OTHER:
			app(buf, len, pos, "kind %u len %u", o->other_kind, o->other_len);
			break;
		}
	}
	app(buf, len, pos, ">");
}

void seg_format(const struct seg_view *v, const struct seg_rel *r, char *buf, size_t len)
{
	char f[16];
	size_t pos = 0;
	long long seq = rel(v->seq, r->seq_base);

	flags_str(v->flags, f);
	app(buf, len, &pos, "%s %lld:%lld(%u)", f, seq, seq + v->len, v->len);
	if (v->flags & RTE_TCP_ACK_FLAG)
		app(buf, len, &pos, " ack %lld", rel(v->ack, r->ack_base));
	app(buf, len, &pos, " win %u", v->win);
	if (v->opts_len > 0) {
		struct wire_opts w;

		wire_opts_walk(v->opts, v->opts_len, &w);
		opts_app(buf, len, &pos, w.o, w.n, r);
	}
}

void spec_format(const struct spec *s, char *buf, size_t len)
{
	char f[16];
	size_t pos = 0;

	flags_str(s->flags, f);
	app(buf, len, &pos, "%s %lld:%lld(%lld)", f, (long long)s->seq, (long long)s->end,
	    (long long)s->len);
	if (s->has_ack) {
		app(buf, len, &pos, " ack ");
		sval_app(buf, len, &pos, &s->ack);
	}
	if (s->has_win) {
		app(buf, len, &pos, " win ");
		sval_app(buf, len, &pos, &s->win);
	}
	if (s->has_opts)
		opts_app(buf, len, &pos, s->opts, s->n_opts, NULL);
}

static bool sval_is(const struct sval *s, uint32_t v, uint32_t base)
{
	return s->wild || (uint32_t)(v - base) == (uint32_t)s->v;
}

static const char *opt_match(const struct spec_opt *s, const struct spec_opt *w,
			     const struct seg_rel *r)
{
	if (s->kind != w->kind)
		return "options (kinds or order)";
	switch (s->kind) {
	case O_MSS:
	case O_WS:
		return sval_is(&s->a, (uint32_t)w->a.v, 0) ? NULL : "option value";
	case O_TS:
		if (!sval_is(&s->a, (uint32_t)w->a.v, r->tsval_base))
			return "TS val";
		return sval_is(&s->b, (uint32_t)w->b.v, r->tsecr_base) ? NULL : "TS ecr";
	case O_SACK:
		if (s->n_blocks != w->n_blocks)
			return "SACK block count";
		for (unsigned b = 0; b < s->n_blocks; b++)
			if (!sval_is(&s->left[b], (uint32_t)w->left[b].v, r->sack_base) ||
			    !sval_is(&s->right[b], (uint32_t)w->right[b].v, r->sack_base))
				return "SACK blocks";
		return NULL;
	default:
		return NULL;
	}
}

const char *spec_match(const struct spec *s, const struct seg_view *v, const struct seg_rel *r)
{
	/* PSH is not compared: where it goes is an implementation's choice. */
	if ((s->flags & ~RTE_TCP_PSH_FLAG) != (v->flags & ~RTE_TCP_PSH_FLAG))
		return "flags";
	if ((uint32_t)(v->seq - r->seq_base) != (uint32_t)s->seq)
		return "seq";
	if (v->len != (uint32_t)s->len)
		return "payload length";
	if (s->has_ack && !sval_is(&s->ack, v->ack, r->ack_base))
		return "ack";
	if (s->has_win && !sval_is(&s->win, v->win, 0))
		return "window";
	if (s->has_opts) {
		struct wire_opts w;
		const char *why;

		wire_opts_walk(v->opts, v->opts_len, &w);
		if (w.n != s->n_opts)
			return "options (count)";
		for (unsigned i = 0; i < w.n; i++)
			if ((why = opt_match(&s->opts[i], &w.o[i], r)) != NULL)
				return why;
	}
	return NULL;
}
