/*
 * switch_x86_64.S: the coroutine context switch, x86-64 System V ABI.
 *
 * A suspended context is nothing but its stack pointer: everything else the ABI says must
 * survive a call is pushed on the context's own stack before the switch, in this frame
 * (offsets from the saved stack pointer, which is 16-byte aligned):
 *
 *   +56  return address  where the context resumes (pushed by the `call dps_co_switch`)
 *   +48  rbp             frame pointer (callee-saved)
 *   +40  rbx             callee-saved
 *   +32  r12             callee-saved; entry function of a new context
 *   +24  r13             callee-saved; argument of that function in a new context
 *   +16  r14             callee-saved
 *    +8  r15             callee-saved
 *    +0  MXCSR (bytes 0-3) and x87 control word (bytes 4-5): the SSE and x87 control bits
 *        (rounding mode, exception masks, precision) are callee-saved too (ABI §3.2.1).
 *        The status bits saved with them are harmless: nobody expects them to survive.
 *
 * Caller-saved registers (rax, rcx, rdx, rsi, rdi, r8-r11, xmm/ymm/zmm, x87 stack) need no
 * saving: to the compiler dps_co_switch is an ordinary function call. The red zone is not an
 * issue: the caller made a call, so nothing lives below its stack pointer.
 *
 * A new context's frame is built by ctx_init() (context.h) with the return address pointing at
 * dps_co_trampoline, which calls r12(r13) on a 16-byte aligned stack.
 *
 * Not compatible with CET shadow stacks (the ret goes to another stack's return address);
 * Linux only enables them for binaries marked SHSTK, and this object carries no such mark.
 */
#ifndef __x86_64__
#error "switch_x86_64.S is for x86-64 only"
#endif

	.text

/*
 * void dps_co_switch(void **save_sp, void *load_sp)
 *   rdi = save_sp: where to store the suspended (current) context's stack pointer
 *   rsi = load_sp: the stack pointer of the context to resume, as saved by an earlier call
 *         (or built by ctx_init)
 * Returns when some other context switches back to the one suspended here.
 */
	.p2align 4
	.globl	dps_co_switch
	.hidden	dps_co_switch
	.type	dps_co_switch, @function
dps_co_switch:
	.cfi_startproc
	/* +56: the return address, already pushed by our caller's call instruction. */
	pushq	%rbp			/* +48 */
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset rbp, 0
	pushq	%rbx			/* +40 */
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset rbx, 0
	pushq	%r12			/* +32 */
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset r12, 0
	pushq	%r13			/* +24 */
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset r13, 0
	pushq	%r14			/* +16 */
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset r14, 0
	pushq	%r15			/* +8 */
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset r15, 0
	subq	$8, %rsp		/* +0: room for the FP control words */
	.cfi_adjust_cfa_offset 8
	stmxcsr	(%rsp)			/* +0..3: MXCSR */
	fnstcw	4(%rsp)			/* +4..5: x87 control word */

	movq	%rsp, (%rdi)		/* *save_sp = our frame: this context is now suspended */
	movq	%rsi, %rsp		/* switch stacks: from here on we run the other context */

	ldmxcsr	(%rsp)			/* +0: its MXCSR */
	fldcw	4(%rsp)			/* +4: its x87 control word */
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	popq	%r15			/* +8 */
	.cfi_adjust_cfa_offset -8
	.cfi_restore r15
	popq	%r14			/* +16 */
	.cfi_adjust_cfa_offset -8
	.cfi_restore r14
	popq	%r13			/* +24 */
	.cfi_adjust_cfa_offset -8
	.cfi_restore r13
	popq	%r12			/* +32 */
	.cfi_adjust_cfa_offset -8
	.cfi_restore r12
	popq	%rbx			/* +40 */
	.cfi_adjust_cfa_offset -8
	.cfi_restore rbx
	popq	%rbp			/* +48 */
	.cfi_adjust_cfa_offset -8
	.cfi_restore rbp
	ret				/* +56: resume where that context called dps_co_switch */
	.cfi_endproc
	.size	dps_co_switch, .-dps_co_switch

/*
 * dps_co_trampoline: where a new context "returns" to on its first switch.
 *   r12 = entry function, void entry(void *arg); it must never return
 *   r13 = arg
 *   rsp = 16-byte aligned, with 16 zero bytes above it (a null return address for debuggers)
 */
	.p2align 4
	.globl	dps_co_trampoline
	.hidden	dps_co_trampoline
	.type	dps_co_trampoline, @function
dps_co_trampoline:
	.cfi_startproc
	.cfi_undefined rip		/* outermost frame: unwinders and backtraces stop here */
	movq	%r13, %rdi		/* first argument */
	callq	*%r12			/* entry(arg); the call re-aligns rsp to 8 mod 16 as the ABI wants */
	ud2				/* entry returned: a bug, trap loudly */
	.cfi_endproc
	.size	dps_co_trampoline, .-dps_co_trampoline

	.section .note.GNU-stack, "", @progbits
