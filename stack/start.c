/*
 * start: the process's engine (DESIGN.md §6), its start-up and its end; api.c is the thin API on
 * top of it.
 *
 * Start-up order (dps_init_env): load the configuration (environment, config file) and check
 * every value (conf_validate.c) -> take the device lock (one process per device) -> start EAL
 * (dps_eal_start) -> create the packet pool -> open the DPDK device (dev_dpdk.c) and wrap it for
 * fault injection when DPSOCK_IMPAIR asks (dev_impair.c) -> create the engine -> attach it to
 * telemetry. Each step undoes the earlier ones when it fails. dps_exit undoes them all in the
 * reverse order.
 */
#include "dps_sys.h"
#include "dpsock.h"

#include "conf_validate.h"
#include "dev.h"
#include "dev_impair.h"
#include "dps_conf.h"
#include "dps_eal.h"
#include "dps_log.h"
#include "dps_mempool.h"
#include "dps_stack.h"
#include "start.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_mempool.h>

extern char **environ;

static struct dps_engine *engine;
static int dev_lock_fd = -1;
static struct rte_mempool *pool;
static struct dps_conf conf;

struct dps_engine *dps_start_engine(void)
{
	return engine;
}

const struct dps_conf *dps_start_conf(void)
{
	return &conf;
}

/*
 * One process per device (DESIGN.md §6): an flock on /run/dpsock/<device>.lock, held while the
 * engine runs (the kernel drops it when the process dies, so a crash leaves nothing behind). A
 * busy device is waited for up to dev_wait_ms (nginx's reload: the old worker lets go once it has
 * drained), then refused with the holder's pid.
 */
static int dev_lock(const struct dps_conf *c, char *err, size_t errlen)
{
	char path[256], who[32] = "";
	uint64_t waited = 0;
	int fd, n;

	(void)mkdir("/run/dpsock", 0755);
	n = snprintf(path, sizeof(path), "/run/dpsock/");
	for (const char *p = c->dev; *p != '\0' && n < (int)sizeof(path) - 6; p++)
		path[n++] = (char)((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
					   (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'
				       ? *p
				       : '_');
	snprintf(path + n, sizeof(path) - (size_t)n, ".lock");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open the device lock %s: %s", path, strerror(errno));
		return -errno;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK || waited >= c->dev_wait_ms) {
			ssize_t r = pread(fd, who, sizeof(who) - 1, 0);

			who[r > 0 ? r : 0] = '\0';
			who[strcspn(who, "\n")] = '\0';
			snprintf(err, errlen,
				 "device '%s' is in use by process %s (lock %s; waited %llu ms, "
				 "dev_wait_ms)",
				 c->dev, who[0] ? who : "?", path, (unsigned long long)waited);
			dps_sys_close(fd);
			return -EBUSY;
		}
		if (waited == 0)
			DPS_LOG(NOTICE, "device %s is busy: waiting up to %llu ms", c->dev,
				(unsigned long long)c->dev_wait_ms);
		usleep(10000);
		waited += 10;
	}
	n = snprintf(who, sizeof(who), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, who, (size_t)n, 0) < 0)
		DPS_LOG(WARNING, "cannot write %s: %s", path, strerror(errno));
	dev_lock_fd = fd;
	return 0;
}

static void dev_unlock(void)
{
	if (dev_lock_fd >= 0) {
		dps_sys_close(dev_lock_fd); /* releases the flock */
		dev_lock_fd = -1;
	}
}

int dps_init(char *err, size_t errlen)
{
	return dps_init_env(environ, err, errlen);
}

int dps_init_env(char **envp, char *err, size_t errlen)
{
	int wait_fds[DPS_DEV_MAX_WAIT_FDS];
	struct dps_dev *dev = NULL;
	char why[DPS_CONF_ERRLEN];
	int rc;

	if (engine != NULL)
		return -EALREADY;
	rc = dps_conf_load(&conf, envp, err, errlen);
	if (rc < 0)
		return rc;
	/* Every value check before anything is touched; `dpsock config` and `dpsock run` make the
	 * same call (conf_validate.h). */
	rc = dps_conf_validate(&conf, err, errlen);
	if (rc < 0)
		goto err_conf;
	rc = dev_lock(&conf, err, errlen);
	if (rc < 0)
		goto err_conf;
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
	if (conf.impair[0] != '\0') {
		struct dps_impair_conf rx, tx;
		struct dps_dev *wrapped;
		uint64_t seed = 1;

		rc = dps_impair_parse(conf.impair, "DPSOCK_IMPAIR", &rx, &tx, &seed, err, errlen);
		if (rc == 0)
			rc = dps_dev_impair_create(dev, &rx, &tx, seed, NULL, NULL, &wrapped);
		if (rc < 0) {
			if (rc != -EINVAL || err[0] == '\0')
				snprintf(err, errlen, "DPSOCK_IMPAIR: cannot wrap the device: %s",
					 strerror(-rc));
			dps_dev_close(dev);
			goto err_pool;
		}
		dev = wrapped;
		DPS_LOG(NOTICE, "fault injection on %s: %s", conf.dev, conf.impair);
	}
	rc = dps_engine_create(&conf, dev, pool, dps_now_ns(), &engine, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "%s", why);
		dps_dev_close(dev);
		goto err_pool;
	}
	dps_telemetry_attach(engine, &conf);
	DPS_LOG(INFO, "engine up on %s, MAC " RTE_ETHER_ADDR_PRT_FMT ", %d wait fd(s)", conf.dev,
		RTE_ETHER_ADDR_BYTES(&dev->mac),
		dps_dev_wait_fds(dev, wait_fds, DPS_DEV_MAX_WAIT_FDS));
	return 0;
err_pool:
	rte_mempool_free(pool);
	pool = NULL;
err_eal:
	dps_eal_stop();
err_conf:
	dev_unlock();
	dps_conf_free(&conf);
	return rc;
}

void dps_exit(void)
{
	if (engine == NULL)
		return;
	dps_telemetry_detach();
	dps_engine_destroy(engine);
	engine = NULL;
	rte_mempool_free(pool);
	pool = NULL;
	dps_eal_stop();
	dev_unlock();
	dps_conf_free(&conf);
}
