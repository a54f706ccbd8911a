/* SPDX-License-Identifier: MIT */
/*
 * VM ioctl rules of cused/kvm/vm_misc.c and clock.c against Linux 6.1
 * arch/x86/kvm/x86.c (kvm_arch_vm_ioctl, kvm_vm_ioctl_enable_cap,
 * kvm_vm_ioctl_set_clock, kvm_arch_vcpu_precreate).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "cused/kvm/vm_misc.h"
#include "cused/kvm/caps.h"

static int cap(struct vm_misc *m, uint32_t c, uint64_t a, uint32_t flags)
{
	struct kvm_enable_cap ec = { .cap = c, .flags = flags, .args = { a } };
	bool backend;

	return vm_misc_enable_cap(m, &ec, &backend);
}

static void test_tss_addr(void **state)
{
	struct vm_misc m;

	vm_misc_init(&m, 0);
	assert_int_equal(vm_misc_set_tss_addr(&m, 0xfffbd000), 0);
	assert_int_equal(m.tss_addr, 0xfffbd000);
	/* (unsigned int)(-3 * PAGE_SIZE) is the highest allowed */
	assert_int_equal(vm_misc_set_tss_addr(&m, 0xffffd000), 0);
	assert_int_equal(vm_misc_set_tss_addr(&m, 0xffffd001), -EINVAL);
	assert_int_equal(vm_misc_set_tss_addr(&m, 0x100000000ULL), -EINVAL);
	/* vCPUs do not matter for it */
	m.created_vcpus = 1;
	assert_int_equal(vm_misc_set_tss_addr(&m, 0), 0);
}

static void test_after_vcpus(void **state)
{
	struct vm_misc m;

	vm_misc_init(&m, 0);
	assert_int_equal(vm_misc_set_identity_map(&m, 0xfffbc000), 0);
	assert_int_equal(vm_misc_set_boot_cpu_id(&m, 3), 0);
	assert_int_equal(m.bsp_vcpu_id, 3);
	m.created_vcpus = 1;
	assert_int_equal(vm_misc_set_identity_map(&m, 0xfffbc000), -EINVAL);
	assert_int_equal(vm_misc_set_boot_cpu_id(&m, 0), -EBUSY);
	assert_int_equal(m.bsp_vcpu_id, 3);
}

static void test_mmu_pages(void **state)
{
	struct vm_misc m;

	vm_misc_init(&m, 0);
	assert_int_equal(vm_misc_nr_mmu_pages(&m, 0, false), 0);
	/* 2 MiB = 512 pages: 512 / 50 = 10, floor 64 */
	assert_int_equal(vm_misc_nr_mmu_pages(&m, 512, true), 64);
	assert_int_equal(vm_misc_nr_mmu_pages(&m, 50 * 1000, true), 1000);
	assert_int_equal(vm_misc_set_nr_mmu_pages(&m, 63), -EINVAL);
	assert_int_equal(vm_misc_set_nr_mmu_pages(&m, 64), 0);
	assert_int_equal(vm_misc_nr_mmu_pages(&m, 50 * 1000, true), 64);
}

static void test_max_vcpu_id(void **state)
{
	struct vm_misc m;

	vm_misc_init(&m, 0);
	assert_int_equal(cap(&m, KVM_CAP_MAX_VCPU_ID, 4097, 0), -EINVAL);
	assert_int_equal(cap(&m, KVM_CAP_MAX_VCPU_ID, 8, 0), 0);
	assert_int_equal(cap(&m, KVM_CAP_MAX_VCPU_ID, 8, 0), 0);
	assert_int_equal(cap(&m, KVM_CAP_MAX_VCPU_ID, 16, 0), -EINVAL);
	assert_int_equal(vm_misc_vcpu_precreate(&m, 7), 0);
	assert_int_equal(vm_misc_vcpu_precreate(&m, 8), -EINVAL);

	/* the first vCPU fixes the limit at KVM_MAX_VCPU_IDS, even if it fails */
	vm_misc_init(&m, 0);
	assert_int_equal(vm_misc_vcpu_precreate(&m, 5000), -EINVAL);
	assert_int_equal(cap(&m, KVM_CAP_MAX_VCPU_ID, 8, 0), -EINVAL);
	assert_int_equal(cap(&m, KVM_CAP_MAX_VCPU_ID, 4096, 0), 0);
}

static void test_enable_cap(void **state)
{
	struct vm_misc m;
	struct kvm_enable_cap ec = { .cap = KVM_CAP_EXCEPTION_PAYLOAD, .args = { 1 } };
	bool backend = false;

	vm_misc_init(&m, 0);
	assert_int_equal(cap(&m, KVM_CAP_DISABLE_QUIRKS, 0, 1), -EINVAL);
	assert_int_equal(cap(&m, 12345, 0, 0), -EINVAL);
	/* DISABLE_QUIRKS takes anything, QUIRKS2 only the known ones */
	assert_int_equal(cap(&m, KVM_CAP_DISABLE_QUIRKS, ~0ULL, 0), 0);
	assert_int_equal(cap(&m, KVM_CAP_DISABLE_QUIRKS2, 0x80, 0), -EINVAL);
	assert_int_equal(cap(&m, KVM_CAP_DISABLE_QUIRKS2, 0x7f, 0), 0);
	assert_int_equal(m.disabled_quirks, 0x7f);
	assert_int_equal(cap(&m, KVM_CAP_X2APIC_API, 4, 0), -EINVAL);
	assert_int_equal(cap(&m, KVM_CAP_X2APIC_API, 3, 0), 0);
	assert_int_equal(m.x2apic_api, 3);
	assert_int_equal(cap(&m, KVM_CAP_X86_DISABLE_EXITS, 0x10, 0), -EINVAL);
	assert_int_equal(cap(&m, KVM_CAP_X86_DISABLE_EXITS, KVM_X86_DISABLE_EXITS_HLT, 0), -EINVAL);
	assert_int_equal(cap(&m, KVM_CAP_X86_DISABLE_EXITS, KVM_X86_DISABLE_EXITS_PAUSE |
			     KVM_X86_DISABLE_EXITS_CSTATE, 0), 0);
	assert_int_equal(cap(&m, KVM_CAP_X86_USER_SPACE_MSR, 8, 0), -EINVAL);
	assert_int_equal(cap(&m, KVM_CAP_X86_USER_SPACE_MSR, 0, 0), 0);
	assert_int_equal(cap(&m, KVM_CAP_X86_USER_SPACE_MSR, 7, 0), 0);
	assert_int_equal(m.user_space_msr, 7);
	assert_int_equal(cap(&m, KVM_CAP_MSR_PLATFORM_INFO, 0, 0), 0);
	assert_false(m.platform_info_readable);
	assert_int_equal(cap(&m, KVM_CAP_MSR_PLATFORM_INFO, 1, 0), 0);
	assert_true(m.platform_info_readable);
	/* the payload format must reach the backend that stores the events */
	assert_int_equal(vm_misc_enable_cap(&m, &ec, &backend), 0);
	assert_true(backend);
	assert_true(m.exception_payload);
	/* 0 or 1, and the backend's emulator is the one that must stop queueing #UD */
	ec = (struct kvm_enable_cap){ .cap = KVM_CAP_EXIT_ON_EMULATION_FAILURE, .args = { 2 } };
	assert_int_equal(vm_misc_enable_cap(&m, &ec, &backend), -EINVAL);
	ec.args[0] = 1;
	backend = false;
	assert_int_equal(vm_misc_enable_cap(&m, &ec, &backend), 0);
	assert_true(backend);
	assert_true(m.exit_on_emulation_error);
}

#define S(n, r) ((struct kvmclock_sample){ .host_tsc = 77, .ns = (n), .real_ns = (r) })

static void test_clock(void **state)
{
	struct vm_misc m;
	struct kvm_clock_data d;

	vm_misc_init(&m, 1000);
	kvmclock_get(&m, &S(1500, 0), &d);
	assert_int_equal(d.clock, 500);
	/* as KVM with a master clock: the (realtime, host TSC) pair of the same instant */
	assert_int_equal(d.flags, KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC);
	assert_int_equal(d.host_tsc, 77);
	assert_int_equal(d.realtime, 0);

	memset(&d, 0, sizeof(d));
	d.clock = 10000;
	assert_int_equal(kvmclock_set(&m, &S(2000, 0), &d), 0);
	assert_int_equal(m.kvmclock_gen, 1);    /* pvclock pages must be rewritten */
	kvmclock_get(&m, &S(2500, 0), &d);
	assert_int_equal(d.clock, 10500);

	/* what GET_CLOCK returns may come back; unknown flags may not */
	d.flags = KVM_CLOCK_TSC_STABLE | KVM_CLOCK_HOST_TSC;
	assert_int_equal(kvmclock_set(&m, &S(2500, 0), &d), 0);
	d.flags = 1;
	assert_int_equal(kvmclock_set(&m, &S(2500, 0), &d), -EINVAL);
	d.flags = 0x10;
	assert_int_equal(kvmclock_set(&m, &S(2500, 0), &d), -EINVAL);

	/* REALTIME: the time since the sample is added, never subtracted */
	memset(&d, 0, sizeof(d));
	d.flags = KVM_CLOCK_REALTIME;
	d.clock = 100;
	d.realtime = 7000;
	assert_int_equal(kvmclock_set(&m, &S(3000, 7040), &d), 0);
	kvmclock_get(&m, &S(3000, 7040), &d);
	assert_int_equal(d.clock, 140);
	d.flags = KVM_CLOCK_REALTIME;
	d.clock = 100;
	d.realtime = 9000;
	assert_int_equal(kvmclock_set(&m, &S(3000, 7040), &d), 0);
	kvmclock_get(&m, &S(3000, 7040), &d);
	assert_int_equal(d.clock, 100);
}

/* the master clock: ns from the host TSC by the pvclock arithmetic */
static void test_kvmclock_master(void **state)
{
	struct kvmclock_master mc;

	/* 2.5 GHz: 2500 cycles per microsecond */
	kvmclock_master_init(&mc, 2500000, 1000000, 5000);
	assert_int_equal(kvmclock_master_ns(&mc, 1000000), 5000);
	/* a 32-bit fraction truncates: within a nanosecond per second */
	assert_in_range(kvmclock_master_ns(&mc, 1000000 + 2500ULL * 1000000),
			5000 + 1000000000ULL - 1, 5000 + 1000000000ULL);
	/* a TSC a little behind the reference (another CPU) goes back, not to 2^64 */
	assert_in_range(kvmclock_master_ns(&mc, 1000000 - 2500), 4000, 4001);
	assert_in_range(kvmclock_host_tsc_khz(), 1, UINT32_MAX);
}

/* what QEMU 7.2 and kvmtool require, and the per-backend answers */
static void test_caps(void **state)
{
	struct cused_ctx ctx = { .caps = { .max_vcpus = 8, .vcpu_events = true,
					   .events_queue = true, .xsave = true,
					   .tsc_khz = true } };
	static const unsigned required[] = {
		KVM_CAP_USER_MEMORY, KVM_CAP_DESTROY_MEMORY_REGION_WORKS,
		KVM_CAP_JOIN_MEMORY_REGIONS_WORKS, KVM_CAP_SET_TSS_ADDR, KVM_CAP_EXT_CPUID,
		KVM_CAP_MP_STATE, KVM_CAP_HLT,
	};

	for (unsigned i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		assert_int_equal(caps_check(&ctx, required[i]), 1);
	assert_int_equal(caps_check(&ctx, KVM_CAP_ADJUST_CLOCK), 14);
	assert_int_equal(caps_check(&ctx, KVM_CAP_DISABLE_QUIRKS2), 0x7f);
	assert_int_equal(caps_check(&ctx, KVM_CAP_XSAVE2), 4096);
	assert_int_equal(caps_check(&ctx, KVM_CAP_SYNC_REGS), 7);
	assert_int_equal(caps_check(&ctx, KVM_CAP_MCE), 32);
	assert_int_equal(caps_check(&ctx, KVM_CAP_VCPU_EVENTS), 1);
	assert_int_equal(caps_check(&ctx, KVM_CAP_MAX_VCPUS), 8);
	/* KVM 6.1 offers EXIT_ON_EMULATION_FAILURE always; SMALLER_MAXPHYADDR is the backend's */
	assert_int_equal(caps_check(&ctx, KVM_CAP_EXIT_ON_EMULATION_FAILURE), 1);
	assert_int_equal(caps_check(&ctx, KVM_CAP_SMALLER_MAXPHYADDR), 0);
	ctx.caps.smaller_maxphyaddr = true;
	assert_int_equal(caps_check(&ctx, KVM_CAP_SMALLER_MAXPHYADDR), 1);
	/* kmod today: one event slot, no NMI queue, no TSC rate in the trampoline ABI */
	ctx.caps.events_queue = false;
	ctx.caps.tsc_khz = false;
	assert_int_equal(caps_check(&ctx, KVM_CAP_VCPU_EVENTS), 1);
	assert_int_equal(caps_check(&ctx, KVM_CAP_USER_NMI), 0);
	assert_int_equal(caps_check(&ctx, KVM_CAP_EXCEPTION_PAYLOAD), 0);
	assert_int_equal(caps_check(&ctx, KVM_CAP_GET_TSC_KHZ), 0);
	assert_int_equal(caps_check(&ctx, KVM_CAP_SYNC_REGS), 7);
	ctx.caps.vcpu_events = false;
	assert_int_equal(caps_check(&ctx, KVM_CAP_VCPU_EVENTS), 0);
	assert_int_equal(caps_check(&ctx, KVM_CAP_SYNC_REGS), 3);
	/* the in-daemon irqchip (cused/irq/) on every backend */
	assert_int_equal(caps_check(&ctx, KVM_CAP_IRQCHIP), 1);
	assert_int_equal(caps_check(&ctx, KVM_CAP_IRQ_ROUTING), 4096);
	assert_int_equal(caps_check(&ctx, KVM_CAP_X2APIC_API), 3);
	/* the ring's page in the vCPU mapping (cused/kvm/coalesced.c) */
	assert_int_equal(caps_check(&ctx, KVM_CAP_COALESCED_MMIO), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tss_addr),
		cmocka_unit_test(test_after_vcpus),
		cmocka_unit_test(test_mmu_pages),
		cmocka_unit_test(test_max_vcpu_id),
		cmocka_unit_test(test_enable_cap),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_kvmclock_master),
		cmocka_unit_test(test_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
