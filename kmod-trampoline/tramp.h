/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cused-tramp: internal interfaces between the vendor-neutral frontend
 * (tramp_main.c: device, VM contexts, nested page tables, pinning) and the
 * vendor backends (tramp_svm.c, tramp_vmx.c).
 */
#ifndef CUSED_TRAMP_H
#define CUSED_TRAMP_H

#include <linux/types.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/list.h>
#include <linux/sched.h>
#include <linux/kref.h>
#include "cused/tramp_abi.h"

#define TRAMP_MAX_SLOTS 512
#define TRAMP_GPA_BITS  48		/* GPAs we accept, with 4 or 5 levels */

struct tramp_slot {
	struct list_head node;
	u32 id, flags;
	u64 gpa, npages;
	struct page **pages;
};

struct tramp_vm {
	struct mutex lock;		/* slots, page-table edits */
	struct rw_semaphore run_sem;	/* read: in VMRUN; write: NPT edit */
	struct list_head slots;
	unsigned int nslots;
	struct mm_struct *mm;		/* pages are pinned from this mm */
	u64 *npt_root;			/* host-format 4- or 5-level table */
	int npt_levels;
	atomic_t tlb_gen;		/* bumped when NPT entries lose rights */
	atomic_t want_write;		/* an NPT edit waits for run_sem */
	struct list_head vcpus;		/* under lock */
	unsigned int nvcpus;
	struct kref ref;
};

struct tramp_vcpu {
	struct tramp_vm *vm;
	struct list_head node;		/* in vm->vcpus */
	struct mutex lock;		/* serialises fields and run */
	int running_cpu;		/* CPU in the VMRUN window, or -1 */
	atomic_t kick;
	int last_cpu;
	int tlb_gen;
	u64 gprs[16];			/* CUSED_F_RAX.. order; RAX/RSP live in VMCB */
	u8 *fxsave;			/* guest FXSAVE image, 512 bytes, 16-aligned */
	/*
	 * Guest state neither backend loads into the CPU (the daemon emulates
	 * it on the intercepts): stored here, read and written by the
	 * frontend (tramp_soft_field()) without asking the backend.
	 */
	u64 apic_base, xcr0, tsc_aux, activity, dr[4];
	void *arch;			/* backend private (VMCB etc.) */
};

struct tramp_backend {
	const char *name;
	u32 vendor;
	u64 features;
	int (*vcpu_init)(struct tramp_vcpu *v);
	void (*vcpu_free)(struct tramp_vcpu *v);
	int (*get_field)(struct tramp_vcpu *v, u32 id, u64 *val);
	int (*set_field)(struct tramp_vcpu *v, u32 id, u64 val);
	/* one guest entry; returns 0 with *ex filled, or -errno */
	int (*run_once)(struct tramp_vcpu *v, struct cused_tramp_exit *ex);
	/* true if the exit is a host interrupt the frontend should loop on */
	bool (*exit_is_host_irq)(const struct cused_tramp_exit *ex);
	void (*exit)(void);
	/*
	 * Nested page table format (host paging for NPT, EPT for VMX): bits of
	 * a non-leaf entry, of a leaf for CUSED_MAP_* flags, the leaf bit that
	 * says "written since the last GET_DIRTY", and the bits GET_DIRTY
	 * clears to start logging again.  Bit 0 means present in both formats.
	 */
	int npt_levels;
	u64 npt_dir;
	u64 (*npt_leaf_bits)(u32 map_flags);
	u64 npt_dirty, npt_clean;
};

/* NPT leaf bits the backends use (host paging format) */
#define TRAMP_PTE_P   BIT_ULL(0)
#define TRAMP_PTE_W   BIT_ULL(1)
#define TRAMP_PTE_U   BIT_ULL(2)
#define TRAMP_PTE_A   BIT_ULL(5)
#define TRAMP_PTE_D   BIT_ULL(6)
#define TRAMP_PTE_NX  BIT_ULL(63)
#define TRAMP_PTE_ADDR GENMASK_ULL(51, 12)

/* FXSAVE image offsets the frontend needs */
#define TRAMP_FX_FCW    0
#define TRAMP_FX_MXCSR  24
#define TRAMP_FX_SIZE   512

void tramp_kick_cpu(int cpu);
/* the leaf entry for gpa, or NULL; caller holds run_sem or vm->lock */
u64 *tramp_npt_leaf(struct tramp_vm *vm, u64 gpa);
int tramp_svm_probe(struct tramp_backend **out);
int tramp_vmx_probe(struct tramp_backend **out);

/*
 * The guest-entry window both backends share.  tramp_claim_cpu() disables
 * IRQs and publishes the CPU for KICK; it returns -EAGAIN (IRQs back on)
 * when a KICK or a page-table edit is waiting.  Call inside
 * kernel_fpu_begin() (no preemption, host FPU state saved); the guest's
 * FXSAVE image goes in with tramp_fx_load() right before the entry and
 * out with tramp_fx_save() right after the exit.
 */
static inline int tramp_claim_cpu(struct tramp_vcpu *v)
{
	int cpu;

	local_irq_disable();
	cpu = smp_processor_id();
	WRITE_ONCE(v->running_cpu, cpu);
	smp_mb();
	if (atomic_read(&v->kick) || atomic_read(&v->vm->want_write)) {
		WRITE_ONCE(v->running_cpu, -1);
		local_irq_enable();
		return -EAGAIN;
	}
	return cpu;
}

static inline void tramp_release_cpu(struct tramp_vcpu *v)
{
	WRITE_ONCE(v->running_cpu, -1);
	local_irq_enable();		/* the host IRQ behind an INTR exit */
}

static inline void tramp_fx_load(struct tramp_vcpu *v)
{
	asm volatile("fxrstorq %0" : : "m" (*(u8 (*)[TRAMP_FX_SIZE])v->fxsave));
}

static inline void tramp_fx_save(struct tramp_vcpu *v)
{
	asm volatile("fxsaveq %0" : "=m" (*(u8 (*)[TRAMP_FX_SIZE])v->fxsave));
}

/* value checks shared by the field tables of both backends */
static inline bool tramp_canonical(u64 v)
{
	return ((s64)v << 16 >> 16) == (s64)v;
}

static inline bool tramp_pat_valid(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 t = pat >> (i * 8);

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

/* a segment part as the ABI allows it (VMX access-rights layout for ATTR) */
static inline bool tramp_seg_valid(u32 part, u64 val)
{
	switch (part) {
	case CUSED_SEGP_SEL: return val <= 0xffff;
	case CUSED_SEGP_BASE: return tramp_canonical(val);
	case CUSED_SEGP_LIMIT: return val <= 0xffffffffULL;
	}
	return !(val & ~0x1f0ffULL);
}

/*
 * CUSED_F_PENDING_IRQ (valid, VMX-encoded): the event type to inject, with
 * ICEBP/INT3/INTO (5, 6) made hardware exceptions as both backends inject
 * them; -EINVAL for reserved bits and types 1 and 7.
 */
static inline int tramp_event_type(u64 val)
{
	u32 type = (val >> 8) & 7;

	if ((val & 0x7ffff000ULL) || type == 1 || type == 7)
		return -EINVAL;
	return (type == 5 || type == 6) ? 3 : type;
}

/* field id helpers shared by backends */
static inline bool tramp_field_is_seg(u32 id)
{
	return id >= CUSED_F_SEG(0, 0) && id < CUSED_F_SEG_END;
}

#endif
