/*
 * test_co_guard.c: a coroutine that overflows its stack dies of SIGSEGV at the guard page, not
 * by scribbling over whatever lies below. Each case runs in a forked child:
 *
 *   1. default SIGSEGV disposition: the child must die of SIGSEGV. Under ASan, ASan's own
 *      handler catches it first, reports "stack-overflow" and exits non-zero: accepted there.
 *   2. a SIGSEGV handler on an alternate stack checks that the faulting address lies in the
 *      guard page (the page just below dps_co_stack()'s lo) and exits 42.
 *
 * Both with the default guard (MADV_GUARD_INSTALL) and with the mprotect fallback.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "co_test.h"
#include "coroutine/co_internal.h"

static uintptr_t guard_lo, guard_hi;

static __attribute__((noinline)) int recurse(int n)
{
	volatile char buf[200];

	buf[0] = (char)n;
	if (n > 1000000000) /* never: keeps -Winfinite-recursion quiet */
		return 0;
	return recurse(n + 1) + buf[0];
}

static void *overflow(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)recurse(0);
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;

	(void)sig;
	(void)uc;
	_exit(a >= guard_lo && a < guard_hi ? 42 : 43);
}

static void child(int with_handler)
{
	struct dps_co_opts o = { .stack_size = 16 * 1024 };
	struct dps_co *c;
	void *lo;

	if (dps_go(overflow, NULL, &o, &c) != 0)
		_exit(2);
	if (dps_co_stack(c, &lo, NULL) != 0)
		_exit(3);
	guard_hi = (uintptr_t)lo;
	guard_lo = guard_hi - dps_co_page_size();
	if (with_handler) {
		static char altstack[64 * 1024];
		stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_segv;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
		sigemptyset(&sa.sa_mask);
		if (sigaltstack(&ss, NULL) != 0 || sigaction(SIGSEGV, &sa, NULL) != 0)
			_exit(4);
	}
	dps_co_join(c, NULL);
	_exit(5); /* survived the overflow: the test fails */
}

static int run_child(int with_handler)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		child(with_handler);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	return status;
}

static void test_guard(const char *mode)
{
	int status;

	status = run_child(0);
	if (WIFSIGNALED(status)) {
		CHECK_EQ(WTERMSIG(status), SIGSEGV);
		printf("%s guard, default disposition: child died of SIGSEGV\n", mode);
	} else {
		/* Only ASan may turn the SIGSEGV into a report and an exit code. */
		CHECK(TEST_ASAN);
		CHECK(WIFEXITED(status));
		CHECK(WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 5);
		printf("%s guard, default disposition: ASan reported the overflow, exit %d\n", mode,
		       WEXITSTATUS(status));
	}

	status = run_child(1);
	CHECK(WIFEXITED(status));
	if (WEXITSTATUS(status) != 42) {
		/* ASan may keep SIGSEGV for itself (allow_user_segv_handler=0): then it reports and
		 * exits like above, never with our codes 2..5 or 43. */
		CHECK(TEST_ASAN);
		CHECK(WEXITSTATUS(status) != 0 &&
		      (WEXITSTATUS(status) < 2 || WEXITSTATUS(status) > 5) &&
		      WEXITSTATUS(status) != 43);
		printf("%s guard, own handler: ASan kept SIGSEGV, exit %d\n", mode,
		       WEXITSTATUS(status));
	} else {
		printf("%s guard, own handler: fault address inside the guard page\n", mode);
	}
}

int main(void)
{
	test_guard("madvise");
	dps_co_stack_force_mprotect(true);
	test_guard("mprotect");
	printf("co_guard: all passed\n");
	return 0;
}
