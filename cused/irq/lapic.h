/* SPDX-License-Identifier: MIT */
/*
 * The in-daemon local APIC: the contracts (bhyve vlapic.h style).  The
 * struct is private (lapic_priv.h).  Behaviour follows Linux
 * arch/x86/kvm/lapic.c; each prototype names the KVM function it mirrors.
 *
 * Threads (STYLE.md §3).  A LAPIC belongs to its vCPU's runner: every
 * function here is runner-only (caller holds vcpu->lock) unless it says
 * "any thread".  Other threads only post: lapic_post()/lapic_deliver()
 * (atomic OR into a posted IRR, like KVM's PIR), and lapic_timer_tick()
 * (atomic timer_pending, like KVM's lapic_timer.pending).  The runner folds
 * both in with lapic_sync() before every guest entry.
 *
 * Errors: 0 or a negative errno; a guest access that KVM answers with #GP
 * returns LAPIC_GP (the caller injects #GP), never an errno.
 *
 * Wiring into the vCPU runner (vcpu_enter_guest order in KVM's x86.c):
 *   before entry: lapic_accept_events() (mp_state, INIT reset, SIPI CS:IP);
 *     lapic_sync(); NMIs += lapic_take_nmis(); if the PIC has an output and
 *     lapic_accept_pic_intr(), inject the PIC's vector; else if the guest
 *     can take one, v = lapic_pending_intr() >= 0: inject v, then
 *     lapic_intr_accepted(v).  Load CR8 from lapic_get_cr8().
 *   after exit: lapic_set_cr8(CR8) if it changed; MMIO exits try
 *     lapic_mmio_read/write first (-ENOENT: not the LAPIC); RDMSR/WRMSR
 *     0x800-0x8ff -> lapic_msr_*, 0x1b -> lapic_set_base, 0x6e0 ->
 *     lapic_set/get_tscdeadline.  HLT wakes on env->kick.
 *   env (its ctx is per vCPU): deliver -> apic_bus_deliver(vm's bus),
 *     kick -> vcpu_kick, arm -> the timer loop, which calls
 *     lapic_timer_tick(); eoi -> the IOAPIC's EOI.
 */
#ifndef CUSED_IRQ_LAPIC_H
#define CUSED_IRQ_LAPIC_H

#include <stdbool.h>
#include <stdint.h>
#include "cused/irq/irq.h"

struct lapic;
struct apic_bus;
struct kvm_lapic_state;

#define LAPIC_GP 1                         /* "inject #GP", KVM's return 1 */
#define LAPIC_DEFAULT_BASE 0xfee00000ull
#define LAPIC_MIN_TIMER_PERIOD_US 200      /* KVM's min_timer_period_us default */

/* what the guest's CPUID/MCG_CAP tell the LAPIC; kvm_update_cpuid_runtime etc. */
struct lapic_caps {
	bool x2apic;            /* CPUID.1:ECX.x2APIC: EXTD may be set in the base MSR */
	bool tsc_deadline;      /* CPUID.1:ECX.TSC_DEADLINE: LVTT mode 2 writable */
	bool cmci;              /* MCG_CAP.CMCI_P: 7 LVT entries (LVTCMCI) instead of 6 */
	bool directed_eoi;      /* LVR bit 24; KVM sets it only for x2APIC guests with a split irqchip */
	uint8_t maxphyaddr;     /* reserved GPA bits of the base MSR (0 = 36) */
};

struct lapic_config {
	uint32_t vcpu_id;           /* x2APIC ID, and (truncated) xAPIC ID at reset */
	int vcpu_index;             /* irq_msg.src of this LAPIC's IPIs; its slot in the bus */
	bool bsp;                   /* kvm_vcpu_is_reset_bsp(): BSP bit, LINT0 ExtINT at reset */
	struct apic_bus *bus;       /* destination map to publish into; NULL in unit tests */
	struct lapic_caps caps;
	uint32_t apic_bus_cycle_ns; /* KVM_CAP_X86_APIC_BUS_CYCLES_NS; 0 means KVM's default 1 */
	uint32_t min_timer_period_us; /* floor of periodic mode; 0 means KVM's default, 200 */
	bool x2apic_format;         /* KVM_X2APIC_API_USE_32BIT_IDS: GET/SET_LAPIC keep the x2APIC ID */
	bool no_lint0_reenable;     /* KVM_X86_QUIRK_LINT0_REENABLED disabled */
	bool no_mmio_hole;          /* KVM_X86_QUIRK_LAPIC_MMIO_HOLE disabled */
};

/* pending events for lapic_accept_events(), set from any thread by lapic_deliver() */
enum { LAPIC_EV_INIT = 1u << 0, LAPIC_EV_SIPI = 1u << 1, LAPIC_EV_SMI = 1u << 2 };

/*
 * Create a LAPIC in its RESET state (kvm_create_lapic + kvm_lapic_reset).
 * env is copied; env->arm/now_ns drive the timer, env->deliver carries IPIs
 * (wire it to apic_bus_deliver), env->kick wakes this LAPIC's vCPU,
 * env->eoi receives level-triggered EOIs for the IOAPIC.  Publishes itself
 * into cfg->bus.  -ENOMEM.
 */
int lapic_create(const struct lapic_config *cfg, const struct irq_env *env, struct lapic **out);
/* cancel the timer (env->arm(0)) and free; the timer loop must not tick it afterwards */
void lapic_destroy(struct lapic *l);
/* kvm_lapic_reset(): init=false is RESET (base MSR and ID too), true is an INIT */
void lapic_reset(struct lapic *l, bool init);
/* kvm_apic_after_set_mcg_cap + kvm_apic_set_version + timer_mode_mask, after SET_CPUID/SETUP_MCE */
void lapic_set_caps(struct lapic *l, const struct lapic_caps *caps);

/*
 * xAPIC MMIO at guest-physical addr (apic_mmio_read/write).  -ENOENT when
 * addr is outside [base, base+4K) or the LAPIC is disabled / in x2APIC mode
 * with the MMIO-hole quirk off; otherwise 0.  Bad sizes and unreadable
 * registers are ignored as KVM does (reads give zeros).
 */
int lapic_mmio_read(struct lapic *l, uint64_t addr, void *data, unsigned len);
int lapic_mmio_write(struct lapic *l, uint64_t addr, const void *data, unsigned len);

/* is msr an x2APIC register MSR (0x800-0x8ff)? */
static inline bool lapic_is_x2apic_msr(uint32_t msr) { return msr >= 0x800 && msr <= 0x8ff; }
/* kvm_x2apic_msr_read/write: 0, or LAPIC_GP (not x2APIC mode, unreadable, reserved bits) */
int lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *val);
int lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t val);

/* IA32_APIC_BASE: kvm_apic_set_base(); 0 or LAPIC_GP (illegal value or mode transition) */
int lapic_set_base(struct lapic *l, uint64_t val, bool host_initiated);
uint64_t lapic_get_base(const struct lapic *l);
/* IA32_TSC_DEADLINE: kvm_set/get_lapic_tscdeadline_msr (ignored / 0 unless LVTT is in TSC-deadline mode) */
void lapic_set_tscdeadline(struct lapic *l, uint64_t tsc);
uint64_t lapic_get_tscdeadline(struct lapic *l);
/* how guest TSC follows env->now_ns: tsc(now) = tsc_ref + (now - ns_ref) * khz / 1e6 */
void lapic_set_tsc_clock(struct lapic *l, uint32_t tsc_khz, uint64_t ns_ref, uint64_t tsc_ref);

/* CR8 <-> TPR[7:4] (kvm_lapic_set_tpr / kvm_lapic_get_cr8) */
void lapic_set_cr8(struct lapic *l, uint64_t cr8);
uint64_t lapic_get_cr8(const struct lapic *l);

/*
 * KVM_GET_LAPIC / KVM_SET_LAPIC (kvm_apic_get_state / kvm_apic_set_state).
 * get: the register page with TMCCT computed now and, in x2APIC mode
 * without x2apic_format, the ID shifted to bits 31:24.  set: -EINVAL when
 * x2apic_format and the ID is not the vCPU's; otherwise copies, recomputes
 * every derived value (PPR, LVR, LDR in x2APIC, timer mode, divider, map)
 * and restarts the timer from TMCCT, as KVM does.
 */
int lapic_get_state(struct lapic *l, struct kvm_lapic_state *s);
int lapic_set_state(struct lapic *l, const struct kvm_lapic_state *s);

/*
 * Any thread.  Set vector in the posted IRR (its TMR bit follows
 * trig_level).  Returns true when the vCPU must be kicked (the bit was not
 * already posted).  Does not check that the LAPIC is enabled: lapic_deliver does.
 */
bool lapic_post(struct lapic *l, uint8_t vector, bool trig_level);
/*
 * Any thread; the bus calls it after choosing this LAPIC (__apic_accept_irq).
 * Fixed/lowest: dropped unless HW and SW enabled, or a level de-assert;
 * NMI counts; INIT (not a level de-assert) replaces pending events; SIPI
 * records its vector; SMI sets LAPIC_EV_SMI; ExtINT is not accepted here
 * (the PIC path is lapic_accept_pic_intr).  Kicks through env->kick when
 * needed.  Returns 1 accepted, 0 dropped.
 */
int lapic_deliver(struct lapic *l, const struct irq_msg *m);
/*
 * Runner, before every entry: fold posted IRR/TMR into the registers and
 * inject a pending timer expiry through LVTT (kvm_inject_apic_timer_irqs).
 */
void lapic_sync(struct lapic *l);

/*
 * Two-phase injection (bhyve vlapic_pending_intr / vlapic_intr_accepted).
 * pending: the vector to inject, or -1 (HW-disabled, nothing above PPR);
 * changes nothing but the PPR cache (kvm_apic_has_interrupt).  accepted:
 * the vCPU layer did inject vector: IRR -> ISR, PPR raised (kvm_apic_ack_interrupt).
 */
int lapic_pending_intr(struct lapic *l);
void lapic_intr_accepted(struct lapic *l, int vector);
/* does LINT0 take the PIC's INTR (kvm_apic_accept_pic_intr): HW-disabled, or LVT0 unmasked ExtINT */
bool lapic_accept_pic_intr(const struct lapic *l);
/* EOI as a guest write to the EOI register would (kvm_lapic_set_eoi); returns the vector or -1 */
int lapic_eoi(struct lapic *l);

/*
 * Any thread (the PIT's NMI watchdog, kvm_apic_nmi_wd_deliver): an NMI
 * through LINT0 if LVT0 is unmasked in NMI mode; returns 1 if delivered.
 * Whether LVT0 is in NMI mode is republished by the runner on every change.
 */
int lapic_nmi_wd_deliver(struct lapic *l);
/* any thread: NMIs delivered and not yet taken; take clears them */
unsigned lapic_take_nmis(struct lapic *l);
bool lapic_has_pending_init_or_sipi(const struct lapic *l);
/*
 * kvm_apic_accept_events.  INIT: resets this LAPIC (INIT), sets *mp_state
 * to RUNNABLE for the BSP else INIT_RECEIVED, returns LAPIC_EV_INIT so the
 * caller resets the rest of the vCPU (kvm_vcpu_reset(init)).  SIPI while
 * INIT_RECEIVED: *sipi_vector set, *mp_state RUNNABLE, LAPIC_EV_SIPI (the
 * caller loads CS = vector << 8, base vector << 12, RIP 0); a SIPI in any
 * other state is dropped.  SMI is reported (LAPIC_EV_SMI) and cleared.
 */
unsigned lapic_accept_events(struct lapic *l, uint32_t *mp_state, int *sipi_vector);
/* KVM_SET_MP_STATE(SIPI_RECEIVED): the caller sets INIT_RECEIVED; a SIPI with the last vector is pending */
void lapic_set_sipi_pending(struct lapic *l);

/* the deadline (CLOCK_MONOTONIC ns) the timer loop was asked for, 0 none; any thread */
uint64_t lapic_timer_deadline(struct lapic *l);
/*
 * Any thread (the timer loop).  Fire the timer if its deadline is due:
 * timer_pending is set and env->kick called (apic_timer_fn).  Periodic mode
 * advances from the previous target (now if that is past).  Returns the next
 * absolute deadline to arm, 0 for none.  A stale or early call is harmless.
 */
uint64_t lapic_timer_tick(struct lapic *l, uint64_t now_ns);

/* read-only views for the vCPU layer and tests */
bool lapic_hw_enabled(const struct lapic *l);
bool lapic_x2apic_mode(const struct lapic *l);
uint32_t lapic_reg(const struct lapic *l, unsigned offset);   /* raw page word, no side effects */

#endif
