/* SPDX-License-Identifier: MIT */
/*
 * String port I/O decoder (INS/OUTS with their prefixes), for backends
 * whose host refuses to emulate them (hostkvm on PVM).  See decode.h.
 */
#include <errno.h>
#include <string.h>
#include "cused/x86/decode.h"

int x86_decode_strio(const uint8_t *bytes, size_t n, enum x86_mode mode, struct x86_strio *out)
{
	bool long64 = mode == X86_MODE_LONG64;
	bool def16 = mode == X86_MODE_REAL16 || mode == X86_MODE_PROT16;
	bool opsize_pfx = false, addrsize_pfx = false;
	int seg = 3;    /* DS */
	size_t pos;

	memset(out, 0, sizeof(*out));
	for (pos = 0;; pos++) {
		uint8_t b;

		if (pos >= X86_MAX_INSN_LEN)
			return -EINVAL;
		if (pos >= n)
			return -EAGAIN;
		b = bytes[pos];
		switch (b) {
		case 0x66: opsize_pfx = true; continue;
		case 0x67: addrsize_pfx = true; continue;
		/* REPNE on INS/OUTS repeats just like REP */
		case 0xf2: case 0xf3: out->rep = true; continue;
		case 0x26: seg = 0; continue;
		case 0x2e: seg = 1; continue;
		case 0x36: seg = 2; continue;
		case 0x3e: seg = 3; continue;
		case 0x64: seg = 4; continue;
		case 0x65: seg = 5; continue;
		case 0xf0: return -EINVAL;  /* LOCK INS/OUTS is #UD */
		default: break;
		}
		/* REX (no effect on INS/OUTS) only counts right before the opcode */
		if (long64 && (b & 0xf0) == 0x40) {
			if (pos + 1 >= X86_MAX_INSN_LEN)
				return -EINVAL;
			if (pos + 1 >= n)
				return -EAGAIN;
			if ((bytes[pos + 1] & 0xf0) == 0x40 || bytes[pos + 1] < 0x6c ||
			    bytes[pos + 1] > 0x6f)
				return -EINVAL;
			continue;
		}
		if (b < 0x6c || b > 0x6f)
			return -EINVAL;
		out->len = (uint8_t)(pos + 1);
		out->in = b <= 0x6d;
		/* 64-bit mode has no 8-byte port I/O: REX.W is ignored */
		out->size = !(b & 1) ? 1 : (def16 != opsize_pfx) ? 2 : 4;
		out->addr_size = long64 ? (addrsize_pfx ? 4 : 8) :
				 (def16 != addrsize_pfx) ? 2 : 4;
		/* INS always stores through ES; OUTS reads seg (DS unless overridden) */
		out->seg = out->in ? 0 : (uint8_t)seg;
		return 0;
	}
}
