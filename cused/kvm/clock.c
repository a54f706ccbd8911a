/* SPDX-License-Identifier: MIT */
/*
 * KVM_GET/SET_CLOCK: the VM's kvmclock as an offset on the host's boot-time
 * clock (KVM's get_kvmclock_base_ns() counts from boot too).  The daemon's
 * clock is not derived from the TSC, so it never claims KVM_CLOCK_TSC_STABLE
 * and does not hand out (REALTIME, HOST_TSC) pairs: like KVM on a host
 * without a TSC master clock, GET_CLOCK reports flags 0.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include "cused/kvm/vm_misc.h"

static uint64_t ns_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t kvmclock_host_ns(void)
{
	return ns_of(CLOCK_BOOTTIME);
}

uint64_t kvmclock_real_ns(void)
{
	return ns_of(CLOCK_REALTIME);
}

void kvmclock_get(const struct vm_misc *m, uint64_t now_ns, struct kvm_clock_data *d)
{
	memset(d, 0, sizeof(*d));
	d->clock = now_ns + m->kvmclock_offset;
}

int kvmclock_set(struct vm_misc *m, uint64_t now_ns, uint64_t now_real_ns,
		 const struct kvm_clock_data *d)
{
	uint64_t clock = d->clock;

	/* the result of KVM_GET_CLOCK may come back with all its flags */
	if (d->flags & ~VM_CLOCK_VALID_FLAGS)
		return -EINVAL;
	/* only REALTIME is used: account for the time since it was sampled, never back */
	if ((d->flags & KVM_CLOCK_REALTIME) && now_real_ns > d->realtime)
		clock += now_real_ns - d->realtime;
	m->kvmclock_offset = (int64_t)(clock - now_ns);
	return 0;
}
