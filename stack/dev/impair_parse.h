/*
 * impair_parse: one direction's fault-injection config and the DPSOCK_IMPAIR string that sets both
 * (impair_parse.c); dev_impair.h is the device that applies them.
 */
#ifndef DPS_IMPAIR_PARSE_H
#define DPS_IMPAIR_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define DPS_IMPAIR_PPM 1000000u /* probabilities are parts per million: 1000000 = always */
#define DPS_IMPAIR_LIMIT_MAX 65536u
#define DPS_IMPAIR_GAP_MAX 1000u
#define DPS_IMPAIR_TIME_MAX (60ull * 1000000000ull) /* 60 s, for delay, jitter, reorder_hold */
#define DPS_IMPAIR_SIZE_MAX (1ull << 30) /* 1 GiB, for rate_burst and rate_queue */

/* One direction's impairments. dps_impair_conf_init() gives "none" with the defaults below. */
struct dps_impair_conf {
	uint32_t loss_ppm; /* drop the frame */
	uint32_t dup_ppm; /* also send a full copy, right behind it */
	uint32_t corrupt_ppm; /* flip one bit past the Ethernet header, inside the IPv4 packet */
	uint32_t reorder_ppm; /* hold the frame back ... */
	uint32_t reorder_gap; /* ... until this many later frames left (default 3) ... */
	uint32_t limit; /* frames the delay queue holds; more are dropped (default 4096) */
	uint64_t reorder_hold_ns; /* ... or this long after it was due (default 1 ms) */
	uint64_t delay_ns; /* fixed delay */
	uint64_t jitter_ns; /* plus a uniform 0..jitter_ns; never reorders (see the doc) */
	uint64_t rate_bytes_s; /* token bucket rate in bytes/s; 0: no limit */
	uint64_t rate_burst; /* bucket depth in bytes; 0: one frame at a time (pure pacing) */
	uint64_t rate_queue; /* bytes that may wait for the bucket, more are dropped (128 KiB) */
}; /* no padding: configs compare with memcmp */

/* Set c to no impairment with the defaults: gap 3, hold 1 ms, queue 128 KiB, limit 4096. */
void dps_impair_conf_init(struct dps_impair_conf *c);

/* Is c an impairment at all? (A wrapper with no impairment still passes frames through.) */
int dps_impair_conf_is_active(const struct dps_impair_conf *c);

/*
 * Parse a config string: comma-separated key=value items, a key optionally prefixed with rx: or tx:
 * to apply to that direction only (else to both), later items overriding earlier ones. Keys: loss,
 * dup, reorder, corrupt (a probability: 2%, 0.0001%, 1500ppm or 0), reorder_gap (frames),
 * reorder_hold, delay, jitter (a time: 1ms, 500us, 1.5s, 100ns or 0), rate (100mbit, 1.5gbit,
 * 64kbit, 800bit: bits/s, k = 1000; or 0 for none), rate_burst, rate_queue (bytes: 1500b, 64kb,
 * 1mb; k = 1024), limit (frames) and seed (an integer, for both directions; *seed is left alone
 * when the string has none). An empty string is no impairment.
 * rx and tx are set from the defaults plus the string, and only when the whole string is valid;
 * any of rx, tx, seed may be NULL when the caller does not want it.
 * Errors: -EINVAL with one line in err, starting with where (NULL: "impair"), naming the key, the
 * bad value and what is accepted, e.g. "impair: '5x' is not valid for tx:loss: expected ...".
 */
int dps_impair_parse(const char *s, const char *where, struct dps_impair_conf *rx,
		     struct dps_impair_conf *tx, uint64_t *seed, char *err, size_t errlen);

#endif
