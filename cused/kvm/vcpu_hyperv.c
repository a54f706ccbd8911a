/* SPDX-License-Identifier: MIT */
/* Hyper-V for a vCPU (see vcpu_hyperv.h) */
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include "cused/kvm/vcpu_hyperv.h"
#include "cused/kvm/vcpu.h"
#include "cused/kvm/vcpu_irq_priv.h"
#include "cused/irq/lapic.h"
#include "cused/tramp_abi.h"
#include "cused/util/log.h"

#define APIC_ICR2      0x310
#define APIC_BASE_EXTD (1ULL << 10)

static int env_guest_tsc(void *ctx, uint64_t *tsc)
{
	return vcpu_read_field(ctx, CUSED_F_TSC, tsc);
}

static uint64_t env_kvmclock_ns(void *ctx)
{
	struct vcpu *v = ctx;
	struct kvmclock_sample s;

	/* the VM's kvmclock, as KVM's get_kvmclock_ns (the master clock + offset) */
	kvmclock_sample(&v->vm->misc.clock, &s);
	return s.ns + __atomic_load_n(&v->vm->misc.kvmclock_offset, __ATOMIC_RELAXED);
}

/* the CPU time of the thread that runs the guest (KVM: current_task_runtime_100ns) */
static uint64_t env_runtime_100ns(void *ctx)
{
	struct vcpu *v = ctx;
	clockid_t id = CLOCK_THREAD_CPUTIME_ID;
	struct timespec ts;

	if (v->runner_started && pthread_getcpuclockid(v->runner, &id))
		id = CLOCK_THREAD_CPUTIME_ID;
	if (clock_gettime(id, &ts))
		return 0;
	return ((uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec) / 100;
}

static int env_read_gpa(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	struct vcpu *v = ctx;

	return vm_read_phys(v->vm, gpa, buf, len);
}

static int env_write_gpa(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	struct vcpu *v = ctx;

	return vm_write_phys(v->vm, gpa, buf, len);
}

/* kvm_hv_vapic_msr_*: a LAPIC register whatever the APIC mode; -EPERM without a LAPIC */
static int env_apic_write(void *ctx, uint32_t reg, uint64_t val)
{
	struct vcpu *v = ctx;
	struct lapic *l = v->irq ? v->irq->lapic : NULL;
	uint64_t base;
	uint32_t lo = (uint32_t)val, hi = (uint32_t)(val >> 32);

	if (!l)
		return -EPERM;
	base = lapic_get_base(l);
	if (base & APIC_BASE_EXTD)
		return lapic_msr_write(l, 0x800 + reg / 16, reg == 0x300 ? val : lo) ? -EPERM : 0;
	base &= ~0xfffULL;
	if (reg == 0x300 && lapic_mmio_write(l, base + APIC_ICR2, &hi, 4))
		return -EPERM;
	return lapic_mmio_write(l, base + reg, &lo, 4) ? -EPERM : 0;
}

static int env_apic_read(void *ctx, uint32_t reg, uint64_t *val)
{
	struct vcpu *v = ctx;
	struct lapic *l = v->irq ? v->irq->lapic : NULL;
	uint32_t lo = 0, hi = 0;
	uint64_t base;

	if (!l)
		return -EPERM;
	base = lapic_get_base(l);
	if (base & APIC_BASE_EXTD)
		return lapic_msr_read(l, 0x800 + reg / 16, val) ? -EPERM : 0;
	base &= ~0xfffULL;
	if (lapic_mmio_read(l, base + reg, &lo, 4) ||
	    (reg == 0x300 && lapic_mmio_read(l, base + APIC_ICR2, &hi, 4)))
		return -EPERM;
	*val = lo | (uint64_t)hi << 32;
	return 0;
}

static bool host_is_intel(void)
{
	unsigned a, b, c, d;

	return __get_cpuid(0, &a, &b, &c, &d) && b == 0x756e6547;   /* "Genu" */
}

/* need_khz / need_vendor: fill in what costs a host ioctl / a CPUID exit only when used */
static struct hv_env env_of(struct vcpu *v, bool need_khz, bool need_vendor)
{
	const struct tramp_ops *ops = v->vm->ctx->ops;
	int khz = need_khz && ops->get_tsc_khz ? ops->get_tsc_khz(v->tv) : 0;

	return (struct hv_env){
		.guest_tsc = env_guest_tsc, .kvmclock_ns = env_kvmclock_ns,
		.runtime_100ns = env_runtime_100ns, .read_gpa = env_read_gpa,
		.write_gpa = env_write_gpa, .apic_write = env_apic_write,
		.apic_read = env_apic_read, .tsc_khz = khz > 0 ? (uint32_t)khz : 0,
		.intel = need_vendor && host_is_intel(), .ctx = v,
	};
}

void vcpu_hv_init(struct vcpu *v)
{
	uint32_t idx = 0;

	pthread_mutex_lock(&v->vm->lock);
	for (unsigned i = 0; i < v->vm->nr_vcpus; i++)
		if (v->vm->vcpu_ids[i] == v->id)
			idx = i;
	pthread_mutex_unlock(&v->vm->lock);
	hv_vcpu_init(&v->hv, idx);
}

void vcpu_hv_cpuid_changed(struct vcpu *v)
{
	hv_vcpu_set_cpuid(&v->hv, v->cpuid);
}

bool vcpu_hv_msr(struct vcpu *v, bool write, uint32_t index, uint64_t *data, bool host, int *r)
{
	struct hv_env env;

	if (!hv_msr_is(index))
		return false;
	env = env_of(v, index == HV_X64_MSR_TSC_FREQUENCY, index == HV_X64_MSR_HYPERCALL);
	v->hv.enforce = v->misc.hv_cpuid_enforce;
	*r = write ? hv_msr_write(&v->vm->hv, &v->hv, &env, index, *data, host)
		   : hv_msr_read(&v->vm->hv, &v->hv, &env, index, data, host);
	log_debug("vcpu %u: %s %s Hyper-V MSR %#x = %#llx: %d", v->id, host ? "host" : "guest",
		  write ? "write" : "read", index, (unsigned long long)*data, *r);
	return true;
}

bool vcpu_hv_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t msr = v->hv.synic_exit_msr;

	/* KVM checks KVM_REQ_HV_CRASH, then KVM_REQ_HV_RESET, then KVM_REQ_HV_EXIT */
	if (v->hv.crash_pending || v->hv.reset_pending) {
		run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
		memset(&run->system_event, 0, sizeof(run->system_event));
		run->system_event.type = v->hv.crash_pending ? KVM_SYSTEM_EVENT_CRASH :
					 KVM_SYSTEM_EVENT_RESET;
		if (v->hv.crash_pending)
			v->hv.crash_pending = false;
		else
			v->hv.reset_pending = false;
		return true;
	}
	if (!msr)
		return false;
	v->hv.synic_exit_msr = 0;
	run->exit_reason = KVM_EXIT_HYPERV;
	memset(&run->hyperv, 0, sizeof(run->hyperv));
	run->hyperv.type = KVM_EXIT_HYPERV_SYNIC;
	run->hyperv.u.synic.msr = msr;
	run->hyperv.u.synic.control = v->hv.synic_control;
	run->hyperv.u.synic.evt_page = v->hv.synic_evt_page;
	run->hyperv.u.synic.msg_page = v->hv.synic_msg_page;
	return true;
}

void vcpu_hv_enter(struct vcpu *v)
{
	struct hv_env env;
	enum hv_tsc_status s = __atomic_load_n(&v->vm->hv.tsc_status, __ATOMIC_RELAXED);

	if (s != HV_TSC_PAGE_GUEST_CHANGED && s != HV_TSC_PAGE_HOST_CHANGED)
		return;
	env = env_of(v, true, false);
	hv_tsc_page_update(&v->vm->hv, &env);
}
