/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Intel VMX world switch and host event dispatch.
 *
 * int cused_vmx_run(u64 *gprs, int launched);
 *   Called with IRQs off and the vCPU's VMCS current; every other host
 *   field is written already.  Writes HOST_RSP, loads the guest GPRs from
 *   gprs[] (kvm_regs order; RSP lives in the VMCS), VMLAUNCH or VMRESUME.
 *   Returns 0 after a VM exit (guest GPRs stored back), 1 if the
 *   instruction failed (VMfailValid/Invalid; gprs[] untouched).
 *
 * void cused_vmx_do_irq(unsigned long entry), void cused_vmx_do_nmi(void):
 *   run the host's handler for the interrupt acknowledged on VM exit, or
 *   for the NMI that caused it, on an interrupt frame built here (IRET
 *   returns with IF still 0), as KVM does.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/segment.h>
#include <asm/nospec-branch.h>
#include <asm/unwind_hints.h>

#define HOST_RSP_FIELD 0x6c14

#include "tramp_asm.h"

	.text
SYM_FUNC_START(cused_vmx_run)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rdi			/* 0x00(%rsp): gprs, found again after the exit */

	mov	$HOST_RSP_FIELD, %eax
	vmwrite	%rsp, %rax
	jbe	.Lfail_early

	test	%esi, %esi		/* ZF: not launched yet (MOVs keep flags) */
	mov	G_RAX(%rdi), %rax
	mov	G_RBX(%rdi), %rbx
	mov	G_RCX(%rdi), %rcx
	mov	G_RDX(%rdi), %rdx
	mov	G_RSI(%rdi), %rsi
	mov	G_RBP(%rdi), %rbp
	mov	G_R8(%rdi),  %r8
	mov	G_R9(%rdi),  %r9
	mov	G_R10(%rdi), %r10
	mov	G_R11(%rdi), %r11
	mov	G_R12(%rdi), %r12
	mov	G_R13(%rdi), %r13
	mov	G_R14(%rdi), %r14
	mov	G_R15(%rdi), %r15
	mov	G_RDI(%rdi), %rdi
	jz	.Llaunch
	/* a VM exit resumes at cused_vmx_exit (HOST_RIP): tell objtool */
	UNWIND_HINT_SAVE
	vmresume
	jmp	.Lfail
.Llaunch:
	vmlaunch
	jmp	.Lfail

SYM_INNER_LABEL(cused_vmx_exit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR
	/* VM exit: RSP is HOST_RSP, RFLAGS 0x2, guest GPRs in registers */
	push	%rdi
	mov	0x08(%rsp), %rdi	/* gprs */
	mov	%rax, G_RAX(%rdi)
	mov	%rbx, G_RBX(%rdi)
	mov	%rcx, G_RCX(%rdi)
	mov	%rdx, G_RDX(%rdi)
	mov	%rsi, G_RSI(%rdi)
	mov	%rbp, G_RBP(%rdi)
	mov	%r8,  G_R8(%rdi)
	mov	%r9,  G_R9(%rdi)
	mov	%r10, G_R10(%rdi)
	mov	%r11, G_R11(%rdi)
	mov	%r12, G_R12(%rdi)
	mov	%r13, G_R13(%rdi)
	mov	%r14, G_R14(%rdi)
	mov	%r15, G_R15(%rdi)
	pop	%rax
	mov	%rax, G_RDI(%rdi)
	xor	%ebx, %ebx
	jmp	.Lout

.Lfail:
	/* the instruction failed: guest values sit in the registers, drop them */
.Lfail_early:
	mov	$1, %ebx
.Lout:
	/*
	 * Speculation hygiene after leaving the guest, before any RET: stuff
	 * the RSB, RETBleed untraining (patched per CPU bug like the kernel).
	 */
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT
	UNTRAIN_RET

	/* do not leave guest values in caller-clobbered registers */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	mov	%ebx, %eax		/* untraining may clobber RAX */

	add	$0x08, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(cused_vmx_run)

/* an interrupt frame as the CPU would push it, then call the handler */
.macro CUSED_EVENT_IRQOFF call_insn call_target
	push	%rbp
	mov	%rsp, %rbp
	and	$-16, %rsp
	push	$__KERNEL_DS
	push	%rbp
	pushf
	push	$__KERNEL_CS
	\call_insn \call_target
	mov	%rbp, %rsp
	pop	%rbp
	RET
.endm

SYM_FUNC_START(cused_vmx_do_irq)
	CUSED_EVENT_IRQOFF CALL_NOSPEC _ASM_ARG1
SYM_FUNC_END(cused_vmx_do_irq)

SYM_FUNC_START(cused_vmx_do_nmi)
	CUSED_EVENT_IRQOFF call asm_exc_nmi_noist
SYM_FUNC_END(cused_vmx_do_nmi)
