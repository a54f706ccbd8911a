/* SPDX-License-Identifier: MIT */
/*
 * Retiring a decoded MMIO instruction: the bytes a store puts on the bus,
 * and what a load does to its destination register.  Pure functions on a
 * GPR array; the caller reads/writes the vCPU state and advances RIP by
 * x86_insn.len.
 */
#ifndef CUSED_X86_EMULATE_H
#define CUSED_X86_EMULATE_H

#include <stdint.h>
#include "cused/x86/decode.h"

/* GPRs as an array in x86 encoding order (rax rcx rdx rbx rsp rbp rsi rdi r8..r15) */
struct x86_gprs { uint64_t r[16]; };

/* the bytes a store writes (from the source register or immediate),
 * little-endian in data[0..mem_size); data[mem_size..8) are zeroed.
 * For loads, data is all zero. */
void x86_store_data(const struct x86_insn *in, const struct x86_gprs *g, uint8_t data[8]);

/* apply a load's data (data[0..mem_size), little-endian) to the destination
 * register with real x86 semantics: 8/16-bit writes merge into the old
 * value, 32-bit writes zero-extend to 64 bits, movzx/movsx/movsxd extend;
 * high8 writes bits 15:8.  Stores leave the registers alone. */
void x86_load_apply(const struct x86_insn *in, struct x86_gprs *g, const uint8_t data[8]);

#endif
