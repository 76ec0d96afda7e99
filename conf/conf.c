/*
 * conf: parse and hold the option table of options.def.
 *
 * Call order: dps_conf_load() = dps_conf_init() (defaults) -> dps_conf_load_file() (DPSOCK_CONFIG) ->
 * dps_conf_set() for each DPSOCK_<NAME> of the environment. Each setter parses into a temporary first,
 * so a bad value leaves the previous one in place.
 */
#include "dps_conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct dps_opt_desc options[DPS_OPT_COUNT] = {
#define DPS_OPT(n, t, d, lo, hi, ch, doc) { #n, DPS_OPT_##t, d, lo, hi, ch, doc },
#include "options.def"
#undef DPS_OPT
};

const struct dps_opt_desc *dps_conf_options(void)
{
	return options;
}

const char *dps_conf_src_name(enum dps_conf_src src)
{
	switch (src) {
	case DPS_SRC_DEFAULT:
		return "default";
	case DPS_SRC_FILE:
		return "file";
	case DPS_SRC_ENV:
		return "env";
	case DPS_SRC_ARG:
		return "argument";
	}
	return "?";
}

void dps_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *dps_ip_str(uint32_t addr, char *buf, size_t len)
{
	if (inet_ntop(AF_INET, &addr, buf, (socklen_t)len) == NULL && len > 0)
		buf[0] = '\0';
	return buf;
}

const char *dps_conf_choice(enum dps_opt_id id, unsigned i)
{
	const char *p = options[id].choices;
	static __thread char word[32];

	if (p == NULL)
		return NULL;
	for (unsigned k = 0; *p != '\0'; k++) {
		size_t n = strcspn(p, "|");
		if (k == i) {
			if (n >= sizeof(word))
				return NULL;
			memcpy(word, p, n);
			word[n] = '\0';
			return word;
		}
		p += n;
		if (*p == '|')
			p++;
	}
	return NULL;
}

/* Only `ip` takes address ranges: the other NETS options are prefixes to match. */
static int nets_take_ranges(const struct dps_opt_desc *o)
{
	return strcmp(o->name, "ip") == 0;
}

/* Describe what an option accepts, for error messages. */
static void accepted(const struct dps_opt_desc *o, char *buf, size_t len)
{
	switch (o->type) {
	case DPS_OPT_STR:
		snprintf(buf, len, "text");
		break;
	case DPS_OPT_UINT:
		snprintf(buf, len, "an integer from %llu to %llu", (unsigned long long)o->min,
			 (unsigned long long)o->max);
		break;
	case DPS_OPT_ENUM:
		snprintf(buf, len, "one of %s", o->choices);
		break;
	case DPS_OPT_IP:
		snprintf(buf, len, "an IPv4 address a.b.c.d, or nothing for none");
		break;
	case DPS_OPT_NETS:
		if (nets_take_ranges(o))
			snprintf(
			    buf, len,
			    "a.b.c.d/len or a range a.b.c.d-a.b.c.e/len (at most %d addresses, "
			    "inside one subnet), comma separated, len 1-32, at most %d, unicast",
			    DPS_CONF_MAX_RANGE, DPS_CONF_MAX_NETS);
		else
			snprintf(buf, len,
				 "a.b.c.d/len[,a.b.c.d/len...] with len 1-32, at most %d, unicast",
				 DPS_CONF_MAX_NETS);
		break;
	}
}

/* Strict IPv4 dotted quad (inet_pton accepts no shorthand forms). */
static int parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = a.s_addr;
	return 0;
}

static int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_enum(const struct dps_opt_desc *o, const char *s, unsigned *out)
{
	const char *p = o->choices;
	size_t len = strlen(s);

	for (unsigned k = 0; *p != '\0'; k++) {
		size_t n = strcspn(p, "|");
		if (n == len && strncmp(p, s, n) == 0) {
			*out = k;
			return 0;
		}
		p += n;
		if (*p == '|')
			p++;
	}
	return -EINVAL;
}

/* A unicast host address: not 0.0.0.0/8, not multicast/reserved (224/3), not limited broadcast. */
static int ip_is_unicast(uint32_t be)
{
	uint32_t h = ntohl(be);

	return (h >> 24) != 0 && (h >> 28) < 0xe;
}

static int parse_nets(const char *s, int ranges, struct dps_nets *out)
{
	char buf[64];
	struct dps_nets nets = { 0 };

	while (*s != '\0') {
		size_t n = strcspn(s, ",");
		char *slash, *dash, *end;
		long len;

		while (n > 0 && isspace((unsigned char)*s)) {
			s++;
			n--;
		}
		if (n == 0 || n >= sizeof(buf) || nets.n == DPS_CONF_MAX_NETS)
			return -EINVAL;
		memcpy(buf, s, n);
		buf[n] = '\0';
		for (char *e = buf + n - 1; e > buf && isspace((unsigned char)*e); e--)
			*e = '\0';
		slash = strchr(buf, '/');
		if (slash == NULL || !isdigit((unsigned char)slash[1]))
			return -EINVAL;
		*slash = '\0';
		len = strtol(slash + 1, &end, 10);
		if (*end != '\0' || len < 1 || len > 32)
			return -EINVAL;
		dash = ranges ? strchr(buf, '-') : NULL;
		if (dash != NULL)
			*dash = '\0';
		if (parse_ip(buf, &nets.net[nets.n].addr) < 0 ||
		    !ip_is_unicast(nets.net[nets.n].addr))
			return -EINVAL;
		nets.net[nets.n].count = 1;
		if (dash != NULL) { /* a range: the last address, in the first one's subnet */
			uint32_t last, first = ntohl(nets.net[nets.n].addr);
			uint32_t mask = ~0u << (32 - len);

			if (parse_ip(dash + 1, &last) < 0 || !ip_is_unicast(last))
				return -EINVAL;
			last = ntohl(last);
			if (last < first || ((last ^ first) & mask) != 0 ||
			    last - first >= DPS_CONF_MAX_RANGE)
				return -EINVAL;
			nets.net[nets.n].count = last - first + 1;
		}
		nets.net[nets.n].len = (uint8_t)len;
		nets.n++;
		s += n;
		if (*s == ',') {
			s++;
			if (*s == '\0')
				return -EINVAL;
		}
	}
	*out = nets;
	return 0;
}

static int find_option(const char *key)
{
	for (int i = 0; i < DPS_OPT_COUNT; i++)
		if (strcmp(options[i].name, key) == 0)
			return i;
	return -1;
}

/* Levenshtein distance, for "did you mean" (keys are short). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[64];

	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The closest known key to key, or NULL when none is close. */
static const char *closest_option(const char *key)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX, limit = strlen(key) / 3 + 1;

	if (limit < 2)
		limit = 2;
	for (int i = 0; i < DPS_OPT_COUNT; i++) {
		size_t d = edit_distance(key, options[i].name);
		if (d < best_d) {
			best_d = d;
			best = options[i].name;
		}
	}
	return best_d <= limit ? best : NULL;
}

/*
 * The "unknown option" line. shown is the name as the user wrote it; upper asks for the suggestion in
 * environment-variable form (DPSOCK_MTU) rather than as a file key (mtu).
 */
static void unknown_key(const char *where, const char *shown, const char *key, int upper, char *err,
			size_t errlen)
{
	const char *near = closest_option(key);
	char name[64];
	size_t i;

	if (near == NULL) {
		dps_errf(err, errlen, "%s: unknown option '%s' (the option table is in README.md)",
			 where, shown);
		return;
	}
	for (i = 0; near[i] != '\0' && i + 1 < sizeof(name); i++)
		name[i] = upper ? (char)toupper((unsigned char)near[i]) : near[i];
	name[i] = '\0';
	dps_errf(err, errlen, "%s: unknown option '%s' (did you mean '%s%s'?)", where, shown,
		 upper ? "DPSOCK_" : "", name);
}

/* Typed setters, one per option type; each parses value into its field or returns -EINVAL. */
static int set_STR(const struct dps_opt_desc *o, char **field, const char *value)
{
	char *copy = strdup(value);

	(void)o;
	if (copy == NULL)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

static int set_UINT(const struct dps_opt_desc *o, uint64_t *field, const char *value)
{
	return parse_uint(value, o->min, o->max, field);
}

static int set_ENUM(const struct dps_opt_desc *o, unsigned *field, const char *value)
{
	return parse_enum(o, value, field);
}

static int set_IP(const struct dps_opt_desc *o, uint32_t *field, const char *value)
{
	uint32_t ip;

	(void)o;
	if (value[0] == '\0') {
		*field = 0;
		return 0;
	}
	if (parse_ip(value, &ip) < 0 || !ip_is_unicast(ip))
		return -EINVAL;
	*field = ip;
	return 0;
}

static int set_NETS(const struct dps_opt_desc *o, struct dps_nets *field, const char *value)
{
	return parse_nets(value, nets_take_ranges(o), field);
}

static int set_option(struct dps_conf *c, int id, const char *value, enum dps_conf_src src,
		      const char *where, char *err, size_t errlen)
{
	const struct dps_opt_desc *o = &options[id];
	char *text = strdup(value), *whr = NULL;
	int rc;

	if (text == NULL || (src == DPS_SRC_FILE && (whr = strdup(where)) == NULL)) {
		free(text);
		return -ENOMEM;
	}
	switch ((enum dps_opt_id)id) {
#define DPS_OPT(n, t, d, lo, hi, ch, doc)      \
	case DPS_OPT_ID_##n:                   \
		rc = set_##t(o, &c->n, value); \
		break;
#include "options.def"
#undef DPS_OPT
	case DPS_OPT_COUNT:
	default:
		rc = -EINVAL;
	}
	if (rc < 0) {
		char acc[160];

		accepted(o, acc, sizeof(acc));
		if (rc == -EINVAL)
			dps_errf(err, errlen, "%s: '%s' is not valid for %s: expected %s", where,
				 value, o->name, acc);
		free(text);
		free(whr);
		return rc;
	}
	free(c->text[id]);
	free(c->src_where[id]);
	c->text[id] = text;
	c->src_where[id] = whr;
	c->src[id] = src;
	return 0;
}

int dps_conf_set(struct dps_conf *c, const char *key, const char *value, enum dps_conf_src src,
		 const char *where, char *err, size_t errlen)
{
	int id = find_option(key);

	if (id < 0) {
		unknown_key(where, key, key, 0, err, errlen);
		return -ENOENT;
	}
	return set_option(c, id, value, src, where, err, errlen);
}

void dps_conf_free(struct dps_conf *c)
{
#define DPS_FREE_STR(n) free(c->n), c->n = NULL
#define DPS_FREE_UINT(n)
#define DPS_FREE_ENUM(n)
#define DPS_FREE_IP(n)
#define DPS_FREE_NETS(n)
#define DPS_OPT(n, t, d, lo, hi, ch, doc) DPS_FREE_##t(n);
#include "options.def"
#undef DPS_OPT
	for (int i = 0; i < DPS_OPT_COUNT; i++) {
		free(c->text[i]);
		free(c->src_where[i]);
		c->text[i] = c->src_where[i] = NULL;
	}
}

int dps_conf_init(struct dps_conf *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < DPS_OPT_COUNT; i++) {
		int rc = set_option(c, i, options[i].def, DPS_SRC_DEFAULT, "built-in default", err,
				    errlen);
		if (rc < 0) {
			dps_conf_free(c);
			return rc;
		}
	}
	return 0;
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

int dps_conf_load_file(struct dps_conf *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = 0;

	if (f == NULL) {
		rc = -errno;
		dps_errf(err, errlen, "DPSOCK_CONFIG: cannot open '%s': %s", path, strerror(-rc));
		return rc;
	}
	while (getline(&line, &cap, f) >= 0) {
		char where[512], *key, *value, *eq, *hash;

		lineno++;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		key = trim(line);
		if (*key == '\0')
			continue;
		eq = strchr(key, '=');
		if (eq == NULL) {
			dps_errf(err, errlen, "%s: expected 'key = value', got '%s'", where, key);
			rc = -EINVAL;
			break;
		}
		*eq = '\0';
		value = trim(eq + 1);
		key = trim(key);
		if (*key == '\0') {
			dps_errf(err, errlen, "%s: missing key before '='", where);
			rc = -EINVAL;
			break;
		}
		rc = dps_conf_set(c, key, value, DPS_SRC_FILE, where, err, errlen);
		if (rc < 0)
			break;
	}
	if (rc == 0 && ferror(f)) {
		rc = -EIO;
		dps_errf(err, errlen, "%s: read error", path);
	}
	free(line);
	fclose(f);
	return rc;
}

static const char env_prefix[] = "DPSOCK_";

int dps_conf_load(struct dps_conf *c, char *const envp[], char *err, size_t errlen)
{
	int rc = dps_conf_init(c, err, errlen);

	if (rc < 0)
		return rc;
	for (char *const *e = envp; e != NULL && *e != NULL; e++)
		if (strncmp(*e, "DPSOCK_CONFIG=", 14) == 0 && (*e)[14] != '\0') {
			rc = dps_conf_load_file(c, *e + 14, err, errlen);
			if (rc < 0)
				goto err;
		}
	for (char *const *e = envp; e != NULL && *e != NULL; e++) {
		char key[64], where[80];
		const char *eq = strchr(*e, '=');
		size_t n;
		int id;

		if (strncmp(*e, env_prefix, sizeof(env_prefix) - 1) != 0 || eq == NULL)
			continue;
		n = (size_t)(eq - *e) - (sizeof(env_prefix) - 1);
		if (n == 0 || n >= sizeof(key))
			continue;
		for (size_t i = 0; i < n; i++)
			key[i] = (char)tolower((unsigned char)(*e)[sizeof(env_prefix) - 1 + i]);
		key[n] = '\0';
		if (strcmp(key, "config") == 0)
			continue;
		snprintf(where, sizeof(where), "%.*s", (int)(eq - *e), *e);
		id = find_option(key);
		if (id < 0) {
			unknown_key("environment", where, key, 1, err, errlen);
			rc = -ENOENT;
			goto err;
		}
		rc = set_option(c, id, eq + 1, DPS_SRC_ENV, where, err, errlen);
		if (rc < 0)
			goto err;
	}
	return 0;
err:
	dps_conf_free(c);
	return rc;
}

const char *dps_conf_value_str(const struct dps_conf *c, enum dps_opt_id id, char *buf, size_t len)
{
	snprintf(buf, len, "%s", c->text[id] != NULL ? c->text[id] : "");
	return buf;
}
