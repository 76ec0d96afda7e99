/*
 * fuzz_prio: the priority rule parser (stack/prio.c) on arbitrary text, then the compiled rules
 * on a packet built from the same bytes. Checks: compile either succeeds or fails with a message
 * that names a column; classification returns a known class and never reads past the payload.
 */
#include "prio.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dps_prio_rules r;
	char err[256], *text = malloc(size + 1);
	struct dps_prio_pkt p = { .proto = IPPROTO_TCP, .hdrlen = 20 };
	uint8_t *payload;
	int rc;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	rc = dps_prio_compile(text, &r, err, sizeof(err));
	if (rc < 0 && strncmp(err, "column ", 7) != 0)
		abort();
	/* An exact-size heap copy of the input as payload: ASan catches any read past it. */
	payload = malloc(size > 0 ? size : 1);
	if (payload != NULL) {
		memcpy(payload, data, size);
		p.payload = payload;
		p.paylen = (uint32_t)size;
		p.dport = size > 1 ? (uint16_t)(data[0] << 8 | data[1]) : 0;
		if (dps_prio_classify(&r, &p) > DPS_PRIO_CLASS_HIGH)
			abort();
		free(payload);
	}
	free(text);
	return 0;
}
