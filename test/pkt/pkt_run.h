/* pkt_run: what the runner (main.c) and the framework (pkt.c) share. */
#ifndef DPS_PKT_RUN_H
#define DPS_PKT_RUN_H

#include <stdbool.h>

struct rte_mempool;
struct pkt_scenario;

extern struct rte_mempool *pkt_pool;
extern unsigned pkt_pool_n;
extern bool pkt_verbose;

/* Run scenario s on a fresh engine; returns only when it passed (a failure exits). */
void pkt_run_one(const struct pkt_scenario *s);

#endif
