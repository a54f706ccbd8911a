/* SPDX-License-Identifier: MIT */
/*
 * struct kvm_fpu <-> the module's FXSAVE image (64-bit layout, see
 * include/cused/tramp_abi.h), field by field as KVM converts its
 * fxregs_state in kvm_arch_vcpu_ioctl_get_fpu/set_fpu, plus MXCSR.
 * Pure, so the layout is unit-tested without the device.
 */
#include <string.h>
#include "cused/tramp/kmod.h"

enum {
	FX_FCW = 0, FX_FSW = 2, FX_FTW = 4, FX_FOP = 6, FX_FIP = 8, FX_FDP = 16,
	FX_MXCSR = 24, FX_ST = 32, FX_XMM = 160,
};

void kmod_fx_to_kvm(const uint8_t fx[512], struct kvm_fpu *fpu)
{
	memset(fpu, 0, sizeof(*fpu));
	memcpy(fpu->fpr, fx + FX_ST, sizeof(fpu->fpr));
	memcpy(&fpu->fcw, fx + FX_FCW, 2);
	memcpy(&fpu->fsw, fx + FX_FSW, 2);
	fpu->ftwx = fx[FX_FTW];
	memcpy(&fpu->last_opcode, fx + FX_FOP, 2);
	memcpy(&fpu->last_ip, fx + FX_FIP, 8);
	memcpy(&fpu->last_dp, fx + FX_FDP, 8);
	memcpy(fpu->xmm, fx + FX_XMM, sizeof(fpu->xmm));
	memcpy(&fpu->mxcsr, fx + FX_MXCSR, 4);
}

/* rewrites only the fields kvm_fpu has; the rest of the image stays as read */
void kmod_fx_from_kvm(uint8_t fx[512], const struct kvm_fpu *fpu)
{
	memcpy(fx + FX_ST, fpu->fpr, sizeof(fpu->fpr));
	memcpy(fx + FX_FCW, &fpu->fcw, 2);
	memcpy(fx + FX_FSW, &fpu->fsw, 2);
	fx[FX_FTW] = fpu->ftwx;
	memcpy(fx + FX_FOP, &fpu->last_opcode, 2);
	memcpy(fx + FX_FIP, &fpu->last_ip, 8);
	memcpy(fx + FX_FDP, &fpu->last_dp, 8);
	memcpy(fx + FX_XMM, fpu->xmm, sizeof(fpu->xmm));
	memcpy(fx + FX_MXCSR, &fpu->mxcsr, 4);
}
