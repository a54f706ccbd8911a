/* SPDX-License-Identifier: MIT */
/*
 * kmod backend internals: /dev/cused-tramp (kmod-trampoline/, cused-tramp.ko)
 * as the guest entry/exit engine.  One open of the device per tramp_vm, one
 * CUSED_TRAMP_CREATE_VCPU fd per tramp_vcpu.  The module reports raw SVM or
 * VMX exits; this backend classifies them (kmod_exit.c, kmod_vmx_exit.c:
 * pure functions, unit tested without the device) and retires the
 * instruction behind an exit with field writes exactly as the hardware
 * would have (kmod_complete_plan()).
 */
#ifndef CUSED_TRAMP_KMOD_H
#define CUSED_TRAMP_KMOD_H

#include <pthread.h>
#include <stdatomic.h>
#include "cused/tramp/backend.h"
#include "cused/tramp/sysioctl.h"
#include "cused/tramp/strio.h"

/* CUSED_TRAMP_DEV overrides the device path (tests) */
#define KMOD_PATH_ENV "CUSED_TRAMP_DEV"
/* TRAMP_MAX_VCPUS in kmod-trampoline/tramp_main.c; not in the ABI header */
#define KMOD_MAX_VCPUS 256

/* SVM exit codes (APM vol. 2, appendix C) the backend classifies */
#define SVM_EXIT_READ_DR0  0x020   /* + n: MOV from DRn; 0x030 + n: MOV to DRn */
#define SVM_EXIT_WRITE_DR0 0x030
#define SVM_EXIT_EXCP_UD   0x046
#define SVM_EXIT_EXCP_DB   0x041
#define SVM_EXIT_EXCP_AC   0x051
#define SVM_EXIT_VINTR_    0x064
#define SVM_EXIT_CPUID_    0x072
#define SVM_EXIT_INVD_     0x076
#define SVM_EXIT_HLT_      0x078
#define SVM_EXIT_IOIO_     0x07b
#define SVM_EXIT_MSR_      0x07c
#define SVM_EXIT_SHUTDOWN_ 0x07f
#define SVM_EXIT_MONITOR_  0x08a
#define SVM_EXIT_MWAIT_    0x08b
#define SVM_EXIT_MWAIT_COND_ 0x08c
#define SVM_EXIT_WBINVD_   0x089
#define SVM_EXIT_VMMCALL_  0x081
#define SVM_EXIT_NPF_      0x400

/* IOIO EXITINFO1 bits */
#define SVM_IOIO_IN     (1u << 0)
#define SVM_IOIO_STR    (1u << 2)
#define SVM_IOIO_REP    (1u << 3)
#define SVM_IOIO_SZ8    (1u << 4)
#define SVM_IOIO_SZ16   (1u << 5)
#define SVM_IOIO_SZ32   (1u << 6)

/* VMX basic exit reasons (SDM vol. 3 appendix C) the backend classifies */
#define VMX_EXIT_EXCEPTION_NMI  0
#define VMX_EXIT_EXT_INTR       1
#define VMX_EXIT_TRIPLE_FAULT   2
#define VMX_EXIT_INTR_WINDOW    7
#define VMX_EXIT_CPUID          10
#define VMX_EXIT_HLT            12
#define VMX_EXIT_INVD           13
#define VMX_EXIT_VMCALL         18
#define VMX_EXIT_CR_ACCESS      28
#define VMX_EXIT_IO             30
#define VMX_EXIT_RDMSR          31
#define VMX_EXIT_WRMSR          32
#define VMX_EXIT_INVALID_STATE  33
#define VMX_EXIT_MWAIT          36
#define VMX_EXIT_MONITOR        39
#define VMX_EXIT_EPT_VIOLATION  48
#define VMX_EXIT_EPT_MISCONFIG  49
#define VMX_EXIT_WBINVD         54
#define VMX_EXIT_FAILED_ENTRY   0x80000000u   /* bit 31 of the exit reason */
/* cused-tramp.ko: VMLAUNCH/VMRESUME failed, qual = VM-instruction error */
#define VMX_EXIT_VMFAIL         0xffffffffu
/* I/O exit qualification */
#define VMX_IO_SIZE_MASK  7u    /* size - 1 */
#define VMX_IO_IN         (1u << 3)
#define VMX_IO_STR        (1u << 4)
#define VMX_IO_REP        (1u << 5)
/* CR-access qualification: CR number 3:0, access type 5:4 (0: MOV to CR), GPR 11:8 */
#define VMX_CR_NUM(q)     ((q) & 15)
#define VMX_CR_TYPE(q)    (((q) >> 4) & 3)
#define VMX_CR_GPR(q)     (((q) >> 8) & 15)
/* EPT violation qualification: the access was a write */
#define VMX_EPT_WRITE     (1u << 1)

/* VMX interruption-information encoding used by CUSED_F_PENDING_IRQ */
#define KMOD_EV_VALID    (1u << 31)
#define KMOD_EV_ERRCODE  (1u << 11)
#define KMOD_EV_TYPE_EXT 0u
#define KMOD_EV_TYPE_HW  3u
#define KMOD_UD_VECTOR   6
#define KMOD_GP_VECTOR   13
#define KMOD_AC_VECTOR   17

/*
 * Guest registers read in one READ_FIELDS batch after every exit: what the
 * exit translation needs (OUT data, MSR index/data, CPUID inputs) and the
 * interrupt-window facts of struct tramp_exit.  Kept as a write-through
 * cache until the next run.
 */
enum kmod_snap {
	KS_RAX, KS_RCX, KS_RDX, KS_RSI, KS_RDI, KS_RIP, KS_RFLAGS, KS_DR6, KS_DR7,
	KS_INTERRUPTIBILITY, KS_PENDING_IRQ, KS_CR8, KS_APIC_BASE, KS_CR0, KS_EFER, KS_NR
};
extern const uint32_t kmod_snap_ids[KS_NR];
/* index in kmod_snap_ids of a field id, or -1 */
int kmod_snap_index(uint32_t id);

/* what complete() needs to know about the last exit, beyond struct tramp_exit */
struct kmod_last {
	enum tramp_exit_reason reason;
	uint64_t rip;           /* guest RIP at the exit */
	uint64_t next_rip;      /* RIP after the instruction */
	/* INS/OUTS: where the elements are (segment base and paging: the caller's) */
	bool str;
	struct strio sio;
};

/* the I/O buffer: KVM moves at most 1024 bytes of INS per exit */
#define KMOD_IOBUF STRIO_BUF

/* offset in last->sio.seg of element i of a string I/O exit */
uint64_t kmod_str_elem_off(const struct kmod_last *last, unsigned i);

/* field writes translation or completion asks for; at most this many */
#define KMOD_MAX_WRITES 6

/* a port I/O exit, decoded from either vendor's exit information */
struct kmod_io {
	uint16_t port;
	uint8_t size;           /* 1, 2, 4 */
	bool in, str, rep;
	uint64_t addr_mask;     /* INS/OUTS address size */
	uint8_t seg;            /* OUTS source segment (CUSED_SEG_*) */
	uint64_t next_rip;
};

/*
 * Shared steps of both vendors' translations (kmod_exit.c).  begin: reset
 * *last and *nw, the interrupt-window facts, re-queue an event the exit
 * interrupted (*pending: what is queued after the writes).  end: record
 * the reason and KVM's ready_for_interrupt_injection.  io: fill ex for a
 * port I/O exit (and the writes that retire an OUT).  reflect_ac: queue the
 * intercepted #AC back into the guest (TX_NONE).  internal: TX_INTERNAL
 * with the raw exit as data.  put: append one field write.
 */
void kmod_exit_begin(const struct cused_tramp_exit *raw, const uint64_t snap[KS_NR],
		     struct tramp_exit *ex, struct kmod_last *last, struct cused_field_val *w,
		     unsigned *nw, uint64_t *pending);
void kmod_exit_end(struct tramp_exit *ex, struct kmod_last *last, const uint64_t snap[KS_NR],
		   uint64_t pending);
void kmod_exit_io(const struct kmod_io *io, const uint64_t snap[KS_NR], struct tramp_exit *ex,
		  struct kmod_last *last, uint8_t *iobuf, struct cused_field_val *w, unsigned *nw);
void kmod_exit_reflect_ac(struct tramp_exit *ex, struct cused_field_val *w, unsigned *nw,
			  uint64_t *pending);
void kmod_exit_internal(struct tramp_exit *ex, const struct cused_tramp_exit *raw);
void kmod_put(struct cused_field_val *w, unsigned *nw, uint32_t id, uint64_t val);

/*
 * kmod_vmx_exit.c: kmod_exit_translate() for raw->vendor CUSED_VENDOR_INTEL.
 * The module's VMX exit record: reason = basic exit reason (bit 31 on a
 * failed entry) or VMX_EXIT_VMFAIL, qual = exit qualification (VMFAIL:
 * VM-instruction error), info2 = exit interruption info (31:0) and
 * VM-exit instruction info (63:32), insn_len = VM-exit instruction length,
 * intr_info = IDT-vectoring info, gpa/gla for EPT exits.
 */
void kmod_vmx_translate(const struct cused_tramp_exit *raw, const uint64_t snap[KS_NR],
			struct tramp_exit *ex, struct kmod_last *last, uint8_t *iobuf,
			struct cused_field_val *w, unsigned *nw);

/*
 * Raw exit + register snapshot -> tramp_exit.  Pure.  Fills *last for
 * kmod_complete_plan(), points ex->io.data at iobuf (KMOD_IOBUF bytes), and
 * returns in w[0..*nw) field writes to make before the exit is reported
 * (HLT retired, an interrupted event re-queued, #AC reflected).  A reason of
 * TX_NONE means "nothing for the daemon: make the writes and run again".
 * For OUTS (last->str, !ex->io.in) the caller fills iobuf with the element
 * at last->sio.seg:kmod_str_elem_off(last, 0) before reporting the exit.
 */
void kmod_exit_translate(const struct cused_tramp_exit *raw, const uint64_t snap[KS_NR],
			 struct tramp_exit *ex, struct kmod_last *last, uint8_t *iobuf,
			 struct cused_field_val *w, unsigned *nw);

/*
 * complete(): the field writes that retire the instruction behind ex with
 * the daemon's answer, given the current register snapshot.  Pure.  Returns
 * 0 or -EINVAL if ex is not the exit *last describes.  For INS (last->str,
 * ex->io.in) the caller first stores element i of ex->io.data at
 * last->sio.seg:kmod_str_elem_off(last, i).
 */
int kmod_complete_plan(const struct kmod_last *last, const uint64_t snap[KS_NR],
		       const struct tramp_exit *ex, struct cused_field_val *w, unsigned *nw);

struct tramp_backend {
	char path[108];
	uint32_t vendor;
	uint64_t features;
	uint32_t tsc_khz;       /* measured host (= guest) TSC rate, 0 if unknown */
};

/* a mapped slot, remembered for string I/O (guest memory at ES:rDI / DS:rSI) */
struct kmod_slot {
	uint32_t slot;
	uint64_t gpa, size;
	uint8_t *hva;
	bool writable;      /* CUSED_MAP_WRITE: the daemon's mapping is writable too */
};

struct tramp_vm {
	struct tramp_backend *be;
	int fd;
	pthread_mutex_t lock;   /* slots */
	struct kmod_slot *slots;
	unsigned nslots, cap;
};

struct tramp_vcpu {
	struct tramp_vm *vm;
	int fd;
	uint32_t id;
	uint64_t snap[KS_NR];
	bool snap_valid;
	struct kmod_last last;
	bool want_window;      /* daemon asked for an interrupt window */
	bool window_armed;     /* the module's REQ_IRQ_WINDOW is set */
	uint8_t iobuf[KMOD_IOBUF];
};

extern const struct tramp_ops tramp_kmod_ops;

/* kmod_cpuid.c: the host CPUID table from the CPUID instruction */
int kmod_native_cpuid(struct kvm_cpuid2 *cpuid, uint32_t max);

/* kmod_fpu.c: struct kvm_fpu <-> the module's 512-byte FXSAVE image */
void kmod_fx_to_kvm(const uint8_t fx[512], struct kvm_fpu *fpu);
void kmod_fx_from_kvm(uint8_t fx[512], const struct kvm_fpu *fpu);

/*
 * kmod_events.c: struct kvm_vcpu_events <-> (PENDING_IRQ, INTERRUPTIBILITY).
 * Pure.  to_fields: -EINVAL for what needs a queue (pending NMI or
 * exception, more than one event); old_intr supplies the shadow when the
 * events do not carry KVM_VCPUEVENT_VALID_SHADOW.
 */
void kmod_events_from_fields(uint64_t pending, uint64_t intr, struct kvm_vcpu_events *e);
int kmod_events_to_fields(const struct kvm_vcpu_events *e, uint64_t old_intr,
			  uint64_t *pending, uint64_t *intr);
int kmod_get_events(struct tramp_vcpu *v, struct kvm_vcpu_events *ev);
int kmod_set_events(struct tramp_vcpu *v, const struct kvm_vcpu_events *ev);

/* kmod_tsc.c: the guest TSC runs at the host's rate, measured once */
uint32_t kmod_tsc_calibrate(void);
/* KVM_SET_TSC_KHZ without scaling: 0 within KVM's 250 ppm (or 0 = host), else -EINVAL */
int kmod_tsc_khz_check(uint32_t host_khz, uint32_t user_khz);
int kmod_get_tsc_khz(struct tramp_vcpu *v);
int kmod_set_tsc_khz(struct tramp_vcpu *v, uint32_t khz);

/* kmod_xsave.c: the UABI XSAVE image <-> the module's FXSAVE image (X87 | SSE only) */
void kmod_xsave_from_fx(const uint8_t fx[512], struct kvm_xsave *xs);
/* -EINVAL for components other than X87 and SSE; cleared ones get their init state */
int kmod_xsave_to_fx(const struct kvm_xsave *xs, uint8_t fx[512]);
int kmod_get_xsave(struct tramp_vcpu *v, struct kvm_xsave *xs);
int kmod_set_xsave(struct tramp_vcpu *v, const struct kvm_xsave *xs);

#endif
