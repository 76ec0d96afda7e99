/*
 * conf_validate: the engine's start-up checks of configuration values (conf_validate.h). Each
 * check calls the parser or builder the engine itself uses, never a copy of it.
 */
#include "conf_validate.h"

#include "dev_impair.h"
#include "dps_conf.h"
#include "dps_eal.h"
#include "prio.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where option id's value came from, as messages name it: "DPSOCK_PRIORITY", "/a.conf:3". */
static const char *where_of(const struct dps_conf *c, enum dps_opt_id id, char *buf, size_t len)
{
	const char *name = dps_conf_options()[id].name;
	size_t n;

	switch (c->src[id]) {
	case DPS_SRC_FILE:
		return c->src_where[id] != NULL ? c->src_where[id] : "file";
	case DPS_SRC_ENV:
		n = (size_t)snprintf(buf, len, "DPSOCK_");
		for (; *name != '\0' && n + 1 < len; name++)
			buf[n++] = (char)toupper((unsigned char)*name);
		buf[n < len ? n : len - 1] = '\0';
		return buf;
	case DPS_SRC_DEFAULT:
		return "built-in default";
	case DPS_SRC_ARG:
		return "argument";
	}
	return "?";
}

/* The EAL argument vector as dps_eal_start() builds it (same sizes), on a machine that has what
 * hugepages=on asks for: only the configuration's own words are judged here. */
static int check_eal_args(const struct dps_conf *c, char *err, size_t errlen)
{
	struct dps_eal_host host = { .hugepages_free = 1, .cpu = 0, .pid = 0 };
	struct dps_conf tmp = *c;
	char **argv = malloc(DPS_EAL_MAX_ARGS * sizeof(*argv) + DPS_EAL_ARGS_BUF);
	int rc;

	if (argv == NULL)
		return -ENOMEM;
	if (tmp.dev[0] == '\0')
		tmp.dev = (char *)"dev"; /* a missing device is the engine's start to report */
	rc = dps_eal_build_args(&tmp, &host, argv, DPS_EAL_MAX_ARGS,
				(char *)(argv + DPS_EAL_MAX_ARGS), DPS_EAL_ARGS_BUF, err, errlen);
	free(argv);
	return rc < 0 ? rc : 0;
}

static int check_impair(const struct dps_conf *c, char *err, size_t errlen)
{
	char where[600], buf[64];
	const char *w = where_of(c, DPS_OPT_ID_impair, buf, sizeof(buf));

	if (c->impair[0] == '\0')
		return 0;
	/* From the environment the message starts DPSOCK_IMPAIR: (the variable names the option);
	 * from a file, "/a.conf:3: impair:". */
	if (c->src[DPS_OPT_ID_impair] == DPS_SRC_ENV)
		snprintf(where, sizeof(where), "%s", w);
	else
		snprintf(where, sizeof(where), "%s: impair", w);
	return dps_impair_parse(c->impair, where, NULL, NULL, NULL, err, errlen);
}

static int check_gateway(const struct dps_conf *c, char *err, size_t errlen)
{
	char buf[64], a[16];

	if (c->gateway == 0 || c->ip.n == 0)
		return 0;
	for (unsigned i = 0; i < c->ip.n; i++) {
		uint32_t mask = htonl(c->ip.net[i].len == 0 ? 0 : ~0u << (32 - c->ip.net[i].len));

		if (((c->gateway ^ c->ip.net[i].addr) & mask) == 0)
			return 0;
	}
	dps_errf(err, errlen,
		 "%s: gateway %s is not inside any subnet of ip (%s): expected an address of one "
		 "of ip's subnets, or nothing for none",
		 where_of(c, DPS_OPT_ID_gateway, buf, sizeof(buf)),
		 dps_ip_str(c->gateway, a, sizeof(a)),
		 c->text[DPS_OPT_ID_ip] != NULL ? c->text[DPS_OPT_ID_ip] : "");
	return -EINVAL;
}

static int check_priority(const struct dps_conf *c, char *err, size_t errlen)
{
	struct dps_prio_rules *r;
	char why[200], buf[64];
	int rc;

	if (c->priority[0] == '\0')
		return 0;
	r = malloc(sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	rc = dps_prio_compile(c->priority, r, why, sizeof(why));
	free(r);
	if (rc < 0)
		dps_errf(err, errlen, "priority (%s): %s",
			 where_of(c, DPS_OPT_ID_priority, buf, sizeof(buf)), why);
	return rc;
}

int dps_conf_validate(const struct dps_conf *c, char *err, size_t errlen)
{
	int rc;

	/* In the order the engine's start met them before they were gathered here. */
	rc = check_eal_args(c, err, errlen);
	if (rc == 0)
		rc = check_impair(c, err, errlen);
	if (rc == 0)
		rc = check_gateway(c, err, errlen);
	if (rc == 0)
		rc = check_priority(c, err, errlen);
	return rc;
}
