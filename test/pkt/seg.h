/*
 * seg: packetdrill-like segment lines for the pkt framework: parsed into a spec (what a scenario
 * wants), a parsed segment formatted back into a line, and a spec compared with a segment.
 */
#ifndef DPS_PKT_SEG_H
#define DPS_PKT_SEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPEC_MAX_OPTS 12

enum opt_kind { O_NOP, O_EOL, O_MSS, O_WS, O_SACKOK, O_TS, O_SACK, O_OTHER };

/* A value of a spec: a number or "*" */
struct sval {
	bool wild;
	int64_t v;
};

struct spec_opt {
	enum opt_kind kind;
	struct sval a, b; /* mss/wscale value; TS val, ecr */
	unsigned n_blocks; /* SACK */
	struct sval left[4], right[4];
	unsigned other_kind, other_len;
};

struct spec {
	uint8_t flags; /* RTE_TCP_*_FLAG */
	int64_t seq, end, len;
	bool has_ack;
	struct sval ack;
	bool has_win;
	struct sval win;
	bool has_opts;
	unsigned n_opts;
	struct spec_opt opts[SPEC_MAX_OPTS];
};

/* Parse a line; returns 0 or -1 with a message in err. */
int spec_parse(const char *line, struct spec *s, char *err, size_t errlen);

/* Options of a real segment, in order (NOPs included), walked from its bytes. */
struct wire_opts {
	unsigned n;
	struct spec_opt o[SPEC_MAX_OPTS + 8];
};
void wire_opts_walk(const uint8_t *opt, size_t len, struct wire_opts *w);

/*
 * How numbers are made relative when formatting and comparing: seq_base is the sender's ISN,
 * ack_base the receiver's; tsval_base / tsecr_base are subtracted from TSval / TSecr; sack_base
 * from SACK blocks. Bases of 0 leave numbers absolute.
 */
struct seg_rel {
	uint32_t seq_base, ack_base, tsval_base, tsecr_base, sack_base;
};

struct seg_view {
	uint8_t flags;
	uint32_t seq, ack, len;
	uint16_t win;
	const uint8_t *opts;
	size_t opts_len;
};

/* Format v as a packetdrill line. */
void seg_format(const struct seg_view *v, const struct seg_rel *r, char *buf, size_t len);
void spec_format(const struct spec *s, char *buf, size_t len);
/* Compare: returns NULL when v matches s, else which field differs. */
const char *spec_match(const struct spec *s, const struct seg_view *v, const struct seg_rel *r);

#endif
