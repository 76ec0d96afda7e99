/* api: the process's engine behind include/dpsock.h. */
#include "dpsock.h"

#include "dev.h"
#include "dps_conf.h"
#include "dps_eal.h"
#include "dps_log.h"
#include "dps_mempool.h"
#include "dps_stack.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_mempool.h>

extern char **environ;

static struct dps_engine *engine;
static struct rte_mempool *pool;
static struct dps_conf conf;

uint64_t dps_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int dps_init(char *err, size_t errlen)
{
	struct dps_dev *dev = NULL;
	char why[DPS_CONF_ERRLEN];
	int rc;

	if (engine != NULL)
		return -EALREADY;
	rc = dps_conf_load(&conf, environ, err, errlen);
	if (rc < 0)
		return rc;
	rc = dps_eal_start(&conf, err, errlen);
	if (rc < 0)
		goto err_conf;
	pool = dps_pktpool_create("dps_pkt", (unsigned)conf.mbufs, (unsigned)conf.mtu,
				  SOCKET_ID_ANY, &rc);
	if (pool == NULL) {
		snprintf(err, errlen,
			 "cannot allocate %llu packet buffers: %s (lower mbufs, or raise mem_mb)",
			 (unsigned long long)conf.mbufs, strerror(-rc));
		goto err_eal;
	}
	rc = dps_dev_dpdk_open(conf.dev, &conf, pool, &dev, err, errlen);
	if (rc < 0)
		goto err_pool;
	rc = dps_engine_create(&conf, dev, pool, dps_now_ns(), &engine, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "%s", why);
		dps_dev_close(dev);
		goto err_pool;
	}
	DPS_LOG(INFO, "engine up on %s, MAC " RTE_ETHER_ADDR_PRT_FMT, conf.dev,
		RTE_ETHER_ADDR_BYTES(&dev->mac));
	return 0;
err_pool:
	rte_mempool_free(pool);
	pool = NULL;
err_eal:
	dps_eal_stop();
err_conf:
	dps_conf_free(&conf);
	return rc;
}

int dps_poll(void)
{
	if (engine == NULL)
		return -ENODEV;
	return (int)dps_engine_poll(engine, dps_now_ns());
}

void dps_exit(void)
{
	if (engine == NULL)
		return;
	dps_engine_destroy(engine);
	engine = NULL;
	rte_mempool_free(pool);
	pool = NULL;
	dps_eal_stop();
	dps_conf_free(&conf);
}

int dps_counters(void (*fn)(const char *name, uint64_t value, void *arg), void *arg)
{
	unsigned n = dps_engine_counter_count();

	if (engine == NULL)
		return -ENODEV;
	for (unsigned i = 0; i < n; i++)
		fn(dps_engine_counter_name(i), dps_engine_counter_value(engine, i), arg);
	return (int)n;
}
