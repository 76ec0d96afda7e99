/*
 * The program's signal handlers and the engine lock (preload/signal.c, DESIGN.md §6), without
 * root: this program is linked with the shim's own objects, so it takes the lock itself
 * (shim_lock) where a hooked call would, and installs its handlers through the shim's sigaction.
 *   - a handler never runs while its thread holds the lock: a signal raised inside is deferred
 *     to shim_unlock, with its siginfo, the handler's sa_mask and the signal blocked (unless
 *     SA_NODEFER), SA_RESETHAND honoured; standard signals coalesce, real-time ones queue;
 *   - a deferred handler still interrupts the thread's call blocked in the shim (EINTR/restart);
 *   - faults of the thread itself run at once (returning would fault again), kill()ed ones wait;
 *   - fork is safe anywhere: from a fault handler under the lock, also inside another fork's
 *     window (between the atfork prepare and parent handlers), from a handler deferred out of
 *     that window, while another thread holds the lock (fork waits for it);
 *   - a sender thread queueing signals at a thread that takes and releases the lock in a loop:
 *     every one delivered exactly once, none inside a region.
 * A hang is the failure mode of the fork cases: alarm() ends the test (SIGALRM's default).
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "shim.h"

static volatile sig_atomic_t ran, ran_inside, last_code, last_pid, last_value;
static sigset_t ran_mask;
static volatile int order[16];

static void on_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	(void)sig;
	if (shim_sig_depth > 0 || shim_lock_owned)
		ran_inside++;
	if (ran < 16)
		order[ran] = si->si_value.sival_int;
	ran++;
	last_code = si->si_code;
	last_pid = si->si_pid;
	last_value = si->si_value.sival_int;
	pthread_sigmask(SIG_SETMASK, NULL, &ran_mask);
}

static void on_plain(int sig)
{
	(void)sig;
	if (shim_sig_depth > 0 || shim_lock_owned)
		ran_inside++;
	ran++;
	pthread_sigmask(SIG_SETMASK, NULL, &ran_mask);
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags, int also_masked)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	if (also_masked)
		sigaddset(&sa.sa_mask, also_masked);
	CHECK_EQ(sigaction(sig, &sa, NULL), 0);
}

static void reset_counts(void)
{
	ran = ran_inside = last_code = last_pid = last_value = 0;
	sigemptyset(&ran_mask);
}

static bool is_blocked(int sig)
{
	sigset_t m;

	pthread_sigmask(SIG_SETMASK, NULL, &m);
	return sigismember(&m, sig);
}

/* Deferred to the unlock, with siginfo, sa_mask and the signal blocked; unblocked afterwards. */
static void test_defer_basic(void)
{
	reset_counts();
	install(SIGUSR1, on_info, 0, SIGUSR2);
	shim_lock();
	raise(SIGUSR1);
	CHECK_EQ(ran, 0);
	CHECK(is_blocked(SIGUSR1)); /* kept pending by the kernel until the region ends */
	shim_unlock();
	CHECK_EQ(ran, 1);
	CHECK_EQ(ran_inside, 0);
	CHECK_EQ(last_code, SI_TKILL); /* raise(): tgkill's siginfo, carried over */
	CHECK_EQ(last_pid, getpid());
	CHECK(sigismember(&ran_mask, SIGUSR1));
	CHECK(sigismember(&ran_mask, SIGUSR2));
	CHECK(!is_blocked(SIGUSR1));
	CHECK(!is_blocked(SIGUSR2));
	/* outside a region: at once */
	raise(SIGUSR1);
	CHECK_EQ(ran, 2);
}

/* Standard signals coalesce as in the kernel; real-time ones queue, in order, with values. */
static void test_coalesce_and_queue(void)
{
	union sigval v;

	reset_counts();
	install(SIGUSR1, on_info, 0, 0);
	shim_lock();
	for (int i = 0; i < 3; i++)
		raise(SIGUSR1);
	shim_unlock();
	CHECK_EQ(ran, 1);

	reset_counts();
	install(SIGRTMIN, on_info, 0, 0);
	shim_lock();
	for (int i = 0; i < 5; i++) {
		v.sival_int = 100 + i;
		CHECK_EQ(sigqueue(getpid(), SIGRTMIN, v), 0);
	}
	CHECK_EQ(ran, 0);
	shim_unlock();
	CHECK_EQ(ran, 5);
	CHECK_EQ(ran_inside, 0);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(order[i], 100 + i);
	CHECK_EQ(last_code, SI_QUEUE);
}

/* SA_RESETHAND: the handler runs once, deferred or not, and the action is SIG_DFL after. */
static void test_resethand_nodefer(void)
{
	struct sigaction old;

	for (int deferred = 0; deferred < 2; deferred++) {
		reset_counts();
		install(SIGUSR2, on_info, SA_RESETHAND, 0);
		if (deferred)
			shim_lock();
		raise(SIGUSR2);
		CHECK_EQ(ran, deferred ? 0 : 1);
		if (deferred)
			shim_unlock();
		CHECK_EQ(ran, 1);
		CHECK(sigismember(&ran_mask, SIGUSR2));
		CHECK_EQ(sigaction(SIGUSR2, NULL, &old), 0);
		CHECK(!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL);
	}
	/* SA_NODEFER: the signal itself is not blocked in its handler, deferred or not */
	for (int deferred = 0; deferred < 2; deferred++) {
		reset_counts();
		install(SIGUSR2, on_info, SA_NODEFER, 0);
		if (deferred)
			shim_lock();
		raise(SIGUSR2);
		if (deferred)
			shim_unlock();
		CHECK_EQ(ran, 1);
		CHECK_EQ(ran_inside, 0);
		CHECK(!sigismember(&ran_mask, SIGUSR2));
	}
	signal(SIGUSR2, SIG_DFL);
}

/* signal() (BSD semantics) goes through the same trampoline. */
static void test_signal_deferred(void)
{
	reset_counts();
	CHECK(signal(SIGUSR1, on_plain) != SIG_ERR);
	shim_lock();
	raise(SIGUSR1);
	CHECK_EQ(ran, 0);
	shim_unlock();
	CHECK_EQ(ran, 1);
	CHECK_EQ(ran_inside, 0);
}

static char *fault_page;
static volatile sig_atomic_t fault_fork_status = -1;

/* A real fault: unprotect the page (so the access succeeds when retried), fork if asked. */
static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	ran++;
	last_code = si->si_code;
	if (shim_sig_depth > 0)
		ran_inside++;
	if (si->si_code > 0) {
		mprotect(fault_page, 4096, PROT_READ | PROT_WRITE);
		if (fault_fork_status == -2) {
			pid_t p = fork(); /* under the lock: must not wait for itself */
			int st;

			if (p == 0)
				_exit(7);
			if (p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st))
				fault_fork_status = WEXITSTATUS(st);
		}
	}
}

static void test_fault_not_deferred(void)
{
	fault_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(fault_page != MAP_FAILED);
	install(SIGSEGV, on_segv, 0, 0);

	reset_counts();
	shim_lock();
	*(volatile char *)fault_page = 1; /* SEGV_ACCERR: runs at once, inside the region */
	CHECK_EQ(ran, 1);
	CHECK_EQ(ran_inside, 1);
	CHECK_EQ(last_code, SEGV_ACCERR);
	raise(SIGSEGV); /* sent, not a fault: deferred */
	CHECK_EQ(ran, 1);
	shim_unlock();
	CHECK_EQ(ran, 2);
	CHECK_EQ(ran_inside, 1);
	CHECK_EQ(last_code, SI_TKILL);

	/* fork from that handler, under the lock */
	reset_counts();
	mprotect(fault_page, 4096, PROT_NONE);
	fault_fork_status = -2;
	alarm(30);
	shim_lock();
	*(volatile char *)fault_page = 2;
	shim_unlock();
	alarm(0);
	CHECK_EQ(fault_fork_status, 7);
	/* the lock still works */
	shim_lock();
	shim_unlock();
	munmap(fault_page, 4096);
	signal(SIGSEGV, SIG_DFL);
}

/* A handler that forks, as postgres' postmaster does from SIGCHLD. */
static volatile sig_atomic_t forks, fork_fail;

static void on_fork(int sig)
{
	pid_t p;
	int st;

	(void)sig;
	if (shim_sig_depth > 0 || shim_lock_owned)
		ran_inside++;
	p = fork();
	if (p == 0)
		_exit(0);
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fork_fail++;
	forks++;
}

/* Registered before the shim's handlers (constructor 101 < 102): its prepare runs after the
 * shim's, inside fork's lock window, and raises the signal there when asked. */
static volatile sig_atomic_t raise_in_prepare;
static volatile sig_atomic_t fault_in_prepare;

static void late_prepare(void)
{
	if (fault_in_prepare) {
		fault_in_prepare = 0;
		*(volatile char *)fault_page = 3; /* on_segv forks, inside this fork's window */
	}
	if (raise_in_prepare) {
		raise_in_prepare = 0;
		raise(SIGUSR1);
	}
}

__attribute__((constructor(101))) static void register_late_prepare(void)
{
	pthread_atfork(late_prepare, NULL, NULL);
}

static void test_fork_in_handler(void)
{
	pid_t p;
	int st;

	reset_counts();
	forks = fork_fail = 0;
	CHECK(signal(SIGUSR1, on_fork) != SIG_ERR);
	alarm(30);
	shim_lock();
	raise(SIGUSR1);
	CHECK_EQ(forks, 0);
	shim_unlock();
	CHECK_EQ(forks, 1);

	/* A signal inside fork's own window (the lock held between prepare and parent): deferred
	 * to fork_parent in the parent, where its handler forks again; the child gets none of it
	 * and must not keep it blocked. */
	raise_in_prepare = 1;
	p = fork();
	if (p == 0)
		_exit(forks == 1 && !is_blocked(SIGUSR1) ? 0 : 4);
	CHECK(p > 0);
	CHECK_EQ(forks, 2); /* ran in the parent at fork_parent */
	CHECK_EQ(waitpid(p, &st, 0), p);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
	alarm(0);
	CHECK_EQ(fork_fail, 0);
	CHECK_EQ(ran_inside, 0);
	signal(SIGUSR1, SIG_DFL);
}

/* fork while another thread holds the lock: fork waits until it is released. */
static atomic_int holder_state; /* 1: holding, 2: about to release */

static void *holder(void *arg)
{
	(void)arg;
	shim_lock();
	atomic_store(&holder_state, 1);
	usleep(100000);
	atomic_store(&holder_state, 2);
	shim_unlock();
	return NULL;
}

static void test_fork_other_thread_holds(void)
{
	pthread_t t;
	pid_t p;
	int st;

	alarm(30);
	CHECK_EQ(pthread_create(&t, NULL, holder, NULL), 0);
	while (atomic_load(&holder_state) == 0)
		sched_yield();
	p = fork();
	if (p == 0)
		_exit(atomic_load(&holder_state) == 2 ? 0 : 5);
	CHECK(p > 0);
	CHECK_EQ(atomic_load(&holder_state), 2); /* the prepare handler waited for the holder */
	CHECK_EQ(waitpid(p, &st, 0), p);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
	alarm(0);
}

/* A sender thread queues N numbered real-time signals at a thread that takes and releases the
 * lock in a loop (and SIGUSR1s on top): every number arrives exactly once, none inside a
 * region, whatever the point of the region it lands on. */
#define STRESS_N 20000
static unsigned char seen[STRESS_N];
static atomic_int received, dup_or_bad, stress_inside, usr1_seen;
static atomic_bool sender_done;

static void on_stress(int sig, siginfo_t *si, void *uc)
{
	int v = si->si_value.sival_int;

	(void)uc;
	if (shim_sig_depth > 0 || shim_lock_owned)
		atomic_fetch_add(&stress_inside, 1);
	if (sig == SIGUSR1) {
		atomic_fetch_add(&usr1_seen, 1);
		return;
	}
	if (v < 0 || v >= STRESS_N || seen[v]++ != 0)
		atomic_fetch_add(&dup_or_bad, 1);
	atomic_fetch_add(&received, 1);
}

static void *sender(void *arg)
{
	pthread_t target = *(pthread_t *)arg;
	union sigval v;

	for (int i = 0; i < STRESS_N; i++) {
		while (i - atomic_load(&received) > 8) /* stay far below RLIMIT_SIGPENDING */
			sched_yield();
		v.sival_int = i;
		while (pthread_sigqueue(target, SIGRTMIN + 1, v) != 0)
			sched_yield();
		if (i % 16 == 0)
			pthread_kill(target, SIGUSR1);
	}
	atomic_store(&sender_done, true);
	return NULL;
}

static void test_stress(void)
{
	pthread_t self = pthread_self(), t;
	sigset_t m;
	unsigned long regions = 0, deferred0 = atomic_load(&shim_sig_deferrals);

	install(SIGRTMIN + 1, on_stress, 0, 0);
	install(SIGUSR1, on_stress, 0, 0);
	/* only this thread takes them */
	sigemptyset(&m);
	sigaddset(&m, SIGRTMIN + 1);
	sigaddset(&m, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &m, NULL);
	CHECK_EQ(pthread_create(&t, NULL, sender, &self), 0);
	pthread_sigmask(SIG_UNBLOCK, &m, NULL);
	alarm(120);
	while (atomic_load(&received) < STRESS_N) {
		shim_lock();
		for (volatile int i = 0; i < 50; i++)
			;
		shim_unlock();
		regions++;
	}
	CHECK_EQ(pthread_join(t, NULL), 0);
	alarm(0);
	CHECK(atomic_load(&sender_done));
	CHECK_EQ(atomic_load(&received), STRESS_N);
	CHECK_EQ(atomic_load(&dup_or_bad), 0);
	CHECK_EQ(atomic_load(&stress_inside), 0);
	CHECK(atomic_load(&usr1_seen) > 0);
	CHECK_EQ(shim_sig_deferred, 0);
	CHECK(!is_blocked(SIGRTMIN + 1) && !is_blocked(SIGUSR1));
	deferred0 = atomic_load(&shim_sig_deferrals) - deferred0;
	CHECK(deferred0 > 0); /* the deferral path was taken */
	printf("# stress: %d queued signals, %d SIGUSR1, %lu deferred, %lu lock regions\n",
	       STRESS_N, atomic_load(&usr1_seen), deferred0, regions);
	signal(SIGRTMIN + 1, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
}

/* A fault handler forking inside another fork's window (the lock held by fork_prepare): the
 * inner fork keeps the lock, the outer one still releases it. */
static void test_fork_in_fork(void)
{
	pid_t p;
	int st;

	fault_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(fault_page != MAP_FAILED);
	install(SIGSEGV, on_segv, 0, 0);
	reset_counts();
	fault_fork_status = -2;
	fault_in_prepare = 1;
	alarm(30);
	p = fork();
	if (p == 0)
		_exit(0);
	CHECK(p > 0);
	CHECK_EQ(waitpid(p, &st, 0), p);
	CHECK_EQ(ran, 1);
	CHECK_EQ(ran_inside, 1);
	CHECK_EQ(fault_fork_status, 7);
	CHECK(!shim_lock_owned);
	shim_lock(); /* released: no wait for itself */
	shim_unlock();
	alarm(0);
	munmap(fault_page, 4096);
	signal(SIGSEGV, SIG_DFL);
}

/* A handler deferred while the thread's call is blocked in the shim still interrupts it: EINTR
 * without SA_RESTART, a restart with it. Another coroutine of the thread holds the lock while
 * the signal lands (as the idle hook does), the main one is parked in shim_block. */
static volatile sig_atomic_t ran_at_raise = -1;

static void *raiser(void *arg)
{
	(void)arg;
	shim_lock();
	raise(SIGUSR1);
	ran_at_raise = ran;
	shim_unlock();
	return NULL;
}

static void test_eintr_deferred(void)
{
	int p[2];
	uint32_t ev = EPOLLIN;

	CHECK_EQ(pipe(p), 0);
	for (int restart = 0; restart < 2; restart++) {
		int rc;

		reset_counts();
		install(SIGUSR1, on_info, restart ? SA_RESTART : 0, 0);
		CHECK_EQ(dps_go(raiser, NULL, NULL, NULL), 0);
		shim_lock();
		rc = shim_block(NULL, 0, &p[0], &ev, 1, dps_now_ns() + 10000000000ull);
		shim_unlock();
		CHECK_EQ(rc, -EINTR); /* not -ETIMEDOUT: the deferred handler interrupted it */
		CHECK_EQ(ran_at_raise, 0);
		CHECK_EQ(ran, 1);
		CHECK_EQ(ran_inside, 0);
		CHECK_EQ(shim_signal_restarts(), restart);
	}
	close(p[0]);
	close(p[1]);
	signal(SIGUSR1, SIG_DFL);
}

int main(void)
{
	RUN(test_defer_basic);
	RUN(test_coalesce_and_queue);
	RUN(test_resethand_nodefer);
	RUN(test_signal_deferred);
	RUN(test_eintr_deferred);
	RUN(test_fault_not_deferred);
	RUN(test_fork_in_handler);
	RUN(test_fork_in_fork);
	RUN(test_fork_other_thread_holds);
	RUN(test_stress);
	DONE();
}
