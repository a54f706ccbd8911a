/* SPDX-License-Identifier: MIT */
/*
 * KVM_GET/SET_CLOCK and the VM's kvmclock, as KVM's "master clock": the
 * clock is a fixed linear function of the host TSC (a reference pair of
 * host TSC and CLOCK_BOOTTIME sampled at VM creation, and the TSC rate as a
 * pvclock mul/shift), plus the VM's offset.  The pvclock pages the guest
 * reads (kvmclock.c) use the very same function, so the guest's clock, the
 * value KVM_GET_CLOCK reports and every vCPU agree to the nanosecond, and
 * GET_CLOCK can say KVM_CLOCK_TSC_STABLE with (REALTIME, HOST_TSC) pairs.
 * The rate is measured once per daemon; against CLOCK_BOOTTIME the clock
 * drifts by that measurement's error (a few ppm), as KVM's between its
 * master-clock updates.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>
#include "cused/kvm/vm_misc.h"
#include "cused/x86/pvclock.h"

static uint64_t ns_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* a clock reading and the host TSC at that moment (the tighter of three tries) */
static void paired(clockid_t id, uint64_t *tsc, uint64_t *ns)
{
	uint64_t best = ~0ULL;

	*tsc = *ns = 0;
	for (int i = 0; i < 3; i++) {
		uint64_t t0 = __rdtsc(), n = ns_of(id), t1 = __rdtsc();

		if (t1 - t0 < best) {
			best = t1 - t0;
			*tsc = t0 + (t1 - t0) / 2;
			*ns = n;
		}
	}
}

static uint32_t measured_khz;

static void measure(void)
{
	struct timespec pause = { .tv_nsec = 20 * 1000 * 1000 };
	uint64_t c0, n0, c1, n1;

	paired(CLOCK_MONOTONIC_RAW, &c0, &n0);
	nanosleep(&pause, NULL);
	paired(CLOCK_MONOTONIC_RAW, &c1, &n1);
	if (n1 > n0 && c1 > c0)
		measured_khz = (uint32_t)(((c1 - c0) * 1000000ULL + (n1 - n0) / 2) / (n1 - n0));
}

uint32_t kvmclock_host_tsc_khz(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, measure);
	/* a TSC that did not move: pretend 1 GHz rather than divide by zero */
	return measured_khz ? measured_khz : 1000000;
}

void kvmclock_master_init(struct kvmclock_master *mc, uint32_t khz, uint64_t tsc, uint64_t ns)
{
	mc->khz = khz;
	mc->tsc = tsc;
	mc->ns = ns;
	pvclock_time_scale(1000000000ULL, (uint64_t)khz * 1000, &mc->shift, &mc->mul);
}

void kvmclock_master_now(struct kvmclock_master *mc)
{
	uint64_t tsc, ns;
	uint32_t khz = kvmclock_host_tsc_khz();

	paired(CLOCK_BOOTTIME, &tsc, &ns);
	kvmclock_master_init(mc, khz, tsc, ns);
}

uint64_t kvmclock_master_ns(const struct kvmclock_master *mc, uint64_t host_tsc)
{
	/* another CPU's TSC may be a hair behind the reference */
	if (host_tsc < mc->tsc)
		return mc->ns - pvclock_scale_delta(mc->tsc - host_tsc, mc->mul, mc->shift);
	return mc->ns + pvclock_scale_delta(host_tsc - mc->tsc, mc->mul, mc->shift);
}

void kvmclock_sample(const struct kvmclock_master *mc, struct kvmclock_sample *s)
{
	paired(CLOCK_REALTIME, &s->host_tsc, &s->real_ns);
	s->ns = kvmclock_master_ns(mc, s->host_tsc);
}

void kvmclock_get(const struct vm_misc *m, const struct kvmclock_sample *s,
		  struct kvm_clock_data *d)
{
	memset(d, 0, sizeof(*d));
	d->clock = s->ns + m->kvmclock_offset;
	d->flags = KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC;
	d->realtime = s->real_ns;
	d->host_tsc = s->host_tsc;
}

int kvmclock_set(struct vm_misc *m, const struct kvmclock_sample *s,
		 const struct kvm_clock_data *d)
{
	uint64_t clock = d->clock;

	/* the result of KVM_GET_CLOCK may come back with all its flags */
	if (d->flags & ~VM_CLOCK_VALID_FLAGS)
		return -EINVAL;
	/* only REALTIME is used: account for the time since it was sampled, never back */
	if ((d->flags & KVM_CLOCK_REALTIME) && s->real_ns > d->realtime)
		clock += s->real_ns - d->realtime;
	m->kvmclock_offset = (int64_t)(clock - s->ns);
	/* vCPUs compare it before each entry without the VM's lock */
	__atomic_add_fetch(&m->kvmclock_gen, 1, __ATOMIC_RELAXED);
	return 0;
}
