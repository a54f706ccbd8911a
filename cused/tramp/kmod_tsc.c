/* SPDX-License-Identifier: MIT */
/*
 * KVM_GET/SET_TSC_KHZ on the kmod backend.  The module offsets the guest's
 * TSC but does not scale it, so the guest's rate is the host's: measured
 * once against CLOCK_MONOTONIC_RAW at init.  A rate KVM would reach only by
 * scaling or by catching up on every entry cannot be had here.
 */
#include <errno.h>
#include <time.h>
#include <x86intrin.h>
#include "cused/tramp/kmod.h"
#include "cused/util/log.h"

/* KVM's tsc_tolerance_ppm: closer than this needs no scaling */
#define TSC_TOLERANCE_PPM 250

static uint64_t raw_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint32_t kmod_tsc_calibrate(void)
{
	struct timespec pause = { .tv_nsec = 20 * 1000 * 1000 };
	uint64_t t0 = raw_ns(), c0 = __rdtsc(), t1, c1;

	nanosleep(&pause, NULL);
	t1 = raw_ns();
	c1 = __rdtsc();
	if (t1 <= t0 || c1 <= c0)
		return 0;
	/* cycles per ms, rounded */
	return (uint32_t)(((c1 - c0) * 1000000ULL + (t1 - t0) / 2) / (t1 - t0));
}

int kmod_tsc_khz_check(uint32_t host_khz, uint32_t user_khz)
{
	uint64_t lo, hi;

	if (!host_khz)
		return refuse(-EINVAL, "kmod: host TSC rate unknown");
	if (!user_khz)
		return 0;   /* KVM: 0 means the host's rate */
	lo = (uint64_t)host_khz * (1000000 - TSC_TOLERANCE_PPM) / 1000000;
	hi = (uint64_t)host_khz * (1000000 + TSC_TOLERANCE_PPM) / 1000000;
	if (user_khz < lo || user_khz > hi)
		return refuse(-EINVAL, "kmod: TSC %u kHz needs scaling or catch-up (host %u kHz)",
			      user_khz, host_khz);
	return 0;
}

int kmod_get_tsc_khz(struct tramp_vcpu *v)
{
	return v->vm->be->tsc_khz ? (int)v->vm->be->tsc_khz : -EINVAL;
}

int kmod_set_tsc_khz(struct tramp_vcpu *v, uint32_t khz)
{
	return kmod_tsc_khz_check(v->vm->be->tsc_khz, khz);
}
