/* SPDX-License-Identifier: MIT */
/*
 * "mbhello": a multiboot (v1) ELF32 kernel for QEMU's -kernel loader, run
 * by tests/integration/qemu-test.sh under unmodified QEMU on the host's
 * /dev/kvm and on cused.  QEMU's multiboot option ROM enters it in 32-bit
 * protected mode, flat segments, paging off, after SeaBIOS ran (so the
 * BIOS's PIT, PIC, RTC, PCI and SMP setup already went through the KVM
 * API).  It prints MBHELLO_MARK on COM1, takes PIT IRQ0 through the 8259
 * (remapped to vector 0x20) TICKS times with STI;HLT, prints "ticks ok",
 * then writes EXIT_VAL to isa-debug-exit at 0xf4: QEMU exits with status
 * (EXIT_VAL << 1) | 1 = 0x21 = 33.
 */
#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00000003	/* page-aligned modules, memory info */
#define COM1		0x3f8
#define DEBUG_EXIT	0xf4
#define EXIT_VAL	0x10
#define TICKS		3

	.section .text
	.code32
	.align 4
mb_header:
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)

	.globl _start
_start:
	cli
	mov	$stack_top, %esp
	mov	$msg_hello, %esi
	call	puts

	/* IDT: every vector to a "spurious" stub, vector 0x20 to the tick */
	mov	$idt, %edi
	xor	%ecx, %ecx
1:	mov	%ecx, %eax
	shl	$4, %eax
	add	$stubs, %eax
	cmp	$0x20, %ecx
	jne	2f
	mov	$tick, %eax
2:	mov	%ax, (%edi)
	movw	%cs, 2(%edi)
	movw	$0x8e00, 4(%edi)	/* present, DPL0, 32-bit interrupt gate */
	shr	$16, %eax
	mov	%ax, 6(%edi)
	add	$8, %edi
	inc	%ecx
	cmp	$256, %ecx
	jne	1b
	lidt	idt_desc

	/* 8259: ICW1-4, master at 0x20, slave at 0x28, only IRQ0 unmasked */
	mov	$0x11, %al
	out	%al, $0x20
	out	%al, $0xa0
	mov	$0x20, %al
	out	%al, $0x21
	mov	$0x28, %al
	out	%al, $0xa1
	mov	$0x04, %al
	out	%al, $0x21
	mov	$0x02, %al
	out	%al, $0xa1
	mov	$0x01, %al
	out	%al, $0x21
	out	%al, $0xa1
	mov	$0xfe, %al
	out	%al, $0x21
	mov	$0xff, %al
	out	%al, $0xa1

	/* PIT channel 0, mode 2, ~1 kHz */
	mov	$0x34, %al
	out	%al, $0x43
	mov	$(1193182 / 1000) & 0xff, %al
	out	%al, $0x40
	mov	$(1193182 / 1000) >> 8, %al
	out	%al, $0x40

3:	cmpl	$TICKS, ticks
	jae	8f
	sti
	hlt
	jmp	3b		/* a wakeup that was not the tick */
8:	cli

	mov	$msg_ticks, %esi
	call	puts
	mov	$EXIT_VAL, %al
	out	%al, $DEBUG_EXIT
	/* no isa-debug-exit device: stop here */
4:	cli
	hlt
	jmp	4b

/*
 * The tick only ever interrupts the HLT above, so it drops its frame and
 * jumps back instead of IRET: the PVM host's instruction emulator, which runs
 * this kernel-mode code, handles IRET in real mode only (Linux's em_iret).
 */
tick:
	add	$12, %esp		/* EIP, CS, EFLAGS */
	incl	ticks
	mov	$0x20, %al		/* non-specific EOI */
	out	%al, $0x20
	jmp	3b

/* one 16-byte stub per vector: push the vector, go to "unexpected" */
	.align	16
stubs:
	.set	vec, 0
	.rept	256
	.byte	0x68		/* push imm32 */
	.long	vec
	jmp	unexpected
	.align	16
	.set	vec, vec + 1
	.endr

/* print "unexpected interrupt 0xNN" (the stub's vector) and exit 0x7f */
unexpected:
	mov	$msg_unexpected, %esi
	call	puts
	pop	%eax
	mov	$hex + 2, %edi
	mov	%al, %ah
	shr	$4, %al
	call	hexdigit
	mov	%ah, %al
	and	$0xf, %al
	call	hexdigit
	mov	$hex, %esi
	call	puts
	mov	$0x7f, %al
	out	%al, $DEBUG_EXIT
	jmp	4b

/* hexdigit: AL (0-15) as a hex digit at (EDI)+ */
hexdigit:
	add	$'0', %al
	cmp	$'9', %al
	jbe	1f
	add	$'a' - '9' - 1, %al
1:	stosb
	ret

/* puts: ESI = NUL-terminated string, out on COM1 when its THR is empty */
puts:
	push	%eax
	push	%edx
5:	lodsb
	test	%al, %al
	jz	7f
	mov	%al, %ah
	mov	$COM1 + 5, %dx
6:	in	%dx, %al
	test	$0x20, %al
	jz	6b
	mov	$COM1, %dx
	mov	%ah, %al
	out	%al, %dx
	jmp	5b
7:	pop	%edx
	pop	%eax
	ret

	.section .data
msg_hello:	.asciz "MBHELLO: protected mode\n"
msg_ticks:	.asciz "MBHELLO: ticks ok\n"
msg_unexpected:	.asciz "MBHELLO: unexpected interrupt "
hex:		.asciz "0x??\n"
	.align 8
idt_desc:
	.word	256 * 8 - 1
	.long	idt
	.align 4
ticks:	.long	0

	.section .bss
	.align 16
idt:	.space	256 * 8
	.space	4096
stack_top:
