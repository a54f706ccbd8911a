/* SPDX-License-Identifier: MIT */
/*
 * SSE zero idioms (PXOR/XORPS/XORPD of a register with itself), for a host
 * that refuses to run them (hostkvm on PVM).  See decode.h.
 */
#include <errno.h>
#include "cused/x86/decode.h"

int x86_decode_xmm_zero(const uint8_t *bytes, size_t n, enum x86_mode mode, uint8_t *xmm,
			uint8_t *len)
{
	bool opsize = false;
	uint8_t rex = 0, modrm, reg, rm;
	size_t pos = 0;

	while (pos < n && bytes[pos] == 0x66 && pos < 4) {
		opsize = true;
		pos++;
	}
	if (mode == X86_MODE_LONG64 && pos < n && (bytes[pos] & 0xf0) == 0x40)
		rex = bytes[pos++];
	if (pos + 3 > n)
		return pos + 3 > X86_MAX_INSN_LEN ? -EINVAL : -EAGAIN;
	if (bytes[pos] != 0x0f)
		return -EINVAL;
	/* 66 0F EF: PXOR; 0F 57: XORPS; 66 0F 57: XORPD (0F EF alone is the MMX form) */
	if (!(bytes[pos + 1] == 0x57 || (bytes[pos + 1] == 0xef && opsize)))
		return -EINVAL;
	modrm = bytes[pos + 2];
	reg = ((modrm >> 3) & 7) | (rex & 4 ? 8 : 0);
	rm = (modrm & 7) | (rex & 1 ? 8 : 0);
	if ((modrm >> 6) != 3 || reg != rm)
		return -EINVAL;
	*xmm = reg;
	*len = (uint8_t)(pos + 3);
	return 0;
}
