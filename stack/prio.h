/*
 * prio: priority rules (DESIGN.md §8, issue 8): an ordered list, first match wins, compiled once
 * into a compact array and matched per packet at the classification points.
 *
 * Grammar (the text of DPSOCK_PRIORITY / `priority`):
 *   rules  := rule { ';' rule } [ ';' ]
 *   rule   := match '->' class
 *   match  := '*' | term { term }
 *   term   := 'tcp'                                  protocol (the only one the stack carries)
 *           | ('src' | 'dst') A.B.C.D [ '/' LEN ]     address, optional prefix length 0-32
 *           | ('sport' | 'dport') PORT [ '-' PORT ]   port or inclusive range
 *           | 'hdrlen' NUM                           TCP header length in bytes
 *           | 'len' NUM [ '-' NUM ]                  payload length or inclusive range
 *           | 'payload' STRING                       payload starts with STRING
 *           | 'payload' '[' NUM ']' STRING           STRING at byte offset NUM
 *           | 'payload' '[' NUM ']' '==' BYTE        one byte (0xNN or decimal) at offset NUM
 *   class  := ( 'high' | 'low' ) [ 'conn' ]
 * STRING is double-quoted, with \\ \" \r \n \t \0 \xNN escapes, 1-16 bytes. Terms of a rule all must hold.
 * A packet no rule matches is low. 'conn' pins the class to the packet's TCP connection: from the
 * first segment the rule matches (a SYN for a port rule), every byte and event of that connection
 * has the class, whatever later packets match. Example (DESIGN.md §8):
 *   tcp dport 6379 payload "GET " -> high; tcp sport 8080 -> high; * -> low
 *
 * Parsing never touches errno; errors name the column (1-based) and what was expected.
 */
#ifndef DPS_PRIO_H
#define DPS_PRIO_H

#include <stddef.h>
#include <stdint.h>

enum dps_prio_class { DPS_PRIO_CLASS_LOW = 0, DPS_PRIO_CLASS_HIGH = 1 };
/* Or'ed into a class: the rule said 'conn' (the class is pinned to the connection). */
#define DPS_PRIO_CONN 2u
#define DPS_PRIO_CLASS_MASK 1u

#define DPS_PRIO_MAX_RULES 64
#define DPS_PRIO_MAX_BYTES 4 /* payload tests per rule */
#define DPS_PRIO_STR_MAX 16

struct dps_prio_bytes {
	uint16_t off;
	uint8_t len;
	uint8_t val[DPS_PRIO_STR_MAX];
};

struct dps_prio_rule {
	uint32_t has; /* which terms the rule has (prio.c) */
	uint32_t src, src_mask, dst, dst_mask; /* network order */
	uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
	uint16_t hdrlen;
	uint32_t len_lo, len_hi;
	uint8_t n_bytes;
	uint8_t cls;
	struct dps_prio_bytes bytes[DPS_PRIO_MAX_BYTES];
};

struct dps_prio_rules {
	unsigned n;
	struct dps_prio_rule rule[DPS_PRIO_MAX_RULES];
};

/* What a classification point knows of a packet. Addresses network order, ports host order. */
struct dps_prio_pkt {
	uint8_t proto; /* IPPROTO_TCP, ... */
	uint32_t src, dst;
	uint16_t sport, dport;
	uint16_t hdrlen; /* transport header length in bytes */
	const uint8_t *payload;
	uint32_t paylen;
};

/*
 * Compile text into r. An empty text (or only white space) gives no rules: everything is low.
 * Returns 0, or -EINVAL with one line in err: "column N: expected X, found 'Y'", or -E2BIG when
 * there are more than DPS_PRIO_MAX_RULES rules or DPS_PRIO_MAX_BYTES payload tests in one rule.
 */
int dps_prio_compile(const char *text, struct dps_prio_rules *r, char *err, size_t errlen);

/* The class of p: the first rule whose terms all hold, else DPS_PRIO_CLASS_LOW; with
 * DPS_PRIO_CONN or'ed in when that rule pins its connection. */
unsigned dps_prio_classify(const struct dps_prio_rules *r, const struct dps_prio_pkt *p);

#endif
