/* SPDX-License-Identifier: MIT */
/*
 * MOV to/from a debug register, for backends whose exit names the debug
 * register but not the GPR (SVM without DecodeAssists: cused-tramp.ko
 * intercepts DR0-3 and runs under QEMU TCG, which offers no decode assist).
 * See decode.h.
 */
#include <errno.h>
#include <string.h>
#include "cused/x86/decode.h"

int x86_decode_mov_dr(const uint8_t *bytes, size_t n, enum x86_mode mode, struct x86_mov_dr *out)
{
	bool long64 = mode == X86_MODE_LONG64;
	uint8_t rex = 0, modrm;
	size_t pos;

	memset(out, 0, sizeof(*out));
	for (pos = 0;; pos++) {
		if (pos >= X86_MAX_INSN_LEN)
			return -EINVAL;
		if (pos >= n)
			return -EAGAIN;
		switch (bytes[pos]) {
		case 0x66: case 0x67: case 0xf2: case 0xf3:
		case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
			rex = 0;        /* a REX prefix counts only right before the opcode */
			continue;
		case 0xf0:
			return -EINVAL; /* LOCK MOV DR is #UD (AMD's LOCK MOV CR8 is CR only) */
		default:
			break;
		}
		if (long64 && (bytes[pos] & 0xf0) == 0x40) {
			rex = bytes[pos];
			continue;
		}
		break;
	}
	if (pos + 3 > X86_MAX_INSN_LEN)
		return -EINVAL;
	if (pos + 3 > n)
		return -EAGAIN;
	if (bytes[pos] != 0x0f || (bytes[pos + 1] != 0x21 && bytes[pos + 1] != 0x23))
		return -EINVAL;
	if (rex & 0x04)
		return -EINVAL; /* REX.R: DR8-DR15 do not exist */
	modrm = bytes[pos + 2];
	out->len = (uint8_t)(pos + 3);
	out->to_dr = bytes[pos + 1] == 0x23;
	out->dr = (modrm >> 3) & 7;
	out->gpr = (uint8_t)((modrm & 7) | (rex & 1) << 3);
	out->wide = long64;
	return 0;
}
