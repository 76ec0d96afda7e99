/* conf: defaults, precedence (default < file < environment) and every error message. */
#include "dps_conf.h"
#include "test/unit/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <unistd.h>

static char err[DPS_CONF_ERRLEN];

static const char *write_file(const char *text)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/dps-conf-test-%d.conf", (int)getpid());
	f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_defaults_parse(void)
{
	struct dps_conf c;

	CHECK_EQ(dps_conf_init(&c, err, sizeof(err)), 0);
	CHECK_EQ(c.mtu, 1500);
	CHECK_EQ(c.hugepages, DPS_HUGEPAGES_AUTO);
	CHECK_EQ(c.log_level, DPS_LOG_NOTICE);
	CHECK_EQ(c.ip.n, 0);
	CHECK_EQ(c.gateway, 0);
	CHECK_STR(c.dev, "");
	for (int i = 0; i < DPS_OPT_COUNT; i++)
		CHECK_EQ(c.src[i], DPS_SRC_DEFAULT);
	dps_conf_free(&c);
}

static void test_precedence(void)
{
	struct dps_conf c;
	char cfg[128], buf[64];
	const char *path = write_file("# comment line\n"
				      "  mtu = 9000   # trailing comment\n"
				      "\n"
				      "dev=net_af_packet0,iface=dps0\n"
				      "hugepages = off\n");
	char *envp[] = { cfg, "DPSOCK_MTU=1400", "PATH=/bin", "DPSOCK_IP=198.18.0.2/24", NULL };

	snprintf(cfg, sizeof(cfg), "DPSOCK_CONFIG=%s", path);
	CHECK_EQ(dps_conf_load(&c, envp, err, sizeof(err)), 0);
	CHECK_EQ(c.mtu, 1400); /* env beats file */
	CHECK_EQ(c.src[DPS_OPT_ID_mtu], DPS_SRC_ENV);
	CHECK_STR(c.dev, "net_af_packet0,iface=dps0"); /* file beats default */
	CHECK_EQ(c.src[DPS_OPT_ID_dev], DPS_SRC_FILE);
	CHECK(strstr(c.src_where[DPS_OPT_ID_dev], ":4") != NULL);
	CHECK_EQ(c.hugepages, DPS_HUGEPAGES_OFF);
	CHECK_EQ(c.arp_queue_len, 101); /* default: Linux's unres_qlen */
	CHECK_EQ(c.ip.n, 1);
	CHECK_EQ(c.ip.net[0].addr, inet_addr("198.18.0.2"));
	CHECK_EQ(c.ip.net[0].len, 24);
	CHECK_STR(dps_conf_value_str(&c, DPS_OPT_ID_ip, buf, sizeof(buf)), "198.18.0.2/24");
	CHECK_STR(dps_conf_src_name(c.src[DPS_OPT_ID_ip]), "env");
	dps_conf_free(&c);
	unlink(path);
}

static void test_ip_lists(void)
{
	struct dps_conf c;

	CHECK_EQ(dps_conf_init(&c, err, sizeof(err)), 0);
	CHECK_EQ(dps_conf_set(&c, "ip", "10.1.0.1/16, 198.18.0.2/32", DPS_SRC_ARG, "test", err,
			      sizeof(err)),
		 0);
	CHECK_EQ(c.ip.n, 2);
	CHECK_EQ(c.ip.net[1].len, 32);
	CHECK_EQ(dps_conf_set(&c, "gateway", "198.18.0.1", DPS_SRC_ARG, "t", err, sizeof(err)), 0);
	CHECK_EQ(c.gateway, inet_addr("198.18.0.1"));
	CHECK_EQ(dps_conf_set(&c, "gateway", "", DPS_SRC_ARG, "t", err, sizeof(err)), 0);
	CHECK_EQ(c.gateway, 0);
	static const char *bad[] = { "198.18.0.2",  "198.18.0.2/0",   "198.18.0.2/33",
				     "1.2.3/24",    "198.18.0.2/24,", ",198.18.0.2/24",
				     "224.0.0.1/4", "0.0.0.0/8",      "198.18.0.2/24x",
				     "01.2.3.4/8",  "1.2.3.4/ 8" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(dps_conf_set(&c, "ip", bad[i], DPS_SRC_ARG, "t", err, sizeof(err)),
			 -EINVAL);
		CHECK_EQ(c.ip.n, 2); /* the old value stays */
	}
	dps_conf_free(&c);
}

/* `ip` takes ranges (a.b.c.d-a.b.c.e/len), stored as one entry with a count. */
static void test_ip_ranges(void)
{
	struct dps_conf c;
	struct dps_net n;

	CHECK_EQ(dps_conf_init(&c, err, sizeof(err)), 0);
	CHECK_EQ(dps_conf_set(&c, "ip", "198.19.0.10-198.19.0.73/16, 10.0.0.1/8", DPS_SRC_ARG,
			      "test", err, sizeof(err)),
		 0);
	CHECK_EQ(c.ip.n, 2);
	CHECK_EQ(c.ip.net[0].addr, inet_addr("198.19.0.10"));
	CHECK_EQ(c.ip.net[0].count, 64);
	CHECK_EQ(c.ip.net[0].len, 16);
	CHECK_EQ(c.ip.net[1].count, 1);
	n = c.ip.net[0];
	CHECK(dps_net_has(&n, inet_addr("198.19.0.10")));
	CHECK(dps_net_has(&n, inet_addr("198.19.0.73")));
	CHECK(!dps_net_has(&n, inet_addr("198.19.0.9")));
	CHECK(!dps_net_has(&n, inet_addr("198.19.0.74")));
	CHECK(!dps_net_has(&n, inet_addr("10.0.0.1")));
	CHECK(dps_net_has(&c.ip.net[1], inet_addr("10.0.0.1")));
	CHECK(!dps_net_has(&c.ip.net[1], inet_addr("10.0.0.2")));
	/* Across a byte boundary, a single-address range, the most a range holds. */
	CHECK_EQ(dps_conf_set(&c, "ip",
			      "10.1.0.250-10.1.1.5/16,10.2.0.1-10.2.0.1/24,"
			      "10.3.0.0-10.3.255.255/16",
			      DPS_SRC_ARG, "test", err, sizeof(err)),
		 0);
	CHECK_EQ(c.ip.net[0].count, 12);
	CHECK_EQ(c.ip.net[1].count, 1);
	CHECK_EQ(c.ip.net[2].count, 65536);
	static const char *bad[] = {
		"10.0.0.9-10.0.0.2/24", /* backwards */
		"10.0.0.1-10.0.1.1/24", /* leaves the subnet */
		"10.0.0.1-/24",
		"10.0.0.1-10.0.0/24",
		"-10.0.0.1/24",
		"10.0.0.1-224.0.0.1/1",
		"10.0.0.0-10.1.0.0/8", /* more than 65536 */
		"10.0.0.1-10.0.0.2-10.0.0.3/24",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(dps_conf_set(&c, "ip", bad[i], DPS_SRC_ARG, "t", err, sizeof(err)),
			 -EINVAL);
		CHECK_EQ(c.ip.n, 3); /* the old value stays */
	}
	/* Other NETS options are prefixes: no ranges there. */
	CHECK_EQ(dps_conf_set(&c, "kernel_nets", "10.0.0.1-10.0.0.2/24", DPS_SRC_ARG, "t", err,
			      sizeof(err)),
		 -EINVAL);
	dps_conf_free(&c);
}

struct msg_case {
	const char *key, *value, *message;
	int rc;
};

static void test_error_messages(void)
{
	static const struct msg_case cases[] = {
		{ "mtu", "abc",
		  "W: 'abc' is not valid for mtu: expected an integer from 68 to 9000", -EINVAL },
		{ "mtu", "9001",
		  "W: '9001' is not valid for mtu: expected an integer from 68 to 9000", -EINVAL },
		{ "mtu", "-1", "W: '-1' is not valid for mtu: expected an integer from 68 to 9000",
		  -EINVAL },
		{ "mtu", "", "W: '' is not valid for mtu: expected an integer from 68 to 9000",
		  -EINVAL },
		{ "hugepages", "yes",
		  "W: 'yes' is not valid for hugepages: expected one of auto|on|off", -EINVAL },
		{ "log_level", "loud",
		  "W: 'loud' is not valid for log_level: expected one of "
		  "error|warning|notice|info|debug",
		  -EINVAL },
		{ "gateway", "1.2.3.256",
		  "W: '1.2.3.256' is not valid for gateway: expected an IPv4 address a.b.c.d, or "
		  "nothing for none",
		  -EINVAL },
		{ "ip", "1.2.3.4",
		  "W: '1.2.3.4' is not valid for ip: expected a.b.c.d/len or a range "
		  "a.b.c.d-a.b.c.e/len (at most 65536 addresses, inside one subnet), comma "
		  "separated, len 1-32, at most 16, unicast",
		  -EINVAL },
		{ "ip", "10.0.0.9-10.0.0.2/24",
		  "W: '10.0.0.9-10.0.0.2/24' is not valid for ip: expected a.b.c.d/len or a range "
		  "a.b.c.d-a.b.c.e/len (at most 65536 addresses, inside one subnet), comma "
		  "separated, len 1-32, at most 16, unicast",
		  -EINVAL },
		{ "kernel_nets", "10.0.0.1-10.0.0.5/24",
		  "W: '10.0.0.1-10.0.0.5/24' is not valid for kernel_nets: expected "
		  "a.b.c.d/len[,a.b.c.d/len...] with len 1-32, at most 16, unicast",
		  -EINVAL },
		{ "mut", "1500", "W: unknown option 'mut' (did you mean 'mtu'?)", -ENOENT },
		{ "hugepage", "on", "W: unknown option 'hugepage' (did you mean 'hugepages'?)",
		  -ENOENT },
		{ "frobnicate", "1",
		  "W: unknown option 'frobnicate' (the option table is in README.md)", -ENOENT },
	};
	struct dps_conf c;

	CHECK_EQ(dps_conf_init(&c, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		CHECK_EQ(dps_conf_set(&c, cases[i].key, cases[i].value, DPS_SRC_ARG, "W", err,
				      sizeof(err)),
			 cases[i].rc);
		CHECK_STR(err, cases[i].message);
	}
	dps_conf_free(&c);
}

static void test_env_errors(void)
{
	struct dps_conf c;
	char *env1[] = { "DPSOCK_MTU=big", NULL };
	char *env2[] = { "DPSOCK_MUT=1500", NULL };
	char *env3[] = { "DPSOCK_CONFIG=/nonexistent/dps.conf", NULL };

	CHECK_EQ(dps_conf_load(&c, env1, err, sizeof(err)), -EINVAL);
	CHECK_STR(err,
		  "DPSOCK_MTU: 'big' is not valid for mtu: expected an integer from 68 to 9000");
	CHECK_EQ(dps_conf_load(&c, env2, err, sizeof(err)), -ENOENT);
	CHECK_STR(err, "environment: unknown option 'DPSOCK_MUT' (did you mean 'DPSOCK_MTU'?)");
	CHECK_EQ(dps_conf_load(&c, env3, err, sizeof(err)), -ENOENT);
	CHECK_STR(err,
		  "DPSOCK_CONFIG: cannot open '/nonexistent/dps.conf': No such file or directory");
}

static void test_file_errors(void)
{
	struct dps_conf c;
	char cfg[128], expect[256];
	char *envp[] = { cfg, NULL };
	const char *path;

	path = write_file("mtu = 1500\njust words\n");
	snprintf(cfg, sizeof(cfg), "DPSOCK_CONFIG=%s", path);
	CHECK_EQ(dps_conf_load(&c, envp, err, sizeof(err)), -EINVAL);
	snprintf(expect, sizeof(expect), "%s:2: expected 'key = value', got 'just words'", path);
	CHECK_STR(err, expect);

	path = write_file("= 3\n");
	CHECK_EQ(dps_conf_load(&c, envp, err, sizeof(err)), -EINVAL);
	snprintf(expect, sizeof(expect), "%s:1: missing key before '='", path);
	CHECK_STR(err, expect);

	path = write_file("\n\nmtu = 99999\n");
	CHECK_EQ(dps_conf_load(&c, envp, err, sizeof(err)), -EINVAL);
	snprintf(expect, sizeof(expect),
		 "%s:3: '99999' is not valid for mtu: expected an integer from 68 to 9000", path);
	CHECK_STR(err, expect);

	path = write_file("capture_file = /tmp/x\n");
	CHECK_EQ(dps_conf_load(&c, envp, err, sizeof(err)), -ENOENT);
	snprintf(expect, sizeof(expect),
		 "%s:1: unknown option 'capture_file' (did you mean 'capture'?)", path);
	CHECK_STR(err, expect);
	unlink(path);
}

static void test_choices(void)
{
	CHECK_STR(dps_conf_choice(DPS_OPT_ID_hugepages, 2), "off");
	CHECK_STR(dps_conf_choice(DPS_OPT_ID_log_level, 0), "error");
	CHECK(dps_conf_choice(DPS_OPT_ID_log_level, 5) == NULL);
	CHECK(dps_conf_choice(DPS_OPT_ID_mtu, 0) == NULL);
}

int main(void)
{
	RUN(test_defaults_parse);
	RUN(test_precedence);
	RUN(test_ip_lists);
	RUN(test_ip_ranges);
	RUN(test_error_messages);
	RUN(test_env_errors);
	RUN(test_file_errors);
	RUN(test_choices);
	DONE();
}
