/* SPDX-License-Identifier: MIT */
/*
 * LAPIC life cycle and whole-state operations: create, RESET/INIT, the
 * IA32_APIC_BASE MSR, KVM_GET/SET_LAPIC, and publishing the LAPIC's
 * identity into the bus map.  Mirrors Linux arch/x86/kvm/lapic.c
 * kvm_create_lapic, kvm_lapic_reset, kvm_apic_set_base/__kvm_apic_set_base,
 * kvm_apic_set_version, apic_set_spiv, kvm_apic_get_state/kvm_apic_set_state
 * (kvm_apic_state_fixup) and kvm_recalculate_apic_map's inputs.
 */
#include <errno.h>
#include <stdlib.h>
#include "cused/irq/lapic_priv.h"
#include "cused/irq/apic_bus.h"
#include "cused/util/log.h"

/* guest misuse is logged at debug level, and only the first few times */
void lp_log_misuse(struct lapic *l, const char *what, unsigned off, unsigned len)
{
	if (l->debug_logs >= 8)
		return;
	l->debug_logs++;
	log_debug("lapic %u: ignored guest %s at offset %#x len %u", l->cfg.vcpu_id, what, off, len);
}

/* the derived "accepts fixed interrupts" flag and the bus entry (kvm_recalculate_apic_map) */
void lp_publish(struct lapic *l)
{
	struct apic_bus_entry e = {
		.lapic = l,
		.x2apic_id = l->cfg.vcpu_id,
		.xapic_id = reg_get(l, APIC_ID) >> 24,
		.ldr = reg_get(l, APIC_LDR),
		.dfr = reg_get(l, APIC_DFR),
		.hw_enabled = lp_hw_enabled(l),
		.sw_enabled = l->sw_enabled,
		.x2apic = lp_x2apic(l),
	};

	atomic_store(&l->accepting, e.hw_enabled && e.sw_enabled);
	atomic_store(&l->lvt0_nmi, e.hw_enabled &&
		     (reg_get(l, APIC_LVT0) & (APIC_MODE_MASK | APIC_LVT_MASKED)) == APIC_MODE_NMI);
	if (l->cfg.bus && l->cfg.vcpu_index >= 0)
		apic_bus_publish(l->cfg.bus, (unsigned)l->cfg.vcpu_index, &e);
}

void lp_set_spiv(struct lapic *l, uint32_t v)
{
	reg_set(l, APIC_SPIV, v);
	l->sw_enabled = v & APIC_SPIV_APIC_ENABLED;
}

void lp_set_version(struct lapic *l)
{
	uint32_t v = APIC_VERSION | (l->nr_lvt - 1) << 16;

	if (l->cfg.caps.directed_eoi)
		v |= APIC_LVR_DIRECTED_EOI;
	reg_set(l, APIC_LVR, v);
}

static void set_xapic_id(struct lapic *l)
{
	reg_set(l, APIC_ID, (uint32_t)(uint8_t)l->cfg.vcpu_id << 24);
}

/* __kvm_apic_set_base(): the effects of an accepted value */
static void apply_base(struct lapic *l, uint64_t v)
{
	uint64_t old = l->apic_base;

	l->apic_base = v;
	if ((old ^ v) & MSR_APICBASE_ENABLE && (v & MSR_APICBASE_ENABLE))
		set_xapic_id(l);
	if ((old ^ v) & MSR_APICBASE_EXTD) {
		if (v & MSR_APICBASE_EXTD) {
			/* x2APIC: ID is the vCPU id and LDR derives from it, both read-only */
			reg_set(l, APIC_ID, l->cfg.vcpu_id);
			reg_set(l, APIC_LDR, x2apic_ldr(l->cfg.vcpu_id));
		} else if (v & MSR_APICBASE_ENABLE) {
			set_xapic_id(l);
		}
	}
	lp_publish(l);
}

int lapic_set_base(struct lapic *l, uint64_t v, bool host)
{
	const uint64_t mode = MSR_APICBASE_ENABLE | MSR_APICBASE_EXTD;
	unsigned maxphy = l->cfg.caps.maxphyaddr ? l->cfg.caps.maxphyaddr : 36;
	uint64_t reserved = (maxphy >= 64 ? 0 : ~0ull << maxphy) | 0x2ff |
			    (l->cfg.caps.x2apic ? 0 : MSR_APICBASE_EXTD);
	uint64_t om = l->apic_base & mode, nm = v & mode;

	if (l->apic_base == v)
		return 0;
	if ((v & reserved) || nm == MSR_APICBASE_EXTD)
		return LAPIC_GP;
	if (!host) {
		/* x2APIC -> xAPIC must pass through disabled; disabled -> x2APIC through xAPIC */
		if (om == mode && nm == MSR_APICBASE_ENABLE)
			return LAPIC_GP;
		if (om == 0 && nm == mode)
			return LAPIC_GP;
	}
	apply_base(l, v);
	return 0;
}

uint64_t lapic_get_base(const struct lapic *l)
{
	return l->apic_base;
}

void lapic_reset(struct lapic *l, bool init)
{
	if (!init)
		apply_base(l, LAPIC_DEFAULT_BASE | MSR_APICBASE_ENABLE |
			      (l->cfg.bsp ? MSR_APICBASE_BSP : 0));
	lp_timer_cancel(l);
	/* the xAPIC ID is set at RESET even if the APIC was already enabled */
	if (!init)
		set_xapic_id(l);
	lp_set_version(l);
	for (unsigned i = 0; i < l->nr_lvt; i++)
		reg_set(l, lvt_reg(i), APIC_LVT_MASKED);
	lp_timer_update_lvtt(l);
	/* KVM_X86_QUIRK_LINT0_REENABLED: the BSP's LINT0 takes the PIC at reset */
	if (l->cfg.bsp && !l->cfg.no_lint0_reenable)
		reg_set(l, APIC_LVT0, APIC_MODE_EXTINT);
	reg_set(l, APIC_DFR, APIC_DFR_FLAT);
	lp_set_spiv(l, 0xff);
	reg_set(l, APIC_TASKPRI, 0);
	if (!lp_x2apic(l))
		reg_set(l, APIC_LDR, 0);
	reg_set(l, APIC_ESR, 0);
	reg_set(l, APIC_ICR, 0);
	reg_set(l, APIC_ICR2, 0);
	reg_set(l, APIC_TDCR, 0);
	reg_set(l, APIC_TMICT, 0);
	for (unsigned i = 0; i < 8; i++) {
		reg_set(l, APIC_IRR + 0x10 * i, 0);
		reg_set(l, APIC_ISR + 0x10 * i, 0);
		reg_set(l, APIC_TMR + 0x10 * i, 0);
		/* the posted IRR is part of IRR (VMX clears its PIR on reset too) */
		atomic_store(&l->posted[i], 0);
	}
	atomic_store(&l->posted_any, false);
	lp_timer_update_divide(l);
	atomic_store(&l->timer_pending, 0);
	atomic_store(&l->nmi_pending, 0);
	lp_update_ppr(l);
	lp_publish(l);
}

static void apply_caps(struct lapic *l, const struct lapic_caps *c)
{
	unsigned nr = c->cmci ? 7 : 6;

	l->cfg.caps = *c;
	/* kvm_apic_after_set_mcg_cap(): a new LVT entry starts masked */
	for (unsigned i = l->nr_lvt; i < nr; i++)
		reg_set(l, lvt_reg(i), APIC_LVT_MASKED);
	l->nr_lvt = nr;
	l->timer_mode_mask = c->tsc_deadline ? 3u << 17 : 1u << 17;
	lp_set_version(l);
}

void lapic_set_caps(struct lapic *l, const struct lapic_caps *c)
{
	apply_caps(l, c);
}

int lapic_create(const struct lapic_config *cfg, const struct irq_env *env, struct lapic **out)
{
	struct lapic *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->cfg = *cfg;
	if (!l->cfg.apic_bus_cycle_ns)
		l->cfg.apic_bus_cycle_ns = 1;
	if (!l->cfg.min_timer_period_us)
		l->cfg.min_timer_period_us = LAPIC_MIN_TIMER_PERIOD_US;
	l->env = *env;
	l->nr_lvt = 6;
	apply_caps(l, &cfg->caps);
	lp_timer_init(l);
	/* KVM stuffs ENABLE before the first reset so the enable edge is not seen */
	l->apic_base = MSR_APICBASE_ENABLE;
	lapic_reset(l, false);
	*out = l;
	return 0;
}

void lapic_destroy(struct lapic *l)
{
	if (!l)
		return;
	lp_timer_cancel(l);
	if (l->cfg.bus && l->cfg.vcpu_index >= 0)
		apic_bus_publish(l->cfg.bus, (unsigned)l->cfg.vcpu_index,
				 &(struct apic_bus_entry){ .lapic = NULL });
	lp_timer_fini(l);
	free(l);
}

int lapic_get_state(struct lapic *l, struct kvm_lapic_state *s)
{
	/* KVM_GET_LAPIC syncs the PIR (sync_pir_to_irr) but not a pending timer */
	lp_fold_posted(l);
	memcpy(s, &l->regs, sizeof(*s));
	{
		uint32_t tmcct = l->t.mode == APIC_LVT_TIMER_TSCDEADLINE ? 0 : lp_timer_tmcct(l);

		memcpy(s->regs + APIC_TMCCT, &tmcct, 4);
	}
	/* kvm_apic_state_fixup(get): without 32-bit IDs userspace sees the ID in 31:24 */
	if (lp_x2apic(l) && !l->cfg.x2apic_format) {
		uint32_t id = l->cfg.vcpu_id << 24;

		memcpy(s->regs + APIC_ID, &id, 4);
	}
	/*
	 * KVM keeps the x2APIC ICR as one 64-bit register at 0x300 and copies
	 * its high half to ICR2 for userspace; the page it returns therefore
	 * also shows that half at 0x304.  We keep ICR2 apart: show it there too.
	 */
	if (lp_x2apic(l)) {
		uint32_t hi = reg_get(l, APIC_ICR2);

		memcpy(s->regs + APIC_ICR + 4, &hi, 4);
	}
	return 0;
}

int lapic_set_state(struct lapic *l, const struct kvm_lapic_state *in)
{
	struct kvm_lapic_state s = *in;
	uint32_t spiv, v;

	memcpy(&spiv, s.regs + APIC_SPIV, 4);
	lp_set_spiv(l, spiv);
	/* kvm_apic_state_fixup(set): the x2APIC ID is read-only and LDR follows it */
	if (lp_x2apic(l)) {
		memcpy(&v, s.regs + APIC_ID, 4);
		if (l->cfg.x2apic_format && v != l->cfg.vcpu_id) {
			lp_publish(l);
			return -EINVAL;
		}
		v = l->cfg.vcpu_id;
		memcpy(s.regs + APIC_ID, &v, 4);
		v = x2apic_ldr(l->cfg.vcpu_id);
		memcpy(s.regs + APIC_LDR, &v, 4);
	}
	memcpy(&l->regs, &s, sizeof(s));
	/* posted bits predate the restored IRR; KVM's PIR is likewise dropped */
	for (unsigned i = 0; i < 8; i++)
		atomic_store(&l->posted[i], 0);
	atomic_store(&l->posted_any, false);
	lp_set_version(l);
	lp_update_ppr(l);
	lp_timer_cancel(l);
	lp_timer_update_lvtt(l);
	lp_timer_update_divide(l);
	lp_timer_start(l, APIC_TMCCT);
	reg_set(l, APIC_TMCCT, 0);
	lp_publish(l);
	return 0;
}
