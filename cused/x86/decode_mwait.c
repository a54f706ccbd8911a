/* SPDX-License-Identifier: MIT */
/*
 * MONITOR and MWAIT, which KVM intercepts and retires as a NOP (or #UD),
 * for a host whose emulator refuses them (hostkvm on PVM).  See decode.h.
 */
#include <errno.h>
#include "cused/x86/decode.h"

/* prefixes that do not change what MONITOR/MWAIT are: segment, operand and address size */
static bool harmless_prefix(uint8_t b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65: case 0x66: case 0x67:
		return true;
	default:
		return false;
	}
}

int x86_decode_monitor_mwait(const uint8_t *bytes, size_t n, enum x86_mode mode, bool *mwait,
			     uint8_t *len)
{
	size_t pos = 0;

	/* LOCK, REP and REPNE make them #UD: not ours to retire */
	while (pos < n && pos < X86_MAX_INSN_LEN && harmless_prefix(bytes[pos]))
		pos++;
	if (mode == X86_MODE_LONG64 && pos < n && (bytes[pos] & 0xf0) == 0x40)
		pos++;
	if (pos + 3 > X86_MAX_INSN_LEN)
		return -EINVAL;
	if (pos + 3 > n)
		return -EAGAIN;
	if (bytes[pos] != 0x0f || bytes[pos + 1] != 0x01 ||
	    (bytes[pos + 2] != 0xc8 && bytes[pos + 2] != 0xc9))
		return -EINVAL;
	*mwait = bytes[pos + 2] == 0xc9;
	*len = (uint8_t)(pos + 3);
	return 0;
}
