/* SPDX-License-Identifier: MIT */
/*
 * hostkvm backend internals: the machine's own /dev/kvm used only as the
 * guest entry/exit engine.  One host VM per tramp_vm, one host vCPU per
 * tramp_vcpu; every policy decision (MSRs, CPUID, MMIO) is the daemon's.
 */
#ifndef CUSED_TRAMP_HOSTKVM_H
#define CUSED_TRAMP_HOSTKVM_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include "cused/tramp/backend.h"
#include "cused/tramp/sysioctl.h"
#include "cused/tramp/strio.h"

/* device opened by init(); CUSED_HOST_KVM overrides it */
#define HOSTKVM_DEFAULT_PATH "/dev/kvm"
#define HOSTKVM_PATH_ENV "CUSED_HOST_KVM"
#define HOSTKVM_API_VERSION 12

/*
 * kick() interrupts a thread that is inside KVM_RUN with this signal.  Its
 * handler is a no-op installed without SA_RESTART, so the only effect is
 * that KVM_RUN returns -EINTR.  The daemon must not use SIGUSR2 for
 * anything else.
 */
#define HOSTKVM_KICK_SIGNAL SIGUSR2

struct tramp_backend {
	/*
	 * Opened once: the daemon may later bind-mount its own device over
	 * /dev/kvm, after which opening the path again would reach ourselves.
	 */
	int kvm_fd;
	size_t run_size;          /* KVM_GET_VCPU_MMAP_SIZE */
	uint32_t vendor;
	uint32_t max_vcpus;
	uint32_t max_memslots;
	bool readonly_mem;
	bool guest_debug;
	bool sync_mmu;
	bool smaller_maxphyaddr;  /* the host's KVM_CAP_SMALLER_MAXPHYADDR */
};

/* one host memslot mirroring one daemon slot */
struct hk_slot {
	uint32_t slot;
	uint32_t flags;           /* CUSED_MAP_* */
	uint64_t gpa, size;
	void *hva;
	bool log_dirty;           /* host slot has KVM_MEM_LOG_DIRTY_PAGES */
};

struct tramp_vm {
	struct tramp_backend *be;
	int fd;
	pthread_mutex_t lock;     /* slots[] */
	struct hk_slot *slots;
	unsigned nslots, cap;
};

/* state groups, each moved by one host GET/SET ioctl pair */
enum hk_group { HK_REGS, HK_SREGS, HK_DREGS, HK_XCRS, HK_EVENTS, HK_NGROUPS };

struct hk_state {
	unsigned valid;           /* bit per group: cache equals the host */
	unsigned dirty;           /* bit per group: cache must be written back */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_debugregs dregs;
	struct kvm_xcrs xcrs;
	struct kvm_vcpu_events events;
};

struct tramp_vcpu {
	struct tramp_vm *vm;
	int fd;
	uint32_t id;
	struct kvm_run *run;      /* host run page, run_size bytes */
	struct hk_state st;
	/* kick(): who to signal; in_run guards runner being meaningful */
	atomic_bool in_run;
	pthread_t runner;
	/* the last thread whose signal mask we opened for the kick signal */
	pthread_t unblocked;
	bool unblocked_valid;
	/* string I/O the host refused and the daemon emulates (hostkvm_emul.c) */
	bool sio_active;
	struct strio sio;
	uint64_t sio_next_rip;
	/* KVM_SET_GUEST_DEBUG's control as last set (hostkvm_emul.c: INT3 with USE_SW_BP) */
	uint32_t debug_control;
	/* the RIP after the MONITOR/MWAIT of the last TX_MWAIT (hostkvm_emul.c) */
	uint64_t mwait_next_rip;
	uint8_t iobuf[STRIO_BUF];
	/* complete() answered a host exit the host retires only at its next KVM_RUN */
	bool host_retire_pending;
};

/* hostkvm_state.c */
void hk_state_invalidate(struct hk_state *st);
int hk_state_flush(struct tramp_vcpu *v);
int hk_read_fields(struct tramp_vcpu *v, struct cused_field_val *f, unsigned n);
int hk_write_fields(struct tramp_vcpu *v, const struct cused_field_val *f, unsigned n);
/* a whole state group through the cache (len = sizeof the group's struct) */
int hk_group_get(struct tramp_vcpu *v, enum hk_group g, void *buf, size_t len);

/* hostkvm_xstate.c: optional state ops passed through to the host vCPU */
int hk_get_events(struct tramp_vcpu *v, struct kvm_vcpu_events *ev);
int hk_set_events(struct tramp_vcpu *v, const struct kvm_vcpu_events *ev);
int hk_inject_nmi(struct tramp_vcpu *v);
int hk_get_xsave(struct tramp_vcpu *v, struct kvm_xsave *xs);
int hk_set_xsave(struct tramp_vcpu *v, const struct kvm_xsave *xs);
int hk_get_tsc_khz(struct tramp_vcpu *v);
int hk_set_tsc_khz(struct tramp_vcpu *v, uint32_t khz);
int hk_vm_enable_cap(struct tramp_vm *vm, const struct kvm_enable_cap *cap);
int hk_vm_set_mmu_pages(struct tramp_vm *vm, uint64_t pages);

/* hostkvm_tsc.c: the host vCPU's TSC offset (KVM_VCPU_TSC_OFFSET) and PV enforcement */
int hk_get_tsc_offset(struct tramp_vcpu *v, int64_t *off);
int hk_set_tsc_offset(struct tramp_vcpu *v, int64_t off);
int hk_vcpu_enable_cap(struct tramp_vcpu *v, const struct kvm_enable_cap *cap);

/* hostkvm_events.c */
uint64_t hk_pending_get(const struct kvm_vcpu_events *e);
int hk_pending_set(struct kvm_vcpu_events *e, uint64_t val);
uint64_t hk_interruptibility_get(const struct kvm_vcpu_events *e);
int hk_interruptibility_set(struct kvm_vcpu_events *e, uint64_t val);
int hk_activity_get(struct tramp_vcpu *v, __u64 *val);
int hk_activity_set(struct tramp_vcpu *v, uint64_t val);

/* hostkvm_exit.c */
void hk_exit_translate(struct tramp_vcpu *v, int r, int err, struct tramp_exit *ex);
int hk_complete(struct tramp_vcpu *v, const struct tramp_exit *ex);
/* tramp_ops.settle: a host KVM_RUN with immediate_exit retires it (KVM runs
 * complete_userspace_io before it looks at immediate_exit) */
int hk_settle(struct tramp_vcpu *v, struct tramp_exit *ex);

/*
 * hostkvm_emul.c: an emulation failure the host reported (suberror
 * KVM_INTERNAL_ERROR_EMULATION) that the daemon can do itself.  exit:
 * true and *ex filled (TX_IO, or TX_NONE when the instruction only had to
 * retire) if the instruction at RIP is one the daemon emulates; false
 * leaves *ex alone and the failure goes to the client.  complete: retire
 * the TX_IO exit it made with the client's answer (0 or -errno).
 */
bool hk_emul_exit(struct tramp_vcpu *v, struct tramp_exit *ex);
int hk_emul_complete(struct tramp_vcpu *v, const struct tramp_exit *ex);
/* retire the TX_MWAIT exit made: RIP past it, or #UD queued if ex->mwait.ud */
int hk_emul_mwait_complete(struct tramp_vcpu *v, const struct tramp_exit *ex);

/* hostkvm_kick.c */
int hk_kick_init(void);
void hk_kick_prepare_thread(struct tramp_vcpu *v);
void hk_kick(struct tramp_vcpu *v);

/* hostkvm_vm.c */
int hk_vm_create(struct tramp_backend *be, struct tramp_vm **out);
void hk_vm_destroy(struct tramp_vm *vm);
int hk_map(struct tramp_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva,
	   uint32_t flags);
int hk_unmap(struct tramp_vm *vm, uint32_t slot);
int hk_dirty_collect(struct tramp_vm *vm, uint32_t slot, tramp_dirty_sink *sink, void *opaque);

/* hostkvm_vcpu.c */
int hk_vcpu_create(struct tramp_vm *vm, uint32_t id, struct tramp_vcpu **out);
void hk_vcpu_destroy(struct tramp_vcpu *v);
int hk_get_fpu(struct tramp_vcpu *v, struct kvm_fpu *fpu);
int hk_set_fpu(struct tramp_vcpu *v, const struct kvm_fpu *fpu);
int hk_set_cpuid(struct tramp_vcpu *v, const struct kvm_cpuid2 *cpuid);
int hk_set_debug(struct tramp_vcpu *v, const struct kvm_guest_debug *dbg);
int hk_inject_irq(struct tramp_vcpu *v, uint32_t vector);
int hk_request_irq_window(struct tramp_vcpu *v, bool on);
int hk_run(struct tramp_vcpu *v, struct tramp_exit *ex);

#endif
