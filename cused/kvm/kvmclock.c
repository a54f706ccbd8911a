/* SPDX-License-Identifier: MIT */
/*
 * kvmclock's guest memory: the per-vCPU pvclock page at the GPA of
 * MSR_KVM_SYSTEM_TIME(_NEW) and the VM's wall clock at MSR_KVM_WALL_CLOCK(_NEW)
 * (Linux 6.1 kvm_guest_time_update / kvm_setup_guest_pvclock /
 * kvm_write_wall_clock).  The GPAs are the guest's and may point anywhere:
 * every access goes through vm_read_phys/vm_write_phys, which check the
 * whole range against the memslots (and log the pages dirty); a GPA outside
 * guest RAM only leaves the page inactive, as KVM's cache activation fails.
 */
#include <errno.h>
#include <stddef.h>
#include "cused/kvm/vcpu.h"
#include "cused/kvm/vcpu_tsc.h"
#include "cused/x86/pvclock.h"
#include "cused/util/log.h"

#define MSR_WALL_CLOCK_OLD  0x11
#define MSR_SYSTEM_TIME_OLD 0x12
#define MSR_WALL_CLOCK_NEW  0x4b564d00
#define MSR_SYSTEM_TIME_NEW 0x4b564d01
#define PAGE_SIZE 4096

static uint64_t system_time_msr(struct vcpu *v)
{
	return __atomic_load_n(&v->msrs.val[MSLOT_KVM_SYSTEM_TIME], __ATOMIC_RELAXED);
}

/* the page's GPA if the guest enabled it on a usable address (kvm_gpc_activate) */
static bool page_gpa(struct vcpu *v, uint64_t *gpa)
{
	uint64_t msr = system_time_msr(v);
	struct pvclock_vcpu_time_info cur;

	*gpa = msr & ~1ULL;
	if (!(msr & 1))
		return false;
	/* the cache maps one page: the structure may not straddle two */
	return (*gpa & (PAGE_SIZE - 1)) + sizeof(cur) <= PAGE_SIZE &&
	       !vm_read_phys(v->vm, *gpa, &cur, sizeof(cur));
}

/* kvm_setup_guest_pvclock: odd version, contents, even version */
static void write_page(struct vcpu *v, uint64_t gpa)
{
	struct vm *vm = v->vm;
	struct pvclock_vcpu_time_info cur, p = { 0 };
	struct kvmclock_sample s;
	int64_t offset;
	uint32_t gen;

	if (vm_read_phys(vm, gpa, &cur, sizeof(cur)))
		return;   /* not RAM (any more): nothing to update, as KVM */
	pthread_mutex_lock(&vm->lock);
	kvmclock_sample(&vm->misc.clock, &s);
	offset = vm->misc.kvmclock_offset;
	gen = vm->misc.kvmclock_gen;
	p.tsc_to_system_mul = vm->misc.clock.mul;
	p.tsc_shift = vm->misc.clock.shift;
	pthread_mutex_unlock(&vm->lock);

	p.tsc_timestamp = s.host_tsc + (uint64_t)v->tsc.hw_off;
	p.system_time = s.ns + (uint64_t)offset;
	/* one linear function of the host TSC for every vCPU: stable across them */
	p.flags = PVCLOCK_TSC_STABLE_BIT | (cur.flags & PVCLOCK_GUEST_STOPPED);
	if (v->tsc.stop_request)
		p.flags |= PVCLOCK_GUEST_STOPPED;
	p.version = (cur.version + 1) | 1;
	if (vm_write_phys(vm, gpa, &p.version, sizeof(p.version)))
		return;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (vm_write_phys(vm, gpa, &p, sizeof(p)))
		return;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	p.version++;
	if (vm_write_phys(vm, gpa, &p.version, sizeof(p.version)))
		return;
	v->tsc.stop_request = false;
	v->tsc.clock_stale = false;
	v->tsc.clock_gen = gen;
}

void kvmclock_before_entry(struct vcpu *v)
{
	uint64_t gpa;

	if (!v->tsc.clock_stale &&
	    v->tsc.clock_gen == __atomic_load_n(&v->vm->misc.kvmclock_gen, __ATOMIC_RELAXED))
		return;
	if (page_gpa(v, &gpa))
		write_page(v, gpa);
	else
		v->tsc.clock_stale = false;
}

/* kvm_write_wall_clock: the host's wall-clock time at kvmclock 0 */
static void write_wall_clock(struct vm *vm, uint64_t gpa)
{
	struct pvclock_wall_clock wc;
	struct kvmclock_sample s;
	uint32_t version;
	uint64_t wall_ns;

	if (!gpa || vm_read_phys(vm, gpa, &version, sizeof(version)))
		return;
	if (version & 1)
		++version;   /* first time write, random junk */
	++version;
	if (vm_write_phys(vm, gpa, &version, sizeof(version)))
		return;
	pthread_mutex_lock(&vm->lock);
	kvmclock_sample(&vm->misc.clock, &s);
	wall_ns = s.real_ns - (s.ns + (uint64_t)vm->misc.kvmclock_offset);
	pthread_mutex_unlock(&vm->lock);
	wc.nsec = (uint32_t)(wall_ns % 1000000000ULL);
	wc.sec = (uint32_t)(wall_ns / 1000000000ULL);   /* wraps in 2106, as KVM's */
	wc.version = version;
	if (vm_write_phys(vm, gpa, &wc, sizeof(wc)))
		return;
	version++;
	vm_write_phys(vm, gpa, &version, sizeof(version));
}

void kvmclock_msr_written(struct vcpu *v, uint32_t index, uint64_t val)
{
	switch (index) {
	case MSR_WALL_CLOCK_OLD:
	case MSR_WALL_CLOCK_NEW:
		write_wall_clock(v->vm, val);
		break;
	case MSR_SYSTEM_TIME_OLD:
	case MSR_SYSTEM_TIME_NEW:
		/* KVM_REQ_GLOBAL_CLOCK_UPDATE: written before the guest runs again */
		v->tsc.clock_stale = true;
		break;
	default:
		break;
	}
}

int kvmclock_ctrl(struct vcpu *v)
{
	uint64_t gpa;

	/* kvm_set_guest_paused: only with an active pvclock page */
	if (!page_gpa(v, &gpa))
		return refuse(-EINVAL, "KVM_KVMCLOCK_CTRL: the guest has no active kvmclock");
	v->tsc.stop_request = true;
	v->tsc.clock_stale = true;
	return 0;
}
