/* SPDX-License-Identifier: MIT */
/*
 * Hyper-V synthetic MSRs (0x40000000-0x400000ff, crash/reenlightenment
 * 0x40000100-0x40000108), Linux 6.1 hyperv.c kvm_hv_{get,set}_msr_common:
 * partition-wide state (struct hv_vm, KVM's struct kvm_hv) and per-vCPU
 * state (struct hv_vcpu), the guest's access rules (Hyper-V CPUID present,
 * KVM_CAP_HYPERV_ENFORCE_CPUID feature bits), and the reference TSC page.
 *
 * SynIC and synthetic timers are storage with KVM's validation only: after
 * KVM_ENABLE_CAP(KVM_CAP_HYPERV_SYNIC/SYNIC2) their MSRs take what KVM
 * takes and the guest's SCONTROL/SIEFP/SIMP writes exit to the VMM as
 * KVM_EXIT_HYPERV_SYNIC, but no message is delivered and no timer runs
 * (which is why KVM_CHECK_EXTENSION does not offer the SynIC caps).  The
 * guest's crash (CRASH_CTL.CRASH_NOTIFY) and reset (RESET = 1) requests exit
 * as KVM_SYSTEM_EVENT_CRASH / _RESET; the synthetic debugger's exits are not
 * reported.
 */
#ifndef CUSED_X86_HYPERV_MSR_H
#define CUSED_X86_HYPERV_MSR_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#define HV_X64_MSR_GUEST_OS_ID              0x40000000
#define HV_X64_MSR_HYPERCALL                0x40000001
#define HV_X64_MSR_VP_INDEX                 0x40000002
#define HV_X64_MSR_RESET                    0x40000003
#define HV_X64_MSR_VP_RUNTIME               0x40000010
#define HV_X64_MSR_TIME_REF_COUNT           0x40000020
#define HV_X64_MSR_REFERENCE_TSC            0x40000021
#define HV_X64_MSR_TSC_FREQUENCY            0x40000022
#define HV_X64_MSR_APIC_FREQUENCY           0x40000023
#define HV_X64_MSR_EOI                      0x40000070
#define HV_X64_MSR_ICR                      0x40000071
#define HV_X64_MSR_TPR                      0x40000072
#define HV_X64_MSR_VP_ASSIST_PAGE           0x40000073
#define HV_X64_MSR_SCONTROL                 0x40000080
#define HV_X64_MSR_SVERSION                 0x40000081
#define HV_X64_MSR_SIEFP                    0x40000082
#define HV_X64_MSR_SIMP                     0x40000083
#define HV_X64_MSR_EOM                      0x40000084
#define HV_X64_MSR_SINT0                    0x40000090
#define HV_X64_MSR_SINT15                   0x4000009F
#define HV_X64_MSR_STIMER0_CONFIG           0x400000B0
#define HV_X64_MSR_STIMER3_COUNT            0x400000B7
#define HV_X64_MSR_SYNDBG_CONTROL           0x400000F1
#define HV_X64_MSR_SYNDBG_STATUS            0x400000F2
#define HV_X64_MSR_SYNDBG_SEND_BUFFER       0x400000F3
#define HV_X64_MSR_SYNDBG_RECV_BUFFER       0x400000F4
#define HV_X64_MSR_SYNDBG_PENDING_BUFFER    0x400000F5
#define HV_X64_MSR_SYNDBG_OPTIONS           0x400000FF
#define HV_X64_MSR_CRASH_P0                 0x40000100
#define HV_X64_MSR_CRASH_P4                 0x40000104
#define HV_X64_MSR_CRASH_CTL                0x40000105
#define HV_X64_MSR_REENLIGHTENMENT_CONTROL  0x40000106
#define HV_X64_MSR_TSC_EMULATION_CONTROL    0x40000107
#define HV_X64_MSR_TSC_EMULATION_STATUS     0x40000108

#define HV_X64_MSR_HYPERCALL_ENABLE      1ULL
#define HV_X64_MSR_TSC_REFERENCE_ENABLE  1ULL
#define HV_X64_MSR_VP_ASSIST_PAGE_ENABLE 1ULL
#define HV_CRASH_CTL_CRASH_NOTIFY        (1ULL << 63)
#define HV_SYNIC_VERSION_1               1ULL
#define HV_SYNIC_SINT_MASKED             (1ULL << 16)
#define HV_SYNIC_CONTROL_ENABLE          1ULL
#define HV_SYNIC_SIMP_ENABLE             1ULL   /* also SIEFP's */
#define HV_SYNIC_FIRST_VALID_VECTOR      16
#define HV_STIMER_ENABLE                 (1ULL << 0)
#define HV_STIMER_AUTO_ENABLE            (1ULL << 3)
#define HV_STIMER_DIRECT_MODE            (1ULL << 12)
#define HV_STIMER_SINTX(c)               (((c) >> 16) & 0xf)
#define HV_APIC_BUS_FREQUENCY            1000000000ULL   /* KVM's 1 ns APIC bus cycle */

/* the reference TSC page, as the guest reads it (struct ms_hyperv_tsc_page's head) */
struct hv_tsc_ref {
	uint32_t tsc_sequence;
	uint32_t reserved1;
	uint64_t tsc_scale;
	int64_t tsc_offset;
};

/* KVM's enum hv_tsc_page_status */
enum hv_tsc_status {
	HV_TSC_PAGE_UNSET,          /* disabled: nothing written */
	HV_TSC_PAGE_GUEST_CHANGED,  /* the guest enabled it: write it before the next entry */
	HV_TSC_PAGE_HOST_CHANGED,   /* KVM_SET_MSRS or KVM_SET_CLOCK: likewise */
	HV_TSC_PAGE_SET,            /* written; TIME_REF_COUNT follows its formula */
	HV_TSC_PAGE_BROKEN,         /* the guest page could not be written */
};

/* partition-wide Hyper-V state (KVM's struct kvm_hv); lock serializes its MSRs */
struct hv_vm {
	pthread_mutex_t lock;
	uint64_t guest_os_id, hypercall, tsc_page_msr;
	enum hv_tsc_status tsc_status;   /* read unlocked (relaxed) on vCPU entry */
	struct hv_tsc_ref tsc_ref;
	uint64_t crash_param[5], crash_ctl;
	uint64_t reenlightenment_control, tsc_emulation_control, tsc_emulation_status;
	uint64_t syndbg_control, syndbg_status, syndbg_send, syndbg_recv, syndbg_pending;
	uint64_t syndbg_options;
};

/* per-vCPU Hyper-V state (KVM's struct kvm_vcpu_hv) */
struct hv_vcpu {
	bool enabled;          /* CPUID 0x40000001.EAX is "Hv#1" (vcpu->arch.hyperv_enabled) */
	bool enforce;          /* KVM_CAP_HYPERV_ENFORCE_CPUID */
	uint32_t features_eax, features_ebx, features_edx;  /* CPUID 0x40000003 */
	uint32_t enlight_eax, enlight_ebx;                  /* CPUID 0x40000004 */
	uint32_t syndbg_cap_eax;                            /* CPUID 0x40000082 */
	uint32_t vp_index;
	int64_t runtime_offset;    /* VP_RUNTIME = the vCPU thread's CPU time + this */
	uint64_t vp_assist;
	/* SynIC and synthetic timers: storage only (see above) */
	bool synic_active, synic_dont_zero;
	uint32_t synic_exit_msr;   /* a guest write KVM_EXIT_HYPERV_SYNIC reports; 0 none */
	/* KVM_REQ_HV_CRASH / KVM_REQ_HV_RESET: a system event for the VMM */
	bool crash_pending, reset_pending;
	uint64_t synic_control, synic_version, synic_evt_page, synic_msg_page;
	uint64_t sint[16];
	uint64_t stimer_config[4], stimer_count[4];
};

/* what the MSRs need from the vCPU and its VM; every callback returns 0 or -errno */
struct hv_env {
	int (*guest_tsc)(void *ctx, uint64_t *tsc);           /* this vCPU's TSC now */
	uint64_t (*kvmclock_ns)(void *ctx);                  /* the VM's kvmclock now */
	uint64_t (*runtime_100ns)(void *ctx);                /* the vCPU thread's CPU time */
	int (*read_gpa)(void *ctx, uint64_t gpa, void *buf, size_t len);
	int (*write_gpa)(void *ctx, uint64_t gpa, const void *buf, size_t len);
	/* HV_X64_MSR_EOI/ICR/TPR: the LAPIC register (APIC_EOI/ICR/TASKPRI offset) */
	int (*apic_write)(void *ctx, uint32_t reg, uint64_t val);
	int (*apic_read)(void *ctx, uint32_t reg, uint64_t *val);
	uint32_t tsc_khz;          /* the vCPU's TSC frequency; 0 unknown */
	bool intel;                /* host vendor: vmcall (Intel) or vmmcall in the hypercall page */
	void *ctx;
};

void hv_vm_init(struct hv_vm *hv);
void hv_vm_fini(struct hv_vm *hv);
/* vp_index: KVM's vcpu_idx (creation order) */
void hv_vcpu_init(struct hv_vcpu *hvc, uint32_t vp_index);
/* KVM_CAP_HYPERV_SYNIC (dont_zero false) / SYNIC2 (true): kvm_hv_activate_synic */
void hv_vcpu_activate_synic(struct hv_vcpu *hvc, bool dont_zero);
/* after KVM_SET_CPUID2 (kvm_hv_set_cpuid); c may be NULL (no CPUID) */
void hv_vcpu_set_cpuid(struct hv_vcpu *hvc, const struct kvm_cpuid2 *c);

/*
 * the Hyper-V part of KVM_GET_MSR_INDEX_LIST (6.1's emulated_msrs_all, in
 * its order); returns the total even if > max
 */
unsigned hv_msr_index_list(uint32_t *out, unsigned max);
/* an MSR index KVM's kvm_hv_{get,set}_msr_common handles */
bool hv_msr_is(uint32_t index);
/*
 * RDMSR/WRMSR of a Hyper-V MSR.  host: KVM_GET/SET_MSRS (no CPUID checks).
 * 0, -EPERM where KVM returns 1 (the guest gets #GP, the host's
 * KVM_GET/SET_MSRS stops there), -ENOENT for an index hv_msr_is() rejects.
 */
int hv_msr_read(struct hv_vm *hv, struct hv_vcpu *hvc, const struct hv_env *env,
		uint32_t index, uint64_t *val, bool host);
int hv_msr_write(struct hv_vm *hv, struct hv_vcpu *hvc, const struct hv_env *env,
		 uint32_t index, uint64_t val, bool host);

/* hyperv_tsc.c */
/*
 * The page's scale and offset for a TSC of tsc_khz that reads tsc when the
 * reference time (100 ns units) is ref: ref(t) = (tsc(t) * scale >> 64) +
 * offset.  false when tsc_khz is 10 MHz or less (the scale overflows).
 */
bool hv_tsc_page_params(uint32_t tsc_khz, uint64_t tsc, uint64_t ref, struct hv_tsc_ref *out);
/* (a * b) >> 64, as the guest computes it */
uint64_t hv_mul_u64_u64_shr64(uint64_t a, uint64_t b);
/*
 * kvm_hv_setup_tsc_page: write the page when its status asks for it (call
 * before entering the guest); takes hv->lock.  Cheap when nothing changed.
 */
void hv_tsc_page_update(struct hv_vm *hv, const struct hv_env *env);
/* KVM_SET_CLOCK (kvm_hv_request_tsc_page_update): rewrite the page unless unsafe */
void hv_tsc_page_clock_changed(struct hv_vm *hv);
/* HV_X64_MSR_TIME_REF_COUNT: caller holds hv->lock */
uint64_t hv_time_ref_count(struct hv_vm *hv, const struct hv_env *env);

#endif
