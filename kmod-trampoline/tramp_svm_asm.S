/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One AMD SVM world switch.
 *
 * void cused_svm_vmrun(u64 vmcb_pa, u64 *gprs, u64 host_save_pa);
 *
 * Called with IRQs off and GIF clear.  VMRUN/#VMEXIT switch only part of the
 * state; FS, GS, TR, LDTR (hidden parts too), KERNEL_GS_BASE, STAR, LSTAR,
 * CSTAR, SFMASK and SYSENTER_* are moved with VMSAVE/VMLOAD: host values go
 * to host_save_pa first and come back last, so between the two nothing here
 * may touch %gs (per-CPU data).  gprs[] holds the guest GPRs in kvm_regs
 * order (RAX and RSP live in the VMCB and are not used from the array).
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

#include "tramp_asm.h"

	.text
SYM_FUNC_START(cused_svm_vmrun)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rdx			/* 0x10(%rsp): host save area */
	push	%rsi			/* 0x08(%rsp): gprs */
	push	%rdi			/* 0x00(%rsp): vmcb */

	mov	%rdx, %rax
	vmsave	%rax			/* host FS/GS/TR/LDTR + syscall MSRs */
	mov	%rdi, %rax
	vmload	%rax			/* guest's */

	/*
	 * GIF is 0: IF=1 only takes effect in the guest (as the host's IF).
	 * Not right before VMRUN: QEMU's TCG (7.2) carries the STI interrupt
	 * shadow through VMRUN into the guest, whose first instruction then
	 * runs in a shadow (int_state 1 on an exit there, e.g. HLT straight
	 * after an OUT exit: ready_for_interrupt_injection 0 where silicon
	 * says 1).  The shadow is spent on the MOV below instead.
	 */
	sti
	mov	G_RBX(%rsi), %rbx
	mov	G_RCX(%rsi), %rcx
	mov	G_RDX(%rsi), %rdx
	mov	G_RDI(%rsi), %rdi
	mov	G_RBP(%rsi), %rbp
	mov	G_R8(%rsi),  %r8
	mov	G_R9(%rsi),  %r9
	mov	G_R10(%rsi), %r10
	mov	G_R11(%rsi), %r11
	mov	G_R12(%rsi), %r12
	mov	G_R13(%rsi), %r13
	mov	G_R14(%rsi), %r14
	mov	G_R15(%rsi), %r15
	mov	G_RSI(%rsi), %rsi

	vmrun	%rax			/* #VMEXIT restores host RAX = vmcb pa */
	cli

	vmsave	%rax			/* guest FS/GS/TR/... into the VMCB */
	push	%rsi
	mov	0x10(%rsp), %rsi	/* gprs */
	mov	%rbx, G_RBX(%rsi)
	mov	%rcx, G_RCX(%rsi)
	mov	%rdx, G_RDX(%rsi)
	mov	%rdi, G_RDI(%rsi)
	mov	%rbp, G_RBP(%rsi)
	mov	%r8,  G_R8(%rsi)
	mov	%r9,  G_R9(%rsi)
	mov	%r10, G_R10(%rsi)
	mov	%r11, G_R11(%rsi)
	mov	%r12, G_R12(%rsi)
	mov	%r13, G_R13(%rsi)
	mov	%r14, G_R14(%rsi)
	mov	%r15, G_R15(%rsi)
	pop	%rax
	mov	%rax, G_RSI(%rsi)

	mov	0x10(%rsp), %rax
	vmload	%rax			/* host's back */

	/*
	 * Speculation hygiene after leaving the guest, before any RET: stuff
	 * the RSB where the host needs it, then RETBleed/SRSO untraining
	 * (both patched per CPU bug like the rest of the kernel).
	 */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT
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
	xor	%eax, %eax

	add	$0x18, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(cused_svm_vmrun)
