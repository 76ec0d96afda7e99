/*
 * context.h: the machine-dependent part of a coroutine: switching stacks and building the first
 * frame of a new one. The switch itself is in switch_<arch>.S, which documents the frame.
 */
#ifndef DPS_COROUTINE_CONTEXT_H
#define DPS_COROUTINE_CONTEXT_H

#include <stdint.h>
#include <string.h>

#if !defined(__x86_64__)
#error \
    "dpsock coroutines: only the x86-64 context switch is written (see coroutine/switch_x86_64.S)"
#endif

/* Suspend the running context (its stack pointer goes to *save_sp) and resume load_sp. */
void dps_co_switch(void **save_sp, void *load_sp) __attribute__((visibility("hidden")));
/* First return address of a new context: calls r12(r13). Never called directly. */
void dps_co_trampoline(void) __attribute__((visibility("hidden")));

/* Slots of the frame dps_co_switch pops, from the saved stack pointer up (8 bytes each). */
enum ctx_slot {
	CTX_FPCW,
	CTX_R15,
	CTX_R14,
	CTX_R13,
	CTX_R12,
	CTX_RBX,
	CTX_RBP,
	CTX_RET,
	CTX_NSLOTS
};

/*
 * Build the frame of a new context whose stack ends at top (exclusive) so that switching to the
 * returned stack pointer calls entry(arg). The FP control words are inherited from the caller,
 * as POSIX specifies for a new thread's floating-point environment.
 */
static inline void *ctx_init(void *top, void (*entry)(void *), void *arg)
{
	uintptr_t t = (uintptr_t)top & ~(uintptr_t)15;
	uint64_t *sp;
	uint32_t mxcsr;
	uint16_t fpcw;

	/* 16 zero bytes on top (the trampoline's null return address), then the frame. After the
	 * frame is popped, rsp = t - 16, 16-byte aligned, as dps_co_trampoline expects. */
	sp = (uint64_t *)(t - 16) - CTX_NSLOTS;
	memset(sp, 0, (CTX_NSLOTS + 2) * sizeof(*sp));
	__asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
	__asm__ volatile("fnstcw %0" : "=m"(fpcw));
	sp[CTX_FPCW] = (uint64_t)mxcsr | (uint64_t)fpcw << 32;
	sp[CTX_R12] = (uint64_t)(uintptr_t)entry;
	sp[CTX_R13] = (uint64_t)(uintptr_t)arg;
	sp[CTX_RBP] = 0; /* ends frame-pointer chains */
	sp[CTX_RET] = (uint64_t)(uintptr_t)dps_co_trampoline;
	return sp;
}

#endif /* DPS_COROUTINE_CONTEXT_H */
