/*
 * test_prio: the priority rule language (stack/prio.h): the DESIGN.md §8 example as written, every
 * term, first-match order, and the exact error message (column and expectation) of bad rules.
 */
#include "prio.h"
#include "test/unit/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

static struct dps_prio_rules r;
static char err[256];

static int compile(const char *text)
{
	err[0] = '\0';
	return dps_prio_compile(text, &r, err, sizeof(err));
}

static struct dps_prio_pkt pkt(const char *src, uint16_t sport, const char *dst, uint16_t dport,
			       const char *payload)
{
	struct dps_prio_pkt p = {
		.proto = IPPROTO_TCP, .sport = sport, .dport = dport, .hdrlen = 32
	};

	inet_pton(AF_INET, src, &p.src);
	inet_pton(AF_INET, dst, &p.dst);
	p.payload = (const uint8_t *)payload;
	p.paylen = (uint32_t)strlen(payload);
	return p;
}

static void design_example(void)
{
	struct dps_prio_pkt p;

	CHECK_EQ(
	    compile("tcp dport 6379 payload \"GET \" -> high; tcp sport 8080 -> high; * -> low"),
	    0);
	CHECK_EQ(r.n, 3u);
	p = pkt("10.0.0.1", 40000, "10.0.0.2", 6379, "GET key\r\n");
	CHECK_EQ(dps_prio_classify(&r, &p), DPS_PRIO_CLASS_HIGH);
	p = pkt("10.0.0.1", 40000, "10.0.0.2", 6379, "SET key v\r\n");
	CHECK_EQ(dps_prio_classify(&r, &p), DPS_PRIO_CLASS_LOW);
	p = pkt("10.0.0.1", 8080, "10.0.0.2", 1234, "");
	CHECK_EQ(dps_prio_classify(&r, &p), DPS_PRIO_CLASS_HIGH);
	p = pkt("10.0.0.1", 40000, "10.0.0.2", 6379, "GE"); /* shorter than the prefix */
	CHECK_EQ(dps_prio_classify(&r, &p), DPS_PRIO_CLASS_LOW);
}

static void terms(void)
{
	struct dps_prio_pkt p = pkt("198.18.0.7", 5000, "198.18.0.2", 80, "HELLO");

	CHECK_EQ(compile("src 198.18.0.0/24 dst 198.18.0.2 sport 4000-6000 dport 80 hdrlen 32 "
			 "len 1-10 payload[0] == 0x48 payload[1] \"EL\" -> high"),
		 0);
	CHECK_EQ(dps_prio_classify(&r, &p), DPS_PRIO_CLASS_HIGH);
	p.hdrlen = 20;
	CHECK_EQ(dps_prio_classify(&r, &p), DPS_PRIO_CLASS_LOW);
	p.hdrlen = 32;
	p.sport = 6001;
	CHECK_EQ(dps_prio_classify(&r, &p), DPS_PRIO_CLASS_LOW);
	p.sport = 6000;
	inet_pton(AF_INET, "198.18.1.7", &p.src);
	CHECK_EQ(dps_prio_classify(&r, &p), DPS_PRIO_CLASS_LOW);
	inet_pton(AF_INET, "198.18.0.9", &p.src);
	p.payload = (const uint8_t *)"HXLLO";
	CHECK_EQ(dps_prio_classify(&r, &p), DPS_PRIO_CLASS_LOW);
	p.payload = (const uint8_t *)"HELLO";
	p.proto = IPPROTO_UDP; /* no 'tcp' term: any protocol */
	CHECK_EQ(dps_prio_classify(&r, &p), DPS_PRIO_CLASS_HIGH);

	CHECK_EQ(compile("tcp -> high"), 0);
	CHECK_EQ(dps_prio_classify(&r, &p), DPS_PRIO_CLASS_LOW);
	CHECK_EQ(compile("payload \"a\\\"b\\\\c\\x00\" -> high"), 0);
	CHECK_EQ(r.rule[0].bytes[0].len, 6);
	CHECK_EQ(r.rule[0].bytes[0].val[5], 0);
	CHECK_EQ(compile("payload \"*1\\r\\n\" -> high"), 0);
	CHECK_EQ(r.rule[0].bytes[0].len, 4);
	CHECK_EQ(r.rule[0].bytes[0].val[2], '\r');
	CHECK_EQ(compile("payload \"a\\q\" -> high"), -EINVAL);
	CHECK_STR(err, "column 11: unknown escape in string (use \\\\, \\\", \\r, \\n, \\t, \\0 or "
		       "\\xNN)");
	CHECK_EQ(compile("src 0.0.0.0/0 -> high"), 0);
	CHECK_EQ(dps_prio_classify(&r, &p), DPS_PRIO_CLASS_HIGH);
}

static void order_and_empty(void)
{
	struct dps_prio_pkt p = pkt("1.2.3.4", 1, "5.6.7.8", 6379, "x");

	CHECK_EQ(compile("dport 6379 -> low; * -> high;"), 0);
	CHECK_EQ(dps_prio_classify(&r, &p), DPS_PRIO_CLASS_LOW); /* first match wins */
	CHECK_EQ(compile("   "), 0);
	CHECK_EQ(r.n, 0u);
	CHECK_EQ(dps_prio_classify(&r, &p), DPS_PRIO_CLASS_LOW);
}

static void errors(void)
{
	CHECK_EQ(compile("tcp dport 6379 -> urgent"), -EINVAL);
	CHECK_STR(err, "column 19: expected a class (high or low), found 'urgent'");
	CHECK_EQ(compile("tcp dprt 6379 -> high"), -EINVAL);
	CHECK_STR(err, "column 5: expected a match (tcp, src, dst, sport, dport, hdrlen, len, "
		       "payload) or '->', found 'dprt'");
	CHECK_EQ(compile("dport 70000 -> high"), -EINVAL);
	CHECK_STR(err, "column 7: expected a port from 0 to 65535, found '70000'");
	CHECK_EQ(compile("dport 90-80 -> high"), -EINVAL);
	CHECK_STR(err, "column 9: a range must not end below its start");
	CHECK_EQ(compile("src 10.0.0/8 -> high"), -EINVAL);
	CHECK_STR(err, "column 5: expected an IPv4 address (a.b.c.d), found '10.0.0'");
	CHECK_EQ(compile("src 10.0.0.0/33 -> high"), -EINVAL);
	CHECK_STR(err, "column 14: expected a prefix length from 0 to 32, found '33'");
	CHECK_EQ(compile("payload \"GET -> high"), -EINVAL);
	CHECK_STR(err, "column 9: unterminated string");
	CHECK_EQ(compile("payload \"\" -> high"), -EINVAL);
	CHECK_STR(err, "column 9: empty string");
	CHECK_EQ(compile("payload[2] = 1 -> high"), -EINVAL);
	CHECK_STR(err, "column 12: expected '==' or a quoted string, found '='");
	CHECK_EQ(compile("payload[0] == 256 -> high"), -EINVAL);
	CHECK_STR(err, "column 15: expected a byte value (0xNN or 0-255), found '256'");
	CHECK_EQ(compile("tcp -> high low"), -EINVAL);
	CHECK_STR(err, "column 13: expected ';' or the end of the rules, found 'low'");
	CHECK_EQ(compile("tcp dport 80"), -EINVAL);
	CHECK_STR(err, "column 13: expected '->', found the end of the rules");
	CHECK_EQ(compile("; -> high"), -EINVAL);
	CHECK_STR(err, "column 1: expected a match (tcp, src, dst, sport, dport, hdrlen, len, "
		       "payload) or '*', found ';'");
	CHECK_EQ(compile("hdrlen 8 -> high"), -EINVAL);
	CHECK_EQ(compile("payload \"0123456789abcdefX\" -> high"), -EINVAL);
	CHECK_STR(err, "column 9: string longer than 16 bytes");
	CHECK_EQ(compile("payload \"a\" payload \"b\" payload \"c\" payload \"d\" payload \"e\" -> "
			 "high"),
		 -E2BIG);
	CHECK_EQ(r.n, 0u);
}

static void too_many(void)
{
	char text[64 * 12 + 16] = "";

	for (int i = 0; i <= DPS_PRIO_MAX_RULES; i++)
		strcat(text, "* -> low; ");
	CHECK_EQ(compile(text), -E2BIG);
	CHECK(strstr(err, "more than 64 rules") != NULL);
}

/* 'conn' after a class pins it to the connection: the classifier says so with DPS_PRIO_CONN. */
static void conn_pin(void)
{
	struct dps_prio_pkt p = pkt("10.0.0.1", 40000, "10.0.0.2", 7100, "");

	CHECK_EQ(compile("tcp dport 7100 -> high conn; tcp dport 7200 -> low conn; * -> low"), 0);
	CHECK_EQ(r.n, 3u);
	CHECK_EQ(dps_prio_classify(&r, &p), DPS_PRIO_CLASS_HIGH | DPS_PRIO_CONN);
	p.dport = 7200;
	CHECK_EQ(dps_prio_classify(&r, &p), DPS_PRIO_CLASS_LOW | DPS_PRIO_CONN);
	p.dport = 7300;
	CHECK_EQ(dps_prio_classify(&r, &p), DPS_PRIO_CLASS_LOW);
	/* 'conn' is a modifier of a class, nothing else */
	CHECK_EQ(compile("tcp dport 7100 -> conn"), -EINVAL);
	CHECK_STR(err, "column 19: expected a class (high or low), found 'conn'");
	CHECK_EQ(compile("tcp dport 7100 -> high conn conn"), -EINVAL);
	CHECK_STR(err, "column 29: expected ';' or the end of the rules, found 'conn'");
}

int main(void)
{
	RUN(design_example);
	RUN(conn_pin);
	RUN(terms);
	RUN(order_and_empty);
	RUN(errors);
	RUN(too_many);
	DONE();
}
