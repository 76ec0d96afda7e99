/* Logging through rte_log with a "dpsock" log type; every line starts with "dpsock: ". */
#ifndef DPS_LOG_H
#define DPS_LOG_H

#include <rte_log.h>

extern int dps_logtype;

/* Register the log type (idempotent) and set its level from the log_level option's index. */
void dps_log_init(unsigned conf_level);

#define DPS_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, dps_logtype, "dpsock: " fmt "\n", ##__VA_ARGS__)

#endif
