/* SPDX-License-Identifier: MIT */
/*
 * The daemon's view of "something that can enter a guest": one ops table
 * per backend (hostkvm, kmod), in the spirit of NVMM's struct nvmm_impl.
 *
 * A backend moves state by field id (include/cused/tramp_abi.h) and reports
 * exits already classified (struct tramp_exit); the daemon decides what an
 * exit means for the KVM client.  Every op returns 0 or a negative errno.
 */
#ifndef CUSED_TRAMP_BACKEND_H
#define CUSED_TRAMP_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>
#include "cused/tramp_abi.h"

struct tramp_backend;   /* one per daemon */
struct tramp_vm;        /* one per VM */
struct tramp_vcpu;      /* one per vCPU */

enum tramp_exit_reason {
	TX_NONE = 0,
	TX_IO,          /* port I/O; .io */
	TX_MMIO,        /* access to unmapped or read-only guest memory; .mmio */
	TX_HLT,
	TX_SHUTDOWN,    /* triple fault */
	TX_FAIL_ENTRY,  /* .fail_entry */
	TX_INTERNAL,    /* .internal */
	TX_DEBUG,       /* .debug */
	TX_RDMSR,       /* .msr, daemon supplies data via complete() */
	TX_WRMSR,       /* .msr */
	TX_KICKED,      /* kick() or a signal interrupted the run */
	TX_IRQ_WINDOW,  /* guest can take an interrupt now */
	/*
	 * Raw exits of backends that only enter the guest (kmod): the daemon
	 * core decodes and emulates the instruction itself, so every such
	 * backend shares one emulator.  hostkvm never returns these.
	 */
	TX_NPF,         /* access to guest-physical memory with no RAM behind it; .npf */
	TX_CPUID,       /* .cpuid; the daemon answers from the vCPU's CPUID table */
	/*
	 * MONITOR or MWAIT, which KVM intercepts (.mwait): the daemon decides
	 * between KVM's NOP and #UD, complete() retires it or queues the #UD.
	 * hostkvm reports it when its host's emulator refuses the instruction.
	 */
	TX_MWAIT,
	TX_MOV_DR,      /* MOV to/from DR0-3 (stored, not loaded); .mov_dr; the daemon
			 * decodes it at RIP, moves the value and retires it */
	/*
	 * The silicon's hypercall instruction (VMMCALL on AMD), which KVM
	 * intercepts: the daemon answers it with KVM's hypercall ABI through
	 * read_fields/write_fields (RAX, RIP past the 3 bytes) before the next
	 * run(); complete() has nothing to do.
	 */
	TX_HYPERCALL,
	/*
	 * #UD, which KVM intercepts to emulate the other vendor's hypercall
	 * instruction: the daemon patches it (KVM_X86_QUIRK_FIX_HYPERCALL_INSN)
	 * or queues the #UD again through CUSED_F_PENDING_IRQ.
	 */
	TX_UD,
};

struct tramp_exit {
	enum tramp_exit_reason reason;
	union {
		struct {
			uint16_t port;
			uint8_t size;     /* 1, 2, 4 */
			uint8_t in;       /* 1 = IN */
			uint32_t count;   /* >1 for REP INS/OUTS */
			uint8_t *data;    /* size*count bytes, backend-owned until next run */
		} io;
		struct {
			uint64_t gpa;
			uint8_t data[8];
			uint32_t len;
			uint8_t is_write;
		} mmio;
		struct {
			uint32_t index;
			uint64_t data;    /* WRMSR value in; RDMSR result out */
			uint8_t error;    /* set by daemon: inject #GP */
		} msr;
		struct {
			uint64_t hw_reason;
			uint32_t cpu;
		} fail_entry;
		struct {
			uint32_t suberror;
			uint32_t ndata;
			uint64_t data[16];
		} internal;
		struct kvm_debug_exit_arch debug;
		struct {
			uint64_t gpa;
			uint8_t write;     /* hardware says it was a write (hint) */
			uint8_t insn_len;  /* bytes valid in insn (0: daemon fetches at RIP) */
			uint8_t insn[15];  /* decode-assist bytes, if the CPU gave any */
		} npf;
		struct {
			uint8_t dr;        /* the debug register the exit names */
			uint8_t write;     /* MOV to DRn */
		} mov_dr;
		struct {
			uint32_t function, index;          /* in: EAX, ECX */
			uint32_t eax, ebx, ecx, edx;       /* out, via complete() */
		} cpuid;
		struct {
			uint8_t is_mwait;  /* 0: MONITOR */
			uint8_t cpl;
			uint8_t ud;        /* set by daemon: #UD instead of retiring */
		} mwait;
	};
	/* interrupt-window facts valid after every exit */
	bool if_flag;
	bool irq_ready;
	uint64_t cr8;
	uint64_t apic_base;
};

struct tramp_caps {
	uint32_t vendor;           /* CUSED_VENDOR_* of the silicon underneath */
	uint32_t max_vcpus;
	bool readonly_mem;
	bool guest_debug;
	/*
	 * Guest memory follows the daemon's mapping of it: a hole punched in
	 * (or pages dropped from) the file behind a slot reach the guest, as
	 * with KVM's mmu notifiers (KVM_CAP_SYNC_MMU).
	 */
	bool sync_mmu;
	/* the optional state ops below exist (KVM_CHECK_EXTENSION answers by these) */
	bool vcpu_events;          /* get_events, set_events */
	bool events_queue;         /* inject_nmi; pending NMIs and exceptions are kept */
	bool xsave;                /* get_xsave, set_xsave */
	bool tsc_khz;              /* get_tsc_khz, set_tsc_khz */
	/* a guest MAXPHYADDR below the silicon's gets its reserved-bit faults (KVM_CAP_SMALLER_MAXPHYADDR) */
	bool smaller_maxphyaddr;
	/*
	 * The guest's CPUID reaches the daemon (TX_CPUID): the daemon's table is
	 * what the guest sees, state-derived bits included (vcpu_cpuid.c).  Else
	 * the host derives them from its own view of the vCPU.
	 */
	bool cpuid_exits;
};

/*
 * Receives a backend's collected dirty bits one 64-page word at a time
 * (bit b of word w = page 64 * w + b of the slot), only for non-zero words,
 * so the daemon never holds a flat bitmap of the whole slot.  0 or -errno
 * (the backend stops and returns it).
 */
typedef int tramp_dirty_sink(void *opaque, uint64_t word, uint64_t bits);

struct tramp_ops {
	const char *name;
	/* 0 when usable here, else -errno and a reason in *why */
	int (*probe)(const char **why);
	int (*init)(struct tramp_backend **out);
	void (*fini)(struct tramp_backend *be);
	void (*caps)(struct tramp_backend *be, struct tramp_caps *caps);
	/* host's supported CPUID, before the daemon's policy masks it */
	int (*host_cpuid)(struct tramp_backend *be, struct kvm_cpuid2 *cpuid, uint32_t max);

	int (*vm_create)(struct tramp_backend *be, struct tramp_vm **out);
	void (*vm_destroy)(struct tramp_vm *vm);
	/* hva is the daemon's own mapping of the range */
	int (*map)(struct tramp_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		   void *hva, uint32_t flags);
	int (*unmap)(struct tramp_vm *vm, uint32_t slot);
	/* hand the pages written since the last call to sink, then clear */
	int (*dirty_collect)(struct tramp_vm *vm, uint32_t slot, tramp_dirty_sink *sink,
			     void *opaque);

	int (*vcpu_create)(struct tramp_vm *vm, uint32_t id, struct tramp_vcpu **out);
	void (*vcpu_destroy)(struct tramp_vcpu *vcpu);
	int (*read_fields)(struct tramp_vcpu *vcpu, struct cused_field_val *f, unsigned n);
	int (*write_fields)(struct tramp_vcpu *vcpu, const struct cused_field_val *f, unsigned n);
	int (*get_fpu)(struct tramp_vcpu *vcpu, struct kvm_fpu *fpu);
	int (*set_fpu)(struct tramp_vcpu *vcpu, const struct kvm_fpu *fpu);
	int (*set_cpuid)(struct tramp_vcpu *vcpu, const struct kvm_cpuid2 *cpuid);
	int (*set_debug)(struct tramp_vcpu *vcpu, const struct kvm_guest_debug *dbg);
	/* queue an external interrupt for the next entry */
	int (*inject_irq)(struct tramp_vcpu *vcpu, uint32_t vector);
	int (*request_irq_window)(struct tramp_vcpu *vcpu, bool on);
	/* queue an NMI for the next entry (KVM_NMI semantics); NULL: not offered */
	int (*inject_nmi)(struct tramp_vcpu *vcpu);

	/*
	 * Optional vCPU state the daemon cannot move field by field (NULL when
	 * the backend lacks it; tramp_caps says which exist).  The daemon has
	 * validated the argument with KVM's rules before calling a set op.
	 */
	/* KVM_GET/SET_VCPU_EVENTS as the host KVM defines them */
	int (*get_events)(struct tramp_vcpu *vcpu, struct kvm_vcpu_events *ev);
	int (*set_events)(struct tramp_vcpu *vcpu, const struct kvm_vcpu_events *ev);
	/* KVM_GET/SET_XSAVE: the 4 KiB UABI (standard-format) XSAVE image */
	int (*get_xsave)(struct tramp_vcpu *vcpu, struct kvm_xsave *xs);
	int (*set_xsave)(struct tramp_vcpu *vcpu, const struct kvm_xsave *xs);
	/* guest TSC rate in kHz (> 0) or -errno; set: 0 or -EINVAL if the rate cannot be had */
	int (*get_tsc_khz)(struct tramp_vcpu *vcpu);
	int (*set_tsc_khz)(struct tramp_vcpu *vcpu, uint32_t khz);
	/* a VM capability with guest-visible effect inside the backend (NULL: none) */
	int (*vm_enable_cap)(struct tramp_vm *vm, const struct kvm_enable_cap *cap);
	/* likewise for a vCPU capability (KVM_CAP_ENFORCE_PV_FEATURE_CPUID) */
	int (*vcpu_enable_cap)(struct tramp_vcpu *vcpu, const struct kvm_enable_cap *cap);
	/*
	 * What the guest's RDTSC returns is host TSC + *off (unscaled rates).
	 * get: the offset in force, exactly; set: ask for one, which a backend
	 * may ignore (get then tells).  NULL: the daemon goes through the
	 * CUSED_F_TSC field instead, to within the cost of a field access.
	 */
	int (*get_tsc_offset)(struct tramp_vcpu *vcpu, int64_t *off);
	int (*set_tsc_offset)(struct tramp_vcpu *vcpu, int64_t off);
	/*
	 * KVM_SET_NR_MMU_PAGES (already validated) for a backend whose guest
	 * runs on a shadow MMU with that limit (NULL: none).  A shadow MMU
	 * whose VM has no memslot yet has no pages at all: KVM_RUN fails with
	 * ENOSPC, as in KVM without TDP, unless the client sets a limit.
	 */
	int (*vm_set_mmu_pages)(struct tramp_vm *vm, uint64_t pages);

	/* enter the guest until an exit the daemon must see */
	int (*run)(struct tramp_vcpu *vcpu, struct tramp_exit *exit);
	/*
	 * Retire the instruction behind the last exit with the daemon's answer
	 * (IN data in exit->io.data, MMIO read data, RDMSR value, #GP, CPUID
	 * registers).  Called before the next run() for TX_IO, TX_MMIO,
	 * TX_RDMSR, TX_WRMSR, TX_CPUID and TX_MWAIT.  For TX_NPF the daemon has already
	 * written the registers and RIP through write_fields().
	 */
	int (*complete)(struct tramp_vcpu *vcpu, const struct tramp_exit *exit);
	/*
	 * Optional (NULL: complete() already retires the instruction): retire
	 * what complete() answered without entering the guest, as KVM's
	 * complete_userspace_io does when KVM_RUN returns at once
	 * (immediate_exit, a pending signal).  Without it a client that saves
	 * the state after such a run (the selftests' vcpu_save_state) would
	 * save RIP still at the I/O instruction.  0 when retired (or nothing
	 * was pending), 1 when retiring it made a new exit, filled in *exit as
	 * run() fills it (KVM_RUN then reports that exit instead of -EINTR),
	 * or -errno.
	 */
	int (*settle)(struct tramp_vcpu *vcpu, struct tramp_exit *exit);
	/* make a concurrent or the next run() return TX_KICKED; any thread */
	void (*kick)(struct tramp_vcpu *vcpu);
};

extern const struct tramp_ops tramp_hostkvm_ops;

/* backend registry: by name, or the first whose probe() succeeds */
const struct tramp_ops *tramp_find(const char *name);
const struct tramp_ops *tramp_default(const char **why);

#endif
