/*
 * impair_parse: the fault-injection config (struct dps_impair_conf, one per direction) and its
 * string, DPSOCK_IMPAIR (docs/fault-injection.md); the impairing device that uses it is
 * dev_impair.c. Apart from the device so that checking a configuration (conf_validate.c, the
 * `dpsock` launcher) needs no device.
 *
 * Call order (dps_impair_parse): both directions start from the defaults (dps_impair_conf_init)
 * -> the string is cut at commas into items -> each item (parse_item): split at '=', an rx: or
 * tx: prefix picks one direction, the key is looked up in keys[] -> its value is read exactly in
 * the key's unit (key_value, parse_number) and checked against the key's range -> stored in the
 * direction(s) (key_store) or as the seed. The results are copied out only when every item is
 * valid; the first bad one fails the whole string with one line in err.
 */
#include "impair_parse.h"

#include "dps_conf.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NSEC_S 1000000000ull

/* Configs are compared with memcmp (tests, a future "did the config change?"): keep it dense. */
_Static_assert(sizeof(struct dps_impair_conf) == 6 * 4 + 6 * 8, "dps_impair_conf has padding");

void dps_impair_conf_init(struct dps_impair_conf *c)
{
	*c = (struct dps_impair_conf){
		.reorder_gap = 3,
		.reorder_hold_ns = NSEC_S / 1000,
		.rate_queue = 128 * 1024,
		.limit = 4096,
	};
}

int dps_impair_conf_is_active(const struct dps_impair_conf *c)
{
	return c->loss_ppm != 0 || c->dup_ppm != 0 || c->reorder_ppm != 0 || c->corrupt_ppm != 0 ||
	       c->delay_ns != 0 || c->jitter_ns != 0 || c->rate_bytes_s != 0;
}

/*
 * The config string (dps_impair_parse). Each value is read exactly: a decimal number times its
 * unit must be a whole number of the field's base unit (ppm, ns, bytes), or the value is refused.
 */
enum key_kind { KIND_PROB, KIND_TIME, KIND_RATE, KIND_SIZE, KIND_COUNT };

struct unit {
	const char *name; /* matched without regard to case */
	uint64_t per; /* base units (ppm, ns, bit/s, bytes) in one of it */
};

static const struct unit prob_units[] = { { "%", 10000 }, { "ppm", 1 }, { NULL, 0 } };
static const struct unit time_units[] = {
	{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", NSEC_S }, { NULL, 0 }
};
static const struct unit rate_units[] = {
	{ "bit", 1 }, { "kbit", 1000 }, { "mbit", 1000000 }, { "gbit", 1000000000 }, { NULL, 0 }
};
static const struct unit size_units[] = {
	{ "b", 1 }, { "kb", 1 << 10 }, { "mb", 1 << 20 }, { "gb", 1 << 30 }, { NULL, 0 }
};
static const struct unit count_units[] = { { "", 1 }, { NULL, 0 } };

static const struct unit *const kind_units[] = {
	[KIND_PROB] = prob_units, [KIND_TIME] = time_units,   [KIND_RATE] = rate_units,
	[KIND_SIZE] = size_units, [KIND_COUNT] = count_units,
};

static const char *const kind_expect[] = {
	[KIND_PROB] = "a probability from 0 to 100%: 2%, 0.05%, 1500ppm or 0",
	[KIND_TIME] = "a time from 0 to 60s: 1ms, 500us, 1.5s, 100ns or 0",
	[KIND_RATE] = "a rate in bits/s (k = 1000) that is a whole number of bytes/s, up to "
		      "1000gbit: 100mbit, 1.5gbit, 64kbit, or 0 for no limit",
	[KIND_SIZE] = "a size from 0 to 1gb (k = 1024): 1500b, 64kb or 1mb",
	[KIND_COUNT] = NULL, /* "an integer from min to max" */
};

#define SEED_OFF SIZE_MAX
#define FIELD(f) offsetof(struct dps_impair_conf, f), sizeof(((struct dps_impair_conf *)0)->f)

struct key {
	const char *name;
	enum key_kind kind;
	size_t off, size; /* the field in struct dps_impair_conf */
	uint64_t min, max; /* in the field's unit */
};

static const struct key keys[] = {
	{ "loss", KIND_PROB, FIELD(loss_ppm), 0, DPS_IMPAIR_PPM },
	{ "dup", KIND_PROB, FIELD(dup_ppm), 0, DPS_IMPAIR_PPM },
	{ "reorder", KIND_PROB, FIELD(reorder_ppm), 0, DPS_IMPAIR_PPM },
	{ "reorder_gap", KIND_COUNT, FIELD(reorder_gap), 1, DPS_IMPAIR_GAP_MAX },
	{ "reorder_hold", KIND_TIME, FIELD(reorder_hold_ns), 0, DPS_IMPAIR_TIME_MAX },
	{ "corrupt", KIND_PROB, FIELD(corrupt_ppm), 0, DPS_IMPAIR_PPM },
	{ "delay", KIND_TIME, FIELD(delay_ns), 0, DPS_IMPAIR_TIME_MAX },
	{ "jitter", KIND_TIME, FIELD(jitter_ns), 0, DPS_IMPAIR_TIME_MAX },
	{ "rate", KIND_RATE, FIELD(rate_bytes_s), 0, 1000 * NSEC_S / 8 },
	{ "rate_burst", KIND_SIZE, FIELD(rate_burst), 0, DPS_IMPAIR_SIZE_MAX },
	{ "rate_queue", KIND_SIZE, FIELD(rate_queue), 0, DPS_IMPAIR_SIZE_MAX },
	{ "limit", KIND_COUNT, FIELD(limit), 1, DPS_IMPAIR_LIMIT_MAX },
	{ "seed", KIND_COUNT, SEED_OFF, 8, 0, UINT64_MAX },
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* A decimal number with one of units (or a bare 0), in base units. -EINVAL when it is not exact. */
static int parse_number(const char *v, const struct unit *units, uint64_t *out)
{
	unsigned __int128 whole = 0, frac = 0, scale = 1, val;
	const struct unit *u;
	const char *p = v;

	if (strcmp(v, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		whole = whole * 10 + (unsigned)(*p - '0');
		if (whole > UINT64_MAX)
			return -EINVAL;
	}
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++) {
			if (scale >= 1000000000000000000ull)
				return -EINVAL;
			frac = frac * 10 + (unsigned)(*p - '0');
			scale *= 10;
		}
	}
	for (u = units; u->name != NULL && strcasecmp(p, u->name) != 0; u++)
		;
	if (u->name == NULL || (frac * u->per) % scale != 0)
		return -EINVAL;
	val = whole * u->per + frac * u->per / scale;
	if (val > UINT64_MAX)
		return -EINVAL;
	*out = (uint64_t)val;
	return 0;
}

/* Parse v for k into *out, in the field's unit. */
static int key_value(const struct key *k, const char *v, uint64_t *out)
{
	uint64_t x;

	if (parse_number(v, kind_units[k->kind], &x) < 0)
		return -EINVAL;
	if (k->kind == KIND_RATE) {
		if (x % 8 != 0)
			return -EINVAL;
		x /= 8;
	}
	if (x < k->min || x > k->max)
		return -EINVAL;
	*out = x;
	return 0;
}

static void key_store(const struct key *k, struct dps_impair_conf *c, uint64_t x)
{
	char *field = (char *)c + k->off;

	if (k->size == sizeof(uint32_t)) {
		uint32_t v = (uint32_t)x;
		memcpy(field, &v, sizeof(v));
	} else {
		memcpy(field, &x, sizeof(x));
	}
}

static const struct key *key_find(const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Apply one "[rx:|tx:]key=value" item to c[0] (rx), c[1] (tx) or *seed. */
static int parse_item(char *item, const char *where, struct dps_impair_conf *c, uint64_t *seed,
		      char *err, size_t errlen)
{
	char *eq = strchr(item, '='), *key, *val, known[256] = "";
	const char *name;
	const struct key *k;
	unsigned dirs = 3;
	uint64_t x;

	if (eq == NULL) {
		dps_errf(err, errlen, "%s: expected key=value, got '%s'", where, item);
		return -EINVAL;
	}
	*eq = '\0';
	key = trim(item);
	val = trim(eq + 1);
	name = key;
	if (strncmp(key, "rx:", 3) == 0 || strncmp(key, "tx:", 3) == 0) {
		dirs = key[0] == 'r' ? 1 : 2;
		name = key + 3;
	}
	k = key_find(name);
	if (k == NULL) {
		for (size_t i = 0; i < N_KEYS; i++)
			snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
				 i == 0 ? "" : ", ", keys[i].name);
		dps_errf(err, errlen,
			 "%s: unknown key '%s' (known: %s; rx: or tx: before a key limits it "
			 "to one direction)",
			 where, key, known);
		return -EINVAL;
	}
	if (k->off == SEED_OFF && dirs != 3) {
		dps_errf(err, errlen,
			 "%s: seed applies to both directions: write 'seed=%s', not '%s=%s'", where,
			 val, key, val);
		return -EINVAL;
	}
	if (key_value(k, val, &x) < 0) {
		char acc[64];
		const char *expect = kind_expect[k->kind];

		if (expect == NULL) {
			snprintf(acc, sizeof(acc), "an integer from %llu to %llu",
				 (unsigned long long)k->min, (unsigned long long)k->max);
			expect = acc;
		}
		dps_errf(err, errlen, "%s: '%s' is not valid for %s: expected %s", where, val, key,
			 expect);
		return -EINVAL;
	}
	if (k->off == SEED_OFF)
		*seed = x;
	for (unsigned d = 0; d < 2 && k->off != SEED_OFF; d++)
		if (dirs & (1u << d))
			key_store(k, &c[d], x);
	return 0;
}

int dps_impair_parse(const char *s, const char *where, struct dps_impair_conf *rx,
		     struct dps_impair_conf *tx, uint64_t *seed, char *err, size_t errlen)
{
	struct dps_impair_conf c[2];
	uint64_t sd = seed != NULL ? *seed : 0;
	char item[128];

	if (where == NULL)
		where = "impair";
	if (s == NULL)
		s = "";
	dps_impair_conf_init(&c[0]);
	c[1] = c[0];
	for (const char *p = s; *p != '\0';) {
		size_t n = strcspn(p, ",");
		int rc;

		if (n >= sizeof(item)) {
			dps_errf(err, errlen,
				 "%s: item too long (at most %zu characters): '%.*s...'", where,
				 sizeof(item) - 1, 32, p);
			return -EINVAL;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (*trim(item) == '\0' || (p[n] == ',' && p[n + 1] == '\0')) {
			dps_errf(err, errlen,
				 "%s: empty item in '%s' (items are key=value, separated by "
				 "single commas)",
				 where, s);
			return -EINVAL;
		}
		rc = parse_item(item, where, c, &sd, err, errlen);
		if (rc < 0)
			return rc;
		p += n + (p[n] == ',');
	}
	if (rx != NULL)
		*rx = c[0];
	if (tx != NULL)
		*tx = c[1];
	if (seed != NULL)
		*seed = sd;
	return 0;
}
