/* SPDX-License-Identifier: MIT */
#include "cused/x86/msr_values.h"

uint64_t msr_gpa_reserved(unsigned maxphyaddr)
{
	return maxphyaddr >= 64 ? 0 : ~0ULL << maxphyaddr;
}

uint64_t msr_canonical(uint64_t addr, unsigned vaddr_bits)
{
	unsigned shift = 64 - vaddr_bits;

	return (uint64_t)((int64_t)(addr << shift) >> shift);
}

bool msr_pat_valid(uint64_t pat)
{
	if (pat & 0xF8F8F8F8F8F8F8F8ULL)
		return false;
	/* types 2 and 3 are reserved: bit 1 set requires bit 2 set */
	return (pat | ((pat & 0x0202020202020202ULL) << 1)) == pat;
}

bool msr_mtrr_type_valid(uint8_t t)
{
	return t < 8 && ((1u << t) & 0x73);
}

bool msr_mtrr_def_valid(uint64_t v)
{
	/* type[7:0], FE[10], E[11] */
	return !(v & ~0xcffULL) && msr_mtrr_type_valid(v & 0xff);
}

bool msr_mtrr_fix_valid(uint64_t v)
{
	for (int i = 0; i < 8; i++)
		if (!msr_mtrr_type_valid((v >> (i * 8)) & 0xff))
			return false;
	return true;
}

bool msr_mtrr_var_valid(unsigned off, uint64_t v, unsigned maxphyaddr)
{
	uint64_t reserved = msr_gpa_reserved(maxphyaddr);

	if (!(off & 1)) {
		/* PhysBase: type[7:0], reserved [11:8] */
		if (!msr_mtrr_type_valid(v & 0xff))
			return false;
		reserved |= 0xf00;
	} else {
		/* PhysMask: valid[11], reserved [10:0] */
		reserved |= 0x7ff;
	}
	return !(v & reserved);
}
