/* eal: the EAL argument vector built from the configuration, and the device pre-checks. */
#include "dps_conf.h"
#include "dps_eal.h"
#include "test/unit/check.h"

#include <errno.h>

static char err[DPS_CONF_ERRLEN];

/* Build argv for conf c on host h and join it with spaces. */
static const char *joined(struct dps_conf *c, const struct dps_eal_host *h, int *rc)
{
	static char out[4096];
	char buf[4096];
	char *argv[DPS_EAL_MAX_ARGS];
	int argc =
	    dps_eal_build_args(c, h, argv, DPS_EAL_MAX_ARGS, buf, sizeof(buf), err, sizeof(err));

	*rc = argc < 0 ? argc : 0;
	out[0] = '\0';
	for (int i = 0; i < argc; i++) {
		strcat(out, i ? " " : "");
		strcat(out, argv[i]);
	}
	if (argc >= 0)
		CHECK(argv[argc] == NULL);
	return out;
}

static void set(struct dps_conf *c, const char *k, const char *v)
{
	CHECK_EQ(dps_conf_set(c, k, v, DPS_SRC_ARG, "test", err, sizeof(err)), 0);
}

static void test_args(void)
{
	struct dps_conf c;
	struct dps_eal_host nohuge = { .hugepages_free = 0, .cpu = 1, .pid = 42 };
	struct dps_eal_host huge = { .hugepages_free = 512, .cpu = 0, .pid = 7 };
	int rc;

	CHECK_EQ(dps_conf_init(&c, err, sizeof(err)), 0);
	joined(&c, &nohuge, &rc);
	CHECK_EQ(rc, -EINVAL);
	CHECK_STR(err, "no device: set DPSOCK_DEV (e.g. net_af_packet0,iface=dps0)");

	set(&c, "dev", "net_af_packet0,iface=dps0");
	CHECK_STR(joined(&c, &nohuge, &rc),
		  "dpsock -l 1 --file-prefix=dpsock42 --no-huge --no-shconf -m 256 "
		  "--no-pci --vdev=net_af_packet0,iface=dps0 --log-level=5 "
		  "--log-level=lib.telemetry:error");
	CHECK_STR(joined(&c, &huge, &rc), "dpsock -l 0 --file-prefix=dpsock7 --in-memory --no-pci "
					  "--vdev=net_af_packet0,iface=dps0 --log-level=5 "
					  "--log-level=lib.telemetry:error");
	set(&c, "hugepages", "off");
	set(&c, "mem_mb", "512");
	set(&c, "log_level", "debug");
	set(&c, "eal_args", "  --huge-unlink   --log-level=pmd.net.af_packet:8 ");
	CHECK_STR(joined(&c, &huge, &rc),
		  "dpsock -l 0 --file-prefix=dpsock7 --no-huge --no-shconf -m 512 "
		  "--no-pci --vdev=net_af_packet0,iface=dps0 --log-level=8 --huge-unlink "
		  "--log-level=pmd.net.af_packet:8");
	set(&c, "hugepages", "on");
	joined(&c, &nohuge, &rc);
	CHECK_EQ(rc, -EINVAL);
	CHECK(strstr(err, "hugepages=on but no free 2 MiB hugepages") == err);

	set(&c, "hugepages", "auto");
	set(&c, "eal_args", "");
	set(&c, "dev", "0000:01:00.0");
	CHECK_STR(joined(&c, &huge, &rc),
		  "dpsock -l 0 --file-prefix=dpsock7 --in-memory -a 0000:01:00.0 "
		  "--log-level=8");
	set(&c, "eal_args", "--foo bar");
	joined(&c, &huge, &rc);
	CHECK_EQ(rc, -EINVAL);
	CHECK_STR(err, "eal_args: 'bar' is not an EAL option (expected words starting with '-')");
	dps_conf_free(&c);
}

static void test_pci_detection(void)
{
	CHECK(dps_eal_dev_is_pci("0000:01:00.0"));
	CHECK(dps_eal_dev_is_pci("01:00.1"));
	CHECK(!dps_eal_dev_is_pci("net_af_packet0,iface=dps0"));
	CHECK(!dps_eal_dev_is_pci("net_memif0,role=server,socket=/tmp/m.sock"));
	CHECK(!dps_eal_dev_is_pci("0000:01:00.0x"));
}

static void test_dev_check(void)
{
	CHECK_EQ(dps_eal_check_dev("net_af_packet0,iface=lo", err, sizeof(err)), 0);
	CHECK_EQ(dps_eal_check_dev("net_af_xdp0,start_queue=0,iface=no-such-if9", err, sizeof(err)),
		 -ENODEV);
	CHECK_STR(err,
		  "device 'net_af_xdp0,start_queue=0,iface=no-such-if9': no interface "
		  "'no-such-if9' in this network namespace (is the testbed up? test/testbed.sh "
		  "up, then run inside it: ip netns exec dps-stack ...)");
	CHECK_EQ(dps_eal_check_dev("net_memif0,role=server", err, sizeof(err)), 0);
}

int main(void)
{
	RUN(test_args);
	RUN(test_pci_detection);
	RUN(test_dev_check);
	DONE();
}
