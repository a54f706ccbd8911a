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
int tramp_svm_probe(struct tramp_backend **out);
int tramp_vmx_probe(struct tramp_backend **out);

/* field id helpers shared by backends */
static inline bool tramp_field_is_seg(u32 id)
{
	return id >= CUSED_F_SEG(0, 0) && id < CUSED_F_SEG_END;
}

#endif
