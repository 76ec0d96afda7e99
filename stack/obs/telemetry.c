/*
 * telemetry: the engine's counters over DPDK telemetry (DESIGN.md §10), for `dpsock stat` and
 * dpdk-telemetry.py. Commands:
 *   /dpsock/info      pid, device, addresses, MAC, seconds since start
 *   /dpsock/counters  every engine counter (counters.def, then the TCP gauges) and the device's
 * The handlers run on DPDK's telemetry thread while the engine runs on its own: they only read
 * 64-bit counters, which x86-64 loads whole, so a reply is a consistent-enough snapshot.
 */
#include "dps_stack.h"
#include "dev.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <rte_telemetry.h>

static struct dps_engine *_Atomic tel_engine;
static char tel_dev[128], tel_ip[160];
static uint64_t tel_start_ns;
static int registered;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmd_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dps_engine *e = tel_engine;
	char mac[RTE_ETHER_ADDR_FMT_SIZE];

	(void)cmd;
	(void)params;
	if (e == NULL)
		return -ENODEV;
	rte_ether_format_addr(mac, sizeof(mac), &e->mac);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "pid", (uint64_t)getpid());
	rte_tel_data_add_dict_string(d, "dev", tel_dev);
	rte_tel_data_add_dict_string(d, "ip", tel_ip);
	rte_tel_data_add_dict_string(d, "mac", mac);
	rte_tel_data_add_dict_u64(d, "uptime_s", (mono_ns() - tel_start_ns) / 1000000000u);
	return 0;
}

static int cmd_counters(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dps_engine *e = tel_engine;
	struct dps_dev_stats st;
	unsigned n = dps_engine_counter_count();

	(void)cmd;
	(void)params;
	if (e == NULL)
		return -ENODEV;
	rte_tel_data_start_dict(d);
	for (unsigned i = 0; i < n; i++)
		rte_tel_data_add_dict_u64(d, dps_engine_counter_name(i),
					  dps_engine_counter_value(e, i));
	if (e->dev->ops->stats(e->dev, &st) == 0) {
		rte_tel_data_add_dict_u64(d, "dev_rx_frames", st.rx_frames);
		rte_tel_data_add_dict_u64(d, "dev_rx_bytes", st.rx_bytes);
		rte_tel_data_add_dict_u64(d, "dev_tx_frames", st.tx_frames);
		rte_tel_data_add_dict_u64(d, "dev_tx_bytes", st.tx_bytes);
		rte_tel_data_add_dict_u64(d, "dev_rx_missed", st.rx_missed);
		rte_tel_data_add_dict_u64(d, "dev_rx_errors", st.rx_errors);
		rte_tel_data_add_dict_u64(d, "dev_rx_nombuf", st.rx_nombuf);
		rte_tel_data_add_dict_u64(d, "dev_tx_errors", st.tx_errors);
	}
	return 0;
}

void dps_telemetry_attach(struct dps_engine *e, const struct dps_conf *c)
{
	unsigned len = 0;

	snprintf(tel_dev, sizeof(tel_dev), "%s", c->dev);
	tel_ip[0] = '\0';
	for (unsigned i = 0; i < c->ip.n && len < sizeof(tel_ip) - 24; i++) {
		char a[16];

		char b[16] = "";

		if (c->ip.net[i].count > 1)
			dps_ip_str(htonl(ntohl(c->ip.net[i].addr) + c->ip.net[i].count - 1), b,
				   sizeof(b));
		len += (unsigned)snprintf(tel_ip + len, sizeof(tel_ip) - len, "%s%s%s%s/%u",
					  i > 0 ? "," : "",
					  dps_ip_str(c->ip.net[i].addr, a, sizeof(a)),
					  b[0] ? "-" : "", b, c->ip.net[i].len);
	}
	tel_start_ns = mono_ns();
	tel_engine = e;
	if (!registered) {
		registered = 1;
		rte_telemetry_register_cmd("/dpsock/info", cmd_info,
					   "dpsock engine: pid, device, addresses, MAC, uptime");
		rte_telemetry_register_cmd("/dpsock/counters", cmd_counters,
					   "dpsock engine counters (no parameters)");
	}
}

void dps_telemetry_detach(void)
{
	tel_engine = NULL;
}
