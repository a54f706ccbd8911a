/* SPDX-License-Identifier: MIT */
/*
 * Optional vCPU state on the host vCPU: events, NMI, XSAVE, TSC rate, and
 * the VM capabilities whose effect lives in the host VM.  The daemon has
 * already applied KVM's validation; the host is only the store.
 */
#include <errno.h>
#include <sys/ioctl.h>
#include "cused/tramp/hostkvm.h"
#include "cused/util/log.h"

int hk_get_events(struct tramp_vcpu *v, struct kvm_vcpu_events *ev)
{
	return hk_group_get(v, HK_EVENTS, ev, sizeof(*ev));
}

int hk_set_events(struct tramp_vcpu *v, const struct kvm_vcpu_events *ev)
{
	/*
	 * Straight to the host, after what is cached: KVM keeps the fields the
	 * flags do not cover and folds nmi.pending, and the next get must see
	 * that, not the client's struct.
	 */
	int r = hk_state_flush(v);

	if (r)
		return r;
	r = tramp_ioctl(v->fd, KVM_SET_VCPU_EVENTS, (void *)ev);
	hk_state_invalidate(&v->st);
	return r;
}

int hk_inject_nmi(struct tramp_vcpu *v)
{
	int r = hk_state_flush(v);

	if (r)
		return r;
	/* the host counts and limits pending NMIs exactly as KVM does */
	r = tramp_ioctl(v->fd, KVM_NMI, NULL);
	hk_state_invalidate(&v->st);
	return r;
}

int hk_get_xsave(struct tramp_vcpu *v, struct kvm_xsave *xs)
{
	return tramp_ioctl(v->fd, KVM_GET_XSAVE, xs);
}

int hk_set_xsave(struct tramp_vcpu *v, const struct kvm_xsave *xs)
{
	return tramp_ioctl(v->fd, KVM_SET_XSAVE, (void *)xs);
}

int hk_get_tsc_khz(struct tramp_vcpu *v)
{
	return tramp_ioctl(v->fd, KVM_GET_TSC_KHZ, NULL);
}

int hk_set_tsc_khz(struct tramp_vcpu *v, uint32_t khz)
{
	/* the host decides whether it can scale or catch up to the rate */
	return tramp_ioctl(v->fd, KVM_SET_TSC_KHZ, (void *)(uintptr_t)khz);
}

int hk_vm_enable_cap(struct tramp_vm *vm, const struct kvm_enable_cap *cap)
{
	switch (cap->cap) {
	case KVM_CAP_EXCEPTION_PAYLOAD:
		/* KVM_GET/SET_VCPU_EVENTS pass through, so the host must agree */
		return tramp_ioctl(vm->fd, KVM_ENABLE_CAP, (void *)cap);
	case KVM_CAP_EXIT_ON_EMULATION_FAILURE:
		/* the host's emulator fails the instructions: it must not queue #UD too */
		return tramp_ioctl(vm->fd, KVM_ENABLE_CAP, (void *)cap);
	default:
		return 0;
	}
}

/*
 * The host (PVM) MMU is a shadow MMU: the client's limit is the host's.
 * Capped so one client cannot lift the host's kernel-memory bound for
 * shadow page tables without limit (2^18 pages: 1 GiB of them).
 */
#define HK_MAX_MMU_PAGES (1ULL << 18)

int hk_vm_set_mmu_pages(struct tramp_vm *vm, uint64_t pages)
{
	if (pages > HK_MAX_MMU_PAGES)
		pages = HK_MAX_MMU_PAGES;
	return tramp_ioctl(vm->fd, KVM_SET_NR_MMU_PAGES, (void *)(uintptr_t)pages);
}
