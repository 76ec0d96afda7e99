/*
 * capture: a pcapng copy of every frame the engine receives and sends (DESIGN.md §10), through
 * DPDK's rte_pcapng. Copies are buffered and written at each engine flush. Capturing costs a copy
 * and a write(2) per burst: it is for debugging, not for production load.
 */
#include "dps_sys.h"
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_pcapng.h>

#define CAP_BATCH 32
#define CAP_SNAPLEN 9216

struct dps_capture {
	rte_pcapng_t *pc;
	struct rte_mempool *mp;
	uint16_t port;
	unsigned n;
	struct rte_mbuf *pend[CAP_BATCH];
};

int dps_capture_open(const char *path, int port_id, struct dps_capture **out, char *err,
		     size_t errlen)
{
	struct dps_capture *c;
	char name[RTE_MEMPOOL_NAMESIZE];
	int fd;

	if (port_id < 0) {
		snprintf(err, errlen, "capture: this device is not a DPDK port; capture needs one");
		return -ENOTSUP;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		int rc = -errno;
		snprintf(err, errlen, "capture: cannot create '%s': %s", path, strerror(-rc));
		free(c);
		return rc;
	}
	c->pc = rte_pcapng_fdopen(fd, NULL, NULL, "dpsock", NULL);
	snprintf(name, sizeof(name), "dps_cap_%d", port_id);
	c->mp = rte_pktmbuf_pool_create(name, 2 * CAP_BATCH - 1, 0, 0,
					(uint16_t)rte_pcapng_mbuf_size(CAP_SNAPLEN), SOCKET_ID_ANY);
	if (c->pc == NULL || c->mp == NULL) {
		snprintf(err, errlen, "capture: cannot set up pcapng on '%s'", path);
		if (c->pc != NULL)
			rte_pcapng_close(c->pc);
		else
			dps_sys_close(fd);
		rte_mempool_free(c->mp);
		free(c);
		return -ENOMEM;
	}
	c->port = (uint16_t)port_id;
	*out = c;
	return 0;
}

void dps_capture_flush(struct dps_capture *c)
{
	if (c->n == 0)
		return;
	rte_pcapng_write_packets(c->pc, c->pend, (uint16_t)c->n);
	/* DPDK 22.11's header says the copies are freed; the code does not (checked with
	 * rte_mempool_avail_count): free them here, as its dpdk-dumpcap does. */
	rte_pktmbuf_free_bulk(c->pend, c->n);
	c->n = 0;
}

unsigned dps_capture_frames(struct dps_capture *c, struct rte_mbuf **m, unsigned n, int rx)
{
	unsigned done = 0;
	uint64_t ts = rte_get_tsc_cycles();

	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *copy;

		if (c->n == CAP_BATCH)
			dps_capture_flush(c);
		copy = rte_pcapng_copy(c->port, 0, m[i], c->mp, CAP_SNAPLEN, ts,
				       rx ? RTE_PCAPNG_DIRECTION_IN : RTE_PCAPNG_DIRECTION_OUT);
		if (copy == NULL)
			continue;
		c->pend[c->n++] = copy;
		done++;
	}
	return done;
}

void dps_capture_close(struct dps_capture *c)
{
	if (c == NULL)
		return;
	dps_capture_flush(c);
	rte_pcapng_close(c->pc);
	rte_mempool_free(c->mp);
	free(c);
}
