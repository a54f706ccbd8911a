/* SPDX-License-Identifier: MIT */
/* Hyper-V: the HV CPUID table, the synthetic MSRs and the reference TSC page (cused/x86/hyperv*) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cused/x86/hyperv.h"
#include "cused/x86/hyperv_msr.h"

/* ---- a fake vCPU/VM for the MSRs: guest memory, TSC, kvmclock */
struct fake {
	uint8_t mem[4 * 4096];
	uint64_t tsc, ns, runtime;
	uint32_t apic_reg;
	uint64_t apic_val;
	int apic_calls;
};

static int f_tsc(void *ctx, uint64_t *tsc)
{
	*tsc = ((struct fake *)ctx)->tsc;
	return 0;
}

static uint64_t f_ns(void *ctx)
{
	return ((struct fake *)ctx)->ns;
}

static uint64_t f_runtime(void *ctx)
{
	return ((struct fake *)ctx)->runtime;
}

static int f_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	struct fake *f = ctx;

	if (gpa >= sizeof(f->mem) || len > sizeof(f->mem) - gpa)
		return -EFAULT;
	memcpy(buf, f->mem + gpa, len);
	return 0;
}

static int f_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	struct fake *f = ctx;

	if (gpa >= sizeof(f->mem) || len > sizeof(f->mem) - gpa)
		return -EFAULT;
	memcpy(f->mem + gpa, buf, len);
	return 0;
}

static int f_apic_write(void *ctx, uint32_t reg, uint64_t val)
{
	struct fake *f = ctx;

	f->apic_reg = reg;
	f->apic_val = val;
	f->apic_calls++;
	return 0;
}

struct fixture {
	struct fake f;
	struct hv_env env;
	struct hv_vm hv;
	struct hv_vcpu hvc;
	struct kvm_cpuid2 *cpuid;
};

static struct fixture *fx_new(void)
{
	struct fixture *x = calloc(1, sizeof(*x));

	x->env = (struct hv_env){ .guest_tsc = f_tsc, .kvmclock_ns = f_ns,
		.runtime_100ns = f_runtime, .read_gpa = f_read, .write_gpa = f_write,
		.apic_write = f_apic_write, .tsc_khz = 2000000, .intel = true, .ctx = &x->f };
	hv_vm_init(&x->hv);
	hv_vcpu_init(&x->hvc, 3);
	x->cpuid = calloc(1, sizeof(*x->cpuid) + HV_CPUID_NENT * sizeof(x->cpuid->entries[0]));
	x->cpuid->nent = HV_CPUID_NENT;
	hv_cpuid_build(x->cpuid->entries, true, true);
	return x;
}

static void fx_free(struct fixture *x)
{
	hv_vm_fini(&x->hv);
	free(x->cpuid);
	free(x);
}

static struct kvm_cpuid_entry2 *fx_leaf(struct fixture *x, uint32_t fn)
{
	for (unsigned i = 0; i < x->cpuid->nent; i++)
		if (x->cpuid->entries[i].function == fn)
			return &x->cpuid->entries[i];
	return NULL;
}

static int rd(struct fixture *x, uint32_t i, uint64_t *v, bool host)
{
	return hv_msr_read(&x->hv, &x->hvc, &x->env, i, v, host);
}

static int wr(struct fixture *x, uint32_t i, uint64_t v, bool host)
{
	return hv_msr_write(&x->hv, &x->hvc, &x->env, i, v, host);
}

static const struct kvm_cpuid_entry2 *leaf(const struct kvm_cpuid_entry2 *e, uint32_t fn)
{
	for (unsigned i = 0; i < HV_CPUID_NENT; i++)
		if (e[i].function == fn)
			return &e[i];
	return NULL;
}

/* the values Linux 6.1 kvm_get_hv_cpuid() reports on a VMX-less host */
static void cpuid_matches_kvm(void **state)
{
	struct kvm_cpuid_entry2 e[HV_CPUID_NENT];
	static const uint32_t order[HV_CPUID_NENT] = {
		0x40000000, 0x40000001, 0x40000002, 0x40000003, 0x40000004,
		0x40000005, 0x40000080, 0x40000081, 0x40000082, 0x4000000A,
	};

	(void)state;
	memset(e, 0xaa, sizeof(e));
	hv_cpuid_build(e, true, true);
	for (unsigned i = 0; i < HV_CPUID_NENT; i++) {
		assert_int_equal(e[i].function, order[i]);
		assert_int_equal(e[i].index, 0);
		assert_int_equal(e[i].flags, 0);
		assert_int_equal(e[i].padding[0] | e[i].padding[1] | e[i].padding[2], 0);
	}
	assert_int_equal(e[0].eax, 0x40000082);
	assert_memory_equal(&e[0].ebx, "Linu", 4);
	assert_memory_equal(&e[0].ecx, "x KV", 4);
	assert_memory_equal(&e[0].edx, "M Hv", 4);
	assert_int_equal(e[1].eax, 0x31237648);
	assert_int_equal(e[2].eax, 0x3839);
	assert_int_equal(e[2].ebx, 0xA0000);
	assert_int_equal(leaf(e, 0x40000003)->eax, 0x2aff);
	assert_int_equal(leaf(e, 0x40000003)->ebx, 0x830);
	assert_int_equal(leaf(e, 0x40000003)->edx, 0x80d12);
	assert_int_equal(leaf(e, 0x40000004)->eax, 0xe2c);
	assert_int_equal(leaf(e, 0x40000004)->ebx, 0xfff);
	assert_int_equal(leaf(e, 0x40000005)->eax, 1024);
	assert_int_equal(leaf(e, 0x40000005)->ebx, 64);
	assert_int_equal(leaf(e, 0x40000080)->eax, 0);
	assert_memory_equal(&leaf(e, 0x40000080)->ebx, "Linu", 4);
	assert_memory_equal(&leaf(e, 0x40000081)->eax, "VS#1", 4);
	assert_int_equal(leaf(e, 0x40000082)->eax, 2);
	assert_int_equal(leaf(e, 0x4000000A)->eax, 1u << 19);
	assert_int_equal(leaf(e, 0x4000000A)->ebx, 1);
}

/* direct stimers and cluster IPIs need a LAPIC; no SMT sets NO_NONARCH_CORESHARING */
static void cpuid_lapic_and_smt(void **state)
{
	struct kvm_cpuid_entry2 e[HV_CPUID_NENT];

	(void)state;
	hv_cpuid_build(e, false, false);
	assert_int_equal(leaf(e, 0x40000003)->edx & (1u << 19), 0);
	assert_int_equal(leaf(e, 0x40000004)->eax & (1u << 10), 0);
	assert_int_not_equal(leaf(e, 0x40000004)->eax & (1u << 18), 0);
}

/* no "Hv#1" interface leaf: the guest gets #GP for every Hyper-V MSR, the host does not */
static void msr_needs_hyperv_cpuid(void **state)
{
	struct fixture *x = fx_new();
	uint64_t v;

	(void)state;
	hv_vcpu_set_cpuid(&x->hvc, NULL);
	assert_int_equal(rd(x, HV_X64_MSR_GUEST_OS_ID, &v, false), -EPERM);
	assert_int_equal(wr(x, HV_X64_MSR_GUEST_OS_ID, 1, false), -EPERM);
	assert_int_equal(wr(x, HV_X64_MSR_GUEST_OS_ID, 5, true), 0);
	assert_int_equal(rd(x, HV_X64_MSR_GUEST_OS_ID, &v, true), 0);
	assert_int_equal(v, 5);
	/* not a Hyper-V MSR at all */
	assert_false(hv_msr_is(0x400000F0));
	assert_int_equal(rd(x, 0x10, &v, true), -ENOENT);
	/* inside the range but unknown: #GP, and the host's access fails too */
	hv_vcpu_set_cpuid(&x->hvc, x->cpuid);
	assert_int_equal(rd(x, 0x40000004, &v, false), -EPERM);
	assert_int_equal(rd(x, 0x40000004, &v, true), -EPERM);
	fx_free(x);
}

/* KVM_CAP_HYPERV_ENFORCE_CPUID: the feature bit decides, for the guest only */
static void msr_enforce_cpuid(void **state)
{
	struct fixture *x = fx_new();
	uint64_t v;

	(void)state;
	fx_leaf(x, HYPERV_CPUID_FEATURES)->eax = 0;
	fx_leaf(x, HYPERV_CPUID_FEATURES)->edx = 0;
	hv_vcpu_set_cpuid(&x->hvc, x->cpuid);
	/* not enforced: everything KVM implements is reachable */
	assert_int_equal(rd(x, HV_X64_MSR_VP_INDEX, &v, false), 0);
	assert_int_equal(v, 3);
	x->hvc.enforce = true;
	assert_int_equal(rd(x, HV_X64_MSR_VP_INDEX, &v, false), -EPERM);
	assert_int_equal(rd(x, HV_X64_MSR_VP_INDEX, &v, true), 0);
	assert_int_equal(rd(x, HV_X64_MSR_TSC_FREQUENCY, &v, false), -EPERM);
	assert_int_equal(rd(x, HV_X64_MSR_CRASH_P0, &v, false), -EPERM);
	fx_leaf(x, HYPERV_CPUID_FEATURES)->eax = HV_MSR_VP_INDEX_AVAILABLE | HV_ACCESS_FREQUENCY_MSRS;
	fx_leaf(x, HYPERV_CPUID_FEATURES)->edx = HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE;
	hv_vcpu_set_cpuid(&x->hvc, x->cpuid);
	x->hvc.enforce = true;
	assert_int_equal(rd(x, HV_X64_MSR_VP_INDEX, &v, false), 0);
	assert_int_equal(rd(x, HV_X64_MSR_TSC_FREQUENCY, &v, false), 0);
	assert_int_equal(v, 2000000000ULL);
	assert_int_equal(rd(x, HV_X64_MSR_APIC_FREQUENCY, &v, false), 0);
	assert_int_equal(v, 1000000000ULL);
	assert_int_equal(wr(x, HV_X64_MSR_CRASH_P0, 7, false), 0);
	assert_int_equal(rd(x, HV_X64_MSR_CRASH_P0, &v, false), 0);
	assert_int_equal(v, 7);
	/* HYPERCALL_AVAILABLE also guards GUEST_OS_ID */
	assert_int_equal(wr(x, HV_X64_MSR_GUEST_OS_ID, 1, false), -EPERM);
	fx_free(x);
}

/* read-only MSRs: the guest's write faults, the host's is ignored; VP_INDEX only from the host */
static void msr_read_only(void **state)
{
	struct fixture *x = fx_new();
	uint64_t v;

	(void)state;
	hv_vcpu_set_cpuid(&x->hvc, x->cpuid);
	x->hvc.enforce = true;
	assert_int_equal(wr(x, HV_X64_MSR_TIME_REF_COUNT, 1, false), -EPERM);
	assert_int_equal(wr(x, HV_X64_MSR_TIME_REF_COUNT, 1, true), 0);
	assert_int_equal(wr(x, HV_X64_MSR_TSC_FREQUENCY, 1, false), -EPERM);
	assert_int_equal(wr(x, HV_X64_MSR_TSC_FREQUENCY, 1, true), 0);
	assert_int_equal(wr(x, HV_X64_MSR_VP_RUNTIME, 1, false), -EPERM);
	x->f.runtime = 100;
	assert_int_equal(wr(x, HV_X64_MSR_VP_RUNTIME, 1000, true), 0);
	x->f.runtime = 150;
	assert_int_equal(rd(x, HV_X64_MSR_VP_RUNTIME, &v, false), 0);
	assert_int_equal(v, 1050);
	assert_int_equal(wr(x, HV_X64_MSR_VP_INDEX, 1, false), -EPERM);
	assert_int_equal(wr(x, HV_X64_MSR_VP_INDEX, 1024, true), -EPERM);
	assert_int_equal(wr(x, HV_X64_MSR_VP_INDEX, 9, true), 0);
	assert_int_equal(rd(x, HV_X64_MSR_VP_INDEX, &v, false), 0);
	assert_int_equal(v, 9);
	/* TSC_EMULATION_STATUS: the guest may only write 0 */
	assert_int_equal(wr(x, HV_X64_MSR_TSC_EMULATION_STATUS, 1, false), -EPERM);
	assert_int_equal(wr(x, HV_X64_MSR_TSC_EMULATION_STATUS, 0, false), 0);
	assert_int_equal(wr(x, HV_X64_MSR_TSC_EMULATION_STATUS, 1, true), 0);
	/* RESET reads 0; the guest's 1 asks for a reset (a system event), 0 nothing */
	assert_int_equal(wr(x, HV_X64_MSR_RESET, 0, false), 0);
	assert_false(x->hvc.reset_pending);
	assert_int_equal(wr(x, HV_X64_MSR_RESET, 1, false), 0);
	assert_true(x->hvc.reset_pending);
	assert_int_equal(rd(x, HV_X64_MSR_RESET, &v, false), 0);
	assert_int_equal(v, 0);
	/* CRASH_CTL keeps only CRASH_NOTIFY, from the host; the guest's reports a crash */
	assert_int_equal(wr(x, HV_X64_MSR_CRASH_CTL, ~0ULL, true), 0);
	assert_false(x->hvc.crash_pending);
	assert_int_equal(rd(x, HV_X64_MSR_CRASH_CTL, &v, true), 0);
	assert_int_equal(v, HV_CRASH_CTL_CRASH_NOTIFY);
	assert_int_equal(wr(x, HV_X64_MSR_CRASH_CTL, 0, false), 0);
	assert_false(x->hvc.crash_pending);
	assert_int_equal(wr(x, HV_X64_MSR_CRASH_CTL, HV_CRASH_CTL_CRASH_NOTIFY, false), 0);
	assert_true(x->hvc.crash_pending);
	assert_int_equal(rd(x, HV_X64_MSR_CRASH_CTL, &v, false), 0);
	assert_int_equal(v, HV_CRASH_CTL_CRASH_NOTIFY);
	fx_free(x);
}

/* the hypercall page needs a guest OS id; enabling it writes vmcall; ret */
static void msr_hypercall_page(void **state)
{
	struct fixture *x = fx_new();
	static const uint8_t vmcall_ret[] = { 0x0f, 0x01, 0xc1, 0xc3 };
	uint64_t v;

	(void)state;
	hv_vcpu_set_cpuid(&x->hvc, x->cpuid);
	assert_int_equal(wr(x, HV_X64_MSR_HYPERCALL, 0x1001, false), 0);
	assert_int_equal(rd(x, HV_X64_MSR_HYPERCALL, &v, false), 0);
	assert_int_equal(v, 0);
	assert_int_equal(wr(x, HV_X64_MSR_GUEST_OS_ID, 0x8100ULL << 48, false), 0);
	assert_int_equal(wr(x, HV_X64_MSR_HYPERCALL, 0x1001, false), 0);
	assert_memory_equal(x->f.mem + 0x1000, vmcall_ret, 4);
	assert_int_equal(rd(x, HV_X64_MSR_HYPERCALL, &v, false), 0);
	assert_int_equal(v, 0x1001);
	/* a page outside guest memory: #GP, the MSR keeps its value */
	assert_int_equal(wr(x, HV_X64_MSR_HYPERCALL, 0x100000001ULL, false), -EPERM);
	assert_int_equal(rd(x, HV_X64_MSR_HYPERCALL, &v, false), 0);
	assert_int_equal(v, 0x1001);
	/* clearing the OS id disables the page */
	assert_int_equal(wr(x, HV_X64_MSR_GUEST_OS_ID, 0, false), 0);
	assert_int_equal(rd(x, HV_X64_MSR_HYPERCALL, &v, false), 0);
	assert_int_equal(v, 0x1000);
	fx_free(x);
}

/* SynIC inactive (KVM_CAP_HYPERV_SYNIC refused): guest #GP, host only 0; EOI goes to the LAPIC */
static void msr_synic_and_apic(void **state)
{
	struct fixture *x = fx_new();
	uint64_t v;

	(void)state;
	hv_vcpu_set_cpuid(&x->hvc, x->cpuid);
	assert_int_equal(rd(x, HV_X64_MSR_EOM, &v, false), -EPERM);
	assert_int_equal(rd(x, HV_X64_MSR_SVERSION, &v, true), 0);
	assert_int_equal(v, 1);
	assert_int_equal(rd(x, HV_X64_MSR_SINT0 + 3, &v, true), 0);
	assert_int_equal(v, HV_SYNIC_SINT_MASKED);
	assert_int_equal(wr(x, HV_X64_MSR_SINT0, 5, true), -EPERM);
	assert_int_equal(wr(x, HV_X64_MSR_SINT0, 0, true), 0);
	assert_int_equal(wr(x, HV_X64_MSR_STIMER0_CONFIG, 0, false), -EPERM);
	assert_int_equal(wr(x, HV_X64_MSR_STIMER0_CONFIG, 0, true), 0);
	assert_int_equal(wr(x, HV_X64_MSR_EOI, 1, false), 0);
	assert_int_equal(x->f.apic_calls, 1);
	assert_int_equal(x->f.apic_reg, 0xb0);
	x->env.apic_write = NULL;   /* no LAPIC */
	assert_int_equal(wr(x, HV_X64_MSR_EOI, 1, false), -EPERM);
	fx_free(x);
}

/* after KVM_CAP_HYPERV_SYNIC: KVM's validation of the SynIC and stimer MSRs */
static void msr_synic_active(void **state)
{
	struct fixture *x = fx_new();
	uint64_t v;

	(void)state;
	hv_vcpu_set_cpuid(&x->hvc, x->cpuid);
	x->hvc.enforce = true;
	memset(x->f.mem + 0x1000, 0xaa, 4096);
	hv_vcpu_activate_synic(&x->hvc, false);
	assert_int_equal(rd(x, HV_X64_MSR_SCONTROL, &v, false), 0);
	assert_int_equal(v, 1);
	assert_int_equal(rd(x, HV_X64_MSR_EOM, &v, false), 0);
	assert_int_equal(wr(x, HV_X64_MSR_EOM, 0, false), 0);
	assert_int_equal(wr(x, HV_X64_MSR_SVERSION, 1, false), -EPERM);
	/* SINT vectors below 16 only masked (or from the host) */
	assert_int_equal(wr(x, HV_X64_MSR_SINT0, 15, false), -EPERM);
	assert_int_equal(wr(x, HV_X64_MSR_SINT0, 15 | HV_SYNIC_SINT_MASKED, false), 0);
	assert_int_equal(wr(x, HV_X64_MSR_SINT0, 15, true), 0);
	assert_int_equal(wr(x, HV_X64_MSR_SINT0 + 1, 0x30, false), 0);
	/* SYNIC (not SYNIC2): enabling the message page zeroes it */
	assert_int_equal(wr(x, HV_X64_MSR_SIMP, 0x1001, false), 0);
	assert_int_equal(x->f.mem[0x1000] | x->f.mem[0x1fff], 0);
	/* the guest's SIMP write is reported to the VMM (KVM_EXIT_HYPERV_SYNIC), the host's not */
	assert_int_equal(x->hvc.synic_exit_msr, HV_X64_MSR_SIMP);
	x->hvc.synic_exit_msr = 0;
	assert_int_equal(wr(x, HV_X64_MSR_SCONTROL, 0, true), 0);
	assert_int_equal(x->hvc.synic_exit_msr, 0);
	assert_int_equal(wr(x, HV_X64_MSR_EOM, 0, false), 0);
	assert_int_equal(x->hvc.synic_exit_msr, 0);
	assert_int_equal(wr(x, HV_X64_MSR_SIEFP, 0x100000001ULL, false), -EPERM);
	/* direct-mode timers need their CPUID bit under enforcement */
	fx_leaf(x, HYPERV_CPUID_FEATURES)->edx &= ~HV_STIMER_DIRECT_MODE_AVAILABLE;
	hv_vcpu_set_cpuid(&x->hvc, x->cpuid);
	assert_int_equal(wr(x, HV_X64_MSR_STIMER0_CONFIG, 1 << 12, false), -EPERM);
	/* count 0 disables, auto-enable re-enables; message mode without a SINT drops enable */
	assert_int_equal(wr(x, HV_X64_MSR_STIMER0_CONFIG, 1 | 8 | (2 << 16), false), 0);
	assert_int_equal(wr(x, HV_X64_MSR_STIMER0_CONFIG + 1, 0, false), 0);
	assert_int_equal(rd(x, HV_X64_MSR_STIMER0_CONFIG, &v, false), 0);
	assert_int_equal(v, 8 | (2 << 16));
	assert_int_equal(wr(x, HV_X64_MSR_STIMER0_CONFIG + 1, 100, false), 0);
	assert_int_equal(rd(x, HV_X64_MSR_STIMER0_CONFIG, &v, false), 0);
	assert_int_equal(v, 1 | 8 | (2 << 16));
	assert_int_equal(wr(x, HV_X64_MSR_STIMER0_CONFIG, 1, false), 0);
	assert_int_equal(rd(x, HV_X64_MSR_STIMER0_CONFIG, &v, false), 0);
	assert_int_equal(v, 0);
	fx_free(x);
}

/* KVM_GET_MSR_INDEX_LIST's Hyper-V MSRs: KVM's 27, each saved and restored by the host */
static void msr_index_list_round_trip(void **state)
{
	struct fixture *x = fx_new();
	uint32_t idx[32];
	unsigned n = hv_msr_index_list(NULL, 0);
	uint64_t v;

	(void)state;
	assert_int_equal(n, 27);
	assert_int_equal(hv_msr_index_list(idx, 2), 27);
	assert_int_equal(hv_msr_index_list(idx, 32), 27);
	assert_int_equal(idx[0], HV_X64_MSR_GUEST_OS_ID);
	assert_int_equal(idx[26], HV_X64_MSR_SYNDBG_PENDING_BUFFER);
	for (unsigned i = 0; i < n; i++) {
		assert_true(hv_msr_is(idx[i]));
		assert_int_equal(rd(x, idx[i], &v, true), 0);
		assert_int_equal(wr(x, idx[i], v, true), 0);
	}
	fx_free(x);
}

/* scale/offset: the page's reference time is the TSC in 100 ns ticks from the given point */
static void tsc_page_math(void **state)
{
	struct hv_tsc_ref r;
	uint64_t tsc = 123456789012ULL;

	(void)state;
	assert_false(hv_tsc_page_params(0, 0, 0, &r));
	assert_false(hv_tsc_page_params(10000, 0, 0, &r));
	assert_true(hv_tsc_page_params(2000000, tsc, 5000, &r));
	/* 2 GHz: 200 TSC ticks per 100 ns */
	assert_int_equal(hv_mul_u64_u64_shr64(tsc, r.tsc_scale) + r.tsc_offset, 5000);
	assert_in_range(hv_mul_u64_u64_shr64(tsc + 2000000000ULL, r.tsc_scale) + r.tsc_offset,
			5000 + 10000000 - 1, 5000 + 10000000);
	assert_true(hv_tsc_page_params(2596142, tsc, 0, &r));
	assert_in_range(hv_mul_u64_u64_shr64(tsc + 2596142000ULL, r.tsc_scale) + r.tsc_offset,
			10000000 - 1, 10000000 + 1);
	assert_int_equal(hv_mul_u64_u64_shr64(~0ULL, ~0ULL), ~0ULL - 1);
}

/* REFERENCE_TSC: nothing written while disabled; enabled, the page appears at the next entry */
static void tsc_page_lifecycle(void **state)
{
	struct fixture *x = fx_new();
	struct hv_tsc_ref page;
	uint64_t v;

	(void)state;
	hv_vcpu_set_cpuid(&x->hvc, x->cpuid);
	x->f.tsc = 4000000000ULL;
	x->f.ns = 1000000000ULL;
	assert_int_equal(rd(x, HV_X64_MSR_TIME_REF_COUNT, &v, false), 0);
	assert_int_equal(v, 10000000);
	assert_int_equal(wr(x, HV_X64_MSR_REFERENCE_TSC, 0x2000, false), 0);
	hv_tsc_page_update(&x->hv, &x->env);
	memcpy(&page, x->f.mem + 0x2000, sizeof(page));
	assert_int_equal(page.tsc_sequence | page.tsc_scale | page.tsc_offset, 0);

	assert_int_equal(wr(x, HV_X64_MSR_REFERENCE_TSC, 0x2001, false), 0);
	assert_int_equal(x->hv.tsc_status, HV_TSC_PAGE_GUEST_CHANGED);
	hv_tsc_page_update(&x->hv, &x->env);
	assert_int_equal(x->hv.tsc_status, HV_TSC_PAGE_SET);
	memcpy(&page, x->f.mem + 0x2000, sizeof(page));
	assert_int_equal(page.tsc_sequence, 1);
	assert_int_equal(hv_mul_u64_u64_shr64(x->f.tsc, page.tsc_scale) + page.tsc_offset,
			 10000000);
	/* with the page set, TIME_REF_COUNT follows the page's formula, not the clock */
	x->f.tsc += 2000000000ULL;
	x->f.ns = 0;
	assert_int_equal(rd(x, HV_X64_MSR_TIME_REF_COUNT, &v, false), 0);
	assert_in_range(v, 20000000 - 1, 20000000);

	/* KVM_SET_CLOCK: the page is rewritten, with a new sequence */
	hv_tsc_page_clock_changed(&x->hv);
	assert_int_equal(x->hv.tsc_status, HV_TSC_PAGE_HOST_CHANGED);
	hv_tsc_page_update(&x->hv, &x->env);
	memcpy(&page, x->f.mem + 0x2000, sizeof(page));
	assert_int_equal(page.tsc_sequence, 2);
	assert_int_equal(hv_mul_u64_u64_shr64(x->f.tsc, page.tsc_scale) + page.tsc_offset, 0);

	/* reenlightenment with TSC emulation on: the page stays as it is */
	assert_int_equal(wr(x, HV_X64_MSR_TSC_EMULATION_CONTROL, 1, false), 0);
	hv_tsc_page_clock_changed(&x->hv);
	assert_int_equal(x->hv.tsc_status, HV_TSC_PAGE_SET);

	/* a page outside guest memory breaks it: TIME_REF_COUNT falls back to the clock */
	assert_int_equal(wr(x, HV_X64_MSR_REFERENCE_TSC, 0x7fff0001ULL, false), 0);
	hv_tsc_page_update(&x->hv, &x->env);
	assert_int_equal(x->hv.tsc_status, HV_TSC_PAGE_BROKEN);
	x->f.ns = 500;
	assert_int_equal(rd(x, HV_X64_MSR_TIME_REF_COUNT, &v, false), 0);
	assert_int_equal(v, 5);
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cpuid_matches_kvm),
		cmocka_unit_test(cpuid_lapic_and_smt),
		cmocka_unit_test(msr_needs_hyperv_cpuid),
		cmocka_unit_test(msr_enforce_cpuid),
		cmocka_unit_test(msr_read_only),
		cmocka_unit_test(msr_hypercall_page),
		cmocka_unit_test(msr_synic_and_apic),
		cmocka_unit_test(msr_synic_active),
		cmocka_unit_test(msr_index_list_round_trip),
		cmocka_unit_test(tsc_page_math),
		cmocka_unit_test(tsc_page_lifecycle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
