/*
 * signal: the program's handlers around the shim (DESIGN.md §4, §6).
 *
 * sigaction() and signal() install a trampoline in the kernel for every program handler (SIG_IGN
 * and SIG_DFL pass through unwrapped). It does two jobs.
 *
 * Deferral (§6: a program's handler never runs while the shim holds its lock on that thread).
 * When the signal lands inside a lock region of its thread (shim_sig_depth > 0: the thread holds
 * shim.lock or is taking it, shim.h), the program's handler could re-enter the shim (fork() and
 * its atfork handler, a hooked call) and wait for itself. The trampoline then hands the signal
 * back to the kernel instead: it queues it again to this thread with its own siginfo
 * (rt_tgsigqueueinfo, which a thread may do to itself with any si_code), keeps it blocked until
 * the region ends (in the context the kernel restores when the trampoline returns) and records
 * it; the region's end (shim_sig_allow -> shim_sig_release) unblocks it and the kernel delivers
 * it again, now outside the region. Everything the kernel does on delivery therefore still holds:
 * a standard signal pending twice is delivered once, real-time ones queue in order with their
 * values, the handler runs with its sa_mask and the signal itself blocked unless SA_NODEFER, and
 * on a real signal frame (ucontext). Limits:
 * - a real-time signal the kernel refuses to queue again (RLIMIT_SIGPENDING, `ulimit -i`, full)
 *   is lost, as sigqueue() would have been refused; counted and reported once on stderr;
 * - a process-directed signal deferred by one thread stays with that thread (it is queued to it).
 * Synchronous faults are never deferred: SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP and SIGSYS
 * with a kernel si_code (> 0, sigaction(2)) would fault again at once if the trampoline returned;
 * their handler runs at once, lock or not (DPDK's own SIGBUS handler for hugepages is one, during
 * rte_eal_init). The same signals sent by kill/tgkill/sigqueue (si_code <= 0) are deferred.
 * SA_RESETHAND is the trampoline's: the kernel would reset the action on the delivery that is
 * deferred, and the one that follows would meet SIG_DFL; the trampoline resets it itself when it
 * runs the handler.
 *
 * EINTR (§4). A blocked call sleeps in the coroutine scheduler, not in the kernel call the
 * program made, so the kernel cannot tell it that a handler ran. After running the program's
 * handler, the trampoline interrupts the thread's blocked coroutine (dps_co_interrupt, safe in
 * a handler) and notes whether the handler had SA_RESTART. The blocked call then returns EINTR,
 * or restarts where Linux restarts (socket calls without a timeout; never poll/select/epoll_wait,
 * signal(7)). A deferred handler does it when it runs: the regions of a blocked thread (its idle
 * hook) end while it is still blocked.
 */
#include "shim.h"

#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define NSIG_MAX 65

/* The program's view of each signal's action (what sigaction() returns as oldact). */
static struct sigaction user_act[NSIG_MAX];
static atomic_bool wrapped[NSIG_MAX];

static __thread struct dps_co *blocked_co;
static __thread volatile sig_atomic_t sig_no_restart; /* a handler without SA_RESTART ran */
static __thread volatile sig_atomic_t sig_seen;

__thread volatile sig_atomic_t shim_sig_depth;
__thread volatile sig_atomic_t shim_sig_deferred;
__thread bool shim_lock_owned;
static __thread sigset_t deferred_set; /* what the trampoline blocked and queued again */
static atomic_uint sig_lost; /* deferred real-time signals the kernel refused */
atomic_ulong shim_sig_deferrals; /* signals deferred, ever (tests) */

/* A fault of the thread itself: returning from the trampoline would fault again at once. */
static bool sig_is_fault(int sig, const siginfo_t *info)
{
	switch (sig) {
	case SIGSEGV:
	case SIGBUS:
	case SIGFPE:
	case SIGILL:
	case SIGTRAP:
	case SIGSYS:
		return info->si_code > 0; /* <= 0: kill, tgkill, sigqueue (SI_USER, SI_TKILL...) */
	default:
		return false;
	}
}

static void sig_defer(int sig, siginfo_t *info, ucontext_t *uc)
{
	static const char lost[] = "dpsock: a real-time signal deferred while the engine lock was "
				   "held could not be queued again (RLIMIT_SIGPENDING); lost\n";
	sigset_t one;

	sigemptyset(&one);
	sigaddset(&one, sig);
	/* Blocked in this handler too: with SA_NODEFER the new copy would land here at once. */
	(void)pthread_sigmask(SIG_BLOCK, &one, NULL);
	if (syscall(SYS_rt_tgsigqueueinfo, getpid(), (pid_t)syscall(SYS_gettid), sig, info) != 0) {
		if (atomic_fetch_add(&sig_lost, 1) == 0)
			(void)!write(2, lost, sizeof(lost) - 1);
		return;
	}
	sigaddset(&uc->uc_sigmask, sig); /* the region continues with it blocked */
	atomic_fetch_add_explicit(&shim_sig_deferrals, 1, memory_order_relaxed);
	sigaddset(&deferred_set, sig);
	shim_sig_deferred = 1;
}

void shim_sig_release(void)
{
	sigset_t set;
	int saved = errno;

	/* A handler that interrupts this and defers in a region of its own releases that region's
	 * signals (and ours, if not yet copied) itself; unblocking one twice is harmless. */
	shim_sig_deferred = 0;
	atomic_signal_fence(memory_order_seq_cst);
	set = deferred_set;
	sigemptyset(&deferred_set);
	(void)pthread_sigmask(SIG_UNBLOCK, &set, NULL); /* the kernel delivers them here */
	errno = saved;
}

static void sig_reset(int sig)
{
	struct sigaction dfl;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	atomic_store(&wrapped[sig], false);
	(void)real_sigaction(sig, &dfl, NULL);
}

static void trampoline(int sig, siginfo_t *info, void *uctx)
{
	struct sigaction a;
	int saved = errno;

	if (shim_sig_depth > 0 && !sig_is_fault(sig, info)) {
		sig_defer(sig, info, uctx);
		errno = saved;
		return;
	}
	a = user_act[sig]; /* the handler may change its own action */
	if (a.sa_flags & SA_RESETHAND)
		sig_reset(sig);
	if (a.sa_flags & SA_SIGINFO)
		a.sa_sigaction(sig, info, uctx);
	else if (a.sa_handler != SIG_IGN && a.sa_handler != SIG_DFL)
		a.sa_handler(sig);
	if (blocked_co != NULL) {
		sig_seen = 1;
		if (!(a.sa_flags & SA_RESTART))
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
	mine.sa_flags &= ~SA_RESETHAND; /* the trampoline's (see the top) */
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
