/*
 * dpsock: the public native API.
 *
 * A process has one engine (DESIGN.md §2, arrangement "inline"): dps_init() configures it from the
 * environment (DPSOCK_* variables and the DPSOCK_CONFIG file), starts DPDK and the device; the caller
 * then drives it with dps_poll(). Functions return 0 (or a count) on success and -errno on failure;
 * they never set errno. Not thread-safe: one thread drives the engine.
 */
#ifndef DPSOCK_H
#define DPSOCK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Start the engine from the environment. On failure writes one line for the user into err (the
 * option or device at fault and what to do).
 * Errors: -EINVAL/-ENOENT bad configuration, -ENODEV device missing, -ENOMEM, -EALREADY (already
 * running), -errno from DPDK.
 */
int dps_init(char *err, size_t errlen);

/* One engine iteration: receive a burst, process it, run due timers, flush transmits. Returns the
 * number of frames received, or -ENODEV when the engine is not running. */
int dps_poll(void);

/* Stop the engine and release the device and DPDK (the device is free for the next process). */
void dps_exit(void);

/* Monotonic time in nanoseconds, as the engine sees it. */
uint64_t dps_now_ns(void);

/*
 * The engine's counters: calls fn(name, value, arg) for each, in a fixed order ("rx_frames", ...,
 * "drop_ip_csum", ...). Returns the number of counters, or -ENODEV when the engine is not running.
 */
int dps_counters(void (*fn)(const char *name, uint64_t value, void *arg), void *arg);

#ifdef __cplusplus
}
#endif

#endif
