/*
 * iot_msg: the message framing shared by test/apps/iot-server.c and test/bench/loadgen (issue 8's
 * IoT benchmark). Plain C, no dpsock header: the server is an ordinary POSIX program.
 *
 * Every message starts with this 32-byte header, in host byte order (both ends run on one
 * machine). The class byte comes first so that a priority rule can match it at payload offset
 * 0 (`payload[0] == 0x48 -> high`), in a request and in its answer:
 *
 *   cls   'H' (0x48) high priority, 'L' (0x4c) low
 *   type  'R' request (answered), 'B' heartbeat (never answered), 'A' answer
 *   len   bytes of the whole message, header included (IOT_HDR_LEN..IOT_MAX_LEN)
 *   id    the sender's per-connection request number (answers echo it)
 *   ts_ns the sender's send time (answers echo it: latency without a shared clock)
 *   key   request: table key; answer: iot_work() of the request
 *
 * A request's body (len - 32 bytes) is iot_body_byte(id, i). The server's work for a request is
 * iot_work(): an FNV-1a hash over the body, then a lookup in a 64 Ki-entry table (iot_table_value
 * fills it); the loadgen recomputes it to check each answer.
 */
#ifndef DPS_IOT_MSG_H
#define DPS_IOT_MSG_H

#include <stdint.h>

#define IOT_HDR_LEN 32
#define IOT_MAX_LEN 1024
#define IOT_TABLE_SIZE 65536

#define IOT_CLS_HIGH 'H'
#define IOT_CLS_LOW 'L'
#define IOT_REQ 'R'
#define IOT_HEARTBEAT 'B'
#define IOT_ANSWER 'A'

struct iot_msg {
	uint8_t cls;
	uint8_t type;
	uint16_t len;
	uint32_t id;
	uint64_t ts_ns;
	uint64_t key;
	uint64_t pad;
};

_Static_assert(sizeof(struct iot_msg) == IOT_HDR_LEN, "iot_msg is 32 bytes");

static inline uint8_t iot_body_byte(uint32_t id, uint32_t i)
{
	return (uint8_t)(id * 31u + i * 7u + 1u);
}

/* The server's table entry for slot i (the table is filled once at start). */
static inline uint64_t iot_table_value(uint32_t i)
{
	uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull;

	return x ^ (x >> 29);
}

/* FNV-1a over the body, then the table: what the answer's key holds. */
static inline uint64_t iot_work(const uint8_t *body, uint32_t n, uint64_t key,
				const uint64_t *table)
{
	uint64_t h = 0xcbf29ce484222325ull ^ key;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ body[i]) * 0x100000001b3ull;
	return h ^ table[h % IOT_TABLE_SIZE];
}

#endif
