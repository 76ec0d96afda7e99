/*
 * dev_impair: a fault-injecting device wrapper (DESIGN.md §11: netem is not available here).
 *
 * A struct dps_dev whose ops wrap another device (dev_dpdk or dev_mem) and impair the frames of
 * either direction: loss, duplication, reordering, delay with jitter, single-bit corruption and a
 * token-bucket rate limit, each configured per direction and driven by a seeded PRNG and an injected
 * clock so that a run repeats exactly. docs/fault-injection.md describes the model and the config
 * string; the short form is
 *
 *	loss=2%,reorder=5%,dup=1%,delay=1ms,jitter=500us,corrupt=0.1%,rate=100mbit,seed=42
 *
 * with an optional rx: or tx: prefix on a key to impair one direction only.
 */
#ifndef DPS_DEV_IMPAIR_H
#define DPS_DEV_IMPAIR_H

#include <stddef.h>
#include <stdint.h>

struct dps_dev;

#define DPS_IMPAIR_PPM 1000000u /* probabilities are parts per million: 1000000 = always */
#define DPS_IMPAIR_LIMIT_MAX 65536u
#define DPS_IMPAIR_GAP_MAX 1000u
#define DPS_IMPAIR_TIME_MAX (60ull * 1000000000ull) /* 60 s, for delay, jitter, reorder_hold */
#define DPS_IMPAIR_SIZE_MAX (1ull << 30) /* 1 GiB, for rate_burst and rate_queue */
#define DPS_IMPAIR_HELD_MAX 64u /* frames held back for reordering at once, per direction */

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

/* Counters of one direction. Every frame that entered (seen + duplicated) is, at any time, exactly
 * one of: lost, rate_dropped, overflow, out, or held. */
struct dps_impair_stats {
	uint64_t seen; /* frames that entered the wrapper */
	uint64_t
	    out; /* frames that left: returned by rx_burst, or accepted by the inner tx_burst */
	uint64_t out_bytes;
	uint64_t lost;
	uint64_t duplicated; /* copies made (each also counts once in out, or in a drop counter) */
	uint64_t reordered; /* frames held back for reordering */
	uint64_t delayed; /* frames that left later than they entered (delay, jitter, rate) */
	uint64_t corrupted;
	uint64_t rate_dropped; /* would have waited more than rate_queue bytes for the bucket */
	uint64_t overflow; /* the delay queue held `limit` frames already */
	uint64_t
	    nombuf; /* a copy found the pool empty: no duplicate, or the frame left uncorrupted */
	uint64_t held; /* frames inside the wrapper now (a gauge, not a counter) */
};

/* Set c to no impairment with the defaults: gap 3, hold 1 ms, queue 128 KiB, limit 4096. */
void dps_impair_conf_init(struct dps_impair_conf *c);

/* Is c an impairment at all? (A wrapper with no impairment still passes frames through.) */
int dps_impair_conf_is_active(const struct dps_impair_conf *c);

/*
 * Wrap inner (any device) in an impairing device: rx impairs what inner receives, tx what the owner
 * sends, each by its conf (NULL: none). The PRNG of each direction is seeded from seed. clock_ns
 * returns the time in nanoseconds (monotonic) and is read once per call; NULL means
 * CLOCK_MONOTONIC. The new device has inner's MAC, port_id and name ("impair:<name>"), and owns
 * inner: dps_dev_close() on it closes inner and frees every frame it still holds.
 *
 * Held tx frames leave on every later rx_burst, tx_burst (n may be 0) or dps_dev_impair_poll()
 * call: the engine polls rx on every iteration, so it needs nothing more.
 * tx_burst always takes all n frames (frames it cannot hold are counted and freed, as a full link
 * would drop them); frames the inner device refuses wait in the wrapper and are retried.
 *
 * Errors: -EINVAL (inner or out NULL, or a conf field out of the ranges above: ppm > 1000000,
 * limit 0 or > 65536, gap 0 or > 1000, a time > 60 s, a size > 1 GiB), -ENOMEM. On error inner is
 * not closed: the caller still owns it.
 */
int dps_dev_impair_create(struct dps_dev *inner, const struct dps_impair_conf *rx,
			  const struct dps_impair_conf *tx, uint64_t seed,
			  uint64_t (*clock_ns)(void *arg), void *clock_arg, struct dps_dev **out);

/* Is dev an impairing wrapper? */
int dps_dev_is_impair(const struct dps_dev *dev);

/* Send the held tx frames that are due now to the inner device. Returns how many the inner device
 * took (>= 0), or -EINVAL when dev is not an impairing wrapper. */
int dps_dev_impair_poll(struct dps_dev *dev);

/* The earliest time (clock_ns's scale) at which a held frame of either direction is due: an idle
 * loop that sleeps must wake by then (a time at or before now: poll at once). UINT64_MAX when
 * nothing is held. Errors: -EINVAL (dev is not an impairing wrapper). */
int dps_dev_impair_next_due(struct dps_dev *dev, uint64_t *due);

/* Copy the counters of each direction into rx and tx (either may be NULL).
 * Errors: -EINVAL (dev is not an impairing wrapper). */
int dps_dev_impair_stats(struct dps_dev *dev, struct dps_impair_stats *rx,
			 struct dps_impair_stats *tx);

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
