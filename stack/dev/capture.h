/* capture: a pcapng copy of the frames a device receives and sends (capture.c), a device wrapper. */
#ifndef DPS_CAPTURE_H
#define DPS_CAPTURE_H

#include <stddef.h>

struct rte_mbuf;
struct dps_capture;

/* Open path as pcapng for the device's port; NULL path = off. */
int dps_capture_open(const char *path, int port_id, struct dps_capture **out, char *err,
		     size_t errlen);
void dps_capture_close(struct dps_capture *c);
/* Copy n frames into the capture file (rx: 1 for received, 0 for sent). Returns frames written. */
unsigned dps_capture_frames(struct dps_capture *c, struct rte_mbuf **m, unsigned n, int rx);
/* Write buffered copies to the file. */
void dps_capture_flush(struct dps_capture *c);

#endif
