/* SPDX-License-Identifier: MIT */
/*
 * "smp" guest: the same code runs on every vCPU; the client puts the vCPU id
 * in SI before the first KVM_RUN.  Each vCPU does SMP_ITERS iterations of:
 *   OUT <id> to PORT_SMP; counters[id]++ (plain); LOCK shared++
 * then HLT.  Real mode, entered at GUEST_LOAD with CS base 0.
 */
#include "layout.h"

	.text
	.code16
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%si, %bx
	shl	$2, %bx
	mov	$SMP_ITERS, %cx
1:	mov	%si, %ax
	out	%al, $PORT_SMP
	incl	SMP_COUNTERS(%bx)
	lock incl SMP_SHARED
	loop	1b
	hlt
	jmp	.
