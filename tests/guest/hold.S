/* SPDX-License-Identifier: MIT */
/*
 * "hold" guest: one OUT to PORT_HOLD (so the client knows it has entered the
 * guest), then a tight loop with no exits at all: the vCPU thread stays
 * inside KVM_RUN until the process is killed.  Real mode, at GUEST_LOAD.
 */
#include "layout.h"

	.text
	.code16
	.globl _start
_start:
	cli
	mov	$0x4f4b, %ax
	out	%al, $PORT_HOLD
1:	jmp	1b
