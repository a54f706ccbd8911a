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
};

/* one host memslot mirroring one daemon slot */
struct hk_slot {
	uint32_t slot;
	uint32_t flags;           /* CUSED_MAP_* */
	uint64_t gpa, size;
	void *hva;
	uint64_t *dirty_tmp;      /* host GET_DIRTY_LOG buffer, LOG_DIRTY slots only */
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
};

/* hostkvm_state.c */
void hk_state_invalidate(struct hk_state *st);
int hk_state_flush(struct tramp_vcpu *v);
int hk_read_fields(struct tramp_vcpu *v, struct cused_field_val *f, unsigned n);
int hk_write_fields(struct tramp_vcpu *v, const struct cused_field_val *f, unsigned n);

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
int hk_dirty_collect(struct tramp_vm *vm, uint32_t slot, uint64_t *bitmap);

/* hostkvm_vcpu.c */
int hk_vcpu_create(struct tramp_vm *vm, uint32_t id, struct tramp_vcpu **out);
void hk_vcpu_destroy(struct tramp_vcpu *v);
int hk_get_fpu(struct tramp_vcpu *v, struct kvm_fpu *fpu);
int hk_set_fpu(struct tramp_vcpu *v, const struct kvm_fpu *fpu);
int hk_set_cpuid(struct tramp_vcpu *v, const struct kvm_cpuid2 *cpuid);
int hk_set_debug(struct tramp_vcpu *v, const struct kvm_guest_debug *dbg);
int hk_inject_irq(struct tramp_vcpu *v, uint32_t vector);
int hk_request_irq_window(struct tramp_vcpu *v, bool on);
int hk_inject_nmi(struct tramp_vcpu *v);
int hk_run(struct tramp_vcpu *v, struct tramp_exit *ex);

#endif
