/*
 * conf: the runtime options of dpsock (DESIGN.md §9).
 *
 * Precedence: built-in default < config file (DPSOCK_CONFIG=path) < environment (DPSOCK_<NAME>).
 * Every function returns 0 or -errno and never touches errno; on error it writes one line for the user
 * into the caller's buffer, naming the key, the bad value and what is accepted.
 */
#ifndef DPS_CONF_H
#define DPS_CONF_H

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>

#define DPS_CONF_MAX_NETS 16
#define DPS_CONF_ERRLEN 512

enum dps_opt_type { DPS_OPT_STR, DPS_OPT_UINT, DPS_OPT_ENUM, DPS_OPT_IP, DPS_OPT_NETS };

/* Where an option's value came from (`dpsock config` prints it). */
enum dps_conf_src { DPS_SRC_DEFAULT, DPS_SRC_FILE, DPS_SRC_ENV, DPS_SRC_ARG };

/* One IPv4 network: address and prefix length. addr is in network byte order. In `ip`, an entry
 * may be a range of count consecutive addresses from addr on (a.b.c.d-a.b.c.e/len, all inside one
 * subnet); count is 1 for a single address (and in every other NETS option). */
struct dps_net {
	uint32_t addr;
	uint32_t count;
	uint8_t len;
};

/* The most addresses one range of `ip` may hold. */
#define DPS_CONF_MAX_RANGE 65536

/* Does net hold the address a (network order)? */
static inline int dps_net_has(const struct dps_net *net, uint32_t a)
{
	return ntohl(a) - ntohl(net->addr) < net->count;
}

struct dps_nets {
	unsigned n;
	struct dps_net net[DPS_CONF_MAX_NETS];
};

enum dps_opt_id {
#define DPS_OPT(name, type, def, min, max, choices, doc) DPS_OPT_ID_##name,
#include "options.def"
#undef DPS_OPT
	DPS_OPT_COUNT
};

/* Field types per option type. ENUM fields hold the index of the choice. */
#define DPS_CONF_FIELD_STR char *
#define DPS_CONF_FIELD_UINT uint64_t
#define DPS_CONF_FIELD_ENUM unsigned
#define DPS_CONF_FIELD_IP uint32_t
#define DPS_CONF_FIELD_NETS struct dps_nets

struct dps_conf {
#define DPS_OPT(name, type, def, min, max, choices, doc) DPS_CONF_FIELD_##type name;
#include "options.def"
#undef DPS_OPT
	enum dps_conf_src src[DPS_OPT_COUNT];
	char *text[DPS_OPT_COUNT]; /* the value as given (or the default), for printing */
	char *src_where[DPS_OPT_COUNT]; /* "path:line" for DPS_SRC_FILE, else NULL */
};

/* Enum indices, in the order of the choices in options.def. */
enum { DPS_HUGEPAGES_AUTO, DPS_HUGEPAGES_ON, DPS_HUGEPAGES_OFF };
enum { DPS_LOG_ERROR, DPS_LOG_WARNING, DPS_LOG_NOTICE, DPS_LOG_INFO, DPS_LOG_DEBUG };
enum { DPS_FALLBACK_KERNEL, DPS_FALLBACK_ERROR };

struct dps_opt_desc {
	const char *name;
	enum dps_opt_type type;
	const char *def;
	uint64_t min, max;
	const char *choices;
	const char *doc;
};

/* The option table, DPS_OPT_COUNT rows in options.def order. */
const struct dps_opt_desc *dps_conf_options(void);

/*
 * Fill c with the defaults. Errors: -ENOMEM; -EINVAL if a default does not parse (a bug, with the message
 * in err).
 */
int dps_conf_init(struct dps_conf *c, char *err, size_t errlen);

/* Release what dps_conf_init and the setters allocated. c may be reused after dps_conf_init. */
void dps_conf_free(struct dps_conf *c);

/*
 * Set option key to the text value. where names the origin in messages ("DPSOCK_MTU", "/a.conf:3").
 * Errors: -ENOENT unknown key (err suggests the closest known key), -EINVAL bad value, -ENOMEM.
 */
int dps_conf_set(struct dps_conf *c, const char *key, const char *value, enum dps_conf_src src,
		 const char *where, char *err, size_t errlen);

/*
 * Read a config file: `key = value` lines, '#' starts a comment, blank lines ignored, surrounding
 * white space trimmed. Errors: -errno of open/read, -EINVAL syntax or value, -ENOENT unknown key.
 */
int dps_conf_load_file(struct dps_conf *c, const char *path, char *err, size_t errlen);

/*
 * The whole load: defaults, then the file named by DPSOCK_CONFIG in envp (if any), then every
 * DPSOCK_<NAME> variable of envp. An unknown DPSOCK_ variable is an error (with a suggestion).
 * envp is an environ-style NULL-terminated array. Errors: as above.
 */
int dps_conf_load(struct dps_conf *c, char *const envp[], char *err, size_t errlen);

/* "default", "file", "env" or "argument". */
const char *dps_conf_src_name(enum dps_conf_src src);

/* The text of choice i of an ENUM option, or NULL. */
const char *dps_conf_choice(enum dps_opt_id id, unsigned i);

/* Format one option's effective value into buf (always NUL-terminated). Returns buf. */
const char *dps_conf_value_str(const struct dps_conf *c, enum dps_opt_id id, char *buf, size_t len);

/* Write a one-line message for the user into err[errlen] (nothing when err is NULL or errlen 0).
 * The one formatter behind every "err, errlen" parameter of dpsock's internal APIs. */
void dps_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Format a network-order IPv4 address into buf (at least 16 bytes). Returns buf. */
const char *dps_ip_str(uint32_t addr, char *buf, size_t len);

#endif
