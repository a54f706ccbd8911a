/* SPDX-License-Identifier: MIT */
/*
 * "features" guest: one small program per vCPU/VM feature that kvmtest
 * features checks end to end, each at a fixed entry point (FEAT_*_ENTRY in
 * layout.h).  kvmtest starts a fresh VM at one entry at a time; the 64-bit
 * ones find long mode, paging (FPT_* tables) and a stack already set up by
 * the client, the interrupt one starts in real mode with CS base 0.
 * Progress and results go out on PORT_FEAT.
 */
#include "layout.h"

#define ENTRY(addr) .org (addr) - GUEST_LOAD, 0xcc

	.text
	.globl _start
_start:

/*
 * Dirty logging: phase 1 writes pages 0, 5, 63, 64, 95 of the logged slot;
 * OUT 1; phase 2 writes nothing; OUT 2; phase 3 writes pages 5, 17, 80;
 * OUT 3; HLT.  The client takes the dirty log at each OUT.
 */
	.code64
ENTRY(FEAT_DIRTY_ENTRY)
	lea	dirty_phase1(%rip), %rsi
	call	dirty_pages
	mov	$1, %al
	out	%al, $PORT_FEAT
	mov	$2, %al
	out	%al, $PORT_FEAT
	lea	dirty_phase3(%rip), %rsi
	call	dirty_pages
	mov	$3, %al
	out	%al, $PORT_FEAT
	hlt
	jmp	.
/* write one qword (the page number) into each page listed at rsi, -1 ends */
dirty_pages:
	movsxl	(%rsi), %rcx
	test	%rcx, %rcx
	js	1f
	mov	%rcx, %rdi
	shl	$12, %rdi
	mov	%rcx, FEAT_DIRTY_GPA + 8(%rdi)
	add	$4, %rsi
	jmp	dirty_pages
1:	ret
dirty_phase1:	.long 0, 5, 63, 64, 95, -1
dirty_phase3:	.long 5, 17, 80, -1

/*
 * Single-step: the client steps through these one at a time; the OUT
 * exits to the client before its step completes.
 */
ENTRY(FEAT_STEP_ENTRY)
	mov	$1, %eax
	add	$2, %eax
	out	%al, $PORT_FEAT
	inc	%eax
	nop
	hlt
	jmp	.

/*
 * Interrupts without an irqchip (real mode): install handlers for
 * FEAT_IRQ_VEC1/2 in the IVT, OUT 1 with IF=0, STI and spin until the
 * first handler has run (the client asks for the interrupt window and
 * injects VEC1 there), OUT 2, HLT (the client injects VEC2), OUT 4, HLT.
 * Handler 1 outputs 0x31, handler 2 0x32; OUT 0xee if no interrupt came
 * within 65535 iterations of the spin.
 */
	.code16
ENTRY(FEAT_IRQ_ENTRY)
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %ss
	mov	$GUEST_STACK, %sp
	movw	$irq_handler1, FEAT_IRQ_VEC1 * 4
	movw	$0, FEAT_IRQ_VEC1 * 4 + 2
	movw	$irq_handler2, FEAT_IRQ_VEC2 * 4
	movw	$0, FEAT_IRQ_VEC2 * 4 + 2
	movb	$0, irq_seen
	mov	$1, %al
	out	%al, $PORT_FEAT
	mov	$0xffff, %cx
	sti
1:	cmpb	$0, irq_seen
	jne	2f
	loop	1b
	mov	$0xee, %al			/* no interrupt came: say so */
	out	%al, $PORT_FEAT
2:	mov	$2, %al
	out	%al, $PORT_FEAT
	hlt
	mov	$4, %al
	out	%al, $PORT_FEAT
	cli
	hlt
	jmp	.
irq_handler1:
	push	%ax
	movb	$1, irq_seen
	mov	$0x31, %al
	out	%al, $PORT_FEAT
	pop	%ax
	iret
irq_handler2:
	push	%ax
	mov	$0x32, %al
	out	%al, $PORT_FEAT
	pop	%ax
	iret
irq_seen:	.byte 0

/*
 * Read-only slot: read its first qword (-> r8), write a qword and a byte
 * (each must exit as an MMIO write), read the written places back (-> r9,
 * r10: still what the slot holds), HLT.
 */
	.code64
ENTRY(FEAT_RO_ENTRY)
	mov	FEAT_RO_GPA, %r8
	mov	$((FEAT_RO_WRITE_HI << 32) | FEAT_RO_WRITE_LO), %rbx
	mov	%rbx, FEAT_RO_GPA + 8
	movb	$0x5a, FEAT_RO_GPA + 0x10
	mov	FEAT_RO_GPA + 8, %r9
	movzbl	FEAT_RO_GPA + 0x10, %r10d
	hlt
	jmp	.

/*
 * FPU: load XMM1 from FEAT_DATA + 32 (the client put a pattern there), so
 * SSE state is in use; OUT 1.  The client sets XMM0 and FCW: FCW ->
 * FEAT_DATA, XMM0 -> FEAT_DATA + 16; OUT 2; HLT.  Only instructions KVM's
 * emulator knows (FNSTCW, MOVDQU): the reference /dev/kvm emulates this
 * guest (see features.c).
 */
ENTRY(FEAT_FPU_ENTRY)
	movdqu	FEAT_DATA + 32, %xmm1
	mov	$1, %al
	out	%al, $PORT_FEAT
	fnstcw	FEAT_DATA
	movdqu	%xmm0, FEAT_DATA + 16
	mov	$2, %al
	out	%al, $PORT_FEAT
	hlt
	jmp	.

/*
 * Registers changed mid-run: OUT 1 (the client sets RBX), output RBX's two
 * halves (OUT 4 bytes each), then OUT 0xbad (the client moves RIP to
 * FEAT_REGS_GOOD), which would go on to HLT with RAX = 0xbad.
 */
ENTRY(FEAT_REGS_ENTRY)
	mov	$0x1111, %ebx
	mov	$1, %al
	out	%al, $PORT_FEAT
	mov	%rbx, %rax
	out	%eax, $PORT_FEAT
	shr	$32, %rax
	out	%eax, $PORT_FEAT
	mov	$0xbad, %eax
	out	%eax, $PORT_FEAT
	hlt
	jmp	.
ENTRY(FEAT_REGS_GOOD)
	mov	$0x600d, %eax
	out	%eax, $PORT_FEAT
	hlt
	jmp	.

/* KVM_TRANSLATE's VM: read through the non-identity 4K page, OUT it, HLT */
ENTRY(FEAT_XLATE_ENTRY)
	mov	FEAT_XLATE_VA, %eax
	out	%eax, $PORT_FEAT
	hlt
	jmp	.
