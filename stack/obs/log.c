/* log: the "dpsock" rte_log type. */
#include "dps_log.h"

#include "dps_conf.h"

int dps_logtype = RTE_LOGTYPE_USER1;

static const uint32_t levels[] = {
	[DPS_LOG_ERROR] = RTE_LOG_ERR,     [DPS_LOG_WARNING] = RTE_LOG_WARNING,
	[DPS_LOG_NOTICE] = RTE_LOG_NOTICE, [DPS_LOG_INFO] = RTE_LOG_INFO,
	[DPS_LOG_DEBUG] = RTE_LOG_DEBUG,
};

void dps_log_init(unsigned conf_level)
{
	static int registered;

	if (!registered) {
		int t = rte_log_register("dpsock");
		if (t >= 0)
			dps_logtype = t;
		registered = 1;
	}
	if (conf_level < sizeof(levels) / sizeof(levels[0]))
		rte_log_set_level(dps_logtype, levels[conf_level]);
}
