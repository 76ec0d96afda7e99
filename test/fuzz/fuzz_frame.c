/*
 * Fuzz target: whole Ethernet frames through the wire parsers (eth, arp, ipv4, icmp), and through
 * the flow parser of the priority classifier (dps_wire_flow_parse), whose payload is read to its
 * last byte.
 * With -Dfuzz=true (clang) this is a libFuzzer target; otherwise fuzz_replay.c runs it over the
 * corpus. The parsers must never read past the buffer (ASan) and must be deterministic.
 */
#include "wire.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum dps_drop a = dps_wire_frame_parse(data, size);
	enum dps_drop b = dps_wire_frame_parse(data, size);
	struct dps_flow_view v;
	volatile uint8_t sink = 0;

	if (a != b || a >= DPS_DROP_COUNT)
		abort();
	a = dps_wire_flow_parse(data, size, &v);
	if (a >= DPS_DROP_COUNT)
		abort();
	if (a == DPS_DROP_NONE) {
		/* The payload lies within the frame and behind the transport header. */
		if (v.payload < data + 14 + 20 + v.hdrlen || v.payload + v.paylen > data + size)
			abort();
		for (uint32_t i = 0; i < v.paylen; i++)
			sink ^= v.payload[i];
	}
	(void)sink;
	return 0;
}
