/* SPDX-License-Identifier: MIT */
/*
 * KVM_GET/SET_XSAVE on the kmod backend.  The module switches only the
 * FXSAVE part (X87 and SSE), so the XSAVE image is that 512-byte legacy
 * region plus a header saying exactly those two components are present.
 * A component cleared in XSTATE_BV goes to its init state, as XRSTOR would.
 */
#include <errno.h>
#include <string.h>
#include "cused/tramp/kmod.h"
#include "cused/util/log.h"

#define XSTATE_BV_OFF 512
#define KMOD_XFEATURES 3ULL     /* X87 | SSE */

void kmod_xsave_from_fx(const uint8_t fx[512], struct kvm_xsave *xs)
{
	uint64_t bv = KMOD_XFEATURES;

	memset(xs, 0, sizeof(*xs));
	memcpy(xs->region, fx, 512);
	memcpy((uint8_t *)xs->region + XSTATE_BV_OFF, &bv, sizeof(bv));
}

int kmod_xsave_to_fx(const struct kvm_xsave *xs, uint8_t fx[512])
{
	const uint8_t *p = (const uint8_t *)xs->region;
	uint64_t bv;
	uint16_t fcw = 0x037f;
	uint32_t mxcsr = 0x1f80;

	memcpy(&bv, p + XSTATE_BV_OFF, sizeof(bv));
	if (bv & ~KMOD_XFEATURES)
		return refuse(-EINVAL, "kmod: XSAVE components %#llx are not switched by the module",
			      (unsigned long long)(bv & ~KMOD_XFEATURES));
	memcpy(fx, p, 512);
	if (!(bv & 1)) {
		/* x87 init state: FCW 0x37f, everything else of the x87 part 0 */
		memset(fx, 0, 24);
		memcpy(fx, &fcw, 2);
		memset(fx + 32, 0, 128);
	}
	if (!(bv & 2)) {
		memset(fx + 160, 0, 256);
		memcpy(fx + 24, &mxcsr, 4);
	}
	return 0;
}

int kmod_get_xsave(struct tramp_vcpu *v, struct kvm_xsave *xs)
{
	struct cused_tramp_fpu fx;
	int r = tramp_ioctl(v->fd, CUSED_TRAMP_GET_FPU, &fx);

	if (r)
		return refuse(r, "kmod: vCPU %u: CUSED_TRAMP_GET_FPU: %d", v->id, r);
	kmod_xsave_from_fx(fx.fxsave, xs);
	return 0;
}

int kmod_set_xsave(struct tramp_vcpu *v, const struct kvm_xsave *xs)
{
	struct cused_tramp_fpu fx;
	int r = kmod_xsave_to_fx(xs, fx.fxsave);

	if (r)
		return r;
	r = tramp_ioctl(v->fd, CUSED_TRAMP_SET_FPU, &fx);
	if (r)
		return refuse(r, "kmod: vCPU %u: CUSED_TRAMP_SET_FPU: %d", v->id, r);
	return 0;
}
