/* SPDX-License-Identifier: MIT */
#include "cused/x86/pvclock.h"

void pvclock_time_scale(uint64_t scaled_hz, uint64_t base_hz, int8_t *pshift, uint32_t *pmul)
{
	uint64_t scaled64 = scaled_hz, tps64 = base_hz;
	int32_t shift = 0;
	uint32_t tps32;

	while (tps64 > scaled64 * 2 || (tps64 & 0xffffffff00000000ULL)) {
		tps64 >>= 1;
		shift--;
	}
	tps32 = (uint32_t)tps64;
	while (tps32 <= scaled64 || (scaled64 & 0xffffffff00000000ULL)) {
		if ((scaled64 & 0xffffffff00000000ULL) || (tps32 & 0x80000000))
			scaled64 >>= 1;
		else
			tps32 <<= 1;
		shift++;
	}
	*pshift = (int8_t)shift;
	/* div_frac: scaled64 < tps32 here, so the quotient fits 32 bits */
	*pmul = (uint32_t)((scaled64 << 32) / tps32);
}

uint64_t pvclock_scale_delta(uint64_t delta, uint32_t mul, int8_t shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

uint64_t pvclock_read(const struct pvclock_vcpu_time_info *p, uint64_t tsc)
{
	return p->system_time +
	       pvclock_scale_delta(tsc - p->tsc_timestamp, p->tsc_to_system_mul, p->tsc_shift);
}

/* nsec_to_cycles */
static uint64_t ns_to_cycles(uint32_t khz, uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * khz / 1000000);
}

static void record(struct tsc_sync *s, uint32_t khz, int64_t offset, uint64_t tsc, uint64_t ns,
		   bool matched)
{
	s->last_ns = ns;
	s->last_write = tsc;
	s->last_khz = khz;
	s->last_offset = offset;
	if (!matched)
		s->cur_offset = offset;
}

int64_t tsc_sync_write(struct tsc_sync *s, uint32_t khz, uint64_t data, uint64_t host_tsc,
		       uint64_t ns)
{
	int64_t offset = (int64_t)(data - host_tsc);
	bool synchronizing, matched = false;

	if (data == 0) {
		/* vCPU creation or hotplug: join the others */
		synchronizing = true;
	} else {
		uint64_t expected = s->last_write + ns_to_cycles(khz, ns - s->last_ns);
		uint64_t hz = (uint64_t)khz * 1000;

		/* within a second of where the last written TSC would be now */
		synchronizing = data < expected + hz && data + hz > expected;
	}
	if (synchronizing && khz == s->last_khz) {
		/* a reliable host TSC: match the offset exactly */
		offset = s->cur_offset;
		matched = true;
	}
	record(s, khz, offset, data, ns, matched);
	return offset;
}

void tsc_sync_set_offset(struct tsc_sync *s, uint32_t khz, int64_t offset, uint64_t host_tsc,
			 uint64_t ns)
{
	bool matched = khz && s->last_khz == khz && s->last_offset == offset;

	record(s, khz, offset, host_tsc + (uint64_t)offset, ns, matched);
}
