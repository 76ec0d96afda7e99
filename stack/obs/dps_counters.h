/*
 * counters: the ids of the engine's event counters and drop reasons (counters.def), for every
 * layer. A lower layer counts into arrays its caller owns (struct dps_netif's ctr and drop); this
 * header holds only the names, so that it can sit below everything (docs/design-notes.md: the
 * include directions).
 */
#ifndef DPS_COUNTERS_H
#define DPS_COUNTERS_H

enum dps_ctr_id {
#define DPS_CTR(name, doc) DPS_CTR_##name,
#include "counters.def"
#undef DPS_CTR
	DPS_CTR_COUNT
};

/* Drop reasons; 0 means "not dropped", so that parsers can return one. */
enum dps_drop {
	DPS_DROP_NONE,
#define DPS_DROP(name, doc) DPS_DROP_##name,
#include "counters.def"
#undef DPS_DROP
	DPS_DROP_COUNT
};

#endif
