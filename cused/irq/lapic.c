/* SPDX-License-Identifier: MIT */
/*
 * The LAPIC register decoder: one read and one write path shared by xAPIC
 * MMIO and x2APIC MSRs, as Linux arch/x86/kvm/lapic.c kvm_lapic_reg_read /
 * kvm_lapic_reg_write serve apic_mmio_* and kvm_x2apic_msr_*.  Read-only
 * bits, reserved masks and the x2APIC #GP rules are KVM's.
 */
#include <errno.h>
#include "cused/irq/lapic_priv.h"

#define REG_BIT(off) (1ull << ((off) >> 4))
#define REGS_BITS(first, n) (REG_BIT(first) * ((1ull << (n)) - 1))

/* kvm_lapic_readable_reg_mask(): write-only and reserved registers read as "no" */
static uint64_t readable_mask(const struct lapic *l)
{
	uint64_t m = REG_BIT(APIC_ID) | REG_BIT(APIC_LVR) | REG_BIT(APIC_TASKPRI) |
		     REG_BIT(APIC_PROCPRI) | REG_BIT(APIC_LDR) | REG_BIT(APIC_SPIV) |
		     REGS_BITS(APIC_ISR, 8) | REGS_BITS(APIC_TMR, 8) | REGS_BITS(APIC_IRR, 8) |
		     REG_BIT(APIC_ESR) | REG_BIT(APIC_ICR) | REG_BIT(APIC_LVTT) |
		     REG_BIT(APIC_LVTTHMR) | REG_BIT(APIC_LVTPC) | REG_BIT(APIC_LVT0) |
		     REG_BIT(APIC_LVT1) | REG_BIT(APIC_LVTERR) | REG_BIT(APIC_TMICT) |
		     REG_BIT(APIC_TMCCT) | REG_BIT(APIC_TDCR);

	if (l->nr_lvt > LVT_CMCI)
		m |= REG_BIT(APIC_LVTCMCI);
	/* ARBPRI, DFR and ICR2 do not exist in x2APIC mode */
	if (!lp_x2apic(l))
		m |= REG_BIT(APIC_ARBPRI) | REG_BIT(APIC_DFR) | REG_BIT(APIC_ICR2);
	return m;
}

/* __apic_read(): the registers whose value is computed on read */
static uint32_t reg_value(struct lapic *l, unsigned off)
{
	switch (off) {
	case APIC_ARBPRI:
		return 0;
	case APIC_TMCCT:
		return l->t.mode == APIC_LVT_TIMER_TSCDEADLINE ? 0 : lp_timer_tmcct(l);
	case APIC_PROCPRI:
		lp_update_ppr(l);
		return reg_get(l, off);
	default:
		return reg_get(l, off);
	}
}

/* kvm_lapic_reg_read(): 0, or 1 for a misaligned/unreadable access (data untouched) */
int lp_reg_read(struct lapic *l, unsigned off, unsigned len, void *data)
{
	unsigned align = off & 0xf;
	uint32_t v;

	if (align + len > 4 || (len != 1 && len != 2 && len != 4))
		return 1;
	if (off > 0x3f0 || !(readable_mask(l) & REG_BIT(off)))
		return 1;
	/*
	 * IRR/TMR reads see interrupts posted by other threads, as KVM's IRR
	 * is set at accept time; a timer expiry only shows at the next entry.
	 */
	if (off >= APIC_TMR && off < APIC_ESR)
		lp_fold_posted(l);
	v = reg_value(l, off & ~0xfu);
	memcpy(data, (char *)&v + align, len);
	return 0;
}

static void write_lvt(struct lapic *l, unsigned reg, uint32_t val)
{
	static const uint32_t lvt_mask[LVT_MAX] = {
		[LVT_TIMER] = LVT_MASK,   /* plus timer_mode_mask */
		[LVT_THERMAL] = LVT_MASK | APIC_MODE_MASK,
		[LVT_PERF] = LVT_MASK | APIC_MODE_MASK,
		[LVT_LINT0] = LINT_MASK,
		[LVT_LINT1] = LINT_MASK,
		[LVT_ERROR] = LVT_MASK,
		[LVT_CMCI] = LVT_MASK | APIC_MODE_MASK,
	};
	unsigned idx = reg == APIC_LVTCMCI ? LVT_CMCI : (reg - APIC_LVTT) >> 4;

	/* a software-disabled APIC keeps every LVT masked (SDM 10.4.7.2) */
	if (!l->sw_enabled)
		val |= APIC_LVT_MASKED;
	val &= lvt_mask[idx] | (idx == LVT_TIMER ? l->timer_mode_mask : 0);
	reg_set(l, reg, val);
	if (idx == LVT_TIMER)
		lp_timer_update_lvtt(l);
	if (idx == LVT_LINT0)
		lp_publish(l);
}

/* kvm_lapic_reg_write(): 0, or 1 where KVM would #GP an x2APIC write */
int lp_reg_write(struct lapic *l, unsigned reg, uint32_t val)
{
	bool x2 = lp_x2apic(l);

	switch (reg) {
	case APIC_ID:
		if (x2)
			return 1;
		reg_set(l, APIC_ID, val & 0xff000000u);
		lp_publish(l);
		return 0;
	case APIC_TASKPRI:
		reg_set(l, APIC_TASKPRI, val & 0xff);
		lp_update_ppr(l);
		return 0;
	case APIC_EOI:
		lp_set_eoi(l);
		return 0;
	case APIC_LDR:
		if (x2)
			return 1;
		reg_set(l, APIC_LDR, val & APIC_LDR_MASK);
		lp_publish(l);
		return 0;
	case APIC_DFR:
		if (x2)
			return 1;
		reg_set(l, APIC_DFR, val | APIC_DFR_CLUSTER);
		lp_publish(l);
		return 0;
	case APIC_SPIV: {
		uint32_t mask = 0x3ff;

		if (reg_get(l, APIC_LVR) & APIC_LVR_DIRECTED_EOI)
			mask |= APIC_SPIV_DIRECTED_EOI;
		lp_set_spiv(l, val & mask);
		if (!(val & APIC_SPIV_APIC_ENABLED)) {
			for (unsigned i = 0; i < l->nr_lvt; i++)
				reg_set(l, lvt_reg(i), reg_get(l, lvt_reg(i)) | APIC_LVT_MASKED);
			lp_timer_update_lvtt(l);
			atomic_store(&l->timer_pending, 0);
		}
		lp_publish(l);
		return 0;
	}
	case APIC_ICR:
		/* no delivery delay: the busy bit always reads clear */
		val &= ~APIC_SEND_PENDING;
		lp_send_ipi(l, val, reg_get(l, APIC_ICR2));
		reg_set(l, APIC_ICR, val);
		return 0;
	case APIC_ICR2:
		if (x2)
			return 1;
		reg_set(l, APIC_ICR2, val & 0xff000000u);
		return 0;
	case APIC_LVTCMCI:
		if (l->nr_lvt <= LVT_CMCI)
			return 1;
		/* fallthrough */
	case APIC_LVTT: case APIC_LVTTHMR: case APIC_LVTPC:
	case APIC_LVT0: case APIC_LVT1: case APIC_LVTERR:
		write_lvt(l, reg, val);
		return 0;
	case APIC_TMICT:
		lp_timer_write_tmict(l, val);
		return 0;
	case APIC_TDCR:
		lp_timer_write_tdcr(l, val);
		return 0;
	case APIC_ESR:
		/* ESR errors are not modelled (KVM neither); x2APIC demands 0 */
		return x2 && val ? 1 : 0;
	case APIC_SELF_IPI:
		if (!x2 || (val & ~APIC_VECTOR_MASK))
			return 1;
		lp_send_ipi(l, (uint32_t)IRQ_SH_SELF << APIC_SHORT_SHIFT | val, 0);
		return 0;
	default:
		return 1;
	}
}

static bool mmio_claimed(const struct lapic *l, uint64_t addr)
{
	uint64_t base = l->apic_base & MSR_APICBASE_BASE;

	return addr >= base && addr - base < 0x1000;
}

int lapic_mmio_read(struct lapic *l, uint64_t addr, void *data, unsigned len)
{
	if (!mmio_claimed(l, addr))
		return -ENOENT;
	if (!lp_hw_enabled(l) || lp_x2apic(l)) {
		/* KVM_X86_QUIRK_LAPIC_MMIO_HOLE: the page reads as all ones */
		if (l->cfg.no_mmio_hole)
			return -ENOENT;
		memset(data, 0xff, len);
		return 0;
	}
	memset(data, 0, len);
	if (lp_reg_read(l, (unsigned)(addr & 0xfff), len, data))
		lp_log_misuse(l, "read", (unsigned)(addr & 0xfff), len);
	return 0;
}

int lapic_mmio_write(struct lapic *l, uint64_t addr, const void *data, unsigned len)
{
	unsigned off = (unsigned)(addr & 0xfff);
	uint32_t v;

	if (!mmio_claimed(l, addr))
		return -ENOENT;
	if (!lp_hw_enabled(l) || lp_x2apic(l))
		return l->cfg.no_mmio_hole ? -ENOENT : 0;
	/* SDM 10.4.1: registers are 16-byte aligned and accessed as 32 bits */
	if (len != 4 || (off & 0xf)) {
		lp_log_misuse(l, "write", off, len);
		return 0;
	}
	memcpy(&v, data, 4);
	/* writes to read-only or reserved registers are dropped in xAPIC mode */
	lp_reg_write(l, off, v);
	return 0;
}

int lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *val)
{
	unsigned reg = (msr - 0x800) << 4;
	uint32_t low;

	if (!lapic_is_x2apic_msr(msr) || !lp_x2apic(l))
		return LAPIC_GP;
	/* ICR is one 64-bit register in x2APIC mode; we keep it split as ICR/ICR2 */
	if (reg == APIC_ICR) {
		*val = reg_get(l, APIC_ICR) | (uint64_t)reg_get(l, APIC_ICR2) << 32;
		return 0;
	}
	if (lp_reg_read(l, reg, 4, &low))
		return LAPIC_GP;
	*val = low;
	return 0;
}

/* X2APIC_ICR_RESERVED_BITS: 31:20, 17:16 and 13 */
#define X2APIC_ICR_RESERVED (0xfff00000ull | 0x30000ull | 0x2000ull)

int lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t val)
{
	unsigned reg = (msr - 0x800) << 4;

	if (!lapic_is_x2apic_msr(msr) || !lp_x2apic(l))
		return LAPIC_GP;
	if (reg == APIC_ICR) {
		if (val & X2APIC_ICR_RESERVED)
			return LAPIC_GP;
		/* BUSY is reserved in x2APIC; KVM clears it rather than #GP */
		val &= ~(uint64_t)APIC_SEND_PENDING;
		lp_send_ipi(l, (uint32_t)val, (uint32_t)(val >> 32));
		reg_set(l, APIC_ICR, (uint32_t)val);
		reg_set(l, APIC_ICR2, (uint32_t)(val >> 32));
		return 0;
	}
	if (val >> 32)
		return LAPIC_GP;
	return lp_reg_write(l, reg, (uint32_t)val) ? LAPIC_GP : 0;
}

void lapic_set_cr8(struct lapic *l, uint64_t cr8)
{
	reg_set(l, APIC_TASKPRI, (uint32_t)(cr8 & 0x0f) << 4);
	lp_update_ppr(l);
}

uint64_t lapic_get_cr8(const struct lapic *l)
{
	return (reg_get(l, APIC_TASKPRI) & 0xf0) >> 4;
}

bool lapic_hw_enabled(const struct lapic *l)
{
	return lp_hw_enabled(l);
}

bool lapic_x2apic_mode(const struct lapic *l)
{
	return lp_x2apic(l);
}

uint32_t lapic_reg(const struct lapic *l, unsigned offset)
{
	return offset <= 0x3fc ? reg_get(l, offset & ~3u) : 0;
}
