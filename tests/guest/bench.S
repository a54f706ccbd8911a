/* SPDX-License-Identifier: MIT */
/*
 * Benchmark guest: one loop per BG_* benchmark (bench.h).  Each loop does
 * one operation per iteration so the client's time / iterations is the cost
 * of that operation (its exit, or its interrupt round trip).  64-bit code
 * entered by the client (see bench.h); R8 = BMMIO_ADDR, R9 = BLAPIC
 * throughout (MMIO addresses above 2 GiB cannot be absolute operands here).
 */
#include "layout.h"
#include "bench.h"

	.text
	.code64
	.globl _start
_start:
	mov	$BMMIO_ADDR, %r8d
	mov	$BLAPIC, %r9d
	cmp	$BG_MAX, %edi
	jae	fail
	jmp	*bench_table(, %rdi, 8)

fail:	mov	$1, %al
	out	%al, $BPORT_DONE
	jmp	fail
done:	xor	%al, %al
	out	%al, $BPORT_DONE
	jmp	done
start:	out	%al, $BPORT_START
	ret

b_pio:
	call	start
1:	out	%al, $BPORT_PIO
	dec	%ebp
	jnz	1b
	jmp	done

b_mmio_write:
	call	start
1:	movl	%ebp, (%r8)
	dec	%ebp
	jnz	1b
	jmp	done

b_mmio_read:
	call	start
1:	movl	(%r8), %eax
	dec	%ebp
	jnz	1b
	jmp	done

b_cpuid:
	call	start
1:	xor	%eax, %eax
	xor	%ecx, %ecx
	cpuid
	dec	%ebp
	jnz	1b
	jmp	done

b_rdmsr:
	call	start
1:	mov	$BMSR, %ecx
	rdmsr
	dec	%ebp
	jnz	1b
	jmp	done

b_wrmsr:
	call	start
1:	mov	$BMSR, %ecx
	mov	$BMSR_VALUE, %eax
	xor	%edx, %edx
	wrmsr
	dec	%ebp
	jnz	1b
	jmp	done

b_compute:
	call	start
	xor	%eax, %eax
1:	add	%ebp, %eax
	rol	$3, %eax
	dec	%ebp
	jnz	1b
	jmp	done

/* continue at CPL 3 at the return address (registers kept); such code ends
 * with user_done */
to_user:
	pop	%rax
	pushq	$(0x18 | 3)			/* SS */
	pushq	$BUSER_STACK
	pushq	$0x2				/* RFLAGS */
	pushq	$(0x20 | 3)			/* CS */
	push	%rax
	iretq
user_done:
	movl	%eax, BMMIO_DONE - BMMIO_ADDR(%r8)
	jmp	user_done

/* the same loop in user mode (CPL 3): what a guest's applications run */
b_compute_user:
	call	start
	call	to_user
	xor	%eax, %eax
1:	add	%ebp, %eax
	rol	$3, %eax
	dec	%ebp
	jnz	1b
	jmp	user_done

/* at CPL 3: the host runs it natively even where it emulates guest kernel code */
b_touch:
	call	start
	call	to_user
	mov	%ebx, %ebx
1:	movl	%ebp, (%rbx)
	add	$4096, %rbx
	dec	%ebp
	jnz	1b
	jmp	user_done

/* LAPIC one-shot timer: arm, HLT until the count ISR ran, EBP times */
b_timer:
	call	irq_setup
	movl	$0xb, 0x3e0(%r9)		/* divide by 1 */
	movl	$BVEC_COUNT, 0x320(%r9)		/* one-shot, unmasked */
	call	start
1:	mov	BDATA_COUNT, %edx
	movl	$BTIMER_COUNT, 0x380(%r9)
2:	sti
	hlt
	cli
	cmp	BDATA_COUNT, %edx
	je	2b
	dec	%ebp
	jnz	1b
	jmp	done

/* vCPU 0 sends BVEC_COUNT to APIC 1, whose ISR answers with BVEC_COUNT */
b_ipi:
	call	irq_setup
	test	%esi, %esi
	jnz	ipi_ap
1:	pause
	cmpl	$1, BDATA_READY
	jne	1b
	call	start
2:	mov	BDATA_COUNT, %edx
	movl	$(1 << 24), 0x310(%r9)
	movl	$(BVEC_COUNT | 0x4000), 0x300(%r9)	/* fixed, physical, assert */
3:	sti
	hlt
	cli
	cmp	BDATA_COUNT, %edx
	je	3b
	dec	%ebp
	jnz	2b
	movl	$(1 << 24), 0x310(%r9)
	movl	$(BVEC_STOP | 0x4000), 0x300(%r9)
	jmp	done
ipi_ap:
	movl	$1, BDATA_READY
1:	sti
	hlt
	jmp	1b

/* virtio-style doorbell: the store wakes the client's ioeventfd, its irqfd
 * raises BVEC_COUNT through an MSI route */
b_doorbell:
	call	irq_setup
	call	start
1:	mov	BDATA_COUNT, %edx
	movl	%ebp, BMMIO_DOORBELL - BMMIO_ADDR(%r8)
2:	sti
	hlt
	cli
	cmp	BDATA_COUNT, %edx
	je	2b
	dec	%ebp
	jnz	1b
	jmp	done

/* IDT with the benchmark vectors, LAPIC software-enabled */
irq_setup:
	lidt	idt_desc
	mov	$isr_count, %eax
	mov	$BVEC_COUNT, %ecx
	call	set_gate
	mov	$isr_stop, %eax
	mov	$BVEC_STOP, %ecx
	call	set_gate
	mov	$isr_spurious, %eax
	mov	$0xff, %ecx
	call	set_gate
	movl	$0x1ff, 0xf0(%r9)		/* SVR: enable, spurious vector 0xff */
	ret

/* EAX = handler (below 4 GiB), ECX = vector: a 64-bit interrupt gate, selector 8 */
set_gate:
	shl	$4, %ecx
	lea	BIDT(%rcx), %rdx
	push	%rax
	and	$0xffff, %eax
	or	$0x80000, %eax
	mov	%eax, (%rdx)
	pop	%rax
	and	$0xffff0000, %eax
	or	$0x8e00, %eax
	mov	%eax, 4(%rdx)
	movq	$0, 8(%rdx)
	ret

isr_count:
	push	%rax
	mov	$BLAPIC, %eax
	mov	0x20(%rax), %eax
	shr	$24, %eax
	incl	BDATA_COUNT(, %rax, 4)
	push	%rdx
	mov	$BLAPIC, %edx
	movl	$0, 0xb0(%rdx)			/* EOI */
	test	%eax, %eax
	jz	1f
	movl	$0, 0x310(%rdx)			/* APIC 1 answers APIC 0 */
	movl	$(BVEC_COUNT | 0x4000), 0x300(%rdx)
1:	pop	%rdx
	pop	%rax
	iretq

isr_stop:
	movl	$0, 0xb0(%r9)
	jmp	done

isr_spurious:
	iretq

	.balign	8
bench_table:
	.quad	b_pio, b_mmio_write, b_mmio_read, b_cpuid, b_rdmsr, b_wrmsr
	.quad	b_compute, b_touch, b_timer, b_ipi, b_doorbell, b_compute_user

idt_desc:
	.word	256 * 16 - 1
	.quad	BIDT
