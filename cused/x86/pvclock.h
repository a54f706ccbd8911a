/* SPDX-License-Identifier: MIT */
/*
 * kvmclock's guest ABI (arch/x86/include/asm/pvclock-abi.h) and its
 * arithmetic (arch/x86/kvm/x86.c kvm_get_time_scale, pvclock.h
 * pvclock_scale_delta), and KVM's TSC write synchronization
 * (kvm_synchronize_tsc).  Pure functions.
 */
#ifndef CUSED_X86_PVCLOCK_H
#define CUSED_X86_PVCLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define PVCLOCK_TSC_STABLE_BIT (1u << 0)
#define PVCLOCK_GUEST_STOPPED  (1u << 1)

/* the page MSR_KVM_SYSTEM_TIME(_NEW) points at: 32 bytes */
struct pvclock_vcpu_time_info {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));

/* what MSR_KVM_WALL_CLOCK(_NEW) points at */
struct pvclock_wall_clock {
	uint32_t version;
	uint32_t sec;
	uint32_t nsec;
} __attribute__((packed));

/*
 * kvm_get_time_scale: *mul and *shift such that
 * pvclock_scale_delta(d, mul, shift) ~= d * scaled_hz / base_hz.
 * base_hz and scaled_hz must be non-zero.
 */
void pvclock_time_scale(uint64_t scaled_hz, uint64_t base_hz, int8_t *shift, uint32_t *mul);
/* pvclock_scale_delta: (delta << shift or >> -shift) * mul >> 32 */
uint64_t pvclock_scale_delta(uint64_t delta, uint32_t mul, int8_t shift);
/* what a guest computes from the page at TSC value tsc (__pvclock_read_cycles) */
uint64_t pvclock_read(const struct pvclock_vcpu_time_info *p, uint64_t tsc);

/*
 * A VM's TSC write history (kvm->arch.last_tsc_* / cur_tsc_offset), for
 * kvm_synchronize_tsc's rule that host writes of values close to where the
 * VM's TSCs are now join them rather than set an offset of their own.
 */
struct tsc_sync {
	uint64_t last_ns;      /* kvmclock base ns of the last write */
	uint64_t last_write;   /* TSC value it wrote */
	uint32_t last_khz;     /* the writer's rate; 0: no write yet */
	int64_t last_offset;
	int64_t cur_offset;    /* the offset of the current matched generation */
};

/*
 * kvm_synchronize_tsc for a host-initiated IA32_TSC write of data by a vCPU
 * at khz (> 0), at host TSC host_tsc and time ns: returns the L1 offset
 * (guest TSC = host TSC + offset) to give that vCPU.  0 is "vCPU creation"
 * and always joins a VM whose last write was at the same rate.
 */
int64_t tsc_sync_write(struct tsc_sync *s, uint32_t khz, uint64_t data, uint64_t host_tsc,
		       uint64_t ns);
/* KVM_VCPU_TSC_OFFSET set: records the offset as the VM's latest write */
void tsc_sync_set_offset(struct tsc_sync *s, uint32_t khz, int64_t offset, uint64_t host_tsc,
			 uint64_t ns);

#endif
