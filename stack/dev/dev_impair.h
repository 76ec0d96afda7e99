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
 * with an optional rx: or tx: prefix on a key to impair one direction only (parsed by
 * dps_impair_parse, impair_parse.h).
 */
#ifndef DPS_DEV_IMPAIR_H
#define DPS_DEV_IMPAIR_H

#include <stddef.h>
#include <stdint.h>

#include "impair_parse.h" /* struct dps_impair_conf, dps_impair_parse */

struct dps_dev;

#define DPS_IMPAIR_HELD_MAX 64u /* frames held back for reordering at once, per direction */

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

#endif
