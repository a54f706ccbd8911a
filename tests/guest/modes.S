/* SPDX-License-Identifier: MIT */
/*
 * "modes" guest: walks the x86 boot modes by itself and exercises every exit
 * kind a simple VMM handles.  Loaded and entered at GUEST_LOAD in real mode
 * with CS base 0 (see kvmtest.c).
 *
 *   real mode  : prints "real\n" on PORT_CONSOLE (one OUT per byte)
 *   -> 32-bit protected mode through a GDT: prints "prot\n"
 *   -> builds 4-level page tables (identity map of 0..1 GiB with 2 MiB pages,
 *      plus MMIO_ADDR), sets CR4.PAE, EFER.LME, CR0.PG, far-jumps to 64-bit
 *      code: prints "long\n"
 *   64-bit     : MMIO write 4 + write 8 at MMIO_ADDR (not RAM), MMIO read 4
 *                (-> r8) and read 8 (-> r9); IN 4 bytes from PORT_IN (-> r10);
 *                REP OUTSB "rep\n" to PORT_CONSOLE (one exit, count 4);
 *                REP INSW 3 words from PORT_IN to STRIO_BUF (-> rbp);
 *                WRMSR/RDMSR of SYSENTER_ESP (-> r11), MTRRdefType (-> r12),
 *                STAR (-> r13); RDMSR MISC_ENABLE (-> r14), EFER (-> r15)
 *                then HLT.
 * Results stay in registers so the client's final KVM_GET_REGS shows them.
 */
#include "layout.h"

	.text
	.code16
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$GUEST_STACK, %sp
	mov	$msg_real, %si
1:	lodsb
	test	%al, %al
	jz	2f
	out	%al, $PORT_CONSOLE
	jmp	1b
2:
	lgdtl	gdt_desc
	mov	%cr0, %eax
	or	$1, %eax		/* CR0.PE */
	mov	%eax, %cr0
	ljmpl	$0x08, $prot32

	.code32
prot32:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %fs
	mov	%ax, %gs
	mov	%ax, %ss
	mov	$GUEST_STACK, %esp
	mov	$msg_prot, %esi
	call	puts32

	/* page tables: clear four pages from PT_PML4 */
	mov	$PT_PML4, %edi
	xor	%eax, %eax
	mov	$(4 * 4096 / 4), %ecx
	cld
	rep stosl
	movl	$(PT_PDPT | 3), PT_PML4		/* P | RW */
	movl	$(PT_PD0 | 3), PT_PDPT
	movl	$(PT_PD3 | 3), PT_PDPT + 3 * 8
	mov	$PT_PD0, %edi
	mov	$0x83, %eax			/* P | RW | PS */
	mov	$512, %ecx
3:	mov	%eax, (%edi)
	add	$0x200000, %eax
	add	$8, %edi
	loop	3b
	movl	$(MMIO_ADDR | 0x9b), PT_PD3 + ((MMIO_ADDR - 0xc0000000) >> 21) * 8 /* + PWT|PCD */

	mov	$PT_PML4, %eax
	mov	%eax, %cr3
	mov	%cr4, %eax
	or	$0x20, %eax			/* CR4.PAE */
	mov	%eax, %cr4
	mov	$MSR_EFER_, %ecx
	rdmsr
	or	$0x100, %eax			/* EFER.LME */
	wrmsr
	mov	%cr0, %eax
	or	$0x80000000, %eax		/* CR0.PG */
	mov	%eax, %cr0
	ljmp	$0x18, $long64

puts32:
	lodsb
	test	%al, %al
	jz	1f
	out	%al, $PORT_CONSOLE
	jmp	puts32
1:	ret

	.code64
long64:
	mov	$0x10, %ax
	mov	%ax, %ss
	mov	$GUEST_STACK, %rsp
	lea	msg_long(%rip), %rsi
1:	lodsb
	test	%al, %al
	jz	2f
	out	%al, $PORT_CONSOLE
	jmp	1b
2:
	/* MMIO: nothing backs MMIO_ADDR, so each access is a KVM_EXIT_MMIO */
	mov	$MMIO_ADDR, %ebx
	movl	$MMIO_WRITE4, (%rbx)
	mov	$((MMIO_WRITE8_HI << 32) | MMIO_WRITE8_LO), %rax
	mov	%rax, 8(%rbx)
	mov	(%rbx), %r8d
	mov	8(%rbx), %r9

	/* port input */
	mov	$PORT_IN, %dx
	in	%dx, %eax
	mov	%eax, %r10d

	/* string port I/O: one exit each with count > 1 */
	lea	msg_rep(%rip), %rsi
	mov	$4, %ecx
	mov	$PORT_CONSOLE, %dx
	rep outsb
	mov	$STRIO_BUF, %edi
	mov	$3, %ecx
	mov	$PORT_IN, %dx
	rep insw
	mov	STRIO_BUF, %rbp

	/* MSRs */
	mov	$MSR_SYSENTER_ESP_, %ecx
	mov	$SYSENTER_ESP_LO, %eax
	mov	$SYSENTER_ESP_HI, %edx
	wrmsr
	xor	%eax, %eax
	xor	%edx, %edx
	rdmsr
	shl	$32, %rdx
	or	%rax, %rdx
	mov	%rdx, %r11

	mov	$MSR_MTRR_DEF_TYPE_, %ecx
	mov	$MTRR_DEF_TYPE_VALUE, %eax
	xor	%edx, %edx
	wrmsr
	xor	%eax, %eax
	rdmsr
	shl	$32, %rdx
	or	%rax, %rdx
	mov	%rdx, %r12

	mov	$MSR_STAR_, %ecx
	mov	$STAR_VALUE_LO, %eax
	mov	$STAR_VALUE_HI, %edx
	wrmsr
	xor	%eax, %eax
	xor	%edx, %edx
	rdmsr
	shl	$32, %rdx
	or	%rax, %rdx
	mov	%rdx, %r13

	mov	$MSR_MISC_ENABLE_, %ecx
	rdmsr
	shl	$32, %rdx
	or	%rax, %rdx
	mov	%rdx, %r14

	mov	$MSR_EFER_, %ecx
	rdmsr
	shl	$32, %rdx
	or	%rax, %rdx
	mov	%rdx, %r15

	xor	%eax, %eax
	xor	%edx, %edx
	mov	$0x600d, %ecx			/* "good": reached the end */
	hlt
	jmp	.

	.section .rodata
	.balign 8
gdt:
	.quad	0				/* 0x00 null */
	.quad	0x00cf9b000000ffff		/* 0x08 code32, 4 GiB, accessed */
	.quad	0x00cf93000000ffff		/* 0x10 data, 4 GiB, accessed */
	.quad	0x00af9b000000ffff		/* 0x18 code64 (L=1), accessed */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt
msg_real:	.asciz "real\n"
msg_prot:	.asciz "prot\n"
msg_long:	.asciz "long\n"
msg_rep:	.ascii "rep\n"
