/*
 * start: the process's engine, created by dps_init_env() and destroyed by dps_exit() (start.c),
 * for the thin API of include/dpsock.h (api.c). A process singleton until the native API takes an
 * engine handle (issue 14 item 4).
 */
#ifndef DPS_START_H
#define DPS_START_H

struct dps_conf;
struct dps_engine;

/* The process's engine: NULL before dps_init_env() succeeds and after dps_exit(). */
struct dps_engine *dps_start_engine(void);
/* The configuration it was started with (valid while the engine runs). */
const struct dps_conf *dps_start_conf(void);

#endif
