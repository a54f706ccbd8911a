/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * cused trampoline ABI: the contract between the cused daemon and anything
 * that can enter a guest for it (the kmod-trampoline module, or the daemon's
 * hostkvm backend which emulates this contract on top of a host /dev/kvm).
 *
 * It is deliberately VMCS/VMCB-level: state moves as (field id, value) pairs,
 * guest memory is described as guest-physical ranges of the caller's address
 * space, and a run returns the raw hardware exit.  All policy (MSRs, CPUID,
 * MMU, instruction emulation) lives in the daemon.
 *
 * Object model mirrors KVM's per-vCPU inodes: opening the device gives a VM
 * context; CUSED_TRAMP_CREATE_VCPU returns a new fd that names one vCPU.
 */
#ifndef CUSED_TRAMP_ABI_H
#define CUSED_TRAMP_ABI_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define CUSED_TRAMP_ABI_VERSION 1
#define CUSED_TRAMP_DEVICE "/dev/cused-tramp"

/* ---- field ids: (class << 8) | index ------------------------------------ */
#define CUSED_FC_GPR   0x0
#define CUSED_FC_CTRL  0x1
#define CUSED_FC_SEG   0x2
#define CUSED_FC_MSR   0x3
#define CUSED_FC_EVENT 0x4

enum cused_field {
	/* general purpose registers, in struct kvm_regs order */
	CUSED_F_RAX = 0x000, CUSED_F_RBX, CUSED_F_RCX, CUSED_F_RDX,
	CUSED_F_RSI, CUSED_F_RDI, CUSED_F_RSP, CUSED_F_RBP,
	CUSED_F_R8, CUSED_F_R9, CUSED_F_R10, CUSED_F_R11,
	CUSED_F_R12, CUSED_F_R13, CUSED_F_R14, CUSED_F_R15,
	CUSED_F_RIP, CUSED_F_RFLAGS,
	CUSED_F_GPR_END,

	/* control and debug registers */
	CUSED_F_CR0 = 0x100, CUSED_F_CR2, CUSED_F_CR3, CUSED_F_CR4, CUSED_F_CR8,
	CUSED_F_EFER, CUSED_F_APIC_BASE,
	CUSED_F_DR0, CUSED_F_DR1, CUSED_F_DR2, CUSED_F_DR3, CUSED_F_DR6, CUSED_F_DR7,
	CUSED_F_XCR0,
	CUSED_F_CTRL_END,

	/* descriptor tables; segments follow as CUSED_F_SEG(seg, part) */
	CUSED_F_GDTR_BASE = 0x200, CUSED_F_GDTR_LIMIT,
	CUSED_F_IDTR_BASE, CUSED_F_IDTR_LIMIT,

	/* MSRs that are guest state in the VMCS/VMCB (or its save area) */
	CUSED_F_SYSENTER_CS = 0x300, CUSED_F_SYSENTER_ESP, CUSED_F_SYSENTER_EIP,
	CUSED_F_STAR, CUSED_F_LSTAR, CUSED_F_CSTAR, CUSED_F_SFMASK,
	CUSED_F_KERNEL_GS_BASE, CUSED_F_PAT, CUSED_F_TSC, CUSED_F_TSC_AUX,
	CUSED_F_MSR_END,

	/*
	 * Event injection / interrupt shadow.  PENDING_IRQ uses the VMX
	 * VM-entry interruption-information encoding: bit 31 valid,
	 * bits 10:8 type, bits 7:0 vector.
	 */
	CUSED_F_PENDING_IRQ = 0x400, CUSED_F_INTERRUPTIBILITY, CUSED_F_ACTIVITY,
	CUSED_F_REQ_IRQ_WINDOW,
	CUSED_F_EVENT_END,
};

/* segments: ES CS SS DS FS GS LDTR TR, each with four parts */
enum cused_seg { CUSED_SEG_ES, CUSED_SEG_CS, CUSED_SEG_SS, CUSED_SEG_DS,
		 CUSED_SEG_FS, CUSED_SEG_GS, CUSED_SEG_LDTR, CUSED_SEG_TR,
		 CUSED_SEG_NR };
enum cused_seg_part { CUSED_SEGP_SEL, CUSED_SEGP_BASE, CUSED_SEGP_LIMIT,
		      CUSED_SEGP_ATTR };
#define CUSED_F_SEG(seg, part) (0x210 + (seg) * 4 + (part))
#define CUSED_F_SEG_END CUSED_F_SEG(CUSED_SEG_NR, 0)

/*
 * Segment attributes use the VMX access-rights layout:
 * type[3:0] s[4] dpl[6:5] p[7] avl[12] l[13] db[14] g[15] unusable[16].
 */
#define CUSED_SEG_ATTR_UNUSABLE (1u << 16)

struct cused_field_val {
	__u32 id;
	__u32 pad;
	__u64 val;
};

struct cused_tramp_fields {
	__u32 n;          /* entries at ptr; at most CUSED_TRAMP_MAX_FIELDS */
	__u32 done;       /* out: entries processed before the first error */
	__u64 ptr;        /* struct cused_field_val[n] in the caller's memory */
};
#define CUSED_TRAMP_MAX_FIELDS 256

/* ---- guest physical memory --------------------------------------------- */
#define CUSED_MAP_READ      (1u << 0)
#define CUSED_MAP_WRITE     (1u << 1)
#define CUSED_MAP_EXEC      (1u << 2)
#define CUSED_MAP_LOG_DIRTY (1u << 3)

struct cused_tramp_map {
	__u32 slot;       /* daemon's slot id; names the range for unmap/dirty */
	__u32 flags;      /* CUSED_MAP_* */
	__u64 gpa;        /* page aligned */
	__u64 size;       /* page aligned, non-zero */
	__u64 uaddr;      /* page aligned, in the calling process */
};

struct cused_tramp_dirty {
	__u32 slot;
	__u32 pad;
	__u64 bitmap;     /* one bit per page of the slot, ORed in, then cleared */
};

/* ---- running -------------------------------------------------------------- */
#define CUSED_VENDOR_INTEL 1
#define CUSED_VENDOR_AMD   2

/* raw exit as the hardware reported it */
struct cused_tramp_exit {
	__u32 vendor;       /* CUSED_VENDOR_* */
	__u32 reason;       /* VMX basic exit reason or SVM EXITCODE */
	__u64 qual;         /* VMX exit qualification or SVM EXITINFO1 */
	__u64 info2;        /* SVM EXITINFO2 (next RIP for IOIO) or 0 */
	__u64 gpa;          /* guest-physical address for EPT/NPF exits */
	__u64 gla;          /* guest-linear address where reported */
	__u32 insn_len;     /* VMX instruction length, or 0 if unknown */
	__u32 intr_info;    /* VMX exit interruption info / SVM EXITINTINFO */
	__u32 entry_failed; /* non-zero: VM entry failed, reason says why */
	__u32 insn_bytes_len;
	__u8  insn_bytes[16]; /* SVM decode-assist bytes, if any */
	__u64 rip;          /* guest RIP at exit */
};

struct cused_tramp_info {
	__u32 abi_version;
	__u32 vendor;
	__u64 features;
};

#define CUSED_TRAMP_IOC 0xCE
#define CUSED_TRAMP_GET_INFO     _IOR(CUSED_TRAMP_IOC, 0x00, struct cused_tramp_info)
/* on the VM fd: returns a new vCPU fd */
#define CUSED_TRAMP_CREATE_VCPU  _IO(CUSED_TRAMP_IOC,  0x01)
#define CUSED_TRAMP_MAP          _IOW(CUSED_TRAMP_IOC, 0x02, struct cused_tramp_map)
#define CUSED_TRAMP_UNMAP        _IOW(CUSED_TRAMP_IOC, 0x03, struct cused_tramp_map)
#define CUSED_TRAMP_GET_DIRTY    _IOW(CUSED_TRAMP_IOC, 0x04, struct cused_tramp_dirty)
/* on a vCPU fd */
#define CUSED_TRAMP_READ_FIELDS  _IOWR(CUSED_TRAMP_IOC, 0x10, struct cused_tramp_fields)
#define CUSED_TRAMP_WRITE_FIELDS _IOWR(CUSED_TRAMP_IOC, 0x11, struct cused_tramp_fields)
#define CUSED_TRAMP_RUN          _IOR(CUSED_TRAMP_IOC, 0x12, struct cused_tramp_exit)
#define CUSED_TRAMP_KICK         _IO(CUSED_TRAMP_IOC,  0x13)

/*
 * Guest x87/SSE state on a vCPU fd: the 512-byte FXSAVE image in the 64-bit
 * layout (FCW at 0, FSW 2, abridged FTW 4, FOP 6, FIP 8 and FDP 16 as
 * 64-bit, MXCSR 24, MXCSR_MASK 28, ST0-7 at 32 in 16-byte slots, XMM0-15
 * at 160).  The module loads it (FXRSTOR) just before each VMRUN and saves
 * it (FXSAVE) just after, inside its FPU-protected window; a new vCPU holds
 * the reset state (FCW 0x037f, MXCSR 0x1f80, all else 0).  SET_FPU fails
 * with -EINVAL when MXCSR has a bit this CPU's MXCSR_MASK lacks (FXRSTOR
 * would fault); MXCSR_MASK and bytes 464-511 are kept but not loaded.
 * Only the FXSAVE part: AVX and later state is not switched.
 */
struct cused_tramp_fpu {
	__u8 fxsave[512];
};
#define CUSED_TRAMP_GET_FPU      _IOR(CUSED_TRAMP_IOC, 0x14, struct cused_tramp_fpu)
#define CUSED_TRAMP_SET_FPU      _IOW(CUSED_TRAMP_IOC, 0x15, struct cused_tramp_fpu)

#endif
