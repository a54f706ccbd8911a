/* SPDX-License-Identifier: MIT */
/*
 * Decoder for the instructions that touch MMIO.  A backend that only enters
 * the guest reports a raw nested-page fault; the daemon decodes the
 * instruction at RIP to learn the access size, direction and register, and
 * turns it into KVM_EXIT_MMIO.  Only the MOV family compilers and kernels
 * use for device registers is handled; everything else is -EINVAL so the
 * caller reports an emulation failure rather than guessing.
 *
 * The effective address is not computed: the hardware already gave the GPA.
 * The length, however, must be exact, since RIP is advanced by it.
 */
#ifndef CUSED_X86_DECODE_H
#define CUSED_X86_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* architectural limit; a longer instruction is #GP, never executed */
#define X86_MAX_INSN_LEN 15

enum x86_mode { X86_MODE_REAL16, X86_MODE_PROT16, X86_MODE_PROT32, X86_MODE_LONG64 };

enum x86_mem_op {
	X86_OP_LOAD,      /* mov reg, mem                                    */
	X86_OP_STORE,     /* mov mem, reg                                    */
	X86_OP_STORE_IMM, /* mov mem, imm                                    */
	X86_OP_LOAD_ZX,   /* movzx reg, mem8/mem16                           */
	X86_OP_LOAD_SX,   /* movsx reg, mem8/mem16; movsxd reg, mem32        */
};

struct x86_insn {
	uint8_t len;           /* total length incl. prefixes */
	enum x86_mem_op op;
	uint8_t mem_size;      /* bytes accessed in memory: 1,2,4,8 */
	uint8_t reg;           /* GPR number 0..15 (x86 encoding order rax rcx rdx rbx rsp rbp rsi rdi r8..r15) */
	uint8_t reg_size;      /* register operand size: 1,2,4,8 */
	bool reg_high8;        /* AH/CH/DH/BH: reg is 0..3 (rax..rbx), bits 15:8 */
	uint64_t imm;          /* for STORE_IMM: mem_size bytes, imm32 sign-extended for 8-byte stores;
				  bits above mem_size are zero */
};

/*
 * Decode bytes[0..n) in the given mode.
 * Returns 0 and fills *out; -EINVAL if this is not a supported memory
 * instruction (incl. register-only forms, #UD encodings, length > 15);
 * -EAGAIN if the instruction continues past byte n (fetch more, retry).
 * Supported: 88 89 8A 8B C6/0 C7/0 A0-A3, 0F B6 B7 BE BF, REX.W 63 (long mode),
 * with prefixes 66 67 2E 36 3E 26 64 65 and REX (64-bit mode).  F0 (LOCK)
 * is -EINVAL: on these instructions it is #UD, never a memory access.
 * F2/F3 are -EINVAL too (only XRELEASE MOV would use them).
 */
int x86_decode(const uint8_t *bytes, size_t n, enum x86_mode mode, struct x86_insn *out);

/* the decoder's mode from CR0, EFER and the VMX access-rights word of CS
 * (L bit 13, D/B bit 14); CR0.PE=0 is real mode regardless of CS.
 * Virtual-8086 mode (EFLAGS.VM) is not visible here: its CS attributes
 * have D=0, which gives PROT16, which decodes identically. */
enum x86_mode x86_mode_from(uint64_t cr0, uint64_t efer, uint32_t cs_attr);

/* INS/OUTS, for a host that refuses to emulate string port I/O */
struct x86_strio {
	uint8_t len;           /* total length incl. prefixes */
	bool in;               /* INS (6C/6D) rather than OUTS (6E/6F) */
	bool rep;              /* F3 or F2 prefix: count in rCX */
	uint8_t size;          /* element size: 1, 2, 4 */
	uint8_t addr_size;     /* 2, 4, 8: width of rSI/rDI/rCX */
	uint8_t seg;           /* x86 segment number (ES 0 .. GS 5) of the memory operand */
};

/*
 * Decode bytes[0..n) as INS/OUTS in the given mode.  0 and *out; -EINVAL if
 * it is something else (or LOCK-prefixed, or longer than 15 bytes);
 * -EAGAIN if more bytes are needed.
 */
int x86_decode_strio(const uint8_t *bytes, size_t n, enum x86_mode mode, struct x86_strio *out);

/* MOV to or from a debug register (0F 21 / 0F 23), for SVM without DecodeAssists */
struct x86_mov_dr {
	uint8_t len;           /* total length incl. prefixes */
	bool to_dr;            /* MOV DRn, reg (0F 23) rather than MOV reg, DRn (0F 21) */
	uint8_t dr;            /* ModRM.reg: the debug register, 0..7 */
	uint8_t gpr;           /* ModRM.rm (+ REX.B): the GPR in x86 encoding order */
	bool wide;             /* 64-bit operand (long mode), else 32-bit */
};

/*
 * Decode bytes[0..n) as MOV reg <-> DRn in the given mode.  The operand is
 * always a register (ModRM.mod is ignored, as the CPU does) and 64 bits wide
 * in 64-bit mode, 32 otherwise (66 and REX.W change nothing).  0 and *out;
 * -EINVAL for anything else, for LOCK, or REX.R (DR8-15: #UD); -EAGAIN if
 * more bytes are needed.
 */
int x86_decode_mov_dr(const uint8_t *bytes, size_t n, enum x86_mode mode, struct x86_mov_dr *out);

/*
 * Decode bytes[0..n) as an SSE zero idiom: PXOR, XORPS or XORPD of an XMM
 * register with itself (66/REX prefixes only).  0 with the register in
 * *xmm and the length in *len; -EINVAL for anything else (memory operands,
 * two different registers, other prefixes); -EAGAIN if more bytes are needed.
 */
int x86_decode_xmm_zero(const uint8_t *bytes, size_t n, enum x86_mode mode, uint8_t *xmm,
			uint8_t *len);

/*
 * Decode bytes[0..n) as MONITOR (0F 01 C8) or MWAIT (0F 01 C9), with only
 * segment, 66 and 67 prefixes (and REX in 64-bit mode).  0 with *mwait
 * (false: MONITOR) and the length in *len; -EINVAL for anything else
 * (LOCK/REP prefixes included); -EAGAIN if more bytes are needed.
 */
int x86_decode_monitor_mwait(const uint8_t *bytes, size_t n, enum x86_mode mode, bool *mwait,
			     uint8_t *len);

#endif
