/*
 * eal: start DPDK's EAL inside someone else's program (DESIGN.md §6).
 *
 * The arguments come from the configuration; the calling thread's CPU affinity, signal mask and
 * signal dispositions are put back as they were after rte_eal_init.
 */
#ifndef DPS_EAL_H
#define DPS_EAL_H

#include <stddef.h>

struct dps_conf;

#define DPS_EAL_MAX_ARGS 64
#define DPS_EAL_ARGS_BUF 4096 /* bytes for the argument strings (dps_eal_start's buffer) */

/* What the machine offers, measured by dps_eal_probe_host (tests fill it by hand). */
struct dps_eal_host {
	int hugepages_free; /* free hugepages on a mounted hugetlbfs */
	int cpu; /* the CPU the EAL's single lcore is declared on */
	int pid; /* for a unique --file-prefix */
};

void dps_eal_probe_host(struct dps_eal_host *h);

/* Is dev a PCI address (dddd:bb:dd.f or bb:dd.f) rather than a vdev string? */
int dps_eal_dev_is_pci(const char *dev);

/*
 * Build EAL's argv from the configuration into argv[max] (strings kept in buf[buflen]).
 * Returns argc, or -EINVAL (err says why: hugepages=on without hugepages, no device, bad eal_args),
 * -E2BIG (too many arguments).
 */
int dps_eal_build_args(const struct dps_conf *c, const struct dps_eal_host *h, char **argv, int max,
		       char *buf, size_t buflen, char *err, size_t errlen);

/*
 * Check what can be checked before EAL starts: for af_packet/af_xdp/tap vdevs, that iface= names an
 * interface of this network namespace. Returns 0 or -ENODEV with a one-line message and fix in err.
 */
int dps_eal_check_dev(const char *dev, char *err, size_t errlen);

/* Copy the value of key= in a devargs string ("net_af_packet0,iface=dps0") to out (truncated to
 * len). Returns 1, or 0 when the key is absent (out untouched). */
int dps_eal_devarg(const char *dev, const char *key, char *out, size_t len);

/* Start EAL once per process (later calls return the first result). Returns 0 or -errno with err. */
int dps_eal_start(const struct dps_conf *c, char *err, size_t errlen);

/* Release EAL's resources (rte_eal_cleanup). */
void dps_eal_stop(void);
/* Remove the runtime directory only, leaving DPDK up: for a process that exits with the engine
 * still running (the preload shim's atexit), where a full cleanup could race its other threads. */
void dps_eal_forget_runtime_dir(void);

#endif
