/*
 * signal: EINTR for calls blocked in the shim (DESIGN.md §4).
 *
 * A blocked call sleeps in the coroutine scheduler, not in the kernel call the program made, so
 * the kernel cannot tell it that a signal handler ran. The shim therefore wraps the program's
 * handlers: sigaction() and signal() install a trampoline that runs the program's handler, then,
 * if the thread is blocked in the shim, interrupts its coroutine (dps_co_interrupt, safe in a
 * handler) and notes whether the signal had SA_RESTART. The blocked call then returns EINTR, or
 * restarts where Linux restarts (socket calls without a timeout; never poll/select/epoll_wait,
 * signal(7)). SIG_IGN and SIG_DFL are passed through unwrapped.
 */
#include "shim.h"

#include <string.h>

#define NSIG_MAX 65

/* The program's view of each signal's action (what sigaction() returns as oldact). */
static struct sigaction user_act[NSIG_MAX];
static atomic_bool wrapped[NSIG_MAX];

static __thread struct dps_co *blocked_co;
static __thread volatile sig_atomic_t sig_no_restart; /* a handler without SA_RESTART ran */
static __thread volatile sig_atomic_t sig_seen;

static void trampoline(int sig, siginfo_t *info, void *uctx)
{
	struct sigaction *a = &user_act[sig];
	int saved = errno;

	if (a->sa_flags & SA_SIGINFO)
		a->sa_sigaction(sig, info, uctx);
	else if (a->sa_handler != SIG_IGN && a->sa_handler != SIG_DFL)
		a->sa_handler(sig);
	if (blocked_co != NULL) {
		sig_seen = 1;
		if (!(a->sa_flags & SA_RESTART))
			sig_no_restart = 1;
		(void)dps_co_interrupt(blocked_co);
	}
	errno = saved;
}

void shim_block_enter(void)
{
	sig_seen = 0;
	sig_no_restart = 0;
	blocked_co = dps_self();
}

void shim_block_leave(void)
{
	blocked_co = NULL;
	(void)dps_co_clear_interrupt();
}

bool shim_signal_restarts(void)
{
	return sig_seen && !sig_no_restart;
}

DPS_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *oldact)
{
	struct sigaction mine, prev;
	int rc;

	dps_real_need();
	if (sig <= 0 || sig >= NSIG_MAX || sig == SIGKILL || sig == SIGSTOP)
		return real_sigaction(sig, act, oldact);
	if (act == NULL) {
		rc = real_sigaction(sig, NULL, oldact);
		if (rc == 0 && oldact != NULL && atomic_load(&wrapped[sig]))
			*oldact = user_act[sig];
		return rc;
	}
	if (!(act->sa_flags & SA_SIGINFO) &&
	    (act->sa_handler == SIG_IGN || act->sa_handler == SIG_DFL)) {
		rc = real_sigaction(sig, act, &prev);
		if (rc == 0) {
			if (oldact != NULL)
				*oldact = atomic_load(&wrapped[sig]) ? user_act[sig] : prev;
			atomic_store(&wrapped[sig], false);
		}
		return rc;
	}
	mine = *act;
	mine.sa_flags |= SA_SIGINFO;
	mine.sa_sigaction = trampoline;
	/* The handler is recorded before it can run; a signal arriving during the swap runs either
	 * the old or the new program handler, as with the kernel. */
	prev = user_act[sig];
	bool was = atomic_load(&wrapped[sig]);

	user_act[sig] = *act;
	rc = real_sigaction(sig, &mine, oldact);
	if (rc < 0) {
		user_act[sig] = prev;
		return rc;
	}
	if (oldact != NULL && was)
		*oldact = prev;
	atomic_store(&wrapped[sig], true);
	return 0;
}

/* glibc's signal(): BSD semantics (SA_RESTART), through our sigaction. */
DPS_EXPORT __sighandler_t signal(int sig, __sighandler_t handler)
{
	struct sigaction act, old;

	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	act.sa_flags = SA_RESTART;
	sigemptyset(&act.sa_mask);
	if (sig > 0 && sig < NSIG_MAX)
		sigaddset(&act.sa_mask, sig);
	if (sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}
