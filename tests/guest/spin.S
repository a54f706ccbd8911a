/* SPDX-License-Identifier: MIT */
/*
 * "spin" guest for the exit round-trip benchmark: OUT to PORT_SPIN in an
 * endless loop; every iteration is one KVM_EXIT_IO.  AL counts up so the
 * client can check it sees every exit.  Real mode, entered at GUEST_LOAD.
 */
#include "layout.h"

	.text
	.code16
	.globl _start
_start:
	cli
	xor	%ax, %ax
1:	out	%al, $PORT_SPIN
	inc	%al
	jmp	1b
