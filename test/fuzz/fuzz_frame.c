/*
 * Fuzz target: whole Ethernet frames through the wire parsers (eth, arp, ipv4, icmp).
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

	if (a != b || a >= DPS_DROP_COUNT)
		abort();
	return 0;
}
