/* SPDX-License-Identifier: MIT */
/*
 * The LAPIC struct and the helpers shared by lapic.c (register decoder),
 * lapic_irq.c (priorities, injection, posting), lapic_state.c (reset, base
 * MSR, GET/SET) and lapic_timer.c.  Mirrors struct kvm_lapic and
 * arch/x86/kvm/lapic.h; register offsets are asm/apicdef.h's.
 */
#ifndef CUSED_IRQ_LAPIC_PRIV_H
#define CUSED_IRQ_LAPIC_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <linux/kvm.h>
#include "cused/irq/lapic.h"

/* register offsets (asm/apicdef.h) */
enum {
	APIC_ID = 0x20, APIC_LVR = 0x30, APIC_TASKPRI = 0x80, APIC_ARBPRI = 0x90,
	APIC_PROCPRI = 0xa0, APIC_EOI = 0xb0, APIC_RRR = 0xc0, APIC_LDR = 0xd0,
	APIC_DFR = 0xe0, APIC_SPIV = 0xf0, APIC_ISR = 0x100, APIC_TMR = 0x180,
	APIC_IRR = 0x200, APIC_ESR = 0x280, APIC_LVTCMCI = 0x2f0, APIC_ICR = 0x300,
	APIC_ICR2 = 0x310, APIC_LVTT = 0x320, APIC_LVTTHMR = 0x330, APIC_LVTPC = 0x340,
	APIC_LVT0 = 0x350, APIC_LVT1 = 0x360, APIC_LVTERR = 0x370, APIC_TMICT = 0x380,
	APIC_TMCCT = 0x390, APIC_TDCR = 0x3e0, APIC_SELF_IPI = 0x3f0,
};

#define APIC_VERSION            0x14u
#define APIC_LVR_DIRECTED_EOI   (1u << 24)
#define APIC_SPIV_APIC_ENABLED  (1u << 8)
#define APIC_SPIV_DIRECTED_EOI  (1u << 12)
#define APIC_VECTOR_MASK        0xffu
#define APIC_MODE_MASK          0x700u
#define APIC_MODE_NMI           0x400u
#define APIC_MODE_EXTINT        0x700u
#define APIC_DEST_LOGICAL       (1u << 11)
#define APIC_SEND_PENDING       (1u << 12)   /* ICR busy, LVT delivery status */
#define APIC_INPUT_POLARITY     (1u << 13)
#define APIC_LVT_REMOTE_IRR     (1u << 14)
#define APIC_INT_ASSERT         (1u << 14)
#define APIC_LVT_LEVEL_TRIGGER  (1u << 15)
#define APIC_LVT_MASKED         (1u << 16)
#define APIC_SHORT_SHIFT        18
#define APIC_SHORT_MASK         (3u << APIC_SHORT_SHIFT)
#define APIC_LDR_MASK           0xff000000u
#define APIC_DFR_FLAT           0xffffffffu
#define APIC_DFR_CLUSTER        0x0fffffffu
#define APIC_LVT_TIMER_ONESHOT  0u
#define APIC_LVT_TIMER_PERIODIC (1u << 17)
#define APIC_LVT_TIMER_TSCDEADLINE (2u << 17)

#define LVT_MASK  (APIC_LVT_MASKED | APIC_SEND_PENDING | APIC_VECTOR_MASK)
#define LINT_MASK (LVT_MASK | APIC_MODE_MASK | APIC_INPUT_POLARITY | \
		   APIC_LVT_REMOTE_IRR | APIC_LVT_LEVEL_TRIGGER)

/* LVT indexes as KVM numbers them; CMCI sits outside the 0x320.. run */
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_CMCI, LVT_MAX };

#define MSR_APICBASE_BSP    (1ull << 8)
#define MSR_APICBASE_EXTD   (1ull << 10)
#define MSR_APICBASE_ENABLE (1ull << 11)
#define MSR_APICBASE_BASE   (~0xfffull)

_Static_assert(sizeof(struct kvm_lapic_state) == 0x400, "KVM_GET/SET_LAPIC page");

struct lapic_timer {
	uint32_t mode;           /* LVTT bits 18:17 within timer_mode_mask */
	uint32_t divide_count;   /* derived: from TDCR */
	uint64_t period;         /* ns; 0 = stopped (oneshot/periodic) */
	uint64_t target;         /* ns of the current expiration (TMCCT derives from it) */
	uint64_t armed;          /* ns the timer loop was asked for; 0 = nothing armed */
	uint64_t tscdeadline;    /* guest TSC; KVM keeps it in all modes */
};

struct lapic {
	/* (1) architectural state, runner only (vcpu->lock): KVM_GET/SET_LAPIC is a copy */
	struct kvm_lapic_state regs;
	uint64_t apic_base;

	/* (2) derived: lapic_recalc() and the writes that change their inputs */
	bool sw_enabled;            /* SPIV bit 8 */
	unsigned nr_lvt;            /* 6, or 7 with CMCI */
	uint32_t timer_mode_mask;   /* 1<<17, or 3<<17 with TSC deadline */
	unsigned debug_logs;        /* guest-misuse log lines so far (rate limit) */

	/* configuration (runner only, set at create / lapic_set_caps) */
	struct lapic_config cfg;
	struct irq_env env;
	uint32_t tsc_khz;
	uint64_t tsc_ns_ref, tsc_ref;

	/*
	 * (3a) timer.  tlock covers t against lapic_timer_tick() on the timer
	 * thread.  mode, period and divide_count are written only by the
	 * runner (under tlock) and it may read them without the lock; target,
	 * armed and tscdeadline are also moved by the tick, so every access
	 * holds tlock.  Nothing is called out with tlock held except env->arm,
	 * whose contract forbids calling back.
	 */
	pthread_mutex_t tlock;
	struct lapic_timer t;

	/* (3b) any thread, atomics; folded in by the runner in lapic_sync() */
	_Atomic uint32_t posted[8], posted_tmr[8];
	atomic_bool posted_any;
	atomic_uint timer_pending;   /* expiries not yet injected (0 or 1, as KVM) */
	atomic_uint nmi_pending;
	atomic_uint events;          /* LAPIC_EV_* */
	atomic_uint sipi_vector;
	atomic_bool accepting;       /* derived: HW && SW enabled, read by lapic_deliver() */
	atomic_bool lvt0_nmi;        /* derived: HW enabled, LVT0 unmasked NMI (apic_manage_nmi_watchdog) */
};

static inline uint32_t reg_get(const struct lapic *l, unsigned off)
{
	uint32_t v;

	memcpy(&v, l->regs.regs + off, 4);
	return v;
}

static inline void reg_set(struct lapic *l, unsigned off, uint32_t v)
{
	memcpy(l->regs.regs + off, &v, 4);
}

static inline bool vec_test(const struct lapic *l, unsigned base, unsigned v)
{
	return reg_get(l, base + (v >> 5) * 0x10) >> (v & 31) & 1;
}

static inline void vec_set(struct lapic *l, unsigned base, unsigned v, bool on)
{
	unsigned off = base + (v >> 5) * 0x10;
	uint32_t w = reg_get(l, off);

	reg_set(l, off, on ? w | 1u << (v & 31) : w & ~(1u << (v & 31)));
}

static inline bool lp_hw_enabled(const struct lapic *l)
{
	return l->apic_base & MSR_APICBASE_ENABLE;
}

static inline bool lp_x2apic(const struct lapic *l)
{
	return l->apic_base & MSR_APICBASE_EXTD;
}

static inline unsigned lvt_reg(unsigned idx)
{
	return idx == LVT_CMCI ? APIC_LVTCMCI : APIC_LVTT + 0x10 * idx;
}

static inline uint32_t x2apic_ldr(uint32_t id)
{
	return ((id >> 4) << 16) | (1u << (id & 0xf));
}

/* lapic_irq.c */
int lp_highest_vector(const struct lapic *l, unsigned base);
void lp_fold_posted(struct lapic *l);
void lp_update_ppr(struct lapic *l);
int lp_set_eoi(struct lapic *l);
int lp_local_deliver(struct lapic *l, unsigned lvt_off);
void lp_send_ipi(struct lapic *l, uint32_t icr_low, uint32_t icr_high);

/* lapic_state.c */
void lp_set_spiv(struct lapic *l, uint32_t v);
void lp_set_version(struct lapic *l);
void lp_publish(struct lapic *l);
void lp_log_misuse(struct lapic *l, const char *what, unsigned off, unsigned len);

/* lapic.c */
int lp_reg_read(struct lapic *l, unsigned off, unsigned len, void *data);
int lp_reg_write(struct lapic *l, unsigned reg, uint32_t val);

/* lapic_timer.c (runner side; apic_update_lvtt, cancel/start_apic_timer, ...) */
void lp_timer_init(struct lapic *l);
void lp_timer_fini(struct lapic *l);
void lp_timer_cancel(struct lapic *l);
void lp_timer_update_lvtt(struct lapic *l);
void lp_timer_start(struct lapic *l, unsigned count_reg);
void lp_timer_write_tmict(struct lapic *l, uint32_t val);
void lp_timer_write_tdcr(struct lapic *l, uint32_t val);
void lp_timer_update_divide(struct lapic *l);
uint32_t lp_timer_tmcct(struct lapic *l);
void lp_timer_inject(struct lapic *l);

#endif
