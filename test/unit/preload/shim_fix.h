/*
 * shim_fix: the fixture of the shim's unit tests (test_shim_*.c). No root, no DPDK device.
 *
 * The test program links the objects of libdpsock.so (preload_test_dep) and calls the interposers
 * by their libc names. Its link wraps dps_init_env (-Wl,--wrap=dps_init_env): when the shim starts
 * its engine (shim_engine_start, at the first call that needs packet I/O), __wrap_dps_init_env
 * builds the engine over the in-memory device (stack/dev/dev_mem.c) and hands it to stack/api.c
 * with dps_api_adopt_engine; everything else of the start (configuration, fastcalldown, state)
 * is the shim's own code. The configuration comes from DPSOCK_* variables set before the shim's
 * constructors (stack 198.18.0.2/24, a priority rule for payloads of 100-200 bytes).
 *
 * The other end of the wire is a second engine (the peer, 198.18.0.1), driven here through the
 * engine's TCP calls (tcp_api.h): real handshakes, ACKs, windows, FIN and RST, with nothing to
 * script. Frames move between the two devices only when the test says so:
 *   - settle(): on the test's own stack, until both engines are quiet (deterministic: a check
 *     after settle() sees everything that was sent before it);
 *   - the wire coroutine: while the test's main coroutine is blocked in the shim (it parks, its
 *     scheduler runs the other coroutines of the thread and the shim's idle hook), a coroutine
 *     moves frames every 100 us and runs the peer's actions that later() scheduled.
 * Signals and kernel-fd wakes come from a helper thread (kick_*), which waits until the main
 * coroutine is blocked before it counts its delay, so that a loaded machine cannot make a signal
 * arrive before the call it is meant to interrupt.
 */
#ifndef DPS_TEST_SHIM_FIX_H
#define DPS_TEST_SHIM_FIX_H

#include "shim.h"
#include "test/unit/check.h"

#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>

#define STACK_IP "198.18.0.2"
#define PEER_IP "198.18.0.1"

struct dps_engine;
struct dps_dev;

/* EAL, the peer engine, the wire coroutine (prog names the EAL instance). */
void fix_start(const char *prog);
/* Both engines and EAL down (every fd of the test may stay open). */
void fix_stop(void);
/* How many times the shim started an engine (__wrap_dps_init_env calls). */
unsigned fix_engine_starts(void);

/* Exchange frames and poll both engines until nothing moves. */
void settle(void);

/* ---- the peer (handles of the peer engine) ---- */
int peer_connect(uint16_t port); /* to STACK_IP:port; the SYN leaves at the next settle */
int peer_listen(uint16_t port); /* on PEER_IP:port */
int peer_accept(int lh); /* a connection of the queue (checked to exist) */
void peer_send(int h, const void *buf, size_t n); /* all of it queued */
void peer_send_str(int h, const char *s);
long peer_recv(int h, void *buf, size_t n); /* the count, 0 at end of stream, -errno */
void peer_shutdown_wr(int h);
void peer_close(int h);
void peer_abort(int h); /* SO_LINGER 0 and close: an RST */
uint32_t peer_events(int h);

/* ---- the shim side ---- */
uint16_t next_port(void); /* a port no test used yet */
int shim_listener(uint16_t port); /* socket, bind STACK_IP:port, listen: the fd */
/* A connection: the peer connects to a shim listener, the test accepts. The fd (blocking) and the
 * peer's handle; frames settled. */
int shim_conn(int *peer_h);
/* poll(fd, events, 0)'s revents (-1 if poll failed). */
int revents(int fd, short events);
/* Bytes readable now on fd, read and dropped (nonblocking), up to 64 KiB. */
long drain(int fd);

/* ---- later, while the main coroutine is blocked in the shim ---- */
/* Run fn(arg) on the wire coroutine ms after the main coroutine next blocks (the peer's side:
 * engine calls are allowed there; frames move on their own). */
void later(unsigned ms, void (*fn)(void *arg), void *arg);
/* The peer sends s (not copied: a string literal) on h, ms after the main coroutine blocks. */
void later_send(unsigned ms, int h, const char *s);

struct kick;
/* A helper thread: once the main coroutine is blocked, waits ms, then sends sig to the main
 * thread (pthread_kill) / writes one byte to fd. kick_join waits for it and frees it. */
struct kick *kick_signal(unsigned ms, int sig);
struct kick *kick_write(unsigned ms, int fd);
void kick_join(struct kick *k);

/* ---- the kernel's view, for "as Linux" checks (real_* calls only, over loopback) ---- */
/* A kernel listener on 127.0.0.1 (port in *port). */
int kernel_listener(uint16_t *port);
/* A connected kernel pair over loopback: *cli connected, *srv accepted. */
void kernel_pair(int *cli, int *srv);
/* revents the kernel gives fd for events (real_poll, timeout 0). */
int kernel_revents(int fd, short events);
/* SO_LINGER 0 and close (the peer of *cli gets an RST). */
void kernel_abort(int fd);

/*
 * Bits the engine is known not to report where Linux does; none since tcb_events reports
 * EPOLLIN | EPOLLRDHUP after a reset, refusal or timeout as Linux's tcp_done does (it left
 * those two out before). The tests compare the shim's events with the kernel's
 * without these bits.
 */
#define RST_UNREPORTED 0

/* Milliseconds since t0 (dps_now_ns). */
double ms_since(uint64_t t0);

#endif
