/*
 * conf_validate: every check the engine makes at start on configuration values, in one function
 * (issue 13 item 11). dps_init_env() calls it right after loading the configuration, before it
 * touches the device; `dpsock config` and `dpsock run` call the same function, so a value the
 * engine refuses is refused there too, with the same line.
 *
 * What each option's own parser refuses (conf/conf.c: numbers out of range, enums, addresses,
 * ip ranges, kernel_nets) already fails in dps_conf_load(). This adds the checks that need a
 * parser of the stack or more than one option:
 *   eal_args  words that are EAL options, not too many (dps_eal_build_args)
 *   impair    the fault-injection string (dps_impair_parse)
 *   gateway   inside a subnet of ip (when both are set)
 *   priority  the rules compile (dps_prio_compile), the error names the column
 * What it cannot check without the device or the machine, and so is left to the engine's start:
 * a missing dev or ip (a presence, not a value: `dpsock run` checks it), the interface of an
 * af_packet/af_xdp device in this network namespace, free hugepages for hugepages=on, memory for
 * mbufs, the device's own limits (queue sizes, MTU: af_packet cannot set one), the capture file.
 */
#ifndef DPS_CONF_VALIDATE_H
#define DPS_CONF_VALIDATE_H

#include <stddef.h>

struct dps_conf;

/*
 * Check c as the engine's start would. Returns 0, -EINVAL (bad eal_args, impair, gateway or
 * priority; err holds one line naming the option, where it came from, the value and what is
 * accepted), -E2BIG (too many EAL arguments, or more priority rules or payload tests than the
 * engine holds; err says which) or -ENOMEM.
 */
int dps_conf_validate(const struct dps_conf *c, char *err, size_t errlen);

#endif
